// The reviewer's annotations as the review files `b4 review` imports (b4's development head,
// read from its own tree, not copied):
// - misc/agent-reviewer.md, "How to save review data -- review files", and
//   src/b4/review/_review.py, _integrate_agent_reviews(): b4 reads the directory
//   `<top>/.git/b4-review/<sha of the b4/review/<change-id> branch tip>/`, holding
//   `identity.txt` (one line "Name <email>", parsed with email.utils.parseaddr; a directory
//   without a name or an address there is skipped whole), `series.txt` (the cover letter's
//   review, stored whole as the reviewer's `note` on `series.reviews[email]`) and `NNNN.txt`
//   (four digits, 1-indexed: 0001.txt is `patches[0]`, in the order of the branch's commits).
// - In NNNN.txt, the text before the first line starting "> diff --git " is the patch's
//   `note`; from there on, lines starting with ">" are the quoted diff and unquoted lines are
//   comments on the last quoted hunk line above them (_extract_comments_from_quoted_reply()).
//   A trimmed quote is allowed: _resolve_comment_positions() finds each comment's line again by
//   its text in `git diff <sha>~1 <sha>`, so the composer's trimmed, interleaved quoting (with
//   the `diff --git` and `@@` lines above each excerpt) is what b4 reads.
// - The directory has no place for trailers: b4 keeps them as `reviews[email].trailers` in the
//   tracking JSON of the branch tip, which these files do not write. They are put on the first
//   lines of the note, so b4 shows them (the note's first line is its summary), as text.
// b4 consumes the directory when it merges it (the tip is amended, the directory removed).

import { escapeControl, oneLine } from '../text/controlChars';
import type { Series } from '../series/types';
import { composeReplyBatch } from './replyComposer';
import type { ReviewFile } from './types';

export interface B4ReviewExport {
  /** File name (identity.txt, series.txt, 0001.txt, ...) to its text, LF line ends. */
  files: Map<string, string>;
  /** Problems that leave something out or that b4 will read otherwise than meant. */
  warnings: string[];
  /** Set when nothing can be written: b4 would skip the whole directory. */
  error?: string;
}

export const IDENTITY_FILE = 'identity.txt';
export const SERIES_FILE = 'series.txt';

/** Name of the review file of the patch at 0-based position `i` in the series. */
export function patchFileName(i: number): string {
  return `${String(i + 1).padStart(4, '0')}.txt`;
}

/** "Name <email>" as parseaddr reads it back: a name with specials is quoted. */
export function identityLine(reviewer: { name: string; email: string }): string | undefined {
  const name = oneLine(reviewer.name).replace(/[<>]/g, '').trim();
  const email = oneLine(reviewer.email).trim();
  if (name === '' || !/^[^\s<>@]+@[^\s<>@]+$/.test(email)) return undefined;
  const shownName = /[()",.:;@[\]\\]/.test(name) ? `"${name.replace(/(["\\])/g, '\\$1')}"` : name;
  return `${shownName} <${email}>`;
}

export function exportB4Review(series: Series, review: ReviewFile, opts: { date?: Date } = {}): B4ReviewExport {
  const files = new Map<string, string>();
  const identity = identityLine(review.reviewer);
  if (identity === undefined) {
    return {
      files, warnings: [],
      error: `b4 needs the reviewer as "Name <email>" in identity.txt and skips the review without it; the review file has ${JSON.stringify(escapeControl(review.reviewer.name))} <${escapeControl(review.reviewer.email)}>: set reviewer.name and reviewer.email`,
    };
  }
  files.set(IDENTITY_FILE, identity + '\n');
  const batch = composeReplyBatch(series, review, { ...(opts.date ? { date: opts.date } : {}), omitTrailers: true });
  const warnings = [...batch.warnings];
  for (const r of batch.replies) {
    let name: string;
    if (r.patch.index === 0) name = SERIES_FILE;
    else {
      // b4 numbers by the branch's commits, which are the series' patches in order
      let at = series.patches.findIndex((p) => p.messageId !== undefined && p.messageId === r.patch.messageId);
      if (at < 0) at = series.patches.findIndex((p, i) => (p.tags.index ?? i + 1) === r.patch.index && p.title === r.patch.title);
      if (at < 0) { warnings.push(`no position in the series for the reply to ${JSON.stringify(escapeControl(r.patch.title))}; it is left out`); continue; }
      name = patchFileName(at);
    }
    for (const w of r.warnings) {
      // threading does not matter to b4; a comment whose line is gone does
      if (/no longer in/.test(w)) warnings.push(`${w}; in ${name} b4 reads it as a comment on the last quoted line`);
    }
    const note = r.trailerLines.join('\n');
    // the attribution line is mail only; b4 would take it for the note
    const quoted = r.comments > 0 ? withoutElisionBeforeDiff(r.body.split('\n').slice(1).join('\n').replace(/^\n+/, '').replace(/\n+$/, '')) : '';
    const text = [note, quoted].filter((t) => t !== '').join('\n\n');
    if (text !== '') files.set(name, text + '\n');
  }
  return { files, warnings };
}

/**
 * The "> [...]" that elides the rest of the commit message above the first `> diff --git` line
 * would be all of the note b4 stores for a patch with comments on its diff only: left out.
 */
function withoutElisionBeforeDiff(text: string): string {
  const at = text.startsWith('> diff --git ') ? 0 : text.indexOf('\n> diff --git ') + 1;
  if (at <= 0) return text;
  const before = text.slice(0, at).replace(/(?:^|\n)(?:> \[\.\.\.\]\n|\n)+$/, (m) => (m.startsWith('\n') ? '\n' : ''));
  return before.trim() === '' ? text.slice(at) : before.replace(/\n*$/, '\n\n') + text.slice(at);
}
