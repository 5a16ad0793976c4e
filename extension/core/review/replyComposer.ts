// Composes the reviewer's mailing-list replies from the annotations on a series, in the
// kernel's trimmed, interleaved style: quote only a few lines above each commented line,
// put the comment right under it, elide the rest with "> [...]", trailers last. One reply per
// patch with something to say, plus one to the cover letter (or patch 1) for series-wide trailers.
// Nothing read from the series or the sidecar reaches a header or a trailer line unchecked
// (mailHeaders.ts); body lines show control characters escaped.

import { createHash } from 'node:crypto';
import { diffIdentity } from '../series/diffIdentity';
import type { Patch, Series } from '../series/types';
import { escapeControl, oneLine } from '../text/controlChars';
import {
  addressHeader, encodeWords, fixedHeader, isMailAddress, isMessageId, messageIdHeader, parseMailbox, rfc2822Date, unstructuredHeader, type Mailbox,
} from './mailHeaders';
import type { Annotation, LineAnchor, PatchKey, ReviewFile, ReviewTrailer } from './types';

export { encodeWords, rfc2822Date };

export interface ComposeOptions {
  /** Date of the replies (default: now); also feeds the generated Message-Ids. */
  date?: Date;
  to?: string[];
  cc?: string[];
  /** Leave the trailer lines out of the body (they are still in `trailerLines`); default false. */
  omitTrailers?: boolean;
}

export interface ComposedReply {
  patch: PatchKey;
  /** e.g. "0002-re-kvm-svm-let-dr7-writes.eml" */
  fileName: string;
  /** The whole RFC 2822 message, LF line ends. */
  text: string;
  /** Problems with this reply: not threaded, comments whose line was not found. */
  warnings: string[];
  /** The body alone (attribution, quote, comments, trailers unless omitted), LF line ends. */
  body: string;
  /** The trailer lines this reply gives, e.g. "Reviewed-by: Ada <ada@example.org>". */
  trailerLines: string[];
  /** How many comments it holds (0: a reply for trailers only). */
  comments: number;
}

export interface ComposeResult {
  replies: ComposedReply[];
  /** Problems not tied to one reply (annotations on a patch the series does not hold). */
  warnings: string[];
}

/** Lines of context quoted above each commented line. */
export const CONTEXT_LINES = 3;
/** Column at which the reviewer's own text is wrapped. */
export const WRAP_COLUMN = 72;
const ELISION = '> [...]';
/** The trailers a reply may carry; any other key would be a line of its own making. */
const TRAILER_KEYS: ReadonlySet<string> = new Set<ReviewTrailer['key']>(['Reviewed-by', 'Acked-by', 'Tested-by']);

export function composeReplies(series: Series, review: ReviewFile, opts: ComposeOptions = {}): ComposedReply[] {
  return composeReplyBatch(series, review, opts).replies;
}

interface Pending {
  patch: Patch;
  annotations: Annotation[];
  trailers: ReviewTrailer[];
}

/** The reviewer as the replies name them; no mailbox when the sidecar's email is not an address. */
interface Signer {
  mailbox?: Mailbox;
  /** "Name <email>" for trailer lines. */
  trailerId?: string;
}

function signerOf(review: ReviewFile, warnings: string[]): Signer {
  const name = oneLine(review.reviewer.name);
  const email = oneLine(review.reviewer.email);
  if (!isMailAddress(email)) {
    warnings.push(`the reviewer's email ${shown(review.reviewer.email)} is not a mail address (local@domain): the replies have no From: and no trailers; set reviewer.email in the review file`);
    return {};
  }
  return { mailbox: { name, email }, trailerId: trailerIdentity(name, email) };
}

/** "Name <email>" as a trailer line gives the reviewer: angle brackets in the name would let it pass for another address. */
export function trailerIdentity(name: string, email: string): string {
  const trailerName = oneLine(name).replace(/[<>]/g, '').replace(/ {2,}/g, ' ').trim();
  return trailerName === '' ? `<${email}>` : `${trailerName} <${email}>`;
}

