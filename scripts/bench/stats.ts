// Small numeric and text-table helpers for the benchmark output.

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Runs fn n times and returns each run's wall time in ms. */
export async function timeRuns(n: number, fn: () => Promise<void> | void): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

/** Decimal megabytes: throughput figures use 1 MB = 10^6 bytes. */
export function mb(bytes: number): number {
  return bytes / 1e6;
}

export function fmtMs(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

export function fmtBytes(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(2)} MB` : `${(bytes / 1e3).toFixed(1)} kB`;
}

/**
 * Plain-text table. `align` has one letter per column, l or r; by default the first column is
 * left-aligned and the rest (numbers) right-aligned.
 */
export function table(head: string[], rows: string[][], align?: string): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const left = (i: number): boolean => (align ? align[i] === 'l' : i === 0);
  const line = (cells: string[]): string => cells
    .map((c, i) => (left(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
    .join('  ')
    .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function passMiss(ok: boolean): string {
  return ok ? 'PASS' : 'MISS';
}

/** Several runs of one measure: what the report prints as min / median / max. */
export interface Spread {
  runs: number[];
  min: number;
  median: number;
  max: number;
}

/** NaN throughout when there are no runs (every run failed): printed as "-". */
export function spread(xs: readonly number[]): Spread {
  const runs = xs.filter((x) => Number.isFinite(x));
  return { runs, min: runs.length ? Math.min(...runs) : NaN, median: median(runs), max: runs.length ? Math.max(...runs) : NaN };
}

/** Table cells min, median, max; one run shows under median only, no run as "-". */
export function spreadCells(s: Spread, fmt: (x: number) => string = fmtMs): string[] {
  if (!s.runs.length) return ['', '-', ''];
  return s.runs.length === 1 ? ['', fmt(s.median), ''] : [fmt(s.min), fmt(s.median), fmt(s.max)];
}

/** Peak RSS figures: KiB from the kernel, printed as decimal MB like the byte sizes above. */
export function kibToMb(kib: number): number {
  return (kib * 1024) / 1e6;
}

/** One of the targets, measured. */
export interface Target {
  name: string;
  /** As printed, with its unit. */
  measured: string;
  /** The figure and the limit it was judged against, where it is one number (for --json). */
  value?: number;
  limit?: number;
  pass: boolean;
}

export function indent(text: string, n = 3): string {
  return text.split('\n').map((l) => ' '.repeat(n) + l).join('\n');
}
