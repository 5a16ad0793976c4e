// Replies composed from hostile input (CR/LF, control characters, encoded words, quotes and
// commas in names, very long and non-ASCII values, broken Message-Ids) carry exactly the headers
// the composer means to write. Every composed .eml is read back by a small parser of this
// test's own (unfold, split on the first colon, decode RFC 2047, split address lists), so the
// oracle shares no code with the composer or the series reader.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../support/seededRandom';
import { composeReplyBatch, type ComposeResult } from '../../../extension/core/review/replyComposer';
import type { ReviewFile, ReviewTrailer } from '../../../extension/core/review/types';
import { assembleSeries, parseSeriesText } from '../../../extension/core/series/seriesReader';
import type { Patch, Series } from '../../../extension/core/series/types';

const DATE = new Date('2026-11-05T12:00:00Z');
const CASES = 300;

// ---------------------------------------------------------------- the test's own mail reader

interface Field { name: string; value: string }
interface Mail { fields: Field[]; body: string }

/** Header block and body of a composed reply, with the line rules of RFC 5322 checked on the way. */
function readMail(text: string): Mail {
  const sep = text.indexOf('\n\n');
  assert.ok(sep > 0, 'headers and body are separated by a blank line');
  assert.ok(!text.includes('\r'), 'no carriage return anywhere');
  const fields: Field[] = [];
  for (const line of text.slice(0, sep).split('\n')) {
    assert.ok(line.length <= 998, `header line of ${line.length} characters`);
    assert.match(line, /^[\x20-\x7e]+$/, `header line is printable ASCII: ${JSON.stringify(line)}`);
    if (line.startsWith(' ')) {
      assert.ok(fields.length > 0, 'a continuation line follows a header');
      fields[fields.length - 1]!.value += line; // unfolding removes the line break, keeps the space
      continue;
    }
    const colon = line.indexOf(':');
    assert.ok(colon > 0, `a header line has a name and a colon: ${JSON.stringify(line)}`);
    const name = line.slice(0, colon);
    assert.match(name, /^[!-9;-~]+$/, `header name ${JSON.stringify(name)}`);
    fields.push({ name, value: line.slice(colon + 1).replace(/^ /, '') });
  }
  const body = text.slice(sep + 2);
  assert.ok(!body.startsWith('\n'), 'exactly one blank line between the headers and the body');
  assert.ok(body.endsWith('\n'));
  return { fields, body };
}

const ENCODED_WORD = /^=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=$/;

function decodeWord(word: string): string | undefined {
  const m = ENCODED_WORD.exec(word);
  if (!m) return undefined;
  assert.ok(word.length <= 75, `encoded word of ${word.length} characters`);
  assert.equal(m[1]!.toLowerCase(), 'utf-8');
  const bytes = /[Bb]/.test(m[2]!)
    ? Buffer.from(m[3]!, 'base64')
    : Buffer.from(m[3]!.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');
  const text = bytes.toString('utf8');
  assert.ok(!text.includes('\uFFFD'), `encoded word ${word} holds whole UTF-8 characters`);
  return text;
}

/** RFC 2047 decoding: encoded words decoded, the space between two adjacent ones dropped. */
function decodeText(value: string): string {
  const parts = value.split(/( +)/);
  let out = '';
  let prevEncoded = false;
  for (let i = 0; i < parts.length; i += 2) {
    const word = parts[i]!;
    const space = parts[i - 1] ?? '';
    const decoded = decodeWord(word);
    if (decoded !== undefined) {
      out += (prevEncoded ? '' : space) + decoded;
      prevEncoded = true;
    } else {
      out += space + word;
      prevEncoded = false;
    }
  }
  return out;
}

interface Address { name: string; email: string }

/** "A <a@x>, \"B, C\" <b@x>, c@x" into mailboxes, display names decoded or unquoted. */
function readAddressList(value: string): Address[] {
  const items: string[] = [];
  let cur = '';
  let quoted = false;
  let escaped = false;
  let angle = false;
  for (const ch of value) {
    if (escaped) escaped = false;
    else if (quoted && ch === '\\') escaped = true;
    else if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === '<') angle = true;
    else if (!quoted && ch === '>') angle = false;
    else if (ch === ',' && !quoted && !angle) { items.push(cur); cur = ''; continue; }
    cur += ch;
  }
  items.push(cur);
  assert.ok(!quoted && !angle, `balanced quotes and brackets in ${value}`);
  return items.map((raw) => {
    const item = raw.trim();
    const m = /^(.*)<([^<>]*)>$/.exec(item);
    if (!m) {
      assert.match(item, /^[^\s<>",]+$/, `a bare address: ${item}`);
      return { name: '', email: item };
    }
    const phrase = m[1]!.trim();
    const q = /^"((?:[^"\\]|\\.)*)"$/.exec(phrase);
    if (q) return { name: q[1]!.replace(/\\(.)/g, '$1'), email: m[2]! };
    assert.ok(!/["<>,;\\]/.test(phrase), `an unquoted display name has no specials: ${phrase}`);
    return { name: decodeText(phrase), email: m[2]! };
  });
}

// ---------------------------------------------------------------- what the composer should do

/** The one-line form of a value: control characters are spaces, runs of spaces one, trimmed. */
function sanitised(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ').replace(/ {2,}/g, ' ').trim();
}

const VALID_EMAIL = /^[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+$/;
const VALID_ID = /^[A-Za-z0-9.]+@[A-Za-z0-9.-]+$/;

/** The mailbox a raw "Name <email>" or bare "email" stands for, or undefined when it is no address. */
function expectedMailbox(raw: string): Address | undefined {
  const s = sanitised(raw);
  const m = /^(.*?)\s*<([^<>]*)>$/.exec(s);
  if (!m) return VALID_EMAIL.test(s) ? { name: '', email: s } : undefined;
  const email = m[2]!.trim();
  if (!VALID_EMAIL.test(email)) return undefined;
  let name = m[1]!.trim();
  const q = /^"((?:[^"\\]|\\.)*)"$/.exec(name);
  if (q) name = q[1]!.replace(/\\(.)/g, '$1').trim();
  return { name, email };
}