/** A draft "Add to review" made from a finding, which no reply carries until the reviewer confirms it. */
export function isUnconfirmed(a: Annotation): boolean {
  return !a.resolved && a.fromFinding !== undefined && a.state === 'draft';
}

/** Whether an annotation goes into a reply (and to b4): not resolved, not an unconfirmed draft. */
export function goesOut(a: Annotation): boolean {
  return !a.resolved && !isUnconfirmed(a);
}

/** Input text inside a message: quoted, control characters escaped. */
function shown(text: string): string {
  return `"${escapeControl(text)}"`;
}

export function composeReplyBatch(series: Series, review: ReviewFile, opts: ComposeOptions = {}): ComposeResult {
  const warnings: string[] = [];
  let date = opts.date ?? new Date();
  if (Number.isNaN(date.getTime())) {
    warnings.push('the date of the replies is not a valid date; they are dated now');
    date = new Date();
  }
  const signer = signerOf(review, warnings);
  const all: Patch[] = series.coverLetter ? [series.coverLetter, ...series.patches] : [...series.patches];
  const ids = new Map<Patch, string | undefined>(all.map((p) => [p, diffIdentity(p)]));
  const pending = new Map<Patch, Pending>();
  const slot = (p: Patch): Pending => {
    let s = pending.get(p);
    if (!s) pending.set(p, (s = { patch: p, annotations: [], trailers: [] }));
    return s;
  };

  const unconfirmed = review.annotations.filter(isUnconfirmed);
  if (unconfirmed.length > 0) {
    warnings.push(`${unconfirmed.length} comment${unconfirmed.length === 1 ? '' : 's'} made from findings (Add to review) ${unconfirmed.length === 1 ? 'is' : 'are'} still unconfirmed drafts and in no reply: edit ${unconfirmed.length === 1 ? 'it' : 'them'} or mark ${unconfirmed.length === 1 ? 'it' : 'them'} final to send`);
  }
  for (const a of review.annotations) {
    if (!goesOut(a)) continue;
    const p = findPatch(all, ids, a.patch, a.anchor.part === 'cover-letter');
    if (!p) {
      warnings.push(`annotation ${escapeControl(a.id)} on ${shown(a.patch.title)} matches no patch of this series; it is in no reply`);
      continue;
    }
    slot(p).annotations.push(a);
  }
  for (const t of signer.trailerId === undefined ? [] : review.trailers) {
    if (!TRAILER_KEYS.has(t.key)) {
      warnings.push(`the trailer ${shown(String(t.key))} is not one of ${[...TRAILER_KEYS].join(', ')}; it is in no reply`);
      continue;
    }
    const p = t.patch ? findPatch(all, ids, t.patch, false) : (series.coverLetter ?? series.patches[0]);
    if (!p) {
      warnings.push(t.patch ? `${t.key} for ${shown(t.patch.title)} matches no patch of this series; it is in no reply` : `${t.key} for the whole series: the series has no patch to reply to`);
      continue;
    }
    const s = slot(p);
    if (!s.trailers.some((x) => x.key === t.key)) s.trailers.push(t);
  }

  const replies: ComposedReply[] = [];
  for (const p of all) {
    const s = pending.get(p);
    if (s) replies.push(composeOne(s, series, signer, opts, date, ids.get(p)));
  }
  return { replies, warnings };
}

function findPatch(all: Patch[], ids: Map<Patch, string | undefined>, key: PatchKey, cover: boolean): Patch | undefined {
  if (key.messageId) {
    const p = all.find((x) => x.messageId === key.messageId);
    if (p) return p;
  }
  if (key.diffId) {
    const p = all.find((x) => ids.get(x) === key.diffId);
    if (p) return p;
  }
  const byTitle = all.filter((x) => x.title === key.title && (!cover || x.isCoverLetter));
  if (byTitle.length === 1) return byTitle[0];
  if (byTitle.length > 1 && key.index !== undefined) return byTitle.find((x) => (x.isCoverLetter ? 0 : x.tags.index) === key.index) ?? byTitle[0];
  if (byTitle.length > 0) return byTitle[0];
  if (cover) return all.find((x) => x.isCoverLetter);
  return undefined;
}

