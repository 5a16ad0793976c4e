// `kvm-lens b4-check`: the per-patch check command for b4. b4 has two protocols (read from b4
// v0.16.0 and its development head; the key names and parsing rules below are b4's, the code is ours):
//
// - JSON, for `b4.review-perpatch-check-cmd` and `b4.review-series-check-cmd` (b4 review's CI
//   checks): stdout is a JSON array of {"tool", "status": "pass|warn|fail", "summary", "details"};
//   stdout with nothing on it and a non-zero exit is a failure. When `details` parses as a JSON
//   list, b4's detail view draws each {"status", "description"} entry as one finding with a
//   coloured dot; otherwise it shows the text as it is.
// - Text (`--text`), for `b4.am-perpatch-check-cmd` (`b4 am -k`/`b4 shazam -k`) and
//   `b4.prep-perpatch-check-cmd` (`b4 prep --check`): each stdout line is one result, a failure
//   when it contains "ERROR:" and a warning otherwise; each stderr line is a failure; only when
//   neither stream has a line does the exit status count (non-zero: failure, zero: "passed all
//   checks"). So we print checkpatch's terse lines, `FILE:LINE: ERROR: message [rule]`, one per
//   finding, and nothing at all for a clean patch.
//
// What b4 pipes is one RFC 2822 message whose body it has already decoded, with the
// Content-Transfer-Encoding header left as it was; it runs the command split with shlex, without
// a shell, in the git top level of the current checkout. So a body is decoded again only when it
// is still encoded, and a kernel checkout as the working directory is checked on the series'
// exact base, as `kvm-lens check` does. It never fails b4's run: bad input, and even a failure of
// the analysis itself, is a warning with the reason, and the exit status is 0 (2 only for a
// command line b4 would not write).

import { LoweredFileCache } from '../core/cache/loweredFileCache';
import { ReportCache } from '../core/cache/reportCache';
import { analyzeSeries, DEFAULT_OPTIONS } from '../core/analysis/analyzeSeries';
import { analyzeTree } from '../core/analysis/analyzeTree';
import type { AnalysisReport, ReportBase } from '../core/findings';
import { readStreamBounded, type BoundedRead } from '../core/io/boundedRead';
import { assembleSeries, parseSeriesBytes } from '../core/series/seriesReader';
import type { Patch, Series } from '../core/series/types';
import { escapeControl } from '../core/text/controlChars';
import { blocksX86Kvm, kernelTreeAround } from '../core/tree/kernelTree';
import { sizeOption } from './args';
import { cDiffs, MailLines, outsideItem, reportItems, STDIN_NAME, treeProblemItems, type B4Item } from './b4Results';
import { EXIT_BAD_INPUT, EXIT_CLEAN } from './exitStatus';
import { internalErrorText } from './internalError';
import { shown } from './messages';

export { STDIN_NAME } from './b4Results';
export const B4_TOOL = 'kvm-lens';
/**
 * The largest message read by default. A patch mail from a list is far smaller (the largest KVM
 * patches are a few hundred kB); a mail past this is not a patch b4 fetched, and analysing one of
 * tens of megabytes would hold b4 up for minutes.
 */
export const B4_MAX_INPUT_BYTES = 8 * 1024 * 1024;

export interface B4CheckResult {
  tool: string;
  status: 'pass' | 'warn' | 'fail';
  summary: string;
  details: string;
}

/** The verdict on one mail, before a protocol writes it. */
export interface B4Outcome {
  status: 'pass' | 'warn' | 'fail';
  /** One line: the verdict and what the check was done on. */
  summary: string;
  /** Everything said about the mail; the terse protocol prints the 'fail' and 'warn' ones. */
  items: B4Item[];
  /** True when there was nothing to check (or nothing could be read): the terse protocol prints the summary. */
  nothingToCheck: boolean;
  /** The stack of an internal error, for --debug (on stderr, never in the verdict). */
  stack?: string;
}

export interface B4CheckOptions {
  /** The kernel checkout to check against; false: the built-in model; undefined: the one the working directory is in, if any. */
  tree?: string | false;
  /** The working directory (b4 runs us in the checkout's top level); default process.cwd(). */
  cwd?: string;
}

function plural(n: number, one: string): string {
  return `${n} ${one}${n === 1 ? '' : 's'}`;
}

