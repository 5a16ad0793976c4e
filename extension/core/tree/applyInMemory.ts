// Applies one patch to file texts held in memory, the way `git apply` / GNU patch would, and
// never touches disk. Where git apply would refuse the whole patch (a hunk that does not match,
// a missing file) this goes on with what does apply and reports the rest as ApplyProblems, so
// the analysis can still look at a series whose base differs a little from the user's tree.
//
// Hunk placement, per file, hunks in patch order:
//   1. at the expected position: oldStart, moved by the offset the previous hunk of the file
//      applied at (GNU patch's running offset), with every context and removed line matching;
//   2. else the nearest position searching outward (+1, -1, +2, -2, ...) where the pre-image
//      (context + removed lines) matches exactly; never before the end of the previous hunk;
//   3. else the same with fuzz 1, then fuzz 2: up to that many leading and trailing context
//      lines are not compared (and the file's own lines are kept there), as GNU patch does;
//   4. else the same three levels comparing lines with trailing whitespace ignored; such a match
//      reports fuzz >= 1 and `ignoredTrailingWhitespace`;
//   5. else the hunk fails, is reported, and the file's other hunks still apply.
// `offset` is where the hunk applied minus where its header put it, in the original file's
// lines (GNU patch's "offset N lines"); it includes the running offset taken from earlier hunks.
//
// Line endings: each untouched line keeps its own terminator; added lines take the file's
// dominant one (CRLF when most lines end in CRLF, else LF). The reader drops "\ No newline at
// end of file", so a file keeps its final-newline state, except for the one shape git only
// emits for that marker: a hunk ending at the end of the file whose last removed line and last
// added line have the same text. There the state flips (newline added or removed).

import type { FileDiff, Hunk, Patch } from '../series/types';

/** An added line of the patch and the line it became in the new file text (both 1-based). */
export interface AddedLineMapping {
  newLine: number;
  patchLine: number;
}

export interface HunkApplyResult {
  /** "@@ -a,b +c,d @@ section" as in the patch (section omitted when empty). */
  header: string;
  /** 1-based line of the hunk header in the patch file. */
  patchLine: number;
  applied: boolean;
  /** Applied position minus the header's position, in lines of the original file; 0 when not applied. */
  offset: number;
  /** Context lines left uncompared at each end (0-2); at least 1 for a whitespace-tolerant match. */
  fuzz: number;
  /** Matched only once trailing whitespace was ignored (counted as fuzz). */
  ignoredTrailingWhitespace: boolean;
  /** 1-based line in the new file text where the applied hunk's post-image starts. */
  newStartLine?: number;
  /** Added lines of this hunk in the new file text; empty when not applied. */
  addedLines: AddedLineMapping[];
}

export type FileApplyStatus = 'applied' | 'partial' | 'failed' | 'skipped';

export interface FileApplyResult {
  /** Path after the patch (the old path for a deletion). */
  path: string;
  /** Path before the patch; null for a new file. */
  oldPath: string | null;
  change: FileDiff['status'];
  /**
   * applied: everything done; partial: some hunks (or only the rename/copy) done; failed:
   * nothing done, the tree is unchanged for this file; skipped: binary diff.
   */
  status: FileApplyStatus;
  hunks: HunkApplyResult[];
  /** All added lines of the file's applied hunks, ordered by newLine: the file's line map. */
  addedLines: AddedLineMapping[];
}

export interface ApplyProblem {
  patchFile: string;
  patchSubject: string;
  /** The tree path concerned. */
  file: string;
  /** Set when the problem is one hunk. */
  hunkHeader?: string;
  /** 1-based line in the patch file: the hunk header, else the file diff's header. */
  patchLine: number;
  message: string;
}

export interface PatchApplyResult {
  /** A new map: the input with this patch applied as far as it applies. */
  files: Map<string, string>;
  results: FileApplyResult[];
  problems: ApplyProblem[];
}

const GIT_REFUSES = 'git apply would refuse the whole patch';

/** Apply `patch` to `files` (tree-relative path to text); the input map is never changed. */
export function applyPatchInMemory(files: ReadonlyMap<string, string>, patch: Patch): PatchApplyResult {
  const out = new Map(files);
  const results: FileApplyResult[] = [];
  const problems: ApplyProblem[] = [];
  for (const fd of patch.diffs) {
    const r = applyFileDiff(out, fd, patch, problems);
    results.push(r);
  }
  return { files: out, results, problems };
}

