// Reads a patch series from disk (files, directories, mboxes, plain diffs) into Patches,
// orders them by their n/m tags and reports what is missing or doubled. Bad input becomes
// InputProblems; nothing here throws.

import { isUtf8 } from 'node:buffer';
import { readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { DEFAULT_MAX_INPUT_BYTES, errnoText, readRegularFile, type BoundedRead } from '../io/boundedRead';
import { escapeControl, oneLine } from '../text/controlChars';
import { describeRanges, missingRanges, rangesOf } from './indexRanges';
import { looksLikeHeaderLine, parseMailMessage, type BodyText } from './mailMessage';
import { describeNonText } from './nonTextInput';
import { parseSubjectTags } from './subjectTags';
import { parseTrailers } from './trailers';
import type { InputProblem, Patch, Series } from './types';
import { findDiffStart, parseUnifiedDiff } from './unifiedDiff';

/** Extensions taken from a directory given as input. */
export const SERIES_FILE_EXTENSIONS: readonly string[] = ['.patch', '.diff', '.mbox', '.mbx', '.eml'];

export interface ParsedFile {
  patches: Patch[];
  problems: InputProblem[];
}

export interface ReadSeriesOptions {
  /** No single input file larger than this is read (default DEFAULT_MAX_INPUT_BYTES). */
  maxInputBytes?: number;
}

/** Files read ahead of the one being parsed: enough to hide latency, few enough to bound memory. */
const READ_AHEAD = 2;

/**
 * Read every input (file or directory) and assemble one ordered series. Only regular files are
 * opened (a FIFO, a device or a socket is refused without blocking), none larger than the limit.
 */
export async function readSeries(inputs: string[], options: ReadSeriesOptions = {}): Promise<Series> {
  const maxBytes = options.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES;
  const problems: InputProblem[] = [];
  const patches: Patch[] = [];
  if (inputs.length === 0) problems.push({ file: '', message: 'no input given', severity: 'error' });
  const files: string[] = [];
  for (const input of inputs) append(files, await expandInput(input, problems));
  // Read a few files ahead, parse strictly in order so file order stays the tie-breaker; each
  // file's bytes are dropped once parsed.
  const pending: Promise<BoundedRead>[] = [];
  for (let k = 0; k < files.length; k++) {
    while (pending.length < READ_AHEAD && k + pending.length < files.length) pending.push(readRegularFile(files[k + pending.length]!, maxBytes));
    const read = await pending.shift()!;
    const file = files[k]!;
    if (!read.ok) {
      problems.push({ file, message: `cannot read this file: ${read.reason}`, severity: 'error' });
      continue;
    }
    const parsed = parseSeriesBytes(file, read.bytes);
    append(problems, parsed.problems);
    append(patches, parsed.patches);
  }
  return assembleSeries(patches, problems);
}

/**
 * Parse one file's bytes (a file, or standard input): refused in one line when they cannot be a
 * patch at all (empty, binary, UTF-16); a message with invalid UTF-8 is read as Latin-1 and said so.
 */
export function parseSeriesBytes(file: string, bytes: Buffer): ParsedFile {
  const notText = describeNonText(bytes);
  if (notText !== undefined) return { patches: [], problems: [{ file, message: notText, severity: 'warning' }] };
  const result: ParsedFile = { patches: [], problems: [] };
  guarded(file, result.problems, () => {
    const decoded = decodeFileBytes(file, bytes);
    const parsed = parseSeriesLines(file, decoded.lines);
    append(result.problems, decoded.problems);
    append(result.problems, parsed.problems);
    append(result.patches, parsed.patches);
  });
  return result;
}

/** Parse one file's text (e.g. an unsaved editor buffer); patches are in file order. */
export function parseSeriesText(file: string, text: string): ParsedFile {
  let result: ParsedFile = { patches: [], problems: [] };
  guarded(file, result.problems, () => {
    result = parseSeriesLines(file, splitLines(text.startsWith('\uFEFF') ? text.slice(1) : text));
  });
  return result;
}

/** Last line of defence: a bug in a parser must cost one file, not the whole series. */
function guarded(file: string, problems: InputProblem[], fn: () => void): void {
  try {
    fn();
  } catch (e) {
    problems.push({ file, message: `internal error while reading this file: ${oneLine(errnoText(e))}`, severity: 'error' });
  }
}

/** push(...src) overflows the call stack for very large arrays; a loop does not. */
function append<T>(dst: T[], src: readonly T[]): void {
  for (const x of src) dst.push(x);
}

/**
 * The files an input names: itself, or the series files of a directory (not recursive). An
 * entry that cannot be examined is kept, so reading it reports why, naming the entry.
 */
async function expandInput(input: string, problems: InputProblem[]): Promise<string[]> {
  let isDir: boolean;
  try {
    isDir = (await stat(input)).isDirectory();
  } catch (e) {
    problems.push({ file: input, message: `cannot read this file or directory: ${errnoText(e)}`, severity: 'error' });
    return [];
  }
  if (!isDir) return [input];
  let names: string[];
  try {
    names = await readdir(input);
  } catch (e) {
    problems.push({ file: input, message: `cannot read this directory: ${errnoText(e)}`, severity: 'error' });
    return [];
  }
  const picked = names.filter((n) => SERIES_FILE_EXTENSIONS.includes(path.extname(n).toLowerCase())).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const files: string[] = [];
  for (const n of picked) {
    const full = path.join(input, n);
    // A subdirectory named "x.patch" is not a patch; anything else (a FIFO, a dangling link,
    // an entry we may not examine) goes on to be read and refused with its reason.
    const st = await stat(full).catch(() => undefined);
    if (st === undefined || !st.isDirectory()) files.push(full);
  }
  if (files.length === 0) {
    problems.push({ file: input, message: `no ${SERIES_FILE_EXTENSIONS.join('/')} files in this directory`, severity: 'warning' });
  }
  return files;
}

// ---------------------------------------------------------------- bytes and lines

/** Split once; CRLF and LF both end a line, a final terminator does not start a new one. */
function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.charCodeAt(l.length - 1) === 13) lines[i] = l.slice(0, -1);
  }
  return lines;
}

