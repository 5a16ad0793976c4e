// Benchmarks inside the real host (npm run bench:host, scripts/bench-host.mjs): the time from
// opening a 35-patch mbox to its analysis shown, and from an edit of a >3,000-line C file of a
// kernel tree to updated diagnostics. Targets: under 1 s and under 150 ms. Figures are printed as
// "BENCH <name> <ms>" lines. Named *.bench.ts so the integration suite's index (*.test.js) never
// loads it; without KVM_LENS_HOST_BENCH=1 every test skips with the reason.
// Inputs, set by the bench index in the extension host: KVM_LENS_BENCH_MBOXES (paths joined by
// the path delimiter: a cold and a warm copy of the mbox) or KVM_LENS_BENCH_TREE (the kernel tree,
// which is also the workspace).
/// <reference types="mocha" />
import * as assert from 'node:assert';
import { delimiter, join } from 'node:path';
import * as vscode from 'vscode';
import * as pkg from '../../package.json';

const EXTENSION_ID = `${pkg.publisher}.${pkg.name}`;
const RULE = 'vmsa-write-after-encryption';

interface KvmLensApi { analyse(uri: vscode.Uri): Promise<number | undefined> }

const bench = (name: string, ms: number) => console.log(`BENCH ${name} ${ms.toFixed(0)}`);
const codeOf = (d: vscode.Diagnostic) => (typeof d.code === 'object' ? d.code.value : d.code);
const isFinding = (d: vscode.Diagnostic) => d.source === 'kvm-lens' && codeOf(d) === RULE;

function enabled(ctx: Mocha.Context, input: string | undefined, what: string): void {
  if (process.env.KVM_LENS_HOST_BENCH !== '1') {
    console.log('    host bench skipped: KVM_LENS_HOST_BENCH is not 1 (run npm run bench:host)');
    ctx.skip();
  }
  if (!input) {
    console.log(`    host bench skipped: no ${what} in this run`);
    ctx.skip();
  }
}

type Done = (now: readonly vscode.Diagnostic[], before: readonly vscode.Diagnostic[]) => boolean;

/**
 * Milliseconds from the start of edit() until the diagnostics of uri satisfy done. Polled every
 * 2 ms: onDidChangeDiagnostics is debounced by the extension host (about 50 ms), which would
 * count against a 150 ms target, and the extension's clear-then-set of its collection is one
 * synchronous step, so a poll never sees the half-way state.
 */
