// Memory of the editor's analysis worker: a new process runs AnalysisClient.analyzeTree on a
// tree and reports its peak RSS. The worker is a thread of that process, so the figure is the
// whole process (client side + worker thread + WASM), not the worker alone; the baseline (the
// process before the first request) is reported beside it.
import { buildSync } from 'esbuild';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeFailure, runNode } from './processRun';

const ROOT = join(__dirname, '..', '..');
export const WORKER_SCRIPT = join(ROOT, 'dist', 'analysisWorker.js');

export interface WorkerMemoryRun {
  maxRssKiB?: number;
  baselineRssKiB: number;
  /** The first analyzeTree, as the client saw it. */
  ms: number;
  wallMs: number;
  states: number;
  findings: number;
}

/**
 * Bundles the child into `workDir` once: run through a TypeScript loader it would carry that
 * loader's memory (tsx hooks run on a thread of their own); bundled, it is node + the client.
 */
export function buildWorkerChild(workDir: string): string {
  const out = join(workDir, 'workerMemoryChild.cjs');
  buildSync({ entryPoints: [join(__dirname, 'workerMemoryChild.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile: out, logLevel: 'error' });
  return out;
}

export async function workerMemoryOnce(childScript: string, tree: string): Promise<WorkerMemoryRun | string> {
  if (!existsSync(WORKER_SCRIPT)) return `no ${WORKER_SCRIPT}: run npm run build`;
  // An empty cache, should the worker ever consult one: this is the cold figure.
  const cacheHome = mkdtempSync(join(tmpdir(), 'kvm-lens-bench-worker-'));
  try {
    mkdirSync(join(cacheHome, 'xdg'));
    const run = await runNode([childScript, tree, WORKER_SCRIPT], { cwd: ROOT, env: { XDG_CACHE_HOME: join(cacheHome, 'xdg') }, timeoutMs: 20 * 60_000 });
    if (run.code !== 0) return describeFailure('analysis worker child', run);
    try {
      const r = JSON.parse(run.stdout.trim().split('\n').pop()!) as Omit<WorkerMemoryRun, 'wallMs' | 'maxRssKiB'>;
      return { ...r, maxRssKiB: run.maxRssKiB, wallMs: run.wallMs };
    } catch {
      return `analysis worker child printed no result: ${run.stdout.slice(0, 200)}`;
    }
  } finally {
    rmSync(cacheHome, { recursive: true, force: true });
  }
}