/**
 * UTF-8 when the whole file is valid (the fast, common case). Otherwise each message that
 * holds an invalid byte is read as Latin-1, with a warning naming its first bad line.
 */
function decodeFileBytes(file: string, bytes: Buffer): { lines: string[]; problems: InputProblem[] } {
  const buf = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
  if (isUtf8(buf)) return { lines: splitLines(buf.toString('utf8')), problems: [] };
  const problems: InputProblem[] = [];
  // Latin-1 maps bytes 1:1, so line and message boundaries are found before choosing.
  const lines = splitLines(buf.toString('latin1'));
  const { ranges } = splitMessages(lines);
  for (const r of ranges) {
    let bad = -1;
    for (let i = r.from; i < r.end && bad < 0; i++) {
      if (/[\x80-\xff]/.test(lines[i]!) && !isUtf8(Buffer.from(lines[i]!, 'latin1'))) bad = i;
    }
    if (bad >= 0) {
      problems.push({ file, line: bad + 1, message: `invalid UTF-8; this message was read as Latin-1`, severity: 'warning' });
      continue;
    }
    for (let i = r.from; i < r.end; i++) {
      if (/[\x80-\xff]/.test(lines[i]!)) lines[i] = Buffer.from(lines[i]!, 'latin1').toString('utf8');
    }
  }
  return { lines, problems };
}

// ---------------------------------------------------------------- messages

interface MessageRange {
  /** Index of the message's first line (the mbox "From " line when there is one). */
  from: number;
  /** Index of its first header line. */
  headers: number;
  end: number;
}

type FileKind = 'mbox' | 'mail' | 'plain';

// git format-patch's fixed separator, and the general mbox one ("From sender date-with-time").
const FORMAT_PATCH_FROM = /^From [0-9a-f]{40} Mon Sep 17 00:00:00 2001$/;
const MBOX_FROM = /^From \S+ +\S.*\d{1,2}:\d\d/;

function splitMessages(lines: readonly string[]): { kind: FileKind; ranges: MessageRange[] } {
  let first = 0;
  while (first < lines.length && lines[first]!.trim() === '') first++;
  if (first >= lines.length) return { kind: 'plain', ranges: [{ from: 0, headers: 0, end: lines.length }] };
  const head = lines[first]!;
  if (FORMAT_PATCH_FROM.test(head) || MBOX_FROM.test(head)) {
    const starts: number[] = [];
    for (let i = first; i < lines.length; i++) {
      const l = lines[i]!;
      if (!l.startsWith('From ')) continue;
      // An unquoted "From " in a body is only a separator after a blank line (or git's magic).
      if (FORMAT_PATCH_FROM.test(l) || ((i === first || lines[i - 1] === '') && MBOX_FROM.test(l))) starts.push(i);
    }
    const ranges = starts.map((s, k) => ({ from: s, headers: s + 1, end: starts[k + 1] ?? lines.length }));
    return { kind: 'mbox', ranges };
  }
  if (looksLikeHeaderLine(head) && hasMailHeader(lines, first)) {
    return { kind: 'mail', ranges: [{ from: first, headers: first, end: lines.length }] };
  }
  return { kind: 'plain', ranges: [{ from: 0, headers: 0, end: lines.length }] };
}

