// Identity of the code a function can run: itself and everything it reaches through direct
// calls, ops-table calls, tables of functions and functions named as values. Two equal
// identities mean equal behaviour, so a result computed for one is reused for the other, across
// the patches of a series and the edits of an editor session.
//
// Computed bottom-up over the call graph's strongly connected components (Tarjan), so each
// function is visited once however many handlers reach it: a component's identity is its
// members' own code and the identities of the components it calls.
import type { FunctionIr, Stmt } from '../summary/ir';
import { forEachExpr } from '../summary/irKeys';
import type { Interner } from './simulationCache';

export interface CallGraphSource {
  readonly functions: ReadonlyMap<string, FunctionIr>;
  resolveOp(op: string): string | undefined;
  readonly tables: ReadonlyMap<string, readonly { fn: string }[]>;
}

interface Node { name: string; label: string; next: string[] }

export class CodeIdentity {
  private readonly ids = new Map<string, string>();
  /** The shared terms (VMCB control fields, kvm_run fields) each function's code can read or write, closed over what it calls. */
  private readonly terms = new Map<string, readonly string[]>();
  private readonly nodes = new Map<string, Node>();
  /** The call-graph component each function closed in (members of a cycle share one). */
  private readonly component = new Map<string, number>();
  /** Identities of dispatchers with one case selected, by "name\0label". */
  private readonly selectedIds = new Map<string, string>();

  constructor(
    private readonly code: CallGraphSource,
    private readonly interner: Interner,
    /** Added to every identity: what else decides behaviour program-wide (the tracked flags). */
    private readonly salt: string,
    /** The identities of the code before an edit: those of functions that reach no changed function are kept. */
    previous?: CodeIdentity,
  ) {
    if (previous) this.keepUnchanged(previous);
  }

  /**
   * Takes over what `previous` computed for every function whose reach the edit did not touch:
   * the ones that cannot reach a function that changed, appeared or went. A changed ops table,
   * function table or salt changes what calls resolve to: nothing is kept then.
   */
  private keepUnchanged(previous: CodeIdentity): void {
    if (previous.salt !== this.salt || previous.interner !== this.interner || !sameResolution(previous.code, this.code)) return;
    const changed: string[] = [];
    for (const [name, fn] of this.code.functions) if (previous.code.functions.get(name) !== fn) changed.push(name);
    for (const name of previous.code.functions.keys()) if (!this.code.functions.has(name)) changed.push(name);
    const callers = new Map<string, string[]>();
    for (const n of previous.nodes.values()) {
      for (const m of n.next) {
        const list = callers.get(m);
        if (list) list.push(n.name);
        else callers.set(m, [n.name]);
      }
    }
    const affected = new Set<string>(changed);
    for (const stack = [...changed]; stack.length;) {
      for (const caller of callers.get(stack.pop()!) ?? []) if (!affected.has(caller)) { affected.add(caller); stack.push(caller); }
    }
    for (const [name, node] of previous.nodes) if (!affected.has(name)) this.nodes.set(name, node);
    for (const [name, id] of previous.ids) {
      if (affected.has(name)) continue;
      this.ids.set(name, id);
      this.component.set(name, previous.component.get(name)!);
      this.terms.set(name, previous.terms.get(name)!);
    }
    for (const [key, id] of previous.selectedIds) if (!affected.has(key.slice(0, key.indexOf('\0')))) this.selectedIds.set(key, id);
  }

  of(name: string): string {
    const id = this.ids.get(name);
    if (id !== undefined) return id;
    this.computeFrom(name);
    return this.ids.get(name)!;
  }

  /** The shared terms `name` and everything it can reach mention (see sharedTermsOf). */
  sharedTerms(name: string): readonly string[] {
    this.of(name);
    return this.terms.get(name) ?? [];
  }

  /**
   * Identity of a dispatcher run with one `case` selected (an operation): its own code and what
   * the statements outside its switch and in that case (with the cases it falls into) reach. An
   * edit behind another case of the same dispatcher leaves this operation's results valid.
   */
  selected(name: string, label: string): string {
    const memoKey = `${name}\0${label}`;
    let id = this.selectedIds.get(memoKey);
    if (id !== undefined) return id;
    const fn = this.code.functions.get(name);
    if (!fn) return this.of(name);
    const own = this.of(name); // closes the components below first
    const { next, ops } = this.resolve(selectedCallees(fn, label));
    // a dispatcher in a cycle with what it calls is one component: only its whole identity says what it runs
    const cyclic = next.some((callee) => this.component.get(callee) === this.component.get(name));
    const reached = [...ops, ...next.map((callee) => (this.code.functions.has(callee) ? this.of(callee) : `${callee}#-`))];
    id = cyclic ? own : `f${this.interner.id(`sel ${label} ${this.node(name).label}|${[...new Set(reached)].sort().join(',')}|${this.salt}`)}`;
    this.selectedIds.set(memoKey, id);
    return id;
  }