function uniqueByEmail(list: (Address | undefined)[], taken: Set<string>): Address[] {
  const out: Address[] = [];
  for (const a of list) {
    if (!a || taken.has(a.email.toLowerCase())) continue;
    taken.add(a.email.toLowerCase());
    out.push(a);
  }
  return out;
}

// ---------------------------------------------------------------- generated hostile values

const rng = seededRandom;

const PIECES = [
  '\r\n', '\r', '\n', '\r\nBcc: victim@example.org', '\nTo: other@example.org', '\r\n\r\nbody', '\x00', '\x1b[31m', '\x7f', '\u0085', '\u2028', '\t',
  '"', ',', '<', '>', '\\', ';', ':', '@', '(', ')', '.', "'", '=?utf-8?q?=0D=0ABcc:_v@example.org?=', '=?', '?=', '=?UTF-8?B?DQpCY2M6IHZAeA==?=',
  'é', 'Zoë', '山田', '😀', 'e\u0301', 'Ünïcödé', ' ', '  ', 'Re:', 'Bcc:', 'KVM:', 'x86', '[PATCH v2 3/7]',
];
const WORDS = ['Ada', 'Bruno', 'Doe', 'Jo', 'kvm', 'svm', 'widget', 'lock', 'vcpu', 'sev'];

function hostileText(r: () => number, parts = 8): string {
  let s = '';
  const n = 1 + Math.floor(r() * parts);
  for (let i = 0; i < n; i++) {
    const k = r();
    if (k < 0.45) s += PIECES[Math.floor(r() * PIECES.length)]!;
    else if (k < 0.9) s += WORDS[Math.floor(r() * WORDS.length)]! + (r() < 0.5 ? ' ' : '');
    else if (k < 0.95) s += 'x'.repeat(60 + Math.floor(r() * 300));
    else s += 'Grüße '.repeat(20 + Math.floor(r() * 60));
  }
  return s;
}

function validEmail(r: () => number, n: number): string {
  const w = WORDS[Math.floor(r() * WORDS.length)]!.toLowerCase();
  return `${w}${r() < 0.3 ? '.x' : ''}${r() < 0.3 ? '+tag' : ''}${n}@${r() < 0.5 ? 'example.org' : 'mail-' + n + '.example.net'}`;
}

/** An email that is no address even once made one line: something between the local part and the @. */
function hostileEmail(r: () => number, n: number): string {
  const bad = [' x', '\r\nBcc: v@example.org', ',', '"', '>', ';', '(', 'é', '=?', '\x00x', '\r\n x'];
  if (r() < 0.1) return `nobody-${n}`;
  const e = validEmail(r, n);
  const at = e.indexOf('@');
  return e.slice(0, at) + bad[Math.floor(r() * bad.length)]! + e.slice(at);
}

