// What the simulation panel takes from one step and from the what-if values, with plain Node:
// the lines a step ran by file (document, other patches, model), the functions it went
// through, the guards a what-if may treat as absent, the hazard rows as Problems shows them,
// the sequence a patch's CodeLens opens with, and the values as --assume arguments.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Finding } from '../../../extension/core/findings';
import type { StepResult } from '../../../extension/core/rules/rule';
import type { SimEvent } from '../../../extension/core/simulate/interpreter';
import type { Series } from '../../../extension/core/series/types';
import { functionsOfStep, guardChoices, hazardMarks, placesOfStep, sequenceForPatch } from '../../../extension/translate/simulationTrace';
import { assumeArguments, optionsWithWhatIf, sameWhatIf, seriesThrough, whatIfFromSettings, type WhatIfValues } from '../../../extension/translate/simulationWhatIf';
import { lowerFunctions } from '../support/lowerC';

const DOC = '/ws/0002-x.patch';
const OTHER = '/ws/0001-y.patch';
const loc = (file: string, line: number) => ({ file, line, column: 1 });

/** A step result with only what the panel reads. */
function step(parts: { handler?: string; handlerLoc?: ReturnType<typeof loc>; events?: Partial<SimEvent>[]; cause?: { loc: ReturnType<typeof loc>; fn: string }; seriesLoc?: { loc: ReturnType<typeof loc>; fn: string } }): StepResult {
  return {
    op: { name: 'KVM_RUN', kind: 'vcpu-ioctl', handler: parts.handler ?? 'kvm_vcpu_ioctl' },
    vcpu: 0, before: undefined as never, after: undefined as never, status: 'success',
    ret: { n: 0, ...(parts.cause ? { cause: { ...parts.cause, text: 'x' } } : {}) },
    events: (parts.events ?? []) as SimEvent[],
    handlerLoc: parts.handlerLoc ?? loc('builtin-model/x86.c', 23),
    ...(parts.seriesLoc ? { seriesLoc: parts.seriesLoc } : {}),
  };
}

describe('the lines and functions of a step', () => {
  it('puts the document first, then the series\' other files, then the model, each file\'s lines once and in order', () => {
    const s = step({
      events: [
        { k: 'vmsaWrite', fn: 'svm_set_dr7', loc: loc('builtin-model/svm.c', 94), at: loc(DOC, 22), via: ['kvm_vcpu_ioctl', 'vcpu_run', 'svm_set_dr7'] },
        { k: 'flagSet', fn: 'helper', loc: loc(OTHER, 40) },
        { k: 'unresolved', fn: 'helper', loc: loc('builtin-model/svm.c', 5), what: 'ops.x' },
        { k: 'flagSet', fn: 'svm_set_dr7', loc: loc('builtin-model/svm.c', 90), at: loc(DOC, 22) },
      ],
      seriesLoc: { loc: loc(DOC, 20), fn: 'svm_set_dr7' },
    });
    assert.deepEqual(placesOfStep(s, DOC, new Set([DOC, OTHER])), [
      { file: DOC, lines: [20, 22] },
      { file: OTHER, lines: [40] },
      { file: 'builtin-model/x86.c', lines: [23] },
      { file: 'builtin-model/svm.c', lines: [90, 94] },
    ]);
    assert.deepEqual(functionsOfStep(s), ['kvm_vcpu_ioctl', 'vcpu_run', 'svm_set_dr7', 'helper']);
  });

  it('a refusal counts the guard that refused it, in its function', () => {
    const s = step({ handler: 'sev_mem_enc_ioctl', handlerLoc: loc('builtin-model/sev.c', 214), cause: { loc: loc(DOC, 23), fn: 'sev_launch_update_vmsa' } });
    assert.deepEqual(placesOfStep(s, DOC, new Set([DOC])), [{ file: DOC, lines: [23] }, { file: 'builtin-model/sev.c', lines: [214] }]);
    assert.deepEqual(functionsOfStep(s), ['sev_mem_enc_ioctl', 'sev_launch_update_vmsa']);
    // seen from another document of the series, the model's file still comes after the patch's
    assert.deepEqual(placesOfStep(s, OTHER, new Set([DOC, OTHER])).map((p) => p.file), [DOC, 'builtin-model/sev.c']);
  });
});

