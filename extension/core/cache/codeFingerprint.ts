// What identifies the analysis code itself, so a cached result is trusted only by the code that
// computed it: a new release, a rebuilt bundle or an edited source file all change it. Bundled,
// it is the bundle and the built-in model's C next to it; run from source (tests), every file
// of the core.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TOOL_VERSION } from '../version';

let memo: string | undefined;

export function codeFingerprint(): string {
  if (memo) return memo;
  const hash = createHash('sha256').update(`kvm-lens ${TOOL_VERSION}\n`);
  if (__filename.endsWith('.js')) {
    hash.update(readFileSync(__filename));
    addTree(hash, join(dirname(__filename), 'model'));
  } else {
    addTree(hash, join(__dirname, '..'));
  }
  memo = hash.digest('hex').slice(0, 16);
  return memo;
}

/** Every file under `dir` (names and bytes, in a fixed order); a missing directory adds nothing. */
function addTree(hash: ReturnType<typeof createHash>, dir: string): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) addTree(hash, p);
    else if (e.isFile()) hash.update(`${e.name}\0`).update(readFileSync(p));
  }
}
