// Breadth-first exploration of operation sequences from a fresh VM: every reachable state up to
// a depth bound, visited states deduplicated, so each hazard is found first by the shortest
// sequence that reaches it. Same input, same order, same findings, same traces.
import type { TraceStep } from '../findings';
import type { FunctionIr, Loc } from '../summary/ir';
import { FLAGS } from '../summary/idioms';
import { SIMULATION_RULES } from '../rules/allRules';
import type { Hazard, StepResult } from '../rules/rule';
import { Interpreter, type PathCtx, type SimEvent, type Val } from './interpreter';
import { SimulationCache } from './simulationCache';
import { Budget, BudgetExhausted } from '../analysis/budget';
import { sevInitialised } from '../rules/rule';
import { modeDependentReads } from '../rules/vmsaReadAfterEncryption';
import { createsVcpu, type Operation, VM_CREATION, VM_TYPE_CONSTANT } from './operations';
import { NO_FACTS } from './pathFacts';
import type { Program } from './program';
import { type SimState, cloneState, stateKey, symmetricStateKey, writeFlag } from './state';
import { COUNT_SLOT, encryptedSlot, FIRMWARE_SLOT, flagSlot, overlaySlots, readSlots } from './stateSlots';

export interface Assumptions {
  vmType: 'legacy' | 'protected' | 'snp';
  vcpus: number;
  /** What-if: guest_state_protected is set when a vCPU is created. */
  protectedAtCreate: boolean;
  /** What-if: LAUNCH_UPDATE_VMSA refuses while any vCPU has guest_debug set. */
  launchRefusesDebug: boolean;
}

/** The operation the launchRefusesDebug what-if makes refuse. */
const LAUNCH_UPDATE_VMSA = 'KVM_SEV_LAUNCH_UPDATE_VMSA';

export const DEFAULT_ASSUMPTIONS: Assumptions = { vmType: 'protected', vcpus: 2, protectedAtCreate: false, launchRefusesDebug: false };

export interface ExploreOptions {
  depth: number;
  maxStates: number;
}

export interface FoundHazard extends Hazard {
  trace: TraceStep[];
  /** Why code on the trace is only partly known (see FunctionIr.partial); absent when all of it is. */
  partial?: string[];
  /** Other state the same function touches the same way (reported as one finding). */
  alsoDetails: string[];
}

export interface ExploreResult {
  hazards: FoundHazard[];
  statesExplored: number;
  boundReached: boolean;
  /** Ops-table calls no table resolved, and other things the run could not follow. */
  unresolved: { what: string; loc: Loc; fn: string }[];
  truncated: boolean;
  /** Where a bound cut paths (function, what was not followed). */
  cuts: { fn: string; loc: Loc; what: string }[];
  /** Untracked vCPU mode bits on which reads that would matter depended (not reported). */
  modeDependent: string[];
  /** Set when the analysis budget ran out during this exploration: what the note says was cut. */
  budgetCut?: string;
}

interface Node { state: SimState; depth: number; parent: Node | null; step: TraceStep | null }

/** A VM before KVM_CREATE_VM's code ran: nothing set. */
function emptyVm(a: Assumptions): SimState {
  return { vmType: a.vmType, sevInit: false, firmware: 'NONE', vcpus: [], flags: {} };
}

/** Without the VM creation code (a model or tree that lacks it), the VM type's flag as the assumption says. */
export function initialState(a: Assumptions): SimState {
  return { ...emptyVm(a), flags: { [FLAGS.hasProtectedState.slice(3)]: a.vmType === 'legacy' ? 0 : 1 } };
}

export class Simulator {
  private readonly interp: Interpreter;

  constructor(
    private readonly program: Program,
    private readonly operations: readonly Operation[],
    private readonly assumptions: Assumptions,
    private readonly cache: SimulationCache = new SimulationCache(),
    private readonly budget: Budget = Budget.unlimited(),
  ) {
    this.interp = new Interpreter(program, cache, budget);
    // a small number: it is part of every step's key
    this.assumptionKey = `a${cache.fingerprints.id(`assume ${JSON.stringify(assumptions)}`)}`;
  }

