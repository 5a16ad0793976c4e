// Reads a patch series from disk (files, directories, mboxes, plain diffs) into Patches,
// orders them by their n/m tags and reports what is missing or doubled. Bad input becomes
// InputProblems; nothing here throws.

import { isUtf8 } from 'node:buffer';
import { readdir, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { looksLikeHeaderLine, parseMailMessage, type BodyText } from './mailMessage';
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

/** Read every input (file or directory) and assemble one ordered series. */
export async function readSeries(inputs: string[]): Promise<Series> {
  const problems: InputProblem[] = [];
  const patches: Patch[] = [];
  if (inputs.length === 0) problems.push({ file: '', message: 'no input given', severity: 'error' });
  for (const input of inputs) {
    const files = await expandInput(input, problems);
    // Read in parallel, parse in order so file order stays the tie-breaker.
    const contents = await Promise.all(files.map((f) => readFile(f).then((b) => ({ ok: true as const, b }), (e: unknown) => ({ ok: false as const, e }))));
    contents.forEach((c, k) => {
      const file = files[k]!;
      if (!c.ok) {
        problems.push({ file, message: `cannot read this file: ${errorText(c.e)}`, severity: 'error' });
        return;
      }
      guarded(file, problems, () => {
        const decoded = decodeFileBytes(file, c.b);
        const parsed = parseSeriesLines(file, decoded.lines);
        append(problems, decoded.problems);
        append(problems, parsed.problems);
        append(patches, parsed.patches);
      });
    });
  }
  return assembleSeries(patches, problems);
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
    problems.push({ file, message: `internal error while reading this file: ${errorText(e)}`, severity: 'error' });
  }
}

/** push(...src) overflows the call stack for very large arrays; a loop does not. */
function append<T>(dst: T[], src: readonly T[]): void {
  for (const x of src) dst.push(x);
}

