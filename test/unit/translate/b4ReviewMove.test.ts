// The editor's b4 review moves without the editor (translate/b4ReviewMove.ts): the questions the
// editor asks (which branch, whether to write) answered here, in a checkout made with git
// (test/unit/support/b4ReviewCheckout.ts). Each failure is one line naming what went wrong,
// and nothing is written when the move fails, is cancelled or has nothing to add.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { anchorAt, loadReviewFile, newReview, patchKeyOf, placeAnnotations } from '../../../extension/core/review/annotations';
import { reviewOf, patchesOf, seriesOf } from '../../../extension/core/review/b4Tracking';
import type { ReviewFile } from '../../../extension/core/review/types';
import { readSeries } from '../../../extension/core/series/seriesReader';
import type { Series } from '../../../extension/core/series/types';
import {
  checkoutDirectory, chooseReviewBranch, importReviewFromB4, sendReviewToB4, type B4MoveQuestions, type BranchChoice,
} from '../../../extension/translate/b4ReviewMove';
import { BRANCH, REVIEWER, addReviewBranch, git, makeB4ReviewCheckout, tipOf, tipTracking, type B4ReviewCheckout } from '../support/b4ReviewCheckout';

const ROOT = join(__dirname, '../../..');
const T = { timeout: 60_000 };
const COMMENT = 'Without this return KVM writes DR7 into the encrypted VMSA after LAUNCH_UPDATE_VMSA.';

let work: string;
let made: B4ReviewCheckout;
let series: Series;

/** Answers recorded, and what to answer. */
class Answers implements B4MoveQuestions {
  asked: string[] = [];
  offered: BranchChoice[][] = [];
  warnings: string[] = [];
  constructor(private readonly yes = true, private readonly pick?: string, private readonly whileAsking?: () => void) {}
  async pickBranch(choices: BranchChoice[], why: string): Promise<string | undefined> { this.offered.push(choices); this.asked.push(why); return this.pick; }
  async confirm(question: string): Promise<boolean> { this.asked.push(question); this.whileAsking?.(); return this.yes; }
  warn(line: string): void { this.warnings.push(line); }
}

/** A review with one comment on patch 2's removed guard and a Reviewed-by for the series. */
function reviewWithComment(): ReviewFile {
  const patch = series.patches[1]!;
  const lines = readFileSync(patch.file, 'utf8').split('\n');
  const line = lines.findIndex((l) => /^-.*guest_state_protected/.test(l)) + 1;
  const anchor = anchorAt(patch, line);
  assert.ok(anchor, 'the removed guard is a line a comment can sit on');
  const review = newReview(series, REVIEWER);
  review.annotations.push({ id: 'c1', patch: patchKeyOf(patch), anchor, body: COMMENT, author: `${REVIEWER.name} <${REVIEWER.email}>`, created: '2026-11-02T11:00:00Z', state: 'final', resolved: false });
  review.trailers.push({ key: 'Reviewed-by' });
  return review;
}

function writeSidecar(file: string, review: ReviewFile): void {
  writeFileSync(file, JSON.stringify(review, null, 2) + '\n');
}

function resetBranch(): void {
  git(made.repo, ['update-ref', `refs/heads/${BRANCH}`, made.tip]);
  for (const b of git(made.repo, ['for-each-ref', '--format=%(refname)', 'refs/heads/b4/review/']).split('\n')) {
    if (b !== '' && b !== `refs/heads/${BRANCH}`) git(made.repo, ['update-ref', '-d', b]);
  }
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'kvm-lens-b4move-'));
  made = makeB4ReviewCheckout(work, join(ROOT, 'extension/core/model/builtin'), join(ROOT, 'examples/sev-es-debug-rfc'));
  series = await readSeries([made.seriesDir]);
  assert.equal(series.patches.length, 3);
});
after(() => rmSync(work, { recursive: true, force: true }));

