// Writing the report where the user sent it, when that place may go away: a reader that closed
// the pipe (`| head -1`) is not an error, the verdict still decides the exit status; a full
// disk or an I/O error loses the report, which the user must be told in one line (exit 2).

import { errnoText } from '../core/io/boundedRead';

/** A system error from writing (it carries an errno code such as EPIPE or ENOSPC). */
export function isWriteError(e: unknown): e is NodeJS.ErrnoException {
  const code = (e as { code?: unknown } | null)?.code;
  return e instanceof Error && typeof code === 'string' && /^E[A-Z0-9]+$/.test(code);
}

/** Output that stops at the first failed write and remembers why. */
export class GuardedOutput {
  /** The reader went away (EPIPE): further output is dropped without a word. */
  closed = false;
  /** Why output was lost (e.g. "no space left on device"); set once. */
  failure: string | undefined;

  constructor(private readonly write: (text: string) => void) {}

  out(text: string): void {
    if (this.closed || this.failure !== undefined) return;
    try {
      this.write(text);
    } catch (e) {
      if (!isWriteError(e)) throw e;
      this.record(e);
    }
  }

  /** A write error, thrown by the write or reported later by the stream. */
  record(e: NodeJS.ErrnoException): void {
    if (this.closed || this.failure !== undefined) return;
    if (e.code === 'EPIPE') this.closed = true;
    else this.failure = errnoText(e);
  }
}

/**
 * A process stream written without ever raising an unhandled 'error' event: stream errors
 * (EPIPE from a closed pipe, ENOSPC from /dev/full) are kept, and `settle` waits until what was
 * written has gone out, then returns the first of them.
 */
export class ProcessStream {
  private error: NodeJS.ErrnoException | undefined;

  constructor(private readonly stream: NodeJS.WriteStream) {
    stream.on('error', (e: NodeJS.ErrnoException) => { this.error ??= e; });
  }

  write(text: string): void {
    if (this.error || this.stream.destroyed) return;
    this.stream.write(text);
  }

  settle(): Promise<NodeJS.ErrnoException | undefined> {
    return new Promise((resolve) => {
      if (this.error || this.stream.destroyed) { resolve(this.error); return; }
      // the callback runs once everything before it is written, or with the error that stopped it
      this.stream.write('', (e) => resolve(this.error ?? (e as NodeJS.ErrnoException | null | undefined) ?? undefined));
    });
  }
}
