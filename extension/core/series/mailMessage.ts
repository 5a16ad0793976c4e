// Parses one RFC 2822 mail message held as lines of a larger file (an mbox, a format-patch
// file or a single .eml) and decodes its body, keeping for every decoded body line the
// 1-based line of the file it came from so later stages can point into the file the user has open.

import { isUtf8 } from 'node:buffer';
import { escapeControl, oneLine } from '../text/controlChars';
import type { InputProblem } from './types';
import { findDiffStart } from './unifiedDiff';

export interface MailHeaders {
  from?: string;
  date?: string;
  subject?: string;
  messageId?: string;
  inReplyTo?: string;
  /** Recipients of the original, decoded: a reply goes back to them (the list among them). */
  to?: string[];
  cc?: string[];
  references: string[];
  contentType?: string;
  contentTransferEncoding?: string;
}

/** Decoded body text: lines[i] started at 1-based line fileLines[i] of the input file. */
export interface BodyText {
  lines: string[];
  fileLines: number[];
  /** True when some lines could only be mapped approximately (base64 bodies). */
  approximate: boolean;
}

export interface MailMessage {
  headers: MailHeaders;
  body: BodyText;
  /** False when the message ended inside its header block (no blank line, no body). */
  hasBody: boolean;
  problems: InputProblem[];
}

export interface MailParseOptions {
  /** Path reported in problems. */
  file: string;
  /** Undo mboxo/mboxrd ">From " quoting in the body (only for mbox input). */
  unescapeFrom?: boolean;
}

// With the s flag a stray CR or U+2028 inside a value stays part of it (and is cleaned later)
// instead of ending the header block early.
const HEADER_LINE = /^([!-9;-~]+):[ \t]?(.*)$/s;

/**
 * Parse the message in lines[start, end). Line i of `lines` is line i+1 of the file.
 * `start` is the first header line (not an mbox "From " separator).
 */
export function parseMailMessage(lines: readonly string[], start: number, end: number, opts: MailParseOptions): MailMessage {
  const problems: InputProblem[] = [];
  const { fields, bodyStart, hasBody } = readHeaderBlock(lines, start, end);
  const headers = pickHeaders(fields, { file: opts.file, problems, lineOf: (i) => i + 1 });

  let raw = { lines: lines.slice(bodyStart, end), first: bodyStart };
  if (opts.unescapeFrom) {
    // mboxrd quotes ">*From " by adding one '>'; removing one undoes both mboxrd and mboxo.
    raw = { lines: raw.lines.map((l) => (/^>+From /.test(l) ? l.slice(1) : l)), first: bodyStart };
  }
  const fileLines = raw.lines.map((_, i) => raw.first + i + 1);
  const body = decodeEntity(
    { contentType: headers.contentType, cte: headers.contentTransferEncoding },
    raw.lines,
    fileLines,
    opts.file,
    problems,
    0,
  );
  return { headers, body, hasBody, problems };
}

/** Does this line look like the first line of a mail header block? */
export function looksLikeHeaderLine(line: string): boolean {
  return HEADER_LINE.test(line);
}

interface HeaderField {
  name: string; // lower case
  value: string; // unfolded, not yet RFC 2047 decoded
  /** Index in the lines the block was read from. */
  at: number;
}

function readHeaderBlock(lines: readonly string[], start: number, end: number): { fields: HeaderField[]; bodyStart: number; hasBody: boolean } {
  const fields: HeaderField[] = [];
  // Folded lines are collected and joined once, so a header folded 10^5 times stays linear.
  let folds: string[] = [];
  const closeField = (): void => {
    if (folds.length > 0) fields[fields.length - 1]!.value += folds.join('');
    folds = [];
  };
  let i = start;
  for (; i < end; i++) {
    const line = lines[i]!;
    if (line === '' || line.trim() === '') {
      closeField();
      return { fields, bodyStart: i + 1, hasBody: true };
    }
    if ((line[0] === ' ' || line[0] === '\t') && fields.length > 0) {
      // Unfolding removes only the line break; the leading whitespace stays (RFC 5322 2.2.3).
      folds.push(line);
      continue;
    }
    const m = HEADER_LINE.exec(line);
    closeField();
    if (!m) {
      // Not a header: the sender forgot the blank line; the body starts here.
      return { fields, bodyStart: i, hasBody: true };
    }
    fields.push({ name: m[1]!.toLowerCase(), value: m[2]!, at: i });
  }
  closeField();
  return { fields, bodyStart: end, hasBody: false };
}