  /** Every function `name` can reach, itself included when it is defined. */
  closure(name: string): Set<string> {
    const out = new Set<string>();
    const seen = new Set<string>([name]);
    const stack = [name];
    while (stack.length) {
      const n = this.node(stack.pop()!);
      if (this.code.functions.has(n.name)) out.add(n.name);
      for (const m of n.next) if (!seen.has(m)) { seen.add(m); stack.push(m); }
    }
    return out;
  }

  private node(name: string): Node {
    let n = this.nodes.get(name);
    if (n) return n;
    const fn = this.code.functions.get(name);
    const { next, ops } = fn ? this.resolve(calleesOf(fn)) : { next: [], ops: [] };
    n = { name, label: `${name}#${fn ? objectId(fn) : '-'}${ops.length ? ` ${ops.join(' ')}` : ''}`, next };
    this.nodes.set(name, n);
    return n;
  }

  /** Callee entries (see calleesOf) as the functions they reach, sorted, and how each ops call resolves. */
  private resolve(callees: Set<string>): { next: string[]; ops: string[] } {
    const next = new Set<string>();
    const ops: string[] = [];
    for (const c of callees) {
      if (c.startsWith('table:')) for (const e of this.code.tables.get(c.slice(6)) ?? []) next.add(e.fn);
      else if (c.startsWith('op:')) {
        const target = this.code.resolveOp(c.slice(3));
        ops.push(`${c}=${target ?? '-'}`);
        if (target) next.add(target);
      } else if (c.startsWith('ref:')) {
        if (this.code.functions.has(c.slice(4))) next.add(c.slice(4));
      } else next.add(c);
    }
    return { next: [...next].sort(), ops: ops.sort() };
  }