// ---------------------------------------------------------------- the quoted original

interface QuotedLine {
  text: string;
  part: LineAnchor['part'] | 'header';
  file?: string;
  hunkSection?: string;
}

function originalLines(p: Patch): QuotedLine[] {
  const out: QuotedLine[] = [];
  const msgPart: LineAnchor['part'] = p.isCoverLetter ? 'cover-letter' : 'commit-message';
  if (p.commitMessage !== '') for (const l of splitLf(p.commitMessage)) out.push({ text: l, part: msgPart });
  for (const d of p.diffs) {
    const file = d.newPath ?? d.oldPath ?? '';
    const a = d.oldPath ?? d.newPath ?? '';
    const b = d.newPath ?? d.oldPath ?? '';
    out.push({ text: `diff --git a/${a} b/${b}`, part: 'header', file });
    out.push({ text: `--- ${d.oldPath === null ? '/dev/null' : 'a/' + d.oldPath}`, part: 'header', file });
    out.push({ text: `+++ ${d.newPath === null ? '/dev/null' : 'b/' + d.newPath}`, part: 'header', file });
    for (const h of d.hunks) {
      const range = (s: number, c: number): string => (c === 1 ? `${s}` : `${s},${c}`);
      out.push({ text: `@@ -${range(h.oldStart, h.oldCount)} +${range(h.newStart, h.newCount)} @@${h.section ? ' ' + h.section.replace(/^ /, '') : ''}`, part: 'header', file, hunkSection: h.section });
      for (const l of h.lines) {
        const prefix = l.kind === 'added' ? '+' : l.kind === 'removed' ? '-' : ' ';
        out.push({ text: prefix + stripCr(l.text), part: 'diff', file, hunkSection: h.section });
      }
    }
  }
  return out;
}

function splitLf(text: string): string[] {
  return text.split('\n').map(stripCr);
}

function stripCr(s: string): string {
  return s.endsWith('\r') ? s.slice(0, -1) : s;
}

/** Positions of each line text, exact and without trailing blanks, so each anchor is one lookup. */
class LineIndex {
  readonly exact = new Map<string, number[]>();
  readonly trimmed = new Map<string, number[]>();
  constructor(lines: readonly QuotedLine[]) {
    lines.forEach((q, i) => {
      add(this.exact, q.text, i);
      add(this.trimmed, q.text.trimEnd(), i);
    });
  }
}

function add(m: Map<string, number[]>, key: string, i: number): void {
  const at = m.get(key);
  if (at) at.push(i);
  else m.set(key, [i]);
}

/** Index of the anchored line in `lines`, or -1. */
function findAnchor(lines: QuotedLine[], index: LineIndex, anchor: LineAnchor): number {
  const partOk = (q: QuotedLine): boolean => (anchor.part === 'diff' ? q.part === 'diff' : q.part === 'commit-message' || q.part === 'cover-letter');
  const want = stripCr(anchor.text);
  const at = (positions: number[] | undefined): { q: QuotedLine; i: number }[] => (positions ?? []).map((i) => ({ q: lines[i]!, i })).filter(({ q }) => partOk(q));
  let cands = at(index.exact.get(want));
  if (cands.length === 0) cands = at(index.trimmed.get(want.trimEnd()));
  if (cands.length === 0) return -1;
  if (cands.length === 1) return cands[0]!.i;
  const score = (i: number, q: QuotedLine): number => {
    let s = 0;
    if (anchor.file !== undefined && q.file === anchor.file) s += 100;
    if (anchor.hunkSection !== undefined && q.hunkSection?.trim() === anchor.hunkSection.trim()) s += 50;
    const before = anchor.before.map(stripCr);
    for (let k = 1; k <= before.length; k++) {
      const mine = lines[i - k];
      if (mine !== undefined && mine.text.trimEnd() === before[before.length - k]!.trimEnd()) s += 10;
    }
    return s;
  };
  let best = cands[0]!;
  let bestScore = score(best.i, best.q);
  for (const c of cands.slice(1)) {
    const sc = score(c.i, c.q);
    if (sc > bestScore) { best = c; bestScore = sc; }
  }
  return best.i;
}

