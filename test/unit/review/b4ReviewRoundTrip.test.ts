// The review moved between the editor's sidecar and b4 review, both ways, in a kernel-like git
// checkout made here (../support/b4ReviewCheckout.ts: our model C as the base, the example series
// applied with `git am` on a b4/review/<change-id> branch), its tracking commit replaced by one
// with every field b4's create_review_branch() writes (b4's development head,
// src/b4/review/_review.py), so the test sees that the fields kvm-lens does not know survive. Where a
// comment lands is checked against git itself: a `b/<file>` line is that line of the file in the
// patch's commit, an `a/<file>` line that line in its parent, a `:message` line that line of the
// commit message after its subject, which is how b4 numbers them.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main } from '../../../extension/cli/main';
import { loadReviewFile, placeAnnotations } from '../../../extension/core/review/annotations';
import { readReviewBranch, writeReviewBranch } from '../../../extension/core/review/b4ReviewBranch';
import { importFromTracking } from '../../../extension/core/review/b4ReviewState';
import { TRACKING_MARKER, parseTrackingMessage, type Json } from '../../../extension/core/review/b4Tracking';
import type { Annotation, ReviewFile, ReviewTrailer } from '../../../extension/core/review/types';
import { readSeries } from '../../../extension/core/series/seriesReader';
import type { HunkLine, Patch, Series } from '../../../extension/core/series/types';
import { EXAMPLE_DIR, ROOT, TEST_TIMEOUT_MS } from '../cli/cliHarness';
import { readB4PatchFile, resolve } from './b4Rules';
import { BRANCH, CHANGE_ID, git, makeB4ReviewCheckout } from '../support/b4ReviewCheckout';

const T = { timeout: TEST_TIMEOUT_MS };
const MODEL = join(ROOT, 'extension/core/model/builtin');
const REVIEWER = { name: 'Zoë Révieweŕ', email: 'zoe@example.org' };
const DATE = '2026-11-05T12:00:00Z';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { out: (t) => { out += t; }, err: (t) => { err += t; }, isTty: false });
  return { code, out, err };
}

let work: string;
let repo: string;
let seriesDir: string;
let series: Series;
let cleanTracking: Json;
let cleanTip: string;

/** The tracking JSON as b4's create_review_branch() writes it for this series. */
function trackingFor(s: Series, base: string, first: string): Json {
  const info = (p: Patch) => ({ msgid: p.messageId ?? '', to: 'kvm@vger.kernel.org', cc: '', references: '', sentdate: 'Thu, 5 Nov 2026 12:00:00 +0000' });
  return {
    series: {
      identifier: 'kvm', status: 'reviewing', revision: 1, 'change-id': CHANGE_ID,
      link: `https://lore.kernel.org/r/${s.coverLetter!.messageId}`, subject: s.coverLetter!.subject,
      fromname: 'A Developer', fromemail: 'dev@example.org', expected: 3, complete: true,
      'base-commit': base, 'prerequisite-commits': [], 'first-patch-commit': first,
      'header-info': info(s.coverLetter!), 'tracked-at': DATE, 'is-rethreaded': false,
    },
    followups: [],
    patches: s.patches.map((p) => ({ title: p.subject, link: `https://lore.kernel.org/r/${p.messageId}`, 'header-info': info(p), followups: [] })),
    'known-revisions': [],
  };
}

