// Performance benchmark for the analysis core (npm run bench [-- --json] [-- --runs N]).
// 1. A generated 35-patch series analysed end to end, cold and warm, from a directory and an
//    mbox; the same patches through `kvm-lens check` in a new process and through checkpatch.pl.
// 2. Raw tree-sitter throughput on ~2 MB of kernel-style C and, when available, Linux 6.12 KVM.
// 3. Analysis time against a raw parse of the very fragments the analysis parses.
// 4. Per kernel tree (Linux 6.12 and 7.3 by default, --versions, or --tree DIR): raw parse, cold
//    and cached `kvm-lens check --tree`, the editor worker's memory, warm edits (issue 10).
// Targets are printed with PASS/MISS; the script exits 0 either way (it measures, it does not gate).
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { analyseOnce, medianRun, perPatchCosts, readSeries, seriesFragments, type PerPatch, type RunMeasure } from './bench/analysis';
import { build, distStaleness } from './bench/buildState';
import { checkpatchOnce, CHECKPATCH_VERSION, findCheckpatch, type CheckpatchRun } from './bench/checkpatch';
import { DEFAULT_VERSIONS, resolveVersions, type TreeTarget } from './bench/kernelTrees';
import { findKernelFiles, measureParse, measureParseMany, syntheticC, type ParseMeasure } from './bench/parse';
import { BENCH_PATCHES, generateSeries, MODEL_DIR } from './bench/series';
import { seriesCheckOnce, type SeriesProcessRun } from './bench/seriesProcess';
import { fmtBytes, fmtMs, indent, spread, spreadCells, table, type Spread, type Target } from './bench/stats';
import { renderTargets, renderTreeFigures } from './bench/treeReport';
import { benchTreeFigures, type TreeFigures } from './bench/treeSuite';
import { kernelTreeFromEnvOrDebian } from '../extension/core/tree/sourceTarball';

const TARBALL = '/usr/src/linux-source-6.12.tar.xz';
/** Stated in the issue: the whole series in under a second, analysis within 2x a raw parse. */
const TARGET_SERIES_MS = 1000;
const TARGET_RATIO = 2;
const SYNTHETIC_BYTES = 2_000_000;
/** A 7.3 cold audit takes tens of seconds: a few runs, not many, by default. */
const DEFAULT_RUNS = 3;

interface Options {
  json: boolean;
  perPatch: boolean;
  runs: number;
  ignored: string[];
  /** --tree DIR: only this kernel tree, no series ("" = $KVM_LENS_KERNEL_TREE or the newest Debian tarball). */
  tree?: string;
  versions: string[];
  /** --build: rebuild dist/ first, so the process figures run the current sources. */
  build: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { json: false, perPatch: false, runs: DEFAULT_RUNS, ignored: [], versions: DEFAULT_VERSIONS, build: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') o.json = true;
    else if (a === '--per-patch') o.perPatch = true;
    else if (a === '--build') o.build = true;
    else if (a === '--runs' && /^\d+$/.test(argv[i + 1] ?? '')) o.runs = Math.max(1, Number(argv[++i]));
    else if (a === '--versions' && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) o.versions = argv[++i]!.split(',').map((v) => v.trim()).filter(Boolean);
    else if (a === '--help' || a === '-h') {
      process.stdout.write(`usage: npm run bench -- [--json] [--runs N] [--versions 6.12,7.3] [--tree [DIR]] [--per-patch] [--build]
  --runs N          runs of each measure (default ${DEFAULT_RUNS}); min / median / max are printed
  --versions LIST   Linux versions to measure from installed linux-source tarballs (default ${DEFAULT_VERSIONS.join(',')})
  --tree [DIR]      measure only this kernel tree (no series); without DIR, $KVM_LENS_KERNEL_TREE or the newest /usr/src tarball
  --build           run scripts/build.mjs first (cold, cached and worker figures run dist/)
  --json            the same figures as one JSON document on stdout (progress on stderr)
  env KVM_LENS_BENCH_TREE=DIR: a kernel tree (with arch/x86/kvm/x86.c) for the real-source parse
`);
      process.exit(0);
    } else if (a === '--tree') o.tree = argv[i + 1] && !argv[i + 1]!.startsWith('--') ? argv[++i]! : '';
    else o.ignored.push(a);
  }
  return o;
}

