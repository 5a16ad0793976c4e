// The reply composer: threading headers, the trimmed interleaved quoting, the reviewer's text
// wrapped and unquoted under its line, trailers last; each reply parsed back with the
// project's own mail reader. Plus `kvm-lens reply` end to end, in process.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { main } from '../../../extension/cli/main';
import { composeReplies, composeReplyBatch, previewText, type ComposedReply } from '../../../extension/core/review/replyComposer';
import type { Annotation, LineAnchor, PatchKey, ReviewFile, ReviewTrailer } from '../../../extension/core/review/types';
import { assembleSeries, parseSeriesText, readSeries } from '../../../extension/core/series/seriesReader';
import type { Patch, Series } from '../../../extension/core/series/types';

const ROOT = join(__dirname, '../../..');
const MBOX = join(ROOT, 'test/fixtures/review/threaded.mbox');
const EXAMPLE_DIR = join(ROOT, 'examples/sev-es-debug-rfc');
const DATE = new Date('2026-11-05T12:00:00Z');
const REVIEWER = { name: 'Zoë Révieweŕ', email: 'zoe@example.org' };
const P1 = 'KVM: x86: Count widgets per vCPU';
const P2 = 'KVM: x86: Drop the global widget lock';

const LONG_COMMENT = 'Summing on every read is O(vCPUs); that is fine for an ioctl, but please say so in the changelog so nobody moves this into a hot path later on. Grüße.';

let nextId = 0;
function ann(title: string, anchor: Partial<LineAnchor> & { text: string }, body: string, extra: Partial<Annotation> = {}): Annotation {
  const patch: PatchKey = { title };
  return {
    id: `a${++nextId}`, patch, anchor: { part: 'diff', before: [], ...anchor }, body, author: 'Zoë', created: `2026-11-04T00:00:0${nextId % 10}Z`,
    state: 'final', resolved: false, ...extra,
  };
}

function review(annotations: Annotation[], trailers: ReviewTrailer[] = []): ReviewFile {
  return { version: 1, series: { title: 'widgets' }, reviewer: REVIEWER, annotations, trailers, orphans: [] };
}

const A_MSG = ann(P1, { part: 'commit-message', text: 'when userspace asks.' }, LONG_COMMENT);
const A_SUM = ann(P1, { text: '+\t\ttotal += vcpu->arch.widgets;' }, 'READ_ONCE()?', { state: 'draft' });
const A_PUT = ann(P1, { text: '+\treturn put_user(total, (u64 __user *)arg) ? -EFAULT : 0;' }, 'Unrelated fix, separate patch please.');
const A_BRACE = ann(P1, { text: ' {', before: [' ', ' static u64 widget_total(struct kvm *kvm)'] }, 'Brace of widget_total, not of widget_bump.');
const A_DONE = ann(P1, { text: ' }' }, 'Already fixed.', { resolved: true });
const A_LOST = ann(P1, { text: '+\tgone_line();' }, 'This line has vanished.');

const FULL = review([A_MSG, A_SUM, A_PUT, A_BRACE, A_DONE, A_LOST], [{ key: 'Reviewed-by', patch: { title: P2 } }, { key: 'Acked-by' }]);

interface Split { headers: Map<string, string>; rawHeaders: string[]; body: string[] }

function split(text: string): Split {
  const at = text.indexOf('\n\n');
  const rawHeaders = text.slice(0, at).split('\n');
  const headers = new Map<string, string>();
  let last = '';
  for (const l of rawHeaders) {
    if (/^\s/.test(l)) { headers.set(last, headers.get(last)! + l); continue; }
    const m = /^([^:]+): (.*)$/.exec(l)!;
    last = m[1]!.toLowerCase();
    headers.set(last, m[2]!);
  }
  const body = text.slice(at + 2).split('\n');
  assert.equal(body.pop(), '', 'the body ends with a newline');
  return { headers, rawHeaders, body };
}

