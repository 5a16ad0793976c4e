// Which changed lines of a hunk the patch-only analysis took in: those inside a function it
// lowered from the hunk (whole, or a fragment of the function the hunk is in), those of a
// kvm_x86_ops initializer it rewired, and those a note already speaks for. Any other changed
// code (not a blank, a comment or an #include) was read by nothing, and is one note, so a change
// the analysis cannot see is never a silent pass: in `check`, in the editor, and in b4-check.

import type { Hunk } from '../series/types';
import { sectionFunctionName } from '../parse/hunkFragments';
import type { FunctionIr } from '../summary/ir';
import type { IncompleteNote } from './codeBase';

/**
 * The patch lines that show `fn` in `hunk`: a whole function from its signature to its brace; a
 * fragment from the @@ line that names it (the hunk starts inside it) to its last line in the
 * hunk, up to the next whole function the hunk shows.
 */
export function spanInHunk(fn: FunctionIr, lowered: readonly FunctionIr[], hunk: Hunk): { from: number; to: number } {
  const last = hunk.lines[hunk.lines.length - 1]?.patchLine ?? hunk.headerPatchLine;
  const from = fn.truncated && sectionNames(hunk, fn.name) ? hunk.headerPatchLine : fn.loc.line;
  let to = Math.min(Math.max(fn.endLine, from), last);
  if (fn.truncated) {
    to = last;
    for (const o of lowered) if (o !== fn && !o.truncated && o.loc.line > from) to = Math.min(to, o.loc.line - 1);
  }
  return { from, to };
}

function sectionNames(hunk: Hunk, name: string): boolean {
  return new RegExp(`\\b${name.replace(/[$]/g, '\\$&')}\\s*\\(`).test(hunk.section);
}

/** Changed lines with code on them: not blank, not only a comment, not an #include. */
export function isCodeLine(text: string): boolean {
  const t = text.trim();
  return !(t === '' || t.startsWith('//') || t.startsWith('/*') || t.startsWith('*') || t.startsWith('#include'));
}

function headerText(h: Hunk): string {
  const old = `-${h.oldStart}${h.oldCount === 1 ? '' : ',' + h.oldCount}`;
  const neu = `+${h.newStart}${h.newCount === 1 ? '' : ',' + h.newCount}`;
  return `@@ ${old} ${neu} @@${h.section ? ' ' + h.section : ''}`;
}

export interface HunkTaken {
  /** Functions lowered from the hunk's pre-image and post-image. */
  pre: readonly FunctionIr[];
  post: readonly FunctionIr[];
  /** The hunk is in a kvm_x86_ops initializer, whose lines rewire indirect calls. */
  table: boolean;
  /** Patch lines notes about this hunk already stand on. */
  noted: ReadonlySet<number>;
}

/** A note for the hunk's changed code nothing took in, or undefined when all of it was. */
export function untakenChange(hunk: Hunk, path: string, taken: HunkTaken): Omit<IncompleteNote, 'file' | 'patch'> | undefined {
  if (taken.table) return undefined;
  const changed = hunk.lines.filter((l) => l.kind !== 'context' && isCodeLine(l.text));
  if (changed.length === 0 || taken.noted.has(hunk.headerPatchLine) || changed.some((l) => taken.noted.has(l.patchLine))) return undefined;
  const spans = [...taken.post.map((f) => spanInHunk(f, taken.post, hunk)), ...taken.pre.map((f) => spanInHunk(f, taken.pre, hunk))];
  const outside = changed.filter((l) => !spans.some((s) => s.from <= l.patchLine && l.patchLine <= s.to));
  if (outside.length === 0) return undefined;
  const fn = sectionFunctionName(hunk.section);
  const why = fn === undefined
    ? `the hunk header (${headerText(hunk)}) names no function and the hunk holds no whole one, so its change is placed in no function and not simulated`
    : `this change is in no function the analysis reads (a declaration or macro, or code it could not place in ${fn}()), so it is not simulated`;
  return { line: outside[0]!.patchLine, ...(fn !== undefined ? { function: fn } : {}), message: `${path}: not analysed: ${why}` };
}
