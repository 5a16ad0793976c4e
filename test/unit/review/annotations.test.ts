// The review sidecar: its path, the round trip, a broken hand-edited file backed up before it
// is replaced, keys without Message-Ids, carrying a review over to a new revision of the
// example series, non-ASCII reviewers, CRLF patch files, and "Add to review" from a finding.

import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { analyzeSeries, DEFAULT_OPTIONS } from '../../../extension/core/analysis/analyzeSeries';
import {
  anchorAt, carryOver, findingToAnnotation, formatReviewFile, loadReviewFile, newReview, patchKeyOf,
  placeAnnotations, reviewerIdentity, saveReviewFile, sidecarPath,
} from '../../../extension/core/review/annotations';
import type { Annotation, ReviewFile } from '../../../extension/core/review/types';
import { wrapComment } from '../../../extension/core/review/replyComposer';
import { diffIdentity } from '../../../extension/core/series/diffIdentity';
import { assembleSeries, parseSeriesText, readSeries } from '../../../extension/core/series/seriesReader';
import type { Patch, Series } from '../../../extension/core/series/types';
import { EXAMPLE_DIR, TEST_TIMEOUT_MS, withTempDir } from '../cli/cliHarness';

const T = { timeout: TEST_TIMEOUT_MS };
const REVIEWER = { name: 'Ada Reviewer', email: 'ada@example.org' };

/** 1-based line of the first line of `file` equal to `text`. */
function lineIn(file: string, text: string): number {
  const i = readFileSync(file, 'utf8').split(/\r?\n/).findIndex((l) => l === text);
  assert.ok(i >= 0, `${file} has no line ${JSON.stringify(text)}`);
  return i + 1;
}

function patchNamed(series: Series, fragment: string): Patch {
  const p = [...(series.coverLetter ? [series.coverLetter] : []), ...series.patches].find((x) => x.file.includes(fragment));
  assert.ok(p, `no patch from a file named like ${fragment}`);
  return p;
}

function annotate(patch: Patch, text: string, body: string, id = body): Annotation {
  const line = lineIn(patch.file, text);
  const anchor = anchorAt(patch, line);
  assert.ok(anchor, `no anchor at ${patch.file}:${line}`);
  return { id, patch: patchKeyOf(patch), anchor, body, author: 'Ada Reviewer <ada@example.org>', created: '2026-11-03T09:00:00.000Z', state: 'draft', resolved: false };
}

function copyExample(dir: string): string {
  const to = join(dir, 'series');
  cpSync(EXAMPLE_DIR, to, { recursive: true });
  return to;
}

function edit(file: string, fn: (text: string) => string): void {
  const before = readFileSync(file, 'utf8');
  const after = fn(before);
  assert.notEqual(after, before, `the edit of ${file} changed nothing`);
  writeFileSync(file, after);
}

function file(dir: string, prefix: string): string {
  const name = readdirSync(dir).find((n) => n.startsWith(prefix));
  assert.ok(name, `no ${prefix}* in ${dir}`);
  return join(dir, name);
}

describe('sidecarPath', () => {
  it('puts the sidecar inside a series directory and next to a series file', () => withTempDir('kvm-lens-sidecar-', async (dir) => {
    assert.equal(sidecarPath(dir), join(dir, '.kvm-lens-review.json'));
    const mbox = join(dir, 'series.mbox');
    writeFileSync(mbox, '');
    assert.equal(sidecarPath(mbox), `${mbox}.kvm-lens-review.json`);
  }));
});