function trackingMessage(s: Series, tracking: Json): string {
  const cover = `${s.coverLetter!.subject}\n\n${s.coverLetter!.commitMessage}`;
  return `${cover}\n\n${TRACKING_MARKER}\n# This section is used internally by b4 review for tracking purposes.\n${JSON.stringify(tracking, null, 2)}`;
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'kvm-lens-b4review-'));
  const made = makeB4ReviewCheckout(work, MODEL, EXAMPLE_DIR);
  repo = made.repo;
  seriesDir = made.seriesDir;
  // b4 treats git's user.email as "mine": the reviewer of these tests
  git(repo, ['config', 'user.name', REVIEWER.name]);
  git(repo, ['config', 'user.email', REVIEWER.email]);
  series = await readSeries([seriesDir]);
  assert.equal(series.patches.length, 3);
  assert.ok(series.coverLetter?.messageId, 'the cover letter has its Message-Id');
  const first = git(repo, ['rev-list', '--reverse', `${made.base}..HEAD~1`]).split('\n')[0]!;
  cleanTracking = trackingFor(series, made.base, first);
  git(repo, ['commit', '-q', '--amend', '--allow-empty', '-F', '-'], trackingMessage(series, cleanTracking));
  cleanTip = git(repo, ['rev-parse', 'HEAD']);
});

after(() => rmSync(work, { recursive: true, force: true }));

/** Put the branch back to the tracking commit made in before(). */
function resetBranch(): void {
  git(repo, ['update-ref', `refs/heads/${BRANCH}`, cleanTip]);
  git(repo, ['reset', '-q', '--hard', cleanTip]);
}

function tipTracking(): Json {
  const parsed = parseTrackingMessage(git(repo, ['log', '-1', '--format=%B', BRANCH]));
  assert.ok(parsed.ok, 'the tip is still a tracking commit b4 can read');
  return parsed.commit.tracking;
}

// ---------------------------------------------------------------- the review made in the editor

let n = 0;
function ann(p: Patch, part: Annotation['anchor']['part'], text: string, body: string, extra: Partial<Annotation> = {}, file?: string): Annotation {
  return {
    id: `a${++n}`, patch: { title: p.title, ...(p.messageId ? { messageId: p.messageId } : {}) },
    anchor: { part, text, before: [], ...(file ? { file } : {}) }, body, author: REVIEWER.name, created: DATE, state: 'final', resolved: false, ...extra,
  };
}

function diffLine(p: Patch, pick: (l: HunkLine) => boolean): { text: string; file: string } {
  for (const d of p.diffs) for (const h of d.hunks) for (const l of h.lines) {
    if (pick(l)) return { text: (l.kind === 'added' ? '+' : l.kind === 'removed' ? '-' : ' ') + l.text, file: d.newPath ?? d.oldPath! };
  }
  assert.fail('the example has the line the test comments on');
}

function editorReview(): ReviewFile {
  const [p1, p2, p3] = series.patches as [Patch, Patch, Patch];
  const removed = diffLine(p1, (l) => l.kind === 'removed');
  const added = diffLine(p3, (l) => l.kind === 'added');
  const context = diffLine(p2, (l) => l.kind === 'context' && l.text.trim() !== '');
  const annotations = [
    ann(p1, 'diff', removed.text, 'Is this check dead once guest_state_protected is set?', {}, removed.file),
    ann(p3, 'diff', added.text, 'DR7 reaches the VMSA after LAUNCH_UPDATE_VMSA; who refuses that? A long sentence that the replies wrap at seventy-two columns, as b4 will send it.', {}, added.file),
    ann(p2, 'diff', context.text, 'This context line is where the new check belongs.', {}, context.file),
    ann(p3, 'commit-message', p3.commitMessage.split('\n')[0]!, 'The changelog should name the guest-visible effect.'),
    ann(series.coverLetter!, 'cover-letter', series.coverLetter!.commitMessage.split('\n')[0]!, 'RFC is right for this.'),
    ann(p3, 'diff', added.text, 'A finding nobody confirmed.', { state: 'draft', fromFinding: 'f1' }, added.file),
    ann(p1, 'diff', removed.text, 'Resolved already.', { resolved: true }, removed.file),
  ];
  const trailers: ReviewTrailer[] = [{ key: 'Reviewed-by', patch: { title: p3.title, messageId: p3.messageId! } }, { key: 'Acked-by' }];
  return { version: 1, series: { title: series.coverLetter!.title }, reviewer: REVIEWER, annotations, trailers, orphans: [] };
}

