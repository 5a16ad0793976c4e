// b4 review's tracking commit, as b4's development head (1f2f768) writes and reads it, read from
// its own tree (src/b4/review/_review.py: make_review_magic_json, load_tracking,
// save_tracking_ref, _build_review_email; not copied):
// - The tip of `b4/review/<change-id>` is an empty commit whose message is the cover text, a
//   blank line, the marker line `--- b4-review-tracking ---`, one `#` comment line, then the
//   tracking JSON (Python's json.dumps with indent 2, so non-ASCII as \u escapes). b4 splits at
//   the first marker and drops every line starting with `#` before parsing.
// - The JSON holds `series` (with `header-info.msgid`), `patches` (one per commit after the base,
//   in order, each with `title` and `header-info.msgid`) and, on `series` and on each patch,
//   `reviews[email] = { name, comments: [{path, line, text, content?}], trailers: ["Key: Name
//   <email>"], note, reply, patch-state, sent-revision }`.
// - A comment's `path` is the diff's own `a/<file>` (a removed line, counted in the pre-image) or
//   `b/<file>` (an added or context line, counted in the post-image), or `:message` for a line of
//   the commit message or cover letter (1-based after the subject; 0 is before the quote).
//   `content` is the line as the diff shows it, with its leading ' ', '+' or '-'.
// - b4 sends `comments` and `trailers` only when `reply` is empty: a hand-edited reply buffer is
//   sent as it stands. `note` is private and never sent.
// Everything this file does not know is kept as it is when the commit is written back.

import { parseSubjectTags } from '../series/subjectTags';
import { escapeControl } from '../text/controlChars';
import { normTitle } from './annotations';

export const TRACKING_MARKER = '--- b4-review-tracking ---';
const TRACKING_COMMENT = '# This section is used internally by b4 review for tracking purposes.';
/** b4 refuses to write a tracking commit anywhere else. */
export const REVIEW_BRANCH_PREFIX = 'b4/review/';
/** The `path` of a comment on the commit message or the cover letter. */
export const MESSAGE_PATH = ':message';

export type Json = Record<string, unknown>;

export interface B4Comment {
  path: string;
  line: number;
  text: string;
  content?: string;
}

export interface TrackingCommit {
  /** The text before the marker: the cover letter's subject and body. */
  cover: string;
  tracking: Json;
}

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The cover text and tracking JSON of a tip commit's message, or why it is not one. */
export function parseTrackingMessage(message: string): { ok: true; commit: TrackingCommit } | { ok: false; why: string } {
  const at = message.indexOf(TRACKING_MARKER);
  if (at < 0) return { ok: false, why: `its tip commit has no "${TRACKING_MARKER}" line: it is not a b4 review tracking commit` };
  const json = message.slice(at + TRACKING_MARKER.length).split('\n').filter((l) => !l.startsWith('#')).join('\n');
  let tracking: unknown;
  try {
    tracking = JSON.parse(json);
  } catch (e) {
    return { ok: false, why: `its tracking JSON does not parse: ${escapeControl((e as Error).message)}` };
  }
  if (!isObject(tracking)) return { ok: false, why: 'its tracking JSON is not an object' };
  if (!isObject(tracking['series'])) return { ok: false, why: 'its tracking JSON has no "series" object' };
  if (!Array.isArray(tracking['patches'])) return { ok: false, why: 'its tracking JSON has no "patches" list' };
  return { ok: true, commit: { cover: message.slice(0, at).trim(), tracking } };
}

/** The message b4 would write for this cover text and tracking: ASCII JSON, indented by 2. */
export function formatTrackingMessage(commit: TrackingCommit): string {
  const json = JSON.stringify(commit.tracking, null, 2).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `${commit.cover}\n\n${TRACKING_MARKER}\n${TRACKING_COMMENT}\n${json}`;
}

/** The review entries of the series and of each patch, as b4 keeps them (the lists may be absent). */
export function seriesOf(tracking: Json): Json {
  return tracking['series'] as Json;
}

export function patchesOf(tracking: Json): Json[] {
  return (tracking['patches'] as unknown[]).map((p) => (isObject(p) ? p : {}));
}

/** One reviewer's entry on the series or a patch, without creating it. */
export function reviewOf(target: Json, email: string): Json | undefined {
  const reviews = target['reviews'];
  if (!isObject(reviews)) return undefined;
  // an own key only: "__proto__" or "toString" must not find Object.prototype
  const own = Object.hasOwn(reviews, email) ? reviews[email] : undefined;
  return isObject(own) ? own : undefined;
}

/** The reviewers (by email) with an entry on the series or a patch. */
export function reviewersOf(target: Json): string[] {
  const reviews = target['reviews'];
  return isObject(reviews) ? Object.keys(reviews).filter((k) => isObject(reviews[k])) : [];
}

/** One reviewer's entry, created when missing (as b4's _ensure_my_review does). */
export function ensureReview(target: Json, email: string, name: string): Json {
  let reviews = target['reviews'];
  if (!isObject(reviews)) { reviews = {}; target['reviews'] = reviews; }
  const all = reviews as Json;
  let own = Object.hasOwn(all, email) ? all[email] : undefined;
  if (!isObject(own)) { own = {}; Object.defineProperty(all, email, { value: own, enumerable: true, writable: true, configurable: true }); }
  (own as Json)['name'] = name;
  return own as Json;
}

/** The comments of an entry that have the shape b4 reads; the others are counted. */
export function commentsOf(entry: Json | undefined): { comments: B4Comment[]; malformed: number } {
  const list = entry?.['comments'];
  if (!Array.isArray(list)) return { comments: [], malformed: 0 };
  const comments: B4Comment[] = [];
  let malformed = 0;
  for (const c of list) {
    if (isObject(c) && typeof c['path'] === 'string' && typeof c['line'] === 'number' && Number.isInteger(c['line']) && typeof c['text'] === 'string') {
      const out: B4Comment = { path: c['path'], line: c['line'], text: c['text'] };
      if (typeof c['content'] === 'string') out.content = c['content'];
      comments.push(out);
    } else malformed++;
  }
  return { comments, malformed };
}

export function trailersOf(entry: Json | undefined): string[] {
  const list = entry?.['trailers'];
  return Array.isArray(list) ? list.filter((t): t is string => typeof t === 'string') : [];
}

/** The Message-Id b4 recorded for the series or a patch (header-info.msgid), without brackets. */
export function msgidOf(target: Json): string | undefined {
  const info = target['header-info'];
  const id = isObject(info) ? info['msgid'] : undefined;
  return typeof id === 'string' && id !== '' ? id.replace(/^<|>$/g, '') : undefined;
}

/** A patch entry's subject without its [PATCH n/m] tags, compared as a series patch's title is (normTitle). */
export function trackedTitle(entry: Json): string {
  return normTitle(parseSubjectTags(typeof entry['title'] === 'string' ? entry['title'] : '').title);
}