describe('anchors', () => {
  it('anchors commit-message, diff and cover-letter lines, and nothing on headers or the diffstat', T, async () => {
    const series = await readSeries([EXAMPLE_DIR]);
    const p2 = patchNamed(series, '0002-');
    const removed = anchorAt(p2, lineIn(p2.file, '-\tif (vcpu->arch.guest_state_protected)'));
    assert.deepEqual(removed, {
      part: 'diff', text: '-\tif (vcpu->arch.guest_state_protected)', file: 'arch/x86/kvm/svm/svm.c',
      hunkSection: 'static void svm_set_dr7(struct kvm_vcpu *vcpu, unsigned long value)',
      before: [' {', ' \tstruct vcpu_svm *svm = to_svm(vcpu);', ' '],
    });
    const msg = anchorAt(p2, lineIn(p2.file, 'so write it unconditionally.'));
    assert.equal(msg?.part, 'commit-message');
    assert.deepEqual(msg?.before, ['svm_set_dr7() special-cases protected guests; the VMCB copy is harmless,']);
    assert.equal(anchorAt(p2, lineIn(p2.file, 'Subject: [RFC PATCH 2/3] KVM: SVM: Let DR7 writes through for SEV-ES guests')), undefined);
    assert.equal(anchorAt(p2, lineIn(p2.file, ' 1 file changed, 3 deletions(-)')), undefined);
    assert.equal(anchorAt(p2, lineIn(p2.file, 'diff --git a/arch/x86/kvm/svm/svm.c b/arch/x86/kvm/svm/svm.c')), undefined);
    const cover = series.coverLetter!;
    assert.equal(anchorAt(cover, lineIn(cover.file, 'Ada Reviewer (3):'))?.part, 'cover-letter');
  });
});

