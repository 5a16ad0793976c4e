// b4 review's import rules, read with a small parser of our own written from b4's own tree
// (misc/agent-reviewer.md and _integrate_agent_reviews() / _extract_comments_from_quoted_reply()
// in src/b4/review/_review.py; see core/review/b4ReviewExport.ts): for the tests that check what
// b4 will read from the files we write.

import type { Patch } from '../../../extension/core/series/types';

export interface B4Comment { path: string; line: number; text: string; content?: string }
export interface B4PatchReview { note: string; comments: B4Comment[]; quoted: string[] }

export function readB4PatchFile(text: string): B4PatchReview {
  let note = '';
  let diff = '';
  if (text.startsWith('> diff --git ')) diff = text;
  else {
    const at = text.indexOf('\n> diff --git ');
    if (at < 0) note = text.trim();
    else { note = text.slice(0, at).trim(); diff = text.slice(at + 1); }
  }
  const comments: B4Comment[] = [];
  const quoted: string[] = [];
  let aFile = ''; let bFile = ''; let a = 0; let b = 0; let inHunk = false;
  let last: { path: string; line: number; content?: string } | undefined;
  let pending: string[] = [];
  const flush = (): void => {
    const t = pending.join('\n').trim();
    if (t !== '' && last) comments.push({ ...last, text: t });
    pending = [];
  };
  for (const line of diff === '' ? [] : diff.split('\n')) {
    if (!line.startsWith('>')) { pending.push(line); continue; }
    flush();
    const raw = line.startsWith('> ') ? line.slice(2) : line.slice(1);
    quoted.push(raw);
    const g = /^diff --git a\/(.*) b\/(.*)$/.exec(raw);
    if (g) { aFile = g[1]!; bFile = g[2]!; inHunk = false; continue; }
    if (raw.startsWith('--- ') || raw.startsWith('+++ ')) continue;
    const h = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(raw);
    if (h) { a = Number(h[1]); b = Number(h[2]); inHunk = true; last = { path: bFile, line: b }; continue; }
    if (!inHunk) continue;
    if (raw.startsWith('-')) last = { path: aFile, line: a++, content: raw };
    else if (raw.startsWith('+')) last = { path: bFile, line: b++, content: raw };
    else if (raw.startsWith(' ') || raw === '') { last = { path: bFile, line: b, content: raw }; a++; b++; }
  }
  flush();
  return { note, comments, quoted };
}

/** Every line of the patch's real diff with the place b4 gives it (old side for removed lines). */
export function realLines(p: Patch): { path: string; line: number; content: string }[] {
  const out: { path: string; line: number; content: string }[] = [];
  for (const d of p.diffs) {
    for (const h of d.hunks) {
      for (const l of h.lines) {
        const prefix = l.kind === 'added' ? '+' : l.kind === 'removed' ? '-' : ' ';
        out.push(l.kind === 'removed' ? { path: d.oldPath!, line: l.oldLine!, content: prefix + l.text } : { path: d.newPath!, line: l.newLine!, content: prefix + l.text });
      }
    }
  }
  return out;
}

/** A comment's place found again by its text, the occurrence nearest the counted one (as b4 does). */
export function resolve(c: B4Comment, p: Patch): { path: string; line: number } {
  const bare = (s: string): string => (s !== '' && '+- '.includes(s[0]!) ? s.slice(1) : s);
  const hits = realLines(p).filter((r) => c.content !== undefined && bare(r.content) === bare(c.content));
  if (hits.length === 0) return { path: c.path, line: c.line };
  hits.sort((x, y) => Number(x.path !== c.path) - Number(y.path !== c.path) || Math.abs(x.line - c.line) - Math.abs(y.line - c.line));
  return { path: hits[0]!.path, line: hits[0]!.line };
}

/** email.utils.parseaddr's reading of "Name <email>" / "\"Name\" <email>" for the lines we write. */
export function parseIdentity(line: string): { name: string; email: string } | undefined {
  const m = /^\s*(?:"((?:[^"\\]|\\.)*)"|([^<"]*?))\s*<([^<>\s]+@[^<>\s]+)>\s*$/.exec(line);
  if (!m) return undefined;
  return { name: (m[1]?.replace(/\\(.)/g, '$1') ?? m[2] ?? '').trim(), email: m[3]! };
}