function warnOnly(summary: string, items: B4Item[] = []): B4Outcome {
  return { status: 'warn', summary, items, nothingToCheck: true };
}

// ---------------------------------------------------------------- what b4 pipes

const BASE64_LINE = /^[A-Za-z0-9+/]+={0,2}$/;

/** A header field of the message's top-level header: its value unfolded, and where its name starts. */
function headerField(header: string, name: string): { value: string; at: number } | undefined {
  const m = new RegExp(`^${name}[ \\t]*:([^\\n]*(?:\\n[ \\t][^\\n]*)*)`, 'im').exec(header);
  return m ? { value: m[1]!.replace(/\r?\n[ \t]/g, ' ').trim(), at: m.index } : undefined;
}

function stillBase64(body: string): boolean {
  const lines = body.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  return lines.length > 0 && lines.every((l) => BASE64_LINE.test(l));
}

/** Quoted-printable text is 7-bit and every "=" in it starts an escape or a soft line break. */
function stillQuotedPrintable(body: string): boolean {
  if (/[^\x00-\x7f]/.test(body)) return false;
  for (const raw of body.split(/\r?\n/)) {
    let end = raw.length;
    while (end > 0 && (raw[end - 1] === ' ' || raw[end - 1] === '\t')) end--;
    const line = raw.slice(0, end);
    for (let k = line.indexOf('='); k >= 0; k = line.indexOf('=', k + 1)) {
      if (k === line.length - 1) continue;
      if (!/^[0-9A-Fa-f]{2}$/.test(line.slice(k + 1, k + 3))) return false;
      k += 2;
    }
  }
  return true;
}

export interface PipedMessage {
  bytes: Buffer;
  /** How the body came: already decoded by b4 (its header kept), still encoded and decoded here, or as its header says. */
  body: 'as-declared' | 'already-decoded' | 'decoded-here';
  /** The body looks base64-encoded although no header says so (a header that lies). */
  undeclaredBase64: boolean;
}

/** Quoted-printable decoded as bytes (Latin-1 string in, bytes out): soft line breaks joined, "=XX" turned into the byte. */
function decodeQuotedPrintable(body: string): Buffer {
  // whitespace before a soft break is text; whitespace at the end of a line is the transport's
  const lines = body.split('\n').map((l) => {
    let end = l.endsWith('\r') ? l.length - 1 : l.length;
    while (end > 0 && (l[end - 1] === ' ' || l[end - 1] === '\t')) end--;
    return l.slice(0, end);
  });
  let joined = '';
  for (const [i, l] of lines.entries()) joined += l.endsWith('=') ? l.slice(0, -1) : l + (i < lines.length - 1 ? '\n' : '');
  return Buffer.from(joined.replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
}

/**
 * The message as b4 pipes it, whatever it came as. b4 hands the body decoded but keeps the
 * Content-Transfer-Encoding header (and a multipart Content-Type over the one part it kept): such
 * a header is renamed (its lines stay where they are), so the body is read as it is, never
 * decoded twice. A body that is still encoded (a mail piped straight from a mailbox) is decoded
 * here the same way, so every line of the diff is a line of what the reader reads.
 */
export function asPipedByB4(bytes: Buffer): PipedMessage {
  const text = bytes.toString('latin1');
  const blank = /\r?\n\r?\n/.exec(text);
  if (!blank) return { bytes, body: 'as-declared', undeclaredBase64: false };
  const bodyAt = blank.index + blank[0].length;
  let header = text.slice(0, bodyAt);
  const body = text.slice(bodyAt);
  const rename = (at: number, name: string): void => {
    header = header.slice(0, at) + `X-Kvm-Lens-Decoded-${header.slice(at, at + name.length)}` + header.slice(at + name.length);
  };
  let how: PipedMessage['body'] = 'as-declared';
  let newBody: Buffer | undefined;
  const type = headerField(header, 'Content-Type');
  const multipart = type !== undefined && /^multipart\//i.test(type.value);
  const boundary = type ? /boundary\s*=\s*"?([^";]+)"?/i.exec(type.value)?.[1] : undefined;
  if (multipart && (boundary === undefined || !body.includes(`--${boundary}`))) {
    // b4 kept the one text part's body under the multipart header
    how = 'already-decoded';
    rename(type!.at, 'Content-Type');
  }
  const cte = headerField(header, 'Content-Transfer-Encoding');
  const encoding = cte?.value.toLowerCase();
  if (cte && !multipart && (encoding === 'base64' || encoding === 'quoted-printable')) {
    const still = encoding === 'base64' ? stillBase64(body) : stillQuotedPrintable(body);
    if (still) newBody = encoding === 'base64' ? Buffer.from(body.replace(/\s+/g, ''), 'base64') : decodeQuotedPrintable(body);
    how = still ? 'decoded-here' : 'already-decoded';
    rename(cte.at, 'Content-Transfer-Encoding');
  }
  const identity = encoding === undefined || ['7bit', '8bit', 'binary'].includes(encoding);
  const undeclaredBase64 = identity && !multipart && stillBase64(body) && body.trim().length >= 64;
  if (how === 'as-declared') return { bytes, body: how, undeclaredBase64 };
  return { bytes: Buffer.concat([Buffer.from(header, 'latin1'), newBody ?? Buffer.from(body, 'latin1')]), body: how, undeclaredBase64 };
}