/** A header block counts as mail only if it carries a From or Subject header. */
function hasMailHeader(lines: readonly string[], start: number): boolean {
  for (let i = start; i < lines.length && lines[i] !== ''; i++) {
    if (/^(from|subject):/i.test(lines[i]!)) return true;
  }
  return false;
}

function parseSeriesLines(file: string, lines: string[]): ParsedFile {
  const problems: InputProblem[] = [];
  const { kind, ranges } = splitMessages(lines);
  if (kind === 'plain') {
    // Nothing but blank lines is not a patch without a diff; it is no patch at all.
    if (lines.every((l) => l.trim() === '')) {
      problems.push({ file, message: lines.length === 0 ? 'the file is empty' : 'the file holds only white space, not a patch', severity: 'warning' });
      return { patches: [], problems };
    }
    const fileLines = lines.map((_, i) => i + 1);
    const patch = buildPatch(file, 1, path.basename(file), { lines, fileLines, approximate: false }, problems);
    if (patch.diffs.length === 0) problems.push({ file, message: 'no diff in this file', severity: 'warning' });
    return { patches: [patch], problems };
  }

  const patches: Patch[] = [];
  const replies: Patch[] = [];
  for (const r of ranges) {
    const msg = parseMailMessage(lines, r.headers, r.end, { file, unescapeFrom: kind === 'mbox' });
    append(problems, msg.problems);
    const startLine = r.from + 1;
    const patch = buildPatch(file, startLine, msg.headers.subject ?? path.basename(file), msg.body, problems);
    const h = msg.headers;
    // Only defined fields are set: deleting a property later turns every Patch into a
    // dictionary-mode object, several times larger, which a 200k-message mbox feels.
    if (patch.from === undefined && h.from !== undefined) patch.from = h.from;
    if (patch.date === undefined && h.date !== undefined) patch.date = h.date;
    if (h.messageId !== undefined) patch.messageId = h.messageId;
    if (h.inReplyTo !== undefined) patch.inReplyTo = h.inReplyTo;
    patch.references = h.references;
    if (h.to) patch.to = h.to;
    if (h.cc) patch.cc = h.cc;

    const isReply = parseSubjectTags(patch.subject).isReply;

    if (!msg.hasBody || msg.body.lines.every((l) => l.trim() === '')) {
      problems.push({ file, line: startLine, message: `message "${clip(patch.subject)}" has headers but no body: the mail looks truncated`, severity: 'warning' });
    } else if (patch.diffs.length === 0 && !patch.isCoverLetter && !isReply) {
      problems.push({ file, line: startLine, message: `no diff in this ${ranges.length > 1 ? "message" : "file"}`, severity: 'warning' });
    }
    (isReply ? replies : patches).push(patch);
  }
  // Review replies in a thread mbox are not part of the series; a file of nothing but
  // replies is kept as it is, since there is nothing else the user could have meant.
  if (patches.length === 0) return { patches: replies, problems };
  if (replies.length > 0) {
    problems.push({ file, line: replies[0]!.startLine, message: `skipped ${replies.length} reply message(s) ("Re: ..."), first at line ${replies[0]!.startLine}`, severity: 'warning' });
  }
  return { patches, problems };
}

/** Input text quoted in a message: one short line with its control characters made visible. */
function clip(text: string, max = 80): string {
  return escapeControl(text.length > max ? `${text.slice(0, max)}...` : text);
}