/** Splits "A <a@x>, \"B, C\" <b@x>" on the commas between addresses (not in quotes or angle brackets). */
export function addressList(value: string): string[] {
  const out: string[] = [];
  const keep = (piece: string): void => {
    const t = piece.replace(/\s+/g, ' ').trim();
    if (t) out.push(t);
  };
  let from = 0;
  let quoted = false;
  let angle = 0;
  for (let k = 0; k < value.length; k++) {
    const ch = value.charCodeAt(k);
    if (ch === 0x22) quoted = !quoted; // "
    else if (!quoted && ch === 0x3c) angle++; // <
    else if (!quoted && ch === 0x3e) angle = Math.max(0, angle - 1); // >
    else if (ch === 0x2c && !quoted && angle === 0) { // ,
      keep(value.slice(from, k));
      from = k + 1;
    }
  }
  keep(value.slice(from));
  return out;
}

/** Where header problems go: the file, and the file line of a header's index in the block. */
interface HeaderContext {
  file: string;
  problems: InputProblem[];
  lineOf: (index: number) => number;
}

const HEADER_NAMES: Record<string, string> = { from: 'From', subject: 'Subject', to: 'To', cc: 'Cc' };

function pickHeaders(fields: HeaderField[], ctx: HeaderContext): MailHeaders {
  const firstField = (name: string): HeaderField | undefined => fields.find((f) => f.name === name);
  const first = (name: string): string | undefined => firstField(name)?.value;
  // Encoded words may decode to anything, line breaks included; the fields we keep are one
  // line each, so a CR LF smuggled into a From cannot become a header of a reply.
  const decoded = (f: HeaderField): string => {
    const flaws: string[] = [];
    const text = decodeEncodedWords(f.value, flaws);
    if (flaws.length > 0) ctx.problems.push({ file: ctx.file, line: ctx.lineOf(f.at), message: `${HEADER_NAMES[f.name] ?? f.name}: ${flaws[0]}`, severity: 'warning' });
    return text;
  };
  const headers: MailHeaders = { references: [] };
  const from = firstField('from');
  if (from !== undefined) headers.from = oneLine(decoded(from));
  const date = first('date');
  if (date !== undefined) headers.date = oneLine(date);
  const subject = firstField('subject');
  if (subject !== undefined) headers.subject = oneLine(decoded(subject).replace(/\s+/g, ' '));
  const messageId = first('message-id');
  if (messageId !== undefined) headers.messageId = msgIds(messageId)[0];
  const inReplyTo = first('in-reply-to');
  if (inReplyTo !== undefined) headers.inReplyTo = msgIds(inReplyTo)[0];
  const references = first('references');
  if (references !== undefined) headers.references = msgIds(references);
  for (const name of ['to', 'cc'] as const) {
    const all: string[] = [];
    for (const f of fields) {
      if (f.name !== name) continue;
      for (const a of addressList(decoded(f))) {
        const clean = oneLine(a);
        if (clean) all.push(clean);
      }
    }
    if (all.length) headers[name] = all;
  }
  const ct = first('content-type');
  if (ct !== undefined) headers.contentType = oneLine(ct);
  const cte = first('content-transfer-encoding');
  if (cte !== undefined) headers.contentTransferEncoding = oneLine(cte).toLowerCase();
  return headers;
}

