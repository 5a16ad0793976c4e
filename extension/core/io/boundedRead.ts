// Reading what the user points us at, without ever blocking or running out of memory: only
// regular files are opened (a FIFO with no writer would block forever, /dev/zero never ends),
// and nothing larger than a limit is read. Errors come back as one-line reasons, never thrown.
import { closeSync, constants as fsConstants, fstatSync, openSync, readSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';

/** A patch series or a sidecar larger than this is not something a reviewer meant to open. */
export const DEFAULT_MAX_INPUT_BYTES = 256 * 1024 * 1024;

/**
 * A refusal: `reason` is the one-line text; `kind` is set when the path is not a regular file
 * (its kind in words), `limit` when it is too large, `code` when the system refused (ENOENT,
 * ELOOP, ...), so a caller can phrase it its own way.
 */
export type ReadRefusal = { ok: false; reason: string; kind?: string; size?: number; limit?: number; code?: string };

export type BoundedRead = { ok: true; bytes: Buffer } | ReadRefusal;

const notRegular = (kind: string): ReadRefusal => ({ ok: false, reason: `${kind}, not a regular file`, kind });
const tooLarge = (limit: number, size?: number): ReadRefusal => (
  { ok: false, reason: `${size === undefined ? '' : `${sizeText(size)}, `}larger than the ${sizeText(limit)} limit`, limit, ...(size === undefined ? {} : { size }) });
const systemRefusal = (e: unknown): ReadRefusal => {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return { ok: false, reason: errnoText(e), ...(code ? { code } : {}) };
};

/** What kind of file system object this is, in words a user recognises. */
export function kindOf(st: import('node:fs').Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

export function sizeText(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Math.round(bytes / (1024 * 1024))} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} kB`;
  return `${bytes} bytes`;
}

/**
 * The bytes of a regular file of at most maxBytes. The file is checked before it is opened and
 * opened non-blocking, so a FIFO swapped in between cannot hang us; a file that grows while we
 * read is cut at the limit and refused.
 */
export async function readRegularFile(file: string, maxBytes = DEFAULT_MAX_INPUT_BYTES): Promise<BoundedRead> {
  let st;
  try {
    st = await stat(file);
  } catch (e) {
    return systemRefusal(e);
  }
  if (!st.isFile()) return notRegular(kindOf(st));
  if (st.size > maxBytes) return tooLarge(maxBytes, st.size);
  let handle;
  try {
    handle = await open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (e) {
    return systemRefusal(e);
  }
  try {
    const again = await handle.stat();
    if (!again.isFile()) return notRegular(kindOf(again));
    // One buffer of the size stat reported (plus one byte to notice growth), so a file near
    // the limit costs its size once rather than twice (chunks, then their concatenation).
    let buf = Buffer.allocUnsafe(Math.min(again.size, maxBytes) + 1);
    let total = 0;
    for (;;) {
      if (total === buf.length) {
        if (total > maxBytes) return tooLarge(maxBytes);
        const grown = Buffer.allocUnsafe(Math.min(maxBytes + 1, Math.max(buf.length * 2, 1 << 16)));
        buf.copy(grown, 0, 0, total);
        buf = grown;
      }
      const { bytesRead } = await handle.read(buf, total, buf.length - total, null);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
    if (total > maxBytes) return tooLarge(maxBytes);
    return { ok: true, bytes: buf.subarray(0, total) };
  } catch (e) {
    return systemRefusal(e);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** All of a stream (stdin), refused past maxBytes rather than buffered without end. */
export function readStreamBounded(stream: NodeJS.ReadableStream, maxBytes = DEFAULT_MAX_INPUT_BYTES): Promise<BoundedRead> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let done = false;
    const finish = (r: BoundedRead) => {
      if (done) return;
      done = true;
      stream.removeListener('data', onData);
      resolve(r);
    };
    const onData = (c: Buffer | string) => {
      const b = typeof c === 'string' ? Buffer.from(c) : c;
      total += b.length;
      if (total > maxBytes) {
        finish({ ok: false, reason: `standard input is larger than the ${sizeText(maxBytes)} limit` });
        (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
        return;
      }
      chunks.push(b);
    };
    stream.on('data', onData);
    stream.on('end', () => finish({ ok: true, bytes: Buffer.concat(chunks, total) }));
    stream.on('error', (e) => finish({ ok: false, reason: errnoText(e) }));
  });
}

/** "ENOENT: no such file or directory, open 'x'" → "no such file or directory". */
export function errnoText(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const m = /^[A-Z0-9_]+: ([^,]+)(,|$)/.exec(e.message);
  return m ? m[1]! : e.message;
}

/**
 * The same for callers that cannot wait (the editor reading a sibling patch): the descriptor is
 * opened non-blocking and checked with fstat before a byte is read.
 */
export function readRegularFileSync(file: string, maxBytes = DEFAULT_MAX_INPUT_BYTES): BoundedRead {
  let fd: number;
  try {
    fd = openSync(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (e) {
    return systemRefusal(e);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return notRegular(kindOf(st));
    if (st.size > maxBytes) return tooLarge(maxBytes, st.size);
    const buf = Buffer.allocUnsafe(st.size);
    let total = 0;
    while (total < buf.length) {
      const n = readSync(fd, buf, total, buf.length - total, null);
      if (n === 0) break;
      total += n;
    }
    return { ok: true, bytes: buf.subarray(0, total) };
  } catch (e) {
    return systemRefusal(e);
  } finally {
    closeSync(fd);
  }
}
