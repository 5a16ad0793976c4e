// Runs a function's IR on an abstract state. Conditions the state decides are decided; the
// rest are both true and false, so one call yields every outcome the code allows. Effects that
// matter to the rules are recorded as events, each with the ground truth of the moment.
import type { Callee, Expr, FunctionIr, Loc, StateRef, Stmt } from '../summary/ir';
import {
  FLAGS, isWholeArea, debugArmingCall, firmwareCommand, flagKey, flagSetter, FIRMWARE_CALLS, MEMORY_WRITERS, isWarnMacro,
  isCopyFromUser, isCopyToUser, isNamedConstant, keptCurrentByTraps, EXIT_CODE_FIELD, isSevEsAutomaticExit,
} from '../summary/idioms';
import { type FlagValue, type SimState, cloneState, readFlag, writeFlag } from './state';
import { type CallNote, SimulationCache, type StoredCall, type StoredOutcome } from './simulationCache';
import { COUNT_SLOT, debugArmedSlot, encryptedSlot, FIRMWARE_SLOT, flagSlot, overlaySlots, readSlots } from './stateSlots';
import { Budget } from '../analysis/budget';
import type { Program } from './program';
import { labelTail } from '../summary/irKeys';
import {
  addFact, addOneOf, calleeFacts, type Facts, factsFor, factsKey, forgetTerm, knownDifferent, knownSym, mergeCalleeFacts, parameterFacts, translateTerm,
} from './pathFacts';

/** A guard decided by kernel state, remembered so a refusal can say what refused it. */
export interface Cause {
  loc: Loc;
  fn: string;
  text: string;
}

/** A value: a known number (errno as negative), or unknown; with where a state decision came from. */
export interface Val {
  n: number | null;
  errno?: string;
  cause?: Cause;
  /** The VMSA-backed field this value was read from, as "area:FIELD". */
  taint?: string;
  /** A function named as a value (msr_io(vcpu, argp, do_set_msr, 0)): calling it calls that function. */
  fnRef?: string;
  /** Userspace handed this value in (copy_from_user, memdup_user, the kvm_run page), or it derives from such a value. */
  fromUser?: boolean;
  /** The named constant this value is (its number unknown, its identity known). */
  sym?: string;
  /** Identity of an unknown scalar (a parameter's field, a local copy of one), for path facts. */
  term?: string;
  /** This value is true exactly when `term` equals `sym` (eq) or differs from it. */
  cmp?: { term: string; sym: string; eq: boolean };
  /** Read from a protection flag that is set (guest_state_protected, ...). */
  prot?: Cause;
  /** Decided by a vCPU mode bit the simulation does not track (hflags & HF_GUEST_MASK, the VMCB's LBR enable). */
  mode?: string;
  /**
   * Unknown only because a test of a set protection flag was combined with something we cannot
   * see (`protected && !msr_write_intercepted(...)`): when the value is `when`, the kernel's own
   * guard decided this path may go on, so the accesses after it are its decision, not a hazard.
   */
  gate?: { cause: Cause; when: 0 | 1 };
}

export type SimEvent = (
  /** `asked`: the value written is one userspace handed in (see Val.fromUser). */
  | { k: 'vmsaWrite'; field: string; area: Area; vcpu: number | null; encrypted: boolean; asked: boolean; loc: Loc; fn: string }
  /**
   * `into`: the objects (as "function:local") the value was stored in or handed to a callee
   * with; `user`: how it then reached userspace (copy_to_user of one of them, the kvm_run page).
   */
  | { k: 'vmsaRead'; field: string; area: Area; vcpu: number | null; encrypted: boolean; decided: boolean; loc: Loc; fn: string; into?: string[]; user?: string }
  /** KVM changed its VMCB control area (intercepts, LBR virtualization) for an encrypted vCPU. */
  | { k: 'controlWrite'; field: string; vcpu: number | null; loc: Loc; fn: string }
  | { k: 'debugArm'; vcpu: number | null; encrypted: boolean; how: string; loc: Loc; fn: string }
  | { k: 'encrypt'; vcpu: number; debugArmed: boolean; loc: Loc; fn: string }
  | { k: 'flagSet'; flag: string; vcpu: number | null; value: FlagValue; loc: Loc; fn: string }
  | { k: 'firmware'; command: string; ok: boolean; loc: Loc; fn: string }
  | { k: 'unresolved'; what: string; loc: Loc; fn: string })
  /** The patch line this function ran last before the event, when a patch changed this function. */
  & {
    /** eventKey's memo; copyEvent keeps it unless the copy changes a field it is made of. */
    key?: string;
    at?: Loc;
    /** The calls from the operation's handler down to the event's function, outermost first. */
    via?: string[];
    /** The guest's choice this happened under (the exit it took), named in the trace. */
    choice?: string;
    /** The untracked vCPU mode bit the path branched on before this happened. */
    mode?: string;
    /** Happened after the path checked the VM type and found it legacy. */
    compat?: boolean;
  };

type Flow =
  | { k: 'normal' }
  | { k: 'return'; val: Val }
  | { k: 'break' }
  | { k: 'continue' }
  | { k: 'goto'; label: string };

/** Everything one path has seen so far; copied when the path forks. */
export interface PathCtx {
  st: SimState;
  vcpu: number | null;
  locals: Record<string, Val>;
  events: SimEvent[];
  /** Causes of the state-decided branches we are inside, innermost last. */
  guards: (Cause | null)[];
  /** The last line of series code this path ran, for locating findings in the patch. */
  seriesLoc?: { loc: Loc; fn: string };
  /** The last patch line run in the current function (its first changed line on entry). */
  here?: Loc;
  fn: string;
  /** What this path has learnt about values it cannot compute. */
  facts: Facts;
  /** Set after a protection guard let the path through by its own exemption (see Val.gate). */
  exempt?: Cause;
  /** The untracked vCPU mode bit this path branched on: what happens after depends on a mode we do not model. */
  mode?: string;
  /** The path read that the VM is of the legacy type (has_protected_state clear): what follows is the type's compatibility. */
  compat?: boolean;
  /** The operation's dispatch: in `fn`, a switch with `case label:` takes that case. */
  select?: { fn: string; label: string };
}

interface Outcome { ctx: PathCtx; flow: Flow }

/** The VMSA page itself, or KVM's VMCB save-area copy of the state. */
type Area = 'page' | 'vmcb';

/**
 * A call being computed: the state slots it read or wrote, what it left unfollowed, and whether
 * it may be reused. `depth`: the calls in progress when it was made; `reach`: how much deeper
 * the calls it made went; `depthCut`: one of them was cut by MAX_CALL_DEPTH, so its result holds
 * only at this same depth (without a cut, at any depth where the deepest call still fits).
 */
interface CallFrame { slots: Set<string>; notes: Map<string, CallNote>; contextual: boolean; depth: number; reach: number; depthCut: boolean }

export interface CallResult { st: SimState; events: SimEvent[]; seriesLoc?: PathCtx['seriesLoc']; val: Val; facts: Facts }


const UNKNOWN: Val = { n: null };
/** The pseudo-constant of a fact "this value is zero". */
const ZERO = '#0';
const USER: Val = { n: null, fromUser: true };
const MAX_OUTCOMES = 96;
/** KVM_RUN's deepest paths (an exit through the MMU to async page fault delivery) are about 20 calls. */
const MAX_CALL_DEPTH = 28;

/**
 * How deep statements and expressions may nest across calls. Lowering bounds each function
 * (MAX_IR_DEPTH); a chain of calls, each from its innermost statement, adds those up, and
 * past this the JavaScript stack would run out.
 */
const MAX_NESTING = 1000;

export class Interpreter {
  private stack: string[] = [];
  /** exec/evalExpr frames now open, across calls. */
  private nesting = 0;
  /** For each call being computed, innermost last: what its result depends on so far. */
  private frames: CallFrame[] = [];
  /** Set when some path was cut by a bound; the caller reports it as analysis-incomplete. */
  truncated = false;
  /** Where a bound cut paths, by function: what a note tells the user was not followed. */
  readonly cuts = new Map<string, { fn: string; loc: Loc; what: string }>();

  /**
   * Paths not followed. `contextual`: the cut depends on where the call was made from (how deep
   * the calls leading to it are), not only on the call, so no call in progress may be reused.
   */
  private cut(fn: FunctionIr | { name: string; loc: Loc }, what: string, contextual = false): void {
    this.record({ key: `${fn.name}|${what}`, fn: fn.name, loc: fn.loc, what, cut: true });
    if (contextual) for (const f of this.frames) f.contextual = true;
  }

  /** A cut found by the caller (a step abandoned): reported like the interpreter's own. */
  noteCut(fn: FunctionIr | { name: string; loc: Loc }, what: string): void {
    this.cut(fn, what, true);
  }

  /** Something not followed that is the same every time (a missing exit handler, recursion): named, results still reused. */
  private note(fn: FunctionIr | { name: string; loc: Loc }, what: string): void {
    this.record({ key: `${fn.name}|${what}`, fn: fn.name, loc: fn.loc, what, cut: false });
  }

  /** A call was made at this stack depth (and cut there, by MAX_CALL_DEPTH): what the calls in progress reached. */
  private reached(depth: number, cut: boolean): void {
    const top = this.frames[this.frames.length - 1];
    if (!top) return;
    top.reach = Math.max(top.reach, depth - top.depth);
    top.depthCut ||= cut;
  }

  private record(n: CallNote): void {
    if (n.cut) this.truncated = true;
    if (!this.cuts.has(n.key)) this.cuts.set(n.key, { fn: n.fn, loc: n.loc, what: n.what });
    this.frames[this.frames.length - 1]?.notes.set(n.key, n);
  }

  constructor(
    private readonly program: Program,
    private readonly cache: SimulationCache = new SimulationCache(),
    private readonly budget: Budget = Budget.unlimited(),
  ) {}

  /** Where the budget ran out, for its note: the calls being run. */
  private readonly where = (): string => this.stack.join(' -> ') || 'the operations';