/** Message ids without angle brackets; bare ids are accepted when no brackets are used. */
function msgIds(value: string): string[] {
  // Line breaks and tabs separate ids; any other control character cannot be part of one and
  // is dropped, so "<a\x1b@b>" still names a@b.
  const clean = value.replace(/[\t\n\r]/g, ' ').replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '');
  const bracketed: string[] = [];
  for (const m of clean.matchAll(/<([^<>\s]*)>/g)) if (m[1] !== '') bracketed.push(m[1]!);
  if (bracketed.length > 0) return bracketed;
  return clean.split(/\s+/).filter((s) => s !== '');
}

// ---------------------------------------------------------------- RFC 2047

const ENCODED_WORD = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g;
const BASE64_TEXT = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decode RFC 2047 encoded words; whitespace between two adjacent encoded words is dropped.
 * What could not be decoded faithfully (an unknown charset, bad base64 or escapes) is decoded
 * as well as it can be and described in `flaws`, once per kind.
 */
export function decodeEncodedWords(value: string, flaws: string[] = []): string {
  if (!value.includes('=?')) return value;
  const out: string[] = [];
  let last = 0;
  const flaw = (text: string): void => {
    if (!flaws.includes(text)) flaws.push(text);
  };
  // Bytes of a run of adjacent words in the same charset are decoded together so that a
  // multi-byte character split across two words survives.
  let pending: { charset: string; bytes: Buffer[] } | undefined;
  const flush = (): void => {
    if (!pending) return;
    const d = decodeBytes(Buffer.concat(pending.bytes), pending.charset);
    if (d.problem !== undefined) flaw(`encoded word ${d.problem}; read as Latin-1`);
    out.push(d.text);
    pending = undefined;
  };
  for (const m of value.matchAll(ENCODED_WORD)) {
    const idx = m.index!;
    const between = value.slice(last, idx);
    const adjacent = pending !== undefined && between.trim() === '';
    if (!adjacent) {
      flush();
      out.push(between);
    }
    const charset = m[1]!.replace(/\*.*$/, '').toLowerCase(); // drop RFC 2231 language
    let bytes: Buffer;
    if (m[2]!.toUpperCase() === 'B') {
      if (!BASE64_TEXT.test(m[3]!) || m[3]!.length % 4 === 1) flaw('invalid base64 in an encoded word; decoded what could be');
      bytes = Buffer.from(m[3]!, 'base64');
    } else {
      const q = qWordBytes(m[3]!);
      if (q.invalid) flaw('invalid "=" escape in an encoded word; kept as is');
      bytes = q.bytes;
    }
    if (pending && pending.charset !== charset) flush();
    if (!pending) pending = { charset, bytes: [] };
    pending.bytes.push(bytes);
    last = idx + m[0].length;
  }
  flush();
  out.push(value.slice(last));
  return out.join('');
}

function qWordBytes(text: string): { bytes: Buffer; invalid: boolean } {
  const bytes: number[] = [];
  let invalid = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5f) bytes.push(0x20); // _
    else if (c === 0x3d && isHexPair(text, i + 1)) { // =XX
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) {
      if (c === 0x3d) invalid = true;
      bytes.push(c);
    } else {
      const cp = text.codePointAt(i)!;
      for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) bytes.push(b);
      if (cp > 0xffff) i++;
    }
  }
  return { bytes: Buffer.from(bytes), invalid };
}

function isHexPair(s: string, at: number): boolean {
  return at + 2 <= s.length && isHexDigit(s.charCodeAt(at)) && isHexDigit(s.charCodeAt(at + 1));
}

function isHexDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/**
 * Decode bytes in a mail charset. Invalid UTF-8 and unknown charset labels fall back to
 * Latin-1 (every byte stays visible); `problem` then says which of the two happened.
 */
