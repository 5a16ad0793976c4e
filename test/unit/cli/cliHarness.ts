// Shared by the CLI end-to-end tests: run `main` in process with a capturing io, find the
// example and fixture series, and check patch-file lines against the hunks that hold them
// (with a small hunk reader of its own, so the oracle does not share code with the reader
// under test).

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../extension/cli/main';
import type { JsonReport } from '../../../extension/core/report/jsonReport';

export const ROOT = join(__dirname, '../../..');

// Results the CLI caches between runs go to a directory of this test run, not the user's ~/.cache
// (children inherit it); a test of the cache itself sets its own.
const TEST_CACHE = mkdtempSync(join(tmpdir(), 'kvm-lens-test-cache-'));
process.env.XDG_CACHE_HOME = TEST_CACHE;
process.on('exit', () => rmSync(TEST_CACHE, { recursive: true, force: true }));
export const EXAMPLE_DIR = join(ROOT, 'examples/sev-es-debug-rfc');
export const PATCH_1 = join(EXAMPLE_DIR, '0001-KVM-SVM-Rely-on-guest_state_protected-alone-to-refus.patch');
export const PATCH_2 = join(EXAMPLE_DIR, '0002-KVM-SVM-Let-DR7-writes-through-for-SEV-ES-guests.patch');
export const PATCH_3 = join(EXAMPLE_DIR, '0003-KVM-SVM-Refuse-LAUNCH_UPDATE_VMSA-while-guest-debug-.patch');
export const THREAD = join(ROOT, 'test/fixtures/thread');
export const BAD = join(ROOT, 'test/fixtures/bad-input');

/** Generous per-test bound: a hang fails the test instead of stalling the run. */
export const TEST_TIMEOUT_MS = 60_000;

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

export async function runCli(argv: string[], isTty = false): Promise<CliRun> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => { out += t; }, err: (t) => { err += t; }, isTty });
  return { code, out, err };
}

/** Run with --format json and parse stdout. */
export async function runJson(argv: string[]): Promise<CliRun & { json: JsonReport }> {
  const run = await runCli([...argv, '--format', 'json']);
  let json: JsonReport;
  try {
    json = JSON.parse(run.out) as JsonReport;
  } catch (e) {
    throw new Error(`stdout is not JSON (${(e as Error).message}); exit ${run.code}; stderr:\n${run.err}\nstdout:\n${run.out.slice(0, 2000)}`);
  }
  return { ...run, json };
}

/** Non-empty lines of a stream. */
export function linesOf(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

export interface HunkBodyLine {
  /** 1-based line in the patch file. */
  line: number;
  kind: 'context' | 'added' | 'removed';
  /** Without the leading ' ', '+' or '-'. */
  text: string;
  /** 1-based line of the @@ header of the hunk that holds it. */
  header: number;
  /** Text after the second @@ of that header. */
  section: string;
}

const HUNK_HEADER = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$/;

/** Every hunk body line of a (well-formed) patch file, keyed by its 1-based line. */
export function hunkBodyLines(patchText: string): Map<number, HunkBodyLine> {
  const lines = patchText.split('\n');
  const out = new Map<number, HunkBodyLine>();
  for (let i = 0; i < lines.length; i++) {
    const m = HUNK_HEADER.exec(lines[i]!);
    if (!m) continue;
    let oldLeft = m[2] === undefined ? 1 : Number(m[2]);
    let newLeft = m[4] === undefined ? 1 : Number(m[4]);
    const header = i + 1;
    const section = m[5] ?? '';
    let k = i + 1;
    while ((oldLeft > 0 || newLeft > 0) && k < lines.length) {
      const l = lines[k]!;
      const c = l[0];
      if (c === ' ' || l === '') { out.set(k + 1, { line: k + 1, kind: 'context', text: l.slice(1), header, section }); oldLeft--; newLeft--; }
      else if (c === '+') { out.set(k + 1, { line: k + 1, kind: 'added', text: l.slice(1), header, section }); newLeft--; }
      else if (c === '-') { out.set(k + 1, { line: k + 1, kind: 'removed', text: l.slice(1), header, section }); oldLeft--; }
      else if (c !== '\\') break;
      k++;
    }
    i = k - 1;
  }
  return out;
}

export function hunkLineAt(patchFile: string, line: number): HunkBodyLine | undefined {
  return hunkBodyLines(readFileSync(patchFile, 'utf8')).get(line);
}

/** The JSON report with what depends on the run taken out (timings, whether it came from the result cache), as text. */
export function withoutTimings(jsonText: string): string {
  return jsonText.replace(/"ms": \{[^}]*\}(,\s*"cached": true)?/, '"ms": "<stripped>"');
}

