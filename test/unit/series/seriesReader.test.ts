import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { assembleSeries, parseSeriesText, readSeries } from '../../../extension/core/series/seriesReader';
import type { Patch } from '../../../extension/core/series/types';
import { fixture, lineOf } from './fixtures';

const SINGLE = 'single/0001-KVM-SVM-refuse-VMSA-writes.patch';

function tmpDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'kvm-lens-series-'));
}

function allLines(p: Patch) {
  return p.diffs.flatMap((d) => d.hunks.flatMap((h) => h.lines));
}

test('format-patch file: headers, tags, commit message without diffstat, trailers, diff lines', async () => {
  const s = await readSeries([fixture(SINGLE)]);
  assert.deepEqual(s.problems, []);
  assert.equal(s.coverLetter, undefined);
  assert.equal(s.patches.length, 1);
  const p = s.patches[0]!;
  assert.equal(p.file, fixture(SINGLE));
  assert.equal(p.startLine, 1);
  assert.equal(p.from, 'Ada Lovelace <ada@example.org>');
  assert.equal(p.date, 'Tue, 4 Mar 2025 10:11:12 +0100');
  assert.equal(p.subject, '[PATCH v2 1/1] KVM: SVM: Refuse register writes once the VMSA is encrypted');
  assert.equal(p.title, 'KVM: SVM: Refuse register writes once the VMSA is encrypted');
  assert.deepEqual(p.tags, { version: 2, index: 1, total: 1, rfc: false, raw: 'PATCH v2 1/1' });
  assert.equal(p.messageId, '20250304101112.1234-1-ada@example.org');
  assert.equal(p.isCoverLetter, false);
  assert.ok(p.commitMessage.startsWith('Once the invented LAUNCH step has run'));
  assert.ok(p.commitMessage.endsWith('Signed-off-by: Ada Lovelace <ada@example.org>'));
  assert.ok(!p.commitMessage.includes('files changed'), 'diffstat is not part of the message');
  assert.deepEqual(p.trailers.map((t) => t.key), ['Fixes', 'Link', 'Cc', 'Co-developed-by', 'Signed-off-by', 'Reviewed-by', 'Signed-off-by']);
  assert.deepEqual(p.diffs.map((d) => d.newPath), ['arch/x86/kvm/svm/sev.c', 'arch/x86/kvm/x86.c']);
  assert.equal(p.diffs[0]!.hunks.length, 2);
  const ret = allLines(p).find((l) => l.text === '\treturn 1;')!;
  assert.deepEqual(ret, { kind: 'added', text: '\treturn 1;', patchLine: lineOf(SINGLE, '+\treturn 1;'), newLine: 51 });
  const einval = allLines(p).find((l) => l.text === '\t\treturn -EINVAL;')!;
  assert.equal(einval.patchLine, lineOf(SINGLE, '+\t\treturn -EINVAL;'));
  assert.equal(einval.newLine, 210);
  assert.equal(p.linesApproximate, undefined);
});

test('CRLF file reads exactly like its LF twin', async () => {
  const lf = (await readSeries([fixture(SINGLE)])).patches[0]!;
  const crlf = await readSeries([fixture('crlf.patch')]);
  assert.deepEqual(crlf.problems, []);
  assert.deepEqual({ ...crlf.patches[0]!, file: '' }, { ...lf, file: '' });
});

test('directory: cover letter separated, patches ordered by n/m, other files ignored', async () => {
  const s = await readSeries([fixture('three')]);
  assert.deepEqual(s.problems, []);
  assert.equal(s.coverLetter?.subject, '[PATCH 0/3] KVM: SEV-ES: Lens demo series');
  assert.equal(s.coverLetter?.isCoverLetter, true);
  assert.ok(s.coverLetter?.commitMessage.startsWith('This invented series'));
  assert.ok(!s.coverLetter?.commitMessage.includes('2.43.0'), 'signature cut from the cover letter');
  assert.deepEqual(s.patches.map((p) => [p.tags.index, path.basename(p.file)]), [
    [1, 'zz-first.patch'],
    [2, '0002-KVM-SEV-ES-refuse-debug.patch'],
    [3, '0003-KVM-SEV-ES-document-the-lens.patch'],
  ]);
  assert.ok(s.patches.every((p) => p.diffs.length === 1 && p.trailers.length === 1));
});