export function decodeBytes(buf: Buffer, charset: string | undefined): { text: string; problem?: string } {
  const cs = (charset ?? 'utf-8').toLowerCase();
  if (cs === 'utf-8' || cs === 'utf8' || cs === 'us-ascii' || cs === 'ascii') {
    if (isUtf8(buf)) return { text: buf.toString('utf8') };
    return { text: buf.toString('latin1'), problem: `is not valid ${cs === 'utf8' ? 'utf-8' : cs}` };
  }
  if (cs === 'iso-8859-1' || cs === 'latin1' || cs === 'latin-1') return { text: buf.toString('latin1') };
  try {
    return { text: new TextDecoder(cs).decode(buf) };
  } catch {
    return { text: buf.toString('latin1'), problem: `has an unknown charset "${escapeControl(cs.length > 40 ? `${cs.slice(0, 40)}...` : cs)}"` };
  }
}

// ---------------------------------------------------------------- MIME bodies

interface EntityHeaders {
  contentType?: string;
  cte?: string;
}

/** Parse "type/subtype; a=b; c=\"d\"" into a lower-cased type and its parameters. */
export function parseContentType(value: string | undefined): { type: string; params: Map<string, string> } {
  const params = new Map<string, string>();
  if (value === undefined) return { type: 'text/plain', params };
  const parts: string[] = [];
  let from = 0;
  let quoted = false;
  for (let k = 0; k < value.length; k++) {
    const c = value.charCodeAt(k);
    if (c === 0x22) quoted = !quoted; // "
    else if (c === 0x3b && !quoted) { // ;
      parts.push(value.slice(from, k));
      from = k + 1;
    }
  }
  parts.push(value.slice(from));
  const type = parts[0]!.trim().toLowerCase() || 'text/plain';
  for (const p of parts.slice(1)) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    let v = p.slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1);
    params.set(p.slice(0, eq).trim().toLowerCase(), v);
  }
  return { type, params };
}

/** Transfer encodings that leave the text as it is. */
const IDENTITY_ENCODINGS = new Set(['7bit', '8bit', 'binary']);

function decodeEntity(
  h: EntityHeaders,
  lines: string[],
  fileLines: number[],
  file: string,
  problems: InputProblem[],
  depth: number,
): BodyText {
  const ct = parseContentType(h.contentType);
  if (ct.type.startsWith('multipart/') && depth < 4) {
    const boundary = ct.params.get('boundary');
    if (boundary) return decodeMultipart(boundary, lines, fileLines, file, problems, depth);
    problems.push({ file, line: fileLines[0], message: `multipart message without a boundary; body read as plain text`, severity: 'warning' });
  }
  const charset = ct.params.get('charset');
  const cte = (h.cte ?? '7bit').toLowerCase();
  if (cte === 'quoted-printable') return decodeQuotedPrintable(lines, fileLines, charset, file, problems);
  if (cte === 'base64') return decodeBase64(lines, fileLines, charset, file, problems);
  if (!IDENTITY_ENCODINGS.has(cte)) {
    problems.push({ file, line: fileLines[0], message: `unknown Content-Transfer-Encoding "${clipText(cte)}"; body read as it is`, severity: 'warning' });
  }
  return { lines, fileLines, approximate: false };
}

/** Input text quoted in a message: short, its control characters made visible. */
function clipText(text: string, max = 40): string {
  return escapeControl(text.length > max ? `${text.slice(0, max)}...` : text);
}

/** Trailing blanks cut without a regex: /[ \t]+$/ costs quadratic time on a long run of blanks. */
function trimBlanksEnd(line: string): string {
  let e = line.length;
  while (e > 0 && (line.charCodeAt(e - 1) === 0x20 || line.charCodeAt(e - 1) === 0x09)) e--;
  return e === line.length ? line : line.slice(0, e);
}