interface SeriesSection {
  patches: number;
  files: number;
  bytes: number;
  patchesWithC: number;
  findings: number;
  problems: number;
  dir: { cold: RunMeasure; warm: RunMeasure; warmRuns: RunMeasure[] };
  mbox: { first: RunMeasure; warm: RunMeasure; warmRuns: RunMeasure[] };
  perPatch?: PerPatch;
  /** The 35 patches (no cover letter) in one new process each: ours and checkpatch.pl's. */
  process: { kvmLens: Spread; kvmLensRuns: SeriesProcessRun[]; checkpatch?: Spread; checkpatchRuns: CheckpatchRun[]; checkpatchSource?: string };
}

interface RatioSection {
  hunks: number;
  fragments: number;
  fragmentBytes: number;
  rawParsePerFragmentMs: number;
  rawParseConcatenated: ParseMeasure;
  analysisParseMs: number;
  analysisMs: number;
  ratio: number;
}

interface Machine { cpus: number; model: string; node: string; platform: string; loadavg1m: number }

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const notes: string[] = [];
  // Progress and notes go to stderr as they happen (a full run takes minutes); in --json mode
  // stdout stays one JSON document.
  const progress = (msg: string): void => { process.stderr.write(`bench: ${msg}\n`); };
  const log = (msg: string): void => {
    notes.push(msg);
    if (opts.json) process.stderr.write(`note: ${msg}\n`);
  };
  if (opts.ignored.length) log(`ignoring unknown argument(s): ${opts.ignored.join(' ')}`);

  const cpus = os.cpus();
  // Load average matters here: other processes on a 2-core box show up directly in the figures.
  const machine: Machine = {
    cpus: cpus.length, model: cpus[0]?.model.trim() ?? 'unknown', node: process.version,
    platform: `${process.platform} ${process.arch}`, loadavg1m: os.loadavg()[0]!,
  };

  if (opts.build) { progress('building dist/ (scripts/build.mjs)'); build(); }
  const stale = distStaleness();
  if (stale) log(stale);

  // Trees first resolved (so a missing one is said early), measured after the series: the
  // series' cold run must be the first parse in this process.
  let trees: TreeTarget[] = [];
  const skipped: string[] = [];
  if (opts.tree !== undefined) {
    const dir = opts.tree || await kernelTreeFromEnvOrDebian();
    if (!dir) skipped.push('--tree: no kernel tree given, no $KVM_LENS_KERNEL_TREE and no Debian linux-source tarball in /usr/src');
    else trees = [{ label: 'kernel tree', dir }];
  } else {
    const r = await resolveVersions(opts.versions);
    trees = r.trees;
    skipped.push(...r.skipped);
  }
  for (const s of skipped) progress(s);

  let seriesPart: { series: SeriesSection; synthetic: ParseMeasure; kernel: ParseMeasure[]; kernelSource?: string; ratio: RatioSection; targets: Target[] } | undefined;
  if (opts.tree === undefined) seriesPart = await benchSeries(opts, log, progress);

  const treeFigures: TreeFigures[] = [];
  for (const t of trees) treeFigures.push(await benchTreeFigures(t.label, t.dir, opts.runs, progress));

  if (opts.json) {
    const series = seriesPart ? { series: seriesPart.series, parse: { synthetic: seriesPart.synthetic, kernel: seriesPart.kernel, kernelSource: seriesPart.kernelSource ?? null }, ratio: seriesPart.ratio, targets: seriesPart.targets } : null;
    process.stdout.write(JSON.stringify({ machine, runs: opts.runs, ...(series ?? {}), trees: treeFigures, skipped, notes }, null, 2) + '\n');
    return;
  }
  const out: string[] = [];
  out.push('KVM Patch Lens benchmark');
  out.push(`machine: ${machine.cpus} CPUs, ${machine.model}, node ${machine.node}, ${machine.platform}, load average ${machine.loadavg1m.toFixed(2)} (1 min)`);
  out.push(`runs: ${opts.runs}; process figures run bin/kvm-lens.js and dist/analysisWorker.js (the last build), in-process figures the sources`);
  for (const n of notes) out.push(`note: ${n}`);
  if (seriesPart) out.push(renderSeries(seriesPart.series, seriesPart.synthetic, seriesPart.kernel, seriesPart.kernelSource, seriesPart.ratio, seriesPart.targets));
  treeFigures.forEach((f, i) => out.push('', `${(seriesPart ? 4 : 1) + i}. ${renderTreeFigures(f)}`.trimEnd()));
  for (const s of skipped) out.push('', s);
  process.stdout.write(out.join('\n') + '\n');
}