  /** After a run was abandoned by an exception (the budget, a stack overflow): no call is in progress. */
  reset(): void {
    this.stack = [];
    this.nesting = 0;
    this.frames = [];
  }

  /** The call being computed depends on this slot of the state (see stateSlots). */
  private touch(slot: string): void {
    this.frames[this.frames.length - 1]?.slots.add(slot);
  }

  /** Ground truth: is the path's vCPU's VMSA encrypted (false without a vCPU, or when it does not exist)? */
  private encrypted(ctx: PathCtx): boolean {
    if (ctx.vcpu === null) return false;
    this.touch(encryptedSlot(ctx.vcpu));
    return ctx.st.vcpus[ctx.vcpu]?.encrypted ?? false;
  }

  private vcpuExists(ctx: PathCtx, vcpu: number): boolean {
    this.touch(encryptedSlot(vcpu));
    return !!ctx.st.vcpus[vcpu];
  }

  /** A VM flag read as the hardware's configuration, tracked as a lifecycle flag or not. */
  private vmFlagIsSet(ctx: PathCtx, name: string): boolean {
    this.touch(`vm.${name}`);
    return ctx.st.flags[name] === 1;
  }

  /** A tracked flag of the path's VM or vCPU is read or written: the call depends on its slot. */
  private touchFlag(ctx: PathCtx, key: string): void {
    const slot = this.program.trackedFlags.has(key) ? flagSlot(key, ctx.vcpu) : undefined;
    if (slot) this.touch(slot);
  }

  private flag(ctx: PathCtx, key: string): FlagValue {
    this.touchFlag(ctx, key);
    return readFlag(ctx.st, key, ctx.vcpu, this.program.trackedFlags);
  }

  /**
   * Runs `run` as a call is run: what it read or wrote of the state and left unfollowed, so a
   * caller (an exploration step) can reuse its result where the state agrees on those slots.
   * `reusable` is false when the run was abandoned or depended on where it was made from.
   */
  recorded<T>(run: () => T): { value: T; slots: string[]; notes: CallNote[]; reusable: boolean } {
    const frame: CallFrame = { slots: new Set(), notes: new Map(), contextual: false, depth: this.stack.length, reach: 0, depthCut: false };
    this.frames.push(frame);
    try {
      const value = run();
      const whole = this.frames[this.frames.length - 1] === frame;
      return { value, slots: [...frame.slots].sort(), notes: [...frame.notes.values()], reusable: whole && !frame.contextual && !frame.depthCut };
    } finally {
      // a reset (the budget, a stack overflow) has emptied the frames already
      if (this.frames[this.frames.length - 1] === frame) this.frames.pop();
    }
  }

  /** What a reused result left unfollowed, named again as if it had been computed now. */
  replay(notes: readonly CallNote[]): void {
    for (const n of notes) this.record(n);
  }

  /** Runs `fn` from `ctx`; returns each distinct outcome with its return value. */
  runFunction(fn: FunctionIr, ctx: PathCtx, args: Val[] = []): { ctx: PathCtx; val: Val }[] {
    // recursion is followed once: the inner call's outcome is unknown (no state changes seen
    // there), which only the calls made inside the outer one see, so only they are not reused
    const outer = this.stack.indexOf(fn.name);
    if (outer >= 0) {
      for (let i = outer + 1; i < this.frames.length; i++) this.frames[i].contextual = true;
      if (outer === 0) this.note(fn, `${fn.name}() calls itself again: the inner call is taken as doing nothing`);
      return [{ ctx, val: UNKNOWN }];
    }
    const depth = this.stack.length;
    if (depth >= MAX_CALL_DEPTH) {
      this.reached(depth, true);
      this.cut(fn, `calls nested deeper than ${MAX_CALL_DEPTH} were not followed into ${fn.name}()`);
      return [{ ctx, val: UNKNOWN }];
    }
    // A call's outcomes depend only on what the callee can run, the vCPU, the known arguments
    // and the slots of the state it read or wrote: computed once, they are reused wherever and
    // whenever the call recurs in a state that agrees on those slots (on any vCPU, when it
    // touched only its own: see the cache's CallVariant).
    const seed = factsFor(calleeFacts(ctx.facts, args.map((a) => a.term)), this.program.sharedTerms(fn.name));
    const code = ctx.select?.fn === fn.name ? this.program.selectedFingerprint(fn.name, ctx.select.label) : this.program.fingerprint(fn.name);
    const key = `${code}|${args.map((a) => argKey(a, this.program)).join(',')}|${factsKey(seed)}`
      + (ctx.select?.fn === fn.name ? `|${ctx.select.label}` : '');
    let found = this.cache.findCall(key, ctx.vcpu, ctx.st, (c) => (c.depthCut ? c.depth === depth : depth + c.reach < MAX_CALL_DEPTH));
    if (!found) {
      this.cache.misses++;
      const frame: CallFrame = { slots: new Set(), notes: new Map(), contextual: false, depth, reach: 0, depthCut: false };
      this.frames.push(frame);
      const results = this.computeCall(fn, ctx, args, seed);
      this.frames.pop();
      const slots = [...frame.slots].sort();
      found = {
        slots, outcomes: results.map(({ st, ...r }) => ({ ...r, out: readSlots(st, slots) })), notes: [...frame.notes.values()],
        depth, reach: frame.reach, depthCut: frame.depthCut, vcpu: ctx.vcpu,
      };
      if (!frame.contextual) this.cache.storeCall(key, ctx.st, slots, found);
    } else {
      this.cache.hits++;
    }
    // what the callee depended on, reached and left unfollowed, its caller did
    for (const slot of found.slots) this.touch(slot);
    for (const n of found.notes) this.record(n);
    this.reached(depth + found.reach, found.depthCut);
    return this.adopt(found, fn, ctx, args);
  }

  /** A callee's stored outcomes in the caller's path: its state slots, events, facts and return value. */
  private adopt(found: StoredCall & { slots: string[] }, fn: FunctionIr, ctx: PathCtx, args: Val[]): { ctx: PathCtx; val: Val }[] {
    const argTerms = args.map((a) => a.term);
    const out: { ctx: PathCtx; val: Val }[] = [];
    for (const r of found.outcomes) {
      // the callee's facts about its parameters are the caller's about its arguments
      const facts = mergeCalleeFacts(ctx.facts, r.facts, argTerms);
      if (!facts) continue;
      // event lists are never changed once made, so an empty one is replaced, not copied
      const mine = r.events.length === 0 ? r.events : calleeEvents(r, fn.name, ctx, found.vcpu);
      const events = mine.length === 0 ? ctx.events : ctx.events.length === 0 ? mine : ctx.events.concat(mine);
      const next: PathCtx = { ...ctx, st: overlaySlots(ctx.st, found.slots, r.out), events, facts };
      if (r.seriesLoc) next.seriesLoc = r.seriesLoc;
      out.push({ ctx: next, val: returnedValue(r.val, argTerms, facts) });
    }
    return out;
  }

  /** Runs the callee from a clean slate (no caller events, locals or guards) so the result composes. */
  private computeCall(fn: FunctionIr, ctx: PathCtx, args: Val[], seed: Facts): CallResult[] {
    this.stack.push(fn.name);
    try {
      // each parameter is known by its position, so facts about it can go back to the caller
      const locals: Record<string, Val> = {};
      fn.params.forEach((p, i) => {
        const a = args[i];
        locals[p] = { n: a?.n ?? null, ...(a?.errno ? { errno: a.errno } : {}), ...(a?.sym ? { sym: a.sym } : {}), ...(a?.fromUser ? { fromUser: true } : {}), ...(a?.fnRef ? { fnRef: a.fnRef } : {}), term: `$${i}` };
      });
      const select = ctx.select?.fn === fn.name ? { select: ctx.select } : {};
      const inner: PathCtx = {
        st: ctx.st, vcpu: ctx.vcpu, locals, events: [], guards: [], fn: fn.name, facts: seed, ...select,
        ...(fn.touched ? { seriesLoc: { loc: fn.touched, fn: fn.name }, here: fn.touched } : {}),
      };
      const results = this.execFunctionBody(fn, inner).flatMap((o) => {
        const val = o.flow.k === 'return' ? o.flow.val : fn.returnsVoid ? { n: 0 } : UNKNOWN;
        // a predicate helper's result, decided by what it compared, is two outcomes
        return this.split(o.ctx, val).map(([c, v]): CallResult => ({
          st: c.st, events: c.events, facts: parameterFacts(c.facts),
          ...(c.seriesLoc ? { seriesLoc: c.seriesLoc } : {}), val: v,
        }));
      });
      return this.joinResults(results);
    } finally {
      this.stack.pop();
    }
  }

  /**
   * Outcomes a caller cannot tell apart (same state, same value, same facts) are one: their
   * events are joined. A long function returns from dozens of places; its callers should not
   * fork on each.
   */
  private joinResults(results: CallResult[]): CallResult[] {
    if (results.length < 2) return results;
    const byKey = new Map<string, CallResult>();
    for (const r of results) {
      const key = `${this.cache.stateId(r.st)}|${valKey(r.val)}|${factsKey(r.facts)}`;
      const prev = byKey.get(key);
      if (!prev) { byKey.set(key, r); continue; }
      const events = unionEvents(prev.events, r.events);
      if (events !== prev.events) byKey.set(key, { ...prev, events });
    }
    return [...byKey.values()];
  }

  private execFunctionBody(fn: FunctionIr, ctx: PathCtx): Outcome[] {
    const done: Outcome[] = [];
    let pending = this.exec(fn.body, ctx);
    for (let jumps = 0; pending.length && jumps < 8; jumps++) {
      const next: Outcome[] = [];
      for (const o of pending) {
        if (o.flow.k !== 'goto') { done.push(o); continue; }
        const tail = labelTail(fn.body, o.flow.label);
        if (!tail) { done.push({ ctx: o.ctx, flow: { k: 'return', val: UNKNOWN } }); continue; }
        for (const x of this.execSeq(tail, o.ctx)) next.push(x);
      }
      // paths that jumped to the same label in the same state go on as one (a goto maze stays bounded)
      pending = this.capOutcomes(next);
    }
    if (pending.length) this.cut(fn, `a chain of more than 8 gotos in ${fn.name}() was not followed to its end`);
    return done;
  }

