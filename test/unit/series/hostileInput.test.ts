// The series reader under hostile input: things that are not files, files that are not text,
// mails cut anywhere in their diff, headers that decode to line breaks, absurd numbers, and
// inputs built to make a parser run away. Every input is generated here, in a temporary
// directory. Whatever could hang or exhaust memory runs in a child process with a heap cap and
// a kill timer, so a regression fails the test instead of hanging the runner.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseMailMessage } from '../../../extension/core/series/mailMessage';
import { assembleSeries, parseSeriesBytes, parseSeriesText, readSeries } from '../../../extension/core/series/seriesReader';
import type { InputProblem, Patch } from '../../../extension/core/series/types';

const READER = path.join(__dirname, '../../../extension/core/series/seriesReader.ts');

async function withTmp<T>(fn: (dir: string) => Promise<T> | T): Promise<T> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kvm-lens-hostile-'));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function problemsFor(s: { problems: InputProblem[] }, file: string): InputProblem[] {
  return s.problems.filter((p) => p.file === file);
}

function hunkCount(patches: readonly Patch[]): number {
  return patches.reduce((n, p) => n + p.diffs.reduce((m, d) => m + d.hunks.length, 0), 0);
}

/** A well-formed git format-patch mail with one hunk in each of the given files. */
function mail(n: number, total: number, files: string[] = ['arch/x86/kvm/svm/sev.c'], subject = 'KVM: SVM: lens change'): string {
  const diffs = files
    .map((f) => `diff --git a/${f} b/${f}\nindex 1111111..2222222 100644\n--- a/${f}\n+++ b/${f}\n@@ -10,3 +10,4 @@ int lens(void)\n \tint a;\n+\tint b;\n \tint c;\n \treturn a;\n`)
    .join('');
  return (
    `From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001\nFrom: Ada <ada@example.org>\n` +
    `Date: Tue, 4 Mar 2025 10:11:12 +0100\nSubject: [PATCH ${n}/${total}] ${subject}\n\nWhy.\n\nSigned-off-by: Ada <ada@example.org>\n---\n` +
    `${files.map((f) => ` ${f} | 1 +\n`).join('')} ${files.length} file${files.length === 1 ? '' : 's'} changed, ${files.length} insertion${files.length === 1 ? '' : 's'}(+)\n\n${diffs}-- \n2.43.0\n\n`
  );
}

// ---------------------------------------------------------------- things that are not regular files

test('a FIFO, /dev/zero, /dev/null and a socket are refused in one line, without blocking', { timeout: 20_000 }, async () => {
  await withTmp(async (dir) => {
    const fifo = path.join(dir, 'series.mbox');
    execFileSync('mkfifo', [fifo]); // no writer: opening it for reading in blocking mode never returns
    const sock = path.join(dir, 'lens.sock');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    try {
      const s = await readSeries([fifo, '/dev/zero', '/dev/null', sock]);
      const expect: [string, RegExp][] = [[fifo, /FIFO/], ['/dev/zero', /character device/], ['/dev/null', /character device/], [sock, /socket/]];
      for (const [file, kind] of expect) {
        const [p, ...more] = problemsFor(s, file);
        assert.ok(p, `${file} is named`);
        assert.deepEqual(more, [], 'one problem per input');
        assert.equal(p.severity, 'error');
        assert.match(p.message, kind);
        assert.match(p.message, /not a regular file/);
        assert.doesNotMatch(p.message, /\n/);
      }
      assert.equal(s.patches.length, 0);
    } finally {
      server.close();
    }
  });
});

test('a file over the size limit is refused before it is read; a symlink to a good patch is read', async () => {
  await withTmp(async (dir) => {
    const big = path.join(dir, 'big.patch');
    writeFileSync(big, mail(1, 2) + 'x'.repeat(4096));
    const good = path.join(dir, 'good.patch');
    writeFileSync(good, mail(2, 2));
    const link = path.join(dir, 'link.patch');
    symlinkSync(good, link);
    const s = await readSeries([big, link], { maxInputBytes: 2048 });
    const [p] = problemsFor(s, big);
    assert.equal(p?.severity, 'error');
    assert.match(p!.message, /^cannot read this file: \d+ kB, larger than the 2 kB limit$/);
    assert.deepEqual(s.patches.map((x) => [x.file, x.tags.index]), [[link, 2]]);
    assert.equal(hunkCount(s.patches), 1);
    // The default limit lets the same file through.
    assert.equal((await readSeries([big])).patches.length, 1);
  });
});

