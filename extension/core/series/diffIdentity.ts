// A patch's own identity, independent of its mail: like `git patch-id`, a hash of the diff
// without line numbers or whitespace (paths, hunk sections, context and changed lines), so a
// resent or renumbered patch is recognised as the same change.
import { createHash } from 'node:crypto';
import type { Patch } from './types';

export function diffIdentity(patch: Patch): string | undefined {
  if (patch.diffs.length === 0) return undefined;
  const h = createHash('sha1');
  for (const d of patch.diffs) {
    h.update(`${d.oldPath ?? '/dev/null'}\0${d.newPath ?? '/dev/null'}\0${d.status}\0`);
    for (const hunk of d.hunks) {
      h.update(`@@${hunk.section.trim()}\n`);
      for (const l of hunk.lines) h.update(`${l.kind === 'added' ? '+' : l.kind === 'removed' ? '-' : ' '}${l.text.replace(/\s+/g, ' ').trim()}\n`);
    }
  }
  return h.digest('hex');
}
