// Applies a partial hunk to a whole function we already know (from the model or an earlier
// patch): statements that start on removed lines leave it, statements that start on added
// lines join it next to the nearest statement both sides share. A refactor that moves a flag
// assignment away and forgets it therefore reads as "the flag is no longer set".
//
// Linear in the hunk and the function: the function's statements are indexed by key once,
// removals are marked, insertions are recorded next to their anchor statement, and every list
// is rebuilt in one pass at the end (splicing as we go made a long hunk quadratic).
import type { FunctionIr, Stmt } from './ir';
import { limitIrDepth } from './irDepth';
import { childBlocks, childLists, stmtKey } from './irKeys';

export interface MergeResult {
  fn: FunctionIr;
  /** Statements we could not match or place, as "line: text" notes for analysis-incomplete. */
  unplaced: { line: number; what: string }[];
}

export function mergeDelta(base: FunctionIr, pre: Stmt[], post: Stmt[], patch: string): MergeResult {
  const fn: FunctionIr = structuredClone(base);
  fn.origin = base.origin === 'model' ? 'series' : base.origin;
  fn.patch = patch;
  const merge = new Merge(fn);

  for (const s of flatten(pre)) {
    if (s.loc.change !== 'removed') continue;
    const at = merge.index.first(merge.key(s));
    if (at) merge.index.remove(at);
    else if (isRelevant(s)) merge.unplaced.push({ line: s.loc.line, what: `removed "${merge.key(s)}" not found in ${base.name}()` });
  }
  merge.insertAdded(post, null);
  merge.apply();
  // a hunk's statement placed deep inside the function can pass the depth bound
  limitIrDepth(fn);
  return { fn, unplaced: merge.unplaced };
}

/** The function's own statements by key, depth first in source order, as the merge found them. */
class StatementIndex {
  private readonly byKey = new Map<string, Stmt[]>();
  /** Per key, how many leading entries are gone (removed, or inside a removed statement). */
  private readonly skipped = new Map<string, number>();
  private readonly parent = new Map<Stmt, Stmt | null>();
  readonly removed = new Set<Stmt>();

  constructor(root: Stmt, key: (s: Stmt) => string) {
    // the root (the function's braces) is not a statement of its own
    const stack: { s: Stmt; parent: Stmt | null }[] = [];
    pushChildren(stack, root, null);
    while (stack.length > 0) {
      const { s, parent } = stack.pop()!;
      this.parent.set(s, parent);
      const k = key(s);
      const list = this.byKey.get(k);
      if (list) list.push(s);
      else this.byKey.set(k, [s]);
      pushChildren(stack, s, s);
    }
  }

  /** The first statement with this key still in the function. */
  first(key: string): Stmt | undefined {
    const list = this.byKey.get(key);
    if (!list) return undefined;
    let i = this.skipped.get(key) ?? 0;
    while (i < list.length && this.gone(list[i])) i++;
    this.skipped.set(key, i);
    return list[i];
  }

  remove(s: Stmt): void {
    this.removed.add(s);
  }

  /** Removed, or inside a removed statement (the walk up is at most MAX_IR_DEPTH long). */
  private gone(s: Stmt): boolean {
    for (let cur: Stmt | null | undefined = s; cur; cur = this.parent.get(cur)) {
      if (this.removed.has(cur)) return true;
    }
    return false;
  }
}

/** Children of a statement, pushed so that they come off the stack in source order (without making branches blocks). */
function pushChildren(stack: { s: Stmt; parent: Stmt | null }[], s: Stmt, parent: Stmt | null): void {
  const lists = childLists(s);
  for (let l = lists.length - 1; l >= 0; l--) {
    const list = lists[l];
    for (let i = list.length - 1; i >= 0; i--) stack.push({ s: list[i], parent });
  }
}

class Merge {
  readonly unplaced: MergeResult['unplaced'] = [];
  readonly index: StatementIndex;
  private readonly keys = new Map<Stmt, string>();
  /** Statements to put right after a statement (the function's or one placed by the hunk). */
  private readonly after = new Map<Stmt, Stmt[]>();
  /** Statements to put right before one of the function's statements. */
  private readonly before = new Map<Stmt, Stmt[]>();
  /** Statements to put at the start of a list, in the order they were placed there. */
  private readonly atStart = new Map<Stmt[], Stmt[]>();
  /** The hunk's statements placed so far: they arrive whole, with nothing to place inside them. */
  private readonly placed = new Set<Stmt>();
  private readonly madeBlocks = new Set<Stmt>();

  constructor(private readonly fn: FunctionIr) {
    this.index = new StatementIndex(fn.body, (s) => this.key(s));
  }

  key(s: Stmt): string {
    let k = this.keys.get(s);
    if (k === undefined) {
      k = stmtKey(s);
      this.keys.set(s, k);
    }
    return k;
  }