  // ---- statements ----

  private exec(s: Stmt, ctx: PathCtx): Outcome[] {
    this.budget.spend(1, 'simulate', this.where);
    if (this.nesting >= MAX_NESTING) {
      this.cutTooDeep(ctx);
      return [{ ctx, flow: { k: 'normal' } }];
    }
    // no try/finally: an exception abandons the whole run, and reset() then clears the count
    this.nesting++;
    const out = this.execStmt(s, ctx);
    this.nesting--;
    return out;
  }

  /** Code nested too deeply across calls (each function is bounded, their sum is not): named once, run as doing nothing. */
  private cutTooDeep(ctx: PathCtx): void {
    const fn = this.program.functions.get(ctx.fn);
    this.cut(fn ?? { name: ctx.fn, loc: { file: '<simulation>', line: 1, column: 1 } },
      `statements and expressions nested more than ${MAX_NESTING} deep, counted across the calls that lead into ${ctx.fn}(), were not simulated`, true);
  }

  private execStmt(s: Stmt, ctx: PathCtx): Outcome[] {
    switch (s.k) {
      case 'block': return this.execSeq(s.body, ctx);
      case 'label': return [{ ctx, flow: { k: 'normal' } }];
      case 'break': return [{ ctx, flow: { k: 'break' } }];
      case 'continue': return [{ ctx, flow: { k: 'continue' } }];
      case 'goto': return [{ ctx: this.refusalMark(ctx), flow: { k: 'goto', label: s.label } }];
      case 'expr': {
        // a statement that neither touches modelled state nor sets a local is not run at all
        const e = s.expr;
        // a statement that sets a local, or a constant into a local's field (msr.index = MSR_EFER), still runs
        const setsLocal = e.k === 'assign' && (e.target?.k === 'local' || (e.target?.k === 'field' && isPure(e.value)));
        if (!this.program.relevance.stmtMatters(s) && !setsLocal) return [{ ctx: this.visit(ctx, s.loc), flow: { k: 'normal' } }];
        return this.evalExpr(e, this.visit(ctx, s.loc)).map(([c]) => ({ ctx: c, flow: { k: 'normal' } }));
      }
      case 'return': {
        const c0 = this.visit(ctx, s.loc);
        if (!s.value) return [{ ctx: c0, flow: { k: 'return', val: { n: 0 } } }];
        return this.evalExpr(s.value, c0).map(([c, v]) => ({ ctx: c, flow: { k: 'return', val: this.withGuardCause(c, v) } }));
      }
      case 'if': {
        if (!this.program.relevance.stmtMatters(s)) return [{ ctx, flow: { k: 'normal' } }];
        const out: Outcome[] = [];
        for (const [c, v] of this.evalCond(s.cond, this.visit(ctx, s.loc)).flatMap(([c0, v0]) => this.split(c0, v0, true))) {
          // the refusal's reason is the whole condition as written, at the if
          const cause = v.cause ? { loc: s.loc, fn: c.fn, text: `"${s.text.replace(/\s+/g, ' ').replace(/^\((.*)\)$/, '$1')}"` } : null;
          if (v.n === null) {
            // the side a protection guard lets through by its own exemption carries on exempt
            const onThen = v.gate?.when === 1 ? { ...c, exempt: v.gate.cause } : c;
            const onElse = v.gate?.when === 0 ? { ...c, exempt: v.gate.cause } : c;
            const thenOuts = this.branch(s.then, onThen, null, v.mode);
            out.push(...thenOuts);
            // `if (!is_guest_mode(vcpu)) return;`: what follows runs only in that mode
            const fallsThroughInMode = v.mode && !s.else && !c.mode && !thenOuts.some((o) => o.flow.k === 'normal');
            out.push(...(s.else ? this.branch(s.else, onElse, null, v.mode) : [{ ctx: fallsThroughInMode ? { ...onElse, mode: v.mode } : onElse, flow: { k: 'normal' } as Flow }]));
          } else if (v.n !== 0) {
            out.push(...this.branch(s.then, c, cause));
          } else {
            out.push(...(s.else ? this.branch(s.else, c, cause) : [{ ctx: c, flow: { k: 'normal' } as Flow }]));
          }
        }
        return this.capOutcomes(out);
      }
      case 'loop': {
        if (s.each === 'vcpu') return this.execVcpuLoop(s.body, ctx);
        if (!this.program.relevance.stmtMatters(s.body)) return [{ ctx, flow: { k: 'normal' } }];
        // Other loops: skipped, or run once; the body's effects are what matter.
        const once = this.exec(s.body, ctx).map((o) => o.flow.k === 'break' || o.flow.k === 'continue' ? { ctx: o.ctx, flow: { k: 'normal' } as Flow } : o);
        return this.capOutcomes([{ ctx, flow: { k: 'normal' } }, ...once]);
      }
      case 'switch': {
        const out: Outcome[] = [];
        for (const [c0, v0] of this.evalExpr(s.subject, ctx)) {
          let c = c0;
          let v = v0;
          // the operation being run is this dispatcher's `case label:`
          if (c.select && c.select.fn === c.fn && s.cases.some((x) => x.labels.includes(c.select!.label))) {
            v = { n: null, sym: c.select.label, ...(v.term ? { term: v.term } : {}) };
            if (v.term) c = { ...c, facts: addFact(c.facts, v.term, c.select.label, true) ?? c.facts };
          }
          const before = v.term ? c.facts[v.term] : undefined;
          const restore = (o: Outcome): Outcome => {
            if (!v.term || o.ctx.facts[v.term] === before) return o;
            const facts = { ...o.ctx.facts };
            if (before) facts[v.term] = before; else delete facts[v.term];
            return { ctx: { ...o.ctx, facts }, flow: o.flow };
          };
          for (const [i, at] of this.feasibleCases(s, v, c)) {
            const fallthrough = fallthroughFrom(s, i);
            for (const o of this.execSeq(fallthrough, at)) out.push(restore(o.flow.k === 'break' ? { ctx: o.ctx, flow: { k: 'normal' } } : o));
          }
          if (!s.cases.some((x) => x.labels.includes('default'))) {
            const none = this.noCaseTaken(s, v, c);
            if (none) out.push(restore({ ctx: none, flow: { k: 'normal' } }));
          }
        }
        return this.capOutcomes(out);
      }
    }
  }

  /**
   * The cases a switch can take for its subject, each with the path's facts: a known constant
   * takes its case (or default); a value with an identity takes each case the facts allow,
   * learning that it equals the label, and default learning that it differs from every label.
   */
  private feasibleCases(s: Stmt & { k: 'switch' }, v: Val, c: PathCtx): [number, PathCtx][] {
    const out: [number, PathCtx][] = [];
    const symLabels = s.cases.flatMap((x) => x.labels.filter(isNamedConstant));
    for (let i = 0; i < s.cases.length; i++) {
      const labels = s.cases[i].labels;
      const isDefault = labels.includes('default');
      if (v.sym !== undefined) {
        const hit = labels.includes(v.sym);
        if (hit || (isDefault && !symLabels.includes(v.sym))) out.push([i, c]);
        continue;
      }
      if (v.term === undefined) { out.push([i, c]); continue; }
      const term = v.term;
      if (isDefault) {
        const facts = symLabels.reduce<Facts | null>((f, l) => (f ? addFact(f, term, l, false) : null), c.facts);
        // default shares its body with labels before it: reachable through them too
        const viaLabels = labels.some((l) => l !== 'default' && (!isNamedConstant(l) || !knownDifferent(c.facts, term, l)));
        if (facts) out.push([i, { ...c, facts }]);
        else if (viaLabels) out.push([i, c]);
        continue;
      }
      const named = labels.filter(isNamedConstant);
      if (named.length !== labels.length) { out.push([i, c]); continue; }
      if (named.length === 1) {
        const facts = addFact(c.facts, term, named[0], true);
        if (facts) out.push([i, { ...c, facts }]);
      } else if (named.some((l) => !knownDifferent(c.facts, term, l))) out.push([i, c]);
    }
    return out;
  }

  /** The path on which no case matches (a switch without default), if the facts allow one. */
  private noCaseTaken(s: Stmt & { k: 'switch' }, v: Val, c: PathCtx): PathCtx | undefined {
    const symLabels = s.cases.flatMap((x) => x.labels.filter(isNamedConstant));
    if (v.sym !== undefined) return symLabels.includes(v.sym) ? undefined : c;
    if (v.term === undefined) return c;
    const term = v.term;
    const facts = symLabels.reduce<Facts | null>((f, l) => (f ? addFact(f, term, l, false) : null), c.facts);
    return facts ? { ...c, facts } : undefined;
  }

  /**
   * A value decided by a comparison we could not compute: both outcomes, each learning its fact.
   * As a condition (`truth`), a value with an identity is also zero on one side and not on the other.
   */
  split(ctx: PathCtx, v: Val, truth = false): [PathCtx, Val][] {
    if (truth && v.n === null && !v.cmp && v.sym === undefined && v.term !== undefined) {
      const out: [PathCtx, Val][] = [];
      const keep = { ...(v.taint ? { taint: v.taint } : {}), ...(v.fromUser ? { fromUser: true } : {}) };
      const nonzero = addFact(ctx.facts, v.term, ZERO, false);
      if (nonzero) out.push([{ ...ctx, facts: nonzero }, { n: 1, ...keep }]);
      const zero = addFact(ctx.facts, v.term, ZERO, true);
      if (zero) out.push([{ ...ctx, facts: zero }, { n: 0, ...keep }]);
      return out;
    }
    if (v.n !== null || !v.cmp) return [[ctx, v]];
    const out: [PathCtx, Val][] = [];
    const { term, sym, eq } = v.cmp;
    const keep = { ...(v.cause ? { cause: v.cause } : {}), ...(v.taint ? { taint: v.taint } : {}), ...(v.prot ? { prot: v.prot } : {}) };
    const whenTrue = addFact(ctx.facts, term, sym, eq);
    if (whenTrue) out.push([{ ...ctx, facts: whenTrue }, { n: 1, ...keep }]);
    const whenFalse = addFact(ctx.facts, term, sym, !eq);
    if (whenFalse) out.push([{ ...ctx, facts: whenFalse }, { n: 0, ...keep }]);
    return out;
  }