describe('where the kernel checkout is', () => {
  it('kvmLens.kernelTree when set, else the innermost workspace folder holding the series, else the series\' directory', () => {
    assert.equal(checkoutDirectory('/src/linux', ['/work'], '/work/series'), '/src/linux');
    assert.equal(checkoutDirectory('', ['/work', '/work/linux'], '/work/linux/review'), '/work/linux');
    assert.equal(checkoutDirectory('', ['/work/linux'], '/work/linux'), '/work/linux');
    assert.equal(checkoutDirectory('', ['/work/lin'], '/work/linux/review'), '/work/linux/review', 'a folder whose name is a prefix does not hold it');
    assert.equal(checkoutDirectory('  ', [], '/tmp/series'), '/tmp/series');
  });
});

describe('Send Review to b4 review', () => {
  let sidecar: string;
  beforeEach(() => {
    resetBranch();
    sidecar = join(work, `send-${Math.random().toString(36).slice(2)}.json`);
  });

  it('asks "Add 1 comment and 1 trailer to <branch>?", then adds them to the tip\'s tracking; a second send has nothing to add', T, async () => {
    writeSidecar(sidecar, reviewWithComment());
    const ask = new Answers(true);
    const sent = await sendReviewToB4({ series, sidecar, checkout: made.repo }, ask);
    assert.equal(sent.kind, 'done', sent.message);
    assert.deepEqual(ask.asked, [`Add 1 comment and 1 trailer to ${BRANCH}?`]);
    assert.match(sent.message, new RegExp(`^added 1 comment and 1 trailer to ${BRANCH} \\(${made.tip.slice(0, 12)} -> [0-9a-f]{12}\\); \`b4 review\` shows and sends them$`));
    assert.equal(sent.tip, tipOf(made.repo));
    const tracking = tipTracking(made.repo);
    const mine = reviewOf(patchesOf(tracking)[1]!, REVIEWER.email);
    assert.deepEqual((mine?.['comments'] as { text: string; path: string }[]).map((c) => c.path), ['a/arch/x86/kvm/svm/svm.c']);
    assert.match((mine?.['comments'] as { text: string }[])[0]!.text, /^Without this return KVM writes DR7/);
    assert.deepEqual(reviewOf(seriesOf(tracking), REVIEWER.email)?.['trailers'], [`Reviewed-by: ${REVIEWER.name} <${REVIEWER.email}>`]);
    assert.equal(git(made.repo, ['rev-parse', `${sent.tip}~1`]), git(made.repo, ['rev-parse', `${made.tip}~1`]), 'the tip amended, as b4 does');

    const again = new Answers(true);
    const second = await sendReviewToB4({ series, sidecar, checkout: made.repo }, again);
    assert.equal(second.kind, 'nothing');
    assert.equal(second.message, `nothing to add to ${BRANCH}: it already holds every open comment and trailer of ${sidecar.split('/').pop()}`);
    assert.deepEqual(again.asked, [], 'nothing to confirm');
    assert.equal(tipOf(made.repo), sent.tip, 'nothing written');
  });

  it('writes nothing when the user says no', T, async () => {
    writeSidecar(sidecar, reviewWithComment());
    const out = await sendReviewToB4({ series, sidecar, checkout: made.repo }, new Answers(false));
    assert.deepEqual([out.kind, out.message], ['cancelled', '']);
    assert.equal(tipOf(made.repo), made.tip);
  });

  it('refuses when the branch moved while the user was asked (b4 review saved meanwhile)', T, async () => {
    writeSidecar(sidecar, reviewWithComment());
    let moved = '';
    const ask = new Answers(true, undefined, () => { moved = addReviewBranch(made.repo, made.base, BRANCH, ['[PATCH 0/1] saved by b4 meanwhile']); });
    const out = await sendReviewToB4({ series, sidecar, checkout: made.repo }, ask);
    assert.equal(out.kind, 'failed');
    assert.match(out.message, new RegExp(`^${BRANCH} moved while this ran \\(b4 review saved\\?\\); nothing was written: run it again`));
    assert.equal(tipOf(made.repo), moved, 'b4\'s commit is kept');
  });

  it('says there is no review file yet, or quotes the broken one, and writes nothing', T, async () => {
    const none = await sendReviewToB4({ series, sidecar, checkout: made.repo }, new Answers());
    assert.deepEqual([none.kind, none.message], ['failed', `${sidecar}: no review file yet: add a comment or a trailer to the series first`]);
    writeFileSync(sidecar, '{ "version": 1,\n');
    const broken = await sendReviewToB4({ series, sidecar, checkout: made.repo }, new Answers());
    assert.equal(broken.kind, 'failed');
    assert.match(broken.message, new RegExp(`^${sidecar}:2:1: not valid JSON: .*; fix or remove it, then run this again$`));
    assert.equal(tipOf(made.repo), made.tip);
  });

  it('says when the checkout is not a git repository', T, async () => {
    writeSidecar(sidecar, reviewWithComment());
    const outside = join(work, 'not-a-repo');
    mkdirSync(outside, { recursive: true });
    const out = await sendReviewToB4({ series, sidecar, checkout: outside }, new Answers());
    assert.deepEqual([out.kind, out.message], ['failed', `${outside} is not in a git repository (b4 review keeps its branches in the kernel checkout)`]);
  });

  it('says when the repository has no b4 review branch', T, async () => {
    writeSidecar(sidecar, reviewWithComment());
    const bare = join(work, 'plain');
    mkdirSync(bare, { recursive: true });
    git(bare, ['init', '-q']);
    const out = await sendReviewToB4({ series, sidecar, checkout: bare }, new Answers());
    assert.equal(out.kind, 'failed');
    assert.match(out.message, /has no b4\/review\/\* branch \(`b4 review` makes one when it takes a series\)$/);
  });
});

