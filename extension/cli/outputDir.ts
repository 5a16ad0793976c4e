// Creating the directory the user named for our output, one level at a time. Node's
// mkdirSync(..., { recursive: true }) never returns under /proc (mkdir there fails with ENOENT
// although the parent exists, and it retries the parent forever); here every level is made once
// and the first failure is the answer.

import { mkdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { errnoText } from '../core/io/boundedRead';

/** Make `dir` and its missing parents; undefined when it is a directory now, else why not. */
export function makeDirectory(dir: string): string | undefined {
  const missing: string[] = [];
  let cur = path.resolve(dir);
  for (;;) {
    let st;
    try {
      st = statSync(cur);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') return `${cur}: ${errnoText(e)}`;
      const up = path.dirname(cur);
      if (up === cur) return `${cur}: ${errnoText(e)}`;
      missing.push(cur);
      cur = up;
      continue;
    }
    if (!st.isDirectory()) return `${cur} is not a directory`;
    break;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && statSync(d, { throwIfNoEntry: false })?.isDirectory()) continue;
      return `${d}: ${errnoText(e)}`;
    }
  }
  return undefined;
}