test('a series directory: every entry that cannot be read is an error naming the entry; the rest is read', { timeout: 20_000 }, async () => {
  await withTmp(async (dir) => {
    writeFileSync(path.join(dir, '0001-good.patch'), mail(1, 2));
    writeFileSync(path.join(dir, '0002-good.patch'), mail(2, 2));
    execFileSync('mkfifo', [path.join(dir, '0003-fifo.patch')]);
    symlinkSync(path.join(dir, 'nowhere'), path.join(dir, '0004-dangling.patch'));
    symlinkSync(path.join(dir, '0005-loop.patch'), path.join(dir, '0005-loop.patch'));
    symlinkSync('/dev/zero', path.join(dir, '0006-zero.mbox'));
    mkdirSync(path.join(dir, '0007-subdir.patch')); // a directory named like a patch is not one
    writeFileSync(path.join(dir, 'notes.txt'), 'not a series file');
    const s = await readSeries([dir]);
    assert.equal(s.patches.length, 2);
    assert.equal(hunkCount(s.patches), 2);
    const errors = s.problems.filter((p) => p.severity === 'error');
    assert.deepEqual(errors.map((p) => path.basename(p.file)).sort(), ['0003-fifo.patch', '0004-dangling.patch', '0005-loop.patch', '0006-zero.mbox']);
    for (const e of errors) assert.match(e.message, /^cannot read this file: [^\n]+$/);
    assert.match(errors.find((e) => e.file.endsWith('0005-loop.patch'))!.message, /symbolic links/);
    assert.ok(!s.problems.some((p) => p.file.endsWith('0007-subdir.patch')));
  });
});

// ---------------------------------------------------------------- files that are not text

test('empty, blank, NUL-only, binary and UTF-16 files: a warning saying what the file is, and no patch', async () => {
  await withTmp(async (dir) => {
    const utf16 = mail(1, 1);
    const noise = Buffer.alloc(4096);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 73 + 41) & 0xff;
    const cases: [string, Buffer, RegExp][] = [
      ['empty.patch', Buffer.alloc(0), /^the file is empty$/],
      ['blank.patch', Buffer.from(' \n\t\r\n\n   \n'), /only white space, not a patch/],
      ['nul.patch', Buffer.alloc(1000), /only NUL bytes \(1000\), not a patch/],
      ['noise.patch', noise, /^binary data, not a patch$/],
      ['elf.patch', Buffer.concat([Buffer.from('\x7fELF\x02\x01\x01', 'latin1'), Buffer.alloc(64, 0), Buffer.from(mail(1, 1))]), /^binary data/],
      ['bom-le.patch', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(utf16, 'utf16le')]), /UTF-16 text.*convert it to UTF-8/],
      ['no-bom-le.patch', Buffer.from(utf16, 'utf16le'), /UTF-16 text.*convert it to UTF-8/],
      ['no-bom-be.patch', Buffer.from(utf16, 'utf16le').swap16(), /UTF-16 text.*convert it to UTF-8/],
    ];
    const files = cases.map(([name, bytes]) => {
      writeFileSync(path.join(dir, name), bytes);
      return path.join(dir, name);
    });
    const good = path.join(dir, 'good.patch');
    writeFileSync(good, mail(1, 1));
    const s = await readSeries([...files, good]);
    cases.forEach(([name, , expected], k) => {
      const ps = problemsFor(s, files[k]!);
      assert.equal(ps.length, 1, `${name}: ${JSON.stringify(ps)}`);
      assert.equal(ps[0]!.severity, 'warning', name);
      assert.match(ps[0]!.message, expected, name);
    });
    assert.deepEqual(s.patches.map((p) => p.file), [good], 'only the real patch is a patch');
  });
  // Bytes from standard input are judged the same way as a file's.
  assert.deepEqual(parseSeriesBytes('<stdin>', Buffer.from(mail(1, 1), 'utf16le')).problems.map((p) => [p.file, p.severity]), [['<stdin>', 'warning']]);
  const latin1 = parseSeriesBytes('<stdin>', Buffer.from(mail(1, 1, ['caf\xe9.c']), 'latin1'));
  assert.deepEqual(latin1.problems.map((p) => p.message), ['invalid UTF-8; this message was read as Latin-1']);
  assert.equal(latin1.patches[0]!.diffs[0]!.newPath, 'café.c');
  // An editor buffer of blank lines says the same.
  assert.deepEqual(parseSeriesText('blank.patch', '\n  \n').problems.map((p) => p.message), ['the file holds only white space, not a patch']);
});

