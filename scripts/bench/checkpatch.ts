// The yardstick for the series: checkpatch.pl linting the same 35 patches in one
// process. The script (and the data files it reads from its own directory) comes out of the
// installed linux-source tarball, extracted once into os.tmpdir() and reused.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { findKernelSourceTarball } from '../../extension/core/tree/sourceTarball';
import { runProcess } from './processRun';

export const CHECKPATCH_VERSION = '6.12';
/** checkpatch.pl reads these beside itself when present; a missing one only loses its checks. */
const MEMBERS = ['scripts/checkpatch.pl', 'scripts/spelling.txt', 'scripts/const_structs.checkpatch'];

export interface Checkpatch {
  script: string;
  tarball: string;
}

function hasPerl(): boolean {
  try {
    execFileSync('perl', ['-e', '1'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** checkpatch.pl ready to run, or one line saying why not. */
export function findCheckpatch(log: (msg: string) => void): Checkpatch | string {
  if (!hasPerl()) return 'checkpatch.pl comparison skipped: no perl on PATH';
  const tarball = findKernelSourceTarball(CHECKPATCH_VERSION);
  if (!tarball) return `checkpatch.pl comparison skipped: no linux-source-${CHECKPATCH_VERSION}.tar.xz installed`;
  const st = statSync(tarball);
  const cache = join(tmpdir(), `kvm-lens-bench-checkpatch-${basename(tarball)}-${st.size}-${Math.trunc(st.mtimeMs)}`);
  const top = `linux-source-${CHECKPATCH_VERSION}`;
  const script = join(cache, top, 'scripts', 'checkpatch.pl');
  if (!existsSync(cache)) {
    log(`extracting ${MEMBERS.join(', ')} from ${tarball} into ${cache} (once; the xz takes a while)`);
    // Beside the cache and renamed, so an interrupted run leaves no half extraction behind.
    const partial = `${cache}.partial-${process.pid}`;
    mkdirSync(partial, { recursive: true });
    try {
      execFileSync('tar', ['-xJf', tarball, '-C', partial, ...MEMBERS.map((m) => `${top}/${m}`)], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch {
      // tar exits 2 when a member is absent (older trees lack const_structs.checkpatch); the rest is extracted
    }
    if (!existsSync(join(partial, top, 'scripts', 'checkpatch.pl'))) {
      rmSync(partial, { recursive: true, force: true });
      return `checkpatch.pl comparison skipped: ${tarball} has no ${top}/scripts/checkpatch.pl`;
    }
    renameSync(partial, cache);
  }
  if (!existsSync(script)) return `checkpatch.pl comparison skipped: ${cache} holds no checkpatch.pl (delete it to extract again)`;
  return { script, tarball };
}

export interface CheckpatchRun {
  wallMs: number;
  exitCode: number | null;
  /** Lines checkpatch printed (with -q: its warnings and errors). */
  outputLines: number;
}

/** One perl process over all the patch files. --no-tree: the series' base is not a kernel tree. */
export async function checkpatchOnce(cp: Checkpatch, patchFiles: string[]): Promise<CheckpatchRun> {
  const run = await runProcess('perl', [cp.script, '--no-tree', '-q', ...patchFiles], { timeoutMs: 10 * 60_000 });
  return { wallMs: run.wallMs, exitCode: run.code, outputLines: run.stdout.split('\n').filter((l) => l.trim()).length };
}
