// Sets of patch numbers described in a few words: "2-999999999" rather than a billion numbers.
// Everything here works on the numbers present, never on the span between them, so a subject
// claiming "1/999999999" costs as little as "1/3".

/** An inclusive run of whole numbers. */
export interface IndexRange {
  from: number;
  to: number;
}

/** The runs of consecutive numbers in `values` (any order, duplicates allowed). */
export function rangesOf(values: Iterable<number>): IndexRange[] {
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  const out: IndexRange[] = [];
  for (const v of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && v === last.to + 1) last.to = v;
    else out.push({ from: v, to: v });
  }
  return out;
}

/** The numbers 1..total that `present` lacks, as runs: one run per gap between present numbers. */
export function missingRanges(present: Iterable<number>, total: number): IndexRange[] {
  const out: IndexRange[] = [];
  let next = 1;
  for (const r of rangesOf(present)) {
    if (r.from > total) break;
    if (r.from > next) out.push({ from: next, to: r.from - 1 });
    next = Math.max(next, r.to + 1);
  }
  if (next <= total) out.push({ from: next, to: total });
  return out;
}

/** How many numbers the runs hold. */
export function countOf(ranges: readonly IndexRange[]): number {
  let n = 0;
  for (const r of ranges) n += r.to - r.from + 1;
  return n;
}

/**
 * "1-3, 5, 7-9": at most `limit` runs are written, then "and N more" (N numbers not shown), so
 * a message stays one short line however scattered the numbers are.
 */
export function describeRanges(ranges: readonly IndexRange[], limit = 6): string {
  const shown = ranges.slice(0, limit).map((r) => (r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`));
  const rest = countOf(ranges.slice(limit));
  return rest > 0 ? `${shown.join(', ')} and ${rest} more` : shown.join(', ');
}