function writeReview(name: string, review: ReviewFile): string {
  const file = join(work, name);
  writeFileSync(file, JSON.stringify(review, null, 2));
  return file;
}

/** What a reviewer sees of an annotation: its patch, its line, its text (whitespace as wrapped). */
function seen(review: ReviewFile): string[] {
  const { placed, orphans } = placeAnnotations(review, series);
  assert.deepEqual(orphans, [], 'every annotation is on a line of the series');
  return placed.map((p) => `${p.patch.title} | ${p.annotation.anchor.part} | ${p.patchLine} | ${p.annotation.body.replace(/\s+/g, ' ')}`).sort();
}

function sent(review: ReviewFile): ReviewFile {
  return { ...review, annotations: review.annotations.filter((a) => !a.resolved && !(a.fromFinding && a.state === 'draft')) };
}

describe('kvm-lens b4-review export: the editor\'s review into b4 review\'s tracking commit', () => {
  it('files each comment where b4 numbers its line, with the line as content, and the trailers as b4 keeps them', T, async () => {
    resetBranch();
    const file = writeReview('editor.json', editorReview());
    const r = await cli(['b4-review', 'export', seriesDir, '--annotations', file, '--repo', repo]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`^added 5 comments and 2 trailers to ${BRANCH} \\(`));
    const t = tipTracking();
    const shas = git(repo, ['rev-list', '--reverse', `${(cleanTracking['series'] as Json)['base-commit']}..${BRANCH}~1`]).split('\n');
    assert.equal(shas.length, 3);
    const patches = t['patches'] as Json[];
    let comments = 0;
    for (const [i, p] of patches.entries()) {
      const mine = ((p['reviews'] as Json | undefined)?.[REVIEWER.email] as Json | undefined);
      for (const c of (mine?.['comments'] as Json[] | undefined) ?? []) {
        comments++;
        const path = String(c['path']);
        const line = Number(c['line']);
        const content = String(c['content']);
        if (path === ':message') {
          const body = git(repo, ['log', '-1', '--format=%B', shas[i]!]).split('\n').slice(1);
          while (body[0]?.trim() === '') body.shift();
          assert.equal(body[line - 1], content, `patch ${i + 1}: :message line ${line} is that line of the commit message`);
        } else {
          const m = /^([ab])\/(.*)$/.exec(path);
          assert.ok(m, `patch ${i + 1}: ${path} is named as git diff names it`);
          const rev = m[1] === 'a' ? `${shas[i]!}~1` : shas[i]!;
          const text = git(repo, ['show', `${rev}:${m[2]!}`]).split('\n')[line - 1];
          assert.equal(text, content.slice(1), `patch ${i + 1}: ${path}:${line} is the commented line in ${m[1] === 'a' ? 'the parent' : 'the commit'}`);
          assert.equal(m[1] === 'a', content.startsWith('-'), 'a removed line on the a/ side, the rest on b/');
        }
        assert.doesNotMatch(String(c['text']), /confirmed|Resolved already/, 'no unconfirmed draft, no resolved comment');
        for (const l of String(c['text']).split('\n')) assert.ok([...l].length <= 72, `wrapped as the replies wrap: ${l}`);
      }
    }
    assert.equal(comments, 4, 'three diff comments and one commit-message comment on the patches');
    const cover = ((t['series'] as Json)['reviews'] as Json)[REVIEWER.email] as Json;
    assert.deepEqual(cover['trailers'], [`Acked-by: ${REVIEWER.name} <${REVIEWER.email}>`], 'the series-wide trailer on the cover letter, where b4 applies it to every patch');
    assert.equal((cover['comments'] as Json[])[0]!['path'], ':message');
    assert.equal(cover['name'], REVIEWER.name);
    const p3 = (patches[2]!['reviews'] as Json)[REVIEWER.email] as Json;
    assert.deepEqual(p3['trailers'], [`Reviewed-by: ${REVIEWER.name} <${REVIEWER.email}>`]);
    // nothing else of b4's changed: its own fields, the tree, the parent
    const strip = (x: Json): Json => JSON.parse(JSON.stringify(x, (k, v) => (k === 'reviews' ? undefined : v)));
    assert.deepEqual(strip(t), strip(cleanTracking));
    assert.equal(git(repo, ['rev-parse', `${BRANCH}~1`]), git(repo, ['rev-parse', `${cleanTip}~1`]));
    assert.equal(git(repo, ['rev-parse', `${BRANCH}^{tree}`]), git(repo, ['rev-parse', `${cleanTip}^{tree}`]));
    assert.match(git(repo, ['log', '-1', '--format=%B', BRANCH]), /^\[RFC PATCH 0\/3\][^\n]*\n\n/, 'the cover text stays first');
  });

  it('run twice, adds nothing the second time; --dry-run writes nothing', T, async () => {
    resetBranch();
    const file = writeReview('twice.json', editorReview());
    assert.equal((await cli(['b4-review', 'export', seriesDir, '--annotations', file, '--repo', repo])).code, 0);
    const tip = git(repo, ['rev-parse', BRANCH]);
    const again = await cli(['b4-review', 'export', seriesDir, '--annotations', file, '--repo', repo]);
    assert.equal(again.code, 0);
    assert.match(again.out, /^nothing to add to b4\/review\//);
    assert.equal(git(repo, ['rev-parse', BRANCH]), tip);
    resetBranch();
    const dry = await cli(['b4-review', 'export', seriesDir, '--annotations', file, '--repo', repo, '--dry-run']);
    assert.match(dry.out, /^would add 5 comments and 2 trailers/);
    assert.equal(git(repo, ['rev-parse', BRANCH]), cleanTip);
  });

  it('leaves a patch alone whose reply was hand-edited in b4 (b4 sends that buffer as it stands), and says so', T, async () => {
    resetBranch();
    const tracking = structuredClone(cleanTracking);
    ((tracking['patches'] as Json[])[1]!)['reviews'] = { [REVIEWER.email]: { name: REVIEWER.name, reply: '> +\tfoo\n\nMy own words.\n' } };
    git(repo, ['commit', '-q', '--amend', '--allow-empty', '-F', '-'], trackingMessage(series, tracking));
    const file = writeReview('edited.json', editorReview());
    const r = await cli(['b4-review', 'export', seriesDir, '--annotations', file, '--repo', repo]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /patch 2 .* has a reply you edited in b4 review/);
    const p2 = ((tipTracking()['patches'] as Json[])[1]!['reviews'] as Json)[REVIEWER.email] as Json;
    assert.deepEqual(p2, { name: REVIEWER.name, reply: '> +\tfoo\n\nMy own words.\n' });
  });

  it('refuses to move a branch whose tip changed since it was read (b4 review saved meanwhile)', T, async () => {
    resetBranch();
    const read = await readReviewBranch(repo, BRANCH);
    assert.ok(read.ok);
    git(repo, ['commit', '-q', '--amend', '--allow-empty', '-F', '-'], trackingMessage(series, { ...cleanTracking, followups: [{ fromemail: 'x@example.org' }] }));
    const moved = git(repo, ['rev-parse', BRANCH]);
    const w = await writeReviewBranch(repo, read.value, read.value.tracking);
    assert.equal(w.ok, false);
    assert.match(w.ok ? '' : w.why, /moved while this ran/);
    assert.equal(git(repo, ['rev-parse', BRANCH]), moved);
  });
});

