// Which code can matter to the lifecycle. Real kernel files hold thousands of branches and
// calls that touch no state we model; interpreting them only multiplies paths. A function is
// relevant when it (or anything it calls) reads or writes a tracked flag or VMSA-backed state,
// or talks to the firmware; everything else is skipped and returns "unknown".
import type { Expr, FunctionIr, Stmt } from '../summary/ir';
import { forEachExpr } from '../summary/irKeys';
import { debugArmingCall, FIRMWARE_CALLS, flagKey, flagSetter, isCopyFromUser, isCopyToUser, MEMORY_WRITERS } from '../summary/idioms';

export class Relevance {
  private readonly relevantFns = new Set<string>();
  private readonly stmtCache = new WeakMap<Stmt, boolean>();
  private readonly exprCache = new WeakMap<Expr, boolean>();

  constructor(
    functions: ReadonlyMap<string, FunctionIr>,
    private readonly resolveOp: (op: string) => string | undefined,
    private readonly tracked: ReadonlySet<string>,
    /** Function tables by name: a call through one may reach any entry. */
    private readonly tables: ReadonlyMap<string, readonly { index: string; fn: string }[]> = new Map(),
  ) {
    // direct relevance, then a fixpoint over the call graph (callers of relevant code are relevant)
    const callers = new Map<string, Set<string>>();
    const work: string[] = [];
    for (const fn of functions.values()) {
      const { direct, callees } = this.scan(fn, functions);
      for (const c of callees) {
        if (!callers.has(c)) callers.set(c, new Set());
        callers.get(c)!.add(fn.name);
      }
      if (direct) { this.relevantFns.add(fn.name); work.push(fn.name); }
    }
    while (work.length) {
      const name = work.pop()!;
      for (const caller of callers.get(name) ?? []) {
        if (!this.relevantFns.has(caller)) { this.relevantFns.add(caller); work.push(caller); }
      }
    }
  }

  isRelevant(fn: string): boolean {
    return this.relevantFns.has(fn);
  }

  /** A statement worth running: it touches relevant state or code, or it ends a path. */
  stmtMatters(s: Stmt): boolean {
    let m = this.stmtCache.get(s);
    if (m !== undefined) return m;
    switch (s.k) {
      case 'return': case 'goto': case 'break': case 'continue': case 'label': m = true; break;
      case 'expr': m = this.exprMatters(s.expr); break;
      case 'if': m = this.exprMatters(s.cond) || this.stmtMatters(s.then) || (!!s.else && this.stmtMatters(s.else)); break;
      case 'block': m = s.body.some((x) => this.stmtMatters(x)); break;
      case 'loop': m = s.each === 'vcpu' || this.stmtMatters(s.body); break;
      case 'switch': m = this.exprMatters(s.subject) || s.cases.some((c) => c.body.some((x) => this.stmtMatters(x))); break;
    }
    this.stmtCache.set(s, m);
    return m;
  }

  exprMatters(e: Expr): boolean {
    let m = this.exprCache.get(e);
    if (m !== undefined) return m;
    switch (e.k) {
      case 'const': case 'errno': case 'sym': m = false; break;
      case 'read': m = e.ref.k === 'vmsa' || e.ref.k === 'user' || (e.ref.k === 'flag' && (this.tracked.has(flagKey(e.ref)) || isModeBit(e.ref))); break;
      case 'assign': m = this.exprMatters(e.value) || (!!e.target && e.target.k !== 'local' && e.target.k !== 'field' && (e.target.k === 'vmsa' || e.target.k === 'user' || this.tracked.has(flagKey(e.target)))); break;
      // a call handed &local may change the local a later test reads (f(&async); if (!async) ...)
      case 'call': m = this.callMatters(e) || e.args.some((a) => this.exprMatters(a) || (a.k === 'read' && a.ref.k === 'local' && a.text.startsWith('&'))); break;
      case 'not': m = this.exprMatters(e.arg); break;
      case 'logic': case 'binary': m = this.exprMatters(e.left) || this.exprMatters(e.right); break;
      case 'ternary': m = this.exprMatters(e.cond) || this.exprMatters(e.then) || this.exprMatters(e.else); break;
      case 'opaque': m = e.parts.some((p) => this.exprMatters(p)); break;
    }
    this.exprCache.set(e, m);
    return m;
  }

