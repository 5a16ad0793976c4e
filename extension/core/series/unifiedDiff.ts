// Parses the diff part of a patch mail: git diffs ("diff --git" blocks with extended headers)
// and plain unified diffs ("---"/"+++" only). Every hunk line keeps its line in the patch file.
// Malformed input becomes InputProblems (warnings: the text was read, part of it is doubtful);
// nothing here throws.

import { escapeControl } from '../text/controlChars';
import type { FileDiff, Hunk, InputProblem } from './types';

export interface DiffParseOptions {
  /** Path of the patch file, used in problems. */
  file: string;
  /** Index into `lines` to start scanning at; lines before it are ignored. */
  start?: number;
}

export interface DiffParseResult {
  diffs: FileDiff[];
  problems: InputProblem[];
}

const HUNK_HEADER = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$/;

/**
 * Index of the first line that starts a diff ("diff --git", or a "---"/"+++" pair followed by
 * a hunk header), searching from `from`; -1 when there is none.
 */
export function findDiffStart(lines: readonly string[], from = 0): number {
  for (let i = from; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.startsWith('diff --git ')) return i;
    if (isPlainFileHeader(lines, i) && (lines[i + 2] ?? '').startsWith('@@ -')) return i;
  }
  return -1;
}

function isPlainFileHeader(lines: readonly string[], i: number): boolean {
  return lines[i]!.startsWith('--- ') && (lines[i + 1] ?? '').startsWith('+++ ');
}

/**
 * format-patch ends with "-- " and the git version; some mailers strip the space. Inside a
 * hunk "-- " may also be a removed "- " line, so there only a version line or the end of the
 * input after it makes it a signature.
 */
function isSignature(lines: readonly string[], i: number, inHunk = false): boolean {
  const l = lines[i]!;
  if (l !== '-- ' && l !== '--') return false;
  const next = lines[i + 1];
  const versionNext = next === undefined || /^\d+(\.\d+)+/.test(next);
  return l === '-- ' && !inHunk ? true : versionNext;
}

/**
 * Parse every file diff in `lines` (decoded body lines); `fileLines[i]` is the 1-based line of
 * the patch file where lines[i] starts. Scanning stops at the format-patch signature.
 */
export function parseUnifiedDiff(lines: readonly string[], fileLines: readonly number[], opts: DiffParseOptions): DiffParseResult {
  return new DiffParser(lines, fileLines, opts.file).run(opts.start ?? 0);
}

class DiffParser {
  private readonly diffs: FileDiff[] = [];
  private readonly problems: InputProblem[] = [];

  constructor(
    private readonly lines: readonly string[],
    private readonly fileLines: readonly number[],
    private readonly file: string,
  ) {}

  run(start: number): DiffParseResult {
    const { lines } = this;
    let i = start;
    while (i < lines.length) {
      const l = lines[i]!;
      if (isSignature(lines, i)) break;
      if (l.startsWith('diff --git ')) i = this.gitFile(i);
      else if (isPlainFileHeader(lines, i)) i = this.plainFile(i);
      else i++; // diffstat, notes, "Index:" lines of other tools: not ours to read
    }
    return { diffs: exactSize(this.diffs), problems: this.problems };
  }

  private at(i: number): number {
    return this.fileLines[Math.min(i, this.fileLines.length - 1)] ?? 0;
  }

  private problem(i: number, message: string): void {
    this.problems.push({ file: this.file, line: this.at(i), message, severity: 'warning' });
  }

