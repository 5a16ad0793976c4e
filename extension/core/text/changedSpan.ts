// Where two versions of a text differ, as one span: what an editor's edit replaced. Both the
// incremental parse and the incremental blanking start from it.

/** `a` and `b` agree before `start` and after `endA` in `a` (`endB` in `b`). */
export interface ChangedSpan { start: number; endA: number; endB: number }

/** The span between the common prefix and the common suffix of `a` and `b` (empty when they are equal). */
export function changedSpan(a: string, b: string): ChangedSpan {
  let start = 0;
  const max = Math.min(a.length, b.length);
  while (start < max && a.charCodeAt(start) === b.charCodeAt(start)) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a.charCodeAt(endA - 1) === b.charCodeAt(endB - 1)) { endA--; endB--; }
  return { start, endA, endB };
}