  private callMatters(e: Expr & { k: 'call' }): boolean {
    if (e.callee.k === 'opPresent') return true;
    // a function handed over as an argument may be called by the callee
    if (e.args.some((a) => a.k === 'read' && a.ref.k === 'local' && this.relevantFns.has(a.ref.name))) return true;
    if (e.callee.k === 'unknown') return false;
    if (e.callee.k === 'pointer') return true; // whatever function it holds
    if (e.callee.k === 'table') return (this.tables.get(e.callee.table) ?? []).some((x) => this.relevantFns.has(x.fn));
    const name = e.callee.k === 'op' ? this.resolveOp(e.callee.op) : e.callee.name;
    if (!name) return e.callee.k === 'op'; // an unresolved op is reported, so it is run
    return this.relevantFns.has(name) || intrinsicMatters(name, e);
  }

  /** Does the function itself touch relevant state, and whom does it call? */
  private scan(fn: FunctionIr, functions: ReadonlyMap<string, FunctionIr>): { direct: boolean; callees: Set<string> } {
    const f = accessesOf(fn);
    const direct = f.touchesVmsaOrUser || f.intrinsic || f.flagsRead.some((k) => this.tracked.has(k) || isModeBitKey(k)) || f.flagsWritten.some((k) => this.tracked.has(k));
    const callees = new Set<string>(f.direct);
    for (const name of f.handed) if (functions.has(name)) callees.add(name);
    for (const op of f.ops) { const target = this.resolveOp(op); if (target) callees.add(target); }
    for (const t of f.tables) for (const x of this.tables.get(t) ?? []) callees.add(x.fn);
    return { direct, callees };
  }
}

/** What a function's own body reads, writes and calls, independent of the rest of the program. */
interface Accesses {
  touchesVmsaOrUser: boolean;
  /** Calls that change what we model without a summary (firmware, flag setters, arming, VMSA copies). */
  intrinsic: boolean;
  flagsRead: string[];
  flagsWritten: string[];
  direct: string[];
  /** Names handed to a callee as arguments: functions it may call. */
  handed: string[];
  ops: string[];
  tables: string[];
}

// per function object: a program derived again after an edit scans only the functions the edit changed
const accesses = new WeakMap<FunctionIr, Accesses>();

function accessesOf(fn: FunctionIr): Accesses {
  const known = accesses.get(fn);
  if (known) return known;
  const out: Accesses = { touchesVmsaOrUser: false, intrinsic: false, flagsRead: [], flagsWritten: [], direct: [], handed: [], ops: [], tables: [] };
  forEachExpr(fn.body, (e) => {
    if (e.k === 'call') for (const x of e.args) if (x.k === 'read' && x.ref.k === 'local') out.handed.push(x.ref.name);
    if (e.k === 'read' && (e.ref.k === 'vmsa' || e.ref.k === 'user')) out.touchesVmsaOrUser = true;
    else if (e.k === 'read' && e.ref.k === 'flag') out.flagsRead.push(flagKey(e.ref));
    else if (e.k === 'assign' && e.target && (e.target.k === 'vmsa' || e.target.k === 'user')) out.touchesVmsaOrUser = true;
    else if (e.k === 'assign' && e.target?.k === 'flag') out.flagsWritten.push(flagKey(e.target));
    else if (e.k === 'call' && e.callee.k === 'direct') {
      if (intrinsicMatters(e.callee.name, e)) out.intrinsic = true;
      out.direct.push(e.callee.name);
    } else if (e.k === 'call' && e.callee.k === 'op') out.ops.push(e.callee.op);
    else if (e.k === 'call' && e.callee.k === 'table') out.tables.push(e.callee.table);
  });
  accesses.set(fn, out);
  return out;
}

/** Calls with no summary that still change what we model: firmware, flag setters, arming, VMSA copies. */
function intrinsicMatters(name: string, e: Expr & { k: 'call' }): boolean {
  if (FIRMWARE_CALLS.has(name) || flagSetter(name) || isCopyFromUser(name) || isCopyToUser(name)) return true;
  if (MEMORY_WRITERS.has(name) && e.args[0]?.k === 'read' && e.args[0].ref.k === 'vmsa') return true;
  const texts = e.args.map((a) => (a.k === 'read' || a.k === 'call' || a.k === 'opaque' || a.k === 'const' ? a.text : ''));
  return debugArmingCall(name, texts);
}

/** A named bit of a vCPU flag (hflags & HF_GUEST_MASK): code that tests one decides by a vCPU mode. */
function isModeBit(ref: { scope: 'vcpu' | 'vm'; name: string }): boolean {
  return ref.scope === 'vcpu' && ref.name.includes('&');
}

function isModeBitKey(key: string): boolean {
  return key.startsWith('vcpu.') && key.includes('&');
}