async function benchSeries(opts: Options, log: (msg: string) => void, progress: (msg: string) => void) {
  // ---- 1. the series: generated with git first, so the cold run is the first parseC in the process
  progress(`series: generating ${BENCH_PATCHES.length} patches with git, analysing them in this process`);
  const gen = generateSeries();
  try {
    const cold = await analyseOnce([gen.patchDir]);
    const warmRuns: RunMeasure[] = [];
    for (let i = 0; i < opts.runs; i++) warmRuns.push(await analyseOnce([gen.patchDir]));
    const mboxFirst = await analyseOnce([gen.mbox]);
    const mboxRuns: RunMeasure[] = [];
    for (let i = 0; i < opts.runs; i++) mboxRuns.push(await analyseOnce([gen.mbox]));

    const series = await readSeries([gen.patchDir]);
    const frags = seriesFragments(series);
    if (cold.patches !== BENCH_PATCHES.length || series.problems.length) log(`the generated series read as ${cold.patches} patches with ${series.problems.length} input problem(s)`);
    if (mboxFirst.patches !== cold.patches) log(`the mbox read as ${mboxFirst.patches} patches, the directory as ${cold.patches}`);

    // The patches alone, as one would hand them to checkpatch.pl (the cover letter has no diff).
    const patchesOnly = gen.patchFiles.filter((f) => !/\/0000-cover-letter\.patch$/.test(f));
    progress('series: kvm-lens check and checkpatch.pl, one new process each per run');
    const kvmLensRuns: SeriesProcessRun[] = [];
    const checkpatchRuns: CheckpatchRun[] = [];
    const cp = findCheckpatch(log);
    if (typeof cp === 'string') log(cp);
    for (let i = 0; i < opts.runs; i++) {
      const r = await seriesCheckOnce(patchesOnly);
      if (typeof r === 'string') log(r); else kvmLensRuns.push(r);
      if (typeof cp !== 'string') checkpatchRuns.push(await checkpatchOnce(cp, patchesOnly));
    }

    const seriesSection: SeriesSection = {
      patches: cold.patches, files: gen.patchFiles.length, bytes: gen.bytes, patchesWithC: frags.patchesWithC,
      findings: cold.findings, problems: cold.problems,
      dir: { cold, warm: medianRun(warmRuns), warmRuns },
      mbox: { first: mboxFirst, warm: medianRun(mboxRuns), warmRuns: mboxRuns },
      process: {
        kvmLens: spread(kvmLensRuns.map((r) => r.wallMs)), kvmLensRuns,
        checkpatch: typeof cp === 'string' ? undefined : spread(checkpatchRuns.map((r) => r.wallMs)), checkpatchRuns,
        checkpatchSource: typeof cp === 'string' ? undefined : `${cp.script} (from ${cp.tarball})`,
      },
    };

    // ---- 2. raw parse throughput
    progress('raw parse throughput');
    const modelC = readdirSync(MODEL_DIR).filter((f) => f.endsWith('.c')).sort().map((f) => readFileSync(join(MODEL_DIR, f), 'utf8'));
    const synthetic = await measureParse('synthetic kernel-style C', syntheticC([...modelC, ...gen.finalC], SYNTHETIC_BYTES), opts.runs);
    const kernel: ParseMeasure[] = [];
    let kernelSource: string | undefined;
    const found = findKernelFiles(TARBALL, log);
    if (typeof found === 'string') log(`real-source parse skipped: ${found}`);
    else {
      kernelSource = found.source;
      for (const f of found.files) kernel.push(await measureParse(f.path, f.text, opts.runs));
      if (kernel.length > 1) {
        kernel.push(await measureParse('all of the above, one text', found.files.map((f) => f.text).join('\n'), opts.runs));
      }
    }

    // ---- 3. analysis vs raw parse of the same fragments
    const warm = seriesSection.dir.warm;
    const rawPerFragment = await measureParseMany(frags.texts, opts.runs);
    const rawConcat = await measureParse('fragments, concatenated', frags.texts.join('\n'), opts.runs);
    const analysisMs = warm.parse + warm.summarize + warm.simulate;
    const ratio: RatioSection = {
      hunks: frags.hunks, fragments: frags.texts.length, fragmentBytes: frags.bytes,
      rawParsePerFragmentMs: rawPerFragment, rawParseConcatenated: rawConcat,
      analysisParseMs: warm.parse, analysisMs, ratio: analysisMs / rawPerFragment,
    };

    const perPatch = opts.perPatch ? await perPatchCosts(series, Math.min(3, opts.runs)) : undefined;
    if (perPatch) seriesSection.perPatch = perPatch;

    const ms = (x: number): string => (Number.isFinite(x) ? `${fmtMs(x)} ms` : '-');
    const targets: Target[] = [
      { name: `35-patch series analysed in < ${TARGET_SERIES_MS} ms (warm median total)`, measured: ms(warm.total), value: warm.total, limit: TARGET_SERIES_MS, pass: warm.total < TARGET_SERIES_MS },
      { name: `35-patch series analysed in < ${TARGET_SERIES_MS} ms (cold, first run in this process, wall)`, measured: ms(cold.wall), value: cold.wall, limit: TARGET_SERIES_MS, pass: cold.wall < TARGET_SERIES_MS },
      { name: `35-patch series analysed in < ${TARGET_SERIES_MS} ms (kvm-lens check, new process, median wall)`, measured: ms(seriesSection.process.kvmLens.median), value: seriesSection.process.kvmLens.median, limit: TARGET_SERIES_MS, pass: seriesSection.process.kvmLens.median < TARGET_SERIES_MS },
    ];
    const cpMs = seriesSection.process.checkpatch?.median;
    if (cpMs !== undefined) {
      targets.push(
        { name: 'series faster than checkpatch.pl: kvm-lens check vs checkpatch.pl, one new process each (medians)', measured: `${ms(seriesSection.process.kvmLens.median)} vs ${ms(cpMs)}`, value: seriesSection.process.kvmLens.median, limit: cpMs, pass: seriesSection.process.kvmLens.median < cpMs },
        { name: 'series faster than checkpatch.pl: warm in-process analysis vs checkpatch.pl (medians)', measured: `${ms(warm.total)} vs ${ms(cpMs)}`, value: warm.total, limit: cpMs, pass: warm.total < cpMs },
      );
    }
    targets.push({ name: `analysis <= ${TARGET_RATIO}x raw parse of the same text`, measured: `${ratio.ratio.toFixed(1)}x`, value: ratio.ratio, limit: TARGET_RATIO, pass: ratio.ratio <= TARGET_RATIO });
    return { series: seriesSection, synthetic, kernel, kernelSource, ratio, targets };
  } finally {
    rmSync(gen.root, { recursive: true, force: true });
  }
}

