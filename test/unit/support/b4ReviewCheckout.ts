// A kernel-like checkout with a b4 review branch, made at test time for the editor's b4 review
// moves (translate/b4ReviewMove.ts, editor/b4ReviewCommands.ts): the built-in model's C (our own)
// committed as the base, the example RFC series with a Message-Id on each mail (as it comes from
// the list) applied with `git am` on b4/review/<change-id>, and an empty tracking commit on top
// whose message is the cover text, b4's marker line and the tracking JSON (series and patches
// with their Message-Ids and titles), which is all the moves read. git runs with an argument
// list and without the user's or the system's git config.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TRACKING_MARKER, parseTrackingMessage, type Json } from '../../../extension/core/review/b4Tracking';

export const REVIEWER = { name: 'Rita Reviewer', email: 'rita@example.org' };
export const CHANGE_ID = '20261102-sev-es-debug-v1-0a1b2c';
export const BRANCH = `b4/review/${CHANGE_ID}`;

export interface B4ReviewCheckout {
  /** The work tree (on the review branch). */
  repo: string;
  /** The series files, each with its Message-Id. */
  seriesDir: string;
  base: string;
  /** The tracking commit as made. */
  tip: string;
}

export function git(cwd: string, args: string[], input?: string): string {
  return execFileSync('git', args, {
    cwd, encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_AUTHOR_DATE: '2026-11-02T10:00:00Z', GIT_COMMITTER_DATE: '2026-11-02T10:00:00Z' },
  }).replace(/\n$/, '');
}

const msgid = (n: number): string => `sev-es-debug-${n}@example.org`;

/** The series as sent: each mail's Message-Id after its From: line. */
function writeSentSeries(exampleDir: string, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const names = readdirSync(exampleDir).filter((n) => /^\d{4}-.*\.patch$/.test(n)).sort();
  for (const name of names) {
    const text = readFileSync(join(exampleDir, name), 'utf8').replace(/^(From: .*)$/m, `$1\nMessage-Id: <${msgid(Number(name.slice(0, 4)))}>`);
    writeFileSync(join(dir, name), text);
  }
  return names;
}

function subjectOf(file: string): string {
  return /^Subject: (.*)$/m.exec(readFileSync(file, 'utf8'))?.[1] ?? '';
}

/** The tracking commit's message for a series of these subjects (the first the cover letter's). */
export function trackingMessage(subjects: string[], changeId: string, ids: (n: number) => string = msgid): string {
  const info = (n: number) => ({ msgid: ids(n), to: 'kvm@vger.kernel.org', cc: '', references: '' });
  const tracking = {
    series: { identifier: 'kvm', status: 'reviewing', revision: 1, 'change-id': changeId, subject: subjects[0], 'header-info': info(0) },
    followups: [],
    patches: subjects.slice(1).map((title, i) => ({ title, 'header-info': info(i + 1), followups: [] })),
  };
  return `${subjects[0]}\n\nThe cover letter.\n\n${TRACKING_MARKER}\n# This section is used internally by b4 review for tracking purposes.\n${JSON.stringify(tracking, null, 2)}`;
}

/**
 * `work/linux`, the checkout on BRANCH, and the series in `seriesDir` (default `work/series`;
 * inside the checkout is fine: the files are left untracked).
 */
export function makeB4ReviewCheckout(work: string, modelDir: string, exampleDir: string, seriesDir = join(work, 'series')): B4ReviewCheckout {
  const repo = join(work, 'linux');
  for (const [path, src] of [['arch/x86/kvm/x86.c', 'x86.c'], ['arch/x86/kvm/svm/svm.c', 'svm.c'], ['arch/x86/kvm/svm/sev.c', 'sev.c']] as const) {
    mkdirSync(dirname(join(repo, path)), { recursive: true });
    writeFileSync(join(repo, path), readFileSync(join(modelDir, src), 'utf8'));
  }
  writeFileSync(join(repo, 'Makefile'), '# a kernel-like tree for the tests\n');
  git(repo, ['init', '-q', '-b', 'master']);
  git(repo, ['config', 'user.name', REVIEWER.name]);
  git(repo, ['config', 'user.email', REVIEWER.email]);
  git(repo, ['add', '-A']);
  git(repo, ['commit', '-q', '-m', 'base']);
  const base = git(repo, ['rev-parse', 'HEAD']);
  const names = writeSentSeries(exampleDir, seriesDir);
  git(repo, ['checkout', '-q', '-b', BRANCH]);
  git(repo, ['am', '-q', ...names.filter((n) => !n.startsWith('0000')).map((n) => join(seriesDir, n))]);
  git(repo, ['commit', '-q', '--allow-empty', '-F', '-'], trackingMessage(names.map((n) => subjectOf(join(seriesDir, n))), CHANGE_ID));
  return { repo, seriesDir, base, tip: git(repo, ['rev-parse', 'HEAD']) };
}

/** Another review branch, on the base, tracking a series of these subjects (not checked out). */
export function addReviewBranch(repo: string, base: string, name: string, subjects: string[], ids?: (n: number) => string): string {
  const tip = git(repo, ['commit-tree', `${base}^{tree}`, '-p', base, '-F', '-'], trackingMessage(subjects, name.replace(/^b4\/review\//, ''), ids));
  git(repo, ['update-ref', `refs/heads/${name}`, tip]);
  return tip;
}

/** The tracking JSON at a branch's tip. */
export function tipTracking(repo: string, branch = BRANCH): Json {
  const parsed = parseTrackingMessage(git(repo, ['log', '-1', '--format=%B', `refs/heads/${branch}`]));
  if (!parsed.ok) throw new Error(`${branch}: ${parsed.why}`);
  return parsed.commit.tracking;
}

export function tipOf(repo: string, branch = BRANCH): string {
  return git(repo, ['rev-parse', `refs/heads/${branch}`]);
}