describe('guard choices', () => {
  const C = `
int dispatch(struct kvm_vcpu *vcpu, unsigned int ioctl)
{
	int r;

	switch (ioctl) {
	case KVM_A:
		if (vcpu->arch.guest_state_protected)
			return -EINVAL;
		r = 0;
		break;
	case KVM_B:
		if (vcpu->guest_debug)
			return -EBUSY;
		r = 1;
		break;
	}
	if (r)
		return r;
	return 0;
}

void setter(struct kvm_vcpu *vcpu, unsigned long value)
{
	if (sev_es_guest(vcpu->kvm) &&
	    (vcpu->arch.guest_state_protected))
		return;
	if (value > 3)
		return;
	to_svm(vcpu)->vmcb->save.dr7 = value;
}

void untouched(struct kvm_vcpu *vcpu)
{
	if (vcpu->arch.guest_state_protected)
		return;
}
`;

  it('offers the guards on kernel state of the functions the steps went through, in a dispatcher only the step\'s case', async () => {
    const fns = await lowerFunctions(C, 'k.c');
    const choices = guardChoices(fns, [{ functions: ['dispatch', 'setter', 'not_in_code'], op: { name: 'KVM_B' } }]);
    assert.deepEqual(choices.map((c) => [c.spec, c.condition, c.line]), [
      ['dispatch:vcpu->guest_debug', 'vcpu->guest_debug', 13],
      ['setter:sev_es_guest(vcpu->kvm)&&(vcpu->arch.guest_state_protected)', 'sev_es_guest(vcpu->kvm) && (vcpu->arch.guest_state_protected)', 25],
    ]);
    // the other case of the dispatcher, and the same guard once when two steps went through it
    const both = guardChoices(fns, [{ functions: ['dispatch'], op: { name: 'KVM_A' } }, { functions: ['dispatch'], op: { name: 'KVM_A' } }, { functions: ['untouched'], op: { name: 'KVM_A' } }]);
    assert.deepEqual(both.map((c) => c.spec), ['dispatch:vcpu->arch.guest_state_protected', 'untouched:vcpu->arch.guest_state_protected']);
  });

  it('a spec it offers is one --assume guard-absent takes: the condition without its spaces', async () => {
    const fns = await lowerFunctions(C, 'k.c');
    const [setter] = guardChoices(fns, [{ functions: ['setter'], op: { name: 'KVM_RUN' } }]);
    const { options, problems } = optionsWithWhatIf({ depth: 12, vcpus: 2, assumptions: {} }, { vmType: 'protected', vcpus: 2, protectedAtCreate: false, launchRefusesDebug: false, guardAbsent: [setter.spec] });
    assert.deepEqual(problems, []);
    assert.deepEqual(options.absentGuards, [setter.spec]);
  });
});

describe('hazard rows and the sequence of a patch', () => {
  const finding = (over: Partial<Finding>): Finding => ({
    rule: 'vmsa-write-after-encryption', severity: 'error', message: 'svm_set_dr7() writes DR7 (the same path also reaches DR6)',
    location: { file: DOC, line: 22, column: 2 }, introducedBy: DOC, trace: [], key: 'vmsa-write-after-encryption|svm_set_dr7', ...over,
  });

  it('reads as Problems does: the finding\'s message and "introduced by" when Problems has it, the rule\'s otherwise; a rule turned off is not marked', () => {
    const steps = [
      { hazards: [] },
      { hazards: [{ rule: 'vmsa-write-after-encryption' as const, key: 'vmsa-write-after-encryption|svm_set_dr7', message: 'svm_set_dr7() writes DR7', file: 'builtin-model/svm.c', line: 94 }] },
      { hazards: [{ rule: 'debug-armed-at-encryption' as const, key: 'debug-armed-at-encryption|x', message: 'LAUNCH_UPDATE_VMSA encrypts with debugging armed', file: DOC, line: 3 },
        { rule: 'vmsa-read-after-encryption' as const, key: 'r', message: 'reads', file: DOC, line: 4 }] },
    ];
    const marks = hazardMarks(steps, [finding({})], { 'debug-armed-at-encryption': 'warning', 'vmsa-read-after-encryption': 'off' });
    assert.deepEqual(marks.map((m) => [m.step, m.rule, m.severity, m.message]), [
      [2, 'vmsa-write-after-encryption', 'error', 'svm_set_dr7() writes DR7 (the same path also reaches DR6) (introduced by 0002-x.patch)'],
      [3, 'debug-armed-at-encryption', 'warning', 'LAUNCH_UPDATE_VMSA encrypts with debugging armed'],
    ]);
  });

  it('opens a patch on the trace of its error, without the VM\'s creation; none when the patch has no finding', () => {
    const trace = (ops: string[]) => ops.map((operation) => ({ operation, vcpu: operation === 'KVM_RUN' ? 0 : null, location: { file: DOC, line: 1 }, note: '' }));
    const findings = [
      finding({ severity: 'warning', rule: 'vmsa-read-after-encryption', location: { file: DOC, line: 25, column: 1 }, trace: trace(['KVM_CREATE_VM', 'KVM_GET_REGS']) }),
      finding({ location: { file: DOC, line: 30, column: 1 }, trace: trace(['KVM_CREATE_VM', 'KVM_SEV_INIT2', 'KVM_RUN']) }),
      finding({ location: { file: DOC, line: 90, column: 1 }, trace: trace(['KVM_CREATE_VM', 'KVM_SET_REGS']) }),
      finding({ rule: 'analysis-incomplete', location: { file: DOC, line: 21, column: 1 }, trace: trace(['KVM_SET_SREGS']) }),
    ];
    assert.deepEqual(sequenceForPatch(findings, DOC, 20, 80), [{ operation: 'KVM_SEV_INIT2', vcpu: null }, { operation: 'KVM_RUN', vcpu: 0 }]);
    assert.equal(sequenceForPatch(findings, DOC, 100, 200), undefined);
    assert.equal(sequenceForPatch(findings, OTHER, 1, 200), undefined);
  });
});