// ---------------------------------------------------------------- the check

/** Check one message (its bytes, or text already decoded); never throws. */
export async function b4Check(input: string | Buffer, options: B4CheckOptions = {}): Promise<B4Outcome> {
  const raw = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  if (raw.toString('latin1').trim() === '') return warnOnly('empty input; b4 passed no message on stdin');
  try {
    const piped = asPipedByB4(raw);
    // the reader judges the bytes as it judges a file: non-text refused, invalid UTF-8 read as Latin-1 and said
    const parsed = parseSeriesBytes(STDIN_NAME, piped.bytes);
    const series = assembleSeries(parsed.patches, parsed.problems);
    // b4 hands one patch at a time: that the rest of the series is missing is expected
    const problems = series.problems.filter((p) => !p.message.startsWith('series is incomplete'));
    const patch = series.patches.find((p) => p.diffs.length > 0);
    const lines = new MailLines(patch);
    const inputItems: B4Item[] = problems.map((p) => {
      const place = p.line !== undefined ? lines.place(p.line) : undefined;
      return { status: 'warn', kind: 'input', ...(place ? { place } : {}), message: p.line !== undefined && !place ? `${p.message} (line ${p.line} of the mail)` : p.message, trace: [] };
    });
    if (!patch) {
      const what = series.coverLetter ? 'a cover letter' : 'a message without a diff';
      const reason = problems.find((p) => !p.message.startsWith('no diff'));
      const hint = piped.undeclaredBase64 ? ' (its body looks base64-encoded, but no Content-Transfer-Encoding header says so)'
        : reason ? ` (${reason.message})` : '';
      return warnOnly(`nothing to check: ${what}${hint}`, inputItems);
    }
    const withDiff = series.patches.filter((p) => p.diffs.length > 0).length;
    if (withDiff > 1) {
      inputItems.push({ status: 'warn', kind: 'input', message: `the input holds ${withDiff} patches; b4 pipes one, so only the first, "${patch.subject}", is checked`, trace: [] });
    }
    const { inScope, outside } = cDiffs(patch);
    if (inScope.length === 0) {
      const files = patch.diffs.map((d) => d.newPath ?? d.oldPath ?? '?');
      const shownFiles = files.slice(0, 3).join(', ') + (files.length > 3 ? ` and ${files.length - 3} more` : '');
      const why = outside.length ? 'its C files are outside the KVM sources kvm-lens simulates' : 'it changes no C source';
      return warnOnly(`nothing to check: ${why} (${shownFiles})`, inputItems);
    }
    return await analyse({ ...series, patches: [patch] }, patch, lines, inputItems, options);
  } catch (e) {
    const outcome = warnOnly(internalErrorText(e, 'checking this message', false).trimEnd().replace(/^kvm-lens: /, ''));
    return e instanceof Error && e.stack ? { ...outcome, stack: e.stack } : outcome;
  }
}