// ---------------------------------------------------------------- truncation and hunk-less diffs

/** Every way a mail can be cut inside its diff must leave a trace in the problems. */
test('a mail cut at any line or inside any header line of its diff is never silently accepted', () => {
  const full = mail(1, 1, ['arch/x86/kvm/svm/sev.c', 'arch/x86/kvm/x86.c']);
  const lines = full.split('\n');
  const firstDiff = lines.findIndex((l) => l.startsWith('diff --git '));
  const lastHunkLine = lines.lastIndexOf(' \treturn a;');
  const complete = parseSeriesText('full.patch', full);
  assert.deepEqual(complete.problems, []);
  assert.equal(hunkCount(complete.patches), 2);

  const cuts: string[] = [];
  for (let k = firstDiff; k <= lastHunkLine; k++) {
    cuts.push(lines.slice(0, k).join('\n') + '\n'); // cut after a whole line
    const l = lines[k]!;
    if (/^(diff --git|index|---|\+\+\+|@@)/.test(l)) {
      for (const at of [1, Math.floor(l.length / 2), l.length - 1]) cuts.push(lines.slice(0, k).join('\n') + '\n' + l.slice(0, at) + '\n');
    }
  }
  let silent = 0;
  for (const text of cuts) {
    const r = parseSeriesText('cut.patch', text);
    const lost = hunkCount(r.patches) < 2 || r.patches.some((p) => p.diffs.some((d) => d.hunks.some((h) => h.lines.length < 4)));
    if (!lost) continue;
    const warned = r.problems.filter((p) => p.file === 'cut.patch' && p.line !== undefined && p.line >= 1);
    if (warned.length === 0) {
      silent++;
      assert.fail(`cut after ${text.split('\n').length - 1} lines ("${text.split('\n').slice(-2)[0]}") lost a diff without a warning`);
    }
  }
  assert.equal(silent, 0);
  assert.ok(cuts.length > 25, `${cuts.length} cuts tried`);
});