function email(r: () => number, n: number): string {
  return r() < 0.75 ? validEmail(r, n) : hostileEmail(r, n);
}

function address(r: () => number, n: number): string {
  const e = email(r, n);
  return r() < 0.15 ? e : `${hostileText(r, 5)} <${e}>`;
}

function messageId(r: () => number, n: number): string {
  const id = `${Math.floor(r() * 1e9).toString(16)}.${n}.git.kvm@example.org`;
  const k = r();
  if (k < 0.7) return id;
  if (k < 0.75) return 'a'.repeat(260) + '@example.org';
  const bad = ['\r\nBcc: v@example.org', ' ', '<', '>', '\x00', '"', '\n'];
  const at = Math.floor(r() * id.length);
  return id.slice(0, at) + bad[Math.floor(r() * bad.length)]! + id.slice(at);
}

// ---------------------------------------------------------------- a series and a review

const BASE_MAIL = [
  'From: Bruno Sender <bruno@example.net>', 'Date: Tue, 3 Nov 2026 09:00:00 +0000', 'Subject: [PATCH] KVM: x86: Count widgets',
  'Message-Id: <base@example.net>', '', 'Count them.', '', 'Signed-off-by: Bruno Sender <bruno@example.net>', '---',
  'diff --git a/w.c b/w.c', '--- a/w.c', '+++ b/w.c', '@@ -1,2 +1,2 @@', ' int a;', '-int b;', '+int c;', '',
].join('\n');

function basePatch(text = BASE_MAIL): Patch {
  const parsed = parseSeriesText('hostile.eml', text);
  assert.equal(parsed.patches.length, 1, `the base mail reads as one patch: ${JSON.stringify(parsed.problems)}`);
  return parsed.patches[0]!;
}

function seriesOf(p: Patch): Series {
  return assembleSeries([p], []);
}

function reviewOf(p: Patch, reviewer: { name: string; email: string }): ReviewFile {
  const trailers: ReviewTrailer[] = [{ key: 'Reviewed-by' }, { key: 'Acked-by', patch: { title: p.title } }];
  return {
    version: 1, series: { title: p.title }, reviewer, trailers, orphans: [],
    annotations: [{
      id: 'n1', patch: { title: p.title }, anchor: { part: 'diff', text: '+int c;', before: [] }, body: 'Why c?\r\nAnd \x1b[2J why now?',
      author: 'x', created: '2026-11-04T00:00:00Z', state: 'final', resolved: false,
    }],
  };
}

interface Expected {
  from?: Address;
  to: Address[];
  cc: Address[];
  subject: string;
  inReplyTo?: string;
  references?: string[];
}

function expectedOf(p: Patch, reviewer: { name: string; email: string }, to: string[], cc: string[]): Expected {
  const me = VALID_EMAIL.test(sanitised(reviewer.email)) ? { name: sanitised(reviewer.name), email: sanitised(reviewer.email) } : undefined;
  const toList = uniqueByEmail([...(p.from !== undefined ? [p.from] : []), ...to].map(expectedMailbox), new Set());
  const taken = new Set([...(me ? [me.email.toLowerCase()] : []), ...toList.map((a) => a.email.toLowerCase())]);
  const ccList = uniqueByEmail([...cc, ...(p.to ?? []), ...(p.cc ?? [])].map(expectedMailbox), taken);
  const title = sanitised(p.subject);
  const e: Expected = { to: toList, cc: ccList, subject: /^re:/i.test(title) ? title : sanitised(`Re: ${title}`) };
  if (me) e.from = me;
  const id = p.messageId;
  if (id !== undefined && id.length <= 250 && VALID_ID.test(id)) {
    e.inReplyTo = id;
    const refs = [...new Set(p.references.filter((x) => x !== id && x.length <= 250 && VALID_ID.test(x)))];
    e.references = [...refs, id];
  }
  return e;
}

const ALWAYS = ['Subject', 'Date', 'Message-Id', 'MIME-Version', 'Content-Type', 'Content-Transfer-Encoding'];

