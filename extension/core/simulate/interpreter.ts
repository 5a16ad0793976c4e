// Runs a function's IR on an abstract state. Conditions the state decides are decided; the
// rest are both true and false, so one call yields every outcome the code allows. Effects that
// matter to the rules are recorded as events, each with the ground truth of the moment.
import type { Callee, Expr, FunctionIr, Loc, StateRef, Stmt } from '../summary/ir';
import { FLAGS, isWholeArea, debugArmingCall, firmwareCommand, flagKey, flagSetter, FIRMWARE_CALLS, MEMORY_WRITERS, isWarnMacro } from '../summary/idioms';
import { type FlagValue, type SimState, cloneState, readFlag, writeFlag } from './state';
import { SimulationCache } from './simulationCache';
import type { Purpose } from '../rules/rule';
import { writeCanMatter } from '../rules/vmsaWriteAfterEncryption';
import { readCanMatter } from '../rules/vmsaReadAfterEncryption';
import type { Program } from './program';
import { labelTail } from '../summary/irKeys';

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
}

export type SimEvent = (
  | { k: 'vmsaWrite'; field: string; area: Area; vcpu: number | null; encrypted: boolean; loc: Loc; fn: string }
  | { k: 'vmsaRead'; field: string; area: Area; vcpu: number | null; encrypted: boolean; decided: boolean; loc: Loc; fn: string }
  | { k: 'debugArm'; vcpu: number | null; encrypted: boolean; how: string; loc: Loc; fn: string }
  | { k: 'encrypt'; vcpu: number; debugArmed: boolean; loc: Loc; fn: string }
  | { k: 'flagSet'; flag: string; vcpu: number | null; value: FlagValue; loc: Loc; fn: string }
  | { k: 'firmware'; command: string; ok: boolean; loc: Loc; fn: string }
  | { k: 'unresolved'; what: string; loc: Loc; fn: string })
  /** The patch line this function ran last before the event, when a patch changed this function. */
  & { at?: Loc };

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
  /** What the operation being run asks of KVM: decides which state accesses can matter. */
  purpose: Purpose;
}

interface Outcome { ctx: PathCtx; flow: Flow }

/** The VMSA page itself, or KVM's VMCB save-area copy of the state. */
type Area = 'page' | 'vmcb';

export interface CallResult { st: SimState; events: SimEvent[]; seriesLoc?: PathCtx['seriesLoc']; val: Val }


const UNKNOWN: Val = { n: null };
const MAX_OUTCOMES = 96;
const MAX_CALL_DEPTH = 14;

export class Interpreter {
  private stack: string[] = [];
  /** Set when some path was cut by a bound; the caller reports it as analysis-incomplete. */
  truncated = false;

  constructor(private readonly program: Program, private readonly cache: SimulationCache = new SimulationCache()) {}

  /** Runs `fn` from `ctx`; returns each distinct outcome with its return value. */
  runFunction(fn: FunctionIr, ctx: PathCtx, args: Val[] = []): { ctx: PathCtx; val: Val }[] {
    if (this.stack.includes(fn.name) || this.stack.length >= MAX_CALL_DEPTH) {
      this.truncated = true;
      return [{ ctx, val: UNKNOWN }];
    }
    // A call's outcomes depend only on what the callee can run, the state, the vCPU and the
    // known arguments: computed once, they are reused wherever and whenever the call recurs.
    const key = `${this.program.fingerprint(fn.name)}|${ctx.vcpu}|${this.cache.stateId(ctx.st)}|${+ctx.purpose.setsState}${+ctx.purpose.returnsToUser}|${args.map((a) => a.n).join(',')}`;
    let results = this.cache.calls.get(key);
    if (!results) {
      this.cache.misses++;
      const before = this.truncated;
      this.truncated = false;
      results = this.computeCall(fn, ctx, args);
      const cut = this.truncated;
      this.truncated = before || cut;
      if (!cut) this.cache.calls.set(key, results);
    } else {
      this.cache.hits++;
    }
    return results.map((r) => ({
      ctx: {
        ...ctx, st: r.st,
        events: r.events.length ? [...ctx.events, ...r.events] : ctx.events,
        ...(r.seriesLoc ? { seriesLoc: r.seriesLoc } : {}),
      },
      val: r.val,
    }));
  }