async function timeUntil(uri: vscode.Uri, edit: () => Thenable<boolean>, done: Done, settleMs = 0, ms = 60_000): Promise<number> {
  let last = vscode.languages.getDiagnostics(uri);
  const before = last;
  const start = performance.now();
  assert.ok(await edit(), 'edit applied');
  while (!done(last = vscode.languages.getDiagnostics(uri), before)) {
    assert.ok(performance.now() - start < ms, `diagnostics not updated within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
  let at = performance.now();
  // settled: no further publication for settleMs; the figure is the time of the last one
  while (performance.now() - at < settleMs) {
    await new Promise((r) => setTimeout(r, 2));
    const now = vscode.languages.getDiagnostics(uri);
    if (!same(now, last)) { last = now; at = performance.now(); }
  }
  return at - start;
}

const same = (a: readonly vscode.Diagnostic[], b: readonly vscode.Diagnostic[]) => a.length === b.length && a.every((d, i) => d === b[i]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function api(): Promise<KvmLensApi> {
  const ext = vscode.extensions.getExtension<KvmLensApi>(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is not loaded`);
  return ext.activate();
}

suite('host bench', function () {
  this.timeout(300_000);

  test('opening the 35-patch mbox: time to its analysis shown', async function () {
    const mboxes = process.env.KVM_LENS_BENCH_MBOXES?.split(delimiter).filter(Boolean);
    enabled(this, mboxes?.length ? 'x' : undefined, 'mbox');
    const lens = await api();
    // The bench series has no finding, so no kvm-lens diagnostic appears: the figure is the time
    // until the extension's analyse() (open + analysis + diagnostics published) returns. The
    // first copy meets a cold worker (started, grammar loaded), the second a warm one.
    for (const [i, path] of mboxes!.entries()) {
      const uri = vscode.Uri.file(path);
      const t0 = performance.now();
      const findings = await lens.analyse(uri);
      const ms = performance.now() - t0;
      await vscode.window.showTextDocument(uri);
      assert.notStrictEqual(findings, undefined, `${path} was not analysed`);
      bench(`mbox-open-to-analysed-${i === 0 ? 'cold' : 'warm'}`, ms);
      console.log(`    ${path}: ${findings} finding(s)`);
      // the open also scheduled its own analysis; let it finish before the next measurement
      await lens.analyse(uri);
    }
  });

  test('an edit in svm.c of the kernel tree: time to updated diagnostics', async function () {
    const tree = process.env.KVM_LENS_BENCH_TREE;
    enabled(this, tree, 'kernel tree');
    // The edits must stay in the buffer: a save (an auto-save in the middle of an edit has been
    // seen here) would change the tree. bench-host.mjs hands over a copy of it anyway.
    await vscode.workspace.getConfiguration('files').update('autoSave', 'off', vscode.ConfigurationTarget.Global);
    await api();
    // The extension audits the tree on activation; the command queues one more audit behind it.
    let t0 = performance.now();
    const count = await vscode.commands.executeCommand<number>('kvmLens.auditKernelTree');
    bench('tree-activation-audit-then-audit', performance.now() - t0);
    console.log(`    ${tree}: ${count} finding(s)`);
    t0 = performance.now();
    await vscode.commands.executeCommand<number>('kvmLens.auditKernelTree');
    bench('tree-audit-warm', performance.now() - t0);

    const uri = vscode.Uri.file(join(tree!, 'arch/x86/kvm/svm/svm.c'));
    const doc = await vscode.workspace.openTextDocument(uri);
    const editor = await vscode.window.showTextDocument(doc);
    console.log(`    svm.c: ${doc.lineCount} lines`);
    assert.ok(doc.lineCount > 3000);
    assert.ok(!vscode.languages.getDiagnostics(uri).some(isFinding), `no ${RULE} on the pristine tree`);

    const lines = doc.getText().split('\n');
    const fn = lines.findIndex((l) => l.startsWith('static void svm_set_dr7('));
    assert.ok(fn >= 0, 'svm_set_dr7 found');
    const guardLine = lines.findIndex((l, n) => n > fn && l.includes('vcpu->arch.guest_state_protected'));
    assert.ok(guardLine > fn && guardLine < fn + 8, 'the guard in svm_set_dr7');
    const col = lines[guardLine]!.indexOf('vcpu->arch.guest_state_protected');
    const guard = new vscode.Range(guardLine, col, guardLine, col + 'vcpu->arch.guest_state_protected'.length);

    const original = doc.getText();
    // from the signature line to the guard, as on disk
    const pristine = lines.slice(fn, guardLine + 1).join('\n') + '\n';
    // Before each edit the extension is idle: its debounce has passed and an audit queued behind
    // any in flight has returned, so one edit's figure does not include the previous one's audit.
    const quiesce = async () => {
      await sleep(vscode.workspace.getConfiguration('kvmLens').get<number>('debounceMs', 400) + 100);
      await vscode.commands.executeCommand('kvmLens.auditKernelTree');
    };
    const timeEdit = async (name: string, edit: () => Thenable<boolean>, done: Done, settleMs = 0) => {
      await quiesce();
      bench(name, await timeUntil(uri, edit, done, settleMs));
    };
    const withFinding: Done = (ds) => ds.some(isFinding);
    const withoutFinding: Done = (ds) => !ds.some(isFinding);
    // the same finding again, but published anew: the audit after the edit has finished
    const republished: Done = (ds, before) => ds.some(isFinding) && ds.find(isFinding) !== before.find(isFinding);
    const comment = (n: number) => editor.edit((b) => b.insert(doc.lineAt(fn).range.end, ` /* bench ${n} */`));

    const rounds: [string, number | undefined][] = [['', undefined], ['-debounce0', 0]];
    const config = vscode.workspace.getConfiguration('kvmLens');
    const debounce = config.get<number>('debounceMs');
    try {
      for (const [suffix, ms] of rounds) {
        if (ms !== undefined) await config.update('debounceMs', ms, vscode.ConfigurationTarget.Global);
        console.log(`    kvmLens.debounceMs ${vscode.workspace.getConfiguration('kvmLens').get('debounceMs')}`);
        await timeEdit(`tree-guard-removed-to-finding${suffix}`, () => editor.edit((b) => b.replace(guard, '0')), withFinding);
        // a comment only: the finding stays; the figure is until the audit republishes it and
        // nothing more follows for 1 s
        const found = () => vscode.languages.getDiagnostics(uri).find(isFinding);
        assert.ok(found() === found(), 'getDiagnostics hands out the published objects, so a republication is seen');
        await timeEdit(`tree-comment-edit-settled${suffix}`, () => comment(1), republished, 1000);
        // back to the pristine text by an edit (undo would depend on which editor has focus)
        await timeEdit(`tree-restore-to-cleared${suffix}`, () => editor.edit((b) => b.replace(new vscode.Range(fn, 0, guardLine + 1, 0), pristine)), withoutFinding);
        assert.strictEqual(doc.getText(), original, 'the text is back');
      }
    } finally {
      await config.update('debounceMs', debounce === 400 ? undefined : debounce, vscode.ConfigurationTarget.Global);
    }
  });
});