describe('kvm-lens b4-review import, and the round trip', () => {
  it('editor -> b4 -> editor: a fresh review file gets the same comments on the same lines, and the same trailers', T, async () => {
    resetBranch();
    const original = editorReview();
    const file = writeReview('source.json', original);
    assert.equal((await cli(['b4-review', 'export', seriesDir, '--annotations', file, '--repo', repo])).code, 0);
    const target = join(work, 'imported.json');
    const r = await cli(['b4-review', 'import', seriesDir, '--annotations', target, '--repo', repo, '--date', DATE]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^imported 5 comments and 2 trailers from b4\/review\//);
    const back = loadReviewFile(target);
    assert.deepEqual(back.problems, []);
    const review = back.review!;
    assert.deepEqual(review.reviewer, REVIEWER, 'the reviewer is the one b4 filed the review under');
    assert.deepEqual(seen(review), seen(sent(original)));
    const trailerKeys = (x: ReviewFile) => x.trailers.map((t) => `${t.key} ${t.patch?.title ?? '(series)'}`).sort();
    assert.deepEqual(trailerKeys(review), trailerKeys(original));
    for (const a of review.annotations) assert.equal(a.state, 'final', 'b4 comments are the reviewer\'s to send');

    // and back again: b4 already holds all of it
    const again = await cli(['b4-review', 'export', seriesDir, '--annotations', target, '--repo', repo]);
    assert.match(again.out, /^nothing to add/);
    const twice = await cli(['b4-review', 'import', seriesDir, '--annotations', target, '--repo', repo]);
    assert.match(twice.out, /^nothing to import/);
  });

  it('b4 -> editor: comments b4 made (a/ and b/ paths, drifted line numbers fixed by content, the cover letter), others\' comments left, unknown lines kept as orphans', T, async () => {
    const tracking = structuredClone(cleanTracking);
    const [p1, , p3] = series.patches as [Patch, Patch, Patch];
    const removed = diffLine(p1, (l) => l.kind === 'removed');
    const added = diffLine(p3, (l) => l.kind === 'added');
    const patches = tracking['patches'] as Json[];
    patches[0]!['reviews'] = {
      [REVIEWER.email]: { name: REVIEWER.name, comments: [{ path: `a/${removed.file}`, line: 3, text: 'Why remove this?', content: removed.text }], trailers: ['NACKed-by: Zoë <zoe@example.org>'] },
      'sashiko@example.org': { name: 'sashiko', comments: [{ path: `b/${removed.file}`, line: 10, text: 'bot says' }] },
    };
    patches[2]!['reviews'] = {
      [REVIEWER.email]: {
        name: REVIEWER.name,
        comments: [
          { path: `b/${added.file}`, line: 1, text: 'Found by its content, not its number.', content: added.text },
          { path: 'b/arch/x86/kvm/nowhere.c', line: 7, text: 'A line this series does not have.', content: '+\tgone();' },
        ],
        trailers: ['Reviewed-by: Zoë Révieweŕ <zoe@example.org>'],
      },
    };
    (tracking['series'] as Json)['reviews'] = { [REVIEWER.email]: { name: REVIEWER.name, comments: [{ path: ':message', line: 1, text: 'Thanks for the cover letter.', content: series.coverLetter!.commitMessage.split('\n')[0] }] } };
    const empty: ReviewFile = { version: 1, series: { title: 'x' }, reviewer: REVIEWER, annotations: [], trailers: [], orphans: [] };
    const r = importFromTracking(series, empty, tracking, { date: new Date(DATE) });
    assert.equal(r.comments, 3);
    assert.equal(r.orphaned, 1);
    assert.equal(r.trailers, 1);
    assert.match(r.warnings.join('\n'), /NACKed-by.*stays in b4/);
    assert.match(r.warnings.join('\n'), /1 comment by sashiko@example.org; only yours/);
    const byBody = new Map(placeAnnotations(r.review, series).placed.map((p) => [p.annotation.body, p]));
    assert.equal(byBody.get('Why remove this?')!.annotation.anchor.text, removed.text);
    assert.equal(byBody.get('Found by its content, not its number.')!.annotation.anchor.text, added.text);
    assert.equal(byBody.get('Thanks for the cover letter.')!.patch, series.coverLetter);
    assert.equal(r.review.orphans[0]!.body, 'A line this series does not have.');
    assert.equal(r.review.orphans[0]!.anchor.file, 'arch/x86/kvm/nowhere.c');
  });

  it('the .git/b4-review/ files of `reply --b4-review`, once b4 has merged them, import as the same diff comments', T, async () => {
    const original = editorReview();
    const file = writeReview('dir.json', original);
    const dir = join(work, 'b4-review-dir');
    const r = await cli(['reply', seriesDir, '--annotations', file, '--b4-review', dir, '--date', DATE]);
    assert.equal(r.code, 0, r.err);
    // b4's _integrate_agent_reviews(): NNNN.txt's comments, found again by content, on patches[N-1]
    const tracking = structuredClone(cleanTracking);
    const patches = tracking['patches'] as Json[];
    series.patches.forEach((p, i) => {
      const name = `${String(i + 1).padStart(4, '0')}.txt`;
      if (!readdirSync(dir).includes(name)) return;
      const read = readB4PatchFile(readFileSync(join(dir, name), 'utf8'));
      const comments = read.comments.map((c) => {
        const at = resolve(c, p);
        const side = c.content?.startsWith('-') ? 'a' : 'b';
        return { path: `${side}/${at.path}`, line: at.line, text: c.text, ...(c.content !== undefined ? { content: c.content } : {}) };
      });
      patches[i]!['reviews'] = { [REVIEWER.email]: { name: REVIEWER.name, ...(comments.length ? { comments } : {}), ...(read.note ? { note: read.note } : {}) } };
    });
    const empty: ReviewFile = { version: 1, series: { title: 'x' }, reviewer: REVIEWER, annotations: [], trailers: [], orphans: [] };
    const back = importFromTracking(series, empty, tracking, { date: new Date(DATE) });
    const diffOnly = (x: ReviewFile): ReviewFile => ({ ...x, annotations: x.annotations.filter((a) => a.anchor.part === 'diff') });
    assert.deepEqual(seen(back.review), seen(diffOnly(sent(original))));
  });
});

describe('kvm-lens b4-review: bad input is one clear line', () => {
  it('no repository, no branch, an unknown branch, a tip that is not a tracking commit, no action', T, async () => {
    const file = writeReview('bad.json', editorReview());
    const outside = mkdtempSync(join(tmpdir(), 'kvm-lens-norepo-'));
    let none: Awaited<ReturnType<typeof cli>>;
    try {
      none = await cli(['b4-review', 'import', seriesDir, '--annotations', file, '--repo', outside]);
    } finally { rmSync(outside, { recursive: true, force: true }); }
    assert.equal(none.code, 2);
    assert.match(none.err, /not in a git repository/);
    const unknown = await cli(['b4-review', 'export', seriesDir, '--annotations', file, '--repo', repo, '--branch', 'nope']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /there is no branch b4\/review\/nope/);
    git(repo, ['branch', '-f', 'b4/review/plain', 'master']);
    const notTracking = await cli(['b4-review', 'export', seriesDir, '--annotations', file, '--repo', repo, '--branch', 'plain']);
    assert.equal(notTracking.code, 2);
    assert.match(notTracking.err, /b4\/review\/plain: its tip commit has no "--- b4-review-tracking ---" line/);
    git(repo, ['branch', '-f', 'b4/review/copy', BRANCH]);
    const several = await cli(['b4-review', 'export', seriesDir, '--annotations', file, '--repo', repo]);
    git(repo, ['branch', '-D', 'b4/review/copy']);
    assert.equal(several.code, 2);
    assert.match(several.err, new RegExp(`several b4 review branches match this series \\(${BRANCH}, b4/review/copy\\): name one with --branch\n$`));
    const noAction = await cli(['b4-review', seriesDir]);
    assert.equal(noAction.code, 2);
    assert.match(noAction.err, /the action is import or export/);
    for (const x of [none, unknown, notTracking, several, noAction]) assert.ok(!/\n\s+at /.test(x.err), 'no stack trace');
  });
});
