// End-to-end analysis runs through the public core API, the way the CLI calls it.
import { analyzeSeries, DEFAULT_OPTIONS } from '../../extension/core/analysis/analyzeSeries';
import { buildFragment } from '../../extension/core/parse/hunkFragments';
import { readSeries } from '../../extension/core/series/seriesReader';
import type { Series } from '../../extension/core/series/types';
import { median } from './stats';

export interface RunMeasure {
  read: number;
  parse: number;
  summarize: number;
  simulate: number;
  /** read + parse + summarize + simulate, as the report's stats add up. */
  total: number;
  /** Wall clock around readSeries + analyzeSeries: also model load, findings, WASM init when cold. */
  wall: number;
  states: number;
  patches: number;
  findings: number;
  problems: number;
}

export async function analyseOnce(inputs: string[]): Promise<RunMeasure> {
  const t0 = performance.now();
  const series = await readSeries(inputs);
  const readMs = performance.now() - t0;
  const report = await analyzeSeries(series, DEFAULT_OPTIONS, readMs);
  const wall = performance.now() - t0;
  const { ms } = report.stats;
  return {
    read: ms.read, parse: ms.parse, summarize: ms.summarize, simulate: ms.simulate,
    total: ms.read + ms.parse + ms.summarize + ms.simulate,
    wall, states: report.stats.statesExplored, patches: report.stats.patches,
    findings: report.findings.length, problems: series.problems.length,
  };
}

/** Field-wise median: each column is the median of that column, not one representative run. */
export function medianRun(runs: readonly RunMeasure[]): RunMeasure {
  const m = (k: keyof RunMeasure): number => median(runs.map((r) => r[k]));
  return {
    read: m('read'), parse: m('parse'), summarize: m('summarize'), simulate: m('simulate'), total: m('total'),
    wall: m('wall'), states: m('states'), patches: m('patches'), findings: m('findings'), problems: m('problems'),
  };
}

/** Same test as the analysis (codeBase.ts): only .c/.h diffs are parsed. */
const C_FILE = /\.(c|h)$/;

export interface FragmentSet {
  texts: string[];
  hunks: number;
  bytes: number;
  /** Patches with at least one C hunk: at most this many re-simulations after the model's own. */
  patchesWithC: number;
}

/** Every pre- and post-image fragment the analysis parses for this series. */
export function seriesFragments(series: Series): FragmentSet {
  const texts: string[] = [];
  let hunks = 0;
  let patchesWithC = 0;
  for (const patch of series.patches) {
    let hasC = false;
    for (const diff of patch.diffs) {
      const path = diff.newPath ?? diff.oldPath ?? '';
      if (diff.binary || !C_FILE.test(path)) continue;
      for (const hunk of diff.hunks) {
        hasC = true;
        hunks++;
        texts.push(buildFragment(hunk, 'post').text, buildFragment(hunk, 'pre').text);
      }
    }
    if (hasC) patchesWithC++;
  }
  return { texts, hunks, bytes: texts.reduce((n, t) => n + Buffer.byteLength(t), 0), patchesWithC };
}

export interface PatchCost {
  index: number;
  subject: string;
  /** Marginal cost of this patch: analysis of patches 1..k minus analysis of 1..k-1. */
  parseMs: number;
  simulateMs: number;
  /** States its re-simulation explored; 0 when the analysis reused the previous result. */
  states: number;
}

export interface PerPatch {
  /** The model alone (the prefix of no patches). */
  model: { simulateMs: number; states: number };
  patches: PatchCost[];
}

/**
 * Per-patch cost without reaching into the core's internals: analyse every prefix of the
 * series (median of `reps`) and take differences. States are exact (each re-simulation adds
 * its count); times are differences of medians, so small ones are noise.
 */
export async function perPatchCosts(series: Series, reps: number): Promise<PerPatch> {
  const prefix: { parse: number; simulate: number; states: number }[] = [];
  for (let k = 0; k <= series.patches.length; k++) {
    const sub: Series = { ...series, patches: series.patches.slice(0, k) };
    const runs: { parse: number; simulate: number; states: number }[] = [];
    for (let r = 0; r < reps; r++) {
      const rep = await analyzeSeries(sub, DEFAULT_OPTIONS, 0);
      runs.push({ parse: rep.stats.ms.parse + rep.stats.ms.summarize, simulate: rep.stats.ms.simulate, states: rep.stats.statesExplored });
    }
    prefix.push({ parse: median(runs.map((x) => x.parse)), simulate: median(runs.map((x) => x.simulate)), states: runs[0]!.states });
  }
  return {
    model: { simulateMs: prefix[0]!.simulate, states: prefix[0]!.states },
    patches: series.patches.map((p, i) => ({
      index: i + 1,
      subject: p.title,
      parseMs: prefix[i + 1]!.parse - prefix[i]!.parse,
      simulateMs: prefix[i + 1]!.simulate - prefix[i]!.simulate,
      states: prefix[i + 1]!.states - prefix[i]!.states,
    })),
  };
}

export { readSeries };
