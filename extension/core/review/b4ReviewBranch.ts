// b4 review's branches in the reviewer's kernel checkout: which `b4/review/<change-id>` branch
// holds a series, its tracking commit, and writing that commit back the way b4 does
// (save_tracking_ref: a new commit with the tip's tree and parent, made with commit-tree so no
// hook or signing runs, then the branch moved). The branch is moved only if its tip is still the
// commit that was read, so a `b4 review` session saving at the same moment is never overwritten.

import { firstError, runGit } from '../io/gitProcess';
import type { Series } from '../series/types';
import { normTitle } from './annotations';
import { escapeControl } from '../text/controlChars';
import {
  REVIEW_BRANCH_PREFIX, formatTrackingMessage, msgidOf, parseTrackingMessage, patchesOf, seriesOf, trackedTitle, type Json, type TrackingCommit,
} from './b4Tracking';

export interface ReviewBranch extends TrackingCommit {
  /** e.g. "b4/review/20261105-sev-es-debug-v1-abc123" */
  name: string;
  /** The tip commit's id when it was read. */
  tip: string;
}

export type Found<T> = { ok: true; value: T } | { ok: false; why: string };

/** The work tree's top level of the repository around `dir`. */
export async function repositoryTop(dir: string): Promise<Found<string>> {
  const r = await runGit(dir, ['rev-parse', '--show-toplevel']);
  if (r.code !== 0) {
    const why = firstError(r);
    return { ok: false, why: /not a git repository/i.test(why) ? `${dir} is not in a git repository (b4 review keeps its branches in the kernel checkout)` : why };
  }
  const top = r.stdout.toString('utf8').trim();
  return top ? { ok: true, value: top } : { ok: false, why: `${dir} is in a bare repository; b4 review needs a work tree` };
}

