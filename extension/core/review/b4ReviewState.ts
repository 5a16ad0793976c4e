// The reviewer's annotations and trailers moved between the sidecar and b4 review's tracking
// JSON (b4Tracking.ts says where b4 keeps them). A comment goes to b4 as the diff line it sits
// on, named the way b4 names it (`b/<file>` and its post-image line, `a/<file>` and its
// pre-image line for a removed line, `:message` and the message line), with the line's text as
// `content`, which b4 itself uses to find a comment again; it comes back by the same rules, the
// content first. Nothing is ever dropped silently: what cannot be placed is an orphan of the
// sidecar (import) or a warning (export), and nothing already in either place is duplicated.

import { randomUUID } from 'node:crypto';
import type { Hunk, HunkLine, FileDiff, Patch, Series } from '../series/types';
import { escapeControl, oneLine } from '../text/controlChars';
import { anchorAt, authorText, messageLinesOf, normTitle, patchFinder, patchKeyOf, placeAnnotations } from './annotations';
import {
  MESSAGE_PATH, commentsOf, ensureReview, msgidOf, patchesOf, reviewOf, reviewersOf, seriesOf, trackedTitle, trailersOf,
  type B4Comment, type Json,
} from './b4Tracking';
import { isMailAddress } from './mailHeaders';
import { goesOut, trailerIdentity, wrapComment } from './replyComposer';
import type { Annotation, LineAnchor, ReviewFile, ReviewTrailer } from './types';

const TRAILER_KEYS: readonly ReviewTrailer['key'][] = ['Reviewed-by', 'Acked-by', 'Tested-by'];

function quoted(text: string): string {
  return `"${escapeControl(text.length > 60 ? text.slice(0, 60) + '…' : text)}"`;
}