test('truncated diff headers: the warning names the file diff and the line', () => {
  const head = 'From: Ada <ada@example.org>\nSubject: [PATCH] lens\n\nWhy.\n---\n';
  const at = (text: string) => parseSeriesText('t.patch', head + text).problems.map((p) => [p.line, p.severity, p.message]);
  assert.deepEqual(at('diff --git a/x.c b/x.c\n'), [[6, 'warning', 'diff of x.c has no hunk: the patch looks truncated']]);
  assert.deepEqual(at('diff --git a/x.c b/x.c\nindex 1111111..2222222 100644\n'), [[6, 'warning', 'diff of x.c has no hunk: the patch looks truncated']]);
  assert.deepEqual(at('diff --git a/x.c b/x.c\nindex 1111111..2222222 100644\n--- a/x.c\n'), [[8, 'warning', 'diff of x.c: "---" line without the "+++" line after it: the patch looks truncated']]);
  assert.deepEqual(at('diff --git a/x.c b/x.c\nindex 1111111..2222222 100644\n--- a/x.c\n+++ b/x.c\n'), [[6, 'warning', 'diff of x.c has no hunk: the patch looks truncated']]);
  assert.deepEqual(at('diff --git a/x.c b/x.c\n+++ b/x.c\n@@ -1 +1 @@\n-a\n+b\n'), [[7, 'warning', 'diff of x.c: "+++" line without a "---" line before it']]);
  const [cutHeader] = at('diff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -1,3 +1\n');
  assert.deepEqual(cutHeader!.slice(0, 2), [9, 'warning']);
  assert.match(cutHeader![2] as string, /malformed hunk header in x\.c: "@@ -1,3 \+1" \(cut short/);
  const [runsPast] = at('diff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -1,300 +1,300 @@\n a\n b\n');
  assert.equal(runsPast![0], 11, 'the last line of the message');
  assert.match(runsPast![2] as string, /x\.c is cut short at the end of the input: 298 old and 298 new lines missing/);
  // A plain diff (no "diff --git") cut after its file header.
  assert.deepEqual(parseSeriesText('p.diff', '--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@\n-a\n+b\n--- a/y.c\n+++ b/y.c\n').problems.map((p) => [p.line, p.message]), [[6, 'diff of y.c has no hunk: the patch looks truncated']]);
});

test('what git writes without hunks is accepted: pure rename, copy, mode change, empty file added or deleted, binary', () => {
  const head = 'From: Ada <ada@example.org>\nSubject: [PATCH] lens\n\nWhy.\n---\n';
  const body =
    'diff --git a/empty.c b/empty.c\nnew file mode 100644\nindex 0000000..e69de29\n' +
    'diff --git a/gone.c b/gone.c\ndeleted file mode 100644\nindex e69de29..0000000\n' +
    'diff --git a/m.sh b/m.sh\nold mode 100644\nnew mode 100755\n' +
    'diff --git a/x.c b/y.c\nsimilarity index 100%\nrename from x.c\nrename to y.c\n' +
    'diff --git a/p.c b/q.c\nsimilarity index 100%\ncopy from p.c\ncopy to q.c\n' +
    'diff --git a/b.bin b/b.bin\nindex 1111111..2222222 100644\nBinary files a/b.bin and b/b.bin differ\n' +
    'diff --git a/sha256.c b/sha256.c\nnew file mode 100644\nindex 0000000..473a0f4\n' +
    'diff --git a/z.c b/z.c\nindex 1111111..2222222 100644\n--- a/z.c\n+++ b/z.c\n@@ -1 +1 @@\n-a\n+b\n';
  const r = parseSeriesText('ok.patch', head + body);
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.patches[0]!.diffs.map((d) => d.status), ['added', 'deleted', 'modified', 'renamed', 'copied', 'modified', 'added', 'modified']);
  // The same headers cut one line early are not what git writes.
  const cut = parseSeriesText('cut.patch', head + 'diff --git a/x.c b/y.c\nsimilarity index 100%\nrename from x.c\n');
  assert.deepEqual(cut.problems.map((p) => p.message), ['diff of y.c has no hunk: the patch looks truncated']);
  const newFile = parseSeriesText('new.patch', head + 'diff --git a/n.c b/n.c\nnew file mode 100644\nindex 0000000..3333333\n');
  assert.deepEqual(newFile.problems.map((p) => p.message), ['diff of n.c has no hunk: the patch looks truncated']);
});

// ---------------------------------------------------------------- absurd numbers

test('an absurd series total is described as ranges, at once', () => {
  const s = assembleSeries(parseSeriesText('a.mbox', mail(1, 999999999)).patches, []);
  assert.deepEqual(s.problems.map((p) => p.message), ['series is incomplete: missing 2-999999999 of 999999999 (have 1)']);

  // Scattered patches: a few ranges, then "and N more".
  const odd: string[] = [];
  for (let n = 1; n <= 399; n += 2) odd.push(mail(n, 10000000));
  const t0 = performance.now();
  const many = assembleSeries(parseSeriesText('odd.mbox', odd.join('')).patches, []);
  assert.ok(performance.now() - t0 < 5000);
  const [gap] = many.problems;
  assert.equal(gap!.message, 'series is incomplete: missing 2, 4, 6, 8, 10, 12 and 9999794 more of 10000000 (have 1, 3, 5, 7, 9, 11 and 194 more)');

  // More digits than any series has: not taken for a number at all.
  const huge = parseSeriesText('h.patch', mail(1, 1).replace('[PATCH 1/1]', '[PATCH 1/99999999999999999999]'));
  assert.equal(huge.patches[0]!.tags.total, undefined);
});

