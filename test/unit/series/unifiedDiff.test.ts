import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { findDiffStart, parseUnifiedDiff } from '../../../extension/core/series/unifiedDiff';
import { fixture, lineOf } from './fixtures';

/** Parse text whose lines are the file's own lines (line i+1 is lines[i]). */
function parse(text: string, file = 'inline.patch') {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const start = Math.max(0, findDiffStart(lines));
  return parseUnifiedDiff(lines, lines.map((_, i) => i + 1), { file, start });
}

function parseFixture(name: string) {
  return parse(readFileSync(fixture(name), 'utf8'), name);
}

test('new, deleted, renamed, copied-free rename with edits, binary, mode-only files', () => {
  const { diffs, problems } = parseFixture('files.patch');
  assert.deepEqual(problems, []);
  assert.deepEqual(
    diffs.map((d) => [d.status, d.oldPath, d.newPath, d.binary, d.hunks.length]),
    [
      ['added', null, 'arch/x86/kvm/lens_new.c', false, 1],
      ['deleted', 'arch/x86/kvm/lens_old.c', null, false, 1],
      ['renamed', 'arch/x86/kvm/lens_a.c', 'arch/x86/kvm/lens_b.c', false, 0],
      ['renamed', 'arch/x86/kvm/lens_c.c', 'arch/x86/kvm/svm/lens_c.c', false, 1],
      ['modified', 'Documentation/lens.png', 'Documentation/lens.png', true, 0],
      ['added', null, 'tools/testing/lens/blob.bin', true, 0],
      ['modified', 'scripts/lens.sh', 'scripts/lens.sh', false, 0],
      ['modified', 'arch/x86/kvm/lens_tail.c', 'arch/x86/kvm/lens_tail.c', false, 1],
    ],
  );
  assert.equal(diffs[0]!.headerPatchLine, lineOf('files.patch', 'diff --git a/arch/x86/kvm/lens_new.c b/arch/x86/kvm/lens_new.c'));
  const added = diffs[0]!.hunks[0]!;
  assert.deepEqual([added.oldStart, added.oldCount, added.newStart, added.newCount], [0, 0, 1, 2]);
  assert.deepEqual(added.lines.map((l) => [l.kind, l.newLine, l.oldLine]), [['added', 1, undefined], ['added', 2, undefined]]);
  assert.deepEqual(diffs[1]!.hunks[0]!.lines.map((l) => [l.kind, l.oldLine]), [['removed', 1], ['removed', 2]]);

  // "\ No newline at end of file" is not a hunk line.
  const renamed = diffs[3]!.hunks[0]!;
  assert.deepEqual(renamed.lines.map((l) => l.kind), ['removed', 'added', 'context']);
  assert.equal(renamed.section, 'int lens_c(void)');

  // "@@ -7 +7,2 @@": an omitted count is 1; the file after the binary blocks is still read.
  const tail = diffs[7]!.hunks[0]!;
  assert.deepEqual([tail.oldStart, tail.oldCount, tail.newStart, tail.newCount], [7, 1, 7, 2]);
  assert.deepEqual(tail.lines, [
    { kind: 'context', text: 'int lens_tail;', patchLine: lineOf('files.patch', ' int lens_tail;'), oldLine: 7, newLine: 7 },
    { kind: 'added', text: 'int lens_tail2;', patchLine: lineOf('files.patch', '+int lens_tail2;'), newLine: 8 },
  ]);
});

test('hunks that contradict their header: problem names file and line, parsing goes on', () => {
  const { diffs, problems } = parseFixture('bad-hunk.patch');
  assert.deepEqual(diffs.map((d) => d.newPath), ['arch/x86/kvm/short.c', 'arch/x86/kvm/long.c', 'arch/x86/kvm/garbage.c', 'arch/x86/kvm/good.c']);
  assert.equal(problems.length, 3);
  // Warnings: the file was read, only part of it is doubtful; the rest of the series goes on.
  assert.ok(problems.every((p) => p.file === 'bad-hunk.patch' && p.severity === 'warning'));

  // Too few lines: the next "@@" arrives early.
  assert.equal(problems[0]!.line, lineOf('bad-hunk.patch', '@@ -40,3 +41,3 @@ void short_fn2(void)'));
  assert.match(problems[0]!.message, /arch\/x86\/kvm\/short\.c/);
  assert.equal(problems[0]!.file.endsWith('bad-hunk.patch'), true, 'the location is in the fields; the message does not repeat it');
  assert.doesNotMatch(problems[0]!.message, /bad-hunk\.patch:/);
  const short = diffs[0]!;
  assert.equal(short.hunks.length, 2, 'the broken hunk is kept, the next one parsed');
  assert.deepEqual(short.hunks[0]!.lines.map((l) => l.text), ['\tint a;', '\tint added;', '\tint b;']);
  assert.deepEqual(short.hunks[1]!.lines.map((l) => [l.kind, l.oldLine, l.newLine]), [
    ['context', 40, 41], ['removed', 41, undefined], ['added', undefined, 42], ['context', 42, 43],
  ]);

  // Too many lines.
  assert.equal(problems[1]!.line, lineOf('bad-hunk.patch', ' \tint j;'));
  assert.match(problems[1]!.message, /long\.c has more lines than its header/);
  assert.equal(diffs[1]!.hunks[0]!.lines.length, 3);

  // A line that starts with another character before the counts are met.
  assert.equal(problems[2]!.line, lineOf('bad-hunk.patch', '*\tint m;'));
  assert.match(problems[2]!.message, /garbage\.c/);
  assert.equal(diffs[2]!.hunks[0]!.lines.length, 1);

  // The file after all that is intact.
  assert.deepEqual(diffs[3]!.hunks[0]!.lines.map((l) => [l.kind, l.patchLine]), [
    ['context', lineOf('bad-hunk.patch', ' \tint o;')],
    ['added', lineOf('bad-hunk.patch', '+\tint p;')],
    ['context', lineOf('bad-hunk.patch', ' \tint q;')],
  ]);
});