  /** Steps depend on the what-if assumptions too (vCPU count, refusals): a cache shared by several what-ifs keeps them apart. */
  private readonly assumptionKey: string;

  get truncated(): boolean {
    return this.interp.truncated;
  }

  /** Each operation's code identity, asked once per exploration rather than once per state. */
  private readonly opIds = new Map<Operation, string>();

  /** All outcomes of one operation (on one vCPU, for vCPU operations) from `state`. */
  step(state: SimState, op: Operation, vcpu: number | null): StepResult[] {
    let id = this.opIds.get(op);
    if (id === undefined) { id = `${this.program.selectedFingerprint(op.handler, op.name)}|${op.name}|${this.assumptionKey}`; this.opIds.set(op, id); }
    const key = `${id}|${vcpu}|${this.cache.stateId(state)}`;
    const cached = this.cache.steps.get(key);
    if (cached) { this.cache.hits++; return cached; }
    this.cache.misses++;
    const results = this.reusedStep(state, op, vcpu, id) ?? this.recordedStep(state, op, vcpu, id);
    this.cache.steps.set(key, results);
    return results;
  }

  /**
   * The step's results from another state that agrees on every slot they depend on: the code's
   * (recorded as a call's), the ones the rules read (judgedSlots) and the vCPU count. A step that
   * creates a vCPU changes the count itself, and is always computed.
   */
  private reusedStep(state: SimState, op: Operation, vcpu: number | null, id: string): StepResult[] | undefined {
    if (createsVcpu(op)) return undefined;
    const found = this.cache.findStep(`${id}|${vcpu}`, state);
    if (!found) return undefined;
    this.interp.replay(found.template.notes);
    const results = found.template.results.map((r, i) => ({ ...r, before: state, after: overlaySlots(state, found.slots, found.template.afterValues[i]) }));
    shareJudgement(found.template.results, results);
    return results;
  }

  private recordedStep(state: SimState, op: Operation, vcpu: number | null, id: string): StepResult[] {
    const run = this.interp.recorded(() => this.computeStep(state, op, vcpu));
    if (run.reusable && !createsVcpu(op)) {
      const slots = [...new Set([...run.slots, ...judgedSlots(state, op, vcpu, run.slots, this.assumptions)])].sort();
      this.cache.storeStep(`${id}|${vcpu}`, state, slots, {
        results: run.value, afterValues: run.value.map((r) => readSlots(r.after, slots)), notes: run.notes,
      });
    }
    return run.value;
  }