/** "b4/review/x" for "x", "b4/review/x" or "refs/heads/b4/review/x". */
export function reviewBranchName(given: string): string {
  const name = given.replace(/^refs\/heads\//, '');
  return name.startsWith(REVIEW_BRANCH_PREFIX) ? name : REVIEW_BRANCH_PREFIX + name;
}

export async function reviewBranches(top: string): Promise<string[]> {
  const r = await runGit(top, ['for-each-ref', '--format=%(refname:short)', `refs/heads/${REVIEW_BRANCH_PREFIX}`]);
  return r.code === 0 ? r.stdout.toString('utf8').split('\n').filter((l) => l.startsWith(REVIEW_BRANCH_PREFIX)) : [];
}

export async function readReviewBranch(top: string, name: string): Promise<Found<ReviewBranch>> {
  const ref = `refs/heads/${name}`;
  const tip = await runGit(top, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`]);
  if (tip.code !== 0) return { ok: false, why: `there is no branch ${escapeControl(name)}` };
  const sha = tip.stdout.toString('utf8').trim();
  // the raw commit, not `git log`, whose output a configuration (log.showSignature) can add to
  const raw = await runGit(top, ['cat-file', 'commit', sha]);
  if (raw.code !== 0) return { ok: false, why: `${escapeControl(name)}: ${firstError(raw)}` };
  const text = raw.stdout.toString('utf8');
  const body = text.indexOf('\n\n');
  const parsed = parseTrackingMessage(body < 0 ? '' : text.slice(body + 2));
  if (!parsed.ok) return { ok: false, why: `${escapeControl(name)}: ${parsed.why}` };
  return { ok: true, value: { ...parsed.commit, name, tip: sha } };
}

/** How well a branch's tracking matches the series: 2 by Message-Id, 1 by every title, 0 not. */
export function matchScore(series: Series, tracking: Json): number {
  const ids = new Set([series.coverLetter, ...series.patches].flatMap((p) => (p?.messageId !== undefined ? [p.messageId] : [])));
  const tracked = patchesOf(tracking);
  if ([seriesOf(tracking), ...tracked].some((t) => { const id = msgidOf(t); return id !== undefined && ids.has(id); })) return 2;
  const titles = tracked.map(trackedTitle);
  if (titles.length > 0 && titles.length === series.patches.length && series.patches.every((p, i) => normTitle(p.title) === titles[i])) return 1;
  return 0;
}

/** A review branch that could be read, and how well it matches the series (matchScore). */
export interface ScoredBranch { branch: ReviewBranch; score: number }

/**
 * The review branch of `series`: the one named, else the single branch that matches it best
 * (Message-Ids, then titles). Several or none: why, with the branches to choose from, and
 * `choose` set, with every branch it read (so a caller offering a pick reads none again).
 */
export async function findReviewBranch(top: string, series: Series, named?: string): Promise<Found<ReviewBranch> | { ok: false; why: string; choose: true; read: ScoredBranch[] }> {
  if (named !== undefined) return readReviewBranch(top, reviewBranchName(named));
  const names = await reviewBranches(top);
  if (names.length === 0) return { ok: false, why: `${top} has no ${REVIEW_BRANCH_PREFIX}* branch (\`b4 review\` makes one when it takes a series)` };
  const scored: ScoredBranch[] = [];
  for (const name of names) {
    const read = await readReviewBranch(top, name);
    if (read.ok) scored.push({ branch: read.value, score: matchScore(series, read.value.tracking) });
  }
  const best = Math.max(0, ...scored.map((s) => s.score));
  const winners = scored.filter((s) => s.score === best && best > 0);
  if (winners.length === 1) return { ok: true, value: winners[0]!.branch };
  const list = (winners.length > 1 ? winners.map((w) => w.branch.name) : names).slice(0, 8).join(', ');
  // `choose`: the caller names one (the CLI's --branch, the editor's pick)
  return {
    ok: false, choose: true, read: scored,
    why: winners.length > 1
      ? `several b4 review branches match this series (${list})`
      : `no b4 review branch matches this series by Message-Id or titles (branches: ${list})`,
  };
}

/** Write `tracking` as the branch's tip, as b4 does; refused if the tip moved since it was read. */
export async function writeReviewBranch(top: string, branch: ReviewBranch, tracking: Json): Promise<Found<string>> {
  if (!branch.name.startsWith(REVIEW_BRANCH_PREFIX)) return { ok: false, why: `${escapeControl(branch.name)} is not a b4 review branch` };
  const tree = await runGit(top, ['rev-parse', '--verify', '--end-of-options', `${branch.tip}^{tree}`]);
  const parent = await runGit(top, ['rev-parse', '--verify', '--end-of-options', `${branch.tip}~1`]);
  if (tree.code !== 0 || parent.code !== 0) return { ok: false, why: `${escapeControl(branch.name)}: ${firstError(tree.code !== 0 ? tree : parent)}` };
  const message = formatTrackingMessage({ cover: branch.cover, tracking });
  const made = await runGit(top, ['commit-tree', tree.stdout.toString('utf8').trim(), '-p', parent.stdout.toString('utf8').trim(), '-F', '-'], message);
  if (made.code !== 0) return { ok: false, why: `git commit-tree: ${firstError(made)}` };
  const sha = made.stdout.toString('utf8').trim();
  const moved = await runGit(top, ['update-ref', '-m', 'kvm-lens: review comments for b4 review', `refs/heads/${branch.name}`, sha, branch.tip]);
  if (moved.code !== 0) return { ok: false, why: `${escapeControl(branch.name)} moved while this ran (b4 review saved?); nothing was written: run it again (${firstError(moved)})` };
  return { ok: true, value: sha };
}

/** `git config user.email` in the checkout: whose review b4 treats as "mine". */
export async function gitUserEmail(top: string): Promise<string | undefined> {
  const r = await runGit(top, ['config', '--get', 'user.email']);
  const email = r.code === 0 ? r.stdout.toString('utf8').trim() : '';
  return email === '' ? undefined : email;
}
