// Trailers are the "Key-With-Dashes: value" lines of the last paragraph of a commit message
// (Signed-off-by, Reviewed-by, Fixes, Link, ...).

import { oneLine } from '../text/controlChars';
import type { Trailer } from './types';

// A key is a single word of letters, digits and dashes; the colon must be followed by
// whitespace or the end of the line so that "https://..." is not taken for a key.
const TRAILER_LINE = /^([A-Za-z0-9][A-Za-z0-9-]*):(?:\s+(.*))?$/s;

// Trailers git itself or the kernel process writes; their presence lets a paragraph that
// also holds prose count as a trailer block (the rule git interpret-trailers uses).
const KNOWN_KEYS = new Set([
  'signed-off-by', 'reviewed-by', 'acked-by', 'tested-by', 'reported-by', 'suggested-by',
  'co-developed-by', 'cc', 'link', 'fixes', 'closes', 'cherry-picked-from', 'message-id',
]);

/** Extract the trailers of `commitMessage` (its last paragraph), in order. */
export function parseTrailers(commitMessage: string): Trailer[] {
  const lines = commitMessage.split('\n');
  let end = lines.length;
  while (end > 0 && lines[end - 1]!.trim() === '') end--;
  let start = end;
  while (start > 0 && lines[start - 1]!.trim() !== '') start--;
  if (start === end) return [];

  const trailers: Trailer[] = [];
  let known = false;
  let other = 0;
  // The value of the trailer being read, in pieces: joined once, however often it is folded.
  let last: { trailer: Trailer; pieces: string[] } | undefined;
  const close = (): void => {
    // A stray CR or control character in the line must not travel into a reply's headers.
    if (last) last.trailer.value = oneLine(last.pieces.join(' '));
    last = undefined;
  };
  for (let i = start; i < end; i++) {
    const line = lines[i]!;
    const m = TRAILER_LINE.exec(line);
    if (m) {
      close();
      last = { trailer: { key: m[1]!, value: '' }, pieces: [m[2] ?? ''] };
      trailers.push(last.trailer);
      if (KNOWN_KEYS.has(last.trailer.key.toLowerCase())) known = true;
    } else if (last && /^\s/.test(line)) {
      // Folded continuation of the previous trailer's value.
      last.pieces.push(line);
    } else if (/^\s*\[.*\]\s*$/.test(line)) {
      // Maintainer notes like "[ sean: reworded changelog ]" sit between trailers.
      close();
    } else {
      other++;
      close();
    }
  }
  close();
  if (trailers.length === 0) return [];
  if (other === 0) return trailers;
  // Mixed paragraph: accept only if it looks like a trailer block with a few stray lines.
  if (known && trailers.length * 3 >= other) return trailers;
  return [];
}
