// Facts about the terms every function shares (the VMCB control area, the kvm_run page) go into
// a callee only when its code, or code it reaches, mentions them: a helper that never looks at
// the exit code is computed once whatever the caller knows of it, and one that does is still
// decided by what the caller knows. Our own C.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lowerFunctions } from '../support/lowerC';
import type { FunctionIr } from '../../../extension/core/summary/ir';
import { Interpreter, type PathCtx } from '../../../extension/core/simulate/interpreter';
import { addFact, factsFor, NO_FACTS, type Facts } from '../../../extension/core/simulate/pathFacts';
import { Program } from '../../../extension/core/simulate/program';
import { SimulationCache } from '../../../extension/core/simulate/simulationCache';
import type { SimState } from '../../../extension/core/simulate/state';

const CODE = `
static int plain(struct kvm_vcpu *vcpu)
{
	return 0;
}

static int by_exit(struct kvm_vcpu *vcpu)
{
	struct vcpu_svm *svm = to_svm(vcpu);

	if (svm->vmcb->control.exit_code == SVM_EXIT_MSR) {
		svm->vmcb->save.dr7 = 0;
		return 1;
	}
	return 2;
}

static int through(struct kvm_vcpu *vcpu)
{
	return by_exit(vcpu);
}
`;

const lower = (source: string): Promise<Map<string, FunctionIr>> => lowerFunctions(source, 'exit.c');

// the vCPU's VMSA is encrypted, so a write to its save area is an event
const state = (): SimState => ({ vmType: 'protected', sevInit: true, firmware: 'RUNNING', flags: {}, vcpus: [{ encrypted: true, debugArmed: false, flags: {} }] });
const exitIs = (code: string): Facts => addFact(NO_FACTS, 'vmcb.control.exit_code', code, true)!;

describe('shared-term facts a callee gets', () => {
  it('keeps facts about parameters and about the shared terms the code mentions (fields of them, and what they are fields of)', () => {
    const facts = { ...exitIs('SVM_EXIT_MSR'), 'user.kvm_dirty_regs': { eq: '#0' }, '$0.index': { eq: 'MSR_STAR' }, 'vmcb.control.exit_info_1.low': { ne: ['#0'] } };
    assert.deepEqual(Object.keys(factsFor(facts, ['vmcb.control.exit_code'])).sort(), ['$0.index', 'vmcb.control.exit_code']);
    assert.deepEqual(Object.keys(factsFor(facts, ['vmcb.control.exit_info_1'])).sort(), ['$0.index', 'vmcb.control.exit_info_1.low']);
    assert.deepEqual(Object.keys(factsFor(facts, ['user.kvm_dirty_regs', 'vmcb.control'])).sort(), Object.keys(facts).sort());
    const kept = exitIs('SVM_EXIT_MSR');
    assert.equal(factsFor(kept, ['vmcb.control.exit_code']), kept, 'nothing dropped: the same object');
  });

  it('knows which shared terms a function reaches through its callees', async () => {
    const p = new Program(await lower(CODE), new Map());
    assert.deepEqual(p.sharedTerms('plain'), []);
    assert.deepEqual(p.sharedTerms('by_exit'), ['vmcb.control.exit_code']);
    assert.deepEqual(p.sharedTerms('through'), ['vmcb.control.exit_code']);
  });

  it('computes a helper that never looks at the exit code once, and one that does once per exit code known', async () => {
    const fns = await lower(CODE);
    const cache = new SimulationCache();
    const interp = new Interpreter(new Program(fns, new Map()), cache);
    const run = (fn: string, facts: Facts) => {
      const ctx: PathCtx = { st: state(), vcpu: 0, locals: {}, events: [], guards: [], fn: 'caller', facts };
      return interp.runFunction(fns.get(fn)!, ctx, [{ n: null }]);
    };
    run('plain', exitIs('SVM_EXIT_MSR'));
    const afterFirst = cache.misses;
    const again = run('plain', exitIs('SVM_EXIT_HLT'));
    assert.equal(cache.misses, afterFirst, 'plain() does not depend on the exit code');
    assert.equal(again[0].ctx.facts['vmcb.control.exit_code']?.eq, 'SVM_EXIT_HLT', 'the caller keeps what it knew');
    const writes = (facts: Facts) => run('through', facts).flatMap((o) => o.ctx.events).filter((e) => e.k === 'vmsaWrite').length;
    assert.equal(writes(exitIs('SVM_EXIT_MSR')), 1, 'an MSR exit takes the write');
    const before = cache.misses;
    assert.equal(writes(exitIs('SVM_EXIT_HLT')), 0, 'another exit does not');
    assert.ok(cache.misses > before, 'through() reaches a test of the exit code: what the caller knows of it is part of the call');
  });
});