test('mboxrd: messages split on From lines, >From unescaped once', async () => {
  const s = await readSeries([fixture('escaped.mbox')]);
  assert.deepEqual(s.problems, []);
  assert.equal(s.patches.length, 2);
  const [a, b] = s.patches;
  assert.equal(a!.startLine, 1);
  assert.equal(b!.startLine, lineOf('escaped.mbox', 'Subject: [PATCH 2/2] KVM: SVM: Second quoted patch') - 3);
  assert.deepEqual(a!.commitMessage.split('\n').slice(1, 4), [
    "From the guest's point of view the VMSA is read-only.",
    '>From here on this line was quoted twice.',
    'From now on the host backs off.',
  ]);
  assert.equal(allLines(b!).find((l) => l.kind === 'added')!.patchLine, lineOf('escaped.mbox', '+\tlens = 3;'));
});

test('quoted-printable: patchLine of a + line is the physical line where it starts', async () => {
  const s = await readSeries([fixture('qp.eml')]);
  assert.deepEqual(s.problems, []);
  const added = allLines(s.patches[0]!).filter((l) => l.kind === 'added');
  assert.equal(added.length, 2);
  assert.equal(added[0]!.patchLine, lineOf('qp.eml', '+/* The VMSA', true));
  assert.ok(added[0]!.text.endsWith('(lens == 1) fails for the guest. */'));
  assert.equal(added[1]!.patchLine, lineOf('qp.eml', '+#define SEV_LENS_MAGIC 0x5345'));
  assert.equal(added[1]!.patchLine - added[0]!.patchLine, 3, 'two soft breaks in between');
  assert.deepEqual(s.patches[0]!.trailers, [{ key: 'Signed-off-by', value: 'Ada Lovelace <ada@example.org>' }]);
});

test('base64 body: decoded and marked approximate', async () => {
  const s = await readSeries([fixture('base64.eml')]);
  assert.deepEqual(s.problems, []);
  const p = s.patches[0]!;
  assert.equal(p.linesApproximate, true);
  assert.equal(p.commitMessage.split('\n')[0], 'Carry the lens flag in the VMSA save area.');
  const added = allLines(p).filter((l) => l.kind === 'added');
  assert.deepEqual(added.map((l) => [l.text, l.newLine]), [['\tint lens_flag; /* Grüße */', 6]]);
  assert.equal(added[0]!.patchLine, lineOf('base64.eml', 'Content-Transfer-Encoding: base64') + 2);
});

test('RFC 2047 subject and From with a non-ASCII name', async () => {
  const s = await readSeries([fixture('rfc2047.eml')]);
  assert.deepEqual(s.problems, []);
  const p = s.patches[0]!;
  assert.equal(p.from, 'Jörg Müller <joerg@example.org>');
  assert.equal(p.subject, "[PATCH 1/1] KVM: SVM: Handle Jörg's café case");
  assert.equal(p.title, "KVM: SVM: Handle Jörg's café case");
  assert.equal(allLines(p).find((l) => l.kind === 'added')!.text, 'int lens_café;');
});

test('gaps and duplicate indexes are reported; duplicates kept in file order', async () => {
  const s = await readSeries([fixture('gaps.mbox')]);
  assert.deepEqual(s.patches.map((p) => [p.tags.index, p.startLine]), [
    [1, lineOf('gaps.mbox', 'Subject: [PATCH 1/5] KVM: lens: Step 1') - 3],
    [2, 1],
    [3, lineOf('gaps.mbox', 'Subject: [PATCH 3/5] KVM: lens: Step 3') - 3],
    [3, 101],
    [5, lineOf('gaps.mbox', 'Subject: [PATCH 5/5] KVM: lens: Step 5') - 3],
  ]);
  assert.equal(s.problems.length, 2);
  const gap = s.problems.find((p) => p.message.includes('missing'))!;
  assert.match(gap.message, /missing 4 of 5 \(have 1-3, 5\)/);
  const dup = s.problems.find((p) => p.message.includes('numbered 3/5'))!;
  assert.equal(dup.line, 101);
  assert.match(dup.message, /gaps\.mbox:51, .*gaps\.mbox:101/);
});

