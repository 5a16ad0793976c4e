// The simulation panel's data, with plain Node: a chosen ioctl sequence stepped through the
// example series (whole, or up to one patch), the lines and hazards of each step, the guards a
// what-if may treat as absent, the state under other what-if values, and the findings that
// appear or vanish.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { parseSeriesText } from '../../../extension/core/series/seriesReader';
import { simulateSequence } from '../../../extension/translate/sequenceSimulation';
import type { WhatIfValues } from '../../../extension/translate/simulationWhatIf';
import { whatIf } from '../../../extension/translate/whatIf';

const EXAMPLE = join(__dirname, '../../../examples/sev-es-debug-rfc');
const MBOX = readdirSync(EXAMPLE).sort().map((f) => readFileSync(join(EXAMPLE, f), 'utf8')).join('\n');
const FILE = '/ws/rfc.mbx';
const SETTINGS = { depth: 12, vcpus: 2, assumptions: {} };
const DEFAULTS: WhatIfValues = { vmType: 'protected', vcpus: 2, protectedAtCreate: false, launchRefusesDebug: false, guardAbsent: [] };
const LAUNCH_WITH_DEBUG = [
  { operation: 'KVM_SEV_INIT2', vcpu: null }, { operation: 'KVM_CREATE_VCPU', vcpu: null }, { operation: 'KVM_SET_GUEST_DEBUG', vcpu: 0 },
  { operation: 'KVM_SEV_LAUNCH_START', vcpu: null }, { operation: 'KVM_SEV_LAUNCH_UPDATE_VMSA', vcpu: null }, { operation: 'KVM_RUN', vcpu: 0 },
];
/** Where patch N's mail starts in the mbox. */
const patchStart = (n: number) => parseSeriesText(FILE, MBOX).patches.find((p) => p.tags.index === n)!.startLine;
const lineOfText = (re: RegExp) => MBOX.split('\n').findIndex((l) => re.test(l)) + 1;

it('steps through a launch with debugging armed: ground truth beside the kernel\'s flags, and the lines each step ran in each file', async () => {
  const r = await simulateSequence({ file: FILE, text: MBOX, settings: SETTINGS, steps: [...LAUNCH_WITH_DEBUG.slice(0, 5), { operation: 'KVM_SET_GUEST_DEBUG', vcpu: 1 }] });
  assert.ok(r.operations.some((o) => o.name === 'KVM_RUN' && o.perVcpu));
  assert.equal(r.initial.vcpus.length, 0);
  assert.equal(r.steps[2].state.vcpus[0].debugArmed, true, 'KVM_SET_GUEST_DEBUG arms debugging');
  assert.equal(r.steps[2].state.vcpus[0].flags.guest_debug, 'set');
  // patch 3 makes LAUNCH_UPDATE_VMSA refuse while debugging is armed: nothing is encrypted
  assert.equal(r.steps[4].state.vcpus[0].encrypted, false);
  assert.match(r.steps[4].outcome ?? '', /fails/);
  // the refusal is patch 3's added guard: its line is the step's first place, in the document
  const guard = lineOfText(/^\+\s+if \(vcpu->guest_debug\)/);
  assert.ok(guard > patchStart(3));
  assert.equal(r.steps[4].places[0].file, FILE);
  assert.ok(r.steps[4].places[0].lines.includes(guard), `${guard} in ${r.steps[4].places[0].lines}`);
  assert.deepEqual(r.steps[4].lines, r.steps[4].places[0].lines);
  // SEV initialisation runs only the model's C: its place is another file, and none in the document
  assert.deepEqual(r.steps[0].places.map((p) => p.file), ['builtin-model/sev.c']);
  assert.deepEqual(r.steps[0].lines, []);
  assert.match(r.steps[5].skipped ?? '', /cannot run/, 'there is no vcpu 1');
  assert.deepEqual(r.steps[5].places, []);
  assert.deepEqual(r.steps.flatMap((s) => s.hazards), [], 'the whole series refuses the launch: no hazard on these steps');
  assert.deepEqual(r.applied, { patches: 3, total: 3, last: '[RFC PATCH 3/3] KVM: SVM: Refuse LAUNCH_UPDATE_VMSA while guest debug is enabled' });
  assert.deepEqual(r.whatIf, DEFAULTS, 'computed with the settings\' values');
});

it('up to patch 2: LAUNCH_UPDATE_VMSA encrypts with debugging armed and KVM_RUN writes DR7, each step marked with its rule', async () => {
  const r = await simulateSequence({ file: FILE, text: MBOX, settings: SETTINGS, steps: LAUNCH_WITH_DEBUG, through: { file: FILE, startLine: patchStart(2) } });
  assert.equal(r.applied.patches, 2);
  assert.match(r.applied.last ?? '', /2\/3/);
  assert.equal(r.steps[4].state.vcpus[0].encrypted, true);
  assert.deepEqual(r.steps.map((s) => s.hazards.map((h) => h.rule)), [[], [], [], [], ['debug-armed-at-encryption'], ['vmsa-write-after-encryption']]);
  assert.match(r.steps[5].hazards[0].message, /svm_set_dr7\(\) writes VMSA-backed DR7/);
  assert.ok(r.steps[5].functions.includes('svm_set_dr7'), r.steps[5].functions.join(' '));
  // the DR7 write lies in the model's svm.c, the patch line svm_set_dr7 ran before it in the document
  assert.equal(r.steps[5].places[0].file, FILE);
  assert.ok(r.steps[5].places.some((p) => p.file === 'builtin-model/svm.c'));
});