describe('sidecar round trip', () => {
  it('saves and loads the same review, keeps unknown fields, writes a stable text', T, () => withTempDir('kvm-lens-review-', async (dir) => {
    const seriesDir = copyExample(dir);
    const series = await readSeries([seriesDir]);
    const p2 = patchNamed(series, '0002-');
    const review: ReviewFile = newReview(series, REVIEWER);
    const a = annotate(p2, '-\tif (vcpu->arch.guest_state_protected)', 'Why is this safe for SEV-ES?');
    (a as unknown as Record<string, unknown>)['x-editor'] = { folded: true };
    review.annotations.push(a, annotate(series.coverLetter!, 'Ada Reviewer (3):', 'Thanks for the series.'));
    review.trailers.push({ key: 'Reviewed-by', patch: patchKeyOf(patchNamed(series, '0003-')) });
    (review as unknown as Record<string, unknown>)['zz-extension'] = [1, 2];

    const sidecar = sidecarPath(seriesDir);
    const saved = saveReviewFile(sidecar, review);
    assert.deepEqual(saved, { messages: [] });
    const loaded = loadReviewFile(sidecar);
    assert.deepEqual(loaded.problems, []);
    assert.deepEqual(loaded.review, review);
    const text = readFileSync(sidecar, 'utf8');
    assert.equal(text, formatReviewFile(loaded.review!));
    assert.ok(text.indexOf('"version"') < text.indexOf('"series"') && text.indexOf('"orphans"') < text.indexOf('"zz-extension"'), text);
    saveReviewFile(sidecar, loaded.review!);
    assert.equal(readFileSync(sidecar, 'utf8'), text, 'saving again changes nothing');
    assert.deepEqual(readdirSync(seriesDir).filter((n) => n.includes('.tmp-')), [], 'no temporary file left behind');

    const { placed, orphans } = placeAnnotations(loaded.review!, series);
    assert.deepEqual(orphans, []);
    assert.deepEqual(placed.map((x) => [x.patch.file, x.patchLine]), [
      [p2.file, lineIn(p2.file, '-\tif (vcpu->arch.guest_state_protected)')],
      [series.coverLetter!.file, lineIn(series.coverLetter!.file, 'Ada Reviewer (3):')],
    ]);
  }));

  it('a missing sidecar is no review and no problem', () => withTempDir('kvm-lens-review-', async (dir) => {
    assert.deepEqual(loadReviewFile(join(dir, 'none.json')), { review: undefined, problems: [] });
  }));

  it('reports JSON syntax errors with the line and column, and wrong fields by name', () => withTempDir('kvm-lens-review-', async (dir) => {
    const f = join(dir, 'r.json');
    writeFileSync(f, '{\n  "version": 1,\n  "series": { "title": "x" ,, }\n}\n');
    const bad = loadReviewFile(f);
    assert.equal(bad.review, undefined);
    assert.equal(bad.problems.length, 1);
    assert.match(bad.problems[0]!, new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3:\\d+: not valid JSON`));

    writeFileSync(f, JSON.stringify({
      version: 2, series: { title: 'x' }, reviewer: { name: 'A' },
      annotations: [{ id: 'a', patch: { title: 't', index: -1 }, anchor: { part: 'hunk', text: 'x', before: [1] }, body: 'b', author: 'A', created: 'yesterday', state: 'sent', resolved: 'no' }],
      trailers: [{ key: 'Signed-off-by' }], orphans: {},
    }));
    const wrong = loadReviewFile(f);
    assert.equal(wrong.review, undefined);
    const text = wrong.problems.join('\n');
    for (const field of ['version', 'reviewer.email', 'annotations[0].patch.index', 'annotations[0].anchor.part', 'annotations[0].anchor.before[0]',
      'annotations[0].created', 'annotations[0].state', 'annotations[0].resolved', 'trailers[0].key', 'orphans']) {
      assert.ok(wrong.problems.some((p) => p.startsWith(`${f}: ${field} `)), `no problem about ${field} in:\n${text}`);
    }
  }));
});

describe('a broken sidecar', () => {
  it('is copied aside before being replaced, and the message says where', () => withTempDir('kvm-lens-review-', async (dir) => {
    const f = join(dir, '.kvm-lens-review.json');
    const handEdited = '{ "version": 1, "annotations": [ { "body": "my precious notes" } ';
    writeFileSync(f, handEdited);
    const review: ReviewFile = { version: 1, series: { title: 's' }, reviewer: REVIEWER, annotations: [], trailers: [], orphans: [] };
    const r = saveReviewFile(f, review);
    assert.ok(r.backup, 'a backup was made');
    assert.ok(r.backup.startsWith(`${f}.broken-`), r.backup);
    assert.equal(readFileSync(r.backup, 'utf8'), handEdited);
    assert.equal(r.messages.length, 1);
    assert.ok(r.messages[0]!.includes(r.backup), r.messages[0]);
    assert.deepEqual(loadReviewFile(f), { review, problems: [] });

    // valid JSON of the wrong shape is backed up too; a second backup does not overwrite the first
    writeFileSync(f, '{"version": 3}');
    const r2 = saveReviewFile(f, review);
    assert.ok(r2.backup && r2.backup !== r.backup);
    assert.equal(readFileSync(r2.backup, 'utf8'), '{"version": 3}');
    assert.equal(readFileSync(r.backup, 'utf8'), handEdited);
    // a valid file is replaced without a backup
    assert.deepEqual(saveReviewFile(f, review), { messages: [] });
  }));
});

describe('keys without Message-Ids', () => {
  it('format-patch output is keyed by diff identity and title, and placed again', T, async () => {
    const series = await readSeries([EXAMPLE_DIR]);
    const p1 = patchNamed(series, '0001-');
    const key = patchKeyOf(p1);
    assert.equal(key.messageId, undefined);
    assert.equal(key.diffId, diffIdentity(p1));
    assert.equal(key.title, 'KVM: SVM: Rely on guest_state_protected alone to refuse guest debug');
    assert.equal(key.index, 1);
    assert.equal(patchKeyOf(series.coverLetter!).diffId, undefined);
    assert.equal(patchKeyOf(series.coverLetter!).index, 0);

    const review = newReview(series, REVIEWER);
    review.annotations.push(annotate(p1, '-\tif (vcpu->guest_debug)', 'second hunk'));
    // a title-only key (e.g. written by hand) still finds its patch
    const byTitle = annotate(p1, '-\tif (svm->vcpu.guest_debug)', 'first hunk');
    byTitle.patch = { title: key.title };
    review.annotations.push(byTitle);
    const { placed, orphans } = placeAnnotations(review, series);
    assert.deepEqual(orphans, []);
    assert.deepEqual(placed.map((x) => x.patchLine), [lineIn(p1.file, '-\tif (vcpu->guest_debug)'), lineIn(p1.file, '-\tif (svm->vcpu.guest_debug)')]);
  });

  it('a Message-Id, when there is one, wins over the title', () => {
    const mail = (id: string, subject: string, extra: string): string => [
      `From: A <a@example.org>`, `Subject: [PATCH ${subject}] KVM: same title`, `Message-Id: <${id}>`, '', `Body ${extra}.`, '---',
      'diff --git a/f.c b/f.c', '--- a/f.c', '+++ b/f.c', '@@ -1,1 +1,2 @@ int f(void)', ' a', `+${extra}`, '',
    ].join('\n');
    const one = parseSeriesText('one.eml', mail('one@x', '1/2', 'first'));
    const two = parseSeriesText('two.eml', mail('two@x', '2/2', 'first'));
    const series = assembleSeries([...one.patches, ...two.patches], []);
    const p2 = series.patches[1]!;
    const anchor = { part: 'diff' as const, text: '+first', file: 'f.c', hunkSection: 'int f(void)', before: [' a'] };
    const review = newReview(series, REVIEWER);
    review.annotations.push({ id: 'x', patch: { messageId: 'two@x', title: 'KVM: same title', index: 2 }, anchor, body: 'b', author: 'A', created: '2026-11-03T09:00:00Z', state: 'final', resolved: false });
    const { placed } = placeAnnotations(review, series);
    assert.equal(placed[0]?.patch, p2);
    assert.equal(patchKeyOf(p2).messageId, 'two@x');
  });
});

describe('carrying a review over to a new revision', () => {
  it('lands on the same lines of v2 and turns a removed line into an orphan', T, () => withTempDir('kvm-lens-v2-', async (dir) => {
    const v1Dir = copyExample(join(dir, 'v1'));
    const v1 = await readSeries([v1Dir]);
    const p1 = patchNamed(v1, '0001-');
    const p2 = patchNamed(v1, '0002-');
    const review = newReview(v1, REVIEWER);
    review.annotations.push(
      annotate(p1, '-\tif (svm->vcpu.guest_debug)', 'first hunk'),
      annotate(p1, '-\tif (vcpu->guest_debug)', 'second hunk, moved by the v2 line'),
      annotate(p2, '-\tif (vcpu->arch.guest_state_protected)', 'same diff in v2'),
      annotate(p2, 'so write it unconditionally.', 'reworded in v2'),
      annotate(v1.coverLetter!, 'Ada Reviewer (3):', 'cover'),
    );
    review.trailers.push({ key: 'Acked-by', patch: patchKeyOf(p2) });

    // v2: a version tag in every subject, a line added in a hunk of 1/3, 2/3's message reworded
    mkdirSync(join(dir, 'v2'));
    const v2Dir = copyExample(join(dir, 'v2'));
    for (const n of readdirSync(v2Dir)) edit(join(v2Dir, n), (t) => t.replace('[RFC PATCH ', '[RFC PATCH v2 '));
    edit(file(v2Dir, '0001-'), (t) => t
      .replace('@@ -81,9 +78,6 @@', '@@ -81,9 +78,7 @@')
      .replace(' \tstruct vcpu_svm *svm = to_svm(vcpu);\n \tint ret;\n', ' \tstruct vcpu_svm *svm = to_svm(vcpu);\n+\t/* v2: nothing else checks guest_debug here */\n \tint ret;\n'));
    edit(file(v2Dir, '0002-'), (t) => t.replace('so write it unconditionally.', 'so write it unconditionally (v2: reworded).'));
    const v2 = await readSeries([v2Dir]);
    assert.deepEqual(v2.patches.map((p) => p.tags.version), [2, 2, 2]);
    const q1 = patchNamed(v2, '0001-');
    const q2 = patchNamed(v2, '0002-');
    assert.notEqual(diffIdentity(q1), diffIdentity(p1), 'the v2 line changes the diff of 1/3');

    const { placed, orphans } = placeAnnotations(review, v2);
    assert.deepEqual(orphans.map((a) => a.body), ['reworded in v2']);
    const where = new Map(placed.map((x) => [x.annotation.body, [x.patch, x.patchLine] as const]));
    assert.deepEqual(where.get('first hunk'), [q1, lineIn(q1.file, '-\tif (svm->vcpu.guest_debug)')]);
    assert.deepEqual(where.get('second hunk, moved by the v2 line'), [q1, lineIn(q1.file, '-\tif (vcpu->guest_debug)')]);
    assert.equal(lineIn(q1.file, '-\tif (vcpu->guest_debug)'), lineIn(p1.file, '-\tif (vcpu->guest_debug)') + 1);
    assert.deepEqual(where.get('same diff in v2'), [q2, lineIn(q2.file, '-\tif (vcpu->arch.guest_state_protected)')]);
    assert.deepEqual(where.get('cover'), [v2.coverLetter!, lineIn(v2.coverLetter!.file, 'Ada Reviewer (3):')]);

    const carried = carryOver(review, v2);
    assert.equal(carried.annotations.length, 4);
    assert.deepEqual(carried.orphans.map((a) => a.body), ['reworded in v2']);
    const second = carried.annotations.find((a) => a.body.startsWith('second hunk'))!;
    assert.equal(second.patch.diffId, diffIdentity(q1));
    assert.deepEqual(second.anchor.before, [' \tstruct vcpu_svm *svm = to_svm(vcpu);', '+\t/* v2: nothing else checks guest_debug here */', ' \tint ret;', ' '].slice(-3));
    assert.deepEqual(carried.trailers, [{ key: 'Acked-by', patch: patchKeyOf(q2) }]);
    // the carried review places exactly, and survives a save
    const again = placeAnnotations(carried, v2);
    assert.equal(again.placed.length, 4);
    assert.deepEqual(again.orphans, []);
    const f = sidecarPath(v2Dir);
    saveReviewFile(f, carried);
    assert.deepEqual(loadReviewFile(f).review, carried);
  }));
});

describe('reviewer identity', () => {
  it('takes non-ASCII names from the settings and keeps them through the sidecar', () => withTempDir('kvm-lens-who-', async (dir) => {
    const who = reviewerIdentity({ name: 'Zoë Łukasiewicz-Núñez 山田', email: 'zoe@example.org' });
    assert.deepEqual(who, { name: 'Zoë Łukasiewicz-Núñez 山田', email: 'zoe@example.org' });
    const f = join(dir, 'r.json');
    const review: ReviewFile = { version: 1, series: { title: 'KVM: SVM: ünïcode' }, reviewer: who, annotations: [], trailers: [], orphans: [] };
    saveReviewFile(f, review);
    assert.ok(readFileSync(f, 'utf8').includes('"Zoë Łukasiewicz-Núñez 山田"'), 'written as UTF-8, not escaped');
    assert.deepEqual(loadReviewFile(f).review?.reviewer, { name: 'Zoë Łukasiewicz-Núñez 山田', email: 'zoe@example.org' });
  }));

  it('falls back to git config, and says so when there is no name', () => withTempDir('kvm-lens-who-', async (dir) => {
    const gitconfig = join(dir, 'gitconfig');
    writeFileSync(gitconfig, '[user]\n\tname = Ōtomo Jérôme\n\temail = jerome@example.org\n');
    const env = { ...process.env, HOME: dir, XDG_CONFIG_HOME: dir, GIT_CONFIG_GLOBAL: gitconfig, GIT_CONFIG_NOSYSTEM: '1' };
    assert.deepEqual(reviewerIdentity(undefined, { cwd: dir, env }), { name: 'Ōtomo Jérôme', email: 'jerome@example.org' });
    assert.deepEqual(reviewerIdentity({ email: 'other@example.org' }, { cwd: dir, env }), { name: 'Ōtomo Jérôme', email: 'other@example.org' });
    const none = reviewerIdentity({}, { cwd: dir, env: { ...env, GIT_CONFIG_GLOBAL: join(dir, 'absent') } });
    assert.equal(none.name, '');
    assert.match(none.problem ?? '', /no reviewer name/);
  }));

  it('in an untrusted workspace runs no git: the settings alone, and the problem says why', () => withTempDir('kvm-lens-who-', async (dir) => {
    // a git on PATH that leaves a mark when run: restricted mode must not run it
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'git'), `#!/bin/sh\ntouch ${join(dir, 'ran')}\necho Someone\n`, { mode: 0o755 });
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
    assert.equal(reviewerIdentity({}, { cwd: dir, env }).name, 'Someone', 'trusted: git config is read (this fake git answers)');
    rmSync(join(dir, 'ran'));
    const restricted = reviewerIdentity({ email: 'zoe@example.org' }, { cwd: dir, env, git: false });
    assert.equal(existsSync(join(dir, 'ran')), false, 'no process spawned');
    assert.equal(restricted.name, '');
    assert.match(restricted.problem ?? '', /no reviewer name: set kvmLens\.reviewer\.name.*git config is not read in an untrusted workspace/);
    assert.equal(reviewerIdentity({ name: 'Zoë', email: 'zoe@example.org' }, { cwd: dir, env, git: false }).problem, undefined);
  }));
});

describe('CRLF patch files', () => {
  it('anchors and places lines of a CRLF patch without the carriage returns', T, () => withTempDir('kvm-lens-crlf-', async (dir) => {
    const f = join(dir, 'dr7.patch');
    const lf = readFileSync(file(EXAMPLE_DIR, '0002-'), 'utf8');
    writeFileSync(f, lf.replace(/\n/g, '\r\n'));
    const series = await readSeries([f]);
    const p = series.patches[0]!;
    const review = newReview(series, REVIEWER);
    review.annotations.push(annotate(p, '-\tif (vcpu->arch.guest_state_protected)', 'diff'), annotate(p, 'so write it unconditionally.', 'message'));
    for (const a of review.annotations) assert.ok(!a.anchor.text.includes('\r') && a.anchor.before.every((b) => !b.includes('\r')), JSON.stringify(a.anchor));
    const side = sidecarPath(f);
    saveReviewFile(side, review);
    const { placed, orphans } = placeAnnotations(loadReviewFile(side).review!, series);
    assert.deepEqual(orphans, []);
    assert.deepEqual(placed.map((x) => x.patchLine), [lineIn(f, '-\tif (vcpu->arch.guest_state_protected)'), lineIn(f, 'so write it unconditionally.')]);
    // the CRLF and LF files anchor alike: a review of one places on the other
    const lfFile = join(dir, 'lf.patch');
    writeFileSync(lfFile, lf);
    const lfSeries = await readSeries([lfFile]);
    assert.equal(placeAnnotations(review, lfSeries).placed.length, 2);
    assert.ok(existsSync(side));
  }));
});

describe('Add to review', () => {
  it('turns a finding into a draft annotation at its line with the trace as numbered steps', T, async () => {
    const series = await readSeries([EXAMPLE_DIR]);
    const report = await analyzeSeries(series, DEFAULT_OPTIONS);
    const finding = report.findings.find((f) => f.rule === 'vmsa-write-after-encryption');
    assert.ok(finding, 'the example has its DR7 finding');
    const patch = series.patches.find((p) => p.file === finding.location.file)!;
    const a = findingToAnnotation(finding, patch, { name: 'Zoë', email: 'zoe@example.org' });
    assert.equal(a.author, 'Zoë <zoe@example.org>');
    assert.equal(a.state, 'draft');
    assert.equal(a.fromFinding, finding.key, 'a draft made from a finding waits for the reviewer to confirm it');
    assert.equal(a.resolved, false);
    assert.deepEqual(a.patch, patchKeyOf(patch));
    assert.deepEqual(a.anchor, anchorAt(patch, finding.location.line));
    assert.ok(a.body.startsWith(finding.message), a.body);
    assert.ok(!a.body.includes(`[${finding.rule}]`), 'a reviewer\'s sentence, not a tool\'s tag');
    // the trace as an indented list of ioctls, with places the list's readers have
    const steps = a.body.split('\n').filter((l) => l.startsWith('    '));
    assert.deepEqual(steps.map((l) => l.trim().split(/[ ,(]/)[0]), finding.trace.map((s) => s.operation));
    assert.ok(!/builtin-model\/|\.patch|\/tmp\//.test(a.body), `no local paths: ${a.body}`);
    assert.equal(steps.at(-1), '    KVM_RUN on vcpu 0, svm_set_dr7() (arch/x86/kvm/svm/svm.c:91)', 'the hazard\'s own line as the C file\'s post-image line');
    // composed into a reply, the list is not re-wrapped however long a line is
    for (const l of steps) assert.deepEqual(wrapComment(l), [l]);
    assert.ok(!Number.isNaN(Date.parse(a.created)));
    const review = newReview(series, REVIEWER);
    review.annotations.push(a);
    assert.deepEqual(placeAnnotations(review, series).placed.map((x) => x.patchLine), [finding.location.line]);
  });
});
