// Identity of IR nodes independent of spelling and position: the same guard written as
// `svm->vcpu.arch.guest_state_protected` in a patch and `vcpu->arch.guest_state_protected` in
// the model has one key. Merging a hunk into a function matches statements by these keys.
import type { Expr, Stmt } from './ir';
import { flagKey } from './idioms';

export function exprKey(e: Expr): string {
  switch (e.k) {
    case 'const': return /^[A-Za-z_]\w*$/.test(e.text) && e.text !== 'true' && e.text !== 'false' && e.text !== 'NULL' ? e.text : String(e.value);
    case 'errno': return `-${e.name}`;
    case 'sym': return e.name;
    case 'read': return e.ref.k === 'local' ? `$${e.ref.name}` : flagKey(e.ref);
    case 'call': {
      const callee = e.callee.k === 'direct' ? e.callee.name : e.callee.k === 'op' || e.callee.k === 'opPresent' ? `ops.${e.callee.op}`
        : e.callee.k === 'table' ? `${e.callee.table}[${exprKey(e.callee.index)}]` : e.callee.k === 'pointer' ? `*${e.callee.name}` : e.callee.text;
      return `${callee}(${e.args.map(exprKey).join(',')})`;
    }
    case 'assign': return `${e.target ? (e.target.k === 'local' ? `$${e.target.name}` : flagKey(e.target)) : '?'}${e.op}${exprKey(e.value)}`;
    case 'not': return `!${exprKey(e.arg)}`;
    case 'logic': case 'binary': return `(${exprKey(e.left)}${e.op}${exprKey(e.right)})`;
    case 'ternary': return `(${exprKey(e.cond)}?${exprKey(e.then)}:${exprKey(e.else)})`;
    case 'opaque': return e.text.replace(/\s+/g, '');
  }
}

export function stmtKey(s: Stmt): string {
  switch (s.k) {
    case 'block': return `{${s.body.length}}`;
    case 'if': return `if ${exprKey(s.cond)}`;
    case 'return': return `return ${s.value ? exprKey(s.value) : ''}`;
    case 'expr': return exprKey(s.expr);
    case 'goto': return `goto ${s.label}`;
    case 'label': return `${s.name}:`;
    case 'loop': return `loop ${s.each}`;
    case 'switch': return `switch ${exprKey(s.subject)}`;
    case 'break': return 'break';
    case 'continue': return 'continue';
  }
}

/** Child statement lists of a statement as they are (a single-statement branch as a list of one), without changing it. */
export function childLists(s: Stmt): Stmt[][] {
  switch (s.k) {
    case 'block': return [s.body];
    case 'if': return s.else ? [[s.then], [s.else]] : [[s.then]];
    case 'loop': return [[s.body]];
    case 'switch': return s.cases.map((c) => c.body);
    default: return [];
  }
}

/** Child statement lists of a statement, for walking and editing in place. */
export function childBlocks(s: Stmt): Stmt[][] {
  switch (s.k) {
    case 'block': return [s.body];
    case 'if': return [asList(s, 'then'), ...(s.else ? [asList(s, 'else')] : [])];
    case 'loop': return [asList(s, 'body')];
    case 'switch': return s.cases.map((c) => c.body);
    default: return [];
  }
}

/** Makes a branch a block so statements can be inserted into it; returns its list. */
function asList(s: Stmt, field: 'then' | 'else' | 'body'): Stmt[] {
  const holder = s as unknown as Record<string, Stmt>;
  const inner = holder[field];
  if (inner.k === 'block') return inner.body;
  const block: Stmt = { k: 'block', body: [inner], loc: inner.loc };
  holder[field] = block;
  return block.body;
}

/**
 * The statements that run after `label:` to the end of the function body. Kernel style keeps
 * labels at top level, but a dispatcher's case body has its own (`out_free1:`): there the rest of
 * the case runs inside a one-case switch, so its `break` leaves to the code after the switch.
 */
