// The review sidecar: where it lives, how it is read and validated, how it is written without
// ever losing a hand-edited file, and how its annotations find their lines again, in the same
// series or in a new revision of it.

import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, constants as fsConstants, existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { Finding } from '../findings';
import { DEFAULT_MAX_INPUT_BYTES, errnoText } from '../io/boundedRead';
import { diffIdentity } from '../series/diffIdentity';
import type { Hunk, Patch, Series } from '../series/types';
import { escapeControl, oneLine } from '../text/controlChars';
import { readTextFileSync, replaceFileAtomically, writeTarget } from './sidecarFile';
import type { Annotation, LineAnchor, PatchKey, ReviewFile, ReviewTrailer } from './types';

export const SIDECAR_NAME = '.kvm-lens-review.json';
export const SIDECAR_SUFFIX = '.kvm-lens-review.json';

/** Lines kept before an anchored line to tell repeated lines apart. */
const BEFORE_LINES = 3;

// ---------------------------------------------------------------- where

/** Next to the series: `DIR/.kvm-lens-review.json` for a directory, `FILE.kvm-lens-review.json` for a file. */
export function sidecarPath(seriesInput: string): string {
  let isDir = false;
  try { isDir = statSync(seriesInput).isDirectory(); } catch { isDir = /[\\/]$/.test(seriesInput); }
  return isDir ? path.join(seriesInput, SIDECAR_NAME) : seriesInput.replace(/[\\/]+$/, '') + SIDECAR_SUFFIX;
}

// ---------------------------------------------------------------- keys and anchors

export function patchKeyOf(patch: Patch): PatchKey {
  const key: PatchKey = { title: patch.title };
  if (patch.messageId !== undefined) key.messageId = patch.messageId;
  const diffId = diffIdentity(patch);
  if (diffId !== undefined) key.diffId = diffId;
  key.index = patch.isCoverLetter ? 0 : patch.tags.index ?? 0;
  return key;
}

/** A line of a patch file the annotations can sit on. */
interface AnchorableLine {
  patchLine: number;
  part: LineAnchor['part'];
  text: string;
  /** The texts of the lines around it (its hunk or message) and its position there: the lines
   * before it are sliced only when asked for, so a long hunk does not make one array per line. */
  around: readonly string[];
  at: number;
  file?: string;
  hunkSection?: string;
}

/** File texts, so a whole series is read once; `texts` overrides disk (unsaved buffers). */
class FileLines {
  private readonly cache = new Map<string, string[] | null>();
  constructor(private readonly texts?: ReadonlyMap<string, string>) {}
  get(file: string): string[] | undefined {
    let lines = this.cache.get(file);
    if (lines === undefined) {
      let text = this.texts?.get(file);
      if (text === undefined) {
        const read = readTextFileSync(file);
        text = read.ok ? read.text : undefined;
      }
      lines = text === undefined ? null : splitLines(text);
      this.cache.set(file, lines);
    }
    return lines ?? undefined;
  }
}