  private computeStep(state: SimState, op: Operation, vcpu: number | null): StepResult[] {
    const handler = this.program.functions.get(op.handler);
    if (!handler) return [];
    const a = this.assumptions;
    let st = state;
    let runOn: number | null = op.kind === 'vcpu-ioctl' ? vcpu : null;
    if (createsVcpu(op)) {
      if (st.vcpus.length >= a.vcpus) return [];
      st = cloneState(st);
      st.vcpus.push({ encrypted: false, debugArmed: false, flags: {} });
      runOn = st.vcpus.length - 1;
      writeFlag(st, FLAGS.createdVcpus, null, 1, this.program.trackedFlags);
      if (a.protectedAtCreate) writeFlag(st, FLAGS.protectedState, runOn, 1, this.program.trackedFlags);
    } else if (op.kind === 'vcpu-ioctl' && (vcpu === null || !st.vcpus[vcpu])) return [];
    if (a.launchRefusesDebug && op.name === LAUNCH_UPDATE_VMSA
      && st.vcpus.some((v) => v.flags[FLAGS.guestDebug.slice(5)] !== 0 && v.flags[FLAGS.guestDebug.slice(5)] !== undefined)) return [];
    // the dispatcher runs with its case selected: the ioctl number is the case's constant
    const args = handler.params.map((_, i) => (i === op.selectorParam ? { n: null, sym: op.name } : { n: null }));
    const ctx: PathCtx = {
      st, vcpu: runOn, locals: {}, events: [], guards: [], fn: op.handler,
      facts: NO_FACTS, select: { fn: op.handler, label: op.name },
    };
    const handlerLoc = op.source ? { file: op.source.file, line: op.source.line, column: 1 } : handler.loc;
    const results: StepResult[] = [];
    const distinct = new Set<string>();
    for (const o of this.runGuarded(handler, ctx, args, op)) {
      // outcomes that end alike (state, return, what happened where) are one outcome
      const sig = `${stateKey(o.ctx.st)}#${o.val.n}#${o.val.cause?.loc.line ?? ''}#${eventsSignature(o.ctx.events)}`;
      if (distinct.has(sig)) continue;
      distinct.add(sig);
      const status = o.val.n === null ? 'unknown' : o.val.n < 0 ? 'error' : 'success';
      let after = o.ctx.st;
      if (sevInitialised({ op, status, before: state, after })) {
        after = cloneState(after);
        after.sevInit = true;
        after.firmware = 'UNINIT';
      }
      if (status === 'error' && createsVcpu(op)) {
        after = cloneState(after);
        after.vcpus.pop();
      }
      results.push({
        op, vcpu: ctx.vcpu, before: state, after, status, ret: o.val, events: o.ctx.events,
        ...(o.ctx.seriesLoc ? { seriesLoc: o.ctx.seriesLoc } : {}), handlerLoc,
      });
    }
    return results;
  }

  /**
   * The handler's outcomes; code nested so deep that running it overflows the stack costs this
   * step (named in a note), not the analysis. The budget's exhaustion is not caught here.
   */
  private runGuarded(handler: FunctionIr, ctx: PathCtx, args: Val[], op: Operation): { ctx: PathCtx; val: Val }[] {
    try {
      return this.interp.runFunction(handler, ctx, args);
    } catch (e) {
      this.interp.reset();
      if (!(e instanceof RangeError)) throw e;
      this.interp.noteCut(handler, `${op.name}: the code it runs is nested too deeply to simulate (${e.message}); this step was not analysed`);
      return [];
    }
  }

  /**
   * Runs one chosen sequence (the what-if panel, tests). Of a step's outcomes it takes the one
   * that does not fail and changes the most (encryption, then armed debugging, then any state
   * change): the case the user is asking about. A step that cannot run here says why.
   */
  runSequence(seq: { operation: string; vcpu: number | null }[]): { step: StepResult | null; state: SimState; message?: string }[] {
    const out: { step: StepResult | null; state: SimState; message?: string }[] = [];
    try {
      this.runChosen(seq, this.createdVms()[0]?.state ?? initialState(this.assumptions), out);
    } catch (e) {
      if (!(e instanceof BudgetExhausted)) throw e;
      this.interp.reset();
      out.push({ step: null, state: out[out.length - 1]?.state ?? initialState(this.assumptions), message: this.budget.describeCut() });
    }
    return out;
  }

  private runChosen(seq: { operation: string; vcpu: number | null }[], start: SimState, out: { step: StepResult | null; state: SimState; message?: string }[]): void {
    let state = start;
    for (const want of seq) {
      const op = this.operations.find((o) => o.name === want.operation);
      if (!op) { out.push({ step: null, state, message: `unknown operation ${want.operation}` }); continue; }
      const results = this.step(state, op, op.kind === 'vcpu-ioctl' ? want.vcpu ?? 0 : null);
      // a refusal the state decided is an answer; a bad argument (-EFAULT) or the dispatcher's
      // "nothing to do" early return is not what the user asks about
      const changed = (x: StepResult): boolean => stateKey(x.after) !== stateKey(state);
      const score = (x: StepResult): number => (x.status === 'error' ? (x.ret.cause ? 0.5 : -10) : 0)
        + 4 * x.events.filter((e) => e.k === 'encrypt').length + 2 * x.events.filter((e) => e.k === 'debugArm').length
        + (changed(x) ? 1 : 0) + (x.status !== 'error' && !changed(x) && x.events.length === 0 ? -1 : 0);
      const r = results.reduce<StepResult | undefined>((best, x) => (!best || score(x) > score(best) ? x : best), undefined);
      if (!r) { out.push({ step: null, state, message: `${op.name} cannot run in this state` }); continue; }
      state = r.after;
      out.push({ step: r, state });
    }
  }