  /** Runs the callee from a clean slate (no caller events, locals or guards) so the result composes. */
  private computeCall(fn: FunctionIr, ctx: PathCtx, args: Val[]): CallResult[] {
    this.stack.push(fn.name);
    try {
      const locals: Record<string, Val> = {};
      fn.params.forEach((p, i) => { if (args[i] && args[i].n !== null) locals[p] = args[i]; });
      const inner: PathCtx = { st: ctx.st, vcpu: ctx.vcpu, locals, events: [], guards: [], fn: fn.name, purpose: ctx.purpose, ...(fn.touched ? { seriesLoc: { loc: fn.touched, fn: fn.name }, here: fn.touched } : {}) };
      return this.execFunctionBody(fn, inner).map((o) => ({
        st: o.ctx.st,
        events: o.ctx.events,
        ...(o.ctx.seriesLoc ? { seriesLoc: o.ctx.seriesLoc } : {}),
        val: o.flow.k === 'return' ? o.flow.val : fn.returnsVoid ? { n: 0 } : UNKNOWN,
      }));
    } finally {
      this.stack.pop();
    }
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
        next.push(...this.execSeq(tail, o.ctx));
      }
      pending = next;
    }
    if (pending.length) this.truncated = true;
    return done;
  }

  // ---- statements ----

  private exec(s: Stmt, ctx: PathCtx): Outcome[] {
    switch (s.k) {
      case 'block': return this.execSeq(s.body, ctx);
      case 'label': return [{ ctx, flow: { k: 'normal' } }];
      case 'break': return [{ ctx, flow: { k: 'break' } }];
      case 'continue': return [{ ctx, flow: { k: 'continue' } }];
      case 'goto': return [{ ctx: this.refusalMark(ctx), flow: { k: 'goto', label: s.label } }];
      case 'expr': {
        // a statement that neither touches modelled state nor sets a local is not run at all
        const e = s.expr;
        if (!this.program.relevance.stmtMatters(s) && !(e.k === 'assign' && e.target?.k === 'local')) return [{ ctx: this.visit(ctx, s.loc), flow: { k: 'normal' } }];
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
        for (const [c, v] of this.evalCond(s.cond, this.visit(ctx, s.loc))) {
          // the refusal's reason is the whole condition as written, at the if
          const cause = v.cause ? { loc: s.loc, fn: c.fn, text: `"${s.text.replace(/\s+/g, ' ').replace(/^\((.*)\)$/, '$1')}"` } : null;
          if (v.n === null) {
            out.push(...this.branch(s.then, c, null));
            out.push(...(s.else ? this.branch(s.else, c, null) : [{ ctx: c, flow: { k: 'normal' } as Flow }]));
          } else if (v.n !== 0) {
            out.push(...this.branch(s.then, c, cause));
          } else {
            out.push(...(s.else ? this.branch(s.else, c, cause) : [{ ctx: c, flow: { k: 'normal' } as Flow }]));
          }
        }
        return this.cap(out);
      }
      case 'loop': {
        if (s.each === 'vcpu') return this.execVcpuLoop(s.body, ctx);
        if (!this.program.relevance.stmtMatters(s.body)) return [{ ctx, flow: { k: 'normal' } }];
        // Other loops: skipped, or run once; the body's effects are what matter.
        const once = this.exec(s.body, ctx).map((o) => o.flow.k === 'break' || o.flow.k === 'continue' ? { ctx: o.ctx, flow: { k: 'normal' } as Flow } : o);
        return this.cap([{ ctx, flow: { k: 'normal' } }, ...once]);
      }
      case 'switch': {
        const out: Outcome[] = [];
        for (const [c] of this.evalExpr(s.subject, ctx)) {
          let anyDefault = false;
          for (let i = 0; i < s.cases.length; i++) {
            if (s.cases[i].labels.includes('default')) anyDefault = true;
            const fallthrough = s.cases.slice(i).flatMap((x) => x.body);
            for (const o of this.execSeq(fallthrough, c)) out.push(o.flow.k === 'break' ? { ctx: o.ctx, flow: { k: 'normal' } } : o);
          }
          if (!anyDefault) out.push({ ctx: c, flow: { k: 'normal' } });
        }
        return this.cap(out);
      }
    }
  }

  private branch(s: Stmt, ctx: PathCtx, cause: Cause | null): Outcome[] {
    const inside = { ...ctx, guards: [...ctx.guards, cause] };
    return this.exec(s, inside).map((o) => ({ ctx: { ...o.ctx, guards: ctx.guards }, flow: o.flow }));
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
    return this.cap([...finished, ...live.map((c) => ({ ctx: c, flow: { k: 'normal' } as Flow }))]);
  }

  private execVcpuLoop(body: Stmt, ctx: PathCtx): Outcome[] {
    let live: PathCtx[] = [ctx];
    const finished: Outcome[] = [];
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
    return this.cap([...finished, ...live.map((c) => ({ ctx: c, flow: { k: 'normal' } as Flow }))]);
  }

  /**
   * Paths that reach the same state join into one: locals they agree on stay, the others become
   * unknown, and their events are the union. Real kernel functions branch on much we do not
   * model; joining keeps the live paths to the number of distinct states.
   */
  private dedupe(ctxs: PathCtx[]): PathCtx[] {
    if (ctxs.length < 2) return ctxs;
    const byState = new Map<number, PathCtx>();
    for (const c of ctxs) {
      const id = this.cache.stateId(c.st);
      const prev = byState.get(id);
      byState.set(id, prev ? joinPaths(prev, c) : c);
    }
    return [...byState.values()];
  }

  private cap<T>(xs: T[]): T[] {
    if (xs.length <= MAX_OUTCOMES) return xs;
    this.truncated = true;
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
      const enc = c.st.vcpus[c.vcpu]?.encrypted ?? false;
      return [withStateEvent(c, { k: 'vmsaRead', field: v.taint.slice(v.taint.indexOf(':') + 1), area: v.taint.startsWith('page:') ? 'page' : 'vmcb', vcpu: c.vcpu, encrypted: enc, decided: true, loc: e.loc, fn: c.fn, ...at(c) }), v];
    });
  }

  evalExpr(e: Expr, ctx: PathCtx): [PathCtx, Val][] {
    if (e.k !== 'const' && e.k !== 'errno' && isPure(e)) return [[ctx, this.evalPure(e, ctx)]];
    switch (e.k) {
      case 'const': return [[ctx, { n: e.value }]];
      case 'errno': return [[ctx, { n: -1, errno: e.name }]];
      case 'read': return [this.read(e.ref, e.text, e.loc, ctx)];
      case 'not': return this.evalExpr(e.arg, ctx).map(([c, v]) => [c, { ...v, n: v.n === null ? null : v.n === 0 ? 1 : 0, errno: undefined }]);
      case 'logic': {
        const out: [PathCtx, Val][] = [];
        for (const [c, l] of this.evalExpr(e.left, ctx)) {
          const short = shortCircuit(e.op, l);
          if (short) { out.push([c, short]); continue; }
          for (const [c2, r] of this.evalExpr(e.right, c)) out.push([c2, combineLogic(e.op, l, r)]);
        }
        return this.cap(out);
      }
      case 'binary': {
        const out: [PathCtx, Val][] = [];
        for (const [c, l] of this.evalExpr(e.left, ctx)) {
          for (const [c2, r] of this.evalExpr(e.right, c)) out.push([c2, binary(e.op, l, r)]);
        }
        return this.cap(out);
      }
      case 'ternary': {
        const out: [PathCtx, Val][] = [];
        for (const [c, v] of this.evalCond(e.cond, ctx)) {
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
        for (const p of e.parts) live = this.cap(live.flatMap(([c]) => this.evalExpr(p, c)));
        return live.map(([c]) => [c, UNKNOWN]);
      }
    }
  }

  /** evalExpr for pure expressions: the same three-valued logic, without forks or copies. */
  private evalPure(e: Expr, ctx: PathCtx): Val {
    switch (e.k) {
      case 'const': return { n: e.value };
      case 'errno': return { n: -1, errno: e.name };
      case 'read': return this.read(e.ref, e.text, e.loc, ctx)[1];
      case 'not': { const v = this.evalPure(e.arg, ctx); return { ...v, n: v.n === null ? null : v.n === 0 ? 1 : 0, errno: undefined }; }
      case 'logic': {
        const l = this.evalPure(e.left, ctx);
        return shortCircuit(e.op, l) ?? combineLogic(e.op, l, this.evalPure(e.right, ctx));
      }
      case 'binary': return binary(e.op, this.evalPure(e.left, ctx), this.evalPure(e.right, ctx));
      default: return UNKNOWN;
    }
  }

  private read(ref: StateRef, _text: string, loc: Loc, ctx: PathCtx): [PathCtx, Val] {
    if (ref.k === 'local') return [ctx, ctx.locals[ref.name] ?? UNKNOWN];
    // a whole save area read is its pointer (tested, passed along), not the state inside it
    if (ref.k === 'vmsa' && isWholeArea(ref)) return [ctx, UNKNOWN];
    if (ref.k === 'vmsa') {
      const enc = ctx.vcpu !== null && (ctx.st.vcpus[ctx.vcpu]?.encrypted ?? false);
      const ev: SimEvent = { k: 'vmsaRead', field: ref.field, area: ref.area, vcpu: ctx.vcpu, encrypted: enc, decided: false, loc, fn: ctx.fn, ...at(ctx) };
      return [withStateEvent(ctx, ev), { n: null, taint: `${ref.area}:${ref.field}` }];
    }
    const key = flagKey(ref);
    const n = readFlag(ctx.st, key, ctx.vcpu, this.program.trackedFlags);
    return [ctx, n === null ? UNKNOWN : { n, cause: { loc, fn: ctx.fn, text: key } }];
  }

  private assign(target: StateRef | null, op: string, v: Val, e: Expr & { k: 'assign' }, ctx: PathCtx): [PathCtx, Val][] {
    if (!target) return [[ctx, v]];
    if (target.k === 'local') {
      const next = op === '=' ? v : UNKNOWN;
      return [[{ ...ctx, locals: { ...ctx.locals, [target.name]: next } }, next]];
    }
    if (target.k === 'vmsa') {
      const enc = ctx.vcpu !== null && (ctx.st.vcpus[ctx.vcpu]?.encrypted ?? false);
      return [[withStateEvent(ctx, { k: 'vmsaWrite', field: target.field, area: target.area, vcpu: ctx.vcpu, encrypted: enc, loc: e.loc, fn: ctx.fn, ...at(ctx) }), v]];
    }
    const key = flagKey(target);
    if (!this.program.trackedFlags.has(key)) return [[ctx, v]];
    let value: number | null = v.n;
    if (op === '+=' || op === '|=') value = v.n === 0 ? readFlag(ctx.st, key, ctx.vcpu, this.program.trackedFlags) : 1;
    else if (op !== '=') value = null;
    // An unknown value is zero on some paths and nonzero on others.
    const choices: FlagValue[] = value === null ? [0, 1] : [value === 0 ? 0 : 1];
    return choices.map((fv) => [this.setFlag(ctx, key, fv, e.loc), { n: fv }]);
  }

  private setFlag(ctx: PathCtx, key: string, value: FlagValue, loc: Loc): PathCtx {
    const st = cloneState(ctx.st);
    if (!writeFlag(st, key, ctx.vcpu, value, this.program.trackedFlags)) return ctx;
    const events: SimEvent[] = [...ctx.events, { k: 'flagSet', flag: key, vcpu: key.startsWith('vcpu.') ? ctx.vcpu : null, value, loc, fn: ctx.fn, ...at(ctx) }];
    // Committing debug flags arms debugging: the ioctl goes on to load DR7 and the intercepts.
    if (key === FLAGS.guestDebug && ctx.vcpu !== null && st.vcpus[ctx.vcpu]) {
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
    const out: [PathCtx, Val][] = [];
    for (const [c, vals] of live) out.push(...this.callResolved(e, e.callee, vals, c));
    return this.cap(out);
  }

  private callResolved(e: Expr & { k: 'call' }, callee: Callee, args: Val[], ctx: PathCtx): [PathCtx, Val][] {
    if (callee.k === 'opPresent') return [[ctx, { n: this.program.resolveOp(callee.op) ? 1 : 0 }]];
    if (callee.k === 'unknown') return [[ctx, UNKNOWN]];
    const name = callee.k === 'op' ? this.program.resolveOp(callee.op) : callee.name;
    if (!name) {
      const ev: SimEvent = { k: 'unresolved', what: `kvm_x86_ops.${callee.k === 'op' ? callee.op : ''}`, loc: e.loc, fn: ctx.fn, ...at(ctx) };
      return [[{ ...ctx, events: [...ctx.events, ev] }, UNKNOWN]];
    }
    // the firmware, flag setters and WARN_ON mean what they mean even where a tree defines them
    if (FIRMWARE_CALLS.has(name) || flagSetter(name) || isWarnMacro(name)) return [this.intrinsic(name, e, args, ctx)];
    const fn = this.program.functions.get(name);
    // code that touches nothing we model is not run: its result is unknown, its effects none
    if (fn && !this.program.relevance.isRelevant(name)) return [[ctx, UNKNOWN]];
    if (fn) return this.runFunction(fn, ctx, args).map((o) => [o.ctx, o.val]);
    return [this.intrinsic(name, e, args, ctx)];
  }

  /** Calls with no summary whose meaning we know: firmware commands, flag setters, memcpy, WARN_ON. */
  private intrinsic(name: string, e: Expr & { k: 'call' }, args: Val[], ctx: PathCtx): [PathCtx, Val] {
    if (isWarnMacro(name)) return [ctx, args[0] ?? UNKNOWN];
    const setter = flagSetter(name);
    if (setter) return [this.setFlag(ctx, flagKey(setter.ref), setter.value as FlagValue, e.loc), { n: 0 }];
    if (FIRMWARE_CALLS.has(name)) return this.firmware(e, ctx);
    const argTexts = e.args.map(exprText);
    if (debugArmingCall(name, argTexts) && ctx.vcpu !== null && ctx.st.vcpus[ctx.vcpu]) {
      const st = cloneState(ctx.st);
      st.vcpus[ctx.vcpu].debugArmed = true;
      const ev: SimEvent = { k: 'debugArm', vcpu: ctx.vcpu, encrypted: st.vcpus[ctx.vcpu].encrypted, how: `${name}(${argTexts.slice(1).join(', ')})`, loc: e.loc, fn: ctx.fn, ...at(ctx) };
      return [{ ...ctx, st, events: [...ctx.events, ev] }, UNKNOWN];
    }
    if (MEMORY_WRITERS.has(name) && e.args[0]?.k === 'read' && e.args[0].ref.k === 'vmsa') {
      const enc = ctx.vcpu !== null && (ctx.st.vcpus[ctx.vcpu]?.encrypted ?? false);
      const ev: SimEvent = { k: 'vmsaWrite', field: e.args[0].ref.field, area: e.args[0].ref.area, vcpu: ctx.vcpu, encrypted: enc, loc: e.loc, fn: ctx.fn, ...at(ctx) };
      return [withStateEvent(ctx, ev), UNKNOWN];
    }
    return [ctx, UNKNOWN];
  }

  /** sev_issue_cmd(kvm, SEV_CMD_..., ...): the firmware's launch state machine, ground truth. */
  private firmware(e: Expr & { k: 'call' }, ctx: PathCtx): [PathCtx, Val] {
    const cmdText = e.args.map(exprText).find((t) => t.startsWith('SEV_CMD_'));
    const cmd = cmdText ? firmwareCommand(cmdText) : undefined;
    if (!cmd || cmd === 'OTHER') return [ctx, UNKNOWN];
    const st = cloneState(ctx.st);
    let ok = false;
    const events = [...ctx.events];
    switch (cmd) {
      case 'LAUNCH_START': ok = st.sevInit && st.firmware === 'UNINIT'; if (ok) st.firmware = 'LUPDATE'; break;
      case 'LAUNCH_UPDATE_DATA': ok = st.firmware === 'LUPDATE'; break;
      case 'LAUNCH_UPDATE_VMSA': case 'SNP_LAUNCH_UPDATE': {
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
    }
    events.push({ k: 'firmware', command: cmd, ok, loc: e.loc, fn: ctx.fn, ...at(ctx) });
    return [{ ...ctx, st, events }, ok ? { n: 0 } : { n: -1, errno: 'EIO' }];
  }
}

/**
 * Records a VMSA access only when a rule could report it (encrypted state, a purpose that makes
 * it matter): real kernel paths read KVM's VMCB copy everywhere, and recording every access
 * would make each path heavy for nothing. The predicates are the rules' own.
 */
function withStateEvent(ctx: PathCtx, ev: SimEvent & { k: 'vmsaRead' | 'vmsaWrite' }): PathCtx {
  const matters = ev.k === 'vmsaWrite' ? writeCanMatter(ev, ctx.purpose) : readCanMatter(ev, ctx.purpose);
  return matters ? { ...ctx, events: [...ctx.events, ev] } : ctx;
}

/** Where in the patch an event happened, if a patch changed the function it happened in. */
function at(ctx: PathCtx): { at?: Loc } {
  return ctx.here ? { at: ctx.here } : {};
}

/** `a && b` with a false (or `a || b` with a true): decided by a alone, for a's reason. */
function shortCircuit(op: '&&' | '||', l: Val): Val | undefined {
  const decides = op === '&&' ? l.n === 0 : l.n !== null && l.n !== 0;
  return decides ? { n: op === '&&' ? 0 : 1, cause: l.cause, taint: l.taint } : undefined;
}

/** Three-valued && / || once both sides are known to run; the deciding side gives the reason. */
function combineLogic(op: '&&' | '||', l: Val, r: Val): Val {
  const rDecides = op === '&&' ? r.n === 0 : r.n !== null && r.n !== 0;
  if (rDecides) return { n: op === '&&' ? 0 : 1, cause: r.cause, taint: r.taint ?? l.taint };
  if (l.n === null || r.n === null) return { n: null, taint: l.taint ?? r.taint };
  return { n: op === '&&' ? 1 : 0, cause: l.cause ?? r.cause, taint: l.taint ?? r.taint };
}

function binary(op: string, l: Val, r: Val): Val {
  const taint = l.taint ?? r.taint;
  const cause = l.cause ?? r.cause;
  if (op === '&' && (l.n === 0 || r.n === 0)) return { n: 0, cause, taint };
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
    case 'const': case 'read': case 'call': case 'assign': case 'opaque': return e.text;
    case 'errno': return `-${e.name}`;
    default: return '';
  }
}

/** Two paths in the same state as one: agreed locals kept, events in first-seen order. */
function joinPaths(a: PathCtx, b: PathCtx): PathCtx {
  const locals: Record<string, Val> = {};
  for (const name in a.locals) {
    const x = a.locals[name];
    const y = b.locals[name];
    if (y && x.n === y.n && x.errno === y.errno) locals[name] = x.cause ? x : y;
  }
  let events = a.events;
  if (b.events !== a.events && b.events.length) {
    const seen = new Set(a.events.map(eventKey));
    const extra = b.events.filter((e) => !seen.has(eventKey(e)));
    if (extra.length) events = [...a.events, ...extra];
  }
  return { ...a, locals, events };
}

/** Expressions without calls, assignments or VMSA reads evaluate to one value and no events. */
const pureCache = new WeakMap<Expr, boolean>();
function isPure(e: Expr): boolean {
  let p = pureCache.get(e);
  if (p !== undefined) return p;
  switch (e.k) {
    case 'const': case 'errno': p = true; break;
    case 'read': p = e.ref.k !== 'vmsa'; break;
    case 'not': p = isPure(e.arg); break;
    case 'logic': case 'binary': p = isPure(e.left) && isPure(e.right); break;
    case 'ternary': p = false; break; // its branches may carry state causes worth forking on
    case 'opaque': p = e.parts.every(isPure); break;
    default: p = false;
  }
  pureCache.set(e, p);
  return p;
}

function eventKey(ev: SimEvent): string {
  return `${ev.k}@${ev.loc.file}:${ev.loc.line}:${ev.loc.column}${'field' in ev ? ev.field : ''}${'encrypted' in ev ? +ev.encrypted : ''}`;
}