describe('which branch', () => {
  beforeEach(resetBranch);

  it('the one matching branch among several is taken without asking', T, async () => {
    addReviewBranch(made.repo, made.base, 'b4/review/other-series', ['[PATCH 0/1] KVM: x86: something else', '[PATCH 1/1] KVM: x86: something else'], (n) => `other-${n}@example.org`);
    const ask = new Answers();
    const chosen = await chooseReviewBranch(made.repo, series, undefined, ask);
    assert.ok(chosen !== 'cancelled' && chosen.ok, JSON.stringify(chosen));
    assert.equal(chosen.branch.name, BRANCH);
    assert.deepEqual(ask.offered, []);
  });

  it('several matching: the user picks among all of them, the matching ones first; no pick is a cancel', T, async () => {
    addReviewBranch(made.repo, made.base, 'b4/review/aaa-other', ['[PATCH 0/1] KVM: x86: something else', '[PATCH 1/1] KVM: x86: something else'], (n) => `other-${n}@example.org`);
    addReviewBranch(made.repo, made.base, 'b4/review/zzz-resent', ['[RFC PATCH 0/3] KVM: SVM: SEV-ES debug and DR handling clean-ups'], (n) => `sev-es-debug-${n}@example.org`);
    const ask = new Answers(true, 'b4/review/zzz-resent');
    const chosen = await chooseReviewBranch(made.repo, series, undefined, ask);
    assert.ok(chosen !== 'cancelled' && chosen.ok, JSON.stringify(chosen));
    assert.equal(chosen.branch.name, 'b4/review/zzz-resent');
    assert.deepEqual(ask.offered[0]!.map((c) => [c.name, c.matches]), [[BRANCH, true], ['b4/review/zzz-resent', true], ['b4/review/aaa-other', false]]);
    assert.equal(ask.offered[0]![0]!.subject, '[RFC PATCH 0/3] KVM: SVM: SEV-ES debug and DR handling clean-ups');
    assert.match(ask.asked[0]!, /^several b4 review branches match this series \(.*\)$/, 'the CLI\'s --branch hint is not shown in the editor');
    assert.equal(await chooseReviewBranch(made.repo, series, undefined, new Answers(true, undefined)), 'cancelled');
  });

  it('one branch that does not match is not taken: the message names it', T, async () => {
    git(made.repo, ['update-ref', '-d', `refs/heads/${BRANCH}`]);
    try {
      addReviewBranch(made.repo, made.base, 'b4/review/other-series', ['[PATCH 0/1] KVM: x86: something else', '[PATCH 1/1] KVM: x86: something else'], (n) => `other-${n}@example.org`);
      const ask = new Answers();
      const chosen = await chooseReviewBranch(made.repo, series, undefined, ask);
      assert.deepEqual(chosen, { ok: false, why: 'no b4 review branch matches this series by Message-Id or titles (branches: b4/review/other-series)' });
      assert.deepEqual(ask.offered, []);
    } finally {
      git(made.repo, ['update-ref', `refs/heads/${BRANCH}`, made.tip]);
    }
  });

  it('a branch named by the caller is taken as it is (the change-id is enough)', T, async () => {
    const chosen = await chooseReviewBranch(made.repo, series, BRANCH.slice('b4/review/'.length), new Answers());
    assert.ok(chosen !== 'cancelled' && chosen.ok);
    assert.equal(chosen.branch.tip, made.tip);
    assert.deepEqual(await chooseReviewBranch(made.repo, series, 'b4/review/nope', new Answers()), { ok: false, why: 'there is no branch b4/review/nope' });
  });
});