/** The reply holds exactly the expected headers, each decoding to the sanitised value. */
function checkReply(result: ComposeResult, exp: Expected, reviewerName: string): void {
  assert.equal(result.replies.length, 1);
  const mail = readMail(result.replies[0]!.text);
  const names = mail.fields.map((f) => f.name).sort();
  const want = [...ALWAYS, ...(exp.from ? ['From'] : []), ...(exp.to.length ? ['To'] : []), ...(exp.cc.length ? ['Cc'] : []),
    ...(exp.inReplyTo ? ['In-Reply-To', 'References'] : [])].sort();
  assert.deepEqual(names, want, 'exactly the headers the composer means to write, each once');
  const get = (n: string): string => mail.fields.find((f) => f.name === n)!.value;

  assert.equal(decodeText(get('Subject')), exp.subject);
  if (exp.from) assert.deepEqual(readAddressList(get('From')), [exp.from]);
  else assert.ok(result.warnings.some((w) => /reviewer's email .* is not a mail address/.test(w)), 'a reviewer without a valid email is warned about');
  if (exp.to.length) assert.deepEqual(readAddressList(get('To')), exp.to);
  if (exp.cc.length) assert.deepEqual(readAddressList(get('Cc')), exp.cc);
  if (exp.inReplyTo) {
    assert.equal(get('In-Reply-To'), `<${exp.inReplyTo}>`);
    assert.deepEqual(get('References').split(' '), exp.references!.map((r) => `<${r}>`));
  } else {
    assert.ok(result.replies[0]!.warnings.some((w) => /not threaded/.test(w)), 'an unthreaded reply is warned about');
  }
  // the reviewer's domain when it is a plain host name, else a reserved one
  const theirs = exp.from?.email.split('@').pop()!.toLowerCase() ?? '';
  const domain = /^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(theirs) && !/(^|\.)-|-(\.|$)/.test(theirs) ? theirs : 'kvm-lens.invalid';
  assert.equal(get('Message-Id').replace(/^<[0-9a-f]{24}@/, '<@'), `<@${domain}>`, 'a Message-Id in the reviewer\'s domain');
  assert.equal(get('Date'), 'Thu, 5 Nov 2026 12:00:00 +0000');

  const body = mail.body.split('\n');
  for (const l of body) assert.ok(!/[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/.test(l), `body line without control characters: ${JSON.stringify(l)}`);
  const trailers = body.filter((l) => /^(Reviewed-by|Acked-by|Tested-by):/.test(l));
  if (exp.from) {
    const who = sanitised(reviewerName).replace(/[<>]/g, '').replace(/ {2,}/g, ' ').trim();
    const id = who === '' ? `<${exp.from.email}>` : `${who} <${exp.from.email}>`;
    assert.deepEqual(trailers, [`Reviewed-by: ${id}`, `Acked-by: ${id}`], 'each trailer is one line');
  } else {
    assert.deepEqual(trailers, [], 'no trailer without a valid reviewer email');
  }
}

// ---------------------------------------------------------------- the tests

describe('reply headers from hostile input', () => {
  it('the issue\'s encoded CR LF in From: gives one To and no Bcc', () => {
    const p = basePatch(BASE_MAIL.replace('From: Bruno Sender <bruno@example.net>', 'From: =?utf-8?q?Eve=0D=0ABcc:_victim@example.org?= <eve@example.org>'));
    const reviewer = { name: 'Ada\r\nBcc: victim@example.org', email: 'ada@example.org' };
    const result = composeReplyBatch(seriesOf(p), reviewOf(p, reviewer), { date: DATE });
    const mail = readMail(result.replies[0]!.text);
    assert.deepEqual(mail.fields.filter((f) => /^(bcc|to|from)$/i.test(f.name)).map((f) => f.name), ['From', 'To']);
    assert.deepEqual(readAddressList(mail.fields.find((f) => f.name === 'To')!.value), [{ name: 'Eve Bcc: victim@example.org', email: 'eve@example.org' }]);
    assert.deepEqual(readAddressList(mail.fields.find((f) => f.name === 'From')!.value), [{ name: 'Ada Bcc: victim@example.org', email: 'ada@example.org' }]);
    checkReply(result, expectedOf(p, reviewer, [], []), reviewer.name);
  });

  it('the same values put straight into the patch (a reader that keeps CR LF) cannot add a header either', () => {
    const base = basePatch();
    const p: Patch = {
      ...base, from: 'Eve\r\nBcc: victim@example.org <eve@example.org>', subject: 'KVM: x\r\nBcc: victim@example.org', title: 'x',
      messageId: 'ok@example.org\r\nBcc: victim@example.org', references: ['a@b\r\nX: y', 'good@example.org'],
      to: ['kvm@vger.kernel.org\r\nBcc: victim@example.org', 'list@example.org'], cc: ['"Doe, Jo" <jo@example.org>, victim@example.org'],
    };
    const reviewer = { name: 'Ada', email: 'ada@example.org\r\nBcc: victim@example.org' };
    const result = composeReplyBatch(seriesOf(p), reviewOf(p, reviewer), { date: DATE, to: ['Paolo <pb@example.com>\nBcc: v@x'], cc: ['c@example.com'] });
    const mail = readMail(result.replies[0]!.text);
    assert.deepEqual(mail.fields.map((f) => f.name), ['To', 'Cc', 'Subject', 'Date', 'Message-Id', 'MIME-Version', 'Content-Type', 'Content-Transfer-Encoding']);
    assert.deepEqual(readAddressList(mail.fields[0]!.value).map((a) => a.email), ['eve@example.org']);
    assert.deepEqual(readAddressList(mail.fields[1]!.value).map((a) => a.email), ['c@example.com', 'list@example.org']);
    const warnings = [...result.warnings, ...result.replies[0]!.warnings].join('\n');
    assert.match(warnings, /reviewer's email "ada@example\.org\\r\\nBcc: victim@example\.org" is not a mail address/);
    assert.match(warnings, /"Paolo <pb@example\.com>\\nBcc: v@x" is not one mail address; it is left out of To:/);
    assert.match(warnings, /"kvm@vger\.kernel\.org\\r\\nBcc: victim@example\.org" is not one mail address; it is left out of Cc:/);
    assert.match(warnings, /""Doe, Jo" <jo@example\.org>, victim@example\.org" is not one mail address/);
    assert.match(warnings, /the Message-Id "ok@example\.org\\r\\nBcc: victim@example\.org" is not one <local@domain>: the reply is not threaded/);
    checkReply(result, expectedOf(p, reviewer, ['Paolo <pb@example.com>\nBcc: v@x'], ['c@example.com']), reviewer.name);
  });

  it('names with quotes, commas, angle brackets and backslashes stay one quoted mailbox', () => {
    const base = basePatch();
    const names = ['Doe, Jo', 'Jo "the boss" Doe', 'Eve <boss@example.org>', 'back\\slash', 'semi;colon: x', '"Doe, Jo"', 'a.b (c)'];
    for (const name of names) {
      const p: Patch = { ...base, from: `${name} <author@example.org>` };
      const result = composeReplyBatch(seriesOf(p), reviewOf(p, { name, email: 'rev@example.org' }), { date: DATE });
      const exp = expectedOf(p, { name, email: 'rev@example.org' }, [], []);
      checkReply(result, exp, name);
      const to = readAddressList(readMail(result.replies[0]!.text).fields.find((f) => f.name === 'To')!.value);
      assert.deepEqual(to, [{ name: name.replace(/^"(.*)"$/, '$1'), email: 'author@example.org' }], `one mailbox for ${name}`);
    }
  });

  it('a value that looks like an encoded word is itself encoded, and decodes back to its text', () => {
    const base = basePatch();
    const literal = 'KVM: =?utf-8?q?=0D=0ABcc:_v@example.org?= is not a header';
    const p: Patch = { ...base, subject: literal, from: '=?UTF-8?B?DQpCY2M6IHZAeA==?= <a@example.org>' };
    const result = composeReplyBatch(seriesOf(p), reviewOf(p, { name: 'Ada', email: 'ada@example.org' }), { date: DATE });
    const mail = readMail(result.replies[0]!.text);
    const subject = mail.fields.find((f) => f.name === 'Subject')!.value;
    assert.match(subject, /^=\?UTF-8\?B\?/);
    assert.equal(decodeText(subject), `Re: ${literal}`);
    checkReply(result, expectedOf(p, { name: 'Ada', email: 'ada@example.org' }, [], []), 'Ada');
  });

  it('long and non-ASCII values are folded into encoded words of at most 75 characters on lines of at most 78', () => {
    const base = basePatch();
    const name = 'Zoë Łukasiewicz-Núñez 山田 '.repeat(40);
    const subject = `[PATCH] KVM: ${'ünïcödé widget '.repeat(50)}${'x'.repeat(500)}`;
    const p: Patch = { ...base, subject, from: `${name} <author@example.org>` };
    const result = composeReplyBatch(seriesOf(p), reviewOf(p, { name, email: 'rev@example.org' }), { date: DATE });
    const text = result.replies[0]!.text;
    for (const line of text.slice(0, text.indexOf('\n\n')).split('\n')) assert.ok(line.length <= 78, `header line of ${line.length}: ${line}`);
    checkReply(result, expectedOf(p, { name, email: 'rev@example.org' }, [], []), name);
  });

  it(`${CASES} generated cases: exactly the meant headers, every value decoding to its sanitised self`, () => {
    const base = basePatch();
    for (let seed = 1; seed <= CASES; seed++) {
      const r = rng(seed);
      const list = (n: number): string[] => Array.from({ length: Math.floor(r() * n) }, (_, i) => address(r, seed * 100 + i));
      const id = r() < 0.9 ? messageId(r, seed) : undefined;
      const p: Patch = {
        ...base, from: r() < 0.9 ? address(r, seed) : undefined, subject: hostileText(r), title: `t${seed}`,
        references: Array.from({ length: Math.floor(r() * 4) }, (_, i) => messageId(r, seed * 10 + i)), to: list(4), cc: list(4),
      };
      if (id === undefined) delete p.messageId;
      else p.messageId = id;
      const reviewer = { name: hostileText(r, 5), email: email(r, seed) };
      const to = list(3);
      const cc = list(3);
      const result = composeReplyBatch(seriesOf(p), reviewOf(p, reviewer), { date: DATE, to, cc });
      try {
        checkReply(result, expectedOf(p, reviewer, to, cc), reviewer.name);
      } catch (e) {
        throw new Error(`seed ${seed}: ${(e as Error).message}\n${result.replies[0]?.text.slice(0, 3000)}`);
      }
    }
  });

  it('hostile headers in a mail, encoded as RFC 2047 and read by the series reader, add no header', () => {
    const b64 = (s: string): string => `=?UTF-8?B?${Buffer.from(s, 'utf8').toString('base64')}?=`;
    for (let seed = 1; seed <= 60; seed++) {
      const r = rng(1000 + seed);
      const mail = BASE_MAIL
        .replace('From: Bruno Sender <bruno@example.net>', `From: ${b64(hostileText(r, 4))} <author${seed}@example.org>`)
        .replace('Subject: [PATCH] KVM: x86: Count widgets', `Subject: [PATCH] ${b64(hostileText(r, 6))}`)
        .replace('Message-Id: <base@example.net>', `Message-Id: <base${seed}@example.net>\nTo: ${b64(hostileText(r, 3))} <to${seed}@example.org>\nCc: ${b64(hostileText(r, 3) + ', ')} <cc${seed}@example.org>`);
      const p = basePatch(mail);
      const reviewer = { name: 'Ada', email: 'ada@example.org' };
      const result = composeReplyBatch(seriesOf(p), reviewOf(p, reviewer), { date: DATE });
      try {
        checkReply(result, expectedOf(p, reviewer, [], []), reviewer.name);
      } catch (e) {
        throw new Error(`seed ${seed}: ${(e as Error).message}\n${result.replies[0]?.text.slice(0, 3000)}`);
      }
    }
  });

  it('an invalid date is a warning and the replies are dated now', () => {
    const p = basePatch();
    const result = composeReplyBatch(seriesOf(p), reviewOf(p, { name: 'Ada', email: 'ada@example.org' }), { date: new Date('not a date') });
    assert.match(result.warnings.join('\n'), /not a valid date/);
    const date = readMail(result.replies[0]!.text).fields.find((f) => f.name === 'Date')!.value;
    assert.ok(Math.abs(Date.parse(date) - Date.now()) < 60_000, date);
  });

  it('a comment of 200,000 lines is composed without overflowing the stack', () => {
    const p = basePatch();
    const review = reviewOf(p, { name: 'Ada', email: 'ada@example.org' });
    review.annotations[0]!.body = Array.from({ length: 200_000 }, (_, i) => `line ${i}`).join('\n');
    const result = composeReplyBatch(seriesOf(p), review, { date: DATE });
    assert.ok(result.replies[0]!.text.includes('\nline 199999\n'));
  });

  it('a comment of 100,000 blank lines before its text is composed in linear time', () => {
    const p = basePatch();
    const review = reviewOf(p, { name: 'Ada', email: 'ada@example.org' });
    review.annotations[0]!.body = `${'\n'.repeat(100_000)}end\n\n\n`;
    const started = Date.now();
    const result = composeReplyBatch(seriesOf(p), review, { date: DATE });
    // a backtracking trim took about 14 s here; the linear one takes milliseconds
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    const body = readMail(result.replies[0]!.text).body.split('\n');
    assert.equal(body[body.indexOf('end') - 1], '', 'the blank lines are one blank line in the reply');
  });
});
