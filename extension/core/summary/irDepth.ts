// Keeps every function's IR at most MAX_IR_DEPTH levels deep, so that the walks over it (path
// summaries, keys, the interpreter) can recurse without overflowing the stack. Lowering already
// stops at that depth; this pass makes the bound exact (a `for` lowers to a block around a loop,
// a merged hunk lands inside a model statement) and finds the places that were left out.
import { type Expr, type FunctionIr, type Loc, MAX_IR_DEPTH, type Stmt } from './ir';

/** What stands for an expression nested too deep: unknown, and nothing inside it runs. */
export function cutExpr(text: string, loc: Loc): Expr {
  return { k: 'opaque', text: text.length > 80 ? text.slice(0, 77) + '...' : text, parts: [], loc, cut: true };
}

/** What stands for a statement nested too deep: a statement whose effect is unknown. */
export function cutStmt(text: string, loc: Loc): Stmt {
  return { k: 'expr', expr: cutExpr(text, loc), loc };
}

/** Where a child sits: `holder[key]`, so it can be read and replaced without closures. */
interface Slot { holder: Record<string | number, unknown>; key: string | number; stmt: boolean }

/**
 * Cuts what lies deeper than MAX_IR_DEPTH (in place) and records on `fn.depthCut` where code
 * was left out, here or by lowering before. Iterative: the IR it is handed may be of any depth.
 */
export function limitIrDepth(fn: FunctionIr): void {
  let first: Loc | undefined;
  let places = 0;
  const slots: Slot[] = [];
  const stack: { node: Stmt | Expr; stmt: boolean; depth: number }[] = [{ node: fn.body, stmt: true, depth: 1 }];
  while (stack.length > 0) {
    const { node, stmt, depth } = stack.pop()!;
    if (!stmt && node.k === 'opaque' && node.cut) {
      places++;
      first ??= node.loc;
    }
    slots.length = 0;
    slotsOf(node, stmt, slots);
    // children in reverse, so they come off the stack in source order
    for (let i = slots.length - 1; i >= 0; i--) {
      const { holder, key, stmt: childIsStmt } = slots[i];
      let child = holder[key] as Stmt | Expr;
      const d = depth + 1;
      // a statement placeholder takes two levels (the statement and its expression), an expression one
      if (d >= (childIsStmt ? MAX_IR_DEPTH - 1 : MAX_IR_DEPTH) && hasChildren(child, childIsStmt)) {
        child = childIsStmt ? cutStmt(textOf(child), child.loc) : cutExpr(textOf(child), child.loc);
        holder[key] = child;
      }
      stack.push({ node: child, stmt: childIsStmt, depth: d });
    }
  }
  if (first) fn.depthCut = { at: first, places };
  else delete fn.depthCut;
}

/** The deepest level of a statement tree, a leaf counting one; iterative. */
export function irDepth(s: Stmt): number {
  let max = 0;
  const slots: Slot[] = [];
  const stack: { node: Stmt | Expr; stmt: boolean; depth: number }[] = [{ node: s, stmt: true, depth: 1 }];
  while (stack.length > 0) {
    const { node, stmt, depth } = stack.pop()!;
    if (depth > max) max = depth;
    slots.length = 0;
    slotsOf(node, stmt, slots);
    for (const { holder, key, stmt: childIsStmt } of slots) stack.push({ node: holder[key] as Stmt | Expr, stmt: childIsStmt, depth: depth + 1 });
  }
  return max;
}

function textOf(x: Stmt | Expr): string {
  if ('text' in x && x.text) return x.text;
  return `${x.k} at line ${x.loc.line}`;
}

function hasChildren(x: Stmt | Expr, stmt: boolean): boolean {
  const slots: Slot[] = [];
  slotsOf(x, stmt, slots);
  return slots.length > 0;
}

type Holder = Record<string | number, unknown>;

/** The child statements and expressions of a node, in source order. */
function slotsOf(x: Stmt | Expr, stmt: boolean, out: Slot[]): void {
  if (stmt) {
    const s = x as Stmt;
    switch (s.k) {
      case 'block': for (let i = 0; i < s.body.length; i++) addSlot(out, s.body, i, true); break;
      case 'if': addSlot(out, s, 'cond', false); addSlot(out, s, 'then', true); if (s.else) addSlot(out, s, 'else', true); break;
      case 'return': if (s.value) addSlot(out, s, 'value', false); break;
      case 'expr': addSlot(out, s, 'expr', false); break;
      case 'loop': addSlot(out, s, 'body', true); break;
      case 'switch':
        addSlot(out, s, 'subject', false);
        for (const c of s.cases) for (let i = 0; i < c.body.length; i++) addSlot(out, c.body, i, true);
        break;
      default: break;
    }
    return;
  }
  const e = x as Expr;
  switch (e.k) {
    case 'call':
      if (e.callee.k === 'table') addSlot(out, e.callee, 'index', false);
      for (let i = 0; i < e.args.length; i++) addSlot(out, e.args, i, false);
      break;
    case 'assign': addSlot(out, e, 'value', false); break;
    case 'not': addSlot(out, e, 'arg', false); break;
    case 'logic': case 'binary': addSlot(out, e, 'left', false); addSlot(out, e, 'right', false); break;
    case 'ternary': addSlot(out, e, 'cond', false); addSlot(out, e, 'then', false); addSlot(out, e, 'else', false); break;
    case 'opaque': for (let i = 0; i < e.parts.length; i++) addSlot(out, e.parts, i, false); break;
    default: break;
  }
}

function addSlot(out: Slot[], holder: object, key: string | number, stmt: boolean): void {
  out.push({ holder: holder as Holder, key, stmt });
}