test('plain unified diff: -p1 paths, timestamps dropped, /dev/null', () => {
  const { diffs, problems } = parseFixture('plain.diff');
  assert.deepEqual(problems, []);
  assert.deepEqual(diffs.map((d) => [d.status, d.oldPath, d.newPath, d.headerPatchLine]), [
    ['modified', 'arch/x86/kvm/svm/sev.c', 'arch/x86/kvm/svm/sev.c', 1],
    ['added', null, 'arch/x86/kvm/svm/lens.h', 8],
  ]);
  assert.deepEqual(diffs[0]!.hunks[0]!.lines.map((l) => [l.kind, l.patchLine, l.oldLine, l.newLine]), [
    ['context', 4, 3, 3], ['added', 5, undefined, 4], ['context', 6, 4, 5], ['context', 7, 5, 6],
  ]);
});

test('cut mid-hunk: complete lines kept, problem at the last line', () => {
  const { diffs, problems } = parse('diff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -1,4 +1,5 @@\n a\n+b\n c\n');
  assert.equal(diffs[0]!.hunks[0]!.lines.length, 3);
  assert.equal(problems.length, 1);
  assert.equal(problems[0]!.line, 7);
  assert.match(problems[0]!.message, /x\.c is cut short.*2 old and 2 new lines missing/);
});

test('signature stops the diff, but a removed "- " line inside a hunk is a removed line', () => {
  const text = 'diff --git a/doc.txt b/doc.txt\n--- a/doc.txt\n+++ b/doc.txt\n@@ -1,3 +1,2 @@\n a\n-- \n b\n-- \n2.43.0\n';
  const { diffs, problems } = parse(text);
  assert.deepEqual(problems, []);
  assert.deepEqual(diffs[0]!.hunks[0]!.lines.map((l) => [l.kind, l.text]), [['context', 'a'], ['removed', '- '], ['context', 'b']]);
});

test('an empty line inside a hunk is a context line whose space was stripped', () => {
  const { diffs, problems } = parse('--- a/x.c\n+++ b/x.c\n@@ -1,3 +1,3 @@\n a\n\n-b\n+c\n');
  assert.deepEqual(problems, []);
  assert.deepEqual(diffs[0]!.hunks[0]!.lines.map((l) => [l.kind, l.text, l.oldLine, l.newLine]), [
    ['context', 'a', 1, 1], ['context', '', 2, 2], ['removed', 'b', 3, undefined], ['added', 'c', undefined, 3],
  ]);
});

test('paths with spaces and quoted paths', () => {
  const spaced = parse('diff --git a/dir/my file.c b/dir/my file.c\nindex 1..2 100644\n--- a/dir/my file.c\n+++ b/dir/my file.c\n@@ -1 +1 @@\n-a\n+b\n');
  assert.equal(spaced.diffs[0]!.oldPath, 'dir/my file.c');
  const quoted = parse('diff --git "a/t\\303\\251st.c" "b/t\\303\\251st.c"\nnew file mode 100644\n--- /dev/null\n+++ "b/t\\303\\251st.c"\n@@ -0,0 +1 @@\n+x\n');
  assert.equal(quoted.diffs[0]!.newPath, 'tést.c');
  assert.equal(quoted.diffs[0]!.status, 'added');
});

test('a malformed hunk header is reported, not thrown', () => {
  const { diffs, problems } = parse('diff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -1,x +1 @@\n-a\n+b\ndiff --git a/y.c b/y.c\n--- a/y.c\n+++ b/y.c\n@@ -1 +1 @@\n-a\n+b\n');
  assert.equal(problems.length, 1);
  assert.equal(problems[0]!.line, 4);
  assert.match(problems[0]!.message, /malformed hunk header in x\.c/);
  assert.equal(diffs[1]!.hunks[0]!.lines.length, 2);
});

test('findDiffStart skips prose and diffstat', () => {
  const lines = ['text', '---', ' x.c | 2 +-', '', 'diff --git a/x.c b/x.c'];
  assert.equal(findDiffStart(lines), 4);
  assert.equal(findDiffStart(['--- not a diff', 'just prose']), -1);
  assert.equal(findDiffStart(['--- a/x', '+++ b/x', '@@ -1 +1 @@']), 0);
});
