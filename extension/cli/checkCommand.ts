// `kvm-lens check`: read the series (and the tree), analyse, print the report, and turn what
// happened into the exit status: 1 for an error finding, 2 as soon as some input was unusable
// or nothing could be analysed (what could be read is still reported).

import { ReportCache } from '../core/cache/reportCache';
import { LoweredFileCache } from '../core/cache/loweredFileCache';
import { writeFileSync } from 'node:fs';
import { analyzeSeries, DEFAULT_OPTIONS, type AnalysisOptions } from '../core/analysis/analyzeSeries';
import { analyzeTree } from '../core/analysis/analyzeTree';
import { DEFAULT_BUDGET } from '../core/analysis/budget';
import { errnoText } from '../core/io/boundedRead';
import type { AnalysisReport } from '../core/findings';
import { applyAssumption } from '../core/analysis/assumptions';
import { formatJson } from '../core/report/jsonReport';
import { formatSarif } from '../core/report/sarifReport';
import { formatText } from '../core/report/textReport';
import { readSeries } from '../core/series/seriesReader';
import type { Series } from '../core/series/types';
import { blocksX86Kvm, kernelTreeAround } from '../core/tree/kernelTree';
import { TOOL_VERSION } from '../core/version';
import { parseCheckArgs, usageText, type CheckOptions } from './args';
import { EXIT_BAD_INPUT, EXIT_CLEAN, EXIT_ERROR_FINDING } from './exitStatus';
import { inputsPhrase, problemLine, shown } from './messages';

export interface CheckIo {
  out: (text: string) => void;
  err: (text: string) => void;
  isTty: boolean;
}

/** A patch with at least one hunk: something the analysis can act on. */
function hasHunks(series: Series): boolean {
  return series.patches.some((p) => p.diffs.some((d) => d.hunks.length > 0));
}

function analysisOptions(o: CheckOptions): AnalysisOptions | string {
  const options: AnalysisOptions = { ...DEFAULT_OPTIONS, assumptions: { ...DEFAULT_OPTIONS.assumptions }, absentGuards: [] };
  if (o.depth !== undefined) options.depth = o.depth;
  if (o.vcpus !== undefined) {
    const msg = applyAssumption(options, 'vcpus', String(o.vcpus));
    if (msg) return msg;
  }
  for (const a of o.assumptions) {
    const msg = applyAssumption(options, a.key, a.value);
    if (msg) return msg;
  }
  if (o.budgetTimeMs !== undefined || o.budgetWork !== undefined) {
    options.budget = { timeMs: o.budgetTimeMs ?? DEFAULT_BUDGET.timeMs, work: o.budgetWork ?? DEFAULT_BUDGET.work };
  }
  return options;
}

export async function checkCommand(argv: string[], io: CheckIo): Promise<number> {
  const parsed = parseCheckArgs(argv);
  if (!parsed.ok) {
    io.err(shown(parsed.message) + '\n');
    return EXIT_BAD_INPUT;
  }
  const o = parsed.options;
  if (o.help) { io.out(usageText()); return EXIT_CLEAN; }
  if (o.version) { io.out(`kvm-lens ${TOOL_VERSION}\n`); return EXIT_CLEAN; }

  const options = analysisOptions(o);
  if (typeof options === 'string') { io.err(`kvm-lens: ${shown(options)}\n`); return EXIT_BAD_INPUT; }

  const t0 = performance.now();
  const series: Series = o.inputs.length
    ? await readSeries(o.inputs, o.maxInputBytes !== undefined ? { maxInputBytes: o.maxInputBytes } : {})
    : { patches: [], problems: [] };
  const readMs = performance.now() - t0;
  for (const p of series.problems) io.err(problemLine(p) + '\n');
  // an input printed as "error:" was (at least partly) unusable: the verdict cannot be trusted as clean
  let unusable = series.problems.some((p) => p.severity === 'error');
  if (o.inputs.length > 0 && !hasHunks(series)) {
    // nothing to analyse is not a clean result: a CI job pointed at the wrong place must fail
    const what = series.patches.length === 0 ? 'no patch' : 'no patch with a diff that has hunks';
    io.err(`kvm-lens: nothing to analyse: ${what} in ${inputsPhrase(o.inputs)}\n`);
    unusable = true;
  }

  let report: AnalysisReport;
  let preamble = '';
  // as b4 does, a series checked from inside a kernel checkout is checked against that checkout
  const treeDir = o.tree ?? (o.noTree || o.inputs.length === 0 ? undefined : await kernelTreeAround(process.cwd()));
  if (treeDir !== undefined) {
    const tree = await analyzeTree(treeDir, series, options, o.cache ? ReportCache.open([treeDir]) : undefined, o.cache ? LoweredFileCache.open([treeDir]) : undefined);
    // no x86 KVM source to analyse (not a tree, another architecture, arch/x86/kvm unreachable): say why in one line
    const blocking = tree.problems.find((p) => blocksX86Kvm(p.file));
    if (tree.tree.files === 0 || blocking) {
      const why = blocking?.message ?? tree.problems.find((p) => p.severity === 'error')?.message ?? 'no KVM x86 source files found';
      io.err(`kvm-lens: ${o.tree !== undefined ? '--tree ' : 'the kernel checkout '}${shown(treeDir)}: ${shown(why)}\n`);
      return EXIT_BAD_INPUT;
    }
    for (const p of tree.problems) io.err(problemLine(p) + '\n');
    if (tree.problems.some((p) => p.severity === 'error')) unusable = true;
    const ops = tree.tree.operations.reduce((n, d) => n + d.operations, 0);
    preamble = `${shown(tree.base?.line ?? `base: the working tree of ${tree.root}`)}\nkernel tree ${shown(tree.root)}: ${tree.tree.files} files, ${tree.tree.functions} functions (${tree.tree.functionsWithErrors} with parse errors); `
      + `${ops} operations from the dispatchers: ${tree.tree.operations.map((d) => `${shown(d.dispatcher)}() ${d.operations}`).join(', ')}\n`;
    report = tree;
  } else {
    report = await analyzeSeries(series, options, readMs, o.cache ? ReportCache.open([]) : undefined);
    report = { ...report, base: { source: 'model', exact: false, line: o.noTree ? 'base: the built-in model (--no-tree)' : 'base: the built-in model (no kernel tree: the current directory is not in a kernel checkout and no --tree was given)' } };
    preamble = `${report.base!.line}\n`;
  }
  const text = o.format === 'json' ? formatJson(report, TOOL_VERSION)
    : o.format === 'sarif' ? formatSarif(report, TOOL_VERSION)
      : preamble + formatText(report, { color: o.color && io.isTty && !o.output });
  if (o.output) {
    try { writeFileSync(o.output, text); } catch (e) {
      io.err(`kvm-lens: ${shown(o.output)}: cannot write the report (${errnoText(e)})\n`);
      return EXIT_BAD_INPUT;
    }
  } else {
    io.out(text);
  }
  if (unusable) return EXIT_BAD_INPUT;
  return report.findings.some((f) => f.severity === 'error') ? EXIT_ERROR_FINDING : EXIT_CLEAN;
}