export interface ChildOptions {
  /** V8's heap limit for the child (`--max-old-space-size`), in MB: a run that needs more dies instead of swapping. */
  maxOldSpaceMb?: number;
  /**
   * What the child reads on stdin: 'ignore' (default, /dev/null), 'open' (a pipe nobody ever
   * writes or closes, as an idle terminal or a stuck producer), or the bytes to write and then close.
   */
  stdin?: 'ignore' | 'open' | string | Buffer;
  /**
   * Where the child writes stdout: 'ignore' (default), 'capture' (returned as `stdout`),
   * 'closed' (a pipe whose reading end is closed before the child writes, as `| head -c0`),
   * or a file descriptor opened by the test (e.g. of /dev/full).
   */
  stdout?: 'ignore' | 'capture' | 'closed' | number;
  /** Extra environment for the child. */
  env?: Record<string, string>;
  /** The command to run instead of main.ts's `main` through tsx, e.g. [process.execPath, 'bin/kvm-lens.js']. */
  command?: string[];
}

export interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** True when the harness killed the child for outliving the bound. */
  killed: boolean;
  /** The child's peak resident set size in kB, reported by the child itself at exit (undefined if it died before). */
  maxRssKb: number | undefined;
}

// Preloaded into the child: it reports its peak memory on fd 3 as it exits, so a test can assert a memory cap.
const REPORT_RSS = 'data:text/javascript,' + encodeURIComponent(
  "import { writeSync } from 'node:fs'; process.on('exit', () => { try { writeSync(3, String(process.resourceUsage().maxRSS)); } catch {} });");

/** Run the CLI in a child process, killed (by its pid) if it outlives `boundMs`. */
export function runCliChild(argv: string[], boundMs: number, opts: ChildOptions = {}): Promise<ChildRun> {
  // the same entry point as bin/kvm-lens.js, so the child behaves as the installed command does
  const script = "require(process.env.KVM_LENS_MAIN).runAsProcess(JSON.parse(process.env.KVM_LENS_ARGV));";
  const heap = opts.maxOldSpaceMb !== undefined ? [`--max-old-space-size=${opts.maxOldSpaceMb}`] : [];
  const [cmd, ...cmdArgs] = opts.command
    ? [opts.command[0]!, ...heap, '--import', REPORT_RSS, ...opts.command.slice(1)]
    : [process.execPath, ...heap, '--import', REPORT_RSS, '--import', 'tsx', '-e', script];
  const stdinMode = opts.stdin === undefined || opts.stdin === 'ignore' ? 'ignore' : 'pipe';
  const out = opts.stdout ?? 'ignore';
  const stdoutMode = typeof out === 'number' ? out : out === 'ignore' ? 'ignore' : 'pipe';
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, cmdArgs, {
      cwd: ROOT,
      env: { ...process.env, KVM_LENS_MAIN: join(ROOT, 'extension/cli/main.ts'), KVM_LENS_ARGV: JSON.stringify(argv), ...opts.env },
      stdio: [stdinMode, stdoutMode, 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let rss = '';
    let killed = false;
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => { if (stderr.length < 100_000) stderr += d; });
    const fd3 = child.stdio[3] as NodeJS.ReadableStream;
    fd3.setEncoding('utf8');
    fd3.on('data', (d: string) => { rss += d; });
    if (out === 'capture') {
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (d: string) => { if (stdout.length < 1_000_000) stdout += d; });
    } else if (out === 'closed') {
      child.stdout!.destroy();
    }
    if (stdinMode === 'pipe') {
      child.stdin!.on('error', () => undefined); // the child may exit without reading it all
      if (opts.stdin !== 'open') child.stdin!.end(opts.stdin);
    }
    const timer = setTimeout(() => { killed = true; child.kill('SIGKILL'); }, boundMs);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const kb = Number.parseInt(rss, 10);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - t0, killed, maxRssKb: Number.isFinite(kb) ? kb : undefined });
    });
  });
}

/** A fresh directory under the system temporary directory, removed however `fn` ends. */
export async function withTempDir<R>(prefix: string, fn: (dir: string) => Promise<R>): Promise<R> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