function quote(text: string): string {
  return text === '' ? '>' : `> ${text}`;
}

// ---------------------------------------------------------------- one reply

function composeOne(s: Pending, series: Series, signer: Signer, opts: ComposeOptions, date: Date, diffId: string | undefined): ComposedReply {
  const p = s.patch;
  const warnings: string[] = [];
  const where = `${escapeControl(p.file)}${p.startLine > 1 ? ':' + p.startLine : ''}`;
  const lines = originalLines(p);
  const index = new LineIndex(lines);

  const placed: { at: number; a: Annotation }[] = [];
  const lost: Annotation[] = [];
  for (const a of s.annotations) {
    const at = findAnchor(lines, index, a.anchor);
    if (at < 0) {
      lost.push(a);
      warnings.push(`${where}: the line of annotation ${escapeControl(a.id)} (${shown(a.anchor.text.trim())}) is no longer in ${shown(p.subject)}; its comment is at the end of the reply`);
    } else placed.push({ at, a });
  }
  placed.sort((x, y) => x.at - y.at || x.a.created.localeCompare(y.a.created));

  const body: string[] = [attribution(p)];
  let next = 0; // first original line not yet quoted
  if (placed.length === 0 && lost.length === 0) {
    // trailers only: quote the message they answer, then elide the rest
    const msg = lines.filter((q) => q.part !== 'diff' && q.part !== 'header');
    for (const q of msg) body.push(quote(q.text));
    next = msg.length;
    if (msg.length < lines.length) body.push(ELISION);
  } else {
    for (let k = 0; k < placed.length; k++) {
      const { at, a } = placed[k]!;
      if (at >= next) {
        const from = Math.max(next, at - CONTEXT_LINES);
        // as b4 quotes a diff: the file's line and the hunk's header above the excerpt, so the
        // reader knows which file and function the comment is about
        for (const h of headersAbove(lines, at, next, from)) {
          if (h > next) body.push(ELISION);
          body.push(quote(lines[h]!.text));
          next = h + 1;
        }
        if (from > next) body.push(ELISION);
        for (let i = Math.max(from, next); i <= at; i++) body.push(quote(lines[i]!.text));
        next = at + 1;
      }
      pushComment(body, a.body);
      // Several comments on one line follow each other without repeating the quote.
    }
    if (lost.length > 0) {
      if (next < lines.length || placed.length === 0) body.push(ELISION);
      for (const a of lost) pushComment(body, a.body);
    }
  }
  while (body.length > 0 && body[body.length - 1] === '') body.pop();
  const trailerLines = signer.trailerId === undefined ? [] : s.trailers.map((t) => `${t.key}: ${signer.trailerId}`);
  if (trailerLines.length > 0 && !opts.omitTrailers) {
    body.push('');
    for (const t of trailerLines) body.push(t);
  }
  // drop the blank line that would follow a comment before a quote block twice
  const bodyText = collapseBlankRuns(body).map(escapeControl).join('\n') + '\n';

  const h: string[] = [];
  if (signer.mailbox) h.push(addressHeader('From', [signer.mailbox]));
  // reply to all, as the list expects: the author in To, the original recipients (the list) in Cc
  const taken = new Set<string>(signer.mailbox ? [signer.mailbox.email.toLowerCase()] : []);
  const to = recipients([...(p.from ? [p.from] : []), ...(opts.to ?? [])], 'To', where, warnings, new Set());
  for (const m of to) taken.add(m.email.toLowerCase());
  const cc = recipients([...(opts.cc ?? []), ...(p.to ?? []), ...(p.cc ?? [])], 'Cc', where, warnings, taken);
  if (to.length > 0) h.push(addressHeader('To', to));
  if (cc.length > 0) h.push(addressHeader('Cc', cc));
  const title = oneLine(p.subject);
  h.push(unstructuredHeader('Subject', /^re:/i.test(title) ? title : `Re: ${title}`));
  h.push(fixedHeader('Date', rfc2822Date(date)));
  for (const line of threadingHeaders(p, where, warnings)) h.push(line);
  const hash = createHash('sha1').update(`${p.messageId ?? ''}\0${diffId ?? ''}\0${p.subject}\0${date.toISOString()}\0${bodyText}`).digest('hex');
  h.push(messageIdHeader('Message-Id', [`${hash.slice(0, 24)}@${messageIdDomain(signer)}`]));
  h.push('MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit');

  const number = p.isCoverLetter ? 0 : (p.tags.index ?? series.patches.indexOf(p) + 1);
  const key: PatchKey = { title: p.title, index: number };
  if (p.messageId) key.messageId = p.messageId;
  if (diffId) key.diffId = diffId;
  return { patch: key, fileName: `${String(number).padStart(4, '0')}-re-${slug(p.title)}.eml`, text: h.join('\n') + '\n\n' + bodyText, warnings, body: bodyText, trailerLines: trailerLines.map(escapeControl), comments: s.annotations.length };
}