describe('what-if values', () => {
  const SETTINGS = { depth: 12, vcpus: 3, assumptions: { 'vm-type': 'snp', 'launch-refuses-debug': 'true', 'guard-absent': 'svm_set_dr7:guest_state_protected' } };

  it('start as the settings say, and read as the CLI\'s --assume arguments', () => {
    const v = whatIfFromSettings(SETTINGS);
    assert.deepEqual(v, { vmType: 'snp', vcpus: 3, protectedAtCreate: false, launchRefusesDebug: true, guardAbsent: ['svm_set_dr7:guest_state_protected'] });
    assert.deepEqual(assumeArguments(v), ['vm-type=snp', 'vcpus=3', 'protected-at-create=false', 'launch-refuses-debug=true', 'guard-absent=svm_set_dr7:guest_state_protected']);
    assert.deepEqual(whatIfFromSettings({ depth: 12, vcpus: 2, assumptions: {} }), { vmType: 'protected', vcpus: 2, protectedAtCreate: false, launchRefusesDebug: false, guardAbsent: [] });
  });

  it('replace the settings\' assumptions whole, several guards at once', () => {
    const v: WhatIfValues = { vmType: 'legacy', vcpus: 1, protectedAtCreate: true, launchRefusesDebug: false, guardAbsent: ['a:x', 'b:y'] };
    const { options, problems } = optionsWithWhatIf(SETTINGS, v);
    assert.deepEqual(problems, []);
    assert.deepEqual(options.assumptions, { vmType: 'legacy', vcpus: 1, protectedAtCreate: true, launchRefusesDebug: false });
    assert.deepEqual(options.absentGuards, ['a:x', 'b:y']);
    assert.equal(options.depth, 12);
  });

  it('are the same whatever the order of their guards', () => {
    const v: WhatIfValues = { vmType: 'legacy', vcpus: 1, protectedAtCreate: true, launchRefusesDebug: false, guardAbsent: ['a:x', 'b:y'] };
    assert.ok(sameWhatIf(v, { ...v, guardAbsent: ['b:y', 'a:x'] }));
    assert.ok(!sameWhatIf(v, { ...v, guardAbsent: ['a:x'] }));
    assert.ok(!sameWhatIf(v, { ...v, vcpus: 2 }));
  });

  it('up to a patch: the patches before it and itself; a cover letter or an unknown start means the whole series', () => {
    const p = (file: string, startLine: number) => ({ file, startLine }) as Series['patches'][number];
    const series: Series = { patches: [p('/m.mbx', 10), p('/m.mbx', 50), p('/m.mbx', 90)], coverLetter: p('/m.mbx', 1), problems: [] };
    assert.deepEqual(seriesThrough(series, { file: '/m.mbx', startLine: 50 }).series.patches.map((x) => x.startLine), [10, 50]);
    assert.equal(seriesThrough(series, { file: '/m.mbx', startLine: 50 }).applied, 2);
    assert.deepEqual(seriesThrough(series, { file: '/m.mbx', startLine: 1 }), { series, applied: 3 });
    assert.match(seriesThrough(series, { file: '/m.mbx', startLine: 7 }).note ?? '', /no patch starts at \/m.mbx:7/);
    assert.equal(seriesThrough(series, undefined).applied, 3);
  });
});
