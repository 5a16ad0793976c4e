// vCPUs are interchangeable: a call computed on one vCPU that touched no other vCPU's state is
// reused on the other, with the events it reports named for the vCPU it is reused on. A call
// that looked at another vCPU (a loop over the VM's vCPUs) is never reused that way.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadBuiltinModel } from '../../../extension/core/model/builtinModel';
import { DEFAULT_ASSUMPTIONS, Simulator } from '../../../extension/core/simulate/explore';
import { SimulationCache, type StoredCall } from '../../../extension/core/simulate/simulationCache';
import type { SimState } from '../../../extension/core/simulate/state';
import { worldOf } from '../../../extension/core/simulate/world';

const twoVcpus = (): SimState => ({
  vmType: 'protected', sevInit: false, firmware: 'NONE', flags: { has_protected_state: 1 },
  vcpus: [{ encrypted: false, debugArmed: false, flags: {} }, { encrypted: false, debugArmed: false, flags: {} }],
});

const stored = (vcpu: number): StoredCall => ({ outcomes: [], notes: [], depth: 0, reach: 0, depthCut: false, vcpu });

describe('calls reused across interchangeable vCPUs', () => {
  it('finds a call stored on vCPU 0 for vCPU 1 when vCPU 1 agrees on the slots it read, named for vCPU 1', () => {
    const cache = new SimulationCache();
    const st = twoVcpus();
    cache.storeCall('k', st, ['v0#E', 'v0.guest_debug', 'vm.has_protected_state'], stored(0));
    const found = cache.findCall('k', 1, st, () => true);
    assert.deepEqual(found?.slots, ['v1#E', 'v1.guest_debug', 'vm.has_protected_state']);
    assert.equal(found?.vcpu, 0, 'the stored call says which vCPU its events name');
    const encryptedOne = twoVcpus();
    encryptedOne.vcpus[1].encrypted = true;
    assert.equal(cache.findCall('k', 1, encryptedOne, () => true), undefined, 'vCPU 1 differs in a slot the call read');
    assert.equal(cache.findCall('k', null, st, () => true), undefined, 'a call without a vCPU is another call');
  });

  it('keeps a call that read another vCPU for its own vCPU only', () => {
    const cache = new SimulationCache();
    const st = twoVcpus();
    cache.storeCall('k', st, ['n', 'v0#E', 'v1#E'], stored(0));
    assert.ok(cache.findCall('k', 0, st, () => true));
    assert.equal(cache.findCall('k', 1, st, () => true), undefined);
  });

  it('computes KVM_SET_GUEST_DEBUG once for both vCPUs, and the reuse on vCPU 1 arms vCPU 1', async () => {
    const model = await loadBuiltinModel();
    const world = worldOf({ ...model, options: { lifecycleFlagsOnly: true } });
    const op = world.operations.find((o) => o.name === 'KVM_SET_GUEST_DEBUG');
    assert.ok(op, 'the model defines KVM_SET_GUEST_DEBUG');
    const cache = new SimulationCache();
    const sim = new Simulator(world.program, world.operations, DEFAULT_ASSUMPTIONS, cache);
    const st = twoVcpus();
    const on0 = sim.step(st, op, 0);
    const computed = cache.misses;
    const on1 = sim.step(st, op, 1);
    assert.equal(cache.misses - computed, 1, 'only the step itself is new: every call in it is reused');
    const armed = (r: typeof on0) => r.flatMap((x) => x.events.filter((e) => e.k === 'debugArm').map((e) => (e as { vcpu: number | null }).vcpu));
    assert.ok(armed(on0).length > 0, 'the model arms debugging on success');
    assert.deepEqual([...new Set(armed(on0))], [0]);
    assert.deepEqual([...new Set(armed(on1))], [1]);
    assert.ok(on1.some((r) => r.after.vcpus[1].debugArmed && !r.after.vcpus[0].debugArmed), 'the state changed is vCPU 1\'s');
  });
});