  /** Tarjan's algorithm, iterative (call chains are deep), assigning identities as components close. */
  private computeFrom(root: string): void {
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const onStack = new Set<string>();
    const stack: string[] = [];
    const work: { name: string; i: number }[] = [{ name: root, i: 0 }];
    let counter = 0;
    index.set(root, counter); low.set(root, counter); counter++;
    stack.push(root); onStack.add(root);
    while (work.length) {
      const top = work[work.length - 1];
      const n = this.node(top.name);
      if (top.i < n.next.length) {
        const m = n.next[top.i++];
        if (this.ids.has(m)) continue; // a component already closed, earlier or in another walk
        if (!index.has(m)) {
          index.set(m, counter); low.set(m, counter); counter++;
          stack.push(m); onStack.add(m);
          work.push({ name: m, i: 0 });
        } else if (onStack.has(m)) low.set(top.name, Math.min(low.get(top.name)!, index.get(m)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.name, Math.min(low.get(parent.name)!, low.get(top.name)!));
      if (low.get(top.name) !== index.get(top.name)) continue;
      const members: string[] = [];
      let m: string;
      do { m = stack.pop()!; onStack.delete(m); members.push(m); } while (m !== top.name);
      this.close(members);
    }
  }

  private close(members: string[]): void {
    const inside = new Set(members);
    const labels = members.map((m) => this.node(m).label).sort();
    const calls = new Set<string>();
    for (const m of members) for (const x of this.node(m).next) if (!inside.has(x)) calls.add(this.ids.get(x)!);
    const component = this.interner.id(`${labels.join(',')}|${[...calls].sort().join(',')}|${this.salt}`);
    // members of one component reach the same code but are different entry points into it
    for (const m of members) { this.ids.set(m, `f${this.interner.id(`${component}>${m}`)}`); this.component.set(m, component); }
    const terms = new Set<string>();
    for (const m of members) {
      const fn = this.code.functions.get(m);
      if (fn) for (const t of sharedTermsOf(fn)) terms.add(t);
      for (const x of this.node(m).next) if (!inside.has(x)) for (const t of this.terms.get(x) ?? []) terms.add(t);
    }
    const list = internTerms([...terms].sort());
    for (const m of members) this.terms.set(m, list);
  }
}

const termLists = new Map<string, readonly string[]>();

/** One array per distinct list: thousands of functions reach the same few terms. */
function internTerms(list: string[]): readonly string[] {
  const key = list.join('\n');
  let out = termLists.get(key);
  if (!out) { out = Object.freeze(list); termLists.set(key, out); }
  return out;
}

const ownTerms = new WeakMap<FunctionIr, string[]>();

/** The shared terms (`vmcb.control.<field>`, `user.<field>`) a function's own code reads or assigns. */
function sharedTermsOf(fn: FunctionIr): string[] {
  let out = ownTerms.get(fn);
  if (out) return out;
  const found = new Set<string>();
  const note = (ref: { k: string; field?: string } | null | undefined) => {
    if (ref?.k === 'control') found.add(`vmcb.control.${ref.field}`);
    else if (ref?.k === 'user') found.add(`user.${ref.field}`);
  };
  forEachExpr(fn.body, (e) => {
    if (e.k === 'read') note(e.ref);
    else if (e.k === 'assign') note(e.target);
  });
  out = [...found];
  ownTerms.set(fn, out);
  return out;
}

/** Both resolve every ops-table call and every table of functions alike (tables are compared by their entries' objects). */
function sameResolution(a: CallGraphSource, b: CallGraphSource): boolean {
  if (a.tables.size !== b.tables.size) return false;
  for (const [name, entries] of a.tables) if (b.tables.get(name) !== entries) return false;
  const ops = new Set<string>();
  for (const fn of a.functions.values()) for (const c of calleesOf(fn)) if (c.startsWith('op:')) ops.add(c.slice(3));
  for (const fn of b.functions.values()) for (const c of calleesOf(fn)) if (c.startsWith('op:')) ops.add(c.slice(3));
  for (const op of ops) if (a.resolveOp(op) !== b.resolveOp(op)) return false;
  return true;
}

/**
 * The statements that run when a switch on the ioctl takes `case label:` (as the interpreter
 * selects it): that case and the ones it falls into, everything outside the switch; a switch
 * without the label stays whole.
 */
function selectCase(s: Stmt, label: string): Stmt {
  switch (s.k) {
    case 'block': return { ...s, body: s.body.map((x) => selectCase(x, label)) };
    case 'if': return { ...s, then: selectCase(s.then, label), ...(s.else ? { else: selectCase(s.else, label) } : {}) };
    case 'loop': return { ...s, body: selectCase(s.body, label) };
    case 'switch': {
      const at = s.cases.findIndex((c) => c.labels.includes(label));
      if (at < 0) return { ...s, cases: s.cases.map((c) => ({ ...c, body: c.body.map((x) => selectCase(x, label)) })) };
      // no path runs past a case that ends in a jump (a goto only reaches the function's own
      // top-level labels, never a label inside another case)
      const taken: typeof s.cases = [];
      for (let j = at; j < s.cases.length; j++) {
        taken.push(s.cases[j]);
        if (endsInJump(s.cases[j].body)) break;
      }
      return { ...s, cases: taken };
    }
    default: return s;
  }
}

/** The statements end in an unconditional jump (`case X: { ...; break; }` included). */
function endsInJump(body: Stmt[]): boolean {
  const last = body[body.length - 1];
  if (!last) return false;
  if (last.k === 'block') return endsInJump(last.body);
  return last.k === 'break' || last.k === 'return' || last.k === 'goto' || last.k === 'continue';
}

const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;

/** A number per function object: a patch or an edit that changes a function makes a new object. */
function objectId(o: object): number {
  let id = objectIds.get(o);
  if (id === undefined) { id = nextObjectId++; objectIds.set(o, id); }
  return id;
}

const callees = new WeakMap<FunctionIr, Set<string>>();

/** Direct callee names, "op:<name>" for ops-table calls, "table:<name>" and "ref:<name>" for names read as values. */
function calleesOf(fn: FunctionIr): Set<string> {
  let out = callees.get(fn);
  if (out) return out;
  out = calleesOfBody(fn.body);
  callees.set(fn, out);
  return out;
}

const selectedCalleesMemo = new WeakMap<FunctionIr, Map<string, Set<string>>>();

/** calleesOf for the dispatcher run with `case label:` selected, per function object (an edit elsewhere keeps it). */
function selectedCallees(fn: FunctionIr, label: string): Set<string> {
  let byLabel = selectedCalleesMemo.get(fn);
  if (!byLabel) { byLabel = new Map(); selectedCalleesMemo.set(fn, byLabel); }
  let out = byLabel.get(label);
  if (!out) { out = calleesOfBody(selectCase(fn.body, label)); byLabel.set(label, out); }
  return out;
}

function calleesOfBody(body: Stmt): Set<string> {
  const out = new Set<string>();
  forEachExpr(body, (e) => {
    // a function named as a value (handed to msr_io(), stored in a pointer) may be called from here
    if (e.k === 'read' && e.ref.k === 'local') out.add(`ref:${e.ref.name}`);
    if (e.k !== 'call') return;
    if (e.callee.k === 'direct') out.add(e.callee.name);
    else if (e.callee.k === 'op' || e.callee.k === 'opPresent') out.add(`op:${e.callee.op}`);
    else if (e.callee.k === 'table') out.add(`table:${e.callee.table}`);
  });
  return out;
}