async function analyse(series: Series, patch: Patch, lines: MailLines, inputItems: B4Item[], options: B4CheckOptions): Promise<B4Outcome> {
  const treeDir = options.tree === false ? undefined : options.tree ?? await kernelTreeAround(options.cwd ?? process.cwd());
  let report: AnalysisReport | undefined;
  let items: B4Item[] = [];
  let modelWhy = options.tree === false ? '--no-tree' : 'the working directory is in no kernel checkout';
  let root: string | undefined;
  if (treeDir !== undefined) {
    const tree = await analyzeTree(treeDir, series, DEFAULT_OPTIONS, ReportCache.open([treeDir]), LoweredFileCache.open([treeDir]), { git: true });
    const blocking = tree.problems.find((p) => blocksX86Kvm(p.file));
    if (tree.tree.files === 0 || blocking) {
      modelWhy = `the kernel checkout ${treeDir} cannot be used: ${blocking?.message ?? 'no KVM x86 source files found'}`;
    } else {
      report = tree;
      root = tree.root;
      items = [...reportItems({ report, patch, mode: 'tree', lines }), ...treeProblemItems(tree.problems, patch, lines)];
      // C files outside the KVM sources: the tree does not read them either
      for (const d of cDiffs(patch).outside) items.push(outsideItem(d, lines));
    }
  }
  if (report === undefined) {
    // b4 calls us once per patch, again on every re-run: an identical message is answered from the cache
    report = await analyzeSeries(series, DEFAULT_OPTIONS, 0, ReportCache.open([]));
    // the analysis notes every change it could not place; a C file outside the KVM sources is
    // said to be that, not a function the model lacks
    const outside = cDiffs(patch).outside;
    const outsideFiles = new Set(outside.map((d) => d.newPath ?? d.oldPath));
    items = [...reportItems({ report, patch, mode: 'model', lines }).filter((i) => !(i.kind === 'not-analysed' && i.place && outsideFiles.has(i.place.file))), ...outside.map((d) => outsideItem(d, lines))];
  }
  const base = basePhrase(report.base, root, modelWhy);
  const all = sortItems([{ status: 'pass', kind: 'base', message: report.base?.line ?? `base: the built-in model (${modelWhy})`, trace: [] }, ...inputItems, ...collapseNotes(items, patch, root)]);
  const v = verdict(all);
  return { ...v, summary: `${v.summary}; checked ${base}`, nothingToCheck: false };
}

/**
 * Notes on code the patch does not touch (a whole tree has dozens: lines that did not parse,
 * bounds that cut a path) are one entry in the details, not one each: they are the tree's, not
 * the patch's, and `kvm-lens check --tree` lists them.
 */
function collapseNotes(items: B4Item[], patch: Patch, root: string | undefined): B4Item[] {
  const files = new Set(patch.diffs.flatMap((d) => [d.oldPath, d.newPath]).filter((f): f is string => f !== null));
  const elsewhere = items.filter((i) => i.kind === 'note' && !(i.place && files.has(i.place.file)));
  if (elsewhere.length <= 1) return items;
  const kept = items.filter((i) => !elsewhere.includes(i));
  const how = root === undefined ? 'kvm-lens check on the patch lists them' : `kvm-lens check --tree ${root} lists them`;
  return [...kept, { status: 'pass', kind: 'note', message: `${plural(elsewhere.length, 'note')} on code this patch does not change (${how})`, trace: [] }];
}

function sortItems(items: B4Item[]): B4Item[] {
  // what decides first, then what the check ran on, then the rest of the context
  const rank = (i: B4Item): number => (i.status === 'fail' ? 0 : i.status === 'warn' ? 1 : i.kind === 'base' ? 2 : i.kind !== 'note' ? 3 : i.place ? 4 : 5);
  return [...items].sort((a, b) => rank(a) - rank(b)
    || (a.place?.file ?? '').localeCompare(b.place?.file ?? '') || (a.place?.line ?? 0) - (b.place?.line ?? 0));
}

/** What the check ran on, for the summary: "on its exact base: base-commit 1a2b3c4d5e6f in /home/me/linux". */
function basePhrase(base: ReportBase | undefined, root: string | undefined, modelWhy: string): string {
  if (!base || base.source === 'model' || root === undefined) return `on the built-in model (${modelWhy})`;
  const what = base.source === 'base-commit' ? `base-commit ${(base.commit ?? '').slice(0, 12)} in ${root}`
    : base.source === 'blobs' ? `the pre-image blobs in ${root}`
      : `the working tree of ${root}`;
  return base.exact ? `on its exact base: ${what}` : `on ${what}, not its exact base`;
}

