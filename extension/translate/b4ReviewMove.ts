// The editor's two moves between a series' review file (the sidecar) and b4 review's branch in
// the kernel checkout, as `kvm-lens b4-review export|import` makes them (cli/b4Review.ts), with
// the questions the editor asks passed in as functions: which branch when none or several match
// the series, and whether to write. Plain TypeScript: editor/b4ReviewCommands.ts shows the
// questions and the outcome; the unit tests answer them directly.
import { basename, relative, isAbsolute } from 'node:path';
import { loadReviewFile, newReview, saveReviewFile } from '../core/review/annotations';
import {
  findReviewBranch, gitUserEmail, readReviewBranch, repositoryTop, reviewBranchName, reviewBranches, writeReviewBranch,
  type ReviewBranch,
} from '../core/review/b4ReviewBranch';
import { exportToTracking, importFromTracking } from '../core/review/b4ReviewState';
import { patchesOf, reviewOf, seriesOf } from '../core/review/b4Tracking';
import type { ReviewFile } from '../core/review/types';
import type { Series } from '../core/series/types';
import { escapeControl } from '../core/text/controlChars';

/** A branch offered when the series does not say which one is its own. */
export interface BranchChoice {
  name: string;
  /** The series b4 tracks there (its cover letter's subject), or '' when unknown. */
  subject: string;
  /** Whether it matches the series (by Message-Id or titles): several may. */
  matches: boolean;
}

/** What the editor asks the user, and where warnings go. */
export interface B4MoveQuestions {
  /** Which branch (undefined: the user cancelled). `why` says why the series alone did not decide. */
  pickBranch(choices: BranchChoice[], why: string): Promise<string | undefined>;
  /** Whether to write (export only); the question names what will be added and where. */
  confirm(question: string): Promise<boolean>;
  /** One line for the output channel. */
  warn(line: string): void;
}

/** How a move ended: `message` is the one line the user sees ('' when they cancelled). */
export interface MoveOutcome {
  kind: 'done' | 'nothing' | 'cancelled' | 'failed';
  message: string;
  /** The branch moved or read. */
  branch?: string;
  /** Export: the branch's new tip. */
  tip?: string;
}

export interface MoveRequest {
  series: Series;
  /** The review file next to the series. */
  sidecar: string;
  /** Where to look for the kernel checkout (checkoutDirectory()). */
  checkout: string;
  /** A branch named by the caller (b4/review/<change-id> or the change-id), instead of looking. */
  branch?: string;
}

export interface ImportRequest extends MoveRequest {
  /** The reviewer as the editor knows it (kvmLens.reviewer.*, else git config), for a new review file. */
  reviewer: { name: string; email: string };
  /** The date given to the imported comments (default: now). */
  date?: Date;
}

/**
 * Where the kernel checkout is: kvmLens.kernelTree when set, else the workspace folder holding
 * the series, else the series' own directory (git then finds the repository around it).
 */
export function checkoutDirectory(kernelTree: string, workspaceFolders: readonly string[], seriesDir: string): string {
  if (kernelTree.trim() !== '') return kernelTree;
  const holding = workspaceFolders
    .filter((f) => { const r = relative(f, seriesDir); return r === '' || (!r.startsWith('..') && !isAbsolute(r)); })
    .sort((a, b) => b.length - a.length)[0];
  return holding ?? seriesDir;
}

function plural(n: number, one: string): string {
  return `${n} ${one}${n === 1 ? '' : 's'}`;
}

const cancelled: MoveOutcome = { kind: 'cancelled', message: '' };
const failed = (message: string): MoveOutcome => ({ kind: 'failed', message });

/**
 * The series' review branch: the one named, else the single one that matches, else the one the
 * user picks among several. 'cancelled' when the user picked none.
 */
export async function chooseReviewBranch(top: string, series: Series, named: string | undefined, ask: B4MoveQuestions): Promise<{ ok: true; branch: ReviewBranch } | { ok: false; why: string } | 'cancelled'> {
  if (named !== undefined) {
    const read = await readReviewBranch(top, reviewBranchName(named));
    return read.ok ? { ok: true, branch: read.value } : read;
  }
  const found = await findReviewBranch(top, series);
  if (found.ok) return { ok: true, branch: found.value };
  const names = await reviewBranches(top);
  if (names.length < 2 || !('choose' in found)) return { ok: false, why: found.why };
  // the branches findReviewBranch read, with its scores; one it could not read is offered by name
  const scored = new Map(found.read.map((r) => [r.branch.name, r]));
  const choices: BranchChoice[] = names.map((name) => {
    const r = scored.get(name);
    const subject = r ? seriesOf(r.branch.tracking)['subject'] : undefined;
    return { name, subject: typeof subject === 'string' ? subject : '', matches: (r?.score ?? 0) > 0 };
  });
  choices.sort((a, b) => Number(b.matches) - Number(a.matches));
  const picked = await ask.pickBranch(choices, found.why);
  if (picked === undefined) return 'cancelled';
  const read = await readReviewBranch(top, picked);
  return read.ok ? { ok: true, branch: read.value } : read;
}