  /** A branch body: inside it the branch's guard holds, and the untracked mode bit it was decided by (if any). */
  private branch(s: Stmt, ctx: PathCtx, cause: Cause | null, mode?: string): Outcome[] {
    const inside: PathCtx = { ...ctx, guards: [...ctx.guards, cause], ...(mode && !ctx.mode ? { mode } : {}) };
    return this.exec(s, inside).map((o) => {
      const back: PathCtx = { ...o.ctx, guards: ctx.guards };
      if (ctx.mode) back.mode = ctx.mode; else delete back.mode;
      return { ctx: back, flow: o.flow };
    });
  }

  private execSeq(body: Stmt[], ctx: PathCtx): Outcome[] {
    let live: PathCtx[] = [ctx];
    const finished: Outcome[] = [];
    for (const s of body) {
      const next: PathCtx[] = [];
      for (const c of live) {
        for (const o of this.exec(s, c)) {
          if (o.flow.k === 'normal') next.push(o.ctx);
          else finished.push(o);
        }
      }
      live = this.dedupe(next);
      if (live.length === 0) break;
    }
    return this.capOutcomes([...finished, ...live.map((c) => ({ ctx: c, flow: { k: 'normal' } as Flow }))]);
  }

  private execVcpuLoop(body: Stmt, ctx: PathCtx): Outcome[] {
    let live: PathCtx[] = [ctx];
    const finished: Outcome[] = [];
    this.touch(COUNT_SLOT);
    for (let i = 0; i < ctx.st.vcpus.length; i++) {
      const next: PathCtx[] = [];
      for (const c of live) {
        for (const o of this.exec(body, { ...c, vcpu: i })) {
          const back = { ...o.ctx, vcpu: ctx.vcpu };
          if (o.flow.k === 'normal' || o.flow.k === 'continue') next.push(back);
          else if (o.flow.k === 'break') finished.push({ ctx: back, flow: { k: 'normal' } });
          else finished.push({ ctx: back, flow: o.flow });
        }
      }
      live = this.dedupe(next);
    }
    return this.capOutcomes([...finished, ...live.map((c) => ({ ctx: c, flow: { k: 'normal' } as Flow }))]);
  }

  /**
   * Paths that reach the same state join into one: locals they agree on stay, the others become
   * unknown, and their events are the union. Real kernel functions branch on much we do not
   * model; joining keeps the live paths to the number of distinct states.
   */
  private dedupe(ctxs: PathCtx[]): PathCtx[] {
    if (ctxs.length < 2) return ctxs;
    const byState = new Map<string, PathCtx>();
    for (const c of ctxs) {
      // paths that hold different known values (r = -EFAULT; r = -EINVAL) stay apart: the value is what the function returns
      const id = `${this.cache.stateId(c.st)}|${c.exempt ? 1 : 0}|${c.mode ?? ''}|${c.compat ? 1 : 0}|${knownLocals(c.locals)}`;
      const prev = byState.get(id);
      byState.set(id, prev ? joinPaths(prev, c) : c);
    }
    return [...byState.values()];
  }

  /** Statement outcomes: those that end alike (state, how, value) are joined before any is cut. */
  private capOutcomes(xs: Outcome[]): Outcome[] {
    if (xs.length <= MAX_OUTCOMES / 2) return xs;
    const byKey = new Map<string, Outcome>();
    for (const o of xs) {
      const f = o.flow;
      const how = f.k === 'return' ? `r${valKey(f.val)}` : f.k === 'goto' ? `g${f.label}` : f.k;
      const key = `${this.cache.stateId(o.ctx.st)}|${o.ctx.exempt ? 1 : 0}|${o.ctx.mode ?? ''}|${how}`;
      const prev = byKey.get(key);
      byKey.set(key, prev ? { ctx: joinPaths(prev.ctx, o.ctx), flow: prev.flow } : o);
    }
    return this.cap([...byKey.values()]);
  }

  private cap<T>(xs: T[]): T[] {
    if (xs.length <= MAX_OUTCOMES) return xs;
    const fn = this.stack[this.stack.length - 1] ?? '?';
    const ir = this.program.functions.get(fn);
    this.cut(ir ?? { name: fn, loc: { file: '?', line: 1, column: 1 } }, `more than ${MAX_OUTCOMES} distinct paths in ${fn}(): the rest were not followed`);
    return xs.slice(0, MAX_OUTCOMES);
  }

  private visit(ctx: PathCtx, loc: Loc): PathCtx {
    if (loc.change === undefined && !this.program.isSeriesFile(loc.file)) return ctx;
    return { ...ctx, seriesLoc: { loc, fn: ctx.fn }, here: loc };
  }

  /** A refusal inside a state-decided branch carries that branch's cause. */
  private withGuardCause(ctx: PathCtx, v: Val): Val {
    if (v.cause || v.n === null || v.n >= 0) return v;
    const g = ctx.guards[ctx.guards.length - 1];
    return g ? { ...v, cause: g } : v;
  }

  /** `r = -EINVAL; goto out;` : the goto refuses for the reason of its branch. */
  private refusalMark(ctx: PathCtx): PathCtx {
    const g = ctx.guards[ctx.guards.length - 1];
    if (!g) return ctx;
    const locals: Record<string, Val> = {};
    for (const [k, v] of Object.entries(ctx.locals)) locals[k] = v.n !== null && v.n < 0 && !v.cause ? { ...v, cause: g } : v;
    return { ...ctx, locals };
  }

  // ---- expressions ----

  /** A condition: like an expression, but a VMSA-backed value in it is "decided on". */
  private evalCond(e: Expr, ctx: PathCtx): [PathCtx, Val][] {
    return this.evalExpr(e, ctx).map(([c, v]) => {
      if (!v.taint || c.vcpu === null) return [c, v];
      const enc = this.encrypted(c);
      const ev: SimEvent & { k: 'vmsaRead' } = { k: 'vmsaRead', field: v.taint.slice(v.taint.indexOf(':') + 1), area: v.taint.startsWith('page:') ? 'page' : 'vmcb', vcpu: c.vcpu, encrypted: enc, decided: true, loc: e.loc, fn: c.fn, ...at(c), ...(v.mode ? { mode: v.mode } : {}) };
      return [withStateEvent(c, ev), v];
    });
  }

  evalExpr(e: Expr, ctx: PathCtx): [PathCtx, Val][] {
    if (e.k !== 'const' && e.k !== 'errno' && isPure(e)) return [[ctx, this.evalPure(e, ctx)]];
    this.budget.spend(1, 'simulate', this.where);
    if (this.nesting >= MAX_NESTING) {
      this.cutTooDeep(ctx);
      return [[ctx, UNKNOWN]];
    }
    this.nesting++;
    const out = this.evalImpure(e, ctx);
    this.nesting--;
    return out;
  }

  private evalImpure(e: Expr, ctx: PathCtx): [PathCtx, Val][] {
    switch (e.k) {
      case 'const': return [[ctx, { n: e.value }]];
      case 'errno': return [[ctx, { n: -1, errno: e.name }]];
      case 'sym': return [[ctx, { n: null, sym: e.name }]];
      case 'read': return [this.read(e.ref, e.text, e.loc, ctx)];
      case 'not': return this.evalExpr(e.arg, ctx).map(([c, v]) => [c, not(v)]);
      case 'logic': {
        const out: [PathCtx, Val][] = [];
        for (const [c, l] of this.evalExpr(e.left, ctx).flatMap(([c0, l0]) => this.split(c0, l0, true))) {
          const short = shortCircuit(e.op, l);
          if (short) { out.push([c, short]); continue; }
          // the right side runs only for some values of an untracked mode bit on the left
          const underMode = l.n === null && l.mode && !c.mode ? { ...c, mode: l.mode } : c;
          for (const [c2, r] of this.evalExpr(e.right, underMode).flatMap(([c1, r0]) => this.split(c1, r0, true))) {
            const back: PathCtx = underMode === c ? c2 : { ...c2 };
            if (underMode !== c) delete back.mode;
            out.push([back, combineLogic(e.op, l, r)]);
          }
        }
        return this.cap(out);
      }
      case 'binary': {
        const out: [PathCtx, Val][] = [];
        for (const [c, l] of this.evalExpr(e.left, ctx)) {
          for (const [c2, r] of this.evalExpr(e.right, c)) out.push([c2, withUser(binary(e.op, l, r, c2.facts), l, r)]);
        }
        return this.cap(out);
      }
      case 'ternary': {
        const out: [PathCtx, Val][] = [];
        for (const [c, v] of this.evalCond(e.cond, ctx).flatMap(([c0, v0]) => this.split(c0, v0, true))) {
          const pick = (x: Expr) => this.evalExpr(x, c).map(([c2, r]): [PathCtx, Val] => [c2, v.cause && !r.cause ? { ...r, cause: v.cause } : r]);
          if (v.n === null) out.push(...pick(e.then), ...pick(e.else));
          else out.push(...pick(v.n !== 0 ? e.then : e.else));
        }
        return this.cap(out);
      }
      case 'assign': return this.cap(this.evalExpr(e.value, ctx).flatMap(([c, v]) => this.assign(e.target, e.op, v, e, c)));
      case 'call': return this.call(e, ctx);
      case 'opaque': {
        let live: [PathCtx, Val][] = [[ctx, UNKNOWN]];
        for (const p of e.parts) live = this.cap(live.flatMap(([c, prev]) => this.evalExpr(p, c).map(([c2, v]): [PathCtx, Val] => [c2, prev.fromUser || v.fromUser ? USER : UNKNOWN])));
        return live;
      }
    }
  }

