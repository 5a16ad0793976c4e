// A step reused from another state (one that agrees on every slot the operation's code and the
// rules look at) must be exactly the step computed afresh in this state: the same outcomes, the
// same states after, the same hazards. Checked on every state and operation the model reaches
// in seven steps, with its guards and without them, under the what-ifs that change what the
// rules and the step read. The C is the built-in model's (our own).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseC } from '../../../extension/core/parse/cParser';
import type { FunctionIr, FunctionTable } from '../../../extension/core/summary/ir';
import { lowerTranslationUnit } from '../../../extension/core/summary/lowerToIr';
import { type Assumptions, DEFAULT_ASSUMPTIONS, Simulator } from '../../../extension/core/simulate/explore';
import { SimulationCache } from '../../../extension/core/simulate/simulationCache';
import { type SimState, stateKey, symmetricStateKey } from '../../../extension/core/simulate/state';
import { worldOf, type World } from '../../../extension/core/simulate/world';
import { SIMULATION_RULES } from '../../../extension/core/rules/allRules';
import type { StepResult } from '../../../extension/core/rules/rule';

const MODEL = join(__dirname, '../../../extension/core/model/builtin');

async function world(edit: (file: string, text: string) => string): Promise<World> {
  const functions = new Map<string, FunctionIr>();
  const ops = new Map<string, string>();
  const tables = new Map<string, FunctionTable['entries']>();
  for (const name of readdirSync(MODEL).filter((f) => f.endsWith('.c')).sort()) {
    const tree = await parseC(edit(name, readFileSync(join(MODEL, name), 'utf8')));
    try {
      const unit = lowerTranslationUnit(tree.rootNode, { file: name, mapRow: (r) => ({ line: r + 1 }), origin: 'tree' });
      for (const fn of unit.functions) functions.set(fn.name, fn);
      for (const t of unit.opsTables) for (const [op, fn] of t.entries) ops.set(op, fn);
      for (const t of unit.functionTables) tables.set(t.name, t.entries);
    } finally {
      tree.delete();
    }
  }
  return worldOf({ functions, ops, tables, options: { lifecycleFlagsOnly: true } });
}

/** What a user could tell apart in a step's results. */
function summary(results: StepResult[]): string {
  return JSON.stringify(results.map((r) => ({
    status: r.status, ret: r.ret.n, vcpu: r.vcpu, before: stateKey(r.before), after: stateKey(r.after),
    events: r.events.map(({ key: _memo, ...e }) => e), hazards: SIMULATION_RULES.flatMap((rule) => rule.check(r)),
  })));
}

const CASES: { name: string; edit: (file: string, text: string) => string; assumptions: Partial<Assumptions>; hazards?: true }[] = [
  { name: 'the model as it is', edit: (_, t) => t, assumptions: {} },
  { name: 'the model without its guest_state_protected guards', edit: (f, t) => (f === 'x86.c' || f === 'svm.c' ? t.replaceAll('vcpu->arch.guest_state_protected)', '0)') : t), assumptions: {}, hazards: true },
  { name: 'without the guards, LAUNCH_UPDATE_VMSA assumed to refuse while debug is set', edit: (f, t) => (f === 'x86.c' ? t.replaceAll('vcpu->arch.guest_state_protected)', '0)') : t), assumptions: { launchRefusesDebug: true } },
  { name: 'the legacy VM type', edit: (_, t) => t, assumptions: { vmType: 'legacy' } },
  { name: 'guest_state_protected never set when the VMSA is encrypted', edit: (f, t) => (f === 'sev.c' ? t.replace('\tvcpu->arch.guest_state_protected = true;\n', '') : t), assumptions: {}, hazards: true },
];

describe('a step reused from another state is the step computed afresh', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const w = await world(c.edit);
      const assumptions = { ...DEFAULT_ASSUMPTIONS, ...c.assumptions };
      const shared = new Simulator(w.program, w.operations, assumptions, new SimulationCache());
      let reused = 0;
      let hazards = 0;
      // counts the steps served from another state's results
      const spy = shared as unknown as { reusedStep: (...a: unknown[]) => StepResult[] | undefined };
      const original = spy.reusedStep.bind(shared);
      spy.reusedStep = (...a) => { const r = original(...a); if (r) reused++; return r; };
      let steps = 0;
      let queue: SimState[] = shared.createdVms().map((v) => v.state);
      const seen = new Set(queue.map(symmetricStateKey));
      for (let depth = 0; depth < 7 && queue.length; depth++) {
        const next: SimState[] = [];
        for (const state of queue) {
          for (const op of w.operations) {
            for (const vcpu of op.kind === 'vcpu-ioctl' ? state.vcpus.map((_, i) => i) : [null]) {
              const got = shared.step(state, op, vcpu);
              steps++;
              const fresh = new Simulator(w.program, w.operations, assumptions, new SimulationCache()).step(state, op, vcpu);
              assert.equal(summary(got), summary(fresh), `${op.name} on ${vcpu} from ${stateKey(state)}`);
              hazards += got.flatMap((r) => SIMULATION_RULES.flatMap((rule) => rule.check(r))).length;
              for (const r of got) if (!seen.has(symmetricStateKey(r.after))) { seen.add(symmetricStateKey(r.after)); next.push(r.after); }
            }
          }
        }
        queue = next;
      }
      assert.ok(reused > steps / 4, `steps served from another state: ${reused} of ${steps}`);
      if (c.hazards) assert.ok(hazards > 0, 'this case has hazards to compare');
    });
  }
});