  private gitFile(i: number): number {
    const { lines } = this;
    const start = i;
    const [gitOld, gitNew] = splitGitHeader(lines[i]!.slice('diff --git '.length));
    const fd: FileDiff = { oldPath: gitOld, newPath: gitNew, status: 'modified', binary: false, hunks: [], headerPatchLine: this.at(i) };
    const seen = new Set<string>(); // the extended header lines present, by kind
    let renameFrom: string | undefined;
    let renameTo: string | undefined;
    let copy = false;
    let index: { old: string; new: string } | undefined;
    let minus: string | null | undefined;
    let plus: string | null | undefined;
    i++;
    headers: while (i < lines.length) {
      const l = lines[i]!;
      if (l.startsWith('new file mode')) seen.add('new');
      else if (l.startsWith('deleted file mode')) seen.add('deleted');
      else if (l.startsWith('rename from ')) renameFrom = unquote(l.slice('rename from '.length));
      else if (l.startsWith('rename to ')) renameTo = unquote(l.slice('rename to '.length));
      else if (l.startsWith('copy from ')) {
        copy = true;
        renameFrom = unquote(l.slice('copy from '.length));
      } else if (l.startsWith('copy to ')) {
        copy = true;
        renameTo = unquote(l.slice('copy to '.length));
      } else if (l.startsWith('old mode ')) seen.add('old mode');
      else if (l.startsWith('new mode ')) seen.add('new mode');
      else if (l.startsWith('index ')) {
        const m = /^index ([0-9a-f]+)\.\.([0-9a-f]+)/.exec(l);
        index = m ? { old: m[1]!, new: m[2]! } : { old: '', new: '' };
      } else if (/^(similarity index|dissimilarity index) /.test(l)) {
        // Recognised but carries nothing the analysis needs.
      } else if (l.startsWith('Binary files ')) {
        fd.binary = true;
        i++;
        break headers;
      } else if (l === 'GIT binary patch') {
        fd.binary = true;
        // Skip the base85 blocks; their lines never start like a diff header or signature.
        i++;
        while (i < lines.length && !lines[i]!.startsWith('diff --git ') && !isSignature(lines, i)) i++;
        break headers;
      } else if (isPlainFileHeader(lines, i)) {
        minus = diffPath(lines[i]!.slice(4), 'a/', false);
        plus = diffPath(lines[i + 1]!.slice(4), 'b/', false);
        i += 2;
        break headers;
      } else if (l.startsWith('--- ')) {
        // The "+++" line that must follow is missing: the mail was cut here, or edited badly.
        this.problem(i, `diff of ${pathText(fd)}: "---" line without the "+++" line after it: the patch looks truncated`);
        minus = diffPath(l.slice(4), 'a/', false);
        i++;
        seen.add('reported');
        break headers;
      } else if (l.startsWith('+++ ')) {
        this.problem(i, `diff of ${pathText(fd)}: "+++" line without a "---" line before it`);
        plus = diffPath(l.slice(4), 'b/', false);
        i++;
        seen.add('reported');
        break headers;
      } else break headers; // next file, a hunk, or the end of this (header-only) diff
      i++;
    }

    if (seen.has('new') || minus === null) fd.status = 'added';
    else if (seen.has('deleted') || plus === null) fd.status = 'deleted';
    else if (renameFrom !== undefined || renameTo !== undefined) fd.status = copy ? 'copied' : 'renamed';
    fd.oldPath = fd.status === 'added' ? null : (renameFrom ?? minus ?? gitOld);
    fd.newPath = fd.status === 'deleted' ? null : (renameTo ?? plus ?? gitNew);
    if (index && index.old && index.new) fd.index = index;
    this.diffs.push(fd);
    if (fd.binary) return i;
    const problemsBefore = this.problems.length;
    const next = this.hunks(fd, i);
    if (fd.hunks.length === 0 && this.problems.length === problemsBefore && !seen.has('reported')) {
      const headerOnly = minus === undefined && plus === undefined && isHeaderOnlyChange(seen, renameFrom, renameTo, index);
      if (!headerOnly) this.problem(start, `diff of ${pathText(fd)} has no hunk: the patch looks truncated`);
    }
    return next;
  }

  private plainFile(i: number): number {
    const start = i;
    const minus = diffPath(this.lines[i]!.slice(4), 'a/', true);
    const plus = diffPath(this.lines[i + 1]!.slice(4), 'b/', true);
    const fd: FileDiff = {
      oldPath: minus,
      newPath: plus,
      status: minus === null ? 'added' : plus === null ? 'deleted' : 'modified',
      binary: false,
      hunks: [],
      headerPatchLine: this.at(i),
    };
    this.diffs.push(fd);
    const problemsBefore = this.problems.length;
    const next = this.hunks(fd, i + 2);
    if (fd.hunks.length === 0 && this.problems.length === problemsBefore) {
      this.problem(start, `diff of ${pathText(fd)} has no hunk: the patch looks truncated`);
    }
    return next;
  }

  /** Read the hunks of one file diff starting at line i; returns the first line after them. */
  private hunks(fd: FileDiff, i: number): number {
    const { lines } = this;
    while (i < lines.length) {
      const l = lines[i]!;
      if (l.startsWith('@@ ')) {
        i = this.hunk(fd, i);
      } else if (this.isStrayBodyLine(i)) {
        this.problem(i, `${describeHunk(fd.hunks[fd.hunks.length - 1])}of ${pathText(fd)} has more lines than its header says; extra lines ignored`);
        i = this.skipBodyLines(i);
      } else break;
    }
    return i;
  }

