// Kernel-tree mode as a user meets it: `kvm-lens check --tree DIR` in a new process. Cold runs
// get a fresh, empty XDG_CACHE_HOME; the cached run repeats the command with the same one.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleStamp } from './buildState';
import { describeFailure, runNode, type ProcessRun } from './processRun';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'kvm-lens.js');

export interface CliRun {
  wallMs: number;
  maxRssKiB?: number;
  /** From the JSON report's stats. */
  ms: { read: number; parse: number; summarize: number; simulate: number };
  states: number;
  /** Findings other than notes (severity info). */
  findings: number;
  /** Whether the report says it came from the cache (`"cached": true` in its stats). */
  cached: boolean;
  exitCode: number | null;
}

export interface ColdCachedRun {
  cold: CliRun | string;
  cached: CliRun | string;
  /**
   * Another analysis of the same tree (other options, so the report is not cached): the tree's
   * lowered files come from the cache. Run twice, as a file is stored the second time it is seen.
   */
  seenTree: CliRun | string;
  /** dist/ changed while the pair ran: the cached run looked under another code version's key. */
  rebuilt: boolean;
}

interface JsonStats { stats?: { statesExplored?: number; cached?: boolean; ms?: CliRun['ms'] }; findings?: { severity: string }[] }

async function checkOnce(tree: string, cacheHome: string, work: string, label: string, extra: string[] = []): Promise<CliRun | string> {
  const out = join(work, `${label}.json`);
  const run: ProcessRun = await runNode([CLI, 'check', '--tree', tree, '--format', 'json', '-o', out, ...extra], {
    cwd: ROOT, env: { XDG_CACHE_HOME: cacheHome }, timeoutMs: 20 * 60_000,
  });
  // 0: no error finding, 1: error findings; both are complete reports.
  if (run.code !== 0 && run.code !== 1) return describeFailure(`kvm-lens check --tree (${label})`, run);
  let text: string;
  try { text = readFileSync(out, 'utf8'); } catch { return `kvm-lens check --tree (${label}) wrote no ${out}`; }
  let report: JsonStats;
  try { report = JSON.parse(text) as JsonStats; } catch { return `kvm-lens check --tree (${label}) wrote unparsable JSON`; }
  const ms = report.stats?.ms ?? { read: NaN, parse: NaN, summarize: NaN, simulate: NaN };
  return {
    wallMs: run.wallMs, maxRssKiB: run.maxRssKiB, ms,
    states: report.stats?.statesExplored ?? NaN,
    findings: (report.findings ?? []).filter((f) => f.severity !== 'info').length,
    // grep, not just the typed field: wherever the CLI puts it, the report must say so
    cached: /"cached"\s*:\s*true/.test(text),
    exitCode: run.code,
  };
}

/**
 * One cold run (new empty cache), one cached run (same cache), then two runs whose options differ
 * (a work budget far above what the audit uses: the key changes, the analysis does not), the
 * second of which reads the lowered files the first stored.
 */
export async function coldThenCached(tree: string): Promise<ColdCachedRun> {
  const work = mkdtempSync(join(tmpdir(), 'kvm-lens-bench-cli-'));
  const cacheHome = join(work, 'xdg-cache');
  mkdirSync(cacheHome); // exists and is empty: a cold run
  try {
    const before = bundleStamp();
    const cold = await checkOnce(tree, cacheHome, work, 'cold');
    const cached = await checkOnce(tree, cacheHome, work, 'cached');
    await checkOnce(tree, cacheHome, work, 'store-lowered', ['--budget-work', '200000001']);
    const seenTree = await checkOnce(tree, cacheHome, work, 'seen-tree', ['--budget-work', '200000002']);
    return { cold, cached, seenTree, rebuilt: bundleStamp() !== before };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
