// A function known only through a hunk: the hunk's post-image, with the code the hunk does not
// show left unknown both ways (it may return, with any value, or go on). Used when the model's
// text of the function does not match the hunk's context and removed lines, so merging would
// put the change in the wrong place or keep a line the patch removes.
import type { Expr, FunctionIr, Loc, Stmt } from './ir';
import { childLists, forEachStmt, stmtKey } from './irKeys';

/** Code the hunk does not show: its condition and value are unknown, so both ways are taken. */
function unseen(loc: Loc, returnsVoid: boolean): Stmt {
  const cond: Expr = { k: 'opaque', text: 'code of this function the hunk does not show', parts: [], loc };
  const value: Expr = { k: 'opaque', text: 'what that code returns', parts: [], loc };
  return { k: 'if', cond, then: { k: 'return', ...(returnsVoid ? {} : { value }), loc }, text: 'if (code the hunk does not show returns)', loc };
}

/**
 * `post` (the hunk's post-image of `base.name`) as a whole function with the signature the
 * model has. The code the hunk does not show is the model's before and after where the hunk's
 * statements sit among the model's (see align), when the hunk starts (ends) on a statement the
 * model has there; otherwise it is unknown both ways: it may return, with any value, or go on.
 */
export function partialFunction(post: FunctionIr, base: FunctionIr, pre: Stmt[], why: string): FunctionIr {
  const shown = post.body.k === 'block' ? post.body.body : [post.body];
  const before: Loc = { ...(shown[0]?.loc ?? post.loc), change: 'context' };
  const after: Loc = { ...post.loc, line: post.endLine, change: 'context' };
  const model = base.body.k === 'block' ? base.body.body : [base.body];
  // a hunk that starts on a statement the model lacks may start with the model's form of what it removes: that code is unknown
  const at = align(topLevel(pre).map(stmtKey), model.map(stmtKey));
  const head = at.lo >= 0 && at.first ? model.slice(0, at.lo) : [unseen(before, base.returnsVoid)];
  const tail = at.hi >= 0 && at.last ? model.slice(at.hi + 1) : [unseen(after, base.returnsVoid)];
  return {
    ...post,
    name: base.name,
    params: base.params,
    returnsVoid: base.returnsVoid,
    truncated: false,
    body: { k: 'block', body: [...head, ...shown, ...tail], loc: post.body.loc },
    partial: why,
  };
}

/**
 * Whether every context and removed statement of the hunk's pre-image is in `base`, in order
 * (the first one that is not, for the note). Statements are compared by their IR key, so
 * whitespace and comments do not matter; a renamed local or a reordered line does.
 */
export function hunkAgrees(base: FunctionIr, pre: Stmt[]): { ok: true } | { ok: false; line: number; text: string } {
  const order: string[] = [];
  forEachStmt(base.body, (s) => { if (s !== base.body) order.push(stmtKey(s)); });
  let at = 0;
  for (const s of flattenShown(pre)) {
    const key = stmtKey(s);
    const found = order.indexOf(key, at);
    if (found < 0) return { ok: false, line: s.loc.line, text: key };
    at = found + 1;
  }
  return { ok: true };
}

/** The hunk's statements as siblings: bare braces around context are transparent; labels and jumps carry no place. */
function topLevel(list: Stmt[]): Stmt[] {
  const out: Stmt[] = [];
  const visit = (s: Stmt) => {
    if (s.k === 'block' && s.loc.change !== 'removed') { s.body.forEach(visit); return; }
    if (s.k !== 'label' && s.k !== 'break' && s.k !== 'continue') out.push(s);
  };
  list.forEach(visit);
  return out;
}

/**
 * Where the hunk's statements sit among the model's: from each start, the hunk's keys matched
 * in order (a key the model lacks is passed over); the start matching most, then the narrowest
 * span, wins. `first`/`last`: whether the hunk's first and last statements are among the matched.
 */
function align(hunk: string[], model: string[]): { lo: number; hi: number; first: boolean; last: boolean } {
  let best = { matched: 0, lo: -1, hi: -1, first: false, last: false };
  for (let start = 0; start < model.length; start++) {
    let at = start;
    let matched = 0;
    let lo = -1;
    let hi = -1;
    let first = false;
    let last = false;
    hunk.forEach((k, i) => {
      const found = model.indexOf(k, at);
      if (found < 0) return;
      if (lo < 0) lo = found;
      hi = found;
      at = found + 1;
      matched++;
      if (i === 0) first = true;
      if (i === hunk.length - 1) last = true;
    });
    if (matched > best.matched || (matched === best.matched && matched > 0 && hi - lo < best.hi - best.lo)) best = { matched, lo, hi, first, last };
  }
  return best;
}

/** A line as compared: surrounding blanks dropped, inner runs of blanks as one space. */
function normal(line: string): string {
  return line.trim().replace(/\s+/g, ' ');
}

/**
 * Whether the first line of every context and removed statement of the hunk is a line of the
 * function's text, in order (`lineText` gives a patch line's text). Comparing text rather than
 * lowered statements: in a hunk a local's declaration may be out of view, so the same line can
 * lower differently there.
 */
export function textAgrees(text: readonly string[], pre: Stmt[], lineText: (patchLine: number) => string | undefined): { ok: true } | { ok: false; line: number; text: string } {
  const lines = text.map(normal);
  let at = 0;
  for (const s of flattenShown(pre)) {
    const want = lineText(s.loc.line);
    if (want === undefined) continue;
    const found = lines.indexOf(normal(want), at);
    if (found < 0) return { ok: false, line: s.loc.line, text: want.trim() };
    at = found + 1;
  }
  return { ok: true };
}

/**
 * The function's text after the hunk: each context or removed line is looked for from where the
 * last one was found (a removed one is dropped), each added line goes in after it. Lines the
 * text does not have (a comment the hunk shows differently) are passed over.
 */
export function applyHunkText(text: readonly string[], hunk: readonly { kind: 'context' | 'added' | 'removed'; text: string }[]): string[] {
  const out = [...text];
  const lines = out.map(normal);
  let at = 0;
  for (const l of hunk) {
    if (l.kind === 'added') { out.splice(at, 0, l.text); lines.splice(at, 0, normal(l.text)); at++; continue; }
    const found = lines.indexOf(normal(l.text), at);
    if (found < 0) continue;
    if (l.kind === 'removed') { out.splice(found, 1); lines.splice(found, 1); at = found; } else at = found + 1;
  }
  return out;
}

/** The hunk's statements in source order, parents first; a removed statement's children go with it; bare braces are transparent. */
function flattenShown(list: Stmt[]): Stmt[] {
  const out: Stmt[] = [];
  const visit = (s: Stmt) => {
    if (s.k === 'block' && s.loc.change !== 'removed') { s.body.forEach(visit); return; }
    if (s.k === 'label' || s.k === 'break' || s.k === 'continue') return;
    out.push(s);
    if (s.loc.change === 'removed') return;
    for (const list of childLists(s)) list.forEach(visit);
  };
  list.forEach(visit);
  return out;
}