function parseBack(r: ComposedReply): Patch {
  const parsed = parseSeriesText(r.fileName, r.text);
  assert.deepEqual(parsed.problems, [], 'the reply reads back without problems');
  assert.equal(parsed.patches.length, 1);
  return parsed.patches[0]!;
}

const isQuote = (l: string): boolean => l === '>' || l.startsWith('> ');

async function fixtureSeries(): Promise<Series> {
  const s = await readSeries([MBOX]);
  assert.deepEqual(s.problems, []);
  return s;
}

function byTitle(replies: ComposedReply[], title: string): ComposedReply {
  const r = replies.find((x) => x.patch.title === title);
  assert.ok(r, `a reply to "${title}" among ${replies.map((x) => x.fileName).join(', ')}`);
  return r;
}

describe('composeReplies on a sent series', () => {
  it('one reply per patch with something to say, plus the cover letter for the series-wide trailer', async () => {
    const replies = composeReplies(await fixtureSeries(), FULL, { date: DATE, cc: ['kvm@vger.kernel.org'] });
    assert.deepEqual(replies.map((r) => r.fileName), [
      '0000-re-kvm-x86-tidy-the.eml', '0001-re-kvm-x86-count-widgets.eml', '0002-re-kvm-x86-drop-the-global.eml',
    ]);
    assert.deepEqual(replies.map((r) => r.patch.index), [0, 1, 2]);
    assert.equal(replies[1]!.patch.messageId, '1.v2.widget@example.net');
  });

  it('headers: From encoded and decoded back equal, To, Cc, Subject, Date, MIME, threading', async () => {
    const series = await fixtureSeries();
    const r = byTitle(composeReplies(series, FULL, { date: DATE, cc: ['kvm@vger.kernel.org'], to: ['Paolo <pb@example.com>'] }), P1);
    const { headers, rawHeaders } = split(r.text);
    for (const l of rawHeaders) assert.match(l, /^[\x20-\x7e\t]*$/, `header line is ASCII: ${l}`);
    assert.match(headers.get('from')!, /^=\?UTF-8\?[BQ]\?/);
    assert.equal(headers.get('to'), 'Bruno Sender <bruno@example.net>, Paolo <pb@example.com>');
    assert.equal(headers.get('cc'), 'kvm@vger.kernel.org');
    assert.equal(headers.get('date'), 'Thu, 5 Nov 2026 12:00:00 +0000');
    assert.equal(headers.get('mime-version'), '1.0');
    assert.equal(headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(headers.get('content-transfer-encoding'), '8bit');
    assert.match(headers.get('message-id')!, /^<[0-9a-f]+@example\.org>$/, 'the reviewer\'s domain, as a mail client would write it');

    const back = parseBack(r);
    assert.equal(back.from, `${REVIEWER.name} <${REVIEWER.email}>`);
    assert.equal(back.subject, 'Re: [PATCH v2 1/2] KVM: x86: Count widgets per vCPU');
    assert.equal(back.inReplyTo, '1.v2.widget@example.net');
    assert.deepEqual(back.references, ['cover.v1.widget@example.net', 'cover.v2.widget@example.net', '1.v2.widget@example.net']);
    assert.deepEqual(r.warnings.filter((w) => /Message-Id/.test(w)), []);
  });

  it('replies to all: the original recipients (the list among them) go to Cc, the reviewer and the author only once', async () => {
    // the same series as it arrived from a list: recipients on each mail
    const text = readFileSync(MBOX, 'utf8').replace(/^(Message-Id: <[^>]+>)$/gm,
      '$1\nTo: kvm@vger.kernel.org, Bruno Sender <bruno@example.net>\nCc: "Doe, Jo" <jo@example.org>,\n =?UTF-8?B?Wm/DqyBSw6l2aWV3ZcWV?= <zoe@example.org>');
    const parsed = parseSeriesText(MBOX, text);
    const series = assembleSeries(parsed.patches, parsed.problems);
    const r = byTitle(composeReplies(series, FULL, { date: DATE }), P1);
    const { headers } = split(r.text);
    assert.equal(headers.get('to'), 'Bruno Sender <bruno@example.net>');
    assert.equal(headers.get('cc'), 'kvm@vger.kernel.org, "Doe, Jo" <jo@example.org>');
  });

  it('is deterministic for the same content and date, and the Message-Id changes with the date', async () => {
    const series = await fixtureSeries();
    const a = composeReplies(series, FULL, { date: DATE });
    const b = composeReplies(series, FULL, { date: DATE });
    const c = composeReplies(series, FULL, { date: new Date('2026-11-06T12:00:00Z') });
    assert.deepEqual(a, b);
    assert.notEqual(split(a[1]!.text).headers.get('message-id'), split(c[1]!.text).headers.get('message-id'));
  });

  it('body: attribution, no top-posting, each comment unquoted right under its line, at most 3 lines of context, [...] between', async () => {
    const r = byTitle(composeReplies(await fixtureSeries(), FULL, { date: DATE }), P1);
    const { body } = split(r.text);
    assert.equal(body[0], 'On Tue, 3 Nov 2026 09:00:01 +0000, Bruno Sender wrote:');
    assert.ok(isQuote(body[1]!), 'the first line after the attribution is a quote');

    const placed = [A_MSG, A_BRACE, A_SUM, A_PUT];
    let prevComment = -1;
    for (const a of placed) {
      const wrapped = body.findIndex((l) => l !== '' && !isQuote(l) && a.body.startsWith(l));
      assert.ok(wrapped > 0, `comment of ${a.id} is in the reply`);
      assert.ok(wrapped > prevComment, 'comments are in the order of their lines');
      assert.equal(body[wrapped - 1], '', 'a blank line before the comment');
      const anchorText = a.anchor.part === 'diff' ? a.anchor.text : a.anchor.text;
      assert.equal(body[wrapped - 2], `> ${anchorText}`, `the quoted line right above ${a.id}'s comment is its anchor`);
      let ctx = 0;
      for (let i = wrapped - 3; i >= 0 && isQuote(body[i]!) && body[i] !== '> [...]'; i--) ctx++;
      assert.ok(ctx <= 3, `${ctx} context lines above ${a.id}`);
      // the comment runs until a blank line, all unquoted
      let end = wrapped;
      while (body[end] !== '' && end < body.length) { assert.ok(!isQuote(body[end]!)); end++; }
      assert.equal(body.slice(wrapped, end).join(' '), a.body, 'the whole comment, only rewrapped');
      if (prevComment >= 0) {
        const between = body.slice(prevComment, wrapped);
        if (a === A_SUM || a === A_PUT) assert.ok(between.includes('> [...]'), `[...] before ${a.id}`);
      }
      prevComment = wrapped;
    }
    // A_BRACE picked the second " {" by its lines before
    const braceAt = body.findIndex((l) => l === 'Brace of widget_total, not of widget_bump.');
    assert.equal(body[braceAt - 3], '>  static u64 widget_total(struct kvm *kvm)');

    for (const l of body) if (!isQuote(l)) assert.ok([...l].length <= 72, `reviewer line over 72 columns: ${l}`);
    assert.ok(body.some((l) => [...l].length > 0 && LONG_COMMENT.startsWith(l)), 'the long comment was wrapped');
    assert.ok(!body.includes('Already fixed.'), 'a resolved annotation is not sent');
    assert.ok(body.includes('READ_ONCE()?'), 'a draft is the reviewer\'s words and is sent');
    assert.ok(!body.some((l) => /1 file changed/.test(l)), 'the diffstat is not quoted');
    assert.ok(!body.some((l) => l.includes('\r')));
  });

  it('a comment in the diff is quoted under its file\'s diff --git line and its hunk\'s @@ header, as b4 quotes', async () => {
    const r = byTitle(composeReplies(await fixtureSeries(), FULL, { date: DATE }), P1);
    const { body } = split(r.text);
    for (const a of [A_BRACE, A_SUM, A_PUT]) {
      const anchor = body.indexOf(`> ${a.anchor.text}`);
      assert.ok(anchor > 0, a.id);
      const above = body.slice(0, anchor);
      const hunk = above.map((l, i) => (l.startsWith('> @@ ') ? i : -1)).filter((i) => i >= 0).pop();
      const file = above.map((l, i) => (l.startsWith('> diff --git ') ? i : -1)).filter((i) => i >= 0).pop();
      assert.ok(hunk !== undefined && file !== undefined && file < hunk, `${a.id}: file line, then hunk header, above its quote`);
      assert.equal(body[file], '> diff --git a/arch/x86/kvm/widget.c b/arch/x86/kvm/widget.c');
    }
    // each header quoted once, however many comments the hunk has
    assert.equal(body.filter((l) => l.startsWith('> diff --git ')).length, 1);
    assert.equal(new Set(body.filter((l) => l.startsWith('> @@ '))).size, body.filter((l) => l.startsWith('> @@ ')).length);
  });

  it('a draft made from a finding is sent only once confirmed; until then the batch says so', async () => {
    const fromFinding = ann(P1, { text: '+\treturn put_user(total, (u64 __user *)arg) ? -EFAULT : 0;' }, 'Made by Add to review.', { state: 'draft', fromFinding: 'vmsa-write-after-encryption|widget' });
    const draft = composeReplyBatch(await fixtureSeries(), review([A_PUT, fromFinding]), { date: DATE });
    assert.ok(!split(byTitle(draft.replies, P1).text).body.includes('Made by Add to review.'));
    assert.ok(draft.warnings.some((w) => /1 comment made from findings \(Add to review\) is still an? ?unconfirmed draft|1 comment made from findings \(Add to review\) is still unconfirmed/.test(w)), draft.warnings.join('\n'));
    const confirmed = composeReplyBatch(await fixtureSeries(), review([A_PUT, { ...fromFinding, state: 'final' }]), { date: DATE });
    assert.ok(split(byTitle(confirmed.replies, P1).text).body.includes('Made by Add to review.'));
    assert.deepEqual(confirmed.warnings, []);
  });

  it('the preview holds every reply, each under its file name, and the problems first (an unthreaded reply among them)', async () => {
    // the example series was never sent: no Message-Ids, so no reply can be threaded
    const series = await readSeries([EXAMPLE_DIR]);
    const title = series.patches[1]!.title;
    const batch = composeReplyBatch(series, review([ann(title, { text: '-\tif (vcpu->arch.guest_state_protected)' }, 'Why?')], [{ key: 'Acked-by' }]), { date: DATE });
    assert.ok(batch.replies.length >= 2);
    const text = previewText(batch, '/review/out');
    const lines = text.split('\n');
    assert.match(lines[0]!, /^\d+ replies to be written to \/review\/out \(nothing is written or sent yet\)$/);
    const firstReply = lines.findIndex((l) => l.startsWith('===================='));
    assert.ok(lines.slice(0, firstReply).some((l) => /^warning: .*not threaded/.test(l)), 'a reply without In-Reply-To is said before any reply');
    for (const r of batch.replies) {
      const at = lines.indexOf(`==================== ${r.fileName} ====================`);
      assert.ok(at > 0, r.fileName);
      assert.equal(lines[at + 2], r.text.split('\n')[0]);
    }
  });

  it('a Message-Id without a reviewer address takes a reserved domain, not a made-up one', async () => {
    const r = byTitle(composeReplies(await fixtureSeries(), { ...FULL, reviewer: { name: 'Zoë', email: '' } }, { date: DATE }), P1);
    assert.match(split(r.text).headers.get('message-id')!, /^<[0-9a-f]+@kvm-lens\.invalid>$/);
  });

  it('a comment whose line vanished is kept at the end under [...] with a warning', async () => {
    const r = byTitle(composeReplies(await fixtureSeries(), FULL, { date: DATE }), P1);
    const { body } = split(r.text);
    const at = body.indexOf('This line has vanished.');
    assert.ok(at > 0);
    assert.equal(body[at - 2], '> [...]');
    assert.equal(body.slice(at + 1).filter((l) => l !== '').length, 0, 'it is the last thing in the reply');
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0]!, /threaded\.mbox.*gone_line/);
  });

  it('trailers come last, after a blank line; the series-wide one goes to the cover letter', async () => {
    const replies = composeReplies(await fixtureSeries(), FULL, { date: DATE });
    const cover = split(byTitle(replies, 'KVM: x86: Tidy the fictional widget counters').text).body;
    assert.deepEqual(cover.slice(-2), ['', 'Acked-by: Zoë Révieweŕ <zoe@example.org>']);
    assert.equal(cover[0], 'On Tue, 3 Nov 2026 09:00:00 +0000, Bruno Sender wrote:');
    const p2 = split(byTitle(replies, P2).text).body;
    assert.deepEqual(p2.slice(-2), ['', 'Reviewed-by: Zoë Révieweŕ <zoe@example.org>']);
    assert.ok(isQuote(p2[1]!));
    assert.equal(parseBack(byTitle(replies, P2)).trailers.at(-1)?.value, 'Zoë Révieweŕ <zoe@example.org>');

    const both = composeReplies(await fixtureSeries(), review([A_SUM], [{ key: 'Reviewed-by', patch: { title: P1 } }]), { date: DATE });
    const b = split(both[0]!.text).body;
    assert.deepEqual(b.slice(-3), ['READ_ONCE()?', '', 'Reviewed-by: Zoë Révieweŕ <zoe@example.org>']);
  });

  it('CRLF input gives the same LF reply', async () => {
    const text = readFileSync(MBOX, 'utf8');
    const crlf = parseSeriesText(MBOX, text.replace(/\n/g, '\r\n'));
    const lf = parseSeriesText(MBOX, text);
    const a = composeReplies(assembleSeries(crlf.patches, crlf.problems), FULL, { date: DATE });
    const b = composeReplies(assembleSeries(lf.patches, lf.problems), FULL, { date: DATE });
    assert.ok(a.every((r) => !r.text.includes('\r')));
    assert.deepEqual(a.map((r) => r.text), b.map((r) => r.text));
  });

  it('a non-ASCII subject is encoded and reads back equal; no double "Re:"', () => {
    const mail = [
      'From: Jörg Sender <joerg@example.net>', 'Date: Tue, 3 Nov 2026 09:00:00 +0000',
      'Subject: =?UTF-8?Q?Re=3A_=5BPATCH=5D_KVM=3A_x86=3A_Fix_na=C3=AFve_widget_count?=',
      'Message-Id: <naive@example.net>', '', 'Fix the naïve count.', '', 'Signed-off-by: Jörg Sender <joerg@example.net>', '---',
      'diff --git a/w.c b/w.c', '--- a/w.c', '+++ b/w.c', '@@ -1,2 +1,2 @@', ' int a;', '-int b;', '+int c;', '',
    ].join('\n');
    const p = parseSeriesText('naive.eml', mail);
    const series = assembleSeries(p.patches, []);
    const r = composeReplies(series, review([ann('KVM: x86: Fix naïve widget count', { text: '+int c;' }, 'Prüfen.')]), { date: DATE });
    assert.equal(r.length, 1);
    const { headers, rawHeaders } = split(r[0]!.text);
    for (const l of rawHeaders) assert.match(l, /^[\x20-\x7e\t]*$/);
    assert.match(headers.get('to')!, /^=\?UTF-8\?B\?.*<joerg@example\.net>$/);
    const back = parseBack(r[0]!);
    assert.equal(back.subject, 'Re: [PATCH] KVM: x86: Fix naïve widget count');
    assert.equal(split(r[0]!.text).body[0], 'On Tue, 3 Nov 2026 09:00:00 +0000, Jörg Sender wrote:');
  });
});