describe('Import Review from b4 review', () => {
  before(async () => {
    resetBranch();
    const from = join(work, 'exported.json');
    writeSidecar(from, reviewWithComment());
    const sent = await sendReviewToB4({ series, sidecar: from, checkout: made.repo }, new Answers());
    assert.equal(sent.kind, 'done', sent.message);
  });

  it('makes the review file when missing, under the editor\'s reviewer, with the comment on its line; a second import adds nothing', T, async () => {
    const sidecar = join(work, 'imported.json');
    const ask = new Answers();
    const out = await importReviewFromB4({ series, sidecar, checkout: made.repo, reviewer: { name: 'Rita R.', email: '' }, date: new Date('2026-11-03T09:00:00Z') }, ask);
    assert.equal(out.kind, 'done', out.message);
    assert.equal(out.message, `imported 1 comment and 1 trailer from ${BRANCH} into imported.json`);
    assert.deepEqual(ask.asked, [], 'an import asks nothing');
    const review = loadReviewFile(sidecar).review;
    assert.ok(review);
    assert.deepEqual(review.reviewer, { name: 'Rita R.', email: REVIEWER.email }, 'the name from the editor, the email from git in the checkout');
    const placed = placeAnnotations(review, series).placed;
    assert.equal(placed.length, 1);
    assert.match(placed[0]!.annotation.body, /^Without this return KVM writes DR7/);
    assert.match(readFileSync(placed[0]!.patch.file, 'utf8').split('\n')[placed[0]!.patchLine - 1]!, /^-.*guest_state_protected/);
    assert.deepEqual(review.trailers, [{ key: 'Reviewed-by' }]);

    const before = readFileSync(sidecar, 'utf8');
    const again = await importReviewFromB4({ series, sidecar, checkout: made.repo, reviewer: REVIEWER }, new Answers());
    assert.deepEqual([again.kind, again.message], ['nothing', `nothing to import from ${BRANCH}: imported.json already holds every comment and trailer b4 has for ${REVIEWER.email}`]);
    assert.equal(readFileSync(sidecar, 'utf8'), before, 'not written again');
  });

  it('leaves a broken review file as it is', T, async () => {
    const sidecar = join(work, 'broken.json');
    writeFileSync(sidecar, '[]\n');
    const out = await importReviewFromB4({ series, sidecar, checkout: made.repo, reviewer: REVIEWER }, new Answers());
    assert.equal(out.kind, 'failed');
    assert.match(out.message, /^.*broken\.json: .*; fix or remove it, then run this again$/);
    assert.equal(readFileSync(sidecar, 'utf8'), '[]\n');
  });
});
