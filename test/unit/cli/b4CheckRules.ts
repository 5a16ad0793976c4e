// What b4 does around a check command, written from b4's documented behaviour and the rules its
// source states (v0.16.0 and its development head), so the b4-check tests judge our output the
// way b4 would. These are our own functions; no b4 code is copied.
//
// - The message on stdin: the headers as they were (Content-Transfer-Encoding included), a blank
//   line, the body decoded, every line ending in "\n" (a "\r" before it dropped).
// - The command: the configured string split the way Python's shlex splits in POSIX mode with
//   whitespace_split (quotes and backslashes as a POSIX shell has them, no expansion), run
//   without a shell in the git top level of the current checkout.
// - am-perpatch-check-cmd / prep-perpatch-check-cmd (the text protocol): stdout stripped and split
//   into lines, each a 'fail' when it contains "ERROR:" and a 'warning' otherwise, a leading "-:"
//   dropped; each stderr line a 'fail'; with no line at all, a non-zero exit is a 'fail' and zero
//   is 'success' ("passed all checks").
// - review-perpatch-check-cmd / review-series-check-cmd (the JSON protocol): nothing on stdout is
//   a 'fail' when the exit status is non-zero and no result otherwise; stdout must parse as JSON
//   (else one 'fail'); a non-list is taken as a list of one; each dict is a result whose status,
//   when not pass/warn/fail, becomes 'fail'. The detail view parses `details` as JSON and, when
//   it is a list, draws each dict entry's "description" after a dot coloured by its "status".

import { execFileSync, spawn } from 'node:child_process';

/** The bytes b4 pipes for a format-patch file: its headers (the "From <sha>" line dropped) plus MIME ones, the body decoded. */
export function asB4Pipes(patchText: string, cte: '8bit' | 'base64' | 'quoted-printable', messageId = 'patch@example.org'): Buffer {
  const text = patchText.replace(/\r\n/g, '\n');
  const split = text.indexOf('\n\n');
  const headers = text.slice(0, split).split('\n').filter((l) => !/^From [0-9a-f]{40} /.test(l));
  const body = text.slice(split + 2);
  const head = [...headers, `Message-Id: <${messageId}>`, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset="utf-8"', `Content-Transfer-Encoding: ${cte}`];
  return Buffer.from(`${head.join('\n')}\n\n${body.split('\n').map((l) => l.replace(/\r+$/, '')).join('\n')}`, 'utf8');
}

/** The same message as a mailbox holds it: the body still in its transfer encoding. */
export function asMailboxHolds(patchText: string, cte: 'base64' | 'quoted-printable'): Buffer {
  const piped = asB4Pipes(patchText, cte).toString('utf8');
  const split = piped.indexOf('\n\n');
  const body = Buffer.from(piped.slice(split + 2), 'utf8');
  const encoded = cte === 'base64'
    ? body.toString('base64').replace(/.{76}/g, '$&\n')
    : quotedPrintable(body);
  return Buffer.from(`${piped.slice(0, split)}\n\n${encoded}\n`, 'utf8');
}

/** RFC 2045 quoted-printable, lines wrapped at 76 with soft breaks. */
function quotedPrintable(bytes: Buffer): string {
  const lines: string[] = [];
  for (const raw of bytes.toString('latin1').split('\n')) {
    let enc = '';
    for (let i = 0; i < raw.length; i++) {
      const c = raw.charCodeAt(i);
      const last = i === raw.length - 1;
      const plain = (c >= 33 && c <= 126 && c !== 61) || ((c === 32 || c === 9) && !last);
      enc += plain ? raw[i] : `=${c.toString(16).toUpperCase().padStart(2, '0')}`;
    }
    while (enc.length > 76) {
      let cut = 75;
      // never split an escape
      if (enc[cut - 1] === '=') cut -= 1;
      else if (enc[cut - 2] === '=') cut -= 2;
      lines.push(enc.slice(0, cut) + '=');
      enc = enc.slice(cut);
    }
    lines.push(enc);
  }
  return lines.join('\n');
}

/** A command string split as Python's shlex.shlex(s, posix=True) with whitespace_split splits it ("#" starts a comment). */
export function shlexSplit(s: string): string[] {
  const out: string[] = [];
  let word: string | undefined;
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      if (word !== undefined) { out.push(word); word = undefined; }
      i++;
    } else if (c === '#') {
      // shlex's default commenter: the rest of the line is a comment, even inside a word
      const nl = s.indexOf('\n', i);
      i = nl < 0 ? s.length : nl;
    } else if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) throw new Error('No closing quotation');
      word = (word ?? '') + s.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      let w = '';
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length && (s[i + 1] === '"' || s[i + 1] === '\\')) { w += s[i + 1]; i += 2; } else { w += s[i]; i++; }
      }
      if (i >= s.length) throw new Error('No closing quotation');
      word = (word ?? '') + w;
      i++;
    } else if (c === '\\' && i + 1 < s.length) {
      word = (word ?? '') + s[i + 1];
      i += 2;
    } else {
      word = (word ?? '') + c;
      i++;
    }
  }
  if (word !== undefined) out.push(word);
  return out;
}