  private isStrayBodyLine(i: number): boolean {
    const l = this.lines[i]!;
    if (l === '' || isSignature(this.lines, i) || isPlainFileHeader(this.lines, i)) return false;
    return l[0] === ' ' || l[0] === '+' || l[0] === '-';
  }

  private skipBodyLines(i: number): number {
    while (i < this.lines.length && (this.isStrayBodyLine(i) || this.lines[i]!.startsWith('\\'))) i++;
    return i;
  }

  private hunk(fd: FileDiff, i: number): number {
    const { lines } = this;
    const m = HUNK_HEADER.exec(lines[i]!);
    if (!m) {
      this.problem(i, `malformed hunk header in ${pathText(fd)}: "${clip(lines[i]!)}" (cut short, or not a hunk header); hunk skipped`);
      return this.skipBodyLines(i + 1);
    }
    const hunk: Hunk = {
      oldStart: Number(m[1]),
      oldCount: m[2] === undefined ? 1 : Number(m[2]),
      newStart: Number(m[3]),
      newCount: m[4] === undefined ? 1 : Number(m[4]),
      section: m[5] ?? '',
      headerPatchLine: this.at(i),
      lines: [],
    };
    fd.hunks.push(hunk);
    let oldLeft = hunk.oldCount;
    let newLeft = hunk.newCount;
    let oldNo = hunk.oldStart;
    let newNo = hunk.newStart;
    i++;
    while (oldLeft > 0 || newLeft > 0) {
      if (i >= lines.length) {
        this.problem(i - 1, `${describeHunk(hunk)}of ${pathText(fd)} is cut short at the end of the input: ${oldLeft} old and ${newLeft} new lines missing; kept the ${hunk.lines.length} lines present`);
        return i;
      }
      const l = lines[i]!;
      const c = l[0];
      const patchLine = this.fileLines[i]!;
      // An empty line is a context line whose single space a mailer stripped.
      if ((c === ' ' || l === '') && oldLeft > 0 && newLeft > 0) {
        hunk.lines.push({ kind: 'context', text: l.slice(1), patchLine, oldLine: oldNo++, newLine: newNo++ });
        oldLeft--;
        newLeft--;
      } else if (c === '+' && newLeft > 0) {
        hunk.lines.push({ kind: 'added', text: l.slice(1), patchLine, newLine: newNo++ });
        newLeft--;
      } else if (c === '-' && oldLeft > 0 && !isSignature(lines, i, true)) {
        hunk.lines.push({ kind: 'removed', text: l.slice(1), patchLine, oldLine: oldNo++ });
        oldLeft--;
      } else if (c === '\\') {
        // "\ No newline at end of file" qualifies the line before it.
      } else {
        this.problem(i, `${describeHunk(hunk)}of ${pathText(fd)} does not match its header: expected ${oldLeft} more old and ${newLeft} more new lines, found "${clip(l)}"; kept the ${hunk.lines.length} lines before it`);
        // The rest of a broken hunk is not trusted; resume at the next header.
        return this.skipBodyLines(i);
      }
      i++;
    }
    if (i < lines.length && lines[i]!.startsWith('\\')) i++;
    return i;
  }
}

/**
 * The arrays of a parse, copied to their exact length: an array grown by push keeps room for
 * 17 elements or half again its length, which for the one-hunk, few-line diffs of a long
 * mbox costs more than the diffs themselves.
 */
function exactSize(diffs: FileDiff[]): FileDiff[] {
  for (const d of diffs) {
    for (const h of d.hunks) h.lines = h.lines.slice();
    d.hunks = d.hunks.slice();
  }
  return diffs.slice();
}

function describeHunk(h: Hunk | undefined): string {
  if (!h) return 'diff ';
  return `hunk "@@ -${h.oldStart},${h.oldCount} +${h.newStart},${h.newCount} @@" (line ${h.headerPatchLine}) `;
}

/** The file a diff is about, as shown in a message (a path may hold any byte but "/" and NUL). */
function pathText(fd: FileDiff): string {
  return clip(fd.newPath ?? fd.oldPath ?? '(unknown file)', 200);
}

/** Input text quoted in a message: short, its control characters made visible. */
function clip(s: string, max = 40): string {
  return escapeControl(s.length > max ? `${s.slice(0, max)}...` : s);
}

// The empty blob's name in SHA-1 and SHA-256 repositories; "index" lines abbreviate it.
const EMPTY_BLOBS = ['e69de29bb2d1d6434b8b29ae775ad8c2e48c5391', '473a0f4c3be8a93681a267e3b1e9a7dcda1185436fe141f7749120a303721813'];

