// Parses one RFC 2822 mail message held as lines of a larger file (an mbox, a format-patch
// file or a single .eml) and decodes its body, keeping for every decoded body line the
// 1-based line of the file it came from so later stages can point into the file the user has open.

import { isUtf8 } from 'node:buffer';
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

const HEADER_LINE = /^([!-9;-~]+):[ \t]?(.*)$/;

/**
 * Parse the message in lines[start, end). Line i of `lines` is line i+1 of the file.
 * `start` is the first header line (not an mbox "From " separator).
 */
export function parseMailMessage(lines: readonly string[], start: number, end: number, opts: MailParseOptions): MailMessage {
  const problems: InputProblem[] = [];
  const { fields, bodyStart, hasBody } = readHeaderBlock(lines, start, end);
  const headers = pickHeaders(fields);

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
}

function readHeaderBlock(lines: readonly string[], start: number, end: number): { fields: HeaderField[]; bodyStart: number; hasBody: boolean } {
  const fields: HeaderField[] = [];
  let i = start;
  for (; i < end; i++) {
    const line = lines[i]!;
    if (line === '' || line.trim() === '') return { fields, bodyStart: i + 1, hasBody: true };
    if ((line[0] === ' ' || line[0] === '\t') && fields.length > 0) {
      // Unfolding removes only the line break; the leading whitespace stays (RFC 5322 2.2.3).
      fields[fields.length - 1]!.value += line;
      continue;
    }
    const m = HEADER_LINE.exec(line);
    if (!m) {
      // Not a header: the sender forgot the blank line; the body starts here.
      return { fields, bodyStart: i, hasBody: true };
    }
    fields.push({ name: m[1]!.toLowerCase(), value: m[2]! });
  }
  return { fields, bodyStart: end, hasBody: false };
}

/** Splits "A <a@x>, \"B, C\" <b@x>" on the commas between addresses (not in quotes or angle brackets). */
export function addressList(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let angle = 0;
  for (const ch of value.replace(/\s+/g, ' ')) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === '<') angle++;
    else if (!quoted && ch === '>') angle = Math.max(0, angle - 1);
    if (ch === ',' && !quoted && angle === 0) { if (cur.trim()) out.push(cur.trim()); cur = ''; continue; }
    cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

function pickHeaders(fields: HeaderField[]): MailHeaders {
  const first = (name: string): string | undefined => fields.find((f) => f.name === name)?.value;
  const headers: MailHeaders = { references: [] };
  const from = first('from');
  if (from !== undefined) headers.from = decodeEncodedWords(from).trim();
  const date = first('date');
  if (date !== undefined) headers.date = date.trim();
  const subject = first('subject');
  if (subject !== undefined) headers.subject = decodeEncodedWords(subject).replace(/\s+/g, ' ').trim();
  const messageId = first('message-id');
  if (messageId !== undefined) headers.messageId = msgIds(messageId)[0];
  const inReplyTo = first('in-reply-to');
  if (inReplyTo !== undefined) headers.inReplyTo = msgIds(inReplyTo)[0];
  const references = first('references');
  if (references !== undefined) headers.references = msgIds(references);
  for (const name of ['to', 'cc'] as const) {
    const all = fields.filter((f) => f.name === name).flatMap((f) => addressList(decodeEncodedWords(f.value)));
    if (all.length) headers[name] = all;
  }
  const ct = first('content-type');
  if (ct !== undefined) headers.contentType = ct.trim();
  const cte = first('content-transfer-encoding');
  if (cte !== undefined) headers.contentTransferEncoding = cte.trim().toLowerCase();
  return headers;
}

/** Message ids without angle brackets; bare ids are accepted when no brackets are used. */
function msgIds(value: string): string[] {
  const bracketed = [...value.matchAll(/<([^<>\s]*)>/g)].map((m) => m[1]!).filter((s) => s !== '');
  if (bracketed.length > 0) return bracketed;
  return value.split(/\s+/).filter((s) => s !== '');
}

// ---------------------------------------------------------------- RFC 2047

const ENCODED_WORD = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g;

/** Decode RFC 2047 encoded words; whitespace between two adjacent encoded words is dropped. */
export function decodeEncodedWords(value: string): string {
  if (!value.includes('=?')) return value;
  let out = '';
  let last = 0;
  // Bytes of a run of adjacent words in the same charset are decoded together so that a
  // multi-byte character split across two words survives.
  let pending: { charset: string; bytes: number[] } | undefined;
  const flush = (): void => {
    if (pending) out += decodeBytes(Buffer.from(pending.bytes), pending.charset).text;
    pending = undefined;
  };
  for (const m of value.matchAll(ENCODED_WORD)) {
    const idx = m.index!;
    const between = value.slice(last, idx);
    const adjacent = pending !== undefined && /^\s*$/.test(between);
    if (!adjacent) {
      flush();
      out += between;
    }
    const charset = m[1]!.replace(/\*.*$/, '').toLowerCase(); // drop RFC 2231 language
    const bytes = m[2]!.toUpperCase() === 'B' ? [...Buffer.from(m[3]!, 'base64')] : qWordBytes(m[3]!);
    if (pending && pending.charset !== charset) flush();
    if (!pending) pending = { charset, bytes: [] };
    for (const b of bytes) pending.bytes.push(b);
    last = idx + m[0].length;
  }
  flush();
  return out + value.slice(last);
}

