// `kvm-lens b4-check`: the per-patch check command for b4's review mode. b4 hands one
// RFC 2822 message on stdin and reads a JSON array of results on stdout:
//   [{"tool": "kvm-lens", "status": "pass|warn|fail", "summary": "...", "details": "..."}]
// It never fails b4's run: bad input is a "warn" entry with the reason, and the exit status is 0.

import { analyzeSeries, DEFAULT_OPTIONS } from '../core/analysis/analyzeSeries';
import type { AnalysisReport, Finding } from '../core/findings';
import { formatText } from '../core/report/textReport';
import { assembleSeries, parseSeriesText } from '../core/series/seriesReader';

export const B4_TOOL = 'kvm-lens';
/** The name the message is known by in locations and in the details. */
export const STDIN_NAME = '<stdin>';

export interface B4CheckResult {
  tool: string;
  status: 'pass' | 'warn' | 'fail';
  summary: string;
  details: string;
}

function plural(n: number, one: string): string {
  return `${n} ${one}${n === 1 ? '' : 's'}`;
}

function findingPhrase(f: Finding): string {
  return f.location.function ? `${f.rule} in ${f.location.function}()` : f.rule;
}

function listPhrase(findings: Finding[]): string {
  const seen: string[] = [];
  for (const f of findings) {
    const p = findingPhrase(f);
    if (!seen.includes(p)) seen.push(p);
  }
  return seen.join('; ');
}

function warn(summary: string, details = ''): B4CheckResult[] {
  return [{ tool: B4_TOOL, status: 'warn', summary, details }];
}

/** Check one message's text; never throws. */
export async function b4Check(text: string): Promise<B4CheckResult[]> {
  if (text.trim() === '') return warn('kvm-lens: empty input; b4 passed no message on stdin');
  try {
    const parsed = parseSeriesText(STDIN_NAME, text);
    const series = assembleSeries(parsed.patches, parsed.problems);
    // b4 hands one patch at a time: that the rest of the series is missing is expected
    const problems = series.problems.filter((p) => !p.message.startsWith('series is incomplete'));
    const problemText = problems.map((p) => `${p.file}${p.line ? ':' + p.line : ''}: ${p.severity}: ${p.message}`).join('\n');
    const withDiff = series.patches.filter((p) => p.diffs.length > 0);
    if (withDiff.length === 0) {
      const what = series.coverLetter ? 'a cover letter' : 'a message without a diff';
      return warn(`kvm-lens: nothing to check: ${what}`, problemText);
    }
    const report = await analyzeSeries(series, DEFAULT_OPTIONS);
    return [verdict(report, problemText)];
  } catch (e) {
    return warn(`kvm-lens: cannot analyse this message: ${(e as Error).message ?? String(e)}`);
  }
}

/** A finding belongs to this message when it lies in it or this message introduced it. */
function inMessage(f: Finding): boolean {
  return f.location.file === STDIN_NAME || f.introducedBy === STDIN_NAME;
}

function verdict(report: AnalysisReport, problemText: string): B4CheckResult {
  const errors = report.findings.filter((f) => f.severity === 'error');
  const warnings = report.findings.filter((f) => f.severity === 'warning');
  const ownErrors = errors.filter(inMessage);
  // an error the message does not carry (e.g. in the unchanged model code) is worth a look, not a failure
  const otherErrors = errors.filter((f) => !inMessage(f));
  const details = [formatText(report).trimEnd(), problemText].filter((s) => s !== '').join('\n\n');
  if (ownErrors.length > 0) {
    let summary = `${plural(ownErrors.length, 'error')}: ${listPhrase(ownErrors)}`;
    if (warnings.length + otherErrors.length > 0) summary += ` (and ${plural(warnings.length + otherErrors.length, 'more finding')})`;
    return { tool: B4_TOOL, status: 'fail', summary, details };
  }
  if (warnings.length + otherErrors.length > 0) {
    const parts: string[] = [];
    if (otherErrors.length) parts.push(`${plural(otherErrors.length, 'error')} outside this patch: ${listPhrase(otherErrors)}`);
    if (warnings.length) parts.push(`${plural(warnings.length, 'warning')}: ${listPhrase(warnings)}`);
    return { tool: B4_TOOL, status: 'warn', summary: parts.join('; '), details };
  }
  const notes = report.findings.length;
  return { tool: B4_TOOL, status: 'pass', summary: notes ? `no errors or warnings (${plural(notes, 'note')})` : 'no findings', details };
}

/** Read all of stdin as UTF-8. */
export function readProcessStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    if (process.stdin.isTTY) { resolve(''); return; }
    const chunks: Buffer[] = [];
    process.stdin.on('data', (c: Buffer | string) => chunks.push(typeof c === 'string' ? Buffer.from(c) : c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

/** The subcommand: stdin in, the JSON array out, exit status 0 whatever the verdict. */
export async function runB4Check(argv: string[], io: { out: (t: string) => void; err: (t: string) => void; stdin?: () => Promise<string> }): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out('usage: kvm-lens b4-check < message.eml\n  Checks one patch mail (b4 review mode\'s per-patch check command) and prints\n  [{"tool","status":"pass|warn|fail","summary","details"}] as JSON. Exit status 0.\n');
    return 0;
  }
  let text: string;
  try {
    text = await (io.stdin ?? readProcessStdin)();
  } catch (e) {
    io.out(JSON.stringify(warn(`kvm-lens: cannot read stdin: ${(e as Error).message}`)) + '\n');
    return 0;
  }
  if (argv.length > 0) io.err(`kvm-lens b4-check: ignoring arguments ${argv.join(' ')}; the message is read from stdin\n`);
  io.out(JSON.stringify(await b4Check(text)) + '\n');
  return 0;
}