async function expandInput(input: string, problems: InputProblem[]): Promise<string[]> {
  let isDir: boolean;
  try {
    isDir = (await stat(input)).isDirectory();
  } catch (e) {
    problems.push({ file: input, message: `cannot read this file or directory: ${errorText(e)}`, severity: 'error' });
    return [];
  }
  if (!isDir) return [input];
  let names: string[];
  try {
    names = await readdir(input);
  } catch (e) {
    problems.push({ file: input, message: `cannot read this directory: ${errorText(e)}`, severity: 'error' });
    return [];
  }
  const picked = names.filter((n) => SERIES_FILE_EXTENSIONS.includes(path.extname(n).toLowerCase())).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const files: string[] = [];
  for (const n of picked) {
    const full = path.join(input, n);
    // A subdirectory named "x.patch" is not a patch; the listing is not recursive.
    const st = await stat(full).catch(() => undefined);
    if (st === undefined || st.isFile()) files.push(full); // unreadable entries are reported on read
  }
  if (files.length === 0) {
    problems.push({ file: input, message: `no ${SERIES_FILE_EXTENSIONS.join('/')} files in this directory`, severity: 'warning' });
  }
  return files;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
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
    const fileLines = lines.map((_, i) => i + 1);
    const patch = buildPatch(file, 1, path.basename(file), { lines, fileLines, approximate: false }, problems);
    if (lines.length === 0) problems.push({ file, message: 'the file is empty', severity: 'warning' });
    else if (patch.diffs.length === 0) problems.push({ file, message: 'no diff in this file', severity: 'warning' });
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
    patch.from ??= h.from;
    patch.date ??= h.date;
    if (h.messageId !== undefined) patch.messageId = h.messageId;
    if (h.inReplyTo !== undefined) patch.inReplyTo = h.inReplyTo;
    patch.references = h.references;
    if (h.to) patch.to = h.to;
    if (h.cc) patch.cc = h.cc;
    if (patch.from === undefined) delete patch.from;
    if (patch.date === undefined) delete patch.date;

    const isReply = parseSubjectTags(patch.subject).isReply;

    if (!msg.hasBody || msg.body.lines.every((l) => l.trim() === '')) {
      problems.push({ file, line: startLine, message: `message "${patch.subject}" has headers but no body (truncated?)`, severity: 'error' });
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

/** Split a decoded body into commit message, trailers and diffs. */
function buildPatch(file: string, startLine: number, subject: string, body: BodyText, problems: InputProblem[]): Patch {
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
  }
  if (body.approximate) patch.linesApproximate = true;
  return patch;
}

/** git am honours "From:"/"Date:" lines at the top of the body (author differs from sender). */
function readInBodyHeaders(lines: readonly string[]): { from?: string; date?: string; skip: number } {
  const found: { from?: string; date?: string } = {};
  let i = 0;
  for (; i < lines.length; i++) {
    const m = /^(From|Date):\s*(.*)$/.exec(lines[i]!);
    if (!m) break;
    if (m[1] === 'From') found.from = m[2]!.trim();
    else found.date = m[2]!.trim();
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

/** Order patches by n/m (input order breaks ties), pick the cover letter, report gaps. */
export function assembleSeries(all: Patch[], inputProblems: InputProblem[]): Series {
  const problems = [...inputProblems];
  const covers = all.filter((p) => p.isCoverLetter);
  const rest = all.filter((p) => !p.isCoverLetter);
  const coverLetter = covers[0];
  for (const extra of covers.slice(1)) {
    problems.push({ file: extra.file, line: extra.startLine, message: `second cover letter "${extra.subject}" at ${extra.file}:${extra.startLine} ignored; using the one at ${coverLetter!.file}:${coverLetter!.startLine}`, severity: 'warning' });
  }

  const numbered = rest.filter((p) => p.tags.index !== undefined);
  const unnumbered = rest.filter((p) => p.tags.index === undefined);
  numbered.sort((a, b) => a.tags.index! - b.tags.index!); // stable: file order among equals
  if (numbered.length > 0 && unnumbered.length > 0) {
    const u = unnumbered[0]!;
    problems.push({ file: u.file, line: u.startLine, message: `${unnumbered.length} patch(es) have no n/m in their subject (first: "${u.subject}"); placed after the numbered ones in input order`, severity: 'warning' });
  }

  const totals = new Set<number>();
  for (const p of [...numbered, ...covers]) if (p.tags.total !== undefined) totals.add(p.tags.total);
  if (totals.size > 1) {
    problems.push({ file: numbered[0]?.file ?? covers[0]!.file, message: `patches disagree on the series length: ${[...totals].sort((a, b) => a - b).map((t) => `/${t}`).join(', ')}`, severity: 'warning' });
  }
  if (totals.size > 0) {
    const total = [...totals].reduce((a, b) => Math.max(a, b), 0);
    const byIndex = new Map<number, Patch[]>();
    for (const p of numbered) {
      const same = byIndex.get(p.tags.index!);
      if (same) same.push(p);
      else byIndex.set(p.tags.index!, [p]);
    }
    const missing: number[] = [];
    for (let k = 1; k <= total; k++) if (!byIndex.has(k)) missing.push(k);
    if (missing.length > 0) {
      const have = [...byIndex.keys()].sort((a, b) => a - b);
      problems.push({
        file: (numbered[0] ?? coverLetter)!.file,
        message: `series is incomplete: missing ${missing.map((k) => `${k}/${total}`).join(', ')} (have ${have.length > 0 ? have.join(', ') : 'none'})`,
        severity: 'warning',
      });
    }
    for (const [k, ps] of [...byIndex].sort((a, b) => a[0] - b[0])) {
      if (k > total) {
        problems.push({ file: ps[0]!.file, line: ps[0]!.startLine, message: `patch ${k}/${ps[0]!.tags.total} is numbered beyond the series length ${total}`, severity: 'warning' });
      }
      if (ps.length > 1) {
        const at = ps.map((p) => `${p.file}:${p.startLine}`).join(', ');
        problems.push({ file: ps[1]!.file, line: ps[1]!.startLine, message: `${ps.length} patches are numbered ${k}/${total} (${at}); all kept, in file order`, severity: 'warning' });
      }
    }
  }

  const versions = new Set(all.map((p) => p.tags.version));
  if (versions.size > 1) {
    problems.push({ file: all[0]!.file, message: `patches from different versions mixed: ${[...versions].sort((a, b) => a - b).map((v) => `v${v}`).join(', ')}`, severity: 'warning' });
  }

  const series: Series = { patches: [...numbered, ...unnumbered], problems };
  if (coverLetter) series.coverLetter = coverLetter;
  return series;
}
