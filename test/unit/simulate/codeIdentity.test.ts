// The identity of the code a call can run decides which results are reused: it must change
// when anything reachable changes (through a direct call, an ops table, a table of functions,
// a function handed over as a value) and must tell apart the functions of one recursive cycle.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lowerFunctions } from '../support/lowerC';
import type { FunctionIr } from '../../../extension/core/summary/ir';
import { Program } from '../../../extension/core/simulate/program';
import { Interner } from '../../../extension/core/simulate/simulationCache';

const CODE = `
static int leaf(struct kvm_vcpu *vcpu) { return vcpu->arch.guest_state_protected ? -EINVAL : 0; }
static int other(struct kvm_vcpu *vcpu) { return 1; }
static int by_op(struct kvm_vcpu *vcpu) { return kvm_x86_call(get_cpl)(vcpu); }
static int by_value(struct kvm_vcpu *vcpu) { return run_with(vcpu, leaf); }
static int run_with(struct kvm_vcpu *vcpu, int (*fn)(struct kvm_vcpu *vcpu)) { return fn(vcpu); }
static int ping(struct kvm_vcpu *vcpu, int n) { return n ? pong(vcpu, n - 1) : leaf(vcpu); }
static int pong(struct kvm_vcpu *vcpu, int n) { return ping(vcpu, n); }
static int top(struct kvm_vcpu *vcpu) { return ping(vcpu, 2) + by_op(vcpu) + by_value(vcpu); }
static int svm_get_cpl(struct kvm_vcpu *vcpu) { return leaf(vcpu); }
`;

const lower = (c: string): Promise<Map<string, FunctionIr>> => lowerFunctions(c, 't.c', 'model');

describe('code identity', () => {
  it('is the same for the same function objects, and changes for every caller of an edited function however it is reached', async () => {
    const fns = await lower(CODE);
    const interner = new Interner();
    const ids = (m: Map<string, FunctionIr>) => {
      const p = new Program(m, new Map([['get_cpl', 'svm_get_cpl']]), new Set(), interner);
      return Object.fromEntries(['leaf', 'other', 'by_op', 'by_value', 'run_with', 'ping', 'pong', 'top'].map((n) => [n, p.fingerprint(n)]));
    };
    const first = ids(fns);
    assert.deepEqual(ids(new Map(fns)), first, 'a new program over the same functions: the same identities');
    const edited = new Map(fns);
    edited.set('leaf', (await lower('static int leaf(struct kvm_vcpu *vcpu) { return 0; }')).get('leaf')!);
    const after = ids(edited);
    for (const n of ['leaf', 'by_op', 'by_value', 'ping', 'pong', 'top']) assert.notEqual(after[n], first[n], `${n}() reaches leaf()`);
    for (const n of ['other', 'run_with']) assert.equal(after[n], first[n], `${n}() does not reach leaf()`);
  });

  it('taken over from the program before an edit, is what a fresh program computes, for every function, edit and undo', async () => {
    const fns = await lower(CODE);
    const interner = new Interner();
    const names = ['leaf', 'other', 'by_op', 'by_value', 'run_with', 'ping', 'pong', 'top', 'svm_get_cpl'];
    const ops = new Map([['get_cpl', 'svm_get_cpl']]);
    const ids = (p: Program) => Object.fromEntries(names.map((n) => [n, p.fingerprint(n)]));
    const edits: [string, string][] = [
      ['leaf', 'static int leaf(struct kvm_vcpu *vcpu) { return 0; }'],
      ['other', 'static int other(struct kvm_vcpu *vcpu) { return leaf(vcpu); }'],
      ['run_with', 'static int run_with(struct kvm_vcpu *vcpu, int (*fn)(struct kvm_vcpu *vcpu)) { return other(vcpu); }'],
    ];
    let before = new Program(fns, ops, new Set(), interner);
    ids(before);
    let current = fns;
    for (const [name, text] of [...edits, ['leaf', ''] as [string, string]]) {
      const next = new Map(current);
      if (text) next.set(name, (await lower(text)).get(name)!);
      else next.set(name, fns.get(name)!); // undo: the original object again
      const taken = new Program(next, ops, new Set(), interner, {}, new Map(), before);
      assert.deepEqual(ids(taken), ids(new Program(next, ops, new Set(), interner)), `after editing ${name}()`);
      before = taken;
      current = next;
    }
    const moved = new Program(current, new Map([['get_cpl', 'other']]), new Set(), interner, {}, new Map(), before);
    assert.deepEqual(ids(moved), ids(new Program(current, new Map([['get_cpl', 'other']]), new Set(), interner)), 'an ops table that resolves elsewhere');
  });

  it('tells apart the functions of one recursive cycle, which reach the same code', async () => {
    const p = new Program(await lower(CODE), new Map(), new Set(), new Interner());
    assert.notEqual(p.fingerprint('ping'), p.fingerprint('pong'));
    assert.deepEqual([...p.closure('pong')].sort(), ['leaf', 'ping', 'pong']);
  });

  it('an operation is its dispatcher with its case selected: an edit behind another case leaves it alone, one behind a case it falls into does not', async () => {
    const dispatcher = `
static long dispatch(struct kvm_vcpu *vcpu, unsigned int ioctl)
{
	long r;

	switch (ioctl) {
	case KVM_A: {
		r = handle_a(vcpu);
		break;
	}
	case KVM_B:
		prepare_b(vcpu);
	case KVM_C:
		r = handle_c(vcpu);
		break;
	default:
		r = -EINVAL;
	}
	return r;
}
static int handle_a(struct kvm_vcpu *vcpu) { return 0; }
static int prepare_b(struct kvm_vcpu *vcpu) { return 0; }
static int handle_c(struct kvm_vcpu *vcpu) { return 0; }
`;
    const fns = await lower(dispatcher);
    const interner = new Interner();
    const ops = (m: Map<string, FunctionIr>) => {
      const p = new Program(m, new Map(), new Set(), interner);
      return Object.fromEntries(['KVM_A', 'KVM_B', 'KVM_C'].map((l) => [l, p.selectedFingerprint('dispatch', l)]));
    };
    const first = ops(fns);
    const edit = async (name: string) => {
      const m = new Map(fns);
      m.set(name, (await lower(`static int ${name}(struct kvm_vcpu *vcpu) { return vcpu->arch.guest_state_protected; }`)).get(name)!);
      return ops(m);
    };
    const a = await edit('handle_a');
    assert.notEqual(a.KVM_A, first.KVM_A);
    assert.equal(a.KVM_B, first.KVM_B, 'KVM_B does not run handle_a()');
    assert.equal(a.KVM_C, first.KVM_C);
    const c = await edit('handle_c');
    assert.equal(c.KVM_A, first.KVM_A, 'the block ending in break stops the fall-through');
    assert.notEqual(c.KVM_B, first.KVM_B, 'KVM_B falls into KVM_C');
    assert.notEqual(c.KVM_C, first.KVM_C);
    const b = await edit('prepare_b');
    assert.equal(b.KVM_C, first.KVM_C, 'KVM_C starts below prepare_b()');
    assert.notEqual(b.KVM_B, first.KVM_B);
  });
});
