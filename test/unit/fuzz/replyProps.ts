// The reply composer with hostile names, addresses, subjects and message ids (control
// characters, CR, LF, encoded words that decode to them, non-ASCII), coming from a patch mail as
// the reader decodes it or set directly, and from the reviewer: the header block of every reply,
// parsed back, holds exactly the headers the composer means to write, once each, in printable
// ASCII; no value becomes a header or a blank line of its own.

import assert from 'node:assert/strict';
import fc from 'fast-check';
import { composeReplyBatch } from '../../../extension/core/review/replyComposer';
import type { ReviewFile } from '../../../extension/core/review/types';
import { parseSeriesText } from '../../../extension/core/series/seriesReader';
import type { FuzzProperty } from './harness';
import { EXAMPLE_SEEDS } from './mutate';

const INJECTIONS = [
  '\r\nBcc: evil@example.org', '\nBcc: evil@example.org', '\rBcc: evil@example.org', '\r\n\r\nbody', '\n\n', '\n ', '\n\tx', '\0', '\x1b[2J', '\x7f',
  '\u0085', '\u2028', '\u202e', 'é', '中', '😀', '"', '\\', '<', '>', ',', ';', ':', '@', '(', ')', '=?', '?=', '=?UTF-8?B?DQpCY2M6IGV2aWxAeA==?=',
  'Ada Reviewer', 'ada@example.org', '<ada@example.org>', ' ',
];

export const hostileArb: fc.Arbitrary<string> = fc.array(fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...INJECTIONS) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
), { maxLength: 6 }).map((ps) => ps.join(''));

/** A header value as a mail carries it: raw (newlines folded away) or as encoded words that decode to the hostile text. */
const headerValueArb: fc.Arbitrary<string> = fc.tuple(hostileArb, fc.constantFrom('raw', 'B', 'Q', 'mixed')).map(([v, how]) => {
  const b = (s: string) => `=?UTF-8?B?${Buffer.from(s, 'utf8').toString('base64')}?=`;
  const q = (s: string) => `=?UTF-8?Q?${[...Buffer.from(s, 'utf8')].map((c) => (c > 32 && c < 127 && c !== 0x3d && c !== 0x3f && c !== 0x5f ? String.fromCharCode(c) : '=' + c.toString(16).toUpperCase().padStart(2, '0'))).join('')}?=`;
  if (how === 'raw') return v.replace(/\r?\n/g, ' ');
  if (how === 'B') return b(v);
  if (how === 'Q') return q(v);
  return `plain ${b(v)} <x@example.org>`;
});

/** Reviewer emails that are plain addresses: with one of these the reply must have its From:. */
const GOOD_EMAILS = ['zoe@example.org', 'z.o+e@mail.example.org'];

interface ReplyCase {
  from: string; subject: string; messageId: string; references: string; to: string; cc: string;
  /** Set the hostile values on the parsed patch directly (as a caller other than the reader might). */
  direct: { from: string; subject: string; messageId: string; references: string[]; to: string[]; cc: string[] } | null;
  reviewer: { name: string; email: string };
  optsTo: string[];
  optsCc: string[];
  comment: string | null;
}

const replyCaseArb: fc.Arbitrary<ReplyCase> = fc.record({
  from: headerValueArb, subject: headerValueArb, messageId: headerValueArb, references: headerValueArb, to: headerValueArb, cc: headerValueArb,
  direct: fc.option(fc.record({
    from: hostileArb, subject: hostileArb, messageId: hostileArb,
    references: fc.array(hostileArb, { maxLength: 3 }), to: fc.array(hostileArb, { maxLength: 3 }), cc: fc.array(hostileArb, { maxLength: 3 }),
  })),
  reviewer: fc.record({ name: hostileArb, email: fc.oneof(fc.constantFrom(...GOOD_EMAILS), hostileArb) }),
  optsTo: fc.array(hostileArb, { maxLength: 2 }),
  optsCc: fc.array(hostileArb, { maxLength: 2 }),
  comment: fc.option(hostileArb),
});

/** Headers the composer writes: exactly once, or at most once (From: only when the reviewer's email is an address). */
const ONCE = ['subject', 'date', 'message-id', 'mime-version', 'content-type', 'content-transfer-encoding'];
const AT_MOST_ONCE = ['from', 'to', 'cc', 'in-reply-to', 'references'];