/** Split a decoded body into commit message, trailers and diffs. */
function buildPatch(file: string, startLine: number, rawSubject: string, body: BodyText, problems: InputProblem[]): Patch {
  // A subject is one line by nature, even when it comes from an encoded word or a file name.
  const subject = oneLine(rawSubject);
  const { tags, title } = parseSubjectTags(subject);
  const inBody = readInBodyHeaders(body.lines);
  const lines = body.lines.slice(inBody.skip);
  const fileLines = body.fileLines.slice(inBody.skip);

  // git am's rule: the message ends at the first "---" line; the diff follows it (after the
  // diffstat). Without a "---", the message ends where the diff starts.
  const sep = lines.findIndex((l) => l.trimEnd() === '---');
  let diffAt = sep >= 0 ? findDiffStart(lines, sep + 1) : -1;
  let messageEnd: number;
  if (diffAt >= 0) messageEnd = sep;
  else {
    diffAt = findDiffStart(lines, 0);
    const sig = lines.findIndex((l) => l === '-- ');
    messageEnd = diffAt >= 0 ? diffAt : sep >= 0 ? sep : sig >= 0 ? sig : lines.length;
  }
  const commitMessage = trimBlankLines(lines.slice(0, messageEnd)).join('\n');

  const patch: Patch = {
    file,
    startLine,
    subject,
    title,
    tags,
    references: [],
    isCoverLetter: tags.index === 0,
    commitMessage,
    trailers: parseTrailers(commitMessage),
    diffs: [],
  };
  if (inBody.from !== undefined) patch.from = inBody.from;
  if (inBody.date !== undefined) patch.date = inBody.date;
  if (diffAt >= 0) {
    const d = parseUnifiedDiff(lines, fileLines, { file, start: diffAt });
    patch.diffs = d.diffs;
    append(problems, d.problems);
    if (sep >= 0 && sep < diffAt) checkDiffstat(file, lines, fileLines, sep + 1, diffAt, d.diffs.length, problems);
  }
  if (body.approximate) patch.linesApproximate = true;
  const base = baseCommitLine(lines, Math.max(diffAt, 0));
  if (base) patch.baseCommit = { id: base.id, file, line: fileLines[base.at] ?? startLine };
  return patch;
}

const BASE_COMMIT = /^base-commit: ([0-9a-f]{7,64})\s*$/;

/** The `base-commit:` line format-patch and b4 write after the diff (or the cover letter's text), before the signature. */
function baseCommitLine(lines: readonly string[], from: number): { id: string; at: number } | undefined {
  for (let i = from; i < lines.length; i++) {
    if (lines[i] === '-- ') break;
    const m = BASE_COMMIT.exec(lines[i]!);
    if (m) return { id: m[1]!, at: i };
  }
  return undefined;
}

/**
 * A mail cut between two file diffs looks complete; its diffstat still counts the files that
 * were lost ("2 files changed"), so fewer diffs than that means the rest is missing.
 */
function checkDiffstat(file: string, lines: readonly string[], fileLines: readonly number[], from: number, to: number, diffs: number, problems: InputProblem[]): void {
  for (let i = from; i < to; i++) {
    const m = /^ (\d{1,9}) files? changed\b/.exec(lines[i]!);
    if (!m) continue;
    const said = Number(m[1]);
    if (diffs < said) {
      problems.push({ file, line: fileLines[i], message: `the diffstat says ${said} file${said === 1 ? '' : 's'} changed but the diff has ${diffs}: the patch looks truncated`, severity: 'warning' });
    }
    return;
  }
}

/** git am honours "From:"/"Date:" lines at the top of the body (author differs from sender). */
function readInBodyHeaders(lines: readonly string[]): { from?: string; date?: string; skip: number } {
  const found: { from?: string; date?: string } = {};
  let i = 0;
  for (; i < lines.length; i++) {
    const m = /^(From|Date):\s*(.*)$/s.exec(lines[i]!);
    if (!m) break;
    if (m[1] === 'From') found.from = oneLine(m[2]!);
    else found.date = oneLine(m[2]!);
  }
  if (i === 0 || (i < lines.length && lines[i]!.trim() !== '')) return { skip: 0 };
  return { ...found, skip: Math.min(i + 1, lines.length) };
}

function trimBlankLines(lines: string[]): string[] {
  let s = 0;
  let e = lines.length;
  while (s < e && lines[s]!.trim() === '') s++;
  while (e > s && lines[e - 1]!.trim() === '') e--;
  return lines.slice(s, e);
}

// ---------------------------------------------------------------- series

/** How many items a message lists before it says "and N more". */
const MAX_LISTED = 6;

/** "file:line" of a patch inside a message, its path's control characters made visible. */
function placeOf(p: Patch): string {
  return escapeControl(`${p.file}:${p.startLine}`);
}

function listFew(items: readonly string[]): string {
  const shown = items.slice(0, MAX_LISTED).join(', ');
  return items.length > MAX_LISTED ? `${shown} and ${items.length - MAX_LISTED} more` : shown;
}