function qWordBytes(text: string): number[] {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '_') bytes.push(0x20);
    else if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else for (const b of Buffer.from(c, 'utf8')) bytes.push(b);
  }
  return bytes;
}

/** Decode bytes in a mail charset; invalid UTF-8 falls back to Latin-1 and says so. */
export function decodeBytes(buf: Buffer, charset: string | undefined): { text: string; fellBack: boolean } {
  const cs = (charset ?? 'utf-8').toLowerCase();
  if (cs === 'utf-8' || cs === 'utf8' || cs === 'us-ascii' || cs === 'ascii') {
    if (isUtf8(buf)) return { text: buf.toString('utf8'), fellBack: false };
    return { text: buf.toString('latin1'), fellBack: true };
  }
  if (cs === 'iso-8859-1' || cs === 'latin1' || cs === 'latin-1') return { text: buf.toString('latin1'), fellBack: false };
  try {
    return { text: new TextDecoder(cs).decode(buf), fellBack: false };
  } catch {
    // Unknown charset label: Latin-1 keeps every byte visible.
    return { text: buf.toString('latin1'), fellBack: true };
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
  let cur = '';
  let quoted = false;
  for (const c of value) {
    if (c === '"') quoted = !quoted;
    if (c === ';' && !quoted) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
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
  return { lines, fileLines, approximate: false };
}

function decodeQuotedPrintable(lines: string[], fileLines: number[], charset: string | undefined, file: string, problems: InputProblem[]): BodyText {
  const out: BodyText = { lines: [], fileLines: [], approximate: false };
  let logical = '';
  let startLine = -1;
  let warned = false;
  const emit = (): void => {
    const { text, fellBack } = decodeQpLine(logical, charset);
    if (fellBack && !warned) {
      warned = true;
      problems.push({ file, line: startLine, message: `quoted-printable text is not valid ${charset ?? 'UTF-8'}; decoded as Latin-1`, severity: 'warning' });
    }
    // An encoded "=0A" inside a logical line yields several lines from one physical start.
    for (const piece of text.split(/\r?\n/)) {
      out.lines.push(piece);
      out.fileLines.push(startLine);
    }
    logical = '';
    startLine = -1;
  };
  for (let i = 0; i < lines.length; i++) {
    // Transport may add trailing whitespace; it is never significant in QP.
    const line = lines[i]!.replace(/[ \t]+$/, '');
    if (startLine < 0) startLine = fileLines[i]!;
    if (line.endsWith('=')) {
      logical += line.slice(0, -1); // soft line break: the logical line continues
      continue;
    }
    logical += line;
    emit();
  }
  if (startLine >= 0) emit();
  return out;
}

/** Decode one QP logical line: literal runs stay as they are, =XX runs go through the charset. */
function decodeQpLine(s: string, charset: string | undefined): { text: string; fellBack: boolean } {
  if (!s.includes('=')) return { text: s, fellBack: false };
  let text = '';
  let fellBack = false;
  let bytes: number[] = [];
  const flush = (): void => {
    if (bytes.length === 0) return;
    const d = decodeBytes(Buffer.from(bytes), charset);
    text += d.text;
    fellBack ||= d.fellBack;
    bytes = [];
  };
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
      continue;
    }
    flush();
    text += c; // a stray '=' is kept literally, as most decoders do
  }
  flush();
  return { text, fellBack };
}

function decodeBase64(lines: string[], fileLines: number[], charset: string | undefined, file: string, problems: InputProblem[]): BodyText {
  // The encoded block ends at the first blank line; anything after it is not part of it.
  let i = 0;
  while (i < lines.length && lines[i]!.trim() === '') i++;
  const first = i;
  const chunks: string[] = [];
  while (i < lines.length && lines[i]!.trim() !== '') chunks.push(lines[i++]!.trim());
  const at = fileLines[first] ?? fileLines[0] ?? 0;
  const { text, fellBack } = decodeBytes(Buffer.from(chunks.join(''), 'base64'), charset);
  if (fellBack) {
    problems.push({ file, line: at, message: `base64 text is not valid ${charset ?? 'UTF-8'}; decoded as Latin-1`, severity: 'warning' });
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
    problems.push({ file, line: fileLines[0], message: `multipart boundary "${boundary}" never appears; body read as plain text`, severity: 'warning' });
    return { lines, fileLines, approximate: false };
  }

  const decoded = parts.map((p) => {
    const { fields, bodyStart } = readHeaderBlock(lines, p.start, p.end);
    const h = pickHeaders(fields);
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
