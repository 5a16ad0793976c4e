// Events carry their join key; a copy that changes what the key is made of must not carry the
// old one, or two different events would be joined as one. A copy keeps the key only when it
// changes nothing the key is made of, and every event of every step the model's exploration
// keeps has no key yet or the key its fields make. The C is the
// built-in model's (our own), with its guards taken out so reads and writes after encryption
// happen and flow into objects and the kvm_run page.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadBuiltinModel } from '../../../extension/core/model/builtinModel';
import { lowerFunctions } from '../support/lowerC';
import { DEFAULT_ASSUMPTIONS, Simulator } from '../../../extension/core/simulate/explore';
import { computeEventKey, copyEvent, type SimEvent } from '../../../extension/core/simulate/interpreter';
import { SimulationCache } from '../../../extension/core/simulate/simulationCache';
import { worldOf } from '../../../extension/core/simulate/world';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const MODEL = join(__dirname, '../../../extension/core/model/builtin');

describe('event join keys', () => {
  it('are kept by a copy that changes the call chain, the vCPU or the tags, and dropped by one that changes a part of the key', () => {
    const read = { k: 'vmsaRead', field: 'DR7', area: 'vmcb', vcpu: 0, encrypted: true, decided: false, loc: { file: 'svm.c', line: 3, column: 2 }, fn: 'f' } as SimEvent & { k: 'vmsaRead' };
    read.key = computeEventKey(read);
    for (const kept of [copyEvent(read, { via: ['g'] }), copyEvent(read, { vcpu: 1 }), copyEvent(read, { mode: 'vcpu.hflags&HF_GUEST_MASK', compat: true })]) {
      assert.equal(kept.key, read.key);
      assert.equal(computeEventKey(kept), read.key, 'and it is still right');
    }
    for (const changed of [copyEvent(read, { into: ['f:msr'] }), copyEvent(read, { user: 'the kvm_run page (regs)' }), copyEvent(read, { choice: 'SVM_EXIT_MSR' }), copyEvent(read, { decided: true }), copyEvent(read, { field: 'RIP' })]) {
      assert.equal(changed.key, undefined);
      assert.notEqual(computeEventKey(changed), read.key);
    }
  });

  it('are never stale in any step of an exploration', async () => {
    const model = await loadBuiltinModel();
    const functions = new Map(model.functions);
    for (const name of ['x86.c', 'svm.c']) {
      const unguarded = readFileSync(join(MODEL, name), 'utf8').replaceAll('vcpu->arch.guest_state_protected)', '0)');
      for (const [fnName, fn] of await lowerFunctions(unguarded, name, 'tree')) functions.set(fnName, fn);
    }
    const w = worldOf({ functions, ops: model.ops, tables: model.tables, options: { lifecycleFlagsOnly: true } });
    const cache = new SimulationCache();
    const result = new Simulator(w.program, w.operations, DEFAULT_ASSUMPTIONS, cache).explore({ depth: 12, maxStates: 20000 });
    assert.ok(result.hazards.length > 0, 'the unguarded model has hazards');
    let keyed = 0;
    let events = 0;
    for (const results of cache.steps.values()) {
      for (const r of results) {
        for (const e of r.events) {
          events++;
          if (e.key === undefined) continue;
          keyed++;
          assert.equal(e.key, computeEventKey(e), `${e.k} at ${e.loc.file}:${e.loc.line} in ${r.op.name}`);
        }
      }
    }
    assert.ok(keyed > 0 && events > keyed / 2, `${keyed} keyed of ${events} events`);
  });
});