export interface CommandRun { code: number; stdout: Buffer; stderr: Buffer }

/** Runs a configured check command as b4 does: shlex-split, no shell, in `topdir`, the message on stdin. */
export function runAsB4(cmd: string, message: Buffer, topdir: string, env: NodeJS.ProcessEnv = process.env): Promise<CommandRun> {
  const [file, ...args] = shlexSplit(cmd);
  return new Promise((resolve, reject) => {
    const child = spawn(file!, args, { cwd: topdir, env, shell: false, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => undefined); // b4's communicate() ignores a command that stops reading
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: Buffer.concat(err) }));
    child.stdin.end(message);
  });
}

/** `git rev-parse --show-toplevel`: where b4 runs the command. */
export function gitTopLevel(dir: string): string {
  return execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: dir, encoding: 'utf8' }).trim();
}

export type TextFlag = 'fail' | 'warning' | 'success';

/** What `b4 am -k` and `b4 prep --check` make of a command's output. */
export function b4TextResults(run: CommandRun): { flag: TextFlag; text: string }[] {
  const lines = (b: Buffer): string[] => {
    const s = b.toString('utf8').trim();
    return s ? s.split('\n') : [];
  };
  const out = lines(run.stdout).map((l) => ({ flag: (l.includes('ERROR:') ? 'fail' : 'warning') as TextFlag, text: l.startsWith('-:') ? l.slice(2) : l }));
  const err = lines(run.stderr).map((l) => ({ flag: 'fail' as TextFlag, text: l.startsWith('-:') ? l.slice(2) : l }));
  if (out.length + err.length === 0) return [run.code ? { flag: 'fail', text: `Exited with error code ${run.code}` } : { flag: 'success', text: 'passed all checks' }];
  return [...out, ...err];
}

export interface B4Result { tool: string; status: 'pass' | 'warn' | 'fail'; summary: string; url: string; details: string }

/** What b4's review CI checks make of a command's output. */
export function b4JsonResults(run: CommandRun, command = 'cmd'): B4Result[] {
  const text = run.stdout.toString('utf8');
  if (text.trim() === '') return run.code ? [{ tool: command, status: 'fail', summary: `exited with error code ${run.code}`, url: '', details: run.stderr.toString('utf8').trim() }] : [];
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return [{ tool: command, status: 'fail', summary: `invalid JSON output: ${(e as Error).message}`, url: '', details: text }];
  }
  const list = Array.isArray(data) ? data : [data];
  const out: B4Result[] = [];
  for (const entry of list) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) continue;
    const e = entry as Record<string, unknown>;
    const status = ['pass', 'warn', 'fail'].includes(e.status as string) ? e.status as B4Result['status'] : 'fail';
    out.push({ tool: String(e.tool ?? command), status, summary: String(e.summary ?? ''), url: String(e.url ?? ''), details: String(e.details ?? '') });
  }
  return out;
}

/** The detail view's structured entries, or undefined when it would show `details` as plain text. */
export function b4DetailEntries(details: string): { status: string; description: string }[] | undefined {
  let list: unknown;
  try { list = JSON.parse(details); } catch { return undefined; }
  if (!Array.isArray(list)) return undefined;
  return list.filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null)
    .map((e) => ({ status: String(e.status ?? ''), description: String(e.description ?? '') }));
}

/**
 * Where a line of a patch lands in the post-image: the file of its diff and its line there, for
 * the first added or context line whose text contains `needle` (the test's own walk of the
 * unified diff, independent of the reader under test).
 */
export function postImageLine(patchText: string, needle: string, nth = 0): { file: string; line: number } {
  let file = '';
  let newLine = 0;
  let seen = 0;
  let inHunk = false;
  for (const l of patchText.replace(/\r\n/g, '\n').split('\n')) {
    const plus = /^\+\+\+ b\/(.*)$/.exec(l);
    if (plus && !inHunk) { file = plus[1]!; continue; }
    const hunk = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(l);
    if (hunk) { newLine = Number(hunk[1]); inHunk = true; continue; }
    if (l.startsWith('diff --git ') || l === '-- ') { inHunk = false; continue; }
    if (!inHunk) continue;
    if (l.startsWith('-')) continue;
    if (l.startsWith('+') || l.startsWith(' ') || l === '') {
      if (l.slice(1).includes(needle) && seen++ === nth) return { file, line: newLine };
      newLine++;
    }
  }
  throw new Error(`"${needle}" is on no added or context line of the patch`);
}
