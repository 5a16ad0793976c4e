// Performance benchmark for the analysis core (npm run bench [-- --json] [-- --per-patch]).
// 1. A generated 35-patch series analysed end to end, cold and warm, from a directory and an mbox.
// 2. Raw tree-sitter throughput on ~2 MB of kernel-style C and, when available, Linux 6.12 KVM.
// 3. Analysis time against a raw parse of the very fragments the analysis parses.
// Targets are printed with PASS/MISS; the script exits 0 either way (it measures, it does not gate).
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { analyseOnce, medianRun, perPatchCosts, readSeries, seriesFragments, type PerPatch, type RunMeasure } from './bench/analysis';
import { findKernelFiles, measureParse, measureParseMany, syntheticC, type ParseMeasure } from './bench/parse';
import { BENCH_PATCHES, generateSeries, MODEL_DIR } from './bench/series';
import { fmtBytes, fmtMs, passMiss, table } from './bench/stats';
import { benchTree, renderTree } from './bench/tree';
import { kernelTreeFromEnvOrDebian } from '../extension/core/tree/sourceTarball';

const TARBALL = '/usr/src/linux-source-6.12.tar.xz';
/** Stated in the issue: the whole series in under a second, analysis within 2x a raw parse. */
const TARGET_SERIES_MS = 1000;
const TARGET_RATIO = 2;
const SYNTHETIC_BYTES = 2_000_000;

interface Options {
  json: boolean;
  perPatch: boolean;
  runs: number;
  ignored: string[];
  /** --tree DIR: benchmark kernel-tree mode instead ("" = the Debian linux-source tarball). */
  tree?: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { json: false, perPatch: false, runs: 5, ignored: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') o.json = true;
    else if (a === '--per-patch') o.perPatch = true;
    else if (a === '--runs' && /^\d+$/.test(argv[i + 1] ?? '')) o.runs = Math.max(1, Number(argv[++i]));
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: npm run bench -- [--json] [--per-patch] [--runs N] [--tree [DIR]]\n'
        + '  env KVM_LENS_BENCH_TREE=DIR: a kernel tree (with arch/x86/kvm/x86.c) for the real-source parse\n');
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

interface Target {
  name: string;
  value: number;
  limit: number;
  unit: 'ms' | 'x';
  pass: boolean;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.tree !== undefined) {
    const dir = opts.tree || await kernelTreeFromEnvOrDebian();
    if (!dir) { process.stderr.write('bench --tree: no kernel tree given and no Debian linux-source tarball in /usr/src\n'); process.exitCode = 2; return; }
    const result = await benchTree(dir, Math.min(opts.runs, 5));
    process.stdout.write(opts.json ? JSON.stringify(result, null, 2) + '\n' : renderTree(result));
    return;
  }
  const notes: string[] = [];
  // In --json mode notes also go to stderr as they happen; stdout stays one JSON document.
  const log = (msg: string): void => {
    notes.push(msg);
    if (opts.json) process.stderr.write(`note: ${msg}\n`);
  };
  if (opts.ignored.length) log(`ignoring unknown argument(s): ${opts.ignored.join(' ')}`);

  const cpus = os.cpus();
  // Load average matters here: other processes on a 2-core box show up directly in the figures.
  const machine = {
    cpus: cpus.length, model: cpus[0]?.model.trim() ?? 'unknown', node: process.version,
    platform: `${process.platform} ${process.arch}`, loadavg1m: os.loadavg()[0]!,
  };

  // ---- 1. the series: generated with git first, so the cold run is the first parseC in the process
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

    const seriesSection: SeriesSection = {
      patches: cold.patches, files: gen.patchFiles.length, bytes: gen.bytes, patchesWithC: frags.patchesWithC,
      findings: cold.findings, problems: cold.problems,
      dir: { cold, warm: medianRun(warmRuns), warmRuns },
      mbox: { first: mboxFirst, warm: medianRun(mboxRuns), warmRuns: mboxRuns },
    };

    // ---- 2. raw parse throughput
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

    const target = (name: string, value: number, limit: number, unit: Target['unit'], strict: boolean): Target =>
      ({ name, value, limit, unit, pass: strict ? value < limit : value <= limit });
    const targets: Target[] = [
      target(`35-patch series analysed in < ${TARGET_SERIES_MS} ms (warm median total)`, warm.total, TARGET_SERIES_MS, 'ms', true),
      target(`35-patch series analysed in < ${TARGET_SERIES_MS} ms (cold, first run, wall)`, cold.wall, TARGET_SERIES_MS, 'ms', true),
      target(`analysis <= ${TARGET_RATIO}x raw parse of the same text`, ratio.ratio, TARGET_RATIO, 'x', false),
    ];

    if (opts.json) {
      process.stdout.write(JSON.stringify({ machine, series: seriesSection, parse: { synthetic, kernel, kernelSource: kernelSource ?? null }, ratio, targets, notes }, null, 2) + '\n');
      return;
    }
    process.stdout.write(render(machine, seriesSection, synthetic, kernel, kernelSource, ratio, targets, notes));
  } finally {
    rmSync(gen.root, { recursive: true, force: true });
  }
}

function render(
  machine: { cpus: number; model: string; node: string; platform: string; loadavg1m: number },
  s: SeriesSection, synthetic: ParseMeasure, kernel: ParseMeasure[], kernelSource: string | undefined,
  r: RatioSection, targets: Target[], notes: string[],
): string {
  const out: string[] = [];
  out.push('KVM Patch Lens benchmark');
  out.push(`machine: ${machine.cpus} CPUs, ${machine.model}, node ${machine.node}, ${machine.platform}, load average ${machine.loadavg1m.toFixed(2)} (1 min)`);
  for (const n of notes) out.push(`note: ${n}`);

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

  out.push('', 'Targets (from the issue; informational, exit status is 0 either way)');
  out.push(indent(table(['target', 'measured', ''], targets.map((t) => [t.name, t.unit === 'ms' ? `${fmtMs(t.value)} ms` : `${t.value.toFixed(1)}x`, passMiss(t.pass)]))));
  return out.join('\n') + '\n';
}

function indent(text: string, n = 3): string {
  return text.split('\n').map((l) => ' '.repeat(n) + l).join('\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
