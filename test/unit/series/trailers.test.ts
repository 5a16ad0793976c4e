import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTrailers } from '../../../extension/core/series/trailers';

test('trailers of the last paragraph, in order, with maintainer notes skipped', () => {
  const msg = [
    'Explain the change.',
    '',
    'Reported-by: Eve Example <eve@example.org>',
    'Fixes: 0123456789ab ("KVM: x86: Invented")',
    '[ maint: squashed a fixup ]',
    'Tested-by: Tom Example <tom@example.org>',
    'Acked-by: Ann Example <ann@example.org>',
    'Signed-off-by: A U Thor <author@example.org>',
  ].join('\n');
  assert.deepEqual(parseTrailers(msg), [
    { key: 'Reported-by', value: 'Eve Example <eve@example.org>' },
    { key: 'Fixes', value: '0123456789ab ("KVM: x86: Invented")' },
    { key: 'Tested-by', value: 'Tom Example <tom@example.org>' },
    { key: 'Acked-by', value: 'Ann Example <ann@example.org>' },
    { key: 'Signed-off-by', value: 'A U Thor <author@example.org>' },
  ]);
});

test('only the last paragraph counts', () => {
  const msg = 'Note: this is prose.\n\nMore prose here.\n';
  assert.deepEqual(parseTrailers(msg), []);
});

test('URLs are not keys; folded values are joined', () => {
  const msg = 'Body.\n\nLink: https://lore.example.org/r/abc\n  continued\nSigned-off-by: X <x@example.org>\n\n';
  assert.deepEqual(parseTrailers(msg), [
    { key: 'Link', value: 'https://lore.example.org/r/abc continued' },
    { key: 'Signed-off-by', value: 'X <x@example.org>' },
  ]);
  assert.deepEqual(parseTrailers('See https://example.org/x for details.'), []);
});

test('a mixed paragraph counts when it has a known trailer and enough trailer lines', () => {
  const msg = 'Body.\n\nThis line is prose.\nSigned-off-by: X <x@example.org>';
  assert.deepEqual(parseTrailers(msg), [{ key: 'Signed-off-by', value: 'X <x@example.org>' }]);
  const prose = 'Body.\n\nOne.\nTwo.\nThree.\nFour.\nCustom-tag: y';
  assert.deepEqual(parseTrailers(prose), []);
});

test('empty message', () => {
  assert.deepEqual(parseTrailers(''), []);
});