describe('composeReplies on unsent format-patch output (the example series)', () => {
  it('warns that the reply is not threaded and leaves out In-Reply-To and References', async () => {
    const series = await readSeries([EXAMPLE_DIR]);
    const title = series.patches[1]!.title;
    const r = composeReplies(series, review([ann(title, { text: '-\tif (vcpu->arch.guest_state_protected)' }, 'Why is this safe?')]), { date: DATE });
    assert.equal(r.length, 1);
    assert.equal(r[0]!.fileName, '0002-re-kvm-svm-let-dr7-writes.eml');
    const { headers, body } = split(r[0]!.text);
    assert.equal(headers.has('in-reply-to'), false);
    assert.equal(headers.has('references'), false);
    assert.equal(r[0]!.warnings.length, 1);
    assert.match(r[0]!.warnings[0]!, /0002-KVM-SVM-Let-DR7.*no Message-Id: the reply is not threaded; send it with --in-reply-to/);
    assert.equal(headers.get('subject'), 'Re: [RFC PATCH 2/3] KVM: SVM: Let DR7 writes through for SEV-ES guests');
    const at = body.indexOf('Why is this safe?');
    assert.equal(body[at - 2], '> -\tif (vcpu->arch.guest_state_protected)');
  });

  it('without a cover letter the series-wide trailer goes to patch 1', async () => {
    const series = await readSeries([join(EXAMPLE_DIR, '0001-KVM-SVM-Rely-on-guest_state_protected-alone-to-refus.patch'), join(EXAMPLE_DIR, '0002-KVM-SVM-Let-DR7-writes-through-for-SEV-ES-guests.patch')]);
    assert.equal(series.coverLetter, undefined);
    const r = composeReplies(series, review([], [{ key: 'Tested-by' }]), { date: DATE });
    assert.equal(r.length, 1);
    assert.equal(r[0]!.patch.index, 1);
    assert.equal(split(r[0]!.text).body.at(-1), 'Tested-by: Zoë Révieweŕ <zoe@example.org>');
  });

  it('an annotation on a patch the series does not hold is reported, not silently lost', async () => {
    const series = await readSeries([EXAMPLE_DIR]);
    const res = composeReplyBatch(series, review([ann('KVM: nothing like this', { text: '+x' }, 'hm')]), { date: DATE });
    assert.equal(res.replies.length, 0);
    assert.match(res.warnings[0]!, /matches no patch/);
  });
});

