// Where each line of a series' post-image came from: a line of the text the series was applied
// to, or a line a patch added, and every hunk that showed it (as an added or a context line).
// Built from what applying each patch in memory did (applyInMemory.ts), so a finding located in
// a C file of the tree can be shown on the patch line that brought it, and a trace step on the
// line of the tree the reviewer has open.
import type { Patch } from '../series/types';
import type { PatchApplyResult } from './applyInMemory';

export interface LineAppearance {
  /** Index of the patch in the series (0-based, cover letter excluded). */
  patch: number;
  /** 1-based line of the patch file. */
  patchLine: number;
  kind: 'added' | 'context';
}

export interface LineOrigin {
  /** The line of the base texts this line is (a renamed file's: under its old path); absent for a line a patch added or copied. */
  base?: { path: string; line: number };
  /** The hunks that show this line, in series order; empty for a line no hunk shows. */
  appearances: LineAppearance[];
}

/** One line of a tracked file: the same object from patch to patch while the line survives. */
interface Line {
  base?: { path: string; line: number };
  appearances: LineAppearance[];
}

export class LineOrigins {
  private constructor(
    private readonly base: ReadonlyMap<string, string>,
    /** The files the series changed, line by line as the series leaves them. */
    private readonly tracked: ReadonlyMap<string, Line[]>,
  ) {}

  /**
   * Follows the lines of `base` (path to text) through each patch's application, in order.
   * `steps[i].applied` must be what applying `steps[i].patch` to the texts left by the steps
   * before it gave, as TreeSession.analyze records it.
   */
  static follow(base: ReadonlyMap<string, string>, steps: readonly { patch: Patch; applied: PatchApplyResult }[]): LineOrigins {
    const tracked = new Map<string, Line[]>();
    let texts: ReadonlyMap<string, string> = base;
    steps.forEach(({ patch, applied }, index) => {
      applied.results.forEach((r, k) => {
        const diff = patch.diffs[k];
        if (!diff || r.status === 'failed' || r.status === 'skipped') return;
        const linesOf = (path: string): Line[] => tracked.get(path) ?? baseLines(path, texts.get(path));
        if (r.change === 'deleted') {
          tracked.set(r.oldPath ?? r.path, []);
          return;
        }
        const oldLines = r.oldPath === null ? [] : linesOf(r.oldPath);
        const oldText = r.oldPath === null ? [] : splitLines(texts.get(r.oldPath) ?? '');
        const removed = new Set<number>();
        const context = new Map<number, number>();
        diff.hunks.forEach((h, j) => {
          const result = r.hunks[j];
          if (!result?.applied) return;
          // the pre-image's first line sits at the hunk's old start moved by the offset it applied at
          const start = (h.oldCount === 0 ? h.oldStart : h.oldStart - 1) + result.offset;
          let k = 0;
          for (const l of h.lines) {
            if (l.kind === 'added') continue;
            const at = start + k++;
            if (l.kind === 'removed') removed.add(at);
            // a context line fuzz left uncompared is the file's own: shown by the hunk only when it is the same text
            else if (oldText[at] !== undefined && oldText[at]!.trimEnd() === l.text.trimEnd()) context.set(at, l.patchLine);
          }
        });
        const added = new Map(r.addedLines.map((a) => [a.newLine, a.patchLine]));
        const newCount = splitLines(applied.files.get(r.path) ?? '').length;
        const next: Line[] = [];
        let old = 0;
        for (let n = 1; n <= newCount; n++) {
          const patchLine = added.get(n);
          if (patchLine !== undefined) {
            next.push({ appearances: [{ patch: index, patchLine, kind: 'added' }] });
            continue;
          }
          while (removed.has(old)) old++;
          const kept = oldLines[old];
          const shown = context.get(old);
          old++;
          if (!kept) { next.push({ appearances: [] }); continue; } // past the old text: cannot happen for a result of applyInMemory
          // a copy's lines are new lines of another file that show what the original's showed
          const line = r.change === 'copied' ? { appearances: [...kept.appearances] } : kept;
          if (shown !== undefined) line.appearances.push({ patch: index, patchLine: shown, kind: 'context' });
          next.push(line);
        }
        if (r.oldPath !== null && r.oldPath !== r.path && r.change !== 'copied') tracked.set(r.oldPath, []);
        tracked.set(r.path, next);
      });
      texts = applied.files;
    });
    return new LineOrigins(base, tracked);
  }

  /** Where 1-based `line` of `path` after the series came from; undefined for a line the series' texts do not have. */
  of(path: string, line: number): LineOrigin | undefined {
    const lines = this.tracked.get(path);
    if (lines) {
      const l = lines[line - 1];
      return l ? { ...(l.base ? { base: { ...l.base } } : {}), appearances: [...l.appearances] } : undefined;
    }
    const text = this.base.get(path);
    return text !== undefined && line >= 1 && line <= splitLines(text).length ? { base: { path, line }, appearances: [] } : undefined;
  }

  /** Whether the series changed `path` (its lines then have appearances or moved). */
  changed(path: string): boolean {
    return this.tracked.has(path);
  }
}

function baseLines(path: string, text: string | undefined): Line[] {
  return text === undefined ? [] : splitLines(text).map((_, i) => ({ base: { path, line: i + 1 }, appearances: [] }));
}

/** Lines as applyInMemory counts them: a final terminator does not start another line. */
function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}