function listOf(names: string[], most = 3): string {
  const unique = [...new Set(names)];
  return unique.slice(0, most).join('; ') + (unique.length > most ? ` and ${unique.length - most} more` : '');
}

function verdict(items: B4Item[]): { status: B4Outcome['status']; summary: string; items: B4Item[] } {
  const of = (kind: B4Item['kind'], status?: B4Item['status']) => items.filter((i) => i.kind === kind && (status === undefined || i.status === status));
  const errors = of('finding', 'fail');
  const warnings = of('finding', 'warn');
  const partial = of('not-analysed', 'warn');
  const apply = of('apply');
  const input = of('input');
  const phrase = (i: B4Item) => (i.function ? `${i.rule} in ${i.function}()` : i.rule ?? i.message);
  const parts: string[] = [];
  if (errors.length) parts.push(`${plural(errors.length, 'error')}: ${listOf(errors.map(phrase))}`);
  if (warnings.length) parts.push(`${plural(warnings.length, 'warning')}: ${listOf(warnings.map(phrase))}`);
  if (partial.length) parts.push(`${plural(partial.length, 'part')} not analysed (${listOf(partial.map((i) => (i.function ? `${i.function}()` : i.place?.file ?? 'the analysis')))})`);
  if (apply.length) parts.push(`${plural(apply.length, 'hunk')} not applying cleanly to the tree`);
  if (input.length) parts.push(`${plural(input.length, 'problem')} with the mail (${input[0]!.message}${input.length > 1 ? '; ...' : ''})`);
  const status = errors.length ? 'fail' : parts.length ? 'warn' : 'pass';
  if (status === 'pass') {
    const before = of('pre-existing').length;
    const notes = of('note').length;
    const counts = [...(before ? [`${before} pre-existing`] : []), ...(notes ? [plural(notes, 'note')] : [])];
    parts.push(`${before ? 'no findings of its own' : 'no findings'}${counts.length ? ` (${counts.join('; ')})` : ''}`);
  }
  return { status, summary: parts.join('; '), items };
}

// ---------------------------------------------------------------- the two protocols

const WORD = { fail: 'ERROR', warn: 'WARNING' } as const;

/** One item as checkpatch's terse line: `FILE:LINE: ERROR: message [rule]`; a whole-mail one as `kvm-lens: WARNING: message`. */
function terseLine(item: B4Item): string {
  const where = item.place ? `${shown(item.place.file)}:${item.place.line}: ` : `${B4_TOOL}: `;
  const word = item.status === 'fail' ? WORD.fail : WORD.warn;
  const line = `${where}${word}: ${shown(item.message)}${item.rule ? ` [${item.rule}]` : ''}`;
  // b4 fails any line holding "ERROR:"; a warning quoting that word must not become a failure
  return item.status === 'fail' ? line : line.replace(/ERROR:/g, 'error:');
}

/** The text protocol: one line per failure and warning, nothing for a clean patch. */
export function formatTerse(outcome: B4Outcome): string {
  if (outcome.nothingToCheck) return terseLine({ status: 'warn', kind: 'input', message: outcome.summary, trace: [] }) + '\n';
  const lines = outcome.items.filter((i) => i.status !== 'pass').map(terseLine);
  return lines.length ? lines.join('\n') + '\n' : '';
}

/** An item as an entry of b4's structured details: {status, description}, the trace indented under it. */
function detailEntry(item: B4Item): { status: string; description: string } {
  const where = item.place ? `${shown(item.place.file)}:${item.place.line}: ` : '';
  const head = item.status === 'pass'
    ? `${where}${shown(item.message)}${item.rule ? ` [${item.rule}]` : ''}`
    : terseLine(item).replace(/^kvm-lens: /, '');
  return { status: item.status, description: [head, ...item.trace.map((t) => `    ${escapeControl(t)}`)].join('\n') };
}

/** The JSON protocol: one result; `details` a JSON list b4 draws entry by entry. */
export function formatB4Json(outcome: B4Outcome): B4CheckResult[] {
  const entries = outcome.items.map(detailEntry);
  return [{ tool: B4_TOOL, status: outcome.status, summary: shown(outcome.summary), details: entries.length ? JSON.stringify(entries) : '' }];
}

// ---------------------------------------------------------------- the subcommand