function renderSeries(
  s: SeriesSection, synthetic: ParseMeasure, kernel: ParseMeasure[], kernelSource: string | undefined,
  r: RatioSection, targets: Target[],
): string {
  const out: string[] = [];
  out.push('', `1. ${s.patches}-patch series, end to end (ms)`);
  out.push(`   ${s.files} mails (cover letter + ${s.patches} patches), ${fmtBytes(s.bytes)}; ${s.patchesWithC} patches have C hunks; ${s.findings} findings, ${s.problems} input problems`);
  const row = (input: string, run: string, m: RunMeasure): string[] =>
    [input, run, fmtMs(m.read), fmtMs(m.parse), fmtMs(m.summarize), fmtMs(m.simulate), fmtMs(m.total), fmtMs(m.wall), String(m.states)];
  const runs = s.dir.warmRuns.length;
  out.push(indent(table(['input', 'run', 'read', 'parse', 'summarize', 'simulate', 'total', 'wall', 'states'], [
    row('directory', 'cold (1st)', s.dir.cold),
    row('directory', `warm median/${runs}`, s.dir.warm),
    row('mbox', 'first', s.mbox.first),
    row('mbox', `warm median/${runs}`, s.mbox.warm),
  ])));
  const w = s.dir.warm;
  const share = (x: number): string => `${((100 * x) / w.total).toFixed(0)}%`;
  out.push(`   warm split: read ${share(w.read)}, parse ${share(w.parse)}, summarize ${share(w.summarize)}, simulate ${share(w.simulate)}`);
  out.push(`   simulate per run: ~${fmtMs(w.simulate / (s.patchesWithC + 1))} ms (${fmtMs(w.simulate)} ms over at most ${s.patchesWithC + 1} explorations: the model + each patch with C)`);
  out.push(`   total = read + parse + summarize + simulate; wall also counts model load, findings and (cold) WASM init`);
  const warmTotals = spread(s.dir.warmRuns.map((m) => m.total));
  out.push('', `   the ${s.patches} patch files (no cover letter), one new process each, wall ms over ${runs} runs:`);
  out.push(indent(table(['measure', 'min', 'median', 'max'], [
    ['kvm-lens check --no-cache (node start-up, WASM load, analysis)', ...spreadCells(s.process.kvmLens)],
    [`perl checkpatch.pl --no-tree -q (Linux ${CHECKPATCH_VERSION})`, ...(s.process.checkpatch ? spreadCells(s.process.checkpatch) : ['', 'not run', ''])],
    ['warm in-process analysis total (no start-up), for comparison', ...spreadCells(warmTotals)],
  ]), 6));
  if (s.process.checkpatchSource) {
    const last = s.process.checkpatchRuns[s.process.checkpatchRuns.length - 1];
    out.push(`      checkpatch.pl: ${s.process.checkpatchSource}; exit status ${last?.exitCode}, ${last?.outputLines ?? 0} lines of warnings`);
  }
  if (s.perPatch) {
    const pp = s.perPatch;
    const explored = pp.patches.filter((p) => p.states > 0);
    const simSum = pp.model.simulateMs + explored.reduce((n, p) => n + p.simulateMs, 0);
    out.push('', '   per patch: analysis of patches 1..k minus 1..k-1 (states exact; ms are differences of medians, so noisy)');
    out.push(`   model alone: ${fmtMs(pp.model.simulateMs)} ms, ${pp.model.states} states; ${explored.length} of ${pp.patches.length} patches re-simulate, ~${fmtMs(simSum / (explored.length + 1))} ms per exploration`);
    out.push(indent(table(['#', 'parse+sum ms', 'simulate ms', 'states', 'subject'], pp.patches.map((p) => [
      String(p.index), fmtMs(p.parseMs), fmtMs(p.simulateMs), String(p.states), p.subject.slice(0, 64),
    ]), 'lrrrl')));
  }

  out.push('', '2. Raw tree-sitter parse throughput (parseC, median; MB = 10^6 bytes)');
  const prow = (p: ParseMeasure): string[] => [p.label, fmtBytes(p.bytes), fmtMs(p.ms), p.mbPerS.toFixed(2), p.hasError ? 'yes' : 'no'];
  out.push(indent(table(['text', 'size', 'ms', 'MB/s', 'ERROR nodes'], [prow(synthetic), ...kernel.map(prow)])));
  out.push('   ERROR nodes: kernel-isms without a preprocessor (__user, kvm_for_each_vcpu() { ... }); the parse still completes');
  if (kernelSource) out.push(`   Linux sources: ${kernelSource}`);

  out.push('', '3. Analysis vs raw parse of the same text (warm medians)');
  out.push(`   the analysis parses ${r.fragments} fragments (pre + post image of ${r.hunks} C hunks), ${fmtBytes(r.fragmentBytes)} in all`);
  out.push(indent(table(['measure', 'ms'], [
    ['raw parseC, one call per fragment (as the analysis calls it)', fmtMs(r.rawParsePerFragmentMs)],
    ['raw parseC, all fragments as one text', fmtMs(r.rawParseConcatenated.ms)],
    ['analysis parse stage (parse + lower fragments)', fmtMs(r.analysisParseMs)],
    ['analysis parse + summarize + simulate', fmtMs(r.analysisMs)],
  ])));
  out.push(`   ratio: analysis / raw per-fragment parse = ${r.ratio.toFixed(1)}x`);

  out.push('', '   Series targets (from the issues; informational, exit status is 0 either way)');
  out.push(indent(renderTargets(targets)));
  return out.join('\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