function norm(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function label(p: Patch): string {
  return p.isCoverLetter ? 'the cover letter' : `patch ${p.tags.index ?? '?'} ${quoted(p.title)}`;
}

// ---------------------------------------------------------------- which patch is which

export interface SeriesMatch {
  /** A series patch to its position in the branch's `patches`. */
  positions: Map<Patch, number>;
  warnings: string[];
}

/**
 * The branch's patches for the series' patches: by Message-Id, else the same position with the
 * same title, else the one patch with that title. A patch not found is a warning.
 */
export function matchSeries(series: Series, tracking: Json): SeriesMatch {
  const tracked = patchesOf(tracking).map((p) => ({ msgid: msgidOf(p), title: trackedTitle(p) }));
  const positions = new Map<Patch, number>();
  const warnings: string[] = [];
  const taken = new Set<number>();
  series.patches.forEach((p, i) => {
    const title = normTitle(p.title);
    let at = p.messageId !== undefined ? tracked.findIndex((t) => t.msgid === p.messageId) : -1;
    if (at < 0 && tracked[i]?.title === title) at = i;
    if (at < 0) {
      const same = tracked.flatMap((t, j) => (t.title === title && !taken.has(j) ? [j] : []));
      if (same.length === 1) at = same[0]!;
    }
    if (at < 0 || taken.has(at)) warnings.push(`${label(p)} is not on the b4 review branch; its comments and trailers are left out`);
    else { positions.set(p, at); taken.add(at); }
  });
  if (tracked.length !== series.patches.length) warnings.push(`the b4 review branch has ${tracked.length} patch${tracked.length === 1 ? '' : 'es'}, the series ${series.patches.length}`);
  return { positions, warnings };
}

// ---------------------------------------------------------------- a line in b4's terms

interface DiffPlace { diff: FileDiff; hunk: Hunk; line: HunkLine }

function diffPlaces(patch: Patch): DiffPlace[] {
  return patch.diffs.flatMap((diff) => diff.hunks.flatMap((hunk) => hunk.lines.map((line) => ({ diff, hunk, line }))));
}

function contentOf(l: HunkLine): string {
  return (l.kind === 'added' ? '+' : l.kind === 'removed' ? '-' : ' ') + l.text;
}

/** b4's path and line for a hunk line: the pre-image for a removed line, else the post-image. */
function b4Place(p: DiffPlace): { path: string; line: number } | undefined {
  if (p.line.kind === 'removed') return p.diff.oldPath !== null && p.line.oldLine !== undefined ? { path: `a/${p.diff.oldPath}`, line: p.line.oldLine } : undefined;
  return p.diff.newPath !== null && p.line.newLine !== undefined ? { path: `b/${p.diff.newPath}`, line: p.line.newLine } : undefined;
}

/** b4 numbers message lines after the subject and the blank lines that follow it. */
function leadingBlanks(lines: readonly { text: string }[]): number {
  let n = 0;
  while (n < lines.length && lines[n]!.text.trim() === '') n++;
  return n;
}

/** The hunk line a b4 comment names: its place when the content agrees, else the nearest line with that content. */
function findDiffLine(patch: Patch, c: B4Comment): DiffPlace | undefined {
  const places = diffPlaces(patch);
  const m = /^([ab])\/(.*)$/.exec(c.path);
  const oldSide = m?.[1] === 'a';
  const file = m ? m[2]! : c.path;
  const at = places.find((p) => (oldSide
    ? p.line.kind === 'removed' && p.diff.oldPath === file && p.line.oldLine === c.line
    : p.line.kind !== 'removed' && p.diff.newPath === file && p.line.newLine === c.line));
  if (c.content === undefined) return at;
  // b4 compares without the diff prefix, so a context line may come back as an added one
  const bare = /^[ +-]/.test(c.content) ? c.content.slice(1) : c.content;
  if (at && at.line.text === bare) return at;
  const same = places.filter((p) => p.line.text === bare);
  const lineOf = (p: DiffPlace): number => (p.line.kind === 'removed' ? p.line.oldLine : p.line.newLine) ?? 0;
  same.sort((x, y) => Number(x.diff.newPath !== file && x.diff.oldPath !== file) - Number(y.diff.newPath !== file && y.diff.oldPath !== file)
    || Math.abs(lineOf(x) - c.line) - Math.abs(lineOf(y) - c.line));
  return same[0];
}

/** The patch-file line of a `:message` comment: by its content nearest its number, else by the number. */
function findMessageLine(patch: Patch, c: B4Comment): number | undefined {
  const lines = messageLinesOf(patch);
  const skip = leadingBlanks(lines);
  if (c.line <= 0) return lines[skip]?.patchLine; // a comment before the quote: on its first line
  if (c.content !== undefined && norm(c.content) !== '') {
    const want = norm(c.content);
    const hits = lines.map((l, i) => ({ l, i })).filter(({ l }) => norm(l.text) === want);
    hits.sort((x, y) => Math.abs(x.i - skip + 1 - c.line) - Math.abs(y.i - skip + 1 - c.line));
    if (hits[0]) return hits[0].l.patchLine;
  }
  return lines[skip + c.line - 1]?.patchLine;
}

// ---------------------------------------------------------------- sidecar -> b4

export interface ExportResult {
  /** The tracking JSON with the reviewer's comments and trailers added (a copy). */
  tracking: Json;
  comments: number;
  trailers: number;
  warnings: string[];
  /** Set when nothing can be exported. */
  error?: string;
}

export function exportToTracking(series: Series, review: ReviewFile, tracking: Json): ExportResult {
  const out: ExportResult = { tracking: structuredClone(tracking), comments: 0, trailers: 0, warnings: [] };
  const email = oneLine(review.reviewer.email).trim();
  const name = oneLine(review.reviewer.name).trim();
  if (!isMailAddress(email) || name === '') {
    out.error = `b4 files a review under the reviewer's name and email; the review file has ${quoted(review.reviewer.name)} <${escapeControl(review.reviewer.email)}>: set reviewer.name and reviewer.email`;
    return out;
  }
  const match = matchSeries(series, out.tracking);
  out.warnings.push(...match.warnings);
  const patches = patchesOf(out.tracking);
  const targetOf = (p: Patch): Json | undefined => (p.isCoverLetter ? seriesOf(out.tracking) : patches[match.positions.get(p) ?? -1]);

  const comments = new Map<Json, { patch: Patch; list: B4Comment[] }>();
  const trailers = new Map<Json, { patch?: Patch; list: string[] }>();
  const { placed, orphans } = placeAnnotations({ ...review, annotations: review.annotations.filter(goesOut) }, series);
  if (orphans.length > 0) out.warnings.push(`${orphans.length} comment${orphans.length === 1 ? '' : 's'} fit no line of this series and ${orphans.length === 1 ? 'is' : 'are'} left out`);
  for (const { annotation: a, patch, patchLine } of placed) {
    const target = targetOf(patch);
    if (!target) continue; // the patch is not on the branch: warned above
    let c: B4Comment | undefined;
    if (a.anchor.part === 'diff') {
      const at = diffPlaces(patch).find((p) => p.line.patchLine === patchLine);
      const place = at && b4Place(at);
      if (at && place) c = { ...place, text: '', content: contentOf(at.line) };
    } else {
      const lines = messageLinesOf(patch);
      const i = lines.findIndex((l) => l.patchLine === patchLine);
      if (i >= 0) c = { path: MESSAGE_PATH, line: Math.max(0, i - leadingBlanks(lines) + 1), text: '', content: lines[i]!.text };
    }
    if (!c) { out.warnings.push(`a comment on ${label(patch)} sits on a line b4 cannot name; it is left out`); continue; }
    // what the reviewer would send from here: wrapped as the replies wrap it
    c.text = wrapComment(a.body).join('\n').trim();
    if (c.text === '') continue;
    let slot = comments.get(target);
    if (!slot) comments.set(target, (slot = { patch, list: [] }));
    slot.list.push(c);
  }
  const trailerId = trailerIdentity(name, email);
  const findPatch = patchFinder(series);
  for (const t of review.trailers) {
    if (!TRAILER_KEYS.includes(t.key)) { out.warnings.push(`the trailer ${quoted(String(t.key))} is not one of ${TRAILER_KEYS.join(', ')}; it is left out`); continue; }
    let target: Json | undefined;
    let patch: Patch | undefined;
    if (t.patch === undefined) target = seriesOf(out.tracking);
    else {
      patch = findPatch(t.patch);
      target = patch && targetOf(patch);
      if (!target) { out.warnings.push(`${t.key} for ${quoted(t.patch.title)} matches no patch on the b4 review branch; it is left out`); continue; }
    }
    let slot = trailers.get(target);
    if (!slot) trailers.set(target, (slot = { ...(patch ? { patch } : {}), list: [] }));
    slot.list.push(`${t.key}: ${trailerId}`);
  }

  for (const target of new Set([...comments.keys(), ...trailers.keys()])) {
    const where = comments.get(target)?.patch ?? trailers.get(target)?.patch;
    const what = where ? label(where) : 'the series';
    const existing = reviewOf(target, email);
    if (typeof existing?.['reply'] === 'string' && existing['reply'].trim() !== '') {
      out.warnings.push(`${what} has a reply you edited in b4 review, which b4 sends as it stands: nothing was added to it; add these comments there`);
      continue;
    }
    if (existing?.['sent-revision'] !== undefined && existing['sent-revision'] !== null) {
      out.warnings.push(`b4 has already sent your review of ${what}; nothing was added to it`);
      continue;
    }
    const entry = ensureReview(target, email, name);
    const have = commentsOf(entry).comments;
    const seen = new Set(have.map((c) => `${c.path}\0${c.line}\0${norm(c.text)}`));
    const list = Array.isArray(entry['comments']) ? (entry['comments'] as unknown[]) : [];
    for (const c of comments.get(target)?.list ?? []) {
      const key = `${c.path}\0${c.line}\0${norm(c.text)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      list.push({ ...c });
      out.comments++;
    }
    if (list.length > 0) entry['comments'] = list;
    const haveTrailers = trailersOf(entry);
    const tlist = Array.isArray(entry['trailers']) ? (entry['trailers'] as unknown[]) : [];
    for (const t of trailers.get(target)?.list ?? []) {
      if (haveTrailers.some((h) => h.toLowerCase() === t.toLowerCase())) continue;
      tlist.push(t);
      haveTrailers.push(t);
      out.trailers++;
    }
    if (tlist.length > 0) entry['trailers'] = tlist;
  }
  return out;
}

// ---------------------------------------------------------------- b4 -> sidecar

export interface ImportResult {
  review: ReviewFile;
  comments: number;
  trailers: number;
  /** Comments whose line is not in the series: kept as the sidecar's orphans. */
  orphaned: number;
  warnings: string[];
}

export interface ImportOptions {
  /** Whose review to import (default: the sidecar's reviewer). */
  email?: string;
  date?: Date;
}

export function importFromTracking(series: Series, review: ReviewFile, tracking: Json, opts: ImportOptions = {}): ImportResult {
  const email = (opts.email ?? review.reviewer.email).trim();
  const created = (opts.date ?? new Date()).toISOString();
  const out: ImportResult = { review: { ...review, annotations: [...review.annotations], trailers: [...review.trailers], orphans: [...review.orphans] }, comments: 0, trailers: 0, orphaned: 0, warnings: [] };
  const match = matchSeries(series, tracking);
  out.warnings.push(...match.warnings);
  const patches = patchesOf(tracking);
  const findPatch = patchFinder(series);

  // what the sidecar already holds, so an import run twice adds nothing
  const { placed } = placeAnnotations(review, series);
  const seen = new Set(placed.map((p) => `${p.patch.file}\0${p.patch.startLine}\0${p.patchLine}\0${norm(p.annotation.body)}`));
  const seenOrphans = new Set(review.orphans.map((o) => `${o.anchor.text}\0${norm(o.body)}`));
  const others = new Map<string, number>();
  let malformed = 0;

  const targets: { patch: Patch; target: Json }[] = [];
  if (series.coverLetter) targets.push({ patch: series.coverLetter, target: seriesOf(tracking) });
  for (const p of series.patches) {
    const at = match.positions.get(p);
    if (at !== undefined && patches[at]) targets.push({ patch: p, target: patches[at]! });
  }
  if (!series.coverLetter && commentsOf(reviewOf(seriesOf(tracking), email)).comments.length > 0) {
    out.warnings.push('b4 holds comments on a cover letter this series does not have; they are left in b4');
  }

  for (const { patch, target } of targets) {
    for (const who of reviewersOf(target)) {
      if (who === email) continue;
      const n = commentsOf(reviewOf(target, who)).comments.length;
      if (n > 0) others.set(who, (others.get(who) ?? 0) + n);
    }
    const entry = reviewOf(target, email);
    if (!entry) continue;
    const author = authorText({ name: typeof entry['name'] === 'string' ? entry['name'] : review.reviewer.name, email });
    const read = commentsOf(entry);
    malformed += read.malformed;
    for (const c of read.comments) {
      const patchLine = c.path === MESSAGE_PATH ? findMessageLine(patch, c) : findDiffLine(patch, c)?.line.patchLine;
      const anchor = patchLine !== undefined ? anchorAt(patch, patchLine) : undefined;
      const annotation: Annotation = {
        id: randomUUID(), patch: patchKeyOf(patch), body: c.text, author, created, state: 'final', resolved: false,
        anchor: anchor ?? orphanAnchor(patch, c),
      };
      if (anchor) {
        const key = `${patch.file}\0${patch.startLine}\0${patchLine}\0${norm(c.text)}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.review.annotations.push(annotation);
        out.comments++;
      } else {
        const key = `${annotation.anchor.text}\0${norm(c.text)}`;
        if (seenOrphans.has(key)) continue;
        seenOrphans.add(key);
        out.review.orphans.push(annotation);
        out.orphaned++;
      }
    }
    for (const t of trailersOf(entry)) {
      const key = TRAILER_KEYS.find((k) => k.toLowerCase() === t.split(':', 1)[0]!.trim().toLowerCase());
      if (!key) { out.warnings.push(`the trailer ${quoted(t)} on ${label(patch)} has no place in the review file (only ${TRAILER_KEYS.join(', ')}); it stays in b4`); continue; }
      const trailer: ReviewTrailer = patch.isCoverLetter ? { key } : { key, patch: patchKeyOf(patch) };
      const same = out.review.trailers.some((h) => h.key === key && (h.patch === undefined) === (trailer.patch === undefined)
        && (h.patch === undefined || findPatch(h.patch) === patch));
      if (same) continue;
      out.review.trailers.push(trailer);
      out.trailers++;
    }
  }
  if (malformed > 0) out.warnings.push(`${malformed} of your comments in b4 are not {path, line, text} and were not read`);
  for (const [who, n] of others) out.warnings.push(`b4 also holds ${n} comment${n === 1 ? '' : 's'} by ${escapeControl(who)}; only yours (${escapeControl(email)}) are imported`);
  if (out.orphaned > 0) out.warnings.push(`${out.orphaned} comment${out.orphaned === 1 ? '' : 's'} from b4 fit no line of this series; kept in the review file's orphans`);
  return out;
}

/** Where an unplaceable comment says it was: b4's content, its file without the a/ b/ prefix. */
function orphanAnchor(patch: Patch, c: B4Comment): LineAnchor {
  if (c.path === MESSAGE_PATH) return { part: patch.isCoverLetter ? 'cover-letter' : 'commit-message', text: c.content ?? '', before: [] };
  return { part: 'diff', text: c.content ?? '', file: c.path.replace(/^[ab]\//, ''), before: [] };
}