/** The example patch 2 with its header block replaced by the case's headers. */
function mailOf(c: ReplyCase): string {
  const text = EXAMPLE_SEEDS[2]!.bytes.toString('utf8');
  const body = text.slice(text.indexOf('\n\n') + 2);
  return [
    'From 4572407c0b23421badbbcea9159302304cf41333 Mon Sep 17 00:00:00 2001',
    `From: ${c.from}`, `Date: Mon, 2 Nov 2026 10:00:00 +0000`, `Subject: [PATCH 1/1] ${c.subject}`, `Message-Id: <${c.messageId}>`,
    `References: <a@example.org> ${c.references}`, `To: ${c.to}`, `Cc: ${c.cc}`, '', body,
  ].join('\n');
}

export const replyProperty: FuzzProperty = {
  name: 'review: reply headers from hostile names, addresses, subjects and ids',
  runs: 300,
  guardMs: 6_000,
  make: () => fc.property(replyCaseArb, (c) => {
    const parsed = parseSeriesText('hostile.patch', mailOf(c));
    const patch = parsed.patches[0];
    assert.ok(patch, 'the generated mail holds no patch');
    if (c.direct) Object.assign(patch, c.direct);
    const review: ReviewFile = {
      version: 1, series: { title: 't' }, reviewer: c.reviewer, orphans: [],
      trailers: [{ key: 'Reviewed-by' }],
      annotations: c.comment === null ? [] : [{
        id: 'a1', patch: { title: patch.title }, anchor: { part: 'diff', text: patch.diffs[0]?.hunks[0]?.lines[0]?.text ?? '', before: [] },
        body: c.comment, author: c.reviewer.name, created: '2026-11-04T00:00:00Z', state: 'final', resolved: false,
      }],
    };
    const { replies, warnings } = composeReplyBatch({ patches: [patch], problems: [] }, review, { date: new Date('2026-11-05T12:00:00Z'), to: c.optsTo, cc: c.optsCc });
    const goodEmail = GOOD_EMAILS.includes(c.reviewer.email);
    if (replies.length === 0 && !goodEmail) {
      assert.ok(warnings.length > 0, 'no reply and no warning saying why');
      return;
    }
    assert.equal(replies.length, 1, `${replies.length} replies for one patch with a trailer`);
    const text = replies[0]!.text;
    const end = text.indexOf('\n\n');
    assert.ok(end > 0, 'no blank line ends the header block');
    const raw = text.slice(0, end).split('\n');
    const bad = raw.find((l) => /[^\t\x20-\x7e]/.test(l));
    assert.equal(bad, undefined, `a header line holds a character that is not printable ASCII: ${JSON.stringify(bad)}`);
    assert.ok(!/^[ \t]/.test(raw[0]!), 'the header block starts with a continuation line');
    const names: string[] = [];
    for (const l of raw) {
      if (/^[ \t]/.test(l)) {
        assert.ok(l.trim() !== '', 'a continuation line of only white space (a blank line to some readers)');
        continue;
      }
      const m = /^([!-9;-~]+):(.*)$/.exec(l);
      assert.ok(m, `a header line that is no header: ${JSON.stringify(l)}`);
      names.push(m[1]!.toLowerCase());
    }
    for (const n of names) assert.ok(ONCE.includes(n) || AT_MOST_ONCE.includes(n), `the reply carries a "${n}:" header it should not; headers: ${JSON.stringify(raw)}`);
    for (const n of ONCE) assert.equal(names.filter((x) => x === n).length, 1, `"${n}:" ${names.filter((x) => x === n).length} times; headers: ${JSON.stringify(raw)}`);
    if (goodEmail) assert.equal(names.filter((x) => x === 'from').length, 1, `no From: although the reviewer's email is an address; headers: ${JSON.stringify(raw)}`);
    for (const n of AT_MOST_ONCE) assert.ok(names.filter((x) => x === n).length <= 1, `"${n}:" more than once; headers: ${JSON.stringify(raw)}`);
    // the reply reads back as one message
    const back = parseSeriesText('reply.eml', text);
    assert.equal(back.patches.length, 1, `the reply reads back as ${back.patches.length} messages`);
  }),
};