/** Order patches by n/m (input order breaks ties), pick the cover letter, report gaps. */
export function assembleSeries(all: Patch[], inputProblems: InputProblem[]): Series {
  const problems = [...inputProblems];
  const covers = all.filter((p) => p.isCoverLetter);
  const rest = all.filter((p) => !p.isCoverLetter);
  const coverLetter = covers[0];
  for (const extra of covers.slice(1, 1 + MAX_LISTED)) {
    problems.push({ file: extra.file, line: extra.startLine, message: `second cover letter "${clip(extra.subject)}" at ${placeOf(extra)} ignored; using the one at ${placeOf(coverLetter!)}`, severity: 'warning' });
  }
  if (covers.length > 1 + MAX_LISTED) {
    const extra = covers[1 + MAX_LISTED]!;
    problems.push({ file: extra.file, line: extra.startLine, message: `${covers.length - 1 - MAX_LISTED} more cover letters ignored, the next at ${placeOf(extra)}`, severity: 'warning' });
  }

  const numbered = rest.filter((p) => p.tags.index !== undefined);
  const unnumbered = rest.filter((p) => p.tags.index === undefined);
  numbered.sort((a, b) => a.tags.index! - b.tags.index!); // stable: file order among equals
  if (numbered.length > 0 && unnumbered.length > 0) {
    const u = unnumbered[0]!;
    problems.push({ file: u.file, line: u.startLine, message: `${unnumbered.length} patch(es) have no n/m in their subject (first: "${clip(u.subject)}"); placed after the numbered ones in input order`, severity: 'warning' });
  }

  // Everything below works on the patches present, never on the claimed total: a subject
  // saying "1/999999999" must cost no more than "1/3".
  const totals = new Set<number>();
  for (const p of numbered) if (p.tags.total !== undefined) totals.add(p.tags.total);
  for (const p of covers) if (p.tags.total !== undefined) totals.add(p.tags.total);
  if (totals.size > 1) {
    problems.push({ file: numbered[0]?.file ?? covers[0]!.file, message: `patches disagree on the series length: ${listFew([...totals].sort((a, b) => a - b).map((t) => `/${t}`))}`, severity: 'warning' });
  }
  if (totals.size > 0) {
    let total = 0;
    for (const t of totals) total = Math.max(total, t);
    const byIndex = new Map<number, Patch[]>();
    for (const p of numbered) {
      const same = byIndex.get(p.tags.index!);
      if (same) same.push(p);
      else byIndex.set(p.tags.index!, [p]);
    }
    const missing = missingRanges(byIndex.keys(), total);
    if (missing.length > 0) {
      const have = [...byIndex.keys()].filter((k) => k >= 1 && k <= total);
      problems.push({
        file: (numbered[0] ?? coverLetter)!.file,
        message: `series is incomplete: missing ${describeRanges(missing)} of ${total} (have ${have.length > 0 ? describeRanges(rangesOf(have)) : 'none'})`,
        severity: 'warning',
      });
    }
    const beyond = numbered.filter((p) => p.tags.index! > total);
    if (beyond.length > 0) {
      const first = beyond[0]!;
      const which = beyond.length === 1 ? `patch ${first.tags.index}/${first.tags.total} is` : `${beyond.length} patches (${describeRanges(rangesOf(beyond.map((p) => p.tags.index!)))}) are`;
      problems.push({ file: first.file, line: first.startLine, message: `${which} numbered beyond the series length ${total}`, severity: 'warning' });
    }
    const doubled = [...byIndex].filter(([, ps]) => ps.length > 1).sort((a, b) => a[0] - b[0]);
    for (const [k, ps] of doubled.slice(0, MAX_LISTED)) {
      const at = listFew(ps.map(placeOf));
      problems.push({ file: ps[1]!.file, line: ps[1]!.startLine, message: `${ps.length} patches are numbered ${k}/${total} (${at}); all kept, in file order`, severity: 'warning' });
    }
    if (doubled.length > MAX_LISTED) {
      const rest = doubled.slice(MAX_LISTED);
      const first = rest[0]![1][1]!;
      problems.push({ file: first.file, line: first.startLine, message: `${rest.length} more numbers are shared by several patches (${describeRanges(rangesOf(rest.map(([k]) => k)))}); all kept, in file order`, severity: 'warning' });
    }
  }

  const versions = new Set(all.map((p) => p.tags.version));
  if (versions.size > 1) {
    problems.push({ file: all[0]!.file, message: `patches from different versions mixed: ${listFew([...versions].sort((a, b) => a - b).map((v) => `v${v}`))}`, severity: 'warning' });
  }

  const series: Series = { patches: [...numbered, ...unnumbered], problems };
  if (coverLetter) series.coverLetter = coverLetter;
  const base = coverLetter?.baseCommit ?? series.patches.find((p) => p.baseCommit)?.baseCommit;
  if (base) series.baseCommit = base;
  return series;
}