/** How many "=" of a quoted-printable text are escapes or soft breaks, how many are not, and the first that is not. */
function qpEscapes(lines: readonly string[]): { valid: number; invalid: number; invalidAt: number; invalidText: string } {
  let valid = 0;
  let invalid = 0;
  let invalidAt = -1;
  let invalidText = '';
  for (let i = 0; i < lines.length; i++) {
    const line = trimBlanksEnd(lines[i]!);
    for (let k = line.indexOf('='); k >= 0; k = line.indexOf('=', k + 1)) {
      if (k === line.length - 1) valid++; // a soft line break
      else if (isHexPair(line, k + 1)) {
        valid++;
        k += 2;
      } else {
        invalid++;
        if (invalidAt < 0) {
          invalidAt = i;
          invalidText = line.slice(k, k + 3);
        }
      }
    }
  }
  return { valid, invalid, invalidAt, invalidText };
}

function decodeQuotedPrintable(lines: string[], fileLines: number[], charset: string | undefined, file: string, problems: InputProblem[]): BodyText {
  // A body that says quoted-printable but is plain text (C is full of "= " and "==") would be
  // mangled by decoding: soft breaks would join lines that end in "=". More bad escapes than
  // good ones means the header lies.
  const escapes = qpEscapes(lines);
  if (escapes.invalidAt >= 0) {
    const lies = escapes.invalid > escapes.valid;
    problems.push({
      file,
      line: fileLines[escapes.invalidAt],
      message: lies
        ? `Content-Transfer-Encoding says quoted-printable, but "${clipText(escapes.invalidText)}" is no quoted-printable escape and most "=" are like it; body read as plain text`
        : `invalid quoted-printable escape "${clipText(escapes.invalidText)}"; kept as it is`,
      severity: 'warning',
    });
    if (lies) return { lines, fileLines, approximate: false };
  }
  const out: BodyText = { lines: [], fileLines: [], approximate: false };
  let logical: string[] = [];
  let startLine = -1;
  let warned = false;
  const emit = (): void => {
    const { text, problem } = decodeQpLine(logical.join(''), charset);
    if (problem !== undefined && !warned) {
      warned = true;
      problems.push({ file, line: startLine, message: `quoted-printable text ${problem}; decoded as Latin-1`, severity: 'warning' });
    }
    // An encoded "=0A" inside a logical line yields several lines from one physical start.
    for (const piece of text.split(/\r?\n/)) {
      out.lines.push(piece);
      out.fileLines.push(startLine);
    }
    logical = [];
    startLine = -1;
  };
  for (let i = 0; i < lines.length; i++) {
    // Transport may add trailing whitespace; it is never significant in QP.
    const line = trimBlanksEnd(lines[i]!);
    if (startLine < 0) startLine = fileLines[i]!;
    if (line.endsWith('=')) {
      logical.push(line.slice(0, -1)); // soft line break: the logical line continues
      continue;
    }
    logical.push(line);
    emit();
  }
  if (startLine >= 0) emit();
  return out;
}

/** Decode one QP logical line: literal runs stay as they are, =XX runs go through the charset. */
function decodeQpLine(s: string, charset: string | undefined): { text: string; problem?: string } {
  if (!s.includes('=')) return { text: s };
  const text: string[] = [];
  let problem: string | undefined;
  let bytes: number[] = [];
  const flush = (): void => {
    if (bytes.length === 0) return;
    const d = decodeBytes(Buffer.from(bytes), charset);
    text.push(d.text);
    problem ??= d.problem;
    bytes = [];
  };
  let literal = 0; // start of the current run of literal characters
  for (let i = s.indexOf('='); i >= 0; i = s.indexOf('=', i)) {
    if (!isHexPair(s, i + 1)) {
      i++; // a stray '=' is kept literally, as most decoders do
      continue;
    }
    if (i > literal) {
      flush();
      text.push(s.slice(literal, i));
    }
    bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
    i += 3;
    literal = i;
  }
  if (literal < s.length) {
    flush();
    text.push(s.slice(literal));
  }
  flush();
  return problem === undefined ? { text: text.join('') } : { text: text.join(''), problem };
}

