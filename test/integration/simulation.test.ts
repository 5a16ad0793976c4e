// The simulation panel in a real VS Code, driven through its page as a user would (buttons,
// rows, controls) and checked by what the page reports it shows and what the editor shows:
// stepping forward and back changes the state on the page and the highlighted lines, in the
// model's C or another patch when the step ran there; a patch's CodeLens opens the panel up to
// that patch with its hazard rows as Problems words them; a what-if change runs again and the
// controls keep the new values; the tables fit a narrow panel.
/// <reference types="mocha" />
import * as assert from 'node:assert';
import { join } from 'node:path';
import * as vscode from 'vscode';
import * as pkg from '../../package.json';
import { DR7_PATCH, ROOT, codeOf, poll } from './support';

const PATCH_3 = join(ROOT, 'examples/sev-es-debug-rfc/0003-KVM-SVM-Refuse-LAUNCH_UPDATE_VMSA-while-guest-debug-.patch');

interface WhatIfValues { vmType: string; vcpus: number; protectedAtCreate: boolean; launchRefusesDebug: boolean; guardAbsent: string[] }
interface Shown {
  renderId: number; current: number; total: number; heading: string; state: string; status: string;
  hazards: { step: number; rule: string; text: string }[];
  controls: WhatIfValues; guardOptions: string[]; fitsWidth: boolean; collapsed: boolean; width: number;
}
interface StepView { operation: string; outcome?: string; places: { file: string; lines: number[] }[]; state: { vcpus: { encrypted: boolean; debugArmed: boolean }[] } }
interface Sequence { steps: StepView[]; whatIf: WhatIfValues; guards: { spec: string; fn: string }[]; applied: { patches: number; total: number } }
interface Panel {
  shown: Shown | undefined;
  highlighted: { uri: string; lines: number[] }[];
  lastSequence: Sequence | undefined;
  lastWhatIf: { whatIf: WhatIfValues; appeared: { rule: string }[] } | undefined;
  automate(action: { click: string } | { set: string; value: string | boolean }): void;
}
interface Api { simulation: Panel }

const DEFAULTS: WhatIfValues = { vmType: 'protected', vcpus: 2, protectedAtCreate: false, launchRefusesDebug: false, guardAbsent: [] };