export function labelTail(body: Stmt, label: string): Stmt[] | undefined {
  if (body.k !== 'block') return undefined;
  // the interpreter asks once per path that jumps: remember the answer per function body
  let byLabel = tails.get(body);
  if (!byLabel) tails.set(body, (byLabel = new Map()));
  if (byLabel.has(label)) return byLabel.get(label);
  const tail = tailIn(body.body, label);
  byLabel.set(label, tail);
  return tail;
}

/** Tails already found; the IR is not changed once lowered or merged (changes work on copies). */
const tails = new WeakMap<Stmt, Map<string, Stmt[] | undefined>>();

function tailIn(list: Stmt[], label: string): Stmt[] | undefined {
  for (let i = 0; i < list.length; i++) {
    const s = list[i];
    // the rest of this list is copied only once the label is found (copying it at every step made a long body quadratic)
    if (s.k === 'label' && s.name === label) return list.slice(i + 1);
    if (s.k === 'block') {
      const inner = tailIn(s.body, label);
      if (inner) return inner.concat(list.slice(i + 1));
    } else if (s.k === 'if') {
      const inner = tailIn(s.then.k === 'block' ? s.then.body : [s.then], label) ?? (s.else ? tailIn(s.else.k === 'block' ? s.else.body : [s.else], label) : undefined);
      if (inner) return inner.concat(list.slice(i + 1));
    } else if (s.k === 'switch') {
      for (let c = 0; c < s.cases.length; c++) {
        const inner = tailIn(s.cases[c].body, label);
        if (!inner) continue;
        const fallthrough = s.cases.slice(c + 1).flatMap((x) => x.body);
        const once: Stmt = { k: 'switch', subject: { k: 'const', value: 0, text: '0', loc: s.loc }, cases: [{ labels: ['default'], body: inner.concat(fallthrough), loc: s.loc }], loc: s.loc };
        return [once as Stmt].concat(list.slice(i + 1));
      }
    }
  }
  return undefined;
}

/**
 * Calls `visit` on every expression of a statement tree, sub-expressions included, in source
 * order, with whether it sits in a condition (an if, a ternary's test, a && / || / ! chain
 * under them, or a WARN_ON/likely wrapper around one).
 */
export function forEachExpr(s: Stmt, visit: (e: Expr, inCondition: boolean) => void): void {
  const ve = (e: Expr, cond: boolean): void => {
    visit(e, cond);
    switch (e.k) {
      case 'call': {
        const wrapsCondition = cond && e.callee.k === 'direct' && /^(WARN_ON|WARN_ON_ONCE|likely|unlikely)$/.test(e.callee.name);
        e.args.forEach((a) => ve(a, wrapsCondition));
        break;
      }
      case 'assign': ve(e.value, false); break;
      case 'not': ve(e.arg, cond); break;
      case 'logic': case 'binary': ve(e.left, cond); ve(e.right, cond); break;
      case 'ternary': ve(e.cond, true); ve(e.then, false); ve(e.else, false); break;
      case 'opaque': e.parts.forEach((p) => ve(p, false)); break;
      default: break;
    }
  };
  const vs = (x: Stmt): void => {
    switch (x.k) {
      case 'block': x.body.forEach(vs); break;
      case 'if': ve(x.cond, true); vs(x.then); if (x.else) vs(x.else); break;
      case 'return': if (x.value) ve(x.value, false); break;
      case 'expr': ve(x.expr, false); break;
      case 'loop': vs(x.body); break;
      case 'switch': ve(x.subject, false); x.cases.forEach((c) => c.body.forEach(vs)); break;
      default: break;
    }
  };
  vs(s);
}

/** Calls `visit` on a statement and every statement nested in it, in source order, without changing anything. */
export function forEachStmt(s: Stmt, visit: (s: Stmt) => void): void {
  visit(s);
  if (s.k === 'block') s.body.forEach((x) => forEachStmt(x, visit));
  else if (s.k === 'if') { forEachStmt(s.then, visit); if (s.else) forEachStmt(s.else, visit); }
  else if (s.k === 'loop') forEachStmt(s.body, visit);
  else if (s.k === 'switch') s.cases.forEach((c) => c.body.forEach((x) => forEachStmt(x, visit)));
}
