// Running git for the analysis and the review: a spawned process with an argument list (never
// a shell), no pager, no prompt, no optional locks, a time limit and an output limit. What the
// command may do (read, or amend b4's tracking commit) is for the caller to decide.
import { spawn } from 'node:child_process';

/** What one git command printed and how it ended. */
export interface GitRun { code: number | null; stdout: Buffer; stderr: string; spawnError?: string }

const GIT_TIMEOUT_MS = 30_000;
/** More output than this from one command is refused (a KVM scope is a few MB). */
const MAX_OUTPUT_BYTES = 256 * 1024 * 1024;

export function runGit(cwd: string, args: string[], input?: string): Promise<GitRun> {
  return new Promise((resolve) => {
    const child = spawn('git', ['--no-pager', '--no-optional-locks', ...args], {
      cwd, shell: false, windowsHide: true,
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let size = 0;
    let err = '';
    let settled = false;
    const finish = (r: GitRun) => { if (!settled) { settled = true; clearTimeout(timer); resolve(r); } };
    const timer = setTimeout(() => { child.kill(); finish({ code: null, stdout: Buffer.alloc(0), stderr: err, spawnError: `git ${args[0]} took longer than ${GIT_TIMEOUT_MS / 1000} s` }); }, GIT_TIMEOUT_MS);
    child.stdout.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_OUTPUT_BYTES) { child.kill(); finish({ code: null, stdout: Buffer.alloc(0), stderr: err, spawnError: `git ${args[0]} printed more than ${MAX_OUTPUT_BYTES} bytes` }); return; }
      out.push(d);
    });
    child.stderr.on('data', (d: Buffer) => { if (err.length < 4096) err += d.toString('utf8'); });
    child.on('error', (e: NodeJS.ErrnoException) => finish({ code: null, stdout: Buffer.alloc(0), stderr: err, spawnError: e.code === 'ENOENT' ? 'git is not installed (not found on PATH)' : e.message }));
    child.on('close', (code) => finish({ code, stdout: Buffer.concat(out), stderr: err }));
    child.stdin.on('error', () => { /* git exited before reading all of its input: its status says why */ });
    child.stdin.end(input ?? '');
  });
}

/** git's first error line, without its "fatal: " prefix: what a one-line message can quote. */
export function firstError(r: GitRun): string {
  if (r.spawnError) return r.spawnError;
  const line = r.stderr.split('\n').find((l) => l.trim()) ?? `exit status ${r.code}`;
  return line.replace(/^(fatal|error): /, '').trim();
}