  /** evalExpr for pure expressions: the same three-valued logic, without forks or copies. */
  private evalPure(e: Expr, ctx: PathCtx): Val {
    switch (e.k) {
      case 'const': return { n: e.value };
      case 'errno': return { n: -1, errno: e.name };
      case 'sym': return { n: null, sym: e.name };
      case 'read': return this.read(e.ref, e.text, e.loc, ctx)[1];
      case 'not': return not(this.evalPure(e.arg, ctx));
      case 'binary': { const l = this.evalPure(e.left, ctx); const r = this.evalPure(e.right, ctx); return withUser(binary(e.op, l, r, ctx.facts), l, r); }
      case 'opaque': return e.parts.some((p) => this.evalPure(p, ctx).fromUser) ? USER : UNKNOWN;
      default: return UNKNOWN;
    }
  }

  private read(ref: StateRef, _text: string, loc: Loc, ctx: PathCtx): [PathCtx, Val] {
    if (ref.k === 'local') {
      const v = ctx.locals[ref.name];
      if (!v && this.program.functions.has(ref.name)) return [ctx, { n: 1, fnRef: ref.name }];
      return [ctx, this.known(ctx, v ?? { n: null, term: `${ctx.fn}.${ref.name}` })];
    }
    if (ref.k === 'field') {
      const root = ctx.locals[ref.root] ?? { n: null, term: `${ctx.fn}.${ref.root}` };
      const v = root.term ? this.known(ctx, { n: null, term: `${root.term}.${ref.path}` }) : UNKNOWN;
      return [ctx, root.fromUser ? { ...v, fromUser: true } : v];
    }
    if (ref.k === 'user') return [ctx, this.known(ctx, { n: null, fromUser: true, term: `user.${ref.field}` })];
    if (ref.k === 'control') return this.readControl(ref.field, ctx);
    // a whole save area read is its pointer (tested, passed along), not the state inside it
    if (ref.k === 'vmsa' && isWholeArea(ref)) return [ctx, UNKNOWN];
    if (ref.k === 'vmsa') {
      const enc = this.encrypted(ctx);
      const ev: SimEvent = { k: 'vmsaRead', field: ref.field, area: ref.area, vcpu: ctx.vcpu, encrypted: enc, decided: false, loc, fn: ctx.fn, ...at(ctx) };
      return [withStateEvent(ctx, ev), { n: null, taint: `${ref.area}:${ref.field}` }];
    }
    const key = flagKey(ref);
    const n = this.flag(ctx, key);
    if (n === null) return [ctx, this.program.modeBits.has(key) ? { n: null, mode: key } : UNKNOWN];
    const cause = { loc, fn: ctx.fn, text: key };
    if (typeof n === 'string') return [ctx, { n: null, sym: n, cause }];
    if (key === FLAGS.hasProtectedState && n === 0 && !ctx.compat) return [{ ...ctx, compat: true }, { n, cause }];
    return [ctx, { n, cause, ...(n !== 0 && isProtectionFlag(key) ? { prot: cause } : {}) }];
  }

  /**
   * A VMCB control field: KVM's own, with an identity. The exit code of an encrypted SEV-ES vCPU
   * can only be one the hardware takes by itself (see isSevEsAutomaticExit), of those the
   * code's exit table handles.
   */
  private readControl(field: string, ctx: PathCtx): [PathCtx, Val] {
    const term = `vmcb.control.${field}`;
    let c = ctx;
    if (field === EXIT_CODE_FIELD && !c.facts[term] && this.encrypted(c) && this.vmFlagIsSet(c, 'sev.es_active')) {
      const automatic = this.program.exitCodes().filter(isSevEsAutomaticExit);
      const facts = automatic.length ? addOneOf(c.facts, term, automatic) : null;
      if (facts) c = { ...c, facts };
    }
    return [c, this.known(c, { n: null, term })];
  }

  /** A value with an identity the path's facts pin to a constant is that constant. */
  private known(ctx: PathCtx, v: Val): Val {
    if (v.n !== null || v.sym !== undefined || v.term === undefined) return v;
    const sym = knownSym(ctx.facts, v.term);
    if (sym === ZERO) return { ...v, n: 0 };
    return sym === undefined ? v : { ...v, sym };
  }

  private assign(target: StateRef | null, op: string, v: Val, e: Expr & { k: 'assign' }, ctx: PathCtx): [PathCtx, Val][] {
    if (!target) return [[ctx, v]];
    // the GHCB sync writes the exit code the guest asked for: what the path knew of it is gone
    if (target.k === 'control') {
      const enc = this.encrypted(ctx);
      const events = enc ? [...ctx.events, { k: 'controlWrite' as const, field: target.field, vcpu: ctx.vcpu, loc: e.loc, fn: ctx.fn }] : ctx.events;
      return [[{ ...ctx, events, facts: forgetTerm(ctx.facts, `vmcb.control.${target.field}`) }, v]];
    }
    if (target.k === 'field') {
      // a value stored in a local's object: userspace's data makes the object userspace's; a
      // VMSA-backed value read into it goes wherever the object goes
      let c = ctx;
      // msr.index = MSR_EFER: the field is that constant now, for whoever gets &msr
      const root = ctx.locals[target.root]?.term ?? `${ctx.fn}.${target.root}`;
      const term = `${root}.${target.path}`;
      const forgotten = forgetTerm(c.facts, term);
      c = { ...c, facts: op === '=' && v.sym !== undefined ? addFact(forgotten, term, v.sym, true) ?? forgotten : forgotten };
      if (v.fromUser && !ctx.locals[target.root]?.fromUser) c = { ...c, locals: { ...c.locals, [target.root]: { ...(c.locals[target.root] ?? { n: null, term: `${c.fn}.${target.root}` }), fromUser: true } } };
      if (v.taint) { const tag = tagOf(c, target.root); c = { ...c, events: markLastRead(c.events, v.taint, (r) => copyEvent(r, { into: [...(r.into ?? []), tag] })) }; }
      return [[c, v]];
    }
    if (target.k === 'local') {
      // rflags |= X86_EFLAGS_TF: still userspace's value if it was, or if what joins it is
      const prev = ctx.locals[target.name];
      const next = op === '=' ? v : prev?.fromUser || v.fromUser ? USER : UNKNOWN;
      return [[{ ...ctx, locals: { ...ctx.locals, [target.name]: next } }, next]];
    }
    if (target.k === 'user') {
      // a VMSA-backed value stored into the kvm_run page goes back to userspace
      if (!v.taint) return [[ctx, v]];
      return [[{ ...ctx, events: markLastRead(ctx.events, v.taint, (r) => copyEvent(r, { user: `the kvm_run page (${target.field})` })) }, v]];
    }
    if (target.k === 'vmsa') {
      const enc = this.encrypted(ctx);
      return [[withStateEvent(ctx, { k: 'vmsaWrite', field: target.field, area: target.area, vcpu: ctx.vcpu, encrypted: enc, asked: !!v.fromUser, loc: e.loc, fn: ctx.fn, ...at(ctx) }), v]];
    }
    const key = flagKey(target);
    if (!this.program.trackedFlags.has(key)) {
      // a VMCB control bit (LBR virtualization, an intercept) is no state of ours, but a change beyond KVM's save-area copy
      const enc = this.encrypted(ctx);
      if (enc && key.startsWith('vcpu.vmcb.control.')) return [[{ ...ctx, events: [...ctx.events, { k: 'controlWrite', field: key.slice('vcpu.vmcb.control.'.length), vcpu: ctx.vcpu, loc: e.loc, fn: ctx.fn }] }, v]];
      return [[ctx, v]];
    }
    if (op === '=' && v.sym !== undefined) return [[this.setFlag(ctx, key, v.sym, e.loc), v]];
    let value: FlagValue = v.n === null ? null : v.n === 0 ? 0 : 1;
    if (op === '+=' || op === '|=') value = v.n === 0 ? this.flag(ctx, key) : 1;
    else if (op !== '=') value = null;
    if (typeof value === 'string') return [[this.setFlag(ctx, key, value, e.loc), { n: null, sym: value }]];
    // An unknown value is zero on some paths and nonzero on others.
    const choices: FlagValue[] = value === null ? [0, 1] : [value === 0 ? 0 : 1];
    return choices.map((fv) => [this.setFlag(ctx, key, fv, e.loc), { n: fv as 0 | 1 }]);
  }

  private setFlag(ctx: PathCtx, key: string, value: FlagValue, loc: Loc): PathCtx {
    this.touchFlag(ctx, key);
    const st = cloneState(ctx.st);
    if (!writeFlag(st, key, ctx.vcpu, value, this.program.trackedFlags)) return ctx;
    const events: SimEvent[] = [...ctx.events, { k: 'flagSet', flag: key, vcpu: key.startsWith('vcpu.') ? ctx.vcpu : null, value, loc, fn: ctx.fn, ...at(ctx) }];
    // Committing debug flags arms debugging: the ioctl goes on to load DR7 and the intercepts.
    if (key === FLAGS.guestDebug && ctx.vcpu !== null && st.vcpus[ctx.vcpu]) {
      this.touch(debugArmedSlot(ctx.vcpu));
      this.touch(encryptedSlot(ctx.vcpu));
      const v = st.vcpus[ctx.vcpu];
      v.debugArmed = value !== 0;
      if (value !== 0) events.push({ k: 'debugArm', vcpu: ctx.vcpu, encrypted: v.encrypted, how: 'vcpu->guest_debug committed', loc, fn: ctx.fn, ...at(ctx) });
    }
    return { ...ctx, st, events };
  }

