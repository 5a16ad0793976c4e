// `kvm-lens b4-review import|export <series...> --annotations FILE`: the review moved between
// the sidecar and b4 review's branch in the kernel checkout (core/review/b4ReviewState.ts,
// b4ReviewBranch.ts). `export` adds the reviewer's comments and trailers to the branch's
// tracking commit, as `b4 review` itself saves them, so `b4 review` shows and sends them;
// `import` brings the comments and trailers b4 holds for the reviewer into the sidecar.

import { existsSync } from 'node:fs';
import { DEFAULT_MAX_INPUT_BYTES } from '../core/io/boundedRead';
import { newReview, saveReviewFile, sidecarPath } from '../core/review/annotations';
import { findReviewBranch, gitUserEmail, repositoryTop, writeReviewBranch } from '../core/review/b4ReviewBranch';
import { exportToTracking, importFromTracking } from '../core/review/b4ReviewState';
import { patchesOf, reviewOf, seriesOf } from '../core/review/b4Tracking';
import type { ReviewFile } from '../core/review/types';
import { readSeries } from '../core/series/seriesReader';
import { EXIT_BAD_INPUT, EXIT_CLEAN, exitStatusHelp } from './exitStatus';
import { inputsPhrase, problemLine, shown } from './messages';
import { optionWords, sizeOrDate } from './optionWords';
import { readReviewInput } from './reviewFileInput';

export interface B4ReviewIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

export interface B4ReviewOptions {
  action: 'import' | 'export';
  inputs: string[];
  annotations?: string;
  branch?: string;
  repo?: string;
  reviewer?: string;
  dryRun: boolean;
  date?: Date;
  maxInputBytes?: number;
  help: boolean;
}

const NAME = 'kvm-lens b4-review';

export function b4ReviewUsage(): string {
  return `Usage: ${NAME} export <inputs...> [--annotations FILE] [options]
       ${NAME} import <inputs...> [--annotations FILE] [options]

Moves a review between the editor's review file and \`b4 review\`, which keeps each
reviewer's comments and trailers in the tracking commit of its b4/review/<change-id>
branch in the kernel checkout.

  export  adds your open comments (each on its diff or commit-message line) and your
          trailers to that commit, as b4 review saves them: \`b4 review\` shows them and
          sends them with the rest of your review. Nothing there is removed or changed.
  import  adds the comments and trailers b4 holds for you to the review file, on the
          lines they were made on; a comment whose line is not in the series is kept as
          an orphan. Comments already in the review file are not added twice.

Options:
  --annotations FILE  the review file (default: next to the first input, as the editor
                      keeps it); import creates it when missing
  --branch NAME       the b4 review branch (b4/review/<change-id>, or the change-id);
                      default: the one branch whose Message-Ids or titles match the series
  --repo DIR          the kernel checkout (default: the current directory's)
  --reviewer EMAIL    import: whose review to take (default: the review file's reviewer,
                      else \`git config user.email\`, whose review b4 sends)
  --dry-run           export: say what would be added, write nothing
  --date ISO-DATE     import: the date given to the imported comments (default: now)
  --max-input-size SIZE  refuse a patch file or review file larger than SIZE bytes
  -h, --help          show this help and exit

${exitStatusHelp('the review was moved, or there was nothing to move')}`;
}

export function parseB4ReviewArgs(argv: string[]): { ok: true; options: B4ReviewOptions } | { ok: false; message: string } {
  const fail = (m: string): { ok: false; message: string } => ({ ok: false, message: `${NAME}: ${m} (see ${NAME} --help)` });
  const o: B4ReviewOptions = { action: 'export', inputs: [], dryRun: false, help: false };
  let action: string | undefined;
  const words = optionWords(argv, ['--dry-run'], ['--annotations', '--branch', '--repo', '--reviewer', '--date', '--max-input-size']);
  if (typeof words === 'string') return fail(words);
  for (const w of words) {
    if (w.kind === 'positional') {
      if (action === undefined) action = w.value;
      else o.inputs.push(w.value);
      continue;
    }
    if (w.kind === 'flag') {
      if (w.name === '--dry-run') o.dryRun = true;
      else if (w.name !== '--debug') o.help = true;
      continue;
    }
    const { name, value } = w;
    if (name === '--annotations') o.annotations = value;
    else if (name === '--branch') o.branch = value;
    else if (name === '--repo') o.repo = value;
    else if (name === '--reviewer') o.reviewer = value;
    else {
      const bad = sizeOrDate(o, name, value);
      if (bad !== undefined) return fail(bad);
    }
  }
  if (o.help) return { ok: true, options: o };
  if (action !== 'import' && action !== 'export') return fail(action === undefined ? 'needs import or export' : `the action is import or export, not ${JSON.stringify(action)}`);
  o.action = action;
  if (o.inputs.length === 0) return fail('needs at least one patch, mbox or directory');
  return { ok: true, options: o };
}

function plural(n: number, one: string): string {
  return `${n} ${one}${n === 1 ? '' : 's'}`;
}

async function readReview(file: string, maxBytes: number, io: B4ReviewIo): Promise<ReviewFile | undefined | 'missing'> {
  return existsSync(file) ? readReviewInput(file, maxBytes, io.err, NAME) : 'missing';
}