function isEmptyBlob(name: string): boolean {
  return name.length >= 7 && EMPTY_BLOBS.some((b) => b.startsWith(name));
}

/**
 * Does this git header describe a change with no content to show, as git writes it: a pure
 * rename or copy ("similarity index 100%", no index line), a mode change, or an empty file
 * created or deleted. Anything else without a hunk lost its hunks on the way.
 */
function isHeaderOnlyChange(seen: ReadonlySet<string>, renameFrom: string | undefined, renameTo: string | undefined, index: { old: string; new: string } | undefined): boolean {
  if (seen.has('new')) return index !== undefined && isEmptyBlob(index.new);
  if (seen.has('deleted')) return index !== undefined && isEmptyBlob(index.old);
  if (index !== undefined) return false; // the content changed: hunks (or a binary patch) must follow
  const renamed = renameFrom !== undefined && renameTo !== undefined;
  const modeChanged = seen.has('old mode') && seen.has('new mode');
  return renamed || modeChanged;
}

/** Split "a/x b/y" of a diff --git line; paths with spaces are resolved by the a/ b/ symmetry. */
function splitGitHeader(rest: string): [string | null, string | null] {
  if (rest.startsWith('"')) {
    const end = closingQuote(rest);
    const a = rest.slice(0, end + 1);
    const b = rest.slice(end + 1).trim();
    return [stripPrefix(unquote(a), 'a/'), stripPrefix(unquote(b), 'b/')];
  }
  // "a/X b/X" (or "X X" without prefixes) splits at its middle space; only that space can
  // make both halves equal, so no other needs trying (trying each was quadratic in the line).
  const mid = (rest.length - 1) / 2;
  if (Number.isInteger(mid) && rest[mid] === ' ') {
    const a = stripPrefix(rest.slice(0, mid), 'a/');
    const b = stripPrefix(rest.slice(mid + 1), 'b/');
    if (a === b) return [a, b];
  }
  const k = rest.indexOf(' b/') >= 0 ? rest.indexOf(' b/') : rest.indexOf(' ');
  if (k < 0) return [stripPrefix(rest, 'a/'), stripPrefix(rest, 'b/')];
  return [stripPrefix(rest.slice(0, k), 'a/'), stripPrefix(unquote(rest.slice(k + 1)), 'b/')];
}

function closingQuote(s: string): number {
  for (let k = 1; k < s.length; k++) {
    if (s[k] === '\\') k++;
    else if (s[k] === '"') return k;
  }
  return s.length - 1;
}

function stripPrefix(p: string, prefix: string): string {
  return p.startsWith(prefix) ? p.slice(prefix.length) : p;
}

/**
 * Path from a "---"/"+++" line: null for /dev/null; the tab-separated timestamp of plain diffs
 * is dropped. Plain diffs get -p1 treatment (first component dropped) like `patch -p1`.
 */
function diffPath(raw: string, prefix: string, plain: boolean): string | null {
  const tab = raw.indexOf('\t');
  let p = raw.startsWith('"') ? unquote(raw.slice(0, closingQuote(raw) + 1)) : (tab >= 0 ? raw.slice(0, tab) : raw).trimEnd();
  if (p === '/dev/null') return null;
  if (p.startsWith(prefix)) return p.slice(prefix.length);
  if (plain) {
    const slash = p.indexOf('/');
    if (slash > 0) p = p.slice(slash + 1);
  }
  return p;
}

/** Undo git's C-style quoting of unusual path names; unquoted input is returned as is. */
function unquote(s: string): string {
  if (!(s.startsWith('"') && s.endsWith('"') && s.length >= 2)) return s;
  const bytes: number[] = [];
  const body = s.slice(1, -1);
  const simple: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, '"': 34, '\\': 92 };
  for (let k = 0; k < body.length; k++) {
    const c = body[k]!;
    if (c !== '\\') {
      for (const b of Buffer.from(c, 'utf8')) bytes.push(b);
      continue;
    }
    const n = body[k + 1] ?? '';
    if (/^[0-7]{3}$/.test(body.slice(k + 1, k + 4))) {
      bytes.push(parseInt(body.slice(k + 1, k + 4), 8));
      k += 3;
    } else if (n in simple) {
      bytes.push(simple[n]!);
      k++;
    } else bytes.push(92);
  }
  return Buffer.from(bytes).toString('utf8');
}
