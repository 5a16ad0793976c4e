// Runs one child process and measures it from the outside: wall time from spawn to exit (node
// start-up included) and, for node children, peak RSS as reported by maxRssPreload.cjs.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PRELOAD = join(__dirname, 'maxRssPreload.cjs');

export interface ProcessRun {
  wallMs: number;
  /** Peak resident set of the whole process, KiB; undefined when the child did not report it (killed, not node). */
  maxRssKiB?: number;
  /** Exit status, or null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  /** Added to (and overriding) this process's environment. */
  env?: Record<string, string>;
  /** Killed after this long; a benchmark must not hang the whole run. */
  timeoutMs?: number;
}

export function runProcess(command: string, args: string[], opts: RunOptions = {}): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(command, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.on('error', (e) => { if (timer) clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => {
      const wallMs = performance.now() - t0;
      if (timer) clearTimeout(timer);
      resolve({ wallMs, code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/** `node --require maxRssPreload.cjs ...nodeArgs`, with the child's peak RSS read back from a temp file. */
export async function runNode(nodeArgs: string[], opts: RunOptions = {}): Promise<ProcessRun> {
  const dir = mkdtempSync(join(tmpdir(), 'kvm-lens-bench-rss-'));
  const file = join(dir, 'maxrss');
  try {
    const run = await runProcess(process.execPath, ['--require', PRELOAD, ...nodeArgs], { ...opts, env: { ...opts.env, KVM_LENS_BENCH_RUSAGE_FILE: file } });
    let maxRssKiB: number | undefined;
    try {
      const n = Number(readFileSync(file, 'utf8'));
      if (Number.isFinite(n) && n > 0) maxRssKiB = n;
    } catch {
      // no file: the child died before its exit handler ran
    }
    return { ...run, maxRssKiB };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One line naming how a child failed, for the report's notes. */
export function describeFailure(what: string, run: ProcessRun): string {
  const how = run.signal ? `killed by ${run.signal}` : `exit status ${run.code}`;
  const tail = run.stderr.trim().split('\n').slice(-1)[0] ?? '';
  return `${what}: ${how}${tail ? ` (${tail.slice(0, 200)})` : ''}`;
}