  private call(e: Expr & { k: 'call' }, ctx: PathCtx): [PathCtx, Val][] {
    let live: [PathCtx, Val[]][] = [[ctx, []]];
    for (const a of e.args) {
      live = this.cap(live.flatMap(([c, vals]) => this.evalExpr(a, c).map(([c2, v]): [PathCtx, Val[]] => [c2, [...vals, v]])));
    }
    // a callee that stored what it read in an object it was handed (its parameter N) stored it
    // in the caller's argument N: a later copy_to_user of that object, or a pointer into the
    // kvm_run page (store_regs), hands it to userspace
    // a local whose address the callee gets may be anything afterwards (async = false; f(&async);)
    const written = e.args.filter((a): a is Expr & { k: 'read' } => a.k === 'read' && a.ref.k === 'local' && a.text.startsWith('&')).map((a) => (a.ref as { name: string }).name);
    const out: [PathCtx, Val][] = [];
    for (const [c0, vals] of live) {
      const c = written.length ? { ...c0, locals: havoc(c0.locals, written, `${c0.fn}@${e.loc.line}`) } : c0;
      const from = c.events.length;
      for (const [c2, v] of this.callResolved(e, e.callee, vals, c)) {
        if (c2.events.length === from) { out.push([c2, v]); continue; }
        const events = [...c2.events.slice(0, from), ...c2.events.slice(from).map((ev) => (ev.k === 'vmsaRead' && ev.into ? this.intoCaller(ev, e.args, c) : ev))];
        out.push([{ ...c2, events }, v]);
      }
    }
    return this.cap(out);
  }

  /** A callee's read, its "stored in parameter N" restated as the caller's argument N. */
  private intoCaller(ev: SimEvent & { k: 'vmsaRead' }, args: Expr[], ctx: PathCtx): SimEvent {
    const into: string[] = [];
    let user = ev.user;
    for (const tag of ev.into ?? []) {
      const m = /^\$(\d+)$/.exec(tag);
      if (!m) continue; // the callee's own locals are gone
      const root = argRoot(args[Number(m[1])]);
      if (root === '<kvm_run>') user ??= 'the kvm_run page';
      else if (root) into.push(tagOf(ctx, root));
    }
    const out = copyEvent(ev, { ...(user ? { user } : {}), into });
    if (!into.length) delete out.into;
    return out;
  }

  private callResolved(e: Expr & { k: 'call' }, callee: Callee, args: Val[], ctx: PathCtx): [PathCtx, Val][] {
    if (callee.k === 'opPresent') return [[ctx, { n: this.program.resolveOp(callee.op) ? 1 : 0 }]];
    if (callee.k === 'unknown') return [[ctx, UNKNOWN]];
    if (callee.k === 'table') return this.tableCall(e, callee, args, ctx);
    if (callee.k === 'pointer') {
      // a parameter that holds a function (do_msr(vcpu, index, data)) calls the function it holds
      const held = ctx.locals[callee.name]?.fnRef;
      const fn = held ? this.program.functions.get(held) : undefined;
      return fn ? this.runFunction(fn, ctx, args).map((o) => [o.ctx, o.val]) : [[ctx, UNKNOWN]];
    }
    const name = callee.k === 'op' ? this.program.resolveOp(callee.op) : callee.name;
    if (!name) {
      const ev: SimEvent = { k: 'unresolved', what: `kvm_x86_ops.${callee.k === 'op' ? callee.op : ''}`, loc: e.loc, fn: ctx.fn, ...at(ctx) };
      return [[{ ...ctx, events: [...ctx.events, ev] }, UNKNOWN]];
    }
    // the firmware, flag setters, WARN_ON and the user copies mean what they mean even where a tree defines them
    if (FIRMWARE_CALLS.has(name) || flagSetter(name) || isWarnMacro(name) || isCopyFromUser(name) || isCopyToUser(name)) return [this.intrinsic(name, e, args, ctx)];
    const fn = this.program.functions.get(name);
    // code that touches nothing we model is not run (unless it is handed a function that does)
    if (fn && !this.program.relevance.isRelevant(name) && !args.some((a) => a.fnRef && this.program.relevance.isRelevant(a.fnRef))) return [[ctx, UNKNOWN]];
    if (fn) return this.runFunction(fn, ctx, args).map((o) => [o.ctx, o.val]);
    return [this.intrinsic(name, e, args, ctx)];
  }

  /**
   * handlers[index](...): each entry the index can select is a path. When the index is the
   * guest's choice (an exit code), the choice is recorded so the trace can name it.
   */
  private tableCall(e: Expr & { k: 'call' }, callee: Callee & { k: 'table' }, args: Val[], ctx: PathCtx): [PathCtx, Val][] {
    const entries = this.program.tables.get(callee.table);
    if (!entries) return [[ctx, UNKNOWN]];
    const out: [PathCtx, Val][] = [];
    for (const [c, idx] of this.evalExpr(callee.index, ctx)) {
      for (const entry of entries) {
        let at2 = c;
        if (idx.sym !== undefined) { if (idx.sym !== entry.index) continue; }
        else if (idx.term !== undefined) {
          const facts = addFact(c.facts, idx.term, entry.index, true);
          if (!facts) continue;
          at2 = { ...c, facts };
        }
        const fn = this.program.functions.get(entry.fn);
        if (!fn) { this.note({ name: c.fn, loc: e.loc }, `${callee.table}[${entry.index}] names ${entry.fn}(), which the code does not define: that exit is not followed`); continue; }
        if (!this.program.relevance.isRelevant(entry.fn)) continue;
        const from = at2.events.length;
        const what = `${entry.index}`;
        for (const o of this.runFunction(fn, at2, args)) {
          const events = o.ctx.events.length === from ? o.ctx.events : [...o.ctx.events.slice(0, from), ...o.ctx.events.slice(from).map((ev) => (ev.choice ? ev : copyEvent(ev, { choice: what })))];
          out.push([{ ...o.ctx, events }, o.val]);
        }
      }
      // entries that touch nothing we model: the path goes on with an unknown result
      out.push([c, UNKNOWN]);
    }
    return this.cap(out);
  }

  /** Calls with no summary whose meaning we know: firmware commands, flag setters, memcpy, WARN_ON, user copies. */
  private intrinsic(name: string, e: Expr & { k: 'call' }, args: Val[], ctx: PathCtx): [PathCtx, Val] {
    if (isWarnMacro(name)) return [ctx, args[0] ?? UNKNOWN];
    if (isCopyFromUser(name)) {
      // copy_from_user(dst, ...), get_user(dst, ...): dst now holds userspace's data; memdup_user returns it
      const dst = /memdup/.test(name) ? undefined : argRoot(e.args[0]);
      if (!dst) return [ctx, USER];
      return [{ ...ctx, locals: { ...ctx.locals, [dst]: { ...(ctx.locals[dst] ?? { n: null, term: `${ctx.fn}.${dst}` }), fromUser: true } } }, UNKNOWN];
    }
    if (isCopyToUser(name)) {
      // copy_to_user(dst, src, ...), put_user(src, dst): what was read into src reaches userspace
      const src = argRoot(e.args[/put_user/.test(name) ? 0 : 1]);
      if (!src) return [ctx, UNKNOWN];
      const tag = tagOf(ctx, src);
      return [{ ...ctx, events: ctx.events.map((ev) => (ev.k === 'vmsaRead' && !ev.user && ev.into?.includes(tag) ? copyEvent(ev, { user: `${name}()` }) : ev)) }, UNKNOWN];
    }
    const setter = flagSetter(name);
    if (setter) return [this.setFlag(ctx, flagKey(setter.ref), setter.value as FlagValue, e.loc), { n: 0 }];
    if (FIRMWARE_CALLS.has(name)) return this.firmware(e, ctx);
    const argTexts = e.args.map(exprText);
    if (debugArmingCall(name, argTexts) && ctx.vcpu !== null && this.vcpuExists(ctx, ctx.vcpu)) {
      this.touch(debugArmedSlot(ctx.vcpu));
      const st = cloneState(ctx.st);
      st.vcpus[ctx.vcpu].debugArmed = true;
      const ev: SimEvent = { k: 'debugArm', vcpu: ctx.vcpu, encrypted: st.vcpus[ctx.vcpu].encrypted, how: `${name}(${argTexts.slice(1).join(', ')})`, loc: e.loc, fn: ctx.fn, ...at(ctx) };
      return [{ ...ctx, st, events: [...ctx.events, ev] }, UNKNOWN];
    }
    if (MEMORY_WRITERS.has(name) && e.args[0]?.k === 'read' && e.args[0].ref.k === 'vmsa') {
      const enc = this.encrypted(ctx);
      const ev: SimEvent = { k: 'vmsaWrite', field: e.args[0].ref.field, area: e.args[0].ref.area, vcpu: ctx.vcpu, encrypted: enc, asked: !!args[1]?.fromUser, loc: e.loc, fn: ctx.fn, ...at(ctx) };
      return [withStateEvent(ctx, ev), UNKNOWN];
    }
    return [ctx, UNKNOWN];
  }

  /** sev_issue_cmd(kvm, SEV_CMD_..., ...): the firmware's launch state machine, ground truth. */
  private firmware(e: Expr & { k: 'call' }, ctx: PathCtx): [PathCtx, Val] {
    const cmdText = e.args.map(exprText).find((t) => t.startsWith('SEV_CMD_'));
    const cmd = cmdText ? firmwareCommand(cmdText) : undefined;
    if (!cmd || cmd === 'OTHER') return [ctx, UNKNOWN];
    this.touch(FIRMWARE_SLOT);
    if (ctx.vcpu !== null) { this.touch(encryptedSlot(ctx.vcpu)); this.touch(debugArmedSlot(ctx.vcpu)); }
    const st = cloneState(ctx.st);
    let ok = false;
    const events = [...ctx.events];
    switch (cmd) {
      case 'LAUNCH_START': case 'SNP_LAUNCH_START': ok = st.sevInit && st.firmware === 'UNINIT'; if (ok) st.firmware = 'LUPDATE'; break;
      case 'LAUNCH_UPDATE_DATA': ok = st.firmware === 'LUPDATE'; break;
      case 'LAUNCH_UPDATE_VMSA': case 'SNP_LAUNCH_UPDATE': {
        // SNP_LAUNCH_UPDATE of memory when no vCPU is being launched; of the vCPU's VMSA page
        // when one is (snp_launch_update_vmsa() issues it inside kvm_for_each_vcpu)
        if (cmd === 'SNP_LAUNCH_UPDATE' && ctx.vcpu === null) { ok = st.firmware === 'LUPDATE'; break; }
        const v = ctx.vcpu !== null ? st.vcpus[ctx.vcpu] : undefined;
        ok = st.firmware === 'LUPDATE' && !!v && !v.encrypted;
        if (ok && v && ctx.vcpu !== null) {
          v.encrypted = true;
          events.push({ k: 'encrypt', vcpu: ctx.vcpu, debugArmed: v.debugArmed, loc: e.loc, fn: ctx.fn, ...at(ctx) });
        }
        break;
      }
      case 'LAUNCH_MEASURE': ok = st.firmware === 'LUPDATE' || st.firmware === 'LSECRET'; if (ok) st.firmware = 'LSECRET'; break;
      case 'LAUNCH_SECRET': ok = st.firmware === 'LSECRET'; break;
      case 'LAUNCH_FINISH': ok = st.firmware === 'LSECRET'; if (ok) st.firmware = 'RUNNING'; break;
      case 'SNP_LAUNCH_FINISH': ok = st.firmware === 'LUPDATE'; if (ok) st.firmware = 'RUNNING'; break;
    }
    events.push({ k: 'firmware', command: cmd, ok, loc: e.loc, fn: ctx.fn, ...at(ctx) });
    return [{ ...ctx, st, events }, ok ? { n: 0 } : { n: -1, errno: 'EIO' }];
  }
}