  /** Walks the post-image statements; added ones go after their nearest matched neighbour. */
  insertAdded(list: Stmt[], parent: Stmt[] | null): void {
    for (let i = 0; i < list.length; i++) {
      const s = list[i];
      if (s.k === 'block' && s.loc.change !== 'added') {
        // a bare { } around context (the function's own braces in a hunk) is transparent
        this.insertAdded(s.body, parent);
        continue;
      }
      if (s.loc.change !== 'added') {
        // a context statement with children: added statements inside it go into its twin
        const twin = this.index.first(this.key(s));
        if (twin) {
          const mine = childBlocks(s);
          const theirs = childBlocks(twin);
          mine.forEach((m, j) => { if (theirs[j]) this.insertAdded(m, theirs[j]); });
        }
        continue;
      }
      if (this.placeNear(list, i)) continue;
      const start = parent ?? (this.fn.body.k === 'block' ? this.fn.body.body : null);
      if (start) this.place(this.atStart, start, s);
      if (!parent && isRelevant(s)) {
        this.unplaced.push({ line: s.loc.line, what: `added "${this.key(s)}" placed at the start of ${this.fn.name}(): no neighbouring statement matched` });
      }
    }
  }

  /**
   * Puts list[i] after the closest earlier sibling that is in the function (an added one always
   * is, once placed), else before the first later one that is. False when no sibling matched.
   */
  private placeNear(list: Stmt[], i: number): boolean {
    const s = list[i];
    for (let j = i - 1; j >= 0; j--) {
      const prev = list[j];
      const at = prev.loc.change === 'added' ? prev : this.index.first(this.key(prev));
      if (at) { this.place(this.after, at, s); return true; }
    }
    for (let j = i + 1; j < list.length; j++) {
      if (list[j].loc.change === 'added') continue;
      const at = this.index.first(this.key(list[j]));
      if (at) { this.place(this.before, at, s); return true; }
    }
    return false;
  }

  /** Rebuilds every list of the function with its removals and insertions, in one pass. */
  apply(): void {
    const stack: Stmt[] = [this.fn.body];
    while (stack.length > 0) {
      const s = stack.pop()!;
      switch (s.k) {
        case 'block': s.body = this.rebuild(s.body); break;
        case 'if':
          s.then = this.rebuildBranch(s.then);
          if (s.else) s.else = this.rebuildBranch(s.else);
          break;
        case 'loop': s.body = this.rebuildBranch(s.body); break;
        case 'switch': for (const c of s.cases) c.body = this.rebuild(c.body); break;
        default: break;
      }
      // only the function's own statements hold places to fill; placed ones arrive whole, and a
      // block rebuildBranch made holds lists already rebuilt
      for (const list of childLists(s)) {
        for (const x of list) {
          if (this.placed.has(x)) continue;
          if (this.madeBlocks.has(x) && x.k === 'block') for (const y of x.body) { if (!this.placed.has(y)) stack.push(y); }
          else stack.push(x);
        }
      }
    }
  }

  private place<K>(map: Map<K, Stmt[]>, key: K, s: Stmt): void {
    const list = map.get(key);
    if (list) list.push(s);
    else map.set(key, [s]);
    this.placed.add(s);
  }

  private rebuild(list: Stmt[]): Stmt[] {
    const start = this.atStart.get(list);
    const hasWork = start !== undefined || list.some((x) => this.index.removed.has(x) || this.after.has(x) || this.before.has(x));
    if (!hasWork) return list;
    const out: Stmt[] = [];
    // each was put at the start in its turn, so the last one placed comes first
    if (start) for (let i = start.length - 1; i >= 0; i--) this.emit(out, start[i]);
    for (const x of list) {
      if (this.index.removed.has(x)) continue;
      for (const b of this.before.get(x) ?? []) this.emit(out, b);
      this.emit(out, x);
    }
    return out;
  }

  /** A branch (`then`, `else`, a loop body) that is one statement becomes a block when it gains or loses one. */
  private rebuildBranch(s: Stmt): Stmt {
    if (s.k === 'block') return s;
    if (!this.index.removed.has(s) && !this.after.has(s) && !this.before.has(s)) return s;
    const block: Stmt = { k: 'block', body: this.rebuild([s]), loc: s.loc };
    this.madeBlocks.add(block);
    return block;
  }

  /** A statement and what was placed after it, and after those, depth first; iterative. */
  private emit(out: Stmt[], first: Stmt): void {
    const stack = [first];
    while (stack.length > 0) {
      const s = stack.pop()!;
      out.push(s);
      // each was put right after `s` in its turn, so the last one placed comes first: push in order
      for (const next of this.after.get(s) ?? []) stack.push(next);
    }
  }
}

/** Statements in source order, parents before children; a removed statement takes its children with it. Iterative. */
function flatten(list: Stmt[]): Stmt[] {
  const out: Stmt[] = [];
  const stack: Stmt[] = [];
  for (let i = list.length - 1; i >= 0; i--) stack.push(list[i]);
  while (stack.length > 0) {
    const s = stack.pop()!;
    out.push(s);
    if (s.loc.change === 'removed') continue;
    const lists = childBlocks(s);
    for (let l = lists.length - 1; l >= 0; l--) for (let i = lists[l].length - 1; i >= 0; i--) stack.push(lists[l][i]);
  }
  return out;
}

function isRelevant(s: Stmt): boolean {
  return s.k !== 'label' && s.k !== 'break' && s.k !== 'continue' && !(s.k === 'block' && s.body.length === 0);
}