test('truncated mail: cut mid-hunk keeps the complete part; headers-only is a warning and no patch to analyse', async () => {
  const s = await readSeries([fixture('truncated.mbox'), fixture('headers-only.eml')]);
  assert.deepEqual(s.patches.map((p) => p.tags.index ?? null), [1, 2, null]);
  const cut = s.patches[1]!;
  assert.equal(cut.diffs[0]!.hunks.length, 2);
  assert.equal(cut.diffs[0]!.hunks[0]!.lines.length, 3);
  const cutProblem = s.problems.find((p) => p.message.includes('cut short'))!;
  assert.equal(cutProblem.file, fixture('truncated.mbox'));
  assert.equal(cutProblem.line, lineOf('truncated.mbox', ' \tint t;'));
  assert.match(cutProblem.message, /cut\.c/);
  const hdr = s.problems.find((p) => p.message.includes('no body'))!;
  assert.equal(hdr.file, fixture('headers-only.eml'));
  assert.equal(hdr.line, 1);
  assert.equal(hdr.severity, 'warning');
  assert.match(hdr.message, /headers but no body: the mail looks truncated/);
  assert.equal(s.patches[2]!.diffs.length, 0);
  assert.ok(!s.problems.some((p) => p.message.startsWith('no diff')), 'no second complaint for the same message');
});

test('non-UTF-8 byte: message read as Latin-1, warning names file and line', async () => {
  const s = await readSeries([fixture('latin1.patch')]);
  assert.equal(s.problems.length, 1);
  assert.deepEqual(s.problems[0], {
    file: fixture('latin1.patch'),
    line: 2,
    message: 'invalid UTF-8; this message was read as Latin-1',
    severity: 'warning',
  });
  const p = s.patches[0]!;
  assert.equal(p.from, 'René Example <rene@example.org>');
  assert.equal(allLines(p).find((l) => l.kind === 'added')!.text, 'int a; /* café */');
});

