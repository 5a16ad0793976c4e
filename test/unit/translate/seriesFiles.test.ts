// Which files the editor reads as one series, by name, and the base in a few words for the
// series view: plain data, no VS Code.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { companionNames, firstToOpen, mayHaveCompanions, seriesInDirectory } from '../../../extension/translate/seriesFiles';
import { baseLabel } from '../../../extension/translate/treeSeriesAnalysis';

const B4 = 'v2_20260101_reviewer_kvm_svm_let_dr7_writes_through';

describe('series files by name', () => {
  it('a numbered format-patch file goes with the other numbered ones, in order; nothing else does', () => {
    const dir = ['0002-b.patch', 'notes.txt', '0000-cover-letter.patch', '0001-a.patch', 'old.mbox', '0003-c.diff'];
    assert.deepEqual(companionNames('0001-a.patch', dir), ['0000-cover-letter.patch', '0002-b.patch']);
    assert.deepEqual(companionNames('old.mbox', dir), []);
    assert.equal(mayHaveCompanions('old.mbox'), false);
    assert.equal(mayHaveCompanions('0001-a.patch'), true);
  });

  it('b4\'s .mbx and .cover are each other\'s other half, when both are there', () => {
    const dir = [`${B4}.mbx`, `${B4}.cover`, 'other.mbx'];
    assert.deepEqual(companionNames(`${B4}.cover`, dir), [`${B4}.mbx`]);
    assert.deepEqual(companionNames(`${B4}.mbx`, dir), [`${B4}.cover`]);
    assert.deepEqual(companionNames('other.mbx', dir), []);
    assert.equal(mayHaveCompanions('.cover'), false, 'a name that is only an extension');
  });

  it('a directory: its series files sorted, and the first that is not a cover letter to open', () => {
    assert.deepEqual(seriesInDirectory(['0002-b.patch', 'README', '0000-cover-letter.patch', '0001-a.patch', 'sub']), {
      files: ['0000-cover-letter.patch', '0001-a.patch', '0002-b.patch'], open: '0001-a.patch',
    });
    assert.deepEqual(seriesInDirectory([`${B4}.cover`, `${B4}.mbx`]), { files: [`${B4}.cover`, `${B4}.mbx`], open: `${B4}.mbx` });
    assert.deepEqual(seriesInDirectory(['README', 'x.c']), { files: [] });
    assert.equal(firstToOpen(['/s/0000-cover-letter.patch']), '/s/0000-cover-letter.patch', 'only a cover letter: that one');
  });
});

describe('the base in a few words', () => {
  it('names the source, the commit, and says when it is not exact', () => {
    assert.equal(baseLabel({ source: 'base-commit', exact: true, commit: '1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d', line: '' }), 'base-commit 1a2b3c4d5e6f');
    assert.equal(baseLabel({ source: 'blobs', exact: false, line: '' }), 'pre-image blobs, not exact');
    assert.equal(baseLabel({ source: 'working-tree', exact: true, line: '' }), 'working tree');
    assert.equal(baseLabel({ source: 'model', exact: false, line: '' }), 'built-in model');
    assert.equal(baseLabel(undefined), undefined);
  });
});