test('many doubled numbers, beyond-total patches and cover letters make a few short messages', () => {
  const text: string[] = [];
  for (let k = 0; k < 300; k++) text.push(mail(k % 100 + 1, 50), mail(0, 50));
  const s = assembleSeries(parseSeriesText('d.mbox', text.join('')).patches, []);
  assert.ok(s.problems.length <= 20, `${s.problems.length} problems`);
  assert.ok(s.problems.every((p) => p.message.length < 300 && !p.message.includes('\n')), JSON.stringify(s.problems.map((p) => p.message.length)));
  assert.ok(s.problems.some((p) => /^150 patches \(51-100\) are numbered beyond the series length 50$/.test(p.message)));
  assert.ok(s.problems.some((p) => /^\d+ more numbers are shared by several patches/.test(p.message)));
  assert.ok(s.problems.some((p) => /^293 more cover letters ignored/.test(p.message)));
});

// ---------------------------------------------------------------- hostile headers

test('encoded CR LF and control characters in headers never reach a Patch field as a line break', () => {
  const b64 = (t: string) => `=?utf-8?b?${Buffer.from(t).toString('base64')}?=`;
  const text =
    `From: ${b64('Eve\r\nBcc: victim@example.org\r\n')} <eve@example.org>\n` +
    `To: ${b64('List\r\nX-Evil: 1')} <list@example.org>, =?utf-8?q?A=0D=0AB?= <a@example.org>\n` +
    `Cc: ${b64('\x1b[31mred\x1b[0m')} <c@example.org>\n` +
    `Subject: [PATCH 1/1] ${b64('lens\r\nBcc: x@example.org')} =?utf-8?q?=E2=80=A8sep?=\n` +
    `Date: Tue, 4 Mar 2025\r10:11:12\n` +
    `Message-Id: <id\x1b@example.org>\nIn-Reply-To: <a\rb@example.org>\nReferences: <r1@x> <r\x002@x>\n\n` +
    `From: ${'Real\r Author'} <ra@example.org>\n\nWhy.\n\nSigned-off-by: Ada\r Bcc: x <ada@example.org>\nCc: ${'Bob\x1b]0;t\x07'} <b@example.org>\n---\n` +
    'diff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@\n-a\n+b\n';
  const r = parseSeriesText('evil.eml', text);
  const p = r.patches[0]!;
  const oneLineFields = [p.from, p.date, p.subject, p.title, p.messageId, p.inReplyTo, ...p.references, ...(p.to ?? []), ...(p.cc ?? []), ...p.trailers.flatMap((t) => [t.key, t.value])];
  for (const v of oneLineFields) {
    assert.ok(v !== undefined);
    assert.doesNotMatch(v, /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/, JSON.stringify(v));
  }
  assert.equal(p.from, 'Real Author <ra@example.org>', 'the in-body From, without its CR');
  assert.equal(p.date, 'Tue, 4 Mar 2025 10:11:12');
  assert.deepEqual([p.messageId, p.references], ['id@example.org', ['r1@x', 'r2@x']]);
  assert.equal(p.subject, '[PATCH 1/1] lens Bcc: x@example.org sep');
  assert.deepEqual(p.to, ['List X-Evil: 1 <list@example.org>', 'A B <a@example.org>']);
  assert.deepEqual(p.cc, ['[31mred [0m <c@example.org>']);
  assert.deepEqual(p.trailers, [{ key: 'Signed-off-by', value: 'Ada Bcc: x <ada@example.org>' }, { key: 'Cc', value: 'Bob ]0;t <b@example.org>' }]);
  assert.equal(p.tags.index, 1);
  // The sender's header line itself, read alone, gives the same one-line value.
  const m = parseMailMessage(text.split('\n'), 0, 6, { file: 'evil.eml' });
  assert.equal(m.headers.from, 'Eve Bcc: victim@example.org <eve@example.org>');
  assert.equal(hunkCount(r.patches), 1);
});

