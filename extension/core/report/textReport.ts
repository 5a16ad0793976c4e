// The human-readable report: compiler-style lines so terminals and editors can jump to
// file:line:col, with each finding's ioctl trace underneath. Everything that comes from the
// input (file names, subjects, function names, messages quoting code) is shown with its
// control characters escaped: a patch must not be able to drive the terminal it is shown in.

import { patchName } from './patchName';
import type { AnalysisReport, Finding, Severity, TraceStep } from '../findings';
import { escapeControl as shown } from '../text/controlChars';

export interface TextOptions {
  /** ANSI colours; off unless asked for, since the output often goes to files and CI logs. */
  color?: boolean;
}

// "note" rather than "info": it is the word compilers use, and the summary counts "notes".
const SEVERITY_WORD: Record<Severity, string> = { error: 'error', warning: 'warning', info: 'note' };

const ANSI = { bold: '\x1b[1m', dim: '\x1b[2m', red: '\x1b[31m', yellow: '\x1b[33m', cyan: '\x1b[36m', reset: '\x1b[0m' };
const SEVERITY_COLOR: Record<Severity, string> = { error: ANSI.red, warning: ANSI.yellow, info: ANSI.cyan };

export function formatText(report: AnalysisReport, opts: TextOptions = {}): string {
  const paint = (code: string, text: string): string => (opts.color ? code + text + ANSI.reset : text);
  const lines: string[] = [];

  for (const finding of report.findings) for (const l of findingLines(finding, false, paint)) lines.push(l);

  if (report.fixed.length > 0) {
    if (lines.length > 0) lines.push('');
    lines.push(paint(ANSI.bold, 'fixed later in the series:'));
    for (const finding of report.fixed) for (const l of findingLines(finding, true, paint)) lines.push(l);
  }

  if (lines.length > 0) lines.push('');
  const origin = originLine(report);
  if (origin) lines.push(origin);
  lines.push(summaryLine(report));
  return lines.join('\n') + '\n';
}

type Paint = (code: string, text: string) => string;

function findingLines(finding: Finding, fixed: boolean, paint: Paint): string[] {
  const { file, line, column } = finding.location;
  const severity = paint(ANSI.bold + SEVERITY_COLOR[finding.severity], SEVERITY_WORD[finding.severity]);
  let head = `${paint(ANSI.bold, `${shown(file)}:${line}:${column}:`)} ${severity}: ${shown(finding.message)} ${paint(ANSI.dim, `[${shown(finding.rule)}]`)}`;

  const provenance: string[] = [];
  if (finding.introducedBy) provenance.push(`introduced by ${shown(patchName(finding.introducedBy, finding.introducedByPatch))}`);
  if (fixed) provenance.push(`fixed by ${finding.fixedBy ? shown(patchName(finding.fixedBy, finding.fixedByPatch)) : 'an unknown patch'}`);
  if (provenance.length > 0) head += ` (${provenance.join(', ')})`;

  return [head, ...finding.trace.map((step, i) => traceLine(step, i + 1))];
}

function traceLine(step: TraceStep, n: number): string {
  const vcpu = step.vcpu === null ? '' : ` (vcpu ${step.vcpu})`;
  const note = step.note ? `: ${shown(step.note)}` : '';
  return `    ${n}. ${shown(step.operation)}${vcpu} at ${shown(step.location.file)}:${step.location.line}${note}`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function summaryLine(report: AnalysisReport): string {
  const count = (severity: Severity): number => report.findings.filter((f) => f.severity === severity).length;
  const { stats } = report;
  const ms = stats.ms.read + stats.ms.parse + stats.ms.summarize + stats.ms.simulate;
  const findings = [plural(count('error'), 'error'), plural(count('warning'), 'warning'), plural(count('info'), 'note')];
  const work = [plural(stats.patches, 'patch', 'patches'), plural(stats.functions, 'function'), plural(stats.statesExplored, 'state')];
  const bound = stats.boundReached ? ' (exploration bound reached)' : '';
  const cached = stats.cached ? ' (the result of an identical earlier run, from the cache)' : '';
  return `${findings.join(', ')}; ${work.join(', ')} explored in ${ms.toFixed(1)} ms${bound}${cached}`;
}

/** Which simulated functions came from the series, whole or merged into the model's. */
function originLine(report: AnalysisReport): string | undefined {
  const names = (o: string): string[] => report.origins.filter((x) => x.origin === o).map((x) => `${shown(x.function)}()`).sort();
  const whole = names('series');
  const merged = names('series+model');
  if (whole.length === 0 && merged.length === 0) return undefined;
  const parts: string[] = [];
  if (whole.length) parts.push(`from the series: ${whole.join(', ')}`);
  if (merged.length) parts.push(`patched into the built-in model: ${merged.join(', ')}`);
  return `simulated code ${parts.join('; ')}; the rest from the built-in model`;
}