describe('kvm-lens reply', () => {
  async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await main(argv, { out: (t) => { out += t; }, err: (t) => { err += t; }, isTty: false });
    return { code, out, err };
  }

  it('writes one .eml per reply, reports each, refuses to overwrite without --force', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvm-lens-reply-'));
    try {
      const sidecar = join(dir, 'review.json');
      writeFileSync(sidecar, JSON.stringify(FULL, null, 2));
      const outDir = join(dir, 'out');
      const argv = ['reply', MBOX, '--annotations', sidecar, '--out', outDir, '--cc', 'kvm@vger.kernel.org', '--date', '2026-11-05T12:00:00Z'];
      const first = await run(argv);
      assert.equal(first.code, 0, first.err);
      const files = first.out.split('\n').filter((l) => l !== '');
      assert.deepEqual(files, ['0000-re-kvm-x86-tidy-the.eml', '0001-re-kvm-x86-count-widgets.eml', '0002-re-kvm-x86-drop-the-global.eml'].map((f) => join(outDir, f)));
      for (const f of files) assert.ok(existsSync(f));
      assert.match(first.err, /warning: .*gone_line/);
      const expected = composeReplies(await readSeries([MBOX]), FULL, { date: DATE, cc: ['kvm@vger.kernel.org'] });
      assert.equal(readFileSync(files[1]!, 'utf8'), expected[1]!.text);

      const again = await run(argv);
      assert.equal(again.code, 2);
      assert.match(again.err, /not overwriting .*--force/);
      const forced = await run([...argv, '--force']);
      assert.equal(forced.code, 0, forced.err);

      const noSidecar = await run(['reply', MBOX, '--out', outDir]);
      assert.equal(noSidecar.code, 2);
      assert.match(noSidecar.err, /--annotations/);
      const missing = await run(['reply', MBOX, '--annotations', join(dir, 'nope.json'), '--out', outDir]);
      assert.equal(missing.code, 2);
      assert.match(missing.err, /nope\.json/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
