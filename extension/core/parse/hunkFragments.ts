// A hunk rarely holds whole functions. To parse one, take its pre- or post-image lines and wrap
// them so braces balance: a synthetic function opens what the hunk starts inside of, and
// closing braces finish what it leaves open. Every parsed row maps back to its patch line.
import type { Hunk } from '../series/types';
import { blankKernelNoise, bracketsOf } from './preprocessorBlanking';

/** Name of the function that stands for "the function the @@ header names". */
export const FRAGMENT_FUNCTION = '__kvm_lens_hunk_fragment';

export interface Fragment {
  text: string;
  /** For each row of `text`: the patch line and how it changed, or undefined for wrapper rows. */
  rows: ({ line: number; change: 'added' | 'removed' | 'context' } | undefined)[];
  /** Name of the function the hunk starts inside of, from the @@ section. */
  enclosing?: string;
  /** First row after the hunk's own lines (the synthetic closing braces start here). */
  suffixRow: number;
}

/** Function name in an @@ section such as "static int svm_set_dr7(struct kvm_vcpu *vcpu,". */
export function sectionFunctionName(section: string): string | undefined {
  const m = /([A-Za-z_]\w*)\s*\(/.exec(section);
  if (!m || /^(if|for|while|switch|return|sizeof)$/.test(m[1])) return undefined;
  // "struct kvm_x86_ops svm_x86_ops = {" is not a function
  if (/=\s*\{?\s*$/.test(section) && !/\)\s*$/.test(section)) return undefined;
  return m[1];
}

export function buildFragment(hunk: Hunk, image: 'pre' | 'post'): Fragment {
  const lines = hunk.lines.filter((l) => l.kind === 'context' || l.kind === (image === 'post' ? 'added' : 'removed'));
  const body = lines.map((l) => l.text);

  // Nesting profile: braces the hunk closes that it never opened (it starts inside them), and
  // brackets still open at its end (it stops inside them).
  let unopenedBraces = 0;
  const open: string[] = [];
  let inComment = false;
  let commentCloseFirst = false;
  let seenCode = false;
  for (const text of body) {
    const opener = text.indexOf('/*');
    const closer = text.indexOf('*/');
    // a "*/" before any "/*" or code: the hunk starts inside a comment
    if (!seenCode && !inComment && closer >= 0 && (opener < 0 || closer < opener)) commentCloseFirst = true;
    if (opener >= 0 && closer < opener) inComment = true;
    else if (closer >= 0) inComment = false;
    const code = stripComment(text);
    if (code.trim()) seenCode = true;
    for (const ch of bracketsOf(code)) {
      if (ch === '{' || ch === '(') open.push(ch);
      else if (open.length && open[open.length - 1] === (ch === '}' ? '{' : '(')) open.pop();
      else if (ch === '}') unopenedBraces++;
    }
  }
  // where the code starts: after the rest of a comment the hunk begins inside of
  const code = commentCloseFirst ? body.slice(body.findIndex((t) => t.includes('*/')) + 1) : body;
  const enclosing = sectionFunctionName(hunk.section);
  // "static struct kvm_x86_ops svm_x86_ops = {": the hunk is inside an initializer; reopen it
  const initializer = enclosing === undefined && /=\s*\{\s*$/.test(hunk.section) && firstCodeLineIsInside(code);
  const startsInside = (enclosing !== undefined && !startsWithDefinition(code, enclosing) && firstCodeLineIsInside(code)) || initializer;
  const opens = Math.max(startsInside ? 1 : 0, unopenedBraces);
  // braces the wrapper opened and the hunk did not close, then what the hunk left open, innermost first
  const closers = open.map((ch) => (ch === '(' ? ')' : '}')).reverse().join('') + '}'.repeat(opens - unopenedBraces);

  const prefix: string[] = [];
  if (initializer) prefix.push(hunk.section.trim() + '{'.repeat(opens - 1));
  else if (opens > 0) prefix.push(`void ${FRAGMENT_FUNCTION}(void) ${'{'.repeat(opens)}`);
  if (commentCloseFirst) prefix.push('/*');
  const suffix: string[] = [];
  if (inComment) suffix.push('*/');
  // a hunk that stops after "else" or an if/for/while header needs a statement to end it
  const last = [...body].reverse().find((t) => stripComment(t).trim() !== '') ?? '';
  if (/\belse\s*$|^\s*(if|for|while)\s*\(.*\)\s*$/.test(stripComment(last))) suffix.push(';');
  // a hunk that stops mid-expression ("g(vcpu," or "a &&") gets an operand before the closers
  const dangling = open.length > 0 && /[,(&|+\-*/=<>!?:]\s*$/.test(stripComment(last));
  if (closers) suffix.push((dangling ? '0' : '') + closers.replace(/\)(?=\})/g, ');') + (initializer ? ';' : ''));
  const rows: Fragment['rows'] = [
    ...prefix.map(() => undefined),
    ...lines.map((l) => ({ line: l.patchLine, change: l.kind })),
    ...suffix.map(() => undefined),
  ];
  const text = blankKernelNoise([...prefix, ...body, ...suffix].join('\n'));
  return { text, rows, ...(enclosing ? { enclosing } : {}), suffixRow: prefix.length + body.length };
}

function stripComment(line: string): string {
  return line.replace(/\/\*.*?\*\//g, '').replace(/^\s*\*.*$/, '').replace(/^.*\*\//, '');
}

/** True when the hunk begins at the header function's own signature (a whole-function hunk). */
function startsWithDefinition(body: string[], name: string): boolean {
  for (const line of body) {
    if (line.trim() === '') continue;
    return new RegExp(`\\b${name}\\s*\\(`).test(line) && !/;\s*$/.test(line);
  }
  return false;
}

/**
 * Kernel style indents function bodies; a hunk whose first code line starts at column 0 (and is
 * neither a closing brace nor a label) starts between functions, whatever the @@ section says.
 */
function firstCodeLineIsInside(body: string[]): boolean {
  for (const line of body) {
    if (line.trim() === '' || /^\s*#/.test(line)) continue;
    if (/^\s/.test(line) || line.startsWith('}') || line.startsWith('{')) return true;
    return /^[A-Za-z_]\w*:\s*$/.test(line); // a goto label
  }
  return true;
}
