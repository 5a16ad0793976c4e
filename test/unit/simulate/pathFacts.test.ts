// Paths that stay consistent: a value compared with a named constant keeps that fact through a
// local copy, a callee's parameter, a predicate helper's return condition and a switch. The C
// below is our own, in the shape of the MSR guard mainline uses (a predicate that tests the
// protection flag, exempts one MSR and asks whether the write is intercepted, then a switch on
// a local copy of the index).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lowerFunctions } from '../support/lowerC';
import type { FunctionIr } from '../../../extension/core/summary/ir';
import { Interpreter, type PathCtx, type SimEvent } from '../../../extension/core/simulate/interpreter';
import { addFact, mergeCalleeFacts, NO_FACTS } from '../../../extension/core/simulate/pathFacts';
import { Program } from '../../../extension/core/simulate/program';
import type { SimState } from '../../../extension/core/simulate/state';

const GUARDED = `
static bool prevent_msr_access(struct kvm_vcpu *vcpu, struct msr_data *msr_info)
{
	return is_sev_es_guest(vcpu) && vcpu->arch.guest_state_protected &&
	       msr_info->index != MSR_IA32_XSS &&
	       !write_intercepted(vcpu, msr_info->index);
}

static int set_msr(struct kvm_vcpu *vcpu, struct msr_data *msr)
{
	struct vcpu_svm *svm = to_svm(vcpu);
	u32 ecx = msr->index;

	if (prevent_msr_access(vcpu, msr))
		return vcpu->kvm->arch.has_protected_state ? -EINVAL : 0;

	switch (ecx) {
	case MSR_STAR:
		svm->vmcb01.ptr->save.star = msr->data;
		break;
	case MSR_IA32_XSS:
		vcpu->arch.ia32_xss = msr->data;
		break;
	}
	return 0;
}

static void by_index(struct kvm_vcpu *vcpu, u32 index)
{
	switch (index) {
	case MSR_STAR:
		to_svm(vcpu)->vmcb->save.star = 0;
		break;
	case MSR_IA32_XSS:
		break;
	}
}

static int by_equality(struct kvm_vcpu *vcpu, struct msr_data *msr)
{
	struct vcpu_svm *svm = to_svm(vcpu);

	if (msr->index == MSR_IA32_XSS) {
		if (msr->index == MSR_STAR)
			svm->vmcb->save.star = 0;
		return 0;
	}
	return 0;
}
`;

/** The same guard with its protection test removed, as a patch could do. */
const UNGUARDED = GUARDED.replace(' && vcpu->arch.guest_state_protected &&', ' &&');

function protectedState(): SimState {
  return {
    vmType: 'protected', sevInit: true, firmware: 'RUNNING', flags: { has_protected_state: 1, 'sev.es_active': 1, 'sev.active': 1 },
    vcpus: [{ encrypted: true, debugArmed: false, flags: { guest_state_protected: 1 } }],
  };
}

const lower = (source: string): Promise<Map<string, FunctionIr>> => lowerFunctions(source, 'msr.c');

async function writesOf(source: string, fn: string, index?: string): Promise<SimEvent[]> {
  const fns = await lower(source);
  const ctx: PathCtx = { st: protectedState(), vcpu: 0, locals: {}, events: [], guards: [], fn, facts: NO_FACTS };
  // the msr argument comes from userspace (KVM_SET_MSRS): its index is whatever userspace chose
  const args = [{ n: null }, { n: null, fromUser: true, ...(index ? { sym: index } : {}) }];
  // (for by_index the second argument is the index itself)
  return new Interpreter(new Program(fns, new Map())).runFunction(fns.get(fn)!, ctx, args)
    .flatMap((o) => o.ctx.events).filter((e) => e.k === 'vmsaWrite');
}

describe('path facts', () => {
  it('an equality and an inequality on the same value contradict; a merge from a callee checks them', () => {
    const eq = addFact(NO_FACTS, '$1.index', 'MSR_IA32_XSS', true)!;
    assert.equal(addFact(eq, '$1.index', 'MSR_STAR', true), null);
    assert.equal(addFact(eq, '$1.index', 'MSR_IA32_XSS', false), null);
    assert.ok(addFact(eq, '$1.index', 'MSR_STAR', false));
    const callee = addFact(NO_FACTS, '$0.index', 'MSR_STAR', true)!;
    assert.equal(mergeCalleeFacts(eq, callee, ['$1']), null, 'the callee\'s $0 is the caller\'s $1');
    assert.ok(mergeCalleeFacts(eq, callee, ['$2']));
  });

  it('a nested test of the same value against another constant is never taken', async () => {
    assert.deepEqual(await writesOf(GUARDED, 'by_equality'), []);
  });

  it('the mainline MSR guard: no write to the save area of a protected vCPU on any path', async () => {
    const writes = await writesOf(GUARDED, 'set_msr');
    assert.deepEqual(writes.map((w) => w.k === 'vmsaWrite' && w.field), []);
  });

  it('without its protection test the guard lets MSR_STAR through to the save area, asked by userspace', async () => {
    const writes = await writesOf(UNGUARDED, 'set_msr');
    assert.ok(writes.some((w) => w.k === 'vmsaWrite' && w.field === 'STAR' && w.asked), JSON.stringify(writes));
  });

  it('a known index takes its own case only', async () => {
    assert.deepEqual(await writesOf(GUARDED, 'by_index', 'MSR_IA32_XSS'), []);
    assert.equal((await writesOf(GUARDED, 'by_index', 'MSR_STAR')).length, 1);
  });
});