/**
 * Records a VMSA access a rule could report: on an encrypted vCPU, outside a guard's exemption,
 * and for reads, state KVM does not keep current through write traps. Writes are all recorded,
 * with whether userspace asked for them: a write KVM_RUN makes from the GHCB also tells the
 * read rule that KVM's copy of that field is fresh for the rest of the step.
 */
function withStateEvent(ctx: PathCtx, ev: SimEvent & { k: 'vmsaRead' | 'vmsaWrite' }): PathCtx {
  if (!ev.encrypted || ctx.exempt) return ctx;
  if (ev.k === 'vmsaRead' && (keptCurrentByTraps(ev.field) || ev.field === 'VMSA' || ev.field === 'VMCB_SAVE')) return ctx;
  const tagged = ctx.mode || ctx.compat ? copyEvent(ev, { ...(ctx.mode ? { mode: ctx.mode } : {}), ...(ctx.compat ? { compat: true } : {}) }) : ev;
  return { ...ctx, events: [...ctx.events, tagged] };
}

/**
 * Where in the patch an event happened: the patched line of its function, or, in a function no
 * patch changed, the patched code that function's path ran last before it (a callee's change).
 */
function at(ctx: PathCtx): { at?: Loc } {
  return ctx.here ? { at: ctx.here } : ctx.seriesLoc ? { at: ctx.seriesLoc.loc } : {};
}

/** The locals a path knows the value of, as a key: paths that differ in them are not joined. */
function knownLocals(locals: Record<string, Val>): string {
  let out = '';
  for (const k in locals) {
    const v = locals[k];
    if (v.n !== null && v.n < 0) out += `${k}=${v.errno ?? v.n};`;
  }
  return out;
}

/** Locals a call may have written: unknown, each with a new identity. */
function havoc(locals: Record<string, Val>, names: string[], at: string): Record<string, Val> {
  const out = { ...locals };
  for (const n of names) out[n] = { n: null, term: `${at}.${n}`, ...(locals[n]?.fromUser ? { fromUser: true } : {}) };
  return out;
}

function valKey(v: Val): string {
  return `${v.n}|${v.errno ?? ''}|${v.sym ?? ''}|${v.term ?? ''}|${v.cmp ? `${v.cmp.term}${v.cmp.eq ? '=' : '!'}${v.cmp.sym}` : ''}|${v.taint ?? ''}|${v.fromUser ? 1 : 0}|${v.gate ? v.gate.when : ''}|${v.prot ? 1 : 0}`;
}

/** An argument as far as it can steer the callee; a function handed over counts by its code, which the callee may run. */
function argKey(a: Val, program: Program): string {
  return (a.n !== null ? String(a.n) : a.sym ?? '') + (a.fromUser ? 'u' : '') + (a.fnRef ? `@${a.fnRef}=${program.fingerprint(a.fnRef)}` : '');
}

function withUser(v: Val, l: Val, r: Val): Val {
  return (l.fromUser || r.fromUser) && !v.fromUser ? { ...v, fromUser: true } : v;
}

/** The local an argument names or points into: `regs`, `&dbgregs`, `u.xcrs` → u, the kvm_run page → <kvm_run>. */
function argRoot(a: Expr | undefined): string | undefined {
  if (a?.k !== 'read') return undefined;
  if (a.ref.k === 'local') return a.ref.name;
  if (a.ref.k === 'field') return a.ref.root;
  if (a.ref.k === 'user') return '<kvm_run>';
  return undefined;
}

/** How a path names an object: a parameter by its position (so callers can restate it), a local by function and name. */
function tagOf(ctx: PathCtx, root: string): string {
  const term = ctx.locals[root]?.term;
  return term !== undefined && /^\$\d+$/.test(term) ? term : `${ctx.fn}:${root}`;
}

/** The path's last read of the VMSA-backed field a value came from ("area:FIELD"), changed by `f`. */
function markLastRead(events: SimEvent[], taint: string, f: (e: SimEvent & { k: 'vmsaRead' }) => SimEvent): SimEvent[] {
  const field = taint.slice(taint.indexOf(':') + 1);
  for (let i = events.length - 1; i >= 0; i--) {
    const ev = events[i];
    if (ev.k === 'vmsaRead' && ev.field === field) return [...events.slice(0, i), f(ev), ...events.slice(i + 1)];
  }
  return events;
}

const calleeEventsMemo = new WeakMap<StoredOutcome, Map<string, SimEvent[]>>();

/**
 * A callee's events as its caller sees them: named with the callee on their call chain, tagged
 * with the caller's mode and VM-type decision, accesses dropped under a guard's exemption. The
 * same stored outcome is taken from the same few contexts again and again: built once per context.
 */
function calleeEvents(r: StoredOutcome, callee: string, ctx: PathCtx, ranOn: number | null): SimEvent[] {
  // a result computed on another vCPU (see CallVariant) names that vCPU in its events
  const other = ranOn !== ctx.vcpu ? ctx.vcpu : undefined;
  // most callers are in the plain context: its key is not built
  const plain = !ctx.exempt && !ctx.mode && !ctx.compat && other === undefined;
  const key = plain ? '' : `${ctx.exempt ? 1 : 0}|${ctx.mode ?? ''}|${ctx.compat ? 1 : 0}|${other ?? ''}`;
  let byContext = calleeEventsMemo.get(r);
  if (!byContext) { byContext = new Map(); calleeEventsMemo.set(r, byContext); }
  let events = byContext.get(key);
  if (!events) {
    events = r.events.filter((e) => !ctx.exempt || (e.k !== 'vmsaRead' && e.k !== 'vmsaWrite'))
      .map((e) => viaCaller(other === undefined || !('vcpu' in e) || e.vcpu === null ? e : copyEvent(e, { vcpu: other }), callee, ctx.mode, ctx.compat));
    byContext.set(key, events);
  }
  return events;
}

/** An event from a callee, as the caller sees it: one call deeper. */
function viaCaller(e: SimEvent, callee: string, mode: string | undefined, compat: boolean | undefined): SimEvent {
  if (e.k === 'vmsaRead' || e.k === 'vmsaWrite' || e.k === 'debugArm') return copyEvent(e, { via: [callee, ...(e.via ?? [])], ...(mode && !e.mode ? { mode } : {}), ...(compat ? { compat: true } : {}) });
  return e;
}

/** A callee's return value in the caller's terms: identities of its parameters become the arguments'. */
function returnedValue(v: Val, argTerms: readonly (string | undefined)[], facts: Facts): Val {
  if (v.term === undefined && v.cmp === undefined) return v;
  const out: Val = { ...v };
  delete out.term;
  delete out.cmp;
  const term = v.term !== undefined ? translateTerm(v.term, argTerms) : undefined;
  if (term !== undefined) {
    out.term = term;
    const sym = knownSym(facts, term);
    if (sym !== undefined && out.sym === undefined) out.sym = sym;
  }
  const cmpTerm = v.cmp ? translateTerm(v.cmp.term, argTerms) : undefined;
  if (v.cmp && cmpTerm !== undefined) out.cmp = { ...v.cmp, term: cmpTerm };
  return out;
}

/** The protection flags under any name a patch gives them: what a guard tests to refuse protected state. */
function isProtectionFlag(key: string): boolean {
  return /^vcpu\.(\w*protected\w*|\w*encrypted\w*|fpu_confidential)$/.test(key);
}

function not(v: Val): Val {
  const out: Val = { ...v, n: v.n === null ? null : v.n === 0 ? 1 : 0 };
  delete out.errno;
  delete out.sym;
  delete out.term;
  if (v.cmp) out.cmp = { ...v.cmp, eq: !v.cmp.eq };
  // !x of a value with an identity is "x is zero"
  else if (v.n === null && v.sym === undefined && v.term !== undefined) out.cmp = { term: v.term, sym: ZERO, eq: true };
  if (v.gate) out.gate = { ...v.gate, when: v.gate.when === 0 ? 1 : 0 };
  return out;
}

/** `a && b` with a false (or `a || b` with a true): decided by a alone, for a's reason. */
function shortCircuit(op: '&&' | '||', l: Val): Val | undefined {
  const decides = op === '&&' ? l.n === 0 : l.n !== null && l.n !== 0;
  return decides ? { n: op === '&&' ? 0 : 1, cause: l.cause, taint: l.taint, ...(l.prot ? { prot: l.prot } : {}) } : undefined;
}

/**
 * Three-valued && / || once both sides are known to run; the deciding side gives the reason.
 * A set protection flag on one side and something unknown on the other is a gate: the guard's
 * own exemption decides (see Val.gate).
 */
