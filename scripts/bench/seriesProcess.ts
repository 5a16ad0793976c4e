// The series as checkpatch.pl is run: one new process over the patch files. Ours is
// `kvm-lens check --no-cache` on the same files, so both sides pay their start-up.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeFailure, runNode } from './processRun';

const ROOT = join(__dirname, '..', '..');

export interface SeriesProcessRun { wallMs: number; maxRssKiB?: number; exitCode: number | null }

export async function seriesCheckOnce(patchFiles: string[]): Promise<SeriesProcessRun | string> {
  const work = mkdtempSync(join(tmpdir(), 'kvm-lens-bench-series-'));
  try {
    // --no-cache, and an empty XDG_CACHE_HOME so no earlier run's cache is near it either
    mkdirSync(join(work, 'xdg'));
    const run = await runNode([join(ROOT, 'bin', 'kvm-lens.js'), 'check', '--no-cache', '--format', 'json', '-o', join(work, 'report.json'), ...patchFiles], {
      cwd: ROOT, env: { XDG_CACHE_HOME: join(work, 'xdg') }, timeoutMs: 10 * 60_000,
    });
    if (run.code !== 0 && run.code !== 1) return describeFailure('kvm-lens check on the series', run);
    return { wallMs: run.wallMs, maxRssKiB: run.maxRssKiB, exitCode: run.code };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