/** All of stdin, refused past maxBytes; an idle terminal on stdin is no message. */
export function readProcessStdin(maxBytes: number = B4_MAX_INPUT_BYTES): Promise<BoundedRead> {
  if (process.stdin.isTTY) return Promise.resolve({ ok: true, bytes: Buffer.alloc(0) });
  return readStreamBounded(process.stdin, maxBytes);
}

export function b4CheckUsage(): string {
  return `usage: kvm-lens b4-check [--text] [--tree DIR | --no-tree] [--max-input-size SIZE] < message.eml
  Checks one patch mail as b4 pipes it (body decoded, headers as they were).
  (default)              b4's JSON protocol, for b4.review-perpatch-check-cmd and
                         b4.review-series-check-cmd: [{"tool","status","summary","details"}],
                         details a JSON list of {"status","description"} entries
  --text                 b4's text protocol, for b4.am-perpatch-check-cmd and
                         b4.prep-perpatch-check-cmd: "FILE:LINE: ERROR: message [rule]" and
                         "FILE:LINE: WARNING: ..." lines, nothing for a clean patch
  --tree DIR             check against this kernel checkout (default: the one the working
                         directory is in, as b4 runs the command in the checkout's top level)
  --no-tree              check against the built-in model
  --max-input-size SIZE  a message larger than SIZE bytes is a warning, not read
                         (k, M, G suffixes; default ${B4_MAX_INPUT_BYTES / (1024 * 1024)}M)
  --debug                show the stack trace of an internal error
Exit status: 0 whatever the verdict (unreadable input and internal errors are a warning),
2 for a bad command line, 3 when kvm-lens failed before it could answer.
`;
}

export interface B4Io {
  out: (t: string) => void;
  err: (t: string) => void;
  stdin?: (maxBytes: number) => Promise<BoundedRead | string>;
  /** The working directory to look for a kernel checkout in (default process.cwd()). */
  cwd?: string;
}

/** The subcommand: stdin in, the verdict out in the protocol asked for, exit status 0 whatever the verdict. */
export async function runB4Check(argv: string[], io: B4Io): Promise<number> {
  let maxBytes = B4_MAX_INPUT_BYTES;
  let text = false;
  let debug = false;
  let tree: string | false | undefined;
  const ignored: string[] = [];
  const bad = (message: string): number => {
    io.err(`kvm-lens b4-check: ${message}\n`);
    return EXIT_BAD_INPUT;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string | undefined => (arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i]);
    if (arg === '--help' || arg === '-h') { io.out(b4CheckUsage()); return EXIT_CLEAN; }
    if (arg === '--debug') { debug = true; continue; }
    if (arg === '--text') { text = true; continue; }
    if (arg === '--json') { text = false; continue; }
    if (arg === '--no-tree') { tree = false; continue; }
    if (arg === '--tree' || arg.startsWith('--tree=')) {
      const dir = value();
      if (dir === undefined || dir === '') return bad('--tree needs a directory: the kernel checkout to check against');
      tree = dir;
      continue;
    }
    if (arg === '--max-input-size' || arg.startsWith('--max-input-size=')) {
      const v = value();
      const bytes = sizeOption(shown(v ?? ''));
      if (typeof bytes === 'string') return bad(bytes);
      maxBytes = bytes;
      continue;
    }
    ignored.push(arg);
  }
  if (ignored.length > 0) io.err(`kvm-lens b4-check: ignoring arguments ${shown(ignored.join(' '))}; the message is read from stdin\n`);
  const read = await (io.stdin ?? readProcessStdin)(maxBytes);
  const outcome = typeof read !== 'string' && !read.ok
    ? warnOnly(`not checked: cannot read stdin: ${read.reason}${/larger than/.test(read.reason) ? ' (a patch mail is far smaller; raise the limit with --max-input-size)' : ''}`)
    : await b4Check(typeof read === 'string' ? read : read.bytes, { ...(tree !== undefined ? { tree } : {}), ...(io.cwd !== undefined ? { cwd: io.cwd } : {}) });
  if (debug && outcome.stack) io.err(outcome.stack.replace(/\n?$/, '\n'));
  io.out(text ? formatTerse(outcome) : JSON.stringify(formatB4Json(outcome)) + '\n');
  return EXIT_CLEAN;
}