export async function b4ReviewCommand(argv: string[], io: B4ReviewIo): Promise<number> {
  const parsed = parseB4ReviewArgs(argv);
  if (!parsed.ok) { io.err(shown(parsed.message) + '\n'); return EXIT_BAD_INPUT; }
  const o = parsed.options;
  if (o.help) { io.out(b4ReviewUsage()); return EXIT_CLEAN; }
  const maxBytes = o.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES;
  const file = o.annotations ?? sidecarPath(o.inputs[0]!);

  const series = await readSeries(o.inputs, { maxInputBytes: maxBytes });
  let failed = false;
  for (const p of series.problems) {
    io.err(problemLine(p) + '\n');
    if (p.severity === 'error') failed = true;
  }
  if (series.patches.length === 0) { io.err(`${NAME}: no patch in ${inputsPhrase(o.inputs)}\n`); return EXIT_BAD_INPUT; }

  const top = await repositoryTop(o.repo ?? process.cwd());
  if (!top.ok) { io.err(`${NAME}: ${shown(top.why)}\n`); return EXIT_BAD_INPUT; }
  const branch = await findReviewBranch(top.value, series, o.branch);
  if (!branch.ok) { io.err(`${NAME}: ${shown(branch.why)}${'choose' in branch ? ': name one with --branch' : ''}\n`); return EXIT_BAD_INPUT; }
  const b = branch.value;
  const gitEmail = await gitUserEmail(top.value);

  const review = await readReview(file, maxBytes, io);
  if (review === undefined) return EXIT_BAD_INPUT;

  if (o.action === 'export') {
    if (review === 'missing') { io.err(`${NAME}: ${shown(file)}: no review file there (give it with --annotations)\n`); return EXIT_BAD_INPUT; }
    const result = exportToTracking(series, review, b.tracking);
    if (result.error !== undefined) { io.err(`${NAME}: ${shown(result.error)}\n`); return EXIT_BAD_INPUT; }
    for (const w of result.warnings) io.err(`${NAME}: warning: ${shown(w)}\n`);
    if (gitEmail !== undefined && gitEmail.toLowerCase() !== review.reviewer.email.trim().toLowerCase()) {
      io.err(`${NAME}: warning: b4 sends the review of git's user.email (${shown(gitEmail)}); this one is filed under ${shown(review.reviewer.email)}\n`);
    }
    const what = `${plural(result.comments, 'comment')} and ${plural(result.trailers, 'trailer')}`;
    if (result.comments + result.trailers === 0) {
      io.out(`nothing to add to ${b.name}: it already holds every open comment and trailer of ${shown(file)}\n`);
      return failed ? EXIT_BAD_INPUT : EXIT_CLEAN;
    }
    if (o.dryRun) { io.out(`would add ${what} to ${b.name} (--dry-run: nothing written)\n`); return failed ? EXIT_BAD_INPUT : EXIT_CLEAN; }
    const written = await writeReviewBranch(top.value, b, result.tracking);
    if (!written.ok) { io.err(`${NAME}: ${shown(written.why)}\n`); return EXIT_BAD_INPUT; }
    io.out(`added ${what} to ${b.name} (${b.tip.slice(0, 12)} -> ${written.value.slice(0, 12)}); \`b4 review\` shows and sends them\n`);
    return failed ? EXIT_BAD_INPUT : EXIT_CLEAN;
  }

  // import: whose review, and into which file
  const email = o.reviewer ?? (review !== 'missing' && review.reviewer.email.trim() !== '' ? review.reviewer.email : gitEmail);
  if (email === undefined) { io.err(`${NAME}: whose review to import? give --reviewer EMAIL (the review file names no reviewer and git has no user.email)\n`); return EXIT_BAD_INPUT; }
  let base: ReviewFile;
  if (review === 'missing') {
    const entry = [seriesOf(b.tracking), ...patchesOf(b.tracking)].map((t) => reviewOf(t, email)).find((e) => typeof e?.['name'] === 'string');
    base = newReview(series, { name: String(entry?.['name'] ?? ''), email });
  } else base = review;
  const result = importFromTracking(series, base, b.tracking, { email, ...(o.date ? { date: o.date } : {}) });
  for (const w of result.warnings) io.err(`${NAME}: warning: ${shown(w)}\n`);
  if (result.comments + result.trailers + result.orphaned === 0) {
    io.out(`nothing to import from ${b.name}: ${shown(file)} already holds every comment and trailer b4 has for ${shown(email)}\n`);
    return failed ? EXIT_BAD_INPUT : EXIT_CLEAN;
  }
  try {
    const saved = saveReviewFile(file, result.review);
    for (const m of saved.messages) io.err(`${NAME}: ${shown(m)}\n`);
  } catch (e) {
    io.err(`${NAME}: ${shown((e as Error).message)}\n`);
    return EXIT_BAD_INPUT;
  }
  const orphans = result.orphaned > 0 ? ` (${result.orphaned} of them as orphans: their lines are not in the series)` : '';
  io.out(`imported ${plural(result.comments + result.orphaned, 'comment')}${orphans} and ${plural(result.trailers, 'trailer')} from ${b.name} into ${shown(file)}\n`);
  return failed ? EXIT_BAD_INPUT : EXIT_CLEAN;
}