test('invalid charsets, bad base64 or escapes, and lying transfer encodings: warnings, and the patch still read', () => {
  const diff = 'diff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -1,2 +1,2 @@\n-\tint a = 1;\n+\tint a = 2;\n \tif (a == b) return;\n';
  const msgWith = (headers: string, body: string) => `From: Ada <ada@example.org>\n${headers}\n\nWhy.\n---\n${body}`;
  const cases: [string, string, RegExp, number][] = [
    ['unknown charset', msgWith('Subject: =?x-no-such-charset?q?caf=E9?=', diff), /^Subject: encoded word has an unknown charset "x-no-such-charset"; read as Latin-1$/, 2],
    ['invalid utf-8', msgWith('Subject: =?utf-8?q?caf=E9?=', diff), /^Subject: encoded word is not valid utf-8; read as Latin-1$/, 2],
    ['bad base64 word', msgWith('Subject: [PATCH] =?utf-8?b?!!!notbase64?=', diff), /^Subject: invalid base64 in an encoded word/, 2],
    ['bad q escape', msgWith('Cc: =?utf-8?q?A=ZZ?= <a@x>\nSubject: [PATCH] q', diff), /^Cc: invalid "=" escape in an encoded word/, 2],
    ['unknown CTE', msgWith('Subject: [PATCH] t\nContent-Transfer-Encoding: x-rot13', diff), /^unknown Content-Transfer-Encoding "x-rot13"; body read as it is$/, 5],
    ['base64 that is not', msgWith('Subject: [PATCH] t\nContent-Transfer-Encoding: base64', diff), /^Content-Transfer-Encoding says base64, but the body is not base64; read as plain text$/, 5],
    ['QP that is not', msgWith('Subject: [PATCH] t\nContent-Transfer-Encoding: quoted-printable', diff), /^Content-Transfer-Encoding says quoted-printable, but "= 1" is no quoted-printable escape/, 11],
    [
      'unknown body charset',
      `From: Ada <ada@example.org>\nSubject: [PATCH] t\nContent-Type: text/plain; charset=x-nope\nContent-Transfer-Encoding: base64\n\n${Buffer.from(`Why.\n---\n${diff}`).toString('base64').replace(/.{76}/g, '$&\n')}\n`,
      /^base64 text has an unknown charset "x-nope"; decoded as Latin-1$/,
      6,
    ],
  ];
  for (const [name, text, expected, line] of cases) {
    const r = parseSeriesText('m.eml', text);
    assert.equal(r.problems.length, 1, `${name}: ${JSON.stringify(r.problems)}`);
    assert.equal(r.problems[0]!.severity, 'warning', name);
    assert.match(r.problems[0]!.message, expected, name);
    assert.equal(r.problems[0]!.line, line, name);
    assert.equal(hunkCount(r.patches), 1, `${name}: the patch is still read`);
    assert.equal(r.patches[0]!.diffs[0]!.hunks[0]!.lines[2]!.text, '\tif (a == b) return;', name);
  }
});

// ---------------------------------------------------------------- bounded work, in a child

interface ChildResult {
  killed: boolean;
  code: number | null;
  stderr: string;
  cases: { name: string; ms: number; patches: number; hunks: number; problems: number; longest: number }[];
  maxRssMb: number;
}

/**
 * Read each file with readSeries in a fresh Node with a capped heap, killed after killMs: a
 * parser gone quadratic or unbounded fails the test instead of hanging it.
 */