test('only the message with a bad byte falls back; its neighbours stay UTF-8', async () => {
  const dir = tmpDir();
  try {
    const good = (n: number, extra: string) =>
      `From mboxrd@z Thu Jan  1 00:00:00 1970\nFrom: X <x@example.org>\nSubject: [PATCH ${n}/2] lens ${extra}\n\nBody.\n---\n--- a/f.c\n+++ b/f.c\n@@ -1 +1 @@\n-a\n+b\n\n`;
    const bytes = Buffer.concat([Buffer.from(good(1, 'Grüße'), 'utf8'), Buffer.from(good(2, 'caf\xe9'), 'latin1')]);
    writeFileSync(path.join(dir, 'mixed.mbox'), bytes);
    const s = await readSeries([path.join(dir, 'mixed.mbox')]);
    assert.deepEqual(s.patches.map((p) => p.title), ['lens Grüße', 'lens café']);
    assert.equal(s.problems.length, 1);
    assert.equal(s.problems[0]!.line, 15);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('no diff at all is a warning; a diff that touches no C file is not a problem', async () => {
  const s = await readSeries([fixture('no-diff.eml')]);
  assert.deepEqual(s.problems, [{ file: fixture('no-diff.eml'), line: 1, message: 'no diff in this file', severity: 'warning' }]);
  assert.equal(s.patches.length, 1);
  const doc = parseSeriesText('doc.patch', 'From: X <x@example.org>\nSubject: [PATCH] docs: lens\n\nWords.\n---\ndiff --git a/Documentation/lens.rst b/Documentation/lens.rst\n--- a/Documentation/lens.rst\n+++ b/Documentation/lens.rst\n@@ -1 +1 @@\n-a\n+b\n');
  assert.deepEqual(doc.problems, []);
  assert.equal(doc.patches[0]!.diffs[0]!.newPath, 'Documentation/lens.rst');
});

test('plain unified diff: subject is the file name', async () => {
  const s = await readSeries([fixture('plain.diff')]);
  assert.deepEqual(s.problems, []);
  const p = s.patches[0]!;
  assert.equal(p.subject, 'plain.diff');
  assert.equal(p.title, 'plain.diff');
  assert.equal(p.commitMessage, '');
  assert.deepEqual(p.references, []);
  assert.equal(p.diffs.length, 2);
});

test('unreadable inputs: the message names the path; readable neighbours still read', async () => {
  const dir = tmpDir();
  try {
    copyFileSync(fixture(SINGLE), path.join(dir, '0001-good.patch'));
    symlinkSync(path.join(dir, 'nowhere'), path.join(dir, '0002-broken.patch'));
    mkdirSync(path.join(dir, 'empty'));
    const missing = path.join(dir, 'missing-dir');
    const s = await readSeries([dir, missing, path.join(dir, 'empty')]);
    assert.equal(s.patches.length, 1);
    const broken = s.problems.find((p) => p.file === path.join(dir, '0002-broken.patch'))!;
    assert.equal(broken.severity, 'error');
    assert.match(broken.message, /^cannot read/);
    const gone = s.problems.find((p) => p.file === missing)!;
    assert.ok(gone.message.startsWith('cannot read'));
    const empty = s.problems.find((p) => p.file === path.join(dir, 'empty'))!;
    assert.equal(empty.severity, 'warning');
    assert.match(empty.message, /no \.patch\/\.diff\/\.mbox\/\.mbx\/\.eml files in/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const none = await readSeries([]);
  assert.equal(none.problems[0]!.message, 'no input given');
});

const msg = (subject: string, body: string, extraHeaders = '') =>
  `From mboxrd@z Thu Jan  1 00:00:00 1970\nFrom: Ada <ada@example.org>\nSubject: ${subject}\n${extraHeaders}\n${body}\n\n`;
const diff = (f: string) => `diff --git a/${f} b/${f}\n--- a/${f}\n+++ b/${f}\n@@ -1 +1 @@\n-a\n+b\n`;

test('review replies in a thread mbox are skipped with one warning', () => {
  const text =
    msg('[PATCH 1/1] KVM: lens', `Change.\n---\n${diff('a.c')}`) +
    msg('Re: [PATCH 1/1] KVM: lens', '> quoted\n\nLooks fine.\n\nReviewed-by: Bob <bob@example.org>') +
    msg('Re: [PATCH 1/1] KVM: lens', `Try this instead:\n\n${diff('b.c')}`);
  const r = parseSeriesText('thread.mbox', text);
  assert.equal(r.patches.length, 1);
  assert.equal(r.patches[0]!.diffs[0]!.newPath, 'a.c');
  assert.equal(r.problems.length, 1);
  assert.match(r.problems[0]!.message, /skipped 2 reply/);
});

test('without "---" the commit message ends at diff --git; in-body From overrides the sender', () => {
  const text = `From: Sender <s@example.org>\nSubject: [PATCH] lens: no separator\n\nFrom: Real Author <ra@example.org>\n\nMessage text.\n\nSigned-off-by: Real Author <ra@example.org>\n${diff('c.c')}`;
  const r = parseSeriesText('nosep.eml', text);
  assert.deepEqual(r.problems, []);
  const p = r.patches[0]!;
  assert.equal(p.from, 'Real Author <ra@example.org>');
  assert.equal(p.commitMessage, 'Message text.\n\nSigned-off-by: Real Author <ra@example.org>');
  assert.equal(p.diffs[0]!.hunks[0]!.lines[1]!.patchLine, 14);
});

test('parseSeriesText takes an editor buffer (BOM, CRLF) and keeps file order', () => {
  const text = '\uFEFF' + (msg('[PATCH 2/2] two', `x\n---\n${diff('b.c')}`) + msg('[PATCH 1/2] one', `y\n---\n${diff('a.c')}`)).replace(/\n/g, '\r\n');
  const r = parseSeriesText('buffer.mbox', text);
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.patches.map((p) => p.tags.index), [2, 1]);
  assert.deepEqual(assembleSeries(r.patches, r.problems).patches.map((p) => p.tags.index), [1, 2]);
});

test('assembly: unnumbered after numbered, second cover letter, mixed versions, disagreeing totals', () => {
  const a = parseSeriesText('a.mbox',
    msg('[PATCH v2 0/2] cover', 'Cover.') +
    msg('[PATCH v2 2/2] two', `x\n---\n${diff('b.c')}`) +
    msg('[PATCH] loose', `z\n---\n${diff('z.c')}`) +
    msg('[PATCH v2 1/3] one', `y\n---\n${diff('a.c')}`) +
    msg('[PATCH v2 0/2] cover again', 'Cover again.'));
  assert.deepEqual(a.problems, []);
  const s = assembleSeries(a.patches, a.problems);
  assert.equal(s.coverLetter?.title, 'cover');
  assert.deepEqual(s.patches.map((p) => p.title), ['one', 'two', 'loose']);
  const texts = s.problems.map((p) => p.message);
  assert.ok(texts.some((t) => /second cover letter "\[PATCH v2 0\/2\] cover again"/.test(t)));
  assert.ok(texts.some((t) => /1 patch\(es\) have no n\/m.*"\[PATCH\] loose"/.test(t)));
  assert.ok(texts.some((t) => /different versions mixed: v1, v2/.test(t)));
  assert.ok(texts.some((t) => /disagree on the series length: \/2, \/3/.test(t)));
  assert.ok(texts.some((t) => /missing 3 of 3/.test(t)));
});

test('a 20 MB mbox is read quickly and completely', async () => {
  const dir = tmpDir();
  try {
    const file = path.join(dir, 'big.mbox');
    const parts: string[] = [];
    let size = 0;
    let n = 0;
    const body = Array.from({ length: 30 }, (_, k) => ` \tint lens_ctx_${k};`).join('\n');
    while (size < 20 * 1024 * 1024) {
      n++;
      const m =
        `From mboxrd@z Thu Jan  1 00:00:00 1970\nFrom: Gen Erator <gen@example.org>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n` +
        `Subject: [PATCH ${n}/NN] KVM: lens: Generated change ${n}\nMessage-Id: <gen-${n}@example.org>\n\n` +
        `Generated change number ${n}.\n>From the generator.\n\nSigned-off-by: Gen Erator <gen@example.org>\n---\n` +
        ` virt/kvm/gen${n}.c | 1 +\n\ndiff --git a/virt/kvm/gen${n}.c b/virt/kvm/gen${n}.c\nindex 1..2 100644\n` +
        `--- a/virt/kvm/gen${n}.c\n+++ b/virt/kvm/gen${n}.c\n@@ -1,30 +1,31 @@\n+int lens_added_${n};\n${body}\n-- \n2.43.0\n\n`;
      parts.push(m);
      size += m.length;
    }
    writeFileSync(file, parts.join('').replace(/\/NN\]/g, `/${n}]`));
    const t0 = process.hrtime.bigint();
    const s = await readSeries([file]);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    console.log(`# read ${n} messages (${(size / 1048576).toFixed(1)} MB) in ${ms.toFixed(0)} ms`);
    assert.deepEqual(s.problems, []);
    assert.equal(s.patches.length, n);
    assert.equal(s.patches[n - 1]!.tags.index, n);
    assert.equal(s.patches[0]!.commitMessage.split('\n')[1], 'From the generator.');
    const hunkLines = s.patches.reduce((acc, p) => acc + p.diffs[0]!.hunks[0]!.lines.length, 0);
    assert.equal(hunkLines, n * 31);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
