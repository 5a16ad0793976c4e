// Raw tree-sitter parse of exactly the files the analysis reads for a tree, in a new node
// process (start-up included): the denominator of the "cold <= 3x raw parse".
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeFailure, runNode } from './processRun';

const CHILD = join(__dirname, 'rawParseChild.cjs');

export interface RawParseRun {
  /** Spawn to exit, ms: what the ratio uses. */
  wallMs: number;
  maxRssKiB?: number;
  /** The child's own split: WASM + grammar load, reading, parsing. */
  initMs: number;
  readMs: number;
  parseMs: number;
  files: number;
  bytes: number;
  /** Files whose tree has ERROR nodes (kernel macros without a preprocessor); the parse completes. */
  errors: number;
}

/** Writes the path list once; the caller removes `workDir`. */
export function writeFileList(workDir: string, absPaths: string[]): string {
  const list = join(workDir, 'files.json');
  writeFileSync(list, JSON.stringify(absPaths));
  return list;
}

export async function rawParseOnce(listFile: string): Promise<RawParseRun | string> {
  const run = await runNode([CHILD, listFile], { timeoutMs: 10 * 60_000 });
  if (run.code !== 0) return describeFailure('raw parse child', run);
  try {
    const r = JSON.parse(run.stdout.trim().split('\n').pop()!) as Omit<RawParseRun, 'wallMs' | 'maxRssKiB'>;
    return { wallMs: run.wallMs, maxRssKiB: run.maxRssKiB, ...r };
  } catch {
    return `raw parse child printed no result: ${run.stdout.slice(0, 200)}`;
  }
}