  /** The operation instances available in a state: vCPU operations once per existing vCPU. */
  private instances(state: SimState): { op: Operation; vcpu: number | null }[] {
    const out: { op: Operation; vcpu: number | null }[] = [];
    for (const op of this.operations) {
      if (op.kind === 'vcpu-ioctl') state.vcpus.forEach((_, i) => out.push({ op, vcpu: i }));
      else out.push({ op, vcpu: null });
    }
    return out;
  }

  /**
   * The VM as KVM_CREATE_VM leaves it: the code that takes the VM type (kvm_arch_init_vm) run with
   * the type's constant, each way it succeeds a starting state. Without that code, the assumption's flags.
   */
  createdVms(): { state: SimState; step: TraceStep | null }[] {
    const fn = this.program.functions.get(VM_CREATION);
    if (!fn) return [{ state: initialState(this.assumptions), step: null }];
    const type = VM_TYPE_CONSTANT[this.assumptions.vmType];
    const args = fn.params.map((p, i) => (p === 'type' || (i === fn.params.length - 1 && !fn.params.includes('type')) ? { n: null, sym: type } : { n: null }));
    const ctx: PathCtx = { st: emptyVm(this.assumptions), vcpu: null, locals: {}, events: [], guards: [], fn: fn.name, facts: NO_FACTS };
    const out = new Map<string, { state: SimState; step: TraceStep | null }>();
    const outcomes = this.interp.runFunction(fn, ctx, args);
    // the ways it returns 0 are the VM userspace gets; a path whose result we cannot tell counts only without them
    const succeeded = outcomes.filter((o) => o.val.n === 0);
    for (const o of succeeded.length ? succeeded : outcomes) {
      if (o.val.n !== null && o.val.n < 0) continue;
      const key = stateKey(o.ctx.st);
      if (!out.has(key)) out.set(key, { state: o.ctx.st, step: { operation: 'KVM_CREATE_VM', vcpu: null, location: { file: fn.loc.file, line: fn.loc.line }, note: `type ${type}` } });
    }
    return out.size ? [...out.values()] : [{ state: initialState(this.assumptions), step: null }];
  }

  /**
   * Hazards whose trace ran code only partly known (a hunk analysed alone, partialFunction.ts)
   * carry why: every operation on the trace counts, since an earlier step's state came from it.
   */
  private withPartialCode(hazards: FoundHazard[]): FoundHazard[] {
    const partial = [...this.program.functions.values()].filter((fn) => fn.partial);
    if (!partial.length) return hazards;
    const handlerOf = new Map(this.operations.map((o) => [o.name, o.handler]));
    const reasons = new Map<string, string[]>();
    const reasonsOf = (operation: string): string[] => {
      let r = reasons.get(operation);
      if (!r) {
        const handler = operation === 'KVM_CREATE_VM' ? VM_CREATION : handlerOf.get(operation);
        const reach = handler ? this.program.closure(handler) : new Set<string>();
        r = partial.filter((fn) => fn.name === handler || reach.has(fn.name)).map((fn) => fn.partial!);
        reasons.set(operation, r);
      }
      return r;
    };
    return hazards.map((h) => {
      const why = [...new Set(h.trace.flatMap((step) => reasonsOf(step.operation)))];
      return why.length ? { ...h, partial: why } : h;
    });
  }