function readInChild(files: Record<string, string>, heapMb: number, killMs: number): Promise<ChildResult> {
  const script = `
    const { readSeries } = require(process.env.LENS_READER);
    (async () => {
      for (const [name, file] of Object.entries(JSON.parse(process.env.LENS_FILES))) {
        const t0 = performance.now();
        const s = await readSeries([file]);
        const ms = performance.now() - t0;
        const hunks = s.patches.reduce((n, p) => n + p.diffs.reduce((m, d) => m + d.hunks.length, 0), 0);
        let longest = 0;
        for (const p of s.problems) longest = Math.max(longest, p.message.length);
        process.stdout.write(JSON.stringify({ name, ms, patches: s.patches.length, hunks, problems: s.problems.length, longest }) + '\\n');
      }
      process.stdout.write(JSON.stringify({ maxRssMb: process.resourceUsage().maxRSS / 1024 }) + '\\n');
    })();`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${heapMb}`, '--import', 'tsx', '-e', script], {
      env: { ...process.env, LENS_READER: READER, LENS_FILES: JSON.stringify(files) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let stderr = '';
    let killed = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => { if (stderr.length < 20_000) stderr += d; });
    const timer = setTimeout(() => { killed = true; child.kill('SIGKILL'); }, killMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const rows = out.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
      resolve({ killed, code, stderr, cases: rows.filter((r) => 'name' in r), maxRssMb: rows.find((r) => 'maxRssMb' in r)?.maxRssMb ?? NaN });
    });
  });
}

/** Generous on a shared 2-core machine; a quadratic path takes minutes, not seconds. */
const PER_CASE_MS = 10_000;

function assertBounded(t: { diagnostic: (m: string) => void }, r: ChildResult, expected: string[]): ChildResult['cases'] {
  for (const c of r.cases) t.diagnostic(`${c.name}: ${c.ms.toFixed(0)} ms, ${c.patches} patches, ${c.hunks} hunks, ${c.problems} problems, longest message ${c.longest}`);
  t.diagnostic(`peak RSS ${r.maxRssMb.toFixed(0)} MB`);
  assert.equal(r.killed, false, `killed; finished: ${r.cases.map((c) => c.name).join(', ')}`);
  assert.equal(r.code, 0, r.stderr.slice(0, 2000));
  assert.deepEqual(r.cases.map((c) => c.name), expected);
  for (const c of r.cases) {
    assert.ok(c.ms < PER_CASE_MS, `${c.name} took ${c.ms.toFixed(0)} ms`);
    assert.ok(c.longest < 400, `${c.name}: a message of ${c.longest} characters`);
  }
  return r.cases;
}

const MBOX_FROM = 'From mboxrd@z Thu Jan  1 00:00:00 1970\n';
const SMALL_DIFF = '---\n--- a/f.c\n+++ b/f.c\n@@ -1 +1 @@\n-a\n+b\n';

test('pathological headers, bodies and numbers are read in bounded time (child, 256 MB heap)', { timeout: 120_000 }, async (t) => {
  await withTmp(async (dir) => {
    const head = 'From: A <a@example.org>\nSubject: [PATCH] t\n';
    const gen: Record<string, string> = {
      total999999999: mail(1, 999999999),
      subjectBlanks: `From: A <a@x>\nSubject: Re${' '.repeat(1_000_000)}x\n\nm\n${SMALL_DIFF}`,
      replyPrefixes: `From: A <a@x>\nSubject: ${'Re: '.repeat(250_000)}[PATCH] t\n\nm\n${SMALL_DIFF}`,
      bracketGroups: `From: A <a@x>\nSubject: ${'[a]'.repeat(300_000)} t\n\nm\n${SMALL_DIFF}`,
      headers1e5: `From: A <a@x>\n${Array.from({ length: 100_000 }, (_, k) => `X-H${k}: v`).join('\n')}\nSubject: [PATCH] t\n\nm\n${SMALL_DIFF}`,
      folded1e5: `${head}X-Fold: a\n${' f\n'.repeat(100_000)}To: ${Array.from({ length: 100_000 }, (_, k) => ` u${k} <u${k}@x>,`).join('\n')}\nReferences:${' <r@x>\n'.repeat(100_000)}\nm\n${SMALL_DIFF}`,
      encodedWords1e5: `From: A <a@x>\nSubject: ${'=?utf-8?q?a=C3=A9?= '.repeat(100_000)}\n\nm\n${SMALL_DIFF}`,
      qpSoftBreaks1e5: `${head}Content-Transfer-Encoding: quoted-printable\n\nm\n${SMALL_DIFF.replace('+b', `+b${'=3D=\n'.repeat(100_000)}`)}`,
      qpBlanks: `${head}Content-Transfer-Encoding: quoted-printable\n\nx${' '.repeat(1_000_000)}y\n${SMALL_DIFF}`,
      multipart1e5: `${head}Content-Type: multipart/mixed; boundary=b\n\n${'--b\nContent-Type: text/plain\n\nhi\n'.repeat(100_000)}--b\nContent-Type: text/x-diff\n\n${SMALL_DIFF}--b--\n`,
      trailerFolded1e5: `${head}\nm\n\nSigned-off-by: x\n${' c\n'.repeat(100_000)}${SMALL_DIFF}`,
      hunklessFiles1e5: `${head}\nm\n---\n${'diff --git a/f.c b/f.c\nindex 1..2 100644\n'.repeat(100_000)}`,
      gitLineSpaces: `${head}\nm\n---\ndiff --git ${'a '.repeat(500_000)}\n--- a/f.c\n+++ b/f.c\n@@ -1 +1 @@\n-a\n+b\n`,
      hugeHunkCounts: `${head}\nm\n---\n--- a/f.c\n+++ b/f.c\n@@ -1,999999999 +1,999999999 @@\n a\n`,
    };
    const files: Record<string, string> = {};
    for (const [name, text] of Object.entries(gen)) {
      files[name] = path.join(dir, `${name}.patch`);
      writeFileSync(files[name]!, text);
    }
    const r = await readInChild(files, 256, 100_000);
    const cases = assertBounded(t, r, Object.keys(gen));
    const by = new Map(cases.map((c) => [c.name, c]));
    for (const name of Object.keys(gen)) if (name !== 'hunklessFiles1e5') assert.equal(by.get(name)!.hunks, 1, `${name}: the diff is still read`);
    assert.equal(by.get('hunklessFiles1e5')!.problems, 100_000, 'one warning per hunk-less file diff');
  });
});

test('a 10^6-line mbox and a 50 MB single-line file: bounded time and memory (child, 256 MB heap)', { timeout: 120_000 }, async (t) => {
  await withTmp(async (dir) => {
    const context = Array.from({ length: 40 }, (_, k) => ` \tint lens_${k};`).join('\n');
    const parts: string[] = [];
    let lines = 0;
    for (let n = 1; lines < 1_000_000; n++) {
      parts.push(`${MBOX_FROM}From: A <a@x>\nSubject: [PATCH ${n}/NN] t ${n}\n\nm\n---\ndiff --git a/f${n}.c b/f${n}.c\n--- a/f${n}.c\n+++ b/f${n}.c\n@@ -1,40 +1,41 @@\n+int x;\n${context}\n\n`);
      lines += 53;
    }
    const mbox = path.join(dir, 'million.mbox');
    writeFileSync(mbox, parts.join('').replace(/\/NN\]/g, `/${parts.length}]`));
    const oneLine = path.join(dir, 'one-line.patch');
    writeFileSync(oneLine, `diff --git ${'a/x '.repeat(12_500_000)}`);
    const r = await readInChild({ million: mbox, oneLine }, 256, 100_000);
    const [million, single] = assertBounded(t, r, ['million', 'oneLine']);
    assert.equal(million!.patches, parts.length);
    assert.equal(million!.hunks, parts.length);
    assert.equal(million!.problems, 0);
    assert.equal(single!.problems, 1, 'the one diff has no hunk: said once');
  });
});

test('a 200,000-message mbox: bounded time and memory (child, 512 MB heap)', { timeout: 120_000 }, async (t) => {
  await withTmp(async (dir) => {
    const parts: string[] = [];
    for (let n = 1; n <= 200_000; n++) parts.push(`${MBOX_FROM}Subject: [PATCH ${n}/200000] t\n\nm\n${SMALL_DIFF}\n`);
    const mbox = path.join(dir, 'many.mbox');
    writeFileSync(mbox, parts.join(''));
    const r = await readInChild({ many: mbox }, 512, 100_000);
    const [many] = assertBounded(t, r, ['many']);
    assert.equal(many!.patches, 200_000);
    assert.equal(many!.hunks, 200_000);
    assert.equal(many!.problems, 0);
    assert.ok(r.maxRssMb < 1024, `peak RSS ${r.maxRssMb} MB`);
  });
});

// found by `npm run fuzz`: the warning named line 0, which no editor can show
test('a base64 body with an unknown charset and no text: no warning about the charset, none at line 0', () => {
  const r = parseSeriesText('m.patch', 'From: A <a@b.org>\nSubject: [PATCH 1/1] x\nContent-Type: text/plain; charset=bogus\nContent-Transfer-Encoding: base64\n\n');
  assert.deepEqual(r.problems.filter((p) => p.line !== undefined && p.line < 1), []);
  assert.ok(!r.problems.some((p) => /charset/.test(p.message)), JSON.stringify(r.problems));
});
