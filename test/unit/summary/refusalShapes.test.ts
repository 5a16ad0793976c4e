// Refusal shapes of DOMAIN.md, run through the interpreter on a vCPU whose state is protected,
// and the path summary a hover shows for the same functions.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseC } from '../../../extension/core/parse/cParser';
import type { FunctionIr } from '../../../extension/core/summary/ir';
import { lowerTranslationUnit } from '../../../extension/core/summary/lowerToIr';
import { summarizeFunction } from '../../../extension/core/summary/pathSummary';
import { Interpreter, type PathCtx } from '../../../extension/core/simulate/interpreter';
import { NO_FACTS } from '../../../extension/core/simulate/pathFacts';
import { Program } from '../../../extension/core/simulate/program';
import type { SimState } from '../../../extension/core/simulate/state';

const SOURCE = `
static int goto_out(struct kvm_vcpu *vcpu)
{
	int r;

	r = -EINVAL;
	if (vcpu->arch.guest_state_protected)
		goto out;
	to_svm(vcpu)->vmcb->save.dr7 = 0;
	r = 0;
out:
	return r;
}

static void early_return(struct kvm_vcpu *vcpu, unsigned long v)
{
	if (vcpu->arch.guest_state_protected)
		return;
	to_svm(vcpu)->vmcb->save.dr6 = v;
}

static int by_vm_type(struct kvm_vcpu *vcpu)
{
	if (fpstate_is_confidential(&vcpu->arch.guest_fpu))
		return vcpu->kvm->arch.has_protected_state ? -EINVAL : 0;
	return 0;
}

static void warns_only(struct kvm_vcpu *vcpu)
{
	WARN_ON_ONCE(vcpu->arch.guest_state_protected);
	to_svm(vcpu)->vmcb->save.cr0 = 0;
}

static void warns_and_refuses(struct kvm_vcpu *vcpu)
{
	if (WARN_ON_ONCE(vcpu->arch.guest_state_protected))
		return;
	to_svm(vcpu)->vmcb->save.cr4 = 0;
}

static void skips_protected(struct kvm_vcpu *vcpu, struct kvm_sregs *sregs)
{
	if (vcpu->arch.guest_state_protected)
		goto skip_protected_regs;
	sregs->cs = to_svm(vcpu)->vmcb->save.cs;
skip_protected_regs:
	sregs->efer = vcpu->arch.efer;
}

static int setter(struct kvm_vcpu *vcpu)
{
	vcpu->arch.guest_state_protected = true;
	vcpu->arch.fpu_confidential = 1;
	return 0;
}
`;

async function program(): Promise<{ fns: Map<string, FunctionIr>; program: Program }> {
  const tree = await parseC(SOURCE);
  try {
    const unit = lowerTranslationUnit(tree.rootNode, { file: 'shapes.c', mapRow: (r) => ({ line: r + 1 }), origin: 'series' });
    const fns = new Map(unit.functions.map((f) => [f.name, f]));
    return { fns, program: new Program(fns, new Map()) };
  } finally {
    tree.delete();
  }
}

function protectedState(): SimState {
  return {
    vmType: 'protected', sevInit: true, firmware: 'RUNNING', flags: { has_protected_state: 1, 'sev.es_active': 1, 'sev.active': 1 },
    vcpus: [{ encrypted: true, debugArmed: false, flags: { guest_state_protected: 1, fpu_confidential: 1 } }],
  };
}

async function run(name: string) {
  const { fns, program: p } = await program();
  // every write to an encrypted vCPU's state is recorded; the rule decides which matter
  const ctx: PathCtx = { st: protectedState(), vcpu: 0, locals: {}, events: [], guards: [], fn: name, facts: NO_FACTS };
  return new Interpreter(p).runFunction(fns.get(name)!, ctx);
}

const writes = (o: { ctx: PathCtx }) => o.ctx.events.filter((e) => e.k === 'vmsaWrite');

describe('refusal shapes on a protected vCPU', () => {
  it('r = -EINVAL; goto out; refuses, and says which guard refused', async () => {
    const outs = await run('goto_out');
    assert.equal(outs.length, 1);
    assert.equal(outs[0].val.errno, 'EINVAL');
    assert.equal(outs[0].val.cause?.loc.line, 7);
    assert.deepEqual(writes(outs[0]), []);
  });

  it('an early return in a void setter skips the write', async () => {
    const outs = await run('early_return');
    assert.ok(outs.every((o) => writes(o).length === 0));
  });

  it('return has_protected_state ? -EINVAL : 0 refuses on a protected-state VM', async () => {
    const outs = await run('by_vm_type');
    assert.deepEqual(outs.map((o) => o.val.errno), ['EINVAL']);
    assert.ok(outs[0].val.cause);
  });

  it('WARN_ON_ONCE alone warns but does not refuse', async () => {
    const outs = await run('warns_only');
    assert.ok(outs.some((o) => writes(o).some((w) => w.k === 'vmsaWrite' && w.field === 'CR0' && w.encrypted)));
  });

  it('if (WARN_ON_ONCE(...)) return; refuses', async () => {
    const outs = await run('warns_and_refuses');
    assert.ok(outs.every((o) => writes(o).length === 0));
  });

  it('goto skip_protected_regs skips the VMSA read and runs what follows the label', async () => {
    const outs = await run('skips_protected');
    assert.ok(outs.every((o) => !o.ctx.events.some((e) => e.k === 'vmsaRead')));
  });
});

describe('path summaries', () => {
  it('goto_out: two paths, guards with polarity, the write on one, errno on the other', async () => {
    const { fns } = await program();
    const s = summarizeFunction(fns.get('goto_out')!);
    assert.equal(s.paths.length, 2);
    const refused = s.paths.find((p) => p.end.kind === 'error')!;
    const allowed = s.paths.find((p) => p.end.kind === 'success')!;
    assert.deepEqual(refused.guards.map((g) => [g.text, g.holds]), [['vcpu->arch.guest_state_protected', true]]);
    assert.equal(refused.end.value, '-EINVAL');
    assert.deepEqual(allowed.guards.map((g) => g.holds), [false]);
    assert.deepEqual(allowed.effects.filter((e) => e.kind === 'vmsa-write').map((e) => e.kind === 'vmsa-write' && e.state), ['DR7']);
  });

  it('flag assignments are effects with their values, in order', async () => {
    const { fns } = await program();
    const s = summarizeFunction(fns.get('setter')!);
    assert.deepEqual(s.paths[0].effects.map((e) => e.kind === 'flag' ? `${e.flag}=${e.value}` : e.kind), ['vcpu.guest_state_protected=1', 'vcpu.fpu_confidential=1']);
    assert.equal(s.paths[0].end.kind, 'success');
  });
});
