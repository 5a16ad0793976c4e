import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSubjectTags } from '../../../extension/core/series/subjectTags';

test('RFC, version and zero-padded n/m', () => {
  const r = parseSubjectTags('[RFC PATCH v2 08/35] KVM: SVM: Add the lens');
  assert.deepEqual(r.tags, { version: 2, index: 8, total: 35, rfc: true, raw: 'RFC PATCH v2 08/35' });
  assert.equal(r.title, 'KVM: SVM: Add the lens');
  assert.equal(r.isReply, false);
});

test('cover letter index 0', () => {
  const r = parseSubjectTags('[PATCH 0/3] KVM: SEV-ES: Lens series');
  assert.equal(r.tags.index, 0);
  assert.equal(r.tags.total, 3);
  assert.equal(r.tags.version, 1);
  assert.equal(r.tags.rfc, false);
});

test('subsystem tree name before the version', () => {
  const r = parseSubjectTags('[PATCH net-next v3 2/7] net: lens: Do a thing');
  assert.equal(r.tags.version, 3);
  assert.equal(r.tags.index, 2);
  assert.equal(r.tags.total, 7);
  assert.equal(r.tags.raw, 'PATCH net-next v3 2/7');
  assert.equal(r.title, 'net: lens: Do a thing');
});

test('multiple bracket groups are joined and all read', () => {
  const r = parseSubjectTags('[RFC] [PATCH v4 1/2] KVM: x86: Two groups');
  assert.equal(r.tags.rfc, true);
  assert.equal(r.tags.version, 4);
  assert.equal(r.tags.index, 1);
  assert.equal(r.tags.raw, 'RFC PATCH v4 1/2');
  assert.equal(r.title, 'KVM: x86: Two groups');
});

test('Re: prefixes are stripped and flagged', () => {
  const r = parseSubjectTags('Re: RE: [PATCH v2 3/5] KVM: SVM: Reply');
  assert.equal(r.isReply, true);
  assert.equal(r.tags.index, 3);
  assert.equal(r.title, 'KVM: SVM: Reply');
});

test('glued and upper-case version spellings', () => {
  assert.equal(parseSubjectTags('[PATCHv5 1/2] a').tags.version, 5);
  assert.equal(parseSubjectTags('[PATCH V6] a').tags.version, 6);
  const rfc = parseSubjectTags('[RFCv2 PATCH 1/1] a').tags;
  assert.equal(rfc.version, 2);
  assert.equal(rfc.rfc, true);
  assert.equal(parseSubjectTags('[PATCH 2/4 v3] late version').tags.version, 3);
});

test('no brackets, no n/m', () => {
  const r = parseSubjectTags('KVM: SVM: plain subject');
  assert.deepEqual(r.tags, { version: 1, rfc: false, raw: '' });
  assert.equal(r.tags.index, undefined);
  assert.equal(r.title, 'KVM: SVM: plain subject');
});

test('a bracket inside the title is left alone', () => {
  const r = parseSubjectTags('[PATCH] KVM: Fix array[0] access');
  assert.equal(r.title, 'KVM: Fix array[0] access');
  assert.equal(r.tags.raw, 'PATCH');
});
