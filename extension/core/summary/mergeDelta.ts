// Applies a partial hunk to a whole function we already know (from the model or an earlier
// patch): statements that start on removed lines leave it, statements that start on added
// lines join it next to the nearest statement both sides share. A refactor that moves a flag
// assignment away and forgets it therefore reads as "the flag is no longer set".
import type { FunctionIr, Stmt } from './ir';
import { childBlocks, stmtKey } from './irKeys';

export interface MergeResult {
  fn: FunctionIr;
  /** Statements we could not match or place, as "line: text" notes for analysis-incomplete. */
  unplaced: { line: number; what: string }[];
}

interface Place { list: Stmt[]; index: number }

export function mergeDelta(base: FunctionIr, pre: Stmt[], post: Stmt[], patch: string): MergeResult {
  const fn: FunctionIr = structuredClone(base);
  fn.origin = base.origin === 'model' ? 'series' : base.origin;
  fn.patch = patch;
  const unplaced: MergeResult['unplaced'] = [];

  for (const s of flatten(pre)) {
    if (s.loc.change !== 'removed') continue;
    const at = find(fn.body, stmtKey(s));
    if (at) at.list.splice(at.index, 1);
    else if (isRelevant(s)) unplaced.push({ line: s.loc.line, what: `removed "${stmtKey(s)}" not found in ${base.name}()` });
  }
  insertAdded(fn, post, null, unplaced);
  return { fn, unplaced };
}

/** Walks the post-image statements; added ones go after their nearest matched neighbour. */
function insertAdded(fn: FunctionIr, list: Stmt[], parent: Stmt[] | null, unplaced: MergeResult['unplaced']): void {
  for (let i = 0; i < list.length; i++) {
    const s = list[i];
    if (s.k === 'block' && s.loc.change !== 'added') {
      // a bare { } around context (the function's own braces in a hunk) is transparent
      insertAdded(fn, s.body, parent, unplaced);
      continue;
    }
    if (s.loc.change !== 'added') {
      // a context statement with children: added statements inside it go into its model twin
      const twin = find(fn.body, stmtKey(s));
      if (twin) {
        const twinStmt = twin.list[twin.index];
        const mine = childBlocks(s);
        const theirs = childBlocks(twinStmt);
        mine.forEach((m, j) => { if (theirs[j]) insertAdded(fn, m, theirs[j], unplaced); });
      }
      continue;
    }
    const place = anchor(fn, list, i) ?? (parent ? { list: parent, index: 0 } : null);
    if (place) place.list.splice(place.index, 0, s);
    else {
      const body = fn.body.k === 'block' ? fn.body.body : null;
      body?.unshift(s);
      if (isRelevant(s)) unplaced.push({ line: s.loc.line, what: `added "${stmtKey(s)}" placed at the start of ${fn.name}(): no neighbouring statement matched` });
    }
  }
}

/** Where to insert list[i]: after the closest earlier matched sibling, else before a later one. */
function anchor(fn: FunctionIr, list: Stmt[], i: number): Place | null {
  for (let j = i - 1; j >= 0; j--) {
    const at = find(fn.body, stmtKey(list[j]));
    if (at) return { list: at.list, index: at.index + 1 };
  }
  for (let j = i + 1; j < list.length; j++) {
    if (list[j].loc.change === 'added') continue;
    const at = find(fn.body, stmtKey(list[j]));
    if (at) return at;
  }
  return null;
}

/** First statement with this key, depth first, in source order. */
function find(root: Stmt, key: string): Place | null {
  for (const list of childBlocks(root)) {
    for (let i = 0; i < list.length; i++) {
      if (stmtKey(list[i]) === key) return { list, index: i };
      const inner = find(list[i], key);
      if (inner) return inner;
    }
  }
  return null;
}

/** Statements in source order, parents before children; a removed statement takes its children with it. */
function flatten(list: Stmt[]): Stmt[] {
  const out: Stmt[] = [];
  for (const s of list) {
    out.push(s);
    if (s.loc.change === 'removed') continue;
    for (const child of childBlocks(s)) out.push(...flatten(child));
  }
  return out;
}

function isRelevant(s: Stmt): boolean {
  return s.k !== 'label' && s.k !== 'break' && s.k !== 'continue' && !(s.k === 'block' && s.body.length === 0);
}
