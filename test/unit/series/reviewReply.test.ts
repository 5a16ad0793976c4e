// A review reply is not a series: the replies Compose writes (and replies saved from a mail
// client) quote a patch; read as one, they showed up as "series is incomplete".
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { composeReplyBatch } from '../../../extension/core/review/replyComposer';
import { isReviewReply } from '../../../extension/core/series/reviewReply';
import { parseSeriesText, readSeries } from '../../../extension/core/series/seriesReader';

const EXAMPLE = join(__dirname, '../../../examples/sev-es-debug-rfc');

async function composedReply(): Promise<string> {
  const series = await readSeries([EXAMPLE]);
  const p = series.patches[1]!;
  const batch = composeReplyBatch(series, {
    version: 1, series: { title: 'x' }, reviewer: { name: 'Zoë', email: 'zoe@example.org' }, trailers: [], orphans: [],
    annotations: [{ id: 'a', patch: { title: p.title }, anchor: { part: 'diff', text: '-\tif (vcpu->arch.guest_state_protected)', before: [] }, body: 'Why drop this?', author: 'Zoë', created: '2026-11-04T00:00:00Z', state: 'final', resolved: false }],
  }, { date: new Date('2026-11-05T12:00:00Z') });
  return batch.replies[0]!.text;
}

describe('review replies are not series', () => {
  it('the reply Compose writes is a review reply (the editor does not analyse it)', async () => {
    const text = await composedReply();
    assert.equal(isReviewReply(text), true);
    // read on purpose (the composer's own tests read replies back), it is one message with no diff
    const parsed = parseSeriesText('/r/0002-re-kvm-svm-let-dr7.eml', text);
    assert.equal(parsed.patches.length, 1);
    assert.deepEqual(parsed.patches[0]!.diffs, []);
  });

  it('a patch, and a fix-up sent as a reply with its own diff, are not', async () => {
    const patch = readFileSync(join(EXAMPLE, '0002-KVM-SVM-Let-DR7-writes-through-for-SEV-ES-guests.patch'), 'utf8');
    assert.equal(isReviewReply(patch), false);
    const fixup = patch.replace(/^Subject: \[RFC PATCH 2\/3\]/m, 'Subject: Re: [RFC PATCH 2/3]');
    assert.equal(isReviewReply(fixup), false);
    const parsed = parseSeriesText('/r/fixup.eml', fixup);
    assert.equal(parsed.patches.length, 1, 'the reply with a diff is still analysed');
  });
});