/** The right side of a Message-Id: the reviewer's mail domain, as a mail client would use; without an address, a reserved one. */
function messageIdDomain(signer: Signer): string {
  const domain = signer.mailbox?.email.split('@').pop()?.toLowerCase();
  return domain && /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/.test(domain) ? domain : 'kvm-lens.invalid';
}

/**
 * For a diff line at `at` quoted from `from`: the `diff --git` line of its file and the `@@`
 * line of its hunk when they are not quoted yet (at or after `next`) and the excerpt does not
 * reach them, in order.
 */
function headersAbove(lines: readonly QuotedLine[], at: number, next: number, from: number): number[] {
  if (lines[at]?.part !== 'diff') return [];
  let hunk = -1;
  let file = -1;
  for (let i = at - 1; i >= 0 && file < 0; i--) {
    const t = lines[i]!;
    if (t.part !== 'header') continue;
    if (hunk < 0 && t.text.startsWith('@@ ')) hunk = i;
    else if (t.text.startsWith('diff --git ')) file = i;
  }
  return [file, hunk].filter((i) => i >= next && i < from);
}

/** A comment under its line: a blank line, the wrapped text, a blank line. */
function pushComment(body: string[], text: string): void {
  body.push('');
  for (const l of wrapComment(text)) body.push(l);
  body.push('');
}

/** Each address once, checked; one that is not a single valid mailbox is left out with a warning. */
function recipients(addrs: readonly string[], header: string, where: string, warnings: string[], taken: Set<string>): Mailbox[] {
  const out: Mailbox[] = [];
  for (const a of addrs) {
    const m = parseMailbox(a);
    if (!m) {
      warnings.push(`${where}: ${shown(a)} is not one mail address; it is left out of ${header}:`);
      continue;
    }
    const key = m.email.toLowerCase();
    if (taken.has(key)) continue;
    taken.add(key);
    out.push(m);
  }
  return out;
}

