// The built-in model follows mainline: what its handlers do, run as the simulation runs them
// (the operations come from its dispatchers as they would from a tree), and a README that
// names every function it defines.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadBuiltinModel } from '../../../extension/core/model/builtinModel';
import { DEFAULT_ASSUMPTIONS, Simulator, type Assumptions } from '../../../extension/core/simulate/explore';
import { worldOf } from '../../../extension/core/simulate/world';

const ROOT = join(__dirname, '../../..');

async function simulator(vmType: Assumptions['vmType']): Promise<Simulator> {
  const model = await loadBuiltinModel();
  const world = worldOf({ functions: model.functions, ops: model.ops, tables: model.tables, added: [], removed: [], seriesFiles: new Set() });
  return new Simulator(world.program, world.operations, { ...DEFAULT_ASSUMPTIONS, vmType });
}

type Step = [string, number | null];
const at = (op: string, vcpu: number | null = null): Step => [op, vcpu];

async function run(vmType: Assumptions['vmType'], steps: Step[]) {
  const sim = await simulator(vmType);
  return sim.runSequence(steps.map(([operation, vcpu]) => ({ operation, vcpu })));
}

const SEV_ES_LAUNCH: Step[] = [at('KVM_SEV_INIT2'), at('KVM_CREATE_VCPU'), at('KVM_SEV_LAUNCH_START'), at('KVM_SEV_LAUNCH_UPDATE_VMSA')];

describe('built-in model: mainline behaviour', () => {
  it('an SNP VM launches through SNP_LAUNCH_FINISH, which encrypts each VMSA and sets guest_state_protected', async () => {
    const out = await run('snp', [at('KVM_SEV_INIT2'), at('KVM_CREATE_VCPU'), at('KVM_SEV_SNP_LAUNCH_START'), at('KVM_SEV_SNP_LAUNCH_UPDATE'), at('KVM_SEV_SNP_LAUNCH_FINISH')]);
    assert.deepEqual(out.map((o) => o.message ?? o.step?.status), ['success', 'unknown', 'success', 'success', 'success']);
    const last = out[out.length - 1]!.state;
    assert.equal(last.firmware, 'RUNNING');
    assert.equal(last.vcpus[0]!.encrypted, true);
    assert.equal(last.vcpus[0]!.flags.guest_state_protected, 1);
  });

  it('SNP commands are refused for an SEV-ES VM type', async () => {
    const out = await run('protected', [at('KVM_SEV_INIT2'), at('KVM_CREATE_VCPU'), at('KVM_SEV_SNP_LAUNCH_START')]);
    assert.equal(out[2]!.step?.status, 'error');
    assert.equal(out[2]!.state.firmware, 'UNINIT');
  });

  it('KVM_SET_MSRS after encryption: -EINVAL for a protected-state VM, a silent 0 for the legacy type, and no VMSA write either way', async () => {
    for (const [vmType, init, status] of [['protected', 'KVM_SEV_INIT2', 'error'], ['legacy', 'KVM_SEV_ES_INIT', 'success']] as const) {
      const steps = [at(init), ...SEV_ES_LAUNCH.slice(1), at('KVM_SET_MSRS', 0)];
      const out = await run(vmType, steps);
      const set = out[out.length - 1]!.step!;
      assert.equal(set.before.vcpus[0]!.encrypted, true, `${vmType}: the vCPU was encrypted first`);
      assert.equal(set.status, status, vmType);
      assert.ok(!set.events.some((e) => e.k === 'vmsaWrite'), `${vmType}: no write to VMSA-backed state`);
    }
  });

  it('syncing an already encrypted VMSA is refused: a second LAUNCH_UPDATE_VMSA fails', async () => {
    const out = await run('protected', [...SEV_ES_LAUNCH, at('KVM_SEV_LAUNCH_UPDATE_VMSA')]);
    assert.equal(out[out.length - 1]!.step?.status, 'error');
  });

  it('on its own, the model has no error or warning for protected-state VM types', async () => {
    for (const vmType of ['protected', 'snp'] as const) {
      const result = (await simulator(vmType)).explore({ depth: 12, maxStates: 20000 });
      assert.deepEqual(result.hazards.map((h) => `${h.rule} ${h.fn}`), [], vmType);
    }
  });

  it('its README names every function the model defines', async () => {
    const readme = readFileSync(join(ROOT, 'extension/core/model/builtin/README.md'), 'utf8');
    const missing = [...(await loadBuiltinModel()).functions.keys()].filter((name) => !readme.includes(`\`${name}\``));
    assert.deepEqual(missing, []);
  });
});
