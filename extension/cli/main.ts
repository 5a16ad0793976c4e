// kvm-lens: the command-line twin of the extension, a thin entry point over the core.
import { accessSync, constants, writeFileSync } from 'node:fs';
import { parseCheckArgs, usageText } from './args';
import { replyCommand } from './reply';
import { readProcessStdin, runB4Check } from './b4Check';
import { analyzeSeries, DEFAULT_OPTIONS, type AnalysisOptions } from '../core/analysis/analyzeSeries';
import { analyzeTree } from '../core/analysis/analyzeTree';
import type { AnalysisReport } from '../core/findings';
import { applyAssumption } from '../core/analysis/assumptions';
import { readSeries } from '../core/series/seriesReader';
import { formatJson } from '../core/report/jsonReport';
import { formatSarif } from '../core/report/sarifReport';
import { formatText } from '../core/report/textReport';
import { TOOL_VERSION } from '../core/version';

export const EXIT_CLEAN = 0;
export const EXIT_ERROR_FINDING = 1;
export const EXIT_BAD_INPUT = 2;

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  isTty: boolean;
  /** All of stdin (default: process.stdin); only `b4-check` reads it. */
  stdin?: () => Promise<string>;
}

const processIo: CliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  isTty: !!process.stdout.isTTY,
  stdin: readProcessStdin,
};

export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  if (argv[0] === 'reply') return replyCommand(argv.slice(1), io);
  if (argv[0] === 'b4-check') return runB4Check(argv.slice(1), io);
  const parsed = parseCheckArgs(argv);
  if (!parsed.ok) {
    io.err(parsed.message + '\n');
    return EXIT_BAD_INPUT;
  }
  const o = parsed.options;
  if (o.help) { io.out(usageText()); return EXIT_CLEAN; }
  if (o.version) { io.out(`kvm-lens ${TOOL_VERSION}\n`); return EXIT_CLEAN; }

  const options: AnalysisOptions = { ...DEFAULT_OPTIONS, assumptions: { ...DEFAULT_OPTIONS.assumptions }, absentGuards: [] };
  if (o.depth !== undefined) options.depth = o.depth;
  if (o.vcpus !== undefined) {
    const msg = applyAssumption(options, 'vcpus', String(o.vcpus));
    if (msg) { io.err(`kvm-lens: ${msg}\n`); return EXIT_BAD_INPUT; }
  }
  for (const a of o.assumptions) {
    const msg = applyAssumption(options, a.key, a.value);
    if (msg) { io.err(`kvm-lens: ${msg}\n`); return EXIT_BAD_INPUT; }
  }

  // the reader reports an unreadable input (once); here it only decides the exit status
  let unreadable = false;
  for (const input of o.inputs) {
    try { accessSync(input, constants.R_OK); } catch { unreadable = true; }
  }

  const t0 = performance.now();
  const series = o.inputs.length ? await readSeries(o.inputs) : { patches: [], problems: [] };
  const readMs = performance.now() - t0;
  for (const p of series.problems) {
    io.err(`${p.file}${p.line ? ':' + p.line : ''}: ${p.severity}: ${p.message}\n`);
  }
  if (series.patches.length === 0 && o.inputs.length > 0) {
    // nothing to analyse is not a clean result: a CI job pointed at the wrong place must fail
    io.err(`kvm-lens: no patch with a diff in ${o.inputs.join(', ')}\n`);
    unreadable = true;
  }

  let report: AnalysisReport;
  let preamble = '';
  if (o.tree !== undefined) {
    const tree = await analyzeTree(o.tree, series, options);
    if (tree.tree.files === 0) {
      // no KVM source to analyse: say why in one line, and do not print an empty report
      const why = tree.problems.find((p) => p.severity === 'error')?.message ?? 'no KVM x86 source files found';
      io.err(`kvm-lens: --tree ${o.tree}: ${why}\n`);
      return EXIT_BAD_INPUT;
    }
    for (const p of tree.problems) io.err(`${p.file}${p.line ? ':' + p.line : ''}: ${p.severity}: ${p.message}\n`);
    if (tree.problems.some((p) => p.severity === 'error')) unreadable = true;
    const ops = tree.tree.operations.reduce((n, d) => n + d.operations, 0);
    preamble = `kernel tree ${tree.root}: ${tree.tree.files} files, ${tree.tree.functions} functions (${tree.tree.functionsWithErrors} with parse errors); `
      + `${ops} operations from the dispatchers: ${tree.tree.operations.map((d) => `${d.dispatcher}() ${d.operations}`).join(', ')}\n`;
    report = tree;
  } else {
    report = await analyzeSeries(series, options, readMs);
  }
  const text = o.format === 'json' ? formatJson(report, TOOL_VERSION)
    : o.format === 'sarif' ? formatSarif(report, TOOL_VERSION)
      : preamble + formatText(report, { color: o.color && io.isTty && !o.output });
  if (o.output) {
    try { writeFileSync(o.output, text); } catch (e) {
      io.err(`kvm-lens: ${o.output}: cannot write the report (${(e as Error).message})\n`);
      return EXIT_BAD_INPUT;
    }
  } else {
    io.out(text);
  }
  if (unreadable) return EXIT_BAD_INPUT;
  return report.findings.some((f) => f.severity === 'error') ? EXIT_ERROR_FINDING : EXIT_CLEAN;
}
