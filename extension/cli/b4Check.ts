// `kvm-lens b4-check`: the per-patch check command for b4's review mode. b4 hands one
// RFC 2822 message on stdin and reads a JSON array of results on stdout:
//   [{"tool": "kvm-lens", "status": "pass|warn|fail", "summary": "...", "details": "..."}]
// It never fails b4's run: bad input, and even a failure of the analysis itself, is a "warn"
// entry with the reason, and the exit status is 0 (2 only for a command line b4 would not write).

import { ReportCache } from '../core/cache/reportCache';
import { analyzeSeries, DEFAULT_OPTIONS } from '../core/analysis/analyzeSeries';
import type { AnalysisReport, Finding } from '../core/findings';
import { DEFAULT_MAX_INPUT_BYTES, readStreamBounded, type BoundedRead } from '../core/io/boundedRead';
import { formatText } from '../core/report/textReport';
import { assembleSeries, parseSeriesBytes } from '../core/series/seriesReader';
import { escapeControlKeepLines } from '../core/text/controlChars';
import { parseByteSize } from './args';
import { EXIT_BAD_INPUT, EXIT_CLEAN } from './exitStatus';
import { internalErrorText } from './internalError';
import { problemLine, shown } from './messages';

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

/** Check one message (its bytes, or text already decoded); never throws. */
export async function b4Check(input: string | Buffer): Promise<B4CheckResult[]> {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  if (bytes.toString('latin1').trim() === '') return warn('kvm-lens: empty input; b4 passed no message on stdin');
  try {
    // the reader judges the bytes as it judges a file: non-text refused, invalid UTF-8 read as Latin-1 and said
    const parsed = parseSeriesBytes(STDIN_NAME, bytes);
    const notUtf8 = parsed.problems.some((p) => /invalid UTF-8/.test(p.message));
    const series = assembleSeries(parsed.patches, parsed.problems);
    // b4 hands one patch at a time: that the rest of the series is missing is expected
    const problems = series.problems.filter((p) => !p.message.startsWith('series is incomplete'));
    const problemText = problems.map(problemLine).join('\n');
    const withDiff = series.patches.filter((p) => p.diffs.length > 0);
    if (withDiff.length === 0) {
      const what = series.coverLetter ? 'a cover letter' : 'a message without a diff';
      return warn(`kvm-lens: nothing to check: ${what}`, problemText);
    }
    // b4 calls us once per patch, again on every re-run: an identical message is answered from the cache
    const report = await analyzeSeries(series, DEFAULT_OPTIONS, 0, ReportCache.open([]));
    const result = verdict(report, problemText);
    if (notUtf8) {
      // the verdict is on a guess at the text: worth a look even when it passes
      result.summary += ' (the message is not valid UTF-8; read as Latin-1)';
      if (result.status === 'pass') result.status = 'warn';
    }
    return [result];
  } catch (e) {
    return warn(internalErrorText(e, 'checking this message', false).trimEnd());
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
  const details = [formatText(report).trimEnd(), escapeControlKeepLines(problemText)].filter((s) => s !== '').join('\n\n');
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

/** All of stdin, refused past maxBytes; an idle terminal on stdin is no message. */
export function readProcessStdin(maxBytes: number = DEFAULT_MAX_INPUT_BYTES): Promise<BoundedRead> {
  if (process.stdin.isTTY) return Promise.resolve({ ok: true, bytes: Buffer.alloc(0) });
  return readStreamBounded(process.stdin, maxBytes);
}

export function b4CheckUsage(): string {
  return `usage: kvm-lens b4-check [--max-input-size SIZE] < message.eml
  Checks one patch mail (b4 review mode's per-patch check command) and prints
  [{"tool","status":"pass|warn|fail","summary","details"}] as JSON.
  --max-input-size SIZE  a message larger than SIZE bytes is a warn entry, not read
                         (k, M, G suffixes; default ${DEFAULT_MAX_INPUT_BYTES / (1024 * 1024)}M)
  --debug                show the stack trace of an internal error
Exit status: 0 whatever the verdict (unreadable input and internal errors are a warn
entry), 2 for a bad command line, 3 when kvm-lens failed before it could answer.
`;
}

/** The subcommand: stdin in, the JSON array out, exit status 0 whatever the verdict. */
export async function runB4Check(argv: string[], io: { out: (t: string) => void; err: (t: string) => void; stdin?: (maxBytes: number) => Promise<BoundedRead | string> }): Promise<number> {
  let maxBytes = DEFAULT_MAX_INPUT_BYTES;
  const ignored: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') { io.out(b4CheckUsage()); return EXIT_CLEAN; }
    if (arg === '--debug') continue; // read by main
    if (arg === '--max-input-size' || arg.startsWith('--max-input-size=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      const bytes = value === undefined ? undefined : parseByteSize(value);
      if (bytes === undefined) {
        io.err(`kvm-lens b4-check: --max-input-size needs a size in bytes such as 1048576, 512k, 64M or 1G, got "${shown(value ?? '')}"\n`);
        return EXIT_BAD_INPUT;
      }
      maxBytes = bytes;
      continue;
    }
    ignored.push(arg);
  }
  if (ignored.length > 0) io.err(`kvm-lens b4-check: ignoring arguments ${shown(ignored.join(' '))}; the message is read from stdin\n`);
  const read = await (io.stdin ?? readProcessStdin)(maxBytes);
  if (typeof read !== 'string' && !read.ok) {
    io.out(JSON.stringify(warn(`kvm-lens: cannot read stdin: ${read.reason}`)) + '\n');
    return EXIT_CLEAN;
  }
  io.out(JSON.stringify(await b4Check(typeof read === 'string' ? read : read.bytes)) + '\n');
  return EXIT_CLEAN;
}