function splitLines(text: string): string[] {
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

function prefixOf(kind: 'context' | 'added' | 'removed'): string {
  return kind === 'added' ? '+' : kind === 'removed' ? '-' : ' ';
}

function diffLines(patch: Patch): AnchorableLine[] {
  const out: AnchorableLine[] = [];
  for (const d of patch.diffs) {
    const file = d.newPath ?? d.oldPath ?? undefined;
    for (const hunk of d.hunks) for (const l of hunkLines(hunk, file)) out.push(l);
  }
  return out;
}

function hunkLines(hunk: Hunk, file: string | undefined): AnchorableLine[] {
  const texts = hunk.lines.map((l) => prefixOf(l.kind) + l.text);
  return hunk.lines.map((l, i) => {
    const a: AnchorableLine = { patchLine: l.patchLine, part: 'diff', text: texts[i]!, around: texts, at: i, hunkSection: hunk.section };
    if (file !== undefined) a.file = file;
    return a;
  });
}

/**
 * The commit message's (or cover letter's) lines with their positions in the file. The
 * message is found as a run of lines in the file; an encoded body (quoted-printable, base64)
 * does not match its decoded text and then has no anchorable message lines.
 */
function messageLines(patch: Patch, lines: readonly string[] | undefined): AnchorableLine[] {
  if (lines === undefined || patch.linesApproximate) return [];
  const msg = patch.commitMessage === '' ? [] : patch.commitMessage.split('\n');
  const from = Math.max(0, patch.startLine - 1);
  const firstDiff = patch.diffs[0]?.headerPatchLine;
  const limit = firstDiff !== undefined ? Math.min(lines.length, firstDiff - 1) : lines.length;
  let at = -1;
  if (msg.length > 0) {
    for (let k = from; k + msg.length <= limit && at < 0; k++) {
      let ok = true;
      for (let j = 0; j < msg.length && ok; j++) if (lines[k + j] !== msg[j]) ok = false;
      if (ok) at = k;
    }
  }
  if (at < 0) return [];
  const part: LineAnchor['part'] = patch.isCoverLetter ? 'cover-letter' : 'commit-message';
  let end = at + msg.length;
  if (patch.isCoverLetter) {
    // the whole cover letter is open to comment, up to the signature or the next message
    while (end < limit && lines[end] !== '-- ' && !(lines[end]!.startsWith('From ') && lines[end - 1] === '')) end++;
  }
  const texts = lines.slice(at, end);
  return texts.map((text, i) => ({ patchLine: at + i + 1, part, text, around: texts, at: i }));
}

function anchorableLines(patch: Patch, files: FileLines): AnchorableLine[] {
  return [...messageLines(patch, files.get(patch.file)), ...diffLines(patch)];
}

/** Up to BEFORE_LINES lines before an anchorable line. */
function beforeOf(a: AnchorableLine): string[] {
  return a.around.slice(Math.max(0, a.at - BEFORE_LINES), a.at);
}

function toAnchor(a: AnchorableLine): LineAnchor {
  const anchor: LineAnchor = { part: a.part, text: a.text, before: beforeOf(a) };
  if (a.file !== undefined) anchor.file = a.file;
  if (a.hunkSection !== undefined) anchor.hunkSection = a.hunkSection;
  return anchor;
}

/**
 * The anchor for a 1-based line of the patch file as shown in the editor: a commit-message
 * or cover-letter line, or a hunk line; undefined for headers, the diffstat, diff and hunk
 * headers. `fileText` is the editor's text when it differs from the file on disk.
 */
export function anchorAt(patch: Patch, patchLine: number, fileText?: string): LineAnchor | undefined {
  const files = new FileLines(fileText === undefined ? undefined : new Map([[patch.file, fileText]]));
  const hit = anchorableLines(patch, files).find((a) => a.patchLine === patchLine);
  return hit && toAnchor(hit);
}

/**
 * The lines of the commit message (or the whole cover letter) as the patch file shows them, in
 * order: what a reply quotes above the diff and what b4 numbers as `:message` lines.
 */
export function messageLinesOf(patch: Patch, fileText?: string): { patchLine: number; text: string }[] {
  const files = new FileLines(fileText === undefined ? undefined : new Map([[patch.file, fileText]]));
  return messageLines(patch, files.get(patch.file)).map((a) => ({ patchLine: a.patchLine, text: a.text }));
}

// ---------------------------------------------------------------- validation

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Checker {
  readonly problems: string[] = [];
  constructor(private readonly file: string) {}
  fail(where: string, message: string): void {
    this.problems.push(`${this.file}: ${where} ${message}`);
  }
  string(o: Json, key: string, where: string, optional = false): void {
    const v = o[key];
    if (v === undefined && optional) return;
    if (typeof v !== 'string') this.fail(`${where}.${key}`, v === undefined ? 'is missing (expected a string)' : `must be a string, not ${describe(v)}`);
  }
  boolean(o: Json, key: string, where: string): void {
    const v = o[key];
    if (typeof v !== 'boolean') this.fail(`${where}.${key}`, v === undefined ? 'is missing (expected true or false)' : `must be true or false, not ${describe(v)}`);
  }
  oneOf(o: Json, key: string, where: string, values: readonly string[], optional = false): void {
    const v = o[key];
    if (v === undefined && optional) return;
    if (typeof v !== 'string' || !values.includes(v)) {
      this.fail(`${where}.${key}`, `${v === undefined ? 'is missing' : `is ${describe(v)}`}; expected one of ${values.map((x) => JSON.stringify(x)).join(', ')}`);
    }
  }
  object(o: Json, key: string, where: string, optional = false): Json | undefined {
    const v = o[key];
    if (v === undefined && optional) return undefined;
    if (!isObject(v)) { this.fail(`${where}.${key}`, v === undefined ? 'is missing (expected an object)' : `must be an object, not ${describe(v)}`); return undefined; }
    return v;
  }
  array(o: Json, key: string, where: string): unknown[] | undefined {
    const v = o[key];
    if (!Array.isArray(v)) { this.fail(`${where}.${key}`, v === undefined ? 'is missing (expected an array)' : `must be an array, not ${describe(v)}`); return undefined; }
    return v;
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string ${escapeControl(JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v))}`;
  return `${typeof v} ${String(v)}`;
}

function checkPatchKey(c: Checker, v: unknown, where: string): void {
  if (!isObject(v)) { c.fail(where, `must be an object, not ${describe(v)}`); return; }
  c.string(v, 'title', where);
  c.string(v, 'messageId', where, true);
  c.string(v, 'diffId', where, true);
  if (v['index'] !== undefined && !(typeof v['index'] === 'number' && Number.isInteger(v['index']) && v['index'] >= 0)) {
    c.fail(`${where}.index`, `must be a whole number of at least 0, not ${describe(v['index'])}`);
  }
}

function checkAnnotation(c: Checker, v: unknown, where: string): void {
  if (!isObject(v)) { c.fail(where, `must be an object, not ${describe(v)}`); return; }
  c.string(v, 'id', where);
  if (v['patch'] === undefined) c.fail(`${where}.patch`, 'is missing (expected an object)');
  else checkPatchKey(c, v['patch'], `${where}.patch`);
  const anchor = c.object(v, 'anchor', where);
  if (anchor) {
    const aw = `${where}.anchor`;
    c.oneOf(anchor, 'part', aw, ['commit-message', 'diff', 'cover-letter']);
    c.string(anchor, 'text', aw);
    c.string(anchor, 'file', aw, true);
    c.string(anchor, 'hunkSection', aw, true);
    const before = c.array(anchor, 'before', aw);
    before?.forEach((b, i) => { if (typeof b !== 'string') c.fail(`${aw}.before[${i}]`, `must be a string, not ${describe(b)}`); });
  }
  c.string(v, 'body', where);
  c.string(v, 'author', where);
  c.string(v, 'created', where);
  if (typeof v['created'] === 'string' && Number.isNaN(Date.parse(v['created']))) c.fail(`${where}.created`, `is not an ISO 8601 date: ${JSON.stringify(v['created'])}`);
  c.oneOf(v, 'state', where, ['draft', 'final']);
  c.boolean(v, 'resolved', where);
  c.string(v, 'fromFinding', where, true);
}

function checkTrailer(c: Checker, v: unknown, where: string): void {
  if (!isObject(v)) { c.fail(where, `must be an object, not ${describe(v)}`); return; }
  c.oneOf(v, 'key', where, ['Reviewed-by', 'Acked-by', 'Tested-by']);
  if (v['patch'] !== undefined) checkPatchKey(c, v['patch'], `${where}.patch`);
}

/** Nesting kept in a sidecar: writing it back (key ordering, JSON.stringify) recurses once per level. */
const MAX_DEPTH = 64;

/** Whether a parsed JSON value nests deeper than `limit`, found without recursion. */
function depthOver(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Every problem with a parsed sidecar, each naming the file and the field. */
export function validateReview(v: unknown, file: string): string[] {
  const c = new Checker(file);
  if (!isObject(v)) { c.fail('the top level', `must be an object, not ${describe(v)}`); return c.problems; }
  if (v['version'] !== 1) c.fail('version', v['version'] === undefined ? 'is missing (expected 1)' : `is ${describe(v['version'])}; this version of KVM Lens reads version 1`);
  const series = c.object(v, 'series', '');
  if (series) { c.string(series, 'title', 'series'); c.string(series, 'messageId', 'series', true); }
  const reviewer = c.object(v, 'reviewer', '');
  if (reviewer) { c.string(reviewer, 'name', 'reviewer'); c.string(reviewer, 'email', 'reviewer'); }
  c.array(v, 'annotations', '')?.forEach((a, i) => checkAnnotation(c, a, `annotations[${i}]`));
  c.array(v, 'trailers', '')?.forEach((t, i) => checkTrailer(c, t, `trailers[${i}]`));
  c.array(v, 'orphans', '')?.forEach((a, i) => checkAnnotation(c, a, `orphans[${i}]`));
  for (const key of Object.keys(v)) {
    if (depthOver(v[key], MAX_DEPTH)) c.fail(`.${key}`, `is nested more than ${MAX_DEPTH} levels deep; a review file this deep cannot be written back`);
  }
  // "series" rather than ".series" in messages about top-level fields
  return c.problems.map((p) => p.replace(`${file}: .`, `${file}: `));
}

/** Line and column (1-based) of a character offset. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) { line++; start = i + 1; }
  return { line, column: Math.min(offset, text.length) - start + 1 };
}

function jsonErrorText(text: string, e: unknown, file: string): string {
  const message = e instanceof Error ? e.message : String(e);
  const m = /at position (\d+)/.exec(message);
  const offset = m ? Number(m[1]) : text.length; // "Unexpected end of JSON input"
  const { line, column } = lineColumn(text, offset);
  // the message may quote the input: its control characters are shown escaped
  const reason = escapeControl(message.replace(/\s*\(line \d+ column \d+\)/, '').replace(/ in JSON at position \d+/, '').replace(/^JSON\.parse: /, ''));
  return `${file}:${line}:${column}: not valid JSON: ${reason}`;
}

export interface LoadedReview {
  review: ReviewFile | undefined;
  problems: string[];
}

export interface LoadOptions {
  /** A larger sidecar is refused (default DEFAULT_MAX_INPUT_BYTES). */
  maxBytes?: number;
}

/** A path as shown in a message: control characters escaped. */
function shownPath(file: string): string {
  return escapeControl(file);
}

/**
 * A missing file is no review yet (no problem); a broken one is a problem and no review, and so
 * is anything but a regular file (a directory, a FIFO, a dangling link) or one over the limit.
 */
export function loadReviewFile(file: string, opts: LoadOptions = {}): LoadedReview {
  const read = readTextFileSync(file, opts.maxBytes ?? DEFAULT_MAX_INPUT_BYTES);
  if (!read.ok) {
    if (read.missing) return { review: undefined, problems: [] };
    return { review: undefined, problems: [`${shownPath(file)}: cannot read the review file: ${read.reason}`] };
  }
  return parseReviewText(read.text, file);
}

export function parseReviewText(text: string, file: string): LoadedReview {
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { review: undefined, problems: [jsonErrorText(text, e, shownPath(file))] };
  }
  const problems = validateReview(value, shownPath(file));
  return problems.length > 0 ? { review: undefined, problems } : { review: value as ReviewFile, problems: [] };
}

// ---------------------------------------------------------------- writing

const ORDER: Record<string, readonly string[]> = {
  review: ['version', 'series', 'reviewer', 'annotations', 'trailers', 'orphans'],
  series: ['title', 'messageId'],
  reviewer: ['name', 'email'],
  annotation: ['id', 'patch', 'anchor', 'body', 'author', 'created', 'state', 'resolved', 'fromFinding'],
  patchKey: ['messageId', 'diffId', 'title', 'index'],
  anchor: ['part', 'text', 'file', 'hunkSection', 'before'],
  trailer: ['key', 'patch'],
};

/** Known keys in their declared order, then unknown (kept) keys alphabetically. */
function ordered(o: unknown, order: readonly string[], children: Record<string, (v: unknown) => unknown> = {}): unknown {
  if (!isObject(o)) return o;
  const out: Json = {};
  const extra = Object.keys(o).filter((k) => !order.includes(k)).sort();
  for (const k of [...order, ...extra]) {
    if (!(k in o) || o[k] === undefined) continue;
    const child = children[k];
    out[k] = child ? child(o[k]) : sortedDeep(o[k]);
  }
  return out;
}

function sortedDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortedDeep);
  if (!isObject(v)) return v;
  return ordered(v, []);
}

const orderPatchKey = (v: unknown): unknown => ordered(v, ORDER['patchKey']!);
const orderAnnotation = (v: unknown): unknown => ordered(v, ORDER['annotation']!, { patch: orderPatchKey, anchor: (a) => ordered(a, ORDER['anchor']!) });
const orderList = (f: (v: unknown) => unknown) => (v: unknown): unknown => (Array.isArray(v) ? v.map(f) : v);

/** The sidecar's text: two-space JSON, keys in a stable order, a final newline. */
export function formatReviewFile(review: ReviewFile): string {
  const o = ordered(review, ORDER['review']!, {
    series: (v) => ordered(v, ORDER['series']!),
    reviewer: (v) => ordered(v, ORDER['reviewer']!),
    annotations: orderList(orderAnnotation),
    orphans: orderList(orderAnnotation),
    trailers: orderList((t) => ordered(t, ORDER['trailer']!, { patch: orderPatchKey })),
  });
  return JSON.stringify(o, null, 2) + '\n';
}

export interface SaveResult {
  /** Where a broken file that was on disk was copied before being replaced. */
  backup?: string;
  /** What happened, for the user: empty when the file was simply written. */
  messages: string[];
}

/**
 * Write atomically (a temporary file next to the real file, then a rename). A symbolic link
 * stays a link and its target is updated; a directory, a FIFO or device, a dangling or looping
 * link is refused. A file on disk that is not a valid review file is copied to
 * `file.broken-<timestamp>` first and the message says so: a hand-edited sidecar is never lost.
 * Throws an Error whose message is one line naming the file when it cannot write.
 */
export function saveReviewFile(file: string, review: ReviewFile, opts: LoadOptions = {}): SaveResult {
  const result: SaveResult = { messages: [] };
  const fail = (reason: string): Error => new Error(`${shownPath(file)}: cannot write the review file: ${reason}`);
  const where = writeTarget(file);
  if (!where.ok) throw fail(where.reason);
  if (where.exists) {
    const current = loadReviewFile(file, opts);
    if (current.problems.length > 0) {
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      let backup = `${file}.broken-${stamp}`;
      for (let n = 1; existsSync(backup); n++) backup = `${file}.broken-${stamp}-${n}`;
      try {
        copyFileSync(where.target, backup, fsConstants.COPYFILE_EXCL);
      } catch (e) {
        throw fail(`it is not a valid review file and could not be copied aside to ${shownPath(backup)} (${errnoText(e)}); it was left as it is`);
      }
      result.backup = backup;
      result.messages.push(`${shownPath(file)} was not a valid review file (${current.problems[0]}${current.problems.length > 1 ? `, and ${current.problems.length - 1} more problem(s)` : ''}); it was copied to ${shownPath(backup)} before being replaced`);
    }
  }
  try {
    replaceFileAtomically(where.target, formatReviewFile(review), where.mode);
  } catch (e) {
    throw fail((e as Error).message);
  }
  return result;
}

/** A fresh, empty review for a series. */
export function newReview(series: Series, reviewer: { name: string; email: string }): ReviewFile {
  const first = series.coverLetter ?? series.patches[0];
  const s: ReviewFile['series'] = { title: first?.title ?? '' };
  if (series.coverLetter?.messageId !== undefined) s.messageId = series.coverLetter.messageId;
  return { version: 1, series: s, reviewer: { name: oneLine(reviewer.name), email: oneLine(reviewer.email) }, annotations: [], trailers: [], orphans: [] };
}

// ---------------------------------------------------------------- placing

export interface PlacedAnnotation {
  annotation: Annotation;
  patch: Patch;
  /** 1-based line in the patch's file, as it is now. */
  patchLine: number;
}

export interface Placement {
  placed: PlacedAnnotation[];
  orphans: Annotation[];
}

/** A title as titles are compared: spaces collapsed, case ignored. */
export function normTitle(t: string): string {
  return t.replace(/\s+/g, ' ').trim().toLowerCase();
}

/** The patches an annotation may belong to, best identity first (one tier only). */
function candidates(key: PatchKey, all: readonly Patch[], ids: Map<Patch, string | undefined>): Patch[] {
  if (key.messageId !== undefined) {
    const byId = all.filter((p) => p.messageId === key.messageId);
    if (byId.length > 0) return byId;
  }
  if (key.diffId !== undefined) {
    const byDiff = all.filter((p) => ids.get(p) === key.diffId);
    if (byDiff.length > 0) return byDiff;
  }
  const t = normTitle(key.title);
  const byTitle = all.filter((p) => normTitle(p.title) === t);
  // several patches with one title: the one at the same index first
  return byTitle.sort((a, b) => Number(indexOf(b) === key.index) - Number(indexOf(a) === key.index));
}

function indexOf(p: Patch): number {
  return p.isCoverLetter ? 0 : p.tags.index ?? 0;
}

function sameBefore(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The line an anchor sits on in a patch: exact text and context first, then the text alone if unique. */
function locate(anchor: LineAnchor, lines: readonly AnchorableLine[]): AnchorableLine | undefined {
  const sameText = lines.filter((l) => l.part === anchor.part && l.text === anchor.text && (anchor.file === undefined || l.file === anchor.file));
  const withContext = sameText.filter((l) => sameBefore(beforeOf(l), anchor.before));
  if (withContext.length > 0) {
    return withContext.find((l) => l.hunkSection === anchor.hunkSection) ?? withContext[0];
  }
  if (sameText.length === 1) return sameText[0];
  return undefined;
}

/** The patch of a series a key names (best identity first), the diff identities computed once for all lookups. */
export function patchFinder(series: Series): (key: PatchKey) => Patch | undefined {
  const all = [...(series.coverLetter ? [series.coverLetter] : []), ...series.patches];
  const ids = new Map(all.map((p) => [p, diffIdentity(p)] as const));
  return (key) => candidates(key, all, ids)[0];
}

export interface PlaceOptions {
  /** File texts to use instead of the files on disk (unsaved editor buffers). */
  texts?: ReadonlyMap<string, string>;
}

/** Where each annotation sits in the series as it is now; the rest are orphans. */
export function placeAnnotations(review: ReviewFile, series: Series, opts: PlaceOptions = {}): Placement {
  const all = [...(series.coverLetter ? [series.coverLetter] : []), ...series.patches];
  const ids = new Map(all.map((p) => [p, diffIdentity(p)] as const));
  const files = new FileLines(opts.texts);
  const lineCache = new Map<Patch, AnchorableLine[]>();
  const linesOf = (p: Patch): AnchorableLine[] => {
    let l = lineCache.get(p);
    if (!l) { l = anchorableLines(p, files); lineCache.set(p, l); }
    return l;
  };
  const placement: Placement = { placed: [], orphans: [] };
  for (const annotation of review.annotations) {
    let done = false;
    for (const patch of candidates(annotation.patch, all, ids)) {
      const hit = locate(annotation.anchor, linesOf(patch));
      if (hit) {
        placement.placed.push({ annotation, patch, patchLine: hit.patchLine });
        done = true;
        break;
      }
    }
    if (!done) placement.orphans.push(annotation);
  }
  return placement;
}

/**
 * The review moved onto a new revision of the series: annotations that still fit are keyed
 * to the new patches (Message-Id, diff identity, index, and the line's current context); the
 * rest join the orphans. Trailers follow their patch when it is found, else apply to the series.
 */
export function carryOver(review: ReviewFile, newSeries: Series, opts: PlaceOptions = {}): ReviewFile {
  const { placed, orphans } = placeAnnotations(review, newSeries, opts);
  const files = new FileLines(opts.texts);
  const annotations = placed.map(({ annotation, patch, patchLine }) => {
    const fresh = anchorableLines(patch, files).find((l) => l.patchLine === patchLine);
    return { ...annotation, patch: patchKeyOf(patch), anchor: fresh ? { ...annotation.anchor, ...toAnchor(fresh) } : annotation.anchor };
  });
  const all = [...(newSeries.coverLetter ? [newSeries.coverLetter] : []), ...newSeries.patches];
  const ids = new Map(all.map((p) => [p, diffIdentity(p)] as const));
  const trailers: ReviewTrailer[] = review.trailers.map((t) => {
    if (t.patch === undefined) return { ...t };
    const p = candidates(t.patch, all, ids)[0];
    return p ? { ...t, patch: patchKeyOf(p) } : { ...t };
  });
  const series = { ...review.series, title: newSeries.coverLetter?.title ?? review.series.title };
  if (newSeries.coverLetter?.messageId !== undefined) series.messageId = newSeries.coverLetter.messageId;
  else delete series.messageId;
  return { ...review, series, annotations, trailers, orphans: [...review.orphans, ...orphans] };
}

// ---------------------------------------------------------------- from findings

export function authorText(reviewer: { name: string; email: string }): string {
  const name = oneLine(reviewer.name);
  const email = oneLine(reviewer.email);
  if (email === '') return name;
  return name === '' ? `<${email}>` : `${name} <${email}>`;
}

/** The finding as plain text: its message, then the ioctl trace as numbered steps. */
/**
 * A finding as a reviewer would write it on the list: the finding's sentence, then the ioctl
 * sequence as an indented list (kept as it is when the reply is wrapped), each step with where it
 * ran when that is a place the reader has: a file of the kernel tree, or a line of this patch as
 * its C file and post-image line. The built-in model's files and local patch paths are left out.
 */
export function findingText(finding: Finding, patch?: Patch): string {
  const sentence = finding.message.replace(/\s+$/, '');
  const lines = [/[.!?)]$/.test(sentence) ? sentence : `${sentence}.`];
  if (finding.trace.length > 0) {
    lines.push('', 'The ioctls that get there:', '');
    finding.trace.forEach((s, i) => {
      const vcpu = s.vcpu === null ? '' : ` on vcpu ${s.vcpu}`;
      const last = i === finding.trace.length - 1;
      const what = last && finding.location.function ? `, ${finding.location.function}()` : '';
      // the hazard's step: where the finding is, when the step's own place is one the reader lacks
      const where = readerPlace(s.location, patch) ?? (last ? readerPlace(finding.location, patch) : undefined);
      lines.push(`    ${s.operation}${vcpu}${what}${where ? ` (${where})` : ''}`);
    });
  }
  return lines.join('\n');
}

/** A step's place as the list's readers have it: a tree path, or this patch's line as its C file's post-image line. */
function readerPlace(loc: { file: string; line: number }, patch: Patch | undefined): string | undefined {
  if (patch && loc.file === patch.file) {
    for (const d of patch.diffs) {
      for (const h of d.hunks) {
        const l = h.lines.find((x) => x.patchLine === loc.line);
        if (l) return `${d.newPath ?? d.oldPath}:${l.newLine ?? l.oldLine}`;
      }
    }
    return undefined;
  }
  // the built-in model and files outside a tree (absolute or local patch paths) mean nothing to the list
  if (loc.file.startsWith('builtin-model/') || loc.file.startsWith('/') || /\.(patch|mbox|mbx|eml|diff)$/.test(loc.file)) return undefined;
  return `${loc.file}:${loc.line}`;
}

/**
 * "Add to review": a draft annotation carrying the finding's message and trace, anchored at
 * the finding's line when it lies in this patch, else at the patch's first changed line (or
 * the first line of its message).
 */
export function findingToAnnotation(finding: Finding, patch: Patch, reviewer: { name: string; email: string }, fileText?: string): Annotation {
  const files = new FileLines(fileText === undefined ? undefined : new Map([[patch.file, fileText]]));
  const lines = anchorableLines(patch, files);
  const here = finding.location.file === patch.file ? lines.find((l) => l.patchLine === finding.location.line) : undefined;
  const fallback = lines.find((l) => l.part === 'diff' && l.text[0] !== ' ') ?? lines[0];
  const anchor: LineAnchor = here ? toAnchor(here) : fallback ? toAnchor(fallback)
    : { part: patch.isCoverLetter ? 'cover-letter' : 'commit-message', text: patch.commitMessage.split('\n')[0] ?? '', before: [] };
  return {
    id: randomUUID(),
    patch: patchKeyOf(patch),
    anchor,
    body: findingText(finding, patch),
    author: authorText(reviewer),
    created: new Date().toISOString(),
    state: 'draft',
    resolved: false,
    fromFinding: finding.key,
  };
}

// ---------------------------------------------------------------- who

export interface ReviewerIdentity {
  name: string;
  email: string;
  /** Set when no name could be found. */
  problem?: string;
}

/**
 * The reviewer: the settings, else `git config user.name`/`user.email`, else an empty name and a
 * problem. `git: false` (an untrusted workspace) runs nothing: the settings alone decide.
 */
export function reviewerIdentity(settings?: { name?: string; email?: string }, opts: { cwd?: string; env?: NodeJS.ProcessEnv; git?: boolean } = {}): ReviewerIdentity {
  const git = (key: string): string => {
    if (opts.git === false) return '';
    try {
      return execFileSync('git', ['config', '--get', key], {
        encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000,
        ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}), ...(opts.env !== undefined ? { env: opts.env } : {}),
      }).trim();
    } catch {
      return '';
    }
  };
  // one line each: the name and email go into From: headers and trailer lines
  const name = oneLine(settings?.name ?? '') || oneLine(git('user.name'));
  const email = oneLine(settings?.email ?? '') || oneLine(git('user.email'));
  const id: ReviewerIdentity = { name, email };
  const untrusted = opts.git === false ? ' (git config is not read in an untrusted workspace)' : '';
  if (name === '') id.problem = `no reviewer name: set kvmLens.reviewer.name, or \`git config --global user.name "Your Name"\`${untrusted}`;
  else if (email === '') id.problem = `no reviewer email: set kvmLens.reviewer.email, or \`git config --global user.email you@example.org\`${untrusted}`;
  return id;
}
