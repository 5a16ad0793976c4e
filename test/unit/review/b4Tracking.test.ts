// The tracking commit's message as b4 writes and reads it: the cover text, the marker, one `#`
// line, JSON as Python's json.dumps(indent=2) prints it (non-ASCII escaped); and what is not one.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { exportToTracking, importFromTracking } from '../../../extension/core/review/b4ReviewState';
import type { ReviewFile } from '../../../extension/core/review/types';
import { readSeries } from '../../../extension/core/series/seriesReader';
import {
  TRACKING_MARKER, commentsOf, ensureReview, formatTrackingMessage, parseTrackingMessage, reviewOf, type Json,
} from '../../../extension/core/review/b4Tracking';

const tracking: Json = {
  series: { 'change-id': '20261105-x-v1', subject: '[PATCH 0/2] KVM: SVM: Zoë’s fixes', 'header-info': { msgid: 'c@example.org' } },
  followups: [],
  patches: [{ title: '[PATCH 1/2] KVM: SVM: a', 'header-info': { msgid: 'p1@example.org' }, unknown: { kept: [1, 2] } }],
};

describe('b4 tracking commit message', () => {
  it('is the cover text, a blank line, the marker, a # line and indented ASCII JSON; it reads back whole', () => {
    const text = formatTrackingMessage({ cover: 'KVM: SVM: Zoë’s fixes\n\nBody.', tracking });
    const lines = text.split('\n');
    assert.deepEqual(lines.slice(0, 5), ['KVM: SVM: Zoë’s fixes', '', 'Body.', '', TRACKING_MARKER]);
    assert.match(lines[5]!, /^# /);
    assert.equal(lines[6], '{');
    assert.equal(lines[7], '  "series": {', 'indented by two, as json.dumps(indent=2)');
    assert.ok(/^[\x00-\x7f]*$/.test(lines.slice(6).join('\n')), 'the JSON is ASCII (\\u escapes), as Python writes it');
    assert.match(text, /Zo\\u00eb\\u2019s fixes/);
    const back = parseTrackingMessage(text);
    assert.ok(back.ok);
    assert.equal(back.commit.cover, 'KVM: SVM: Zoë’s fixes\n\nBody.');
    assert.deepEqual(back.commit.tracking, tracking, 'fields kvm-lens does not know come back as they were');
  });

  it('says why a message is not a tracking commit: no marker, JSON that does not parse, no series or patches', () => {
    const why = (m: string) => { const r = parseTrackingMessage(m); return r.ok ? 'ok' : r.why; };
    assert.match(why('KVM: x\n\nJust a commit.'), /no "--- b4-review-tracking ---" line/);
    assert.match(why(`x\n\n${TRACKING_MARKER}\n# c\n{ "series": `), /does not parse/);
    assert.match(why(`x\n\n${TRACKING_MARKER}\n[1]`), /not an object/);
    assert.match(why(`x\n\n${TRACKING_MARKER}\n{"patches": []}`), /no "series" object/);
    assert.match(why(`x\n\n${TRACKING_MARKER}\n{"series": {}}`), /no "patches" list/);
  });

  it('finds a reviewer\'s entry by its own key only, reads only comments of b4\'s shape, and creates entries as b4 does', () => {
    const target: Json = JSON.parse('{"reviews": {"__proto__": {"comments": []}, "a@example.org": {"comments": [{"path": "b/x.c", "line": 3, "text": "t", "content": "+x"}, {"path": "b/x.c", "line": "3", "text": "t"}, 7]}}}');
    assert.equal(reviewOf(target, 'toString'), undefined);
    assert.deepEqual(commentsOf(reviewOf(target, 'a@example.org')), { comments: [{ path: 'b/x.c', line: 3, text: 't', content: '+x' }], malformed: 2 });
    const fresh: Json = {};
    const entry = ensureReview(fresh, 'z@example.org', 'Zoë');
    assert.deepEqual(fresh, { reviews: { 'z@example.org': { name: 'Zoë' } } });
    assert.equal(entry, reviewOf(fresh, 'z@example.org'));
  });
});

describe('tracking data b4 did not write (hand edits, other tools): read as far as it makes sense, never a crash', () => {
  it('non-object patches, reviews of the wrong type, comments without b4\'s shape, negative and huge lines', async () => {
    const series = await readSeries([join(__dirname, '../../../examples/sev-es-debug-rfc')]);
    const review: ReviewFile = { version: 1, series: { title: 'x' }, reviewer: { name: 'Z', email: 'z@example.org' }, annotations: [], trailers: [{ key: 'Reviewed-by' }], orphans: [] };
    const odd: Json[] = [
      { series: {}, patches: ['x', null, 5] },
      { series: { reviews: [] }, patches: [{ title: 7, 'header-info': 'no', reviews: { 'z@example.org': { comments: 'str', trailers: [1, 'Reviewed-by: Z <z@example.org>'] } } }] },
      { series: { reviews: { 'z@example.org': { comments: [{ path: ':message', line: -5, text: 'before the quote' }, { path: 'b/x.c', line: 1e12, text: 't', content: 5 }, 'nope'], reply: 3 } } }, patches: [{}, {}, {}] },
    ];
    for (const t of odd) {
      const i = importFromTracking(series, review, t, { email: 'z@example.org', date: new Date('2026-11-05T12:00:00Z') });
      assert.ok(i.comments + i.orphaned >= 0 && Array.isArray(i.warnings));
      const e = exportToTracking(series, review, t);
      assert.equal(e.error, undefined);
      assert.equal(e.trailers, 1, 'the series-wide trailer goes on the series entry whatever was there');
    }
    const third = importFromTracking(series, review, odd[2]!, { email: 'z@example.org' });
    assert.equal(third.comments, 1, 'the comment before the quote, on the cover letter\'s first line');
    assert.match(third.warnings.join('\n'), /1 of your comments in b4 are not \{path, line, text\}/);
  });
});
