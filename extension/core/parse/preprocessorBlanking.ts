// Conditional-compilation lines inside braces or parentheses (#ifdef in an initializer or an
// expression) break tree-sitter's C grammar. Blank them with spaces of the same length so
// every offset, line and column stays where it was; both branches are then parsed as code.
import { changedSpan } from '../text/changedSpan';

const CONDITIONAL = /^[ \t]*#[ \t]*(if|ifdef|ifndef|elif|else|endif)\b/;

export function blankNestedConditionals(text: string): string {
  const lines = text.split('\n');
  let depth = 0;
  let changed = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (depth > 0 && CONDITIONAL.test(line)) {
      lines[i] = line.replace(/[^\r]/g, ' ');
      changed = true;
      continue;
    }
    depth = Math.max(0, depth + nestingChange(line));
  }
  return changed ? lines.join('\n') : text;
}

/** Net change of ({ nesting on one line. */
function nestingChange(line: string): number {
  let delta = 0;
  for (const ch of bracketsOf(line)) delta += ch === '{' || ch === '(' ? 1 : -1;
  return delta;
}

/** The brackets of a line of C, outside string and character literals and // comments. */
export function bracketsOf(code: string): string[] {
  const out: string[] = [];
  let quote = '';
  for (let i = 0; i < code.length; i++) {
    const ch = code[i];
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = '';
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '/' && code[i + 1] === '/') break;
    else if (ch === '{' || ch === '}' || ch === '(' || ch === ')') out.push(ch);
  }
  return out;
}

// Kernel annotations that expand to attributes or nothing; tree-sitter reads them as stray
// identifiers (`void __user *argp` becomes an ERROR). Blanked at the same length.
const ANNOTATIONS = /\b(__user|__iomem|__rcu|__percpu|__force|__init|__exit|__initdata|__initconst|__read_mostly|__ro_after_init|noinstr|__always_inline|__must_check|__maybe_unused|__cold|__visible|__no_kcsan|__kprobes|notrace)\b/g;

export function blankAnnotations(text: string): string {
  return text.replace(ANNOTATIONS, (m) => ' '.repeat(m.length));
}

/** Everything we blank before parsing kernel C: same length, same lines, same columns. */
export function blankKernelNoise(text: string): string {
  return blankAnnotations(blankNestedConditionals(text));
}

/**
 * `next`'s blanked text from `prev`'s, re-blanking only the lines an editor's edit changed:
 * the same result as blankKernelNoise(next) whenever the changed lines hold no preprocessor
 * line and keep the bracket nesting of the lines after them; otherwise the whole text again.
 */
export function reblankKernelNoise(prev: string, prevBlanked: string, next: string): string {
  let { start, endA: endPrev, endB: endNext } = changedSpan(prev, next);
  // widen to whole lines, so an annotation's word and a line's brackets are seen whole
  start = prev.lastIndexOf('\n', start - 1) + 1;
  const lineEnd = (text: string, at: number) => { const i = text.indexOf('\n', at); return i < 0 ? text.length : i; };
  const tail = prev.length - lineEnd(prev, endPrev);
  endPrev = prev.length - tail;
  endNext = next.length - tail;
  if (endNext < start) return blankKernelNoise(next);
  const before = prev.slice(start, endPrev);
  const after = next.slice(start, endNext);
  if (before.includes('#') || after.includes('#') || nesting(before) !== nesting(after)) return blankKernelNoise(next);
  return prevBlanked.slice(0, start) + blankAnnotations(after) + prevBlanked.slice(endPrev);
}

/**
 * What lines do to the nesting depth blankNestedConditionals tracks (never below zero): the
 * depth after them is max(floor, depth + shift) for any depth before, said as "floor,shift".
 */
function nesting(lines: string): string {
  let floor = -Infinity;
  let shift = 0;
  for (const line of lines.split('\n')) {
    const c = nestingChange(line);
    floor = Math.max(0, floor + c);
    shift += c;
  }
  return `${floor},${shift}`;
}