  explore(opts: ExploreOptions): ExploreResult {
    const found = new Map<string, FoundHazard>();
    const unresolved = new Map<string, { what: string; loc: Loc; fn: string }>();
    const modes = new Set<string>();
    let explored = 0;
    let boundReached = false;
    let budgetCut: string | undefined;
    try {
      const roots: Node[] = this.createdVms().map((v) => ({ state: v.state, depth: 0, parent: null, step: v.step }));
      const visited = new Set<string>(roots.map((r) => symmetricStateKey(r.state)));
      let queue: Node[] = roots;
      while (queue.length) {
        const next: Node[] = [];
        for (const node of queue) {
          explored++;
          for (const { op, vcpu } of this.instances(node.state)) {
            const results = this.step(node.state, op, vcpu);
            const judged = judge(results);
            for (let i = 0; i < results.length; i++) {
              const r = results[i];
              const { hazards, unresolved: unfollowed, modes: decidedBy } = judged[i];
              for (const ev of unfollowed) unresolved.set(`${ev.what}@${ev.fn}`, ev);
              for (const m of decidedBy) modes.add(m);
              for (const h of hazards) {
                const seen = found.get(h.key);
                if (seen) {
                  if (h.detail && h.detail !== seen.detail && !seen.alsoDetails.includes(h.detail)) seen.alsoDetails.push(h.detail);
                  continue;
                }
                const trace = [...traceOf(node), stepOf(r, h)];
                found.set(h.key, { ...h, trace, alsoDetails: [] });
              }
              const key = symmetricStateKey(r.after);
              if (visited.has(key)) continue;
              if (node.depth + 1 >= opts.depth || visited.size >= opts.maxStates) { boundReached = true; continue; }
              visited.add(key);
              next.push({ state: r.after, depth: node.depth + 1, parent: node, step: stepOf(r) });
            }
          }
        }
        queue = next;
      }
    } catch (e) {
      // the budget is spent: what was found so far is the result, and says it is partial
      if (!(e instanceof BudgetExhausted)) throw e;
      this.interp.reset();
      budgetCut = this.budget.describeCut();
    }
    return {
      hazards: this.withPartialCode([...found.values()]), statesExplored: explored, boundReached, unresolved: [...unresolved.values()], truncated: this.interp.truncated,
      // in code order: which call met a bound first depends on what an earlier analysis left in the cache
      cuts: [...this.interp.cuts.values()].sort(byPlace), modeDependent: [...modes].sort(), ...(budgetCut ? { budgetCut } : {}),
    };
  }
}

const eventSignatures = new WeakMap<SimEvent[], string>();

/** What happened where, as one string; per event list (a reused call hands the same list to every state it is adopted in). */
function eventsSignature(events: SimEvent[]): string {
  let sig = eventSignatures.get(events);
  if (sig === undefined) { sig = events.map((e) => `${e.k}@${e.loc.file}:${e.loc.line}`).join(','); eventSignatures.set(events, sig); }
  return sig;
}

function byPlace(a: { fn: string; loc: Loc; what: string }, b: { fn: string; loc: Loc; what: string }): number {
  return order(a.loc.file, b.loc.file) || a.loc.line - b.loc.line || order(a.fn, b.fn) || order(a.what, b.what);
}

