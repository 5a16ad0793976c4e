// The sidecar on disk. Reading is synchronous (the editor and the CLI call it in line) but can
// neither block nor run out of memory: the file is opened non-blocking, checked on the opened
// descriptor to be a regular file, and read only up to a limit. Writing goes to a temporary file
// next to the real file and is renamed onto it, so a symbolic link to the sidecar stays a link
// and an interrupted write leaves the old file whole. Every refusal is one line of text.

import { randomBytes } from 'node:crypto';
import {
  chmodSync, closeSync, constants as fsConstants, fsyncSync, lstatSync, openSync, readlinkSync, realpathSync, renameSync, rmSync, statSync,
  writeSync, type Stats,
} from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_MAX_INPUT_BYTES, errnoText, kindOf, readRegularFileSync } from '../io/boundedRead';

function codeOf(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

export type TextRead =
  | { ok: true; text: string }
  /** `missing` when nothing is at the path at all (not even a dangling link). */
  | { ok: false; missing: boolean; reason: string };

/** Why a path that could not be opened is unusable: a dangling or looping link is said so. */
function openFailure(file: string, code: string | undefined, text: string): TextRead {
  if (code === 'ENOENT') {
    let link: string | undefined;
    try {
      if (lstatSync(file).isSymbolicLink()) link = readlinkSync(file);
    } catch { /* nothing there at all */ }
    if (link === undefined) return { ok: false, missing: true, reason: 'no such file' };
    return { ok: false, missing: false, reason: `it is a symbolic link to ${link}, which does not exist` };
  }
  if (code === 'ELOOP') return { ok: false, missing: false, reason: 'it is a symbolic link that never reaches a file (a loop)' };
  return { ok: false, missing: false, reason: text };
}

/** The UTF-8 text of a regular file of at most maxBytes, following symbolic links. */
export function readTextFileSync(file: string, maxBytes = DEFAULT_MAX_INPUT_BYTES): TextRead {
  const read = readRegularFileSync(file, maxBytes);
  if (read.ok) return { ok: true, text: read.bytes.toString('utf8') };
  if (read.kind !== undefined || read.limit !== undefined) return { ok: false, missing: false, reason: `it is ${read.reason}` };
  return openFailure(file, read.code, read.reason);
}

export type WriteTarget =
  /** `target` is the regular file to replace (the end of any symbolic links), or the path to create. */
  | { ok: true; target: string; exists: boolean; mode?: number }
  | { ok: false; reason: string };

/**
 * Where writing `file` must land: the file itself, or the regular file its symbolic links end
 * at. Refused: a directory, a FIFO or device, a dangling or looping link.
 */
export function writeTarget(file: string): WriteTarget {
  let st: Stats;
  try {
    st = lstatSync(file);
  } catch (e) {
    if (codeOf(e) === 'ENOENT') return { ok: true, target: file, exists: false };
    return { ok: false, reason: errnoText(e) };
  }
  if (!st.isSymbolicLink()) {
    if (!st.isFile()) return { ok: false, reason: `it is ${kindOf(st)}, not a regular file` };
    return { ok: true, target: file, exists: true, mode: st.mode & 0o7777 };
  }
  let real: string;
  try {
    real = realpathSync(file);
  } catch (e) {
    const failed = openFailure(file, codeOf(e), errnoText(e));
    return { ok: false, reason: failed.ok ? 'unreadable link' : failed.reason };
  }
  let end: Stats;
  try {
    end = statSync(real);
  } catch (e) {
    return { ok: false, reason: errnoText(e) };
  }
  if (!end.isFile()) return { ok: false, reason: `it is a symbolic link to ${real}, which is ${kindOf(end)}, not a regular file` };
  return { ok: true, target: real, exists: true, mode: end.mode & 0o7777 };
}

/**
 * Replaces (or creates) `target` with `text`: written and flushed to a temporary file in the
 * same directory, given the old file's permissions, then renamed onto it. Throws an Error whose
 * message is one line without the path (the caller names the file).
 */
export function replaceFileAtomically(target: string, text: string, mode?: number): void {
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o666);
    const bytes = Buffer.from(text, 'utf8');
    for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    if (mode !== undefined) chmodSync(tmp, mode);
    renameSync(tmp, target);
  } catch (e) {
    try {
      if (fd !== undefined) closeSync(fd);
      rmSync(tmp, { force: true });
    } catch { /* the write failed already; that is the error to report */ }
    throw new Error(errnoText(e));
  }
}