function decodeBase64(lines: string[], fileLines: number[], charset: string | undefined, file: string, problems: InputProblem[]): BodyText {
  // The encoded block ends at the first blank line; anything after it is not part of it.
  let i = 0;
  while (i < lines.length && lines[i]!.trim() === '') i++;
  const first = i;
  const chunks: string[] = [];
  let badAt = -1;
  let bad = 0;
  while (i < lines.length && lines[i]!.trim() !== '') {
    const chunk = lines[i]!.trim();
    if (!BASE64_TEXT.test(chunk)) {
      bad++;
      if (badAt < 0) badAt = i;
    }
    chunks.push(chunk);
    i++;
  }
  if (badAt >= 0) {
    // A body that says base64 but is plain text: its first line, or most lines, are not base64.
    const lies = badAt === first || bad * 2 > chunks.length;
    problems.push({
      file,
      line: fileLines[badAt],
      message: lies
        ? 'Content-Transfer-Encoding says base64, but the body is not base64; read as plain text'
        : 'invalid base64 in the body; the characters that are not base64 were skipped',
      severity: 'warning',
    });
    if (lies) return { lines, fileLines, approximate: false };
  }
  const at = fileLines[first] ?? fileLines[0] ?? 0;
  const { text, problem } = decodeBytes(Buffer.from(chunks.join(''), 'base64'), charset);
  // an empty body has no text for its charset to be wrong about (and no line to name)
  if (problem !== undefined && chunks.length > 0) {
    problems.push({ file, line: at, message: `base64 text ${problem}; decoded as Latin-1`, severity: 'warning' });
  }
  const decoded = text.split(/\r?\n/);
  if (decoded.length > 0 && decoded[decoded.length - 1] === '') decoded.pop();
  // Decoded lines cannot be pinned to physical lines; all point at the start of the block.
  return { lines: decoded, fileLines: decoded.map(() => at), approximate: true };
}

function decodeMultipart(boundary: string, lines: string[], fileLines: number[], file: string, problems: InputProblem[], depth: number): BodyText {
  const delim = `--${boundary}`;
  const parts: { start: number; end: number }[] = [];
  let cur = -1;
  let closed = false;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (!l.startsWith(delim)) continue;
    const tail = l.slice(delim.length).trimEnd();
    if (tail === '' || tail === '--') {
      if (cur >= 0) parts.push({ start: cur, end: i });
      cur = i + 1;
      if (tail === '--') {
        closed = true;
        break;
      }
    }
  }
  if (!closed && cur >= 0) parts.push({ start: cur, end: lines.length });
  if (parts.length === 0) {
    problems.push({ file, line: fileLines[0], message: `multipart boundary "${clipText(boundary)}" never appears; body read as plain text`, severity: 'warning' });
    return { lines, fileLines, approximate: false };
  }

  const decoded = parts.map((p) => {
    const { fields, bodyStart } = readHeaderBlock(lines, p.start, p.end);
    const h = pickHeaders(fields, { file, problems, lineOf: (i) => fileLines[i] ?? 0 });
    const type = parseContentType(h.contentType).type;
    const body = decodeEntity({ contentType: h.contentType, cte: h.contentTransferEncoding }, lines.slice(bodyStart, p.end), fileLines.slice(bodyStart, p.end), file, problems, depth + 1);
    return { type, body, hasDiff: findDiffStart(body.lines) >= 0 };
  });

  // The commit message is the first text/plain part; when the diff travels as an
  // attachment, that attachment is appended so both end up in one body.
  const main = decoded.find((d) => d.type === 'text/plain' || d.type.startsWith('multipart/'));
  const withDiff = decoded.find((d) => d.hasDiff);
  if (main && (main.hasDiff || !withDiff)) return main.body;
  if (!main) return withDiff ? withDiff.body : { lines: [], fileLines: [], approximate: false };
  return {
    lines: [...main.body.lines, ...withDiff!.body.lines],
    fileLines: [...main.body.fileLines, ...withDiff!.body.fileLines],
    approximate: main.body.approximate || withDiff!.body.approximate,
  };
}