/** In-Reply-To and References from the patch's ids, each checked to be one <local@domain>. */
function threadingHeaders(p: Patch, where: string, warnings: string[]): string[] {
  if (!p.messageId) {
    warnings.push(`${where}: no Message-Id: the reply is not threaded; send it with --in-reply-to`);
    return [];
  }
  if (!isMessageId(p.messageId)) {
    warnings.push(`${where}: the Message-Id ${shown(p.messageId)} is not one <local@domain>: the reply is not threaded; send it with --in-reply-to`);
    return [];
  }
  const refs: string[] = [];
  const seen = new Set<string>([p.messageId]);
  let dropped = 0;
  for (const r of p.references) {
    if (seen.has(r)) continue;
    seen.add(r);
    if (isMessageId(r)) refs.push(r);
    else dropped++;
  }
  if (dropped > 0) warnings.push(`${where}: ${dropped} References entr${dropped === 1 ? 'y is' : 'ies are'} not one <local@domain> each and ${dropped === 1 ? 'is' : 'are'} left out`);
  refs.push(p.messageId);
  return [messageIdHeader('In-Reply-To', [p.messageId]), messageIdHeader('References', refs)];
}

function collapseBlankRuns(lines: string[]): string[] {
  const out: string[] = [];
  for (const l of lines) if (!(l === '' && out[out.length - 1] === '')) out.push(l);
  return out;
}

function attribution(p: Patch): string {
  const who = p.from ? displayName(oneLine(p.from)) : 'you';
  const date = oneLine(p.date ?? '');
  return date !== '' ? `On ${date}, ${who} wrote:` : `${who} wrote:`;
}

/** "Ada <a@x>" -> "Ada"; "a@x" -> "a@x". */
function displayName(addr: string): string {
  const m = /^\s*(.*?)\s*<([^<>]*)>\s*$/.exec(addr);
  if (!m) return addr.trim();
  const name = m[1]!.replace(/^"(.*)"$/, '$1').replace(/\\(.)/g, '$1').trim();
  return name || m[2]!;
}

export function slug(title: string): string {
  const s = title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  if (s.length <= 24) return s || 'patch';
  const cut = s.slice(0, 25);
  const dash = cut.lastIndexOf('-');
  return (dash > 8 ? cut.slice(0, dash) : cut.slice(0, 24)).replace(/-+$/, '');
}

// ---------------------------------------------------------------- the reviewer's text

/** Wrap each line of a comment at WRAP_COLUMN, keeping the reviewer's own line breaks. */
export function wrapComment(text: string, width = WRAP_COLUMN): string[] {
  const out: string[] = [];
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  // trailing blank lines dropped by a loop: /\n+$/ backtracks quadratically on a long run of them
  while (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  for (const raw of lines) {
    const line = raw.trimEnd();
    // an indented line is code or a list the reviewer laid out: never broken (as mail clients keep preformatted text)
    if ([...line].length <= width || /^\s/.test(line)) { out.push(line); continue; }
    const indent = /^\s*/.exec(line)![0];
    const words = line.slice(indent.length).split(/ +/);
    let cur = indent;
    for (const w of words) {
      const candidate = cur.trim() === '' ? indent + w : `${cur} ${w}`;
      if ([...candidate].length > width && cur.trim() !== '') {
        out.push(cur);
        cur = indent + w;
      } else cur = candidate;
    }
    out.push(cur);
  }
  return out;
}

/**
 * Every reply of the batch in one read-only page, the problems first (an unthreaded reply, a
 * comment whose line is gone, unconfirmed drafts), so nothing is written unseen.
 */
export function previewText(batch: ComposeResult, dir: string): string {
  const problems = [...batch.warnings, ...batch.replies.flatMap((r) => r.warnings)];
  const head = [
    `${batch.replies.length} repl${batch.replies.length === 1 ? 'y' : 'ies'} to be written to ${dir} (nothing is written or sent yet)`,
    ...(problems.length ? ['', ...problems.map((w) => `warning: ${w}`)] : []),
  ];
  return [...head, ...batch.replies.flatMap((r) => ['', `==================== ${r.fileName} ====================`, '', r.text.replace(/\n$/, '')])].join('\n') + '\n';
}