/** The review file, or why it cannot be used ('missing' when there is none yet). */
function readSidecar(sidecar: string): ReviewFile | 'missing' | { problem: string } {
  const loaded = loadReviewFile(sidecar);
  if (loaded.problems.length > 0) return { problem: `${loaded.problems[0]}; fix or remove it, then run this again` };
  return loaded.review ?? 'missing';
}

/** The repository and branch both moves start from. */
async function branchFor(req: MoveRequest, ask: B4MoveQuestions): Promise<{ top: string; branch: ReviewBranch } | MoveOutcome> {
  const top = await repositoryTop(req.checkout);
  if (!top.ok) return failed(top.why);
  const chosen = await chooseReviewBranch(top.value, req.series, req.branch, ask);
  if (chosen === 'cancelled') return cancelled;
  if (!chosen.ok) return failed(chosen.why);
  return { top: top.value, branch: chosen.branch };
}

/** "Send Review to b4 review": the open comments and trailers of the sidecar added to the branch's tracking commit. */
export async function sendReviewToB4(req: MoveRequest, ask: B4MoveQuestions): Promise<MoveOutcome> {
  if (req.series.patches.length === 0) return failed('the series has no patch to review');
  const review = readSidecar(req.sidecar);
  if (review === 'missing') return failed(`${escapeControl(req.sidecar)}: no review file yet: add a comment or a trailer to the series first`);
  if ('problem' in review) return failed(review.problem);
  const at = await branchFor(req, ask);
  if ('kind' in at) return at;
  const { top, branch } = at;
  const result = exportToTracking(req.series, review, branch.tracking);
  if (result.error !== undefined) return { ...failed(result.error), branch: branch.name };
  for (const w of result.warnings) ask.warn(w);
  const gitEmail = await gitUserEmail(top);
  if (gitEmail !== undefined && gitEmail.toLowerCase() !== review.reviewer.email.trim().toLowerCase()) {
    ask.warn(`b4 sends the review of git's user.email (${escapeControl(gitEmail)}); this one is filed under ${escapeControl(review.reviewer.email)}`);
  }
  if (result.comments + result.trailers === 0) {
    return { kind: 'nothing', branch: branch.name, message: `nothing to add to ${branch.name}: it already holds every open comment and trailer of ${basename(req.sidecar)}` };
  }
  const what = `${plural(result.comments, 'comment')} and ${plural(result.trailers, 'trailer')}`;
  if (!(await ask.confirm(`Add ${what} to ${branch.name}?`))) return { ...cancelled, branch: branch.name };
  const written = await writeReviewBranch(top, branch, result.tracking);
  if (!written.ok) return { ...failed(written.why), branch: branch.name };
  return {
    kind: 'done', branch: branch.name, tip: written.value,
    message: `added ${what} to ${branch.name} (${branch.tip.slice(0, 12)} -> ${written.value.slice(0, 12)}); \`b4 review\` shows and sends them`,
  };
}

/** "Import Review from b4 review": the reviewer's comments and trailers on the branch added to the sidecar (made when missing). */
export async function importReviewFromB4(req: ImportRequest, ask: B4MoveQuestions): Promise<MoveOutcome> {
  if (req.series.patches.length === 0) return failed('the series has no patch to review');
  const review = readSidecar(req.sidecar);
  if (typeof review === 'object' && 'problem' in review) return failed(review.problem);
  const at = await branchFor(req, ask);
  if ('kind' in at) return at;
  const { top, branch } = at;
  // whose review: the review file's reviewer, else the editor's, else git's in the checkout (whose review b4 sends)
  const email = (review !== 'missing' && review.reviewer.email.trim() !== '' ? review.reviewer.email : '')
    || req.reviewer.email.trim() || (await gitUserEmail(top)) || '';
  if (email === '') {
    return { ...failed('whose review to import? set kvmLens.reviewer.email, or `git config user.email` in the kernel checkout'), branch: branch.name };
  }
  let base: ReviewFile;
  if (review === 'missing') {
    // no name in the settings or git config: the one b4 filed the review under
    const entry = [seriesOf(branch.tracking), ...patchesOf(branch.tracking)].map((t) => reviewOf(t, email)).find((e) => typeof e?.['name'] === 'string');
    base = newReview(req.series, { name: req.reviewer.name.trim() || String(entry?.['name'] ?? ''), email });
  } else base = review;
  const result = importFromTracking(req.series, base, branch.tracking, { email, ...(req.date ? { date: req.date } : {}) });
  for (const w of result.warnings) ask.warn(w);
  if (result.comments + result.trailers + result.orphaned === 0) {
    return { kind: 'nothing', branch: branch.name, message: `nothing to import from ${branch.name}: ${basename(req.sidecar)} already holds every comment and trailer b4 has for ${escapeControl(email)}` };
  }
  try {
    const saved = saveReviewFile(req.sidecar, result.review);
    for (const m of saved.messages) ask.warn(m);
  } catch (e) {
    return { ...failed((e as Error).message), branch: branch.name };
  }
  const orphans = result.orphaned > 0 ? ` (${result.orphaned} of them as orphans: their lines are not in the series)` : '';
  return {
    kind: 'done', branch: branch.name,
    message: `imported ${plural(result.comments + result.orphaned, 'comment')}${orphans} and ${plural(result.trailers, 'trailer')} from ${branch.name} into ${basename(req.sidecar)}`,
  };
}
