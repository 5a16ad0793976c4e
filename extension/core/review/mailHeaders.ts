// The header lines of a reviewer's reply, built so that no value can become a header of its own
// or a recipient nobody meant: every value is made one line first (control characters, CR and
// LF out), anything a mail reader would not take literally (non-ASCII, a literal "=?") goes out
// as RFC 2047 encoded words, an address is one mailbox with a checked addr-spec and a quoted or
// encoded display name, a Message-Id one <local@domain> token. Lines are folded at 78 columns.

import { oneLine } from '../text/controlChars';

/** RFC 5322's recommended line length; lines are folded between tokens to stay within it. */
const FOLD_COLUMN = 78;
/** UTF-8 bytes per encoded word: 36 bytes are 48 base64 characters, 60 with the markers. */
const WORD_BYTES = 36;
/** Longest plain token kept as is; a longer one is encoded so it can be split over lines. */
const LONGEST_PLAIN_TOKEN = 66;
/** An address or a Message-Id longer than this is not one a mail system would carry. */
const MAX_ADDRESS_LENGTH = 254;
const MAX_MESSAGE_ID_LENGTH = 250;

export interface Mailbox {
  /** Display name, one line, unquoted; '' for none. */
  name: string;
  /** The addr-spec, local@domain. */
  email: string;
}

// RFC 5322 atext: what a dot-atom may hold without quoting.
const ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~\\-";
const ADDR_SPEC = new RegExp(`^[${ATEXT}.]+@[${ATEXT}.]+$|^[${ATEXT}.]+@\\[[\\x21-\\x5a\\x5e-\\x7e]+\\]$`);
const MESSAGE_ID = new RegExp(`^[${ATEXT}.]+@(?:[${ATEXT}.]+|\\[[\\x21-\\x5a\\x5e-\\x7e]+\\])$`);
const PLAIN_PHRASE = new RegExp(`^[${ATEXT} ]+$`);

/** local@domain in printable ASCII, no spaces, quotes, brackets, commas or semicolons. */
export function isMailAddress(email: string): boolean {
  return email.length <= MAX_ADDRESS_LENGTH && ADDR_SPEC.test(email) && !email.includes('=?');
}

/** A Message-Id without its angle brackets: one local@domain token of printable ASCII. */
export function isMessageId(id: string): boolean {
  return id.length <= MAX_MESSAGE_ID_LENGTH && MESSAGE_ID.test(id);
}

/**
 * One mailbox from "Name <local@domain>", "\"Doe, Jo\" <jo@x>" or a bare "local@domain",
 * after making the text one line; undefined when it is not exactly one valid address.
 */
export function parseMailbox(text: string): Mailbox | undefined {
  const s = oneLine(text);
  const m = /^(.*?)\s*<([^<>]*)>$/.exec(s);
  if (!m) return isMailAddress(s) ? { name: '', email: s } : undefined;
  const email = m[2]!.trim();
  if (!isMailAddress(email)) return undefined;
  let name = m[1]!.trim();
  const quoted = /^"((?:[^"\\]|\\.)*)"$/.exec(name);
  if (quoted) name = quoted[1]!.replace(/\\(.)/g, '$1').trim();
  return { name, email };
}

/**
 * "A <a@x>, \"B, C\" <b@x>" split on the commas between addresses (not those in quotes or
 * angle brackets), for a caller holding a list typed by the user.
 */
export function splitAddressList(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let escaped = false;
  let angle = false;
  for (const ch of oneLine(value)) {
    if (escaped) escaped = false;
    else if (quoted && ch === '\\') escaped = true;
    else if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === '<') angle = true;
    else if (!quoted && ch === '>') angle = false;
    else if (ch === ',' && !quoted && !angle) {
      if (cur.trim() !== '') out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += ch;
  }
  if (cur.trim() !== '') out.push(cur.trim());
  return out;
}

/** Text a decoder would not read back as it is: non-ASCII, or something like an encoded word. */
function needsEncoding(text: string): boolean {
  return /[^\x20-\x7e]/.test(text) || text.includes('=?');
}

/** RFC 2047 B-encoded words of at most 60 characters, never splitting a character. */
export function encodeWords(text: string): string[] {
  const words: string[] = [];
  let chunk: Buffer[] = [];
  let size = 0;
  const flush = (): void => {
    if (size > 0) words.push(`=?UTF-8?B?${Buffer.concat(chunk, size).toString('base64')}?=`);
    chunk = [];
    size = 0;
  };
  for (const ch of text) {
    const bytes = Buffer.from(ch, 'utf8');
    if (size + bytes.length > WORD_BYTES) flush();
    chunk.push(bytes);
    size += bytes.length;
  }
  flush();
  return words;
}

/** Tokens of a display name: plain words, one quoted string, or encoded words. */
function phraseTokens(name: string): string[] {
  if (needsEncoding(name)) return encodeWords(name);
  if (PLAIN_PHRASE.test(name)) {
    const words = name.split(' ').filter((w) => w !== '');
    if (words.every((w) => w.length <= LONGEST_PLAIN_TOKEN)) return words;
    return encodeWords(name);
  }
  const quoted = `"${name.replace(/(["\\])/g, '\\$1')}"`;
  return quoted.length <= LONGEST_PLAIN_TOKEN ? [quoted] : encodeWords(name);
}

function mailboxTokens(m: Mailbox): string[] {
  const name = oneLine(m.name);
  if (name === '') return [m.email];
  const tokens = phraseTokens(name);
  tokens.push(`<${m.email}>`);
  return tokens;
}

/** "Name: t1 t2 ..." folded between tokens at FOLD_COLUMN (a token longer than a line stays whole). */
function fold(name: string, tokens: readonly string[]): string {
  const lines: string[] = [];
  let cur = `${name}:`;
  let first = true;
  for (const t of tokens) {
    if (!first && cur.length + 1 + t.length > FOLD_COLUMN) {
      lines.push(cur);
      cur = ` ${t}`;
    } else cur += ` ${t}`;
    first = false;
  }
  lines.push(cur);
  return lines.join('\n');
}

/** Subject-like free text: one line, encoded when it must be, folded. */
export function unstructuredHeader(name: string, value: string): string {
  const text = oneLine(value);
  const words = text === '' ? [] : text.split(' ');
  const plain = !needsEncoding(text) && words.every((w) => w.length <= LONGEST_PLAIN_TOKEN);
  return fold(name, plain ? words : encodeWords(text));
}

/** From, To, Cc: each mailbox's tokens, a comma after all but the last. */
export function addressHeader(name: string, mailboxes: readonly Mailbox[]): string {
  const tokens: string[] = [];
  mailboxes.forEach((m, k) => {
    const t = mailboxTokens(m);
    if (k < mailboxes.length - 1) t[t.length - 1] += ',';
    for (const x of t) tokens.push(x);
  });
  return fold(name, tokens);
}

/** In-Reply-To, References, Message-Id: ids already checked with isMessageId. */
export function messageIdHeader(name: string, ids: readonly string[]): string {
  return fold(name, ids.map((id) => `<${id}>`));
}

/** A header whose value is ours (a date, a MIME field): still made one line. */
export function fixedHeader(name: string, value: string): string {
  return `${name}: ${oneLine(value)}`;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export function rfc2822Date(d: Date): string {
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} +0000`;
}
