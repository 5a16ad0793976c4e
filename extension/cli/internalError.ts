// What the user sees when kvm-lens itself fails (a bug, a stack overflow, anything not caused
// by the input being unreadable): one line naming what was being analysed and what to do,
// exit status 3 so CI can tell it from a verdict; the stack only when asked for with --debug.

import { shown } from './messages';

/** The one line (and with debug, the stack after it) for an unexpected exception. */
export function internalErrorText(e: unknown, what: string, debug: boolean): string {
  const reason = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  const line = `kvm-lens: internal error while ${what}: ${shown(reason.length > 300 ? reason.slice(0, 300) + '...' : reason)}; `
    + `this is a bug in kvm-lens, please report it with this input${debug ? '' : ' (--debug shows the stack)'}\n`;
  const stack = debug && e instanceof Error && e.stack ? e.stack.replace(/\n?$/, '\n') : '';
  return line + stack;
}

/** Whether argv asks for --debug (before a "--" that ends the options). */
export function wantsDebug(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--debug');
}

