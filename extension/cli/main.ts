// kvm-lens: the command-line twin of the extension, a thin entry point over the core. Whatever
// happens below, the process ends with a documented exit status and at most one line per
// problem on stderr: never an unhandled 'error' event, never a stack unless --debug asks.

import type { BoundedRead } from '../core/io/boundedRead';
import { parseCheckArgs } from './args';
import { readProcessStdin, runB4Check } from './b4Check';
import { b4ReviewCommand, parseB4ReviewArgs } from './b4Review';
import { checkCommand } from './checkCommand';
import { EXIT_BAD_INPUT, EXIT_INTERNAL } from './exitStatus';
import { internalErrorText, wantsDebug } from './internalError';
import { inputsPhrase } from './messages';
import { GuardedOutput, ProcessStream } from './output';
import { parseReplyArgs, replyCommand } from './reply';

export { EXIT_BAD_INPUT, EXIT_CLEAN, EXIT_ERROR_FINDING, EXIT_INTERNAL } from './exitStatus';

export interface CliIo {
  /** Standard output; may throw a write error (EPIPE, ENOSPC), which ends the output, not the run. */
  out: (text: string) => void;
  err: (text: string) => void;
  isTty: boolean;
  /** All of stdin up to maxBytes (default: process.stdin); only `b4-check` reads it. A string is taken as already decoded. */
  stdin?: (maxBytes: number) => Promise<BoundedRead | string>;
  /** Waits until what was written to out has gone out; returns the write error that stopped it, if any. */
  settle?: () => Promise<NodeJS.ErrnoException | undefined>;
}

/** The real process's streams, whose write errors are kept instead of thrown at the event loop. */
export function processIo(): CliIo {
  const stdout = new ProcessStream(process.stdout);
  const stderr = new ProcessStream(process.stderr);
  return {
    out: (t) => stdout.write(t),
    err: (t) => stderr.write(t),
    isTty: !!process.stdout.isTTY,
    stdin: readProcessStdin,
    settle: () => stdout.settle(),
  };
}

/** What the command was working on, for the line that reports an internal error. */
function subjectOf(argv: string[]): string {
  if (argv[0] === 'b4-check') return 'checking the message on standard input';
  if (argv[0] === 'b4-review') {
    const r = parseB4ReviewArgs(argv.slice(1));
    return r.ok && r.options.inputs.length ? `moving the review of ${inputsPhrase(r.options.inputs)} ${r.options.action === 'import' ? 'from' : 'to'} b4 review` : 'moving a review to or from b4 review';
  }
  if (argv[0] === 'reply') {
    const r = parseReplyArgs(argv.slice(1));
    return r.ok && r.options.inputs.length ? `composing replies to ${inputsPhrase(r.options.inputs)}` : 'composing replies';
  }
  const c = parseCheckArgs(argv);
  if (!c.ok) return 'reading the command line';
  const what = [...(c.options.inputs.length ? [inputsPhrase(c.options.inputs)] : []), ...(c.options.tree !== undefined ? [`the tree ${inputsPhrase([c.options.tree])}`] : [])];
  return what.length ? `checking ${what.join(' on ')}` : 'checking';
}

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const debug = wantsDebug(argv);
  const stdout = new GuardedOutput(io.out);
  const err = (t: string): void => { try { io.err(t); } catch { /* stderr is the last resort: nothing left to tell */ } };
  const guarded: CliIo = { ...io, out: (t) => stdout.out(t), err };
  let code: number;
  try {
    if (argv[0] === 'reply') code = await replyCommand(argv.slice(1), guarded);
    else if (argv[0] === 'b4-check') code = await runB4Check(argv.slice(1), guarded);
    else if (argv[0] === 'b4-review') code = await b4ReviewCommand(argv.slice(1), guarded);
    else code = await checkCommand(argv, guarded);
  } catch (e) {
    err(internalErrorText(e, subjectOf(argv), debug));
    return EXIT_INTERNAL;
  }
  const late = await io.settle?.();
  if (late) stdout.record(late);
  // a reader that went away (`| head`) wanted no more: the verdict stands
  if (stdout.failure !== undefined) {
    err(`kvm-lens: cannot write to standard output: ${stdout.failure}; the output is incomplete\n`);
    return EXIT_BAD_INPUT;
  }
  return code;
}

/**
 * The process entry point (bin/kvm-lens.js): runs main and sets the exit status; an exception
 * that escapes everything else (a callback outside main's promise) is still one line and exit 3.
 */
export async function runAsProcess(argv: string[]): Promise<void> {
  const debug = wantsDebug(argv);
  const io = processIo();
  const fatal = (e: unknown): void => {
    io.err(internalErrorText(e, subjectOf(argv), debug));
    process.exit(EXIT_INTERNAL);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  process.exitCode = await main(argv, io);
}