function combineLogic(op: '&&' | '||', l: Val, r: Val): Val {
  const rDecides = op === '&&' ? r.n === 0 : r.n !== null && r.n !== 0;
  if (rDecides) return { n: op === '&&' ? 0 : 1, cause: r.cause, taint: r.taint ?? l.taint, ...(r.prot ? { prot: r.prot } : {}) };
  if (l.n === null || r.n === null) {
    const known = l.n === null ? r : l;
    const unknown = l.n === null ? l : r;
    // (protected && U1) && U2: still the guard's exemption when false; an || chain when true
    const keeps = (g: Val['gate']) => (g && g.when === (op === '&&' ? 0 : 1) ? g : undefined);
    const gate = l.n === null && r.n === null ? keeps(l.gate) ?? keeps(r.gate)
      : known.prot ? { cause: known.prot, when: (op === '&&' ? 0 : 1) as 0 | 1 } : unknown.gate;
    const mode = l.mode ?? r.mode;
    return { n: null, taint: l.taint ?? r.taint, ...(gate ? { gate } : {}), ...(mode ? { mode } : {}) };
  }
  const prot = l.prot ?? r.prot;
  return { n: op === '&&' ? 1 : 0, cause: l.cause ?? r.cause, taint: l.taint ?? r.taint, ...(prot ? { prot } : {}) };
}

function binary(op: string, l: Val, r: Val, facts: Facts): Val {
  const taint = l.taint ?? r.taint;
  const cause = l.cause ?? r.cause;
  if (op === '==' || op === '!=') {
    const eq = op === '==';
    // two named constants: equal exactly when they are the same name
    if (l.sym !== undefined && r.sym !== undefined) return { n: +((l.sym === r.sym) === eq), cause, taint };
    const sym = l.sym ?? r.sym;
    const term = l.sym !== undefined ? r.term : r.sym !== undefined ? l.term : undefined;
    if (sym !== undefined && term !== undefined) {
      if (knownDifferent(facts, term, sym)) return { n: eq ? 0 : 1, cause, taint };
      return { n: null, taint, cmp: { term, sym, eq } };
    }
  }
  if (op === '&' && (l.n === 0 || r.n === 0)) return { n: 0, cause, taint };
  // x & ~0 is x (a mask that keeps every bit), so what is known of x is known of the result
  if (op === '&' && (l.n === -1 || r.n === -1)) return l.n === -1 ? r : l;
  if (l.n === null || r.n === null) return { n: null, taint };
  const a = l.n, b = r.n;
  const res: Record<string, number> = {
    '==': +(a === b), '!=': +(a !== b), '<': +(a < b), '>': +(a > b), '<=': +(a <= b), '>=': +(a >= b),
    '+': a + b, '-': a - b, '*': a * b, '|': a | b, '&': a & b, '^': a ^ b,
  };
  return op in res ? { n: res[op], cause, taint } : { n: null, taint };
}

export function exprText(e: Expr): string {
  switch (e.k) {
    case 'const': case 'read': case 'call': case 'assign': case 'opaque': case 'sym': return e.text;
    case 'errno': return `-${e.name}`;
    default: return '';
  }
}

/** Two paths in the same state as one: agreed locals kept, facts both hold kept, events in first-seen order. */
function joinPaths(a: PathCtx, b: PathCtx): PathCtx {
  const locals: Record<string, Val> = {};
  for (const name in a.locals) {
    const x = a.locals[name];
    const y = b.locals[name];
    if (y && x.n === y.n && x.errno === y.errno && x.sym === y.sym && x.term === y.term) {
      const kept = x.cause ? x : y;
      locals[name] = (x.fromUser || y.fromUser) && !kept.fromUser ? { ...kept, fromUser: true } : kept;
    } else if (y && (x.fromUser || y.fromUser)) {
      // the paths disagree on the value, not on where it came from
      locals[name] = USER;
    }
  }
  return { ...a, locals, events: unionEvents(a.events, b.events), facts: a.facts === b.facts ? a.facts : commonFacts(a.facts, b.facts) };
}

/** Both paths' events, first-seen order, each once (the same array when b adds nothing). */
function unionEvents(a: SimEvent[], b: SimEvent[]): SimEvent[] {
  if (b === a || b.length === 0) return a;
  // paths that forked share their events up to the fork: those are in `a` already
  let shared = 0;
  const n = Math.min(a.length, b.length);
  while (shared < n && a[shared] === b[shared]) shared++;
  if (shared === b.length) return a;
  const seen = eventKeysOf(a);
  let extra: SimEvent[] | undefined;
  for (let i = shared; i < b.length; i++) if (!seen.has(eventKey(b[i]))) (extra ??= []).push(b[i]);
  if (!extra) return a;
  const out = a.concat(extra);
  // the joined list's keys, from a's without computing them again (a later join asks for them)
  const keys = new Set(seen);
  for (const e of extra) keys.add(eventKey(e));
  eventKeySets.set(out, keys);
  return out;
}

const eventKeySets = new WeakMap<SimEvent[], Set<string>>();

/** The keys of an event list (lists are never changed once made, so once per list). */
function eventKeysOf(events: SimEvent[]): Set<string> {
  let keys = eventKeySets.get(events);
  if (!keys) { keys = new Set(events.map(eventKey)); eventKeySets.set(events, keys); }
  return keys;
}

/**
 * What both paths know: a value equal to X on one and different from S on the other differs from
 * S without X; one of A on one and one of B on the other is one of both.
 */
function commonFacts(a: Facts, b: Facts): Facts {
  const out: Record<string, { eq?: string; ne?: readonly string[]; oneOf?: readonly string[] }> = {};
  const possible = (f: { eq?: string; oneOf?: readonly string[] }): readonly string[] | undefined => (f.eq !== undefined ? [f.eq] : f.oneOf);
  for (const term of Object.keys(a)) {
    const x = a[term];
    const y = b[term];
    if (!y) continue;
    if (x.eq !== undefined && x.eq === y.eq) { out[term] = x; continue; }
    const f: { ne?: readonly string[]; oneOf?: readonly string[] } = {};
    const px = possible(x);
    const py = possible(y);
    if (px && py) f.oneOf = [...new Set([...px, ...py])];
    const ne = (x.eq !== undefined ? [] : x.ne ?? []).filter((s) => (y.eq !== undefined ? s !== y.eq : y.ne?.includes(s)))
      .concat(x.eq === undefined && y.eq !== undefined ? [] : []);
    const neY = y.eq === undefined && x.eq !== undefined ? (y.ne ?? []).filter((s) => s !== x.eq) : [];
    const allNe = [...new Set([...ne, ...neY])];
    if (allNe.length) f.ne = allNe;
    if (f.ne || f.oneOf) out[term] = f;
  }
  return out;
}

/** Expressions without calls, assignments, VMSA reads or && / || evaluate to one value and no events. */
const pureCache = new WeakMap<Expr, boolean>();
/**
 * The statements a switch runs from case `i` on: its body and those of the cases it falls into,
 * up to the first case that ends in an unconditional break or return (what follows cannot run).
 * Computed once per switch, so a switch of n cases costs n, not n squared. A label in a case
 * body could be the target of a goto from an earlier case: then every later body is kept.
 */
function fallthroughFrom(s: Stmt & { k: 'switch' }, i: number): Stmt[] {
  let ends = fallthroughEnds.get(s);
  if (!ends) {
    const n = s.cases.length;
    const labelled = s.cases.some((x) => x.body.some((b) => b.k === 'label'));
    ends = new Array<number>(n);
    let end = n;
    for (let j = n - 1; j >= 0; j--) {
      const last = s.cases[j].body[s.cases[j].body.length - 1];
      if (!labelled && last && (last.k === 'break' || last.k === 'return')) end = j + 1;
      ends[j] = end;
    }
    fallthroughEnds.set(s, ends);
  }
  const out: Stmt[] = [];
  for (let j = i; j < ends[i]; j++) for (const b of s.cases[j].body) out.push(b);
  return out;
}
const fallthroughEnds = new WeakMap<Stmt, number[]>();

function isPure(e: Expr): boolean {
  let p = pureCache.get(e);
  if (p !== undefined) return p;
  switch (e.k) {
    case 'const': case 'errno': case 'sym': p = true; break;
    // a control read may learn a fact, a read of the VM type may mark the path as the legacy type's
    case 'read': p = e.ref.k !== 'vmsa' && e.ref.k !== 'control' && !(e.ref.k === 'flag' && flagKey(e.ref) === FLAGS.hasProtectedState); break;
    case 'not': p = isPure(e.arg); break;
    case 'binary': p = isPure(e.left) && isPure(e.right); break;
    case 'logic': p = false; break; // a comparison under it may split the path
    case 'ternary': p = false; break; // its branches may carry state causes worth forking on
    case 'opaque': p = e.parts.every(isPure); break;
    default: p = false;
  }
  pureCache.set(e, p);
  return p;
}

/** What tells two events apart when paths join; memoized in the event, as events are never changed once made. */
function eventKey(ev: SimEvent): string {
  return ev.key ??= computeEventKey(ev);
}

/** The fields eventKey is made of: a copy that changes one of them must not keep the old key. */
const KEY_FIELDS: ReadonlySet<string> = new Set(['k', 'loc', 'field', 'encrypted', 'choice', 'decided', 'user', 'into', 'asked']);

/** An event with some fields changed (every copy of an event is made here): keeps the join key unless a field of it changed. */
export function copyEvent<E extends SimEvent>(ev: E, changes: Partial<E>): E {
  const copy: E = { ...ev, ...changes };
  if (copy.key !== undefined) for (const f in changes) if (KEY_FIELDS.has(f)) { copy.key = undefined; break; }
  return copy;
}

/** The join key made afresh from the event's fields (what eventKey memoizes; tests check the memo never goes stale). */
export function computeEventKey(ev: SimEvent): string {
  return `${ev.k}@${ev.loc.file}:${ev.loc.line}:${ev.loc.column}${'field' in ev ? ev.field : ''}${'encrypted' in ev ? +ev.encrypted : ''}${ev.choice ?? ''}`
    + (ev.k === 'vmsaRead' ? `${+ev.decided}${ev.user ?? ''}${(ev.into ?? []).join(',')}` : ev.k === 'vmsaWrite' ? `${+ev.asked}` : '');
}