it('guard absent: the guards of the functions the steps went through are offered, and treating one as absent changes the steps', async () => {
  const req = { file: FILE, text: MBOX, settings: SETTINGS, steps: LAUNCH_WITH_DEBUG };
  const before = await simulateSequence(req);
  const specs = before.guards.map((g) => g.spec);
  // the refusing guard patch 3 adds, and the set_guest_debug guard on the step that armed debugging
  assert.ok(specs.includes('sev_launch_update_vmsa:vcpu->guest_debug'), specs.join('\n'));
  assert.ok(specs.includes('kvm_arch_vcpu_ioctl_set_guest_debug:vcpu->arch.guest_state_protected'), specs.join('\n'));
  // only guards on kernel state, and only of functions the steps went through
  assert.ok(!specs.some((s) => /:ret$|:r$/.test(s)), specs.join('\n'));
  const ran = new Set(before.steps.flatMap((s) => s.functions));
  for (const g of before.guards) assert.ok(ran.has(g.fn), `${g.fn} is on the steps`);
  const patch3 = before.guards.find((g) => g.spec === 'sev_launch_update_vmsa:vcpu->guest_debug')!;
  assert.equal(patch3.file, FILE);
  assert.equal(patch3.condition, 'vcpu->guest_debug');

  const values = { ...DEFAULTS, guardAbsent: ['sev_launch_update_vmsa:vcpu->guest_debug'] };
  const after = await simulateSequence({ ...req, whatIf: values });
  assert.deepEqual(after.whatIf, values, 'the result says what it was computed with');
  assert.equal(after.steps[4].state.vcpus[0].encrypted, true, 'without the guard LAUNCH_UPDATE_VMSA encrypts');
  assert.deepEqual(after.steps[4].hazards.map((h) => h.rule), ['debug-armed-at-encryption']);
  assert.ok(after.guards.some((g) => g.spec === values.guardAbsent[0]), 'the chosen guard stays a choice, to take back');
  assert.deepEqual(after.notes, []);

  const nowhere = await simulateSequence({ ...req, whatIf: { ...DEFAULTS, guardAbsent: ['no_such_function:x'] } });
  assert.ok(nowhere.guards.some((g) => g.spec === 'no_such_function:x' && g.line === 0));
  assert.match(nowhere.notes.join('\n'), /no function no_such_function\(\)/);
});

it('the state follows the what-if: a legacy VM refuses KVM_SEV_INIT2, one vCPU cannot be created twice', async () => {
  const legacy = await simulateSequence({ file: FILE, text: MBOX, settings: SETTINGS, steps: LAUNCH_WITH_DEBUG, whatIf: { ...DEFAULTS, vmType: 'legacy' } });
  assert.equal(legacy.initial.vm.type, 'legacy');
  assert.match(legacy.steps[0].outcome ?? '', /fails/);
  assert.equal(legacy.steps[0].state.vm.sevInitialised, false);
  const two = [{ operation: 'KVM_CREATE_VCPU', vcpu: null }, { operation: 'KVM_CREATE_VCPU', vcpu: null }];
  assert.equal((await simulateSequence({ file: FILE, text: MBOX, settings: SETTINGS, steps: two })).steps[1].state.vcpus.length, 2);
  const one = await simulateSequence({ file: FILE, text: MBOX, settings: SETTINGS, steps: two, whatIf: { ...DEFAULTS, vcpus: 1 } });
  assert.equal(one.steps[1].state.vcpus.length, 1);
  const atCreate = await simulateSequence({ file: FILE, text: MBOX, settings: SETTINGS, steps: two.slice(0, 1), whatIf: { ...DEFAULTS, protectedAtCreate: true } });
  assert.equal(atCreate.steps[0].state.vcpus[0].flags.guest_state_protected, 'set');
});

it('what-if findings: making launch refuse debug adds none; taking patch 3\'s guard away brings back the hazard it fixed', async () => {
  const req = { file: FILE, text: MBOX, settings: SETTINGS };
  const refuses = await whatIf(req, { ...DEFAULTS, launchRefusesDebug: true });
  assert.deepEqual(refuses.appeared.map((f) => f.rule), []);
  assert.ok(refuses.unchanged >= 1, 'the DR7 write stays');
  const unguarded = await whatIf(req, { ...DEFAULTS, guardAbsent: ['sev_launch_update_vmsa:vcpu->guest_debug'] });
  assert.deepEqual(unguarded.appeared.map((f) => f.rule), ['debug-armed-at-encryption']);
  assert.deepEqual(unguarded.whatIf.guardAbsent, ['sev_launch_update_vmsa:vcpu->guest_debug']);
  // up to patch 1 the hazard is there already: the same guard-absent changes nothing
  const early = await whatIf({ ...req, through: { file: FILE, startLine: patchStart(1) } }, { ...DEFAULTS, guardAbsent: ['sev_launch_update_vmsa:vcpu->guest_debug'] });
  assert.deepEqual(early.appeared, []);
});