/** The patch line of the added line that became `newLine` of the result's file, if any. */
export function patchLineOfNewLine(result: FileApplyResult, newLine: number): number | undefined {
  const a = result.addedLines;
  let lo = 0;
  let hi = a.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const m = a[mid]!;
    if (m.newLine === newLine) return m.patchLine;
    if (m.newLine < newLine) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

/** "@@ -a,b +c,d @@ section". */
export function formatHunkHeader(h: Hunk): string {
  const head = `@@ -${h.oldStart},${h.oldCount} +${h.newStart},${h.newCount} @@`;
  return h.section === '' ? head : `${head} ${h.section}`;
}

// ---------------------------------------------------------------- one file diff

function applyFileDiff(tree: Map<string, string>, fd: FileDiff, patch: Patch, problems: ApplyProblem[]): FileApplyResult {
  const oldPath = fd.oldPath;
  const path = fd.newPath ?? fd.oldPath ?? '(unknown file)';
  const result: FileApplyResult = { path, oldPath, change: fd.status, status: 'failed', hunks: [], addedLines: [] };
  const problem = (file: string, message: string): void => {
    problems.push({ patchFile: patch.file, patchSubject: patch.subject, file, patchLine: fd.headerPatchLine, message });
  };
  const notApplied = (): void => {
    result.hunks = fd.hunks.map((h) => unapplied(h));
  };
  const hunkCount = `${fd.hunks.length} hunk${fd.hunks.length === 1 ? '' : 's'}`;

  if (fd.binary) {
    result.status = 'skipped';
    notApplied();
    problem(path, `binary diff not applied (${fd.status} ${path})`);
    return result;
  }

  if (fd.status === 'deleted') {
    const src = oldPath === null ? undefined : tree.get(oldPath);
    if (oldPath === null || src === undefined) {
      notApplied();
      problem(oldPath ?? path, `cannot delete ${oldPath ?? path}: the file is not in the tree (${GIT_REFUSES}; its other files were applied)`);
      return result;
    }
    // The removal must take exactly the file's content: strict matching, nothing left over.
    const applied = applyHunks(splitText(src), fd.hunks, false);
    const exact = applied.hunks.every((h) => h.applied && h.fuzz === 0 && h.offset === 0) && applied.lines.text.length === 0;
    if (!exact) {
      notApplied();
      problem(oldPath, `${oldPath} is not deleted: its content differs from what the patch removes (${GIT_REFUSES}; the file is kept and the patch's other files were applied)`);
      return result;
    }
    tree.delete(oldPath);
    result.hunks = applied.hunks;
    result.status = 'applied';
    return result;
  }

  // added, modified, renamed, copied
  const dst = fd.newPath ?? oldPath;
  if (dst === null) {
    notApplied();
    problem(path, 'file diff names no file; not applied');
    return result;
  }
  let srcText: string;
  if (fd.status === 'added' || oldPath === null) {
    if (tree.has(dst)) {
      notApplied();
      problem(dst, `cannot create ${dst}: it already exists in the tree (${GIT_REFUSES}; the existing file is kept and the patch's other files were applied)`);
      return result;
    }
    srcText = '';
  } else {
    const s = tree.get(oldPath);
    if (s === undefined) {
      notApplied();
      problem(oldPath, `${oldPath} is not in the tree; its ${hunkCount} ${fd.hunks.length === 1 ? 'was' : 'were'} not applied (${GIT_REFUSES}; the patch's other files were applied)`);
      return result;
    }
    srcText = s;
    if (dst !== oldPath && tree.has(dst)) {
      notApplied();
      problem(dst, `cannot ${fd.status === 'copied' ? 'copy' : 'rename'} ${oldPath} to ${dst}: ${dst} already exists in the tree (${GIT_REFUSES}; the patch's other files were applied)`);
      return result;
    }
  }

  const applied = applyHunks(splitText(srcText), fd.hunks, true);
  result.hunks = applied.hunks;
  for (const h of applied.hunks) for (const a of h.addedLines) result.addedLines.push(a);
  const nApplied = applied.hunks.filter((h) => h.applied).length;
  const moved = dst !== oldPath && oldPath !== null;
  for (const f of applied.failures) {
    const others = fd.hunks.length > 1 ? `the file's other hunks ${nApplied > 0 ? 'were applied' : 'did not apply either'}` : 'it is the only hunk of the file';
    problems.push({
      patchFile: patch.file,
      patchSubject: patch.subject,
      file: dst,
      hunkHeader: formatHunkHeader(f.hunk),
      patchLine: f.hunk.headerPatchLine,
      message: `hunk does not apply to ${dst}: ${f.reason}; the hunk was skipped and ${others} (${GIT_REFUSES})`,
    });
  }

  if (nApplied === 0 && fd.hunks.length > 0 && !moved) {
    result.status = 'failed';
    return result; // nothing changed: the tree keeps the file as it was (or without it, if new)
  }
  if (fd.status !== 'copied' && oldPath !== null && moved) tree.delete(oldPath);
  tree.set(dst, joinText(applied.lines));
  result.status = nApplied === fd.hunks.length ? 'applied' : 'partial';
  return result;
}

function unapplied(h: Hunk): HunkApplyResult {
  return { header: formatHunkHeader(h), patchLine: h.headerPatchLine, applied: false, offset: 0, fuzz: 0, ignoredTrailingWhitespace: false, addedLines: [] };
}

// ---------------------------------------------------------------- lines of a file

interface Lines {
  text: string[];
  /** Terminator of each line: "\n", "\r\n", or "" for a last line without one. */
  eol: string[];
  finalNewline: boolean;
  defaultEol: string;
}

/** Split once; a final terminator does not start a new line. */
function splitText(s: string): Lines {
  const text: string[] = [];
  const eol: string[] = [];
  let crlf = 0;
  let from = 0;
  while (from < s.length) {
    const nl = s.indexOf('\n', from);
    if (nl < 0) {
      text.push(s.slice(from));
      eol.push('');
      break;
    }
    if (nl > from && s.charCodeAt(nl - 1) === 13) {
      text.push(s.slice(from, nl - 1));
      eol.push('\r\n');
      crlf++;
    } else {
      text.push(s.slice(from, nl));
      eol.push('\n');
    }
    from = nl + 1;
  }
  const terminated = eol.length - (eol[eol.length - 1] === '' ? 1 : 0);
  return {
    text,
    eol,
    finalNewline: eol.length === 0 || eol[eol.length - 1] !== '',
    defaultEol: crlf > 0 && crlf * 2 >= terminated ? '\r\n' : '\n',
  };
}

function joinText(l: Lines): string {
  const n = l.text.length;
  const parts: string[] = new Array<string>(n * 2);
  for (let i = 0; i < n; i++) {
    parts[2 * i] = l.text[i]!;
    let e = l.eol[i]!;
    if (i < n - 1) {
      if (e === '') e = l.defaultEol;
    } else if (!l.finalNewline) e = '';
    else if (e === '') e = l.defaultEol;
    parts[2 * i + 1] = e;
  }
  return parts.join('');
}

// ---------------------------------------------------------------- hunks

interface HunkFailure {
  hunk: Hunk;
  reason: string;
}

interface Placement {
  pos: number; // 0-based index in the source of the first compared pre-image line
  lead: number; // leading context lines not compared
  trail: number; // trailing context lines not compared
  fuzz: number;
  loose: boolean;
}

/** Pre-image of a hunk: its context and removed lines, with their index in hunk.lines. */
interface PreImage {
  text: string[];
  index: number[];
  /** Context lines before the first change / after the last change, in pre-image lines. */
  leadContext: number;
  trailContext: number;
}

function preImageOf(h: Hunk): PreImage {
  const text: string[] = [];
  const index: number[] = [];
  h.lines.forEach((l, i) => {
    if (l.kind !== 'added') {
      text.push(l.text);
      index.push(i);
    }
  });
  let lead = 0;
  while (lead < h.lines.length && h.lines[lead]!.kind === 'context') lead++;
  let trail = 0;
  if (lead < h.lines.length) while (trail < h.lines.length && h.lines[h.lines.length - 1 - trail]!.kind === 'context') trail++;
  return { text, index, leadContext: lead, trailContext: trail };
}

const TRAILING_WS = /[ \t\f\v\r]+$/;

function endsInSpace(s: string): boolean {
  const c = s.charCodeAt(s.length - 1);
  return c === 32 || c === 9 || c === 12 || c === 11 || c === 13;
}

/** The lines without trailing whitespace, or undefined when no line has any. */
function stripTrailing(a: readonly string[]): string[] | undefined {
  let out: string[] | undefined;
  for (let i = 0; i < a.length; i++) {
    if (!endsInSpace(a[i]!)) continue;
    out ??= a.slice();
    out[i] = a[i]!.replace(TRAILING_WS, '');
  }
  return out;
}

function matchesAt(src: readonly string[], p: number, pre: readonly string[], from: number, to: number): boolean {
  for (let k = from; k < to; k++) if (src[p + k - from] !== pre[k]) return false;
  return true;
}

/** First position in [lo, hi] where pre[from, to) matches, trying start, start+1, start-1, ... */
function search(src: readonly string[], pre: readonly string[], from: number, to: number, start: number, lo: number, hi: number): number {
  if (hi < lo) return -1;
  if (start > hi) {
    for (let p = hi; p >= lo; p--) if (matchesAt(src, p, pre, from, to)) return p;
    return -1;
  }
  if (start < lo) {
    for (let p = lo; p <= hi; p++) if (matchesAt(src, p, pre, from, to)) return p;
    return -1;
  }
  if (matchesAt(src, start, pre, from, to)) return start;
  const reach = Math.max(hi - start, start - lo);
  for (let d = 1; d <= reach; d++) {
    const up = start + d;
    if (up <= hi && matchesAt(src, up, pre, from, to)) return up;
    const down = start - d;
    if (down >= lo && matchesAt(src, down, pre, from, to)) return down;
  }
  return -1;
}

const LEVELS: readonly { fuzz: number; loose: boolean }[] = [
  { fuzz: 0, loose: false },
  { fuzz: 1, loose: false },
  { fuzz: 2, loose: false },
  { fuzz: 0, loose: true },
  { fuzz: 1, loose: true },
  { fuzz: 2, loose: true },
];

/**
 * Apply `hunks` in order to `src`; returns the new lines, one result per hunk and the failures.
 * `tolerant` allows offsets, fuzz and whitespace-tolerant matches (off for deletions).
 */
function applyHunks(src: Lines, hunks: readonly Hunk[], tolerant: boolean): { lines: Lines; hunks: HunkApplyResult[]; failures: HunkFailure[] } {
  const n = src.text.length;
  const outText: string[] = [];
  const outEol: string[] = [];
  const results: HunkApplyResult[] = [];
  const failures: HunkFailure[] = [];
  let looseSrc: readonly string[] | null | undefined; // null: no line of the file ends in whitespace
  let cursor = 0; // next source line not yet copied
  let carried = 0; // offset of the last applied hunk
  let finalNewline = src.finalNewline;

  for (const h of hunks) {
    const pre = preImageOf(h);
    const preLen = pre.text.length;
    const base = h.oldCount === 0 ? h.oldStart : h.oldStart - 1;
    const expected = base + carried;
    let place: Placement | undefined;

    if (preLen === 0) {
      // Pure insertion (new file, -U0): nothing to compare, the header alone decides.
      if (expected >= cursor && expected <= n) place = { pos: expected, lead: 0, trail: 0, fuzz: 0, loose: false };
    } else {
      let loosePre: readonly string[] | null | undefined;
      const tried = new Set<string>();
      for (const level of tolerant ? LEVELS : LEVELS.slice(0, 1)) {
        const lead = Math.min(level.fuzz, pre.leadContext);
        const trail = Math.min(level.fuzz, pre.trailContext);
        if (lead + trail >= preLen) continue; // nothing left to compare would match anywhere
        const key = `${lead}/${trail}/${level.loose}`;
        if (tried.has(key)) continue;
        tried.add(key);
        let s: readonly string[] = src.text;
        let p: readonly string[] = pre.text;
        if (level.loose) {
          if (looseSrc === undefined) looseSrc = stripTrailing(src.text) ?? null;
          if (loosePre === undefined) loosePre = stripTrailing(pre.text) ?? null;
          if (looseSrc === null && loosePre === null) break; // same as the strict levels already tried
          s = looseSrc ?? src.text;
          p = loosePre ?? pre.text;
        }
        const len = preLen - lead - trail;
        const start = expected + lead;
        const found = tolerant ? search(s, p, lead, preLen - trail, start, cursor, n - len) : start >= cursor && start + len <= n && matchesAt(s, start, p, lead, preLen - trail) ? start : -1;
        if (found >= 0) {
          place = { pos: found, lead, trail, fuzz: level.loose ? Math.max(1, level.fuzz) : level.fuzz, loose: level.loose };
          break;
        }
      }
    }

    if (place === undefined) {
      results.push(unapplied(h));
      failures.push({ hunk: h, reason: whyNot(src, h, pre, expected, cursor) });
      continue;
    }

    // Copy the untouched lines before the hunk, then its post-image.
    for (; cursor < place.pos; cursor++) {
      outText.push(src.text[cursor]!);
      outEol.push(src.eol[cursor]!);
    }
    const newStartLine = outText.length + 1;
    const addedLines: AddedLineMapping[] = [];
    // Leading and trailing context left uncompared stays the file's own, untouched.
    const first = place.lead;
    const last = h.lines.length - place.trail;
    let lastRemoved: string | undefined;
    let lastAdded: string | undefined;
    for (let i = first; i < last; i++) {
      const l = h.lines[i]!;
      if (l.kind === 'context') {
        outText.push(src.text[cursor]!); // the file's own line (it may differ in trailing whitespace)
        outEol.push(src.eol[cursor]!);
        cursor++;
        lastRemoved = lastAdded = undefined;
      } else if (l.kind === 'removed') {
        lastRemoved = l.text;
        cursor++;
      } else {
        outText.push(l.text);
        outEol.push(src.defaultEol);
        addedLines.push({ newLine: outText.length, patchLine: l.patchLine });
        lastAdded = l.text;
      }
    }
    // Only "\ No newline at end of file" makes git write the same text as removed and added.
    if (cursor === n && place.trail === 0 && lastRemoved !== undefined && lastRemoved === lastAdded) finalNewline = !finalNewline;
    const offset = place.pos - place.lead - base;
    carried = offset;
    results.push({
      header: formatHunkHeader(h),
      patchLine: h.headerPatchLine,
      applied: true,
      offset,
      fuzz: place.fuzz,
      ignoredTrailingWhitespace: place.loose,
      newStartLine,
      addedLines,
    });
  }
  for (; cursor < n; cursor++) {
    outText.push(src.text[cursor]!);
    outEol.push(src.eol[cursor]!);
  }
  return { lines: { text: outText, eol: outEol, finalNewline, defaultEol: src.defaultEol }, hunks: results, failures };
}

/** Why a hunk found no place: the first difference at its expected position. */
function whyNot(src: Lines, h: Hunk, pre: PreImage, expectedAt: number, cursor: number): string {
  const expected = Math.max(0, expectedAt);
  const n = src.text.length;
  const preLen = pre.text.length;
  const fuzzNote = preLen > 0 ? ', not even with offsets, fuzz 2 or trailing whitespace ignored' : '';
  if (preLen === 0) return `its insertion point (after line ${expected}) is ${expected > n ? `past the end of the file (${n} lines)` : 'inside the previous hunk'}`;
  if (expected < cursor && cursor > 0) return `it overlaps the previous hunk and its ${preLen} context and removed lines match nowhere after it${fuzzNote}`;
  for (let k = 0; k < preLen; k++) {
    const at = expected + k;
    const hl = h.lines[pre.index[k]!]!;
    if (at >= n) {
      return `the file has ${n} lines but the hunk expects ${preLen} lines from line ${expected + 1}; its ${preLen} context and removed lines match nowhere${fuzzNote}`;
    }
    if (src.text[at] !== pre.text[k]) {
      return `at line ${at + 1} the file has "${clip(src.text[at]!)}" where the patch (line ${hl.patchLine}) expects "${clip(hl.text)}", and its ${preLen} context and removed lines match nowhere else${fuzzNote}`;
    }
  }
  return `its lines match at line ${expected + 1} only where fuzz would cut them to nothing`;
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 60)}...` : s;
}