/** By code unit, the same in every locale. */
function order(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The slots besides the code's that a step's results depend on: what computeStep itself reads
 * (the vCPU count, the debug flags LAUNCH_UPDATE_VMSA may be assumed to refuse on) and what the
 * rules read of the states before and after (rules/*.ts): SEV initialised and the firmware, the
 * VM's SEV and protected-state flags, the step's vCPU, and for a vCPU whose encryption the code
 * touched, its guest_state_protected. Anything else the rules see is the same before and after.
 */
function judgedSlots(state: SimState, op: Operation, vcpu: number | null, codeSlots: readonly string[], a: Assumptions): string[] {
  const out = [COUNT_SLOT, FIRMWARE_SLOT, FLAGS.sevActive, FLAGS.esActive, FLAGS.hasProtectedState];
  if (vcpu !== null) out.push(encryptedSlot(vcpu));
  const flag = (key: string, i: number) => flagSlot(key, i)!;
  for (const slot of codeSlots) {
    const m = /^v(\d+)#E$/.exec(slot);
    if (m) out.push(flag(FLAGS.protectedState, Number(m[1])));
  }
  if (a.launchRefusesDebug && op.name === LAUNCH_UPDATE_VMSA) state.vcpus.forEach((_, i) => out.push(flag(FLAGS.guestDebug, i)));
  return out;
}

/** What the exploration takes from one step result: its hazards, what it could not follow, the modes its reads depended on. */
interface Judged { hazards: Hazard[]; unresolved: (SimEvent & { k: 'unresolved' })[]; modes: string[] }

/** Rules are pure in the step result, and cached step results recur (every exploration after an edit): judged once. */
const judgedSteps = new WeakMap<StepResult[], Judged[]>();

/** A reused step's results are judged as the ones they were made from (see judgedSlots). */
function shareJudgement(from: StepResult[], to: StepResult[]): void {
  judgedSteps.set(to, judge(from));
}
function judge(results: StepResult[]): Judged[] {
  let out = judgedSteps.get(results);
  if (!out) {
    out = results.map((r) => ({
      hazards: SIMULATION_RULES.flatMap((rule) => rule.check(r)),
      unresolved: r.events.filter((e): e is SimEvent & { k: 'unresolved' } => e.k === 'unresolved'),
      modes: modeDependentReads(r.events),
    }));
    judgedSteps.set(results, out);
  }
  return out;
}

function traceOf(node: Node): TraceStep[] {
  const steps: TraceStep[] = [];
  for (let n: Node | null = node; n && n.step; n = n.parent) steps.unshift(n.step);
  return steps;
}

function stepOf(r: StepResult, h?: Hazard): TraceStep {
  const loc = h?.loc ?? r.seriesLoc?.loc ?? r.handlerLoc;
  const note = h?.note ?? noteOf(r);
  // the guest's choice (which exit it took) and the calls down to the hazard
  const path = h?.via?.length ? ` (${h.via.join(' -> ')})` : '';
  return { operation: r.op.name, vcpu: r.vcpu, location: { file: loc.file, line: loc.line }, note: h?.choice ? `guest exit ${h.choice}${path}: ${note}` : `${note}${path}` };
}

/** What one step did, in a few words: the ground-truth changes first, then the flags. */
export function noteOf(r: StepResult): string {
  const parts: string[] = [];
  const ev = (k: SimEvent['k']) => r.events.filter((e) => e.k === k);
  for (const e of ev('encrypt')) if (e.k === 'encrypt') parts.push(`encrypts vcpu ${e.vcpu}'s VMSA`);
  for (const e of ev('debugArm')) if (e.k === 'debugArm') parts.push(`arms debugging (${e.how})`);
  for (const e of ev('flagSet')) {
    if (e.k === 'flagSet' && (e.flag === FLAGS.protectedState || e.flag === FLAGS.guestDebug || e.flag === FLAGS.esActive || !e.flag.startsWith('vm.created')))
      parts.push(`sets ${e.flag.replace(/^(vcpu|vm)\./, '')} = ${e.value ?? '?'}`);
  }
  for (const e of ev('firmware')) if (e.k === 'firmware' && e.ok) parts.push(`firmware ${e.command}`);
  const ret = r.status === 'error' ? `fails (${r.ret.errno ? '-' + r.ret.errno : 'error'})` : r.status === 'success' ? 'succeeds' : 'returns';
  return parts.length ? `${ret}; ${dedupe(parts).join('; ')}` : ret;
}

function dedupe(xs: string[]): string[] {
  return [...new Set(xs)];
}
