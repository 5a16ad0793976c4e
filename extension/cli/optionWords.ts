// A subcommand's command line as words: positionals, flags and options with values, the way
// every kvm-lens subcommand reads them (`--` ends the options, `-` is a positional, a value is
// `--name=value` or the next word unless that word is an option). Whether a word is known, and
// every missing value, is decided here once; what each means is the subcommand's.

import { dateOption, sizeOption } from './args';

export type OptionWord =
  | { kind: 'positional'; value: string }
  | { kind: 'flag'; name: string }
  | { kind: 'value'; name: string; value: string };

/** Flags every subcommand takes (--debug is read by main). */
const COMMON_FLAGS = ['--help', '-h', '--debug'];

/** The words of `argv`, or the message for the first unknown option or missing value. */
export function optionWords(argv: readonly string[], flags: readonly string[], valued: readonly string[]): OptionWord[] | string {
  const out: OptionWord[] = [];
  let ended = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (ended || !arg.startsWith('-') || arg === '-') { out.push({ kind: 'positional', value: arg }); continue; }
    if (arg === '--') { ended = true; continue; }
    if (flags.includes(arg) || COMMON_FLAGS.includes(arg)) { out.push({ kind: 'flag', name: arg }); continue; }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    if (!valued.includes(name)) return `unknown option ${name}`;
    let value = eq >= 0 ? arg.slice(eq + 1) : undefined;
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) return `${name} needs a value`;
      value = next;
      i++;
    }
    if (value === '') return `${name} needs a value`;
    out.push({ kind: 'value', name, value });
  }
  return out;
}

/** --max-input-size and --date, which the review subcommands share: set on `o`, or the message for a bad value. */
export function sizeOrDate(o: { maxInputBytes?: number; date?: Date }, name: string, value: string): string | undefined {
  const v = name === '--max-input-size' ? sizeOption(value) : dateOption(value);
  if (typeof v === 'string') return v;
  if (typeof v === 'number') o.maxInputBytes = v;
  else o.date = v;
  return undefined;
}