suite('KVM Lens simulation panel', () => {
  let panel: Panel;

  suiteSetup(async () => {
    const ext = vscode.extensions.getExtension<Api>(`${pkg.publisher}.${pkg.name}`);
    assert.ok(ext);
    panel = (await ext.activate()).simulation;
  });

  /** The page's report once it satisfies `ok` (after a run has finished drawing). */
  async function shownWhen(what: string, ok: (s: Shown) => boolean, ms = 30_000): Promise<Shown> {
    const s = await poll(() => (panel.shown && !panel.shown.status.startsWith('running') && ok(panel.shown) ? panel.shown : undefined), ms);
    assert.ok(s, `${what}; the page shows ${JSON.stringify(panel.shown)}`);
    return s;
  }

  /** The current step's first highlighted file is shown in an editor, scrolled to its first highlighted line. */
  async function highlightedIn(test: (uri: string) => boolean, what: string): Promise<{ uri: string; lines: number[] }> {
    const h = await poll(() => {
      const first = panel.highlighted[0];
      if (!first || !test(first.uri)) return undefined;
      const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === first.uri);
      return editor && editor.visibleRanges.some((r) => r.start.line <= first.lines[0] - 1 && first.lines[0] - 1 <= r.end.line) ? first : undefined;
    }, 15_000);
    assert.ok(h, `${what}: highlighted ${JSON.stringify(panel.highlighted)}, visible ${vscode.window.visibleTextEditors.map((e) => `${e.document.uri} ${JSON.stringify(e.visibleRanges.map((r) => [r.start.line, r.end.line]))}`).join(' | ')}`);
    return h;
  }

  test('steps forward and back through the launch: the state shown and the lines highlighted follow the step, in the model\'s C or another patch when it ran there', async () => {
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(PATCH_3));
    await vscode.window.showTextDocument(doc, vscode.ViewColumn.One);
    const result = await vscode.commands.executeCommand<Sequence>('kvmLens.openSimulation');
    assert.ok(result, 'the panel ran the default sequence');
    assert.deepStrictEqual(result.steps.map((s) => s.operation), ['KVM_SEV_INIT2', 'KVM_CREATE_VCPU', 'KVM_SET_GUEST_DEBUG', 'KVM_SEV_LAUNCH_START', 'KVM_SEV_LAUNCH_UPDATE_VMSA', 'KVM_RUN']);
    assert.deepStrictEqual([result.applied.patches, result.applied.total], [3, 3], 'the whole series, its other patches read from beside it');

    // no hazard on these steps with the whole series: it opens on step 1, which ran only the model's sev.c
    let shown = await shownWhen('step 1 of 6', (s) => s.total === 6 && s.current === 1);
    assert.match(shown.heading, /^Step 1 of 6: KVM_SEV_INIT2/);
    assert.match(shown.state, /^VM \| protected, SEV initialised/);
    assert.doesNotMatch(shown.state, /vcpu 0/);
    await highlightedIn((u) => u.endsWith('/dist/model/builtin/sev.c'), 'step 1 in the model\'s sev.c');

    panel.automate({ click: '#next' });
    shown = await shownWhen('step 2', (s) => s.current === 2);
    assert.match(shown.state, /vcpu 0 \| VMSA plaintext \|/);
    assert.doesNotMatch(shown.state, /debug armed/);
    await highlightedIn((u) => u.endsWith('/dist/model/builtin/x86.c'), 'KVM_CREATE_VCPU in the model\'s x86.c');

    panel.automate({ click: '#next' });
    shown = await shownWhen('step 3', (s) => s.current === 3);
    assert.match(shown.heading, /KVM_SET_GUEST_DEBUG \(vcpu 0\): succeeds; arms debugging/);
    assert.match(shown.state, /vcpu 0 \| VMSA plaintext, debug armed \| .*guest_debug/);
    // its last patch line is patch 2's svm_set_dr7, in another file of the series: opened beside the panel
    const inPatch2 = await highlightedIn((u) => u.endsWith('0002-KVM-SVM-Let-DR7-writes-through-for-SEV-ES-guests.patch'), 'KVM_SET_GUEST_DEBUG in patch 2');
    assert.ok(panel.highlighted.some((h) => h.uri.endsWith('/dist/model/builtin/x86.c')), 'and in the model, where it armed debugging');
    assert.deepStrictEqual(inPatch2.lines, result.steps[2].places[0].lines);

    panel.automate({ click: '#back' });
    shown = await shownWhen('back at step 2', (s) => s.current === 2);
    assert.doesNotMatch(shown.state, /debug armed/, 'stepping back shows the state before debugging was armed');
    await highlightedIn((u) => u.endsWith('/dist/model/builtin/x86.c'), 'back in the model\'s x86.c');

    // a row of the step list: LAUNCH_UPDATE_VMSA, refused by patch 3's guard, in this document
    panel.automate({ click: '#step-list tr.step[data-step="5"]' });
    shown = await shownWhen('step 5', (s) => s.current === 5);
    assert.match(shown.heading, /KVM_SEV_LAUNCH_UPDATE_VMSA: fails/);
    assert.match(shown.state, /vcpu 0 \| VMSA plaintext, debug armed/);
    const here = await highlightedIn((u) => u === doc.uri.toString(), 'LAUNCH_UPDATE_VMSA in patch 3');
    assert.match(doc.lineAt(here.lines[0] - 1).text, /^\+\s+if \(vcpu->guest_debug\)/, 'the guard that refused it');

    // the webview tab is there
    const tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs).map((t) => t.label);
    assert.ok(tabs.some((l) => l === 'KVM Lens: 0003-KVM-SVM-Refuse-LAUNCH_UPDATE_VMSA-while-guest-debug-.patch'), tabs.join(' | '));
  });

  test('the CodeLens "Simulate" of patch 2 opens the panel up to that patch; the hazard rows carry the rule and the message Problems shows', async () => {
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(DR7_PATCH));
    await vscode.window.showTextDocument(doc, vscode.ViewColumn.One);
    const dr7 = await poll(() => vscode.languages.getDiagnostics(doc.uri).find((d) => codeOf(d) === 'vmsa-write-after-encryption'));
    assert.ok(dr7, 'the DR7 finding is in Problems');
    const lens = await pollAsync(async () => {
      const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri);
      return lenses.find((l) => l.command?.title === 'Simulate');
    });
    assert.ok(lens?.command, 'the patch has a Simulate lens');
    // the panel, not the check command (which clears the Output channel to print the report)
    assert.strictEqual(lens.command.command, 'kvmLens.openSimulation');
    const result = await vscode.commands.executeCommand<Sequence>(lens.command.command, ...(lens.command.arguments ?? []));
    assert.ok(result);
    assert.deepStrictEqual([result.applied.patches, result.applied.total], [2, 3]);
    // the sequence is the DR7 finding's trace: LAUNCH_UPDATE_VMSA encrypts, KVM_RUN writes DR7
    const last = result.steps[result.steps.length - 1];
    assert.strictEqual(last.operation, 'KVM_RUN');
    const shown = await shownWhen('the DR7 hazard row', (s) => s.hazards.some((h) => h.rule === 'vmsa-write-after-encryption'));
    const row = shown.hazards.find((h) => h.rule === 'vmsa-write-after-encryption')!;
    assert.strictEqual(row.step, result.steps.length, 'on the KVM_RUN row');
    assert.ok(row.text.includes(dr7.message), `the row says what Problems says:\n${row.text}\n${dr7.message}`);
    assert.ok(row.text.includes('[vmsa-write-after-encryption]'));
    assert.strictEqual(shown.current, row.step, 'it opens on the first step with a hazard');
    assert.ok(shown.hazards.every((h) => h.step <= result.steps.length));
  });

  test('what-if: every --assume is a control; a change runs the steps again and the controls keep the new values; guard absent offers the guards of the functions on the steps', async () => {
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(PATCH_3));
    await vscode.window.showTextDocument(doc, vscode.ViewColumn.One);
    await vscode.commands.executeCommand('kvmLens.openSimulation', doc.uri);
    let shown = await shownWhen('the launch under the settings\' values', (s) => s.total === 6 && s.controls.vmType === 'protected');
    assert.deepStrictEqual(shown.controls, DEFAULTS);
    assert.match(shown.status, /as in the settings/);
    const specs = panel.lastSequence!.guards.map((g) => g.spec);
    assert.deepStrictEqual(shown.guardOptions, specs, 'the page offers the guards the run found');
    assert.ok(specs.includes('sev_launch_update_vmsa:vcpu->guest_debug'), specs.join(' | '));
    assert.ok(specs.includes('kvm_arch_vcpu_ioctl_set_guest_debug:vcpu->arch.guest_state_protected'), specs.join(' | '));
    const onSteps = new Set(panel.lastSequence!.steps.flatMap((s: StepView & { functions?: string[] }) => s.functions ?? []));
    for (const g of panel.lastSequence!.guards) assert.ok(onSteps.has(g.fn), `${g.fn} is a function the steps went through`);
    assert.strictEqual(shown.hazards.length, 0);

    // take patch 3's guard away: LAUNCH_UPDATE_VMSA encrypts with debugging armed
    const before = shown.renderId;
    panel.automate({ set: '[data-guard="sev_launch_update_vmsa:vcpu->guest_debug"]', value: true });
    shown = await shownWhen('the run without the guard', (s) => s.renderId > before && s.hazards.length > 0);
    assert.deepStrictEqual(panel.lastSequence!.whatIf.guardAbsent, ['sev_launch_update_vmsa:vcpu->guest_debug']);
    assert.deepStrictEqual(shown.controls.guardAbsent, ['sev_launch_update_vmsa:vcpu->guest_debug'], 'the box stays checked');
    // and once encrypted, KVM_RUN's DR7 write (patch 2) is a hazard too
    assert.deepStrictEqual(shown.hazards.map((h) => [h.step, h.rule]), [[5, 'debug-armed-at-encryption'], [6, 'vmsa-write-after-encryption']]);
    assert.strictEqual(panel.lastSequence!.steps[4].state.vcpus[0].encrypted, true);
    assert.match(shown.status, /guard-absent=sev_launch_update_vmsa:vcpu->guest_debug/);
    const diff = await poll(() => (panel.lastWhatIf?.whatIf.guardAbsent.length ? panel.lastWhatIf : undefined));
    assert.deepStrictEqual(diff?.appeared.map((f) => f.rule), ['debug-armed-at-encryption'], 'the series\' findings compared with the settings\'');

    // a legacy VM with one vCPU: the table follows, and every control shows what the run used
    panel.automate({ set: '[data-key="vmType"]', value: 'legacy' });
    shown = await shownWhen('the legacy run', (s) => s.controls.vmType === 'legacy' && panel.lastSequence?.whatIf.vmType === 'legacy');
    panel.automate({ set: '[data-key="vcpus"]', value: '1' });
    shown = await shownWhen('the one-vCPU run', (s) => s.controls.vcpus === 1 && panel.lastSequence?.whatIf.vcpus === 1);
    panel.automate({ set: '[data-key="protectedAtCreate"]', value: true });
    shown = await shownWhen('the protected-at-create run', (s) => s.controls.protectedAtCreate && panel.lastSequence?.whatIf.protectedAtCreate === true);
    panel.automate({ set: '[data-key="launchRefusesDebug"]', value: true });
    shown = await shownWhen('the launch-refuses-debug run', (s) => s.controls.launchRefusesDebug && panel.lastSequence?.whatIf.launchRefusesDebug === true);
    const wanted = { vmType: 'legacy', vcpus: 1, protectedAtCreate: true, launchRefusesDebug: true, guardAbsent: ['sev_launch_update_vmsa:vcpu->guest_debug'] };
    assert.deepStrictEqual(panel.lastSequence!.whatIf, wanted);
    assert.deepStrictEqual(shown.controls, wanted, 'the controls show the values the result was computed with');
    assert.match(panel.lastSequence!.steps[0].outcome ?? '', /fails/, 'a legacy VM refuses KVM_SEV_INIT2');
    panel.automate({ click: '#step-list tr.step[data-step="1"]' });
    shown = await shownWhen('step 1 of the legacy run', (s) => s.current === 1);
    assert.match(shown.state, /^VM \| legacy, firmware NONE/);
    panel.automate({ click: '#step-list tr.step[data-step="2"]' });
    shown = await shownWhen('step 2 of the legacy run', (s) => s.current === 2);
    assert.match(shown.state, /vcpu 0 \| .* \| .*guest_state_protected/, 'protected at creation');
  });

  test('the tables fit the panel\'s width, collapsing to one column when it is narrow', async () => {
    let shown = await shownWhen('the panel at its width', (s) => s.total > 0);
    assert.ok(shown.fitsWidth, `no horizontal scrolling at ${shown.width}px`);
    try {
      await vscode.commands.executeCommand('vscode.setEditorLayout', { orientation: 0, groups: [{ size: 0.85 }, { size: 0.15 }] });
      shown = await shownWhen('the panel narrowed', (s) => s.width > 0 && s.width < 400);
      assert.ok(shown.fitsWidth, `no horizontal scrolling at ${shown.width}px`);
      assert.ok(shown.collapsed, `one column at ${shown.width}px`);
    } finally {
      await vscode.commands.executeCommand('vscode.setEditorLayout', { orientation: 0, groups: [{ size: 0.5 }, { size: 0.5 }] });
    }
  });
});

async function pollAsync<T>(probe: () => Promise<T | undefined>, ms = 30_000): Promise<T | undefined> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
}
