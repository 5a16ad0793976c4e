// Command-line parsing for `kvm-lens check`. Returns a result rather than throwing or exiting
// so the CLI decides how to print and which exit status to use, and tests can call it directly.

import { DEFAULT_BUDGET } from '../core/analysis/budget';
import { DEFAULT_MAX_INPUT_BYTES } from '../core/io/boundedRead';
import { exitStatusHelp } from './exitStatus';

export type OutputFormat = 'text' | 'json' | 'sarif';

export interface Assumption {
  key: string;
  value: string;
}

export interface CheckOptions {
  inputs: string[];
  format: OutputFormat;
  /** In command-line order; which keys exist and what values they take is checked elsewhere. */
  assumptions: Assumption[];
  depth?: number;
  vcpus?: number;
  tree?: string;
  /** --no-tree: patch-only against the built-in model even inside a kernel checkout. */
  noTree: boolean;
  /** False only with --no-color; the CLI still turns colour off when output is not a terminal. */
  color: boolean;
  /** False only with --no-cache: results of identical earlier runs are reused from the cache. */
  cache: boolean;
  output?: string;
  /** Inputs larger than this many bytes are refused (--max-input-size). */
  maxInputBytes?: number;
  /** The analysis budget's wall-clock limit in milliseconds (--budget-time, given in seconds). */
  budgetTimeMs?: number;
  /** The analysis budget's work units (--budget-work). */
  budgetWork?: number;
  /** Show the stack of an internal error (--debug). */
  debug: boolean;
  help: boolean;
  version: boolean;
}

export type ParseResult = { ok: true; options: CheckOptions } | { ok: false; message: string };

const PROGRAM = 'kvm-lens';
const SEE_HELP = `(see ${PROGRAM} --help)`;
const FORMATS: readonly OutputFormat[] = ['text', 'json', 'sarif'];

/** Options that take a value, by every spelling, mapped to their long name. */
const VALUE_OPTIONS: Record<string, string> = {
  '--format': '--format',
  '--assume': '--assume',
  '--depth': '--depth',
  '--vcpus': '--vcpus',
  '--tree': '--tree',
  '--output': '--output',
  '-o': '--output',
  '--max-input-size': '--max-input-size',
  '--budget-time': '--budget-time',
  '--budget-work': '--budget-work',
};

const FLAG_OPTIONS: Record<string, string> = {
  '--no-color': '--no-color',
  '--no-cache': '--no-cache',
  '--no-tree': '--no-tree',
  '--help': '--help',
  '-h': '--help',
  '--version': '--version',
  '--debug': '--debug',
};

class UsageError extends Error {}

function fail(message: string): never {
  throw new UsageError(`${PROGRAM}: ${message}`);
}

/** argv is the arguments after the program name, e.g. ["check", "series/", "--format", "json"]. */
export function parseCheckArgs(argv: string[]): ParseResult {
  try {
    return { ok: true, options: parse(argv) };
  } catch (err) {
    if (err instanceof UsageError) return { ok: false, message: err.message };
    throw err;
  }
}

function parse(argv: string[]): CheckOptions {
  const options: CheckOptions = { inputs: [], format: 'text', assumptions: [], noTree: false, color: true, cache: true, debug: false, help: false, version: false };
  const positionals: string[] = [];
  let optionsEnded = false;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    // A lone "-" is an operand (conventionally standard input), not an option.
    if (optionsEnded || !arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    if (arg === '--') {
      optionsEnded = true;
      continue;
    }

    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const spelling = eq >= 0 ? arg.slice(0, eq) : arg;
    const inlineValue = eq >= 0 ? arg.slice(eq + 1) : undefined;

    const flag = FLAG_OPTIONS[spelling];
    if (flag) {
      if (inlineValue !== undefined) fail(`${flag} takes no value`);
      if (flag === '--no-color') options.color = false;
      else if (flag === '--no-cache') options.cache = false;
      else if (flag === '--no-tree') options.noTree = true;
      else if (flag === '--help') options.help = true;
      else if (flag === '--debug') options.debug = true;
      else options.version = true;
      continue;
    }

    const name = VALUE_OPTIONS[spelling];
    if (!name) fail(`unknown option ${spelling} ${SEE_HELP}`);

    let value = inlineValue;
    if (value === undefined) {
      const next = argv[i + 1];
      // "--format --depth 3" is a forgotten value, not a format named "--depth".
      if (next === undefined || next.startsWith('--')) fail(`${name} needs a value`);
      value = next;
      i++;
    }
    applyValue(options, name, value);
  }

  // --help and --version answer without a complete command line, as most tools do.
  if (options.help || options.version) {
    if (positionals[0] === 'check') options.inputs = positionals.slice(1);
    return options;
  }

  if (positionals.length === 0) fail(`missing command; expected "check" ${SEE_HELP}`);
  if (positionals[0] !== 'check') fail(`unknown command "${positionals[0]}" ${SEE_HELP}`);
  options.inputs = positionals.slice(1);
  if (options.inputs.length === 0 && options.tree === undefined) fail(`check needs at least one patch, mbox or directory, or --tree DIR ${SEE_HELP}`);
  if (options.noTree && options.tree !== undefined) fail(`--tree and --no-tree contradict each other ${SEE_HELP}`);
  return options;
}

function applyValue(options: CheckOptions, name: string, value: string): void {
  switch (name) {
    case '--format':
      if (!(FORMATS as readonly string[]).includes(value)) fail(`--format must be text, json or sarif, got "${value}"`);
      options.format = value as OutputFormat;
      return;
    case '--assume': {
      const eq = value.indexOf('=');
      if (eq < 0) fail(`--assume needs KEY=VALUE, got "${value}"`);
      if (eq === 0) fail(`--assume needs a key before "=", got "${value}"`);
      options.assumptions.push({ key: value.slice(0, eq), value: value.slice(eq + 1) });
      return;
    }
    case '--depth':
      options.depth = positiveInteger(name, value);
      return;
    case '--vcpus':
      options.vcpus = positiveInteger(name, value);
      return;
    case '--tree':
      if (value === '') fail('--tree needs a directory');
      options.tree = value;
      return;
    case '--output':
      if (value === '') fail('--output needs a file name');
      options.output = value;
      return;
    case '--max-input-size': {
      const bytes = sizeOption(value);
      if (typeof bytes === 'string') fail(bytes);
      options.maxInputBytes = bytes;
      return;
    }
    case '--budget-time': {
      const seconds = Number(value);
      if (!/^[0-9]+(\.[0-9]+)?$/.test(value) || !(seconds > 0)) fail(`--budget-time needs a number of seconds greater than 0, got "${value}"`);
      options.budgetTimeMs = seconds * 1000;
      return;
    }
    case '--budget-work':
      options.budgetWork = positiveInteger(name, value);
      return;
  }
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** --max-input-size's value in bytes, or the message for one that is not a size. */
export function sizeOption(value: string): number | string {
  return parseByteSize(value) ?? `--max-input-size needs a size in bytes such as 1048576, 512k, 64M or 1G, got "${value}"`;
}

/** --date's value, or the message for one that is not a date. */
export function dateOption(value: string): Date | string {
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? `--date needs a date such as 2026-11-05T12:00:00Z, got "${value}"` : d;
}

/** "4096", "512k", "64M", "1G" (binary units, case-insensitive, an optional trailing B) as bytes; undefined if not a positive size. */
export function parseByteSize(text: string): number | undefined {
  const m = /^([0-9]+)([kmg]?)b?$/i.exec(text.trim());
  if (!m) return undefined;
  const bytes = Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!;
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

function positiveInteger(name: string, value: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    fail(`${name} needs a positive integer, got "${value}"`);
  }
  return n;
}

export function usageText(): string {
  return `Usage: ${PROGRAM} check <inputs...> [options]
       ${PROGRAM} reply <inputs...> --annotations FILE --out DIR [--to/--cc ADDR]...
       ${PROGRAM} b4-check [--text] [--tree DIR | --no-tree] < message.eml
       ${PROGRAM} b4-review import|export <inputs...> [--annotations FILE] [--branch NAME]
       ${PROGRAM} --help | --version

Simulates the AMD SEV-ES vCPU lifecycle over a KVM patch series and reports code paths
that touch encrypted VMSA state or allow debugging of an SEV-ES guest.

Inputs are patch files (git format-patch output), mbox files or directories of patches,
applied in the order given.

Options:
  --format text|json|sarif  report format (default: text); also --format=json
  --assume KEY=VALUE        add an assumption (see below); may be repeated
  --depth N                 bound on the length of explored ioctl sequences
  --vcpus N                 number of vCPUs to simulate
  --tree DIR                the kernel tree to apply the series to (default: the kernel
                            checkout the current directory is in, if any); the series'
                            exact base is taken from its git repository when it has the
                            diffs' blob ids or the series' base-commit (see README)
  --no-tree                 patch-only: merge the series onto the built-in model, even
                            inside a kernel checkout
  --no-color                no ANSI colour in the text report
  --no-cache                analyse again even if an identical run is in the cache
                            ($XDG_CACHE_HOME/kvm-lens, else ~/.cache/kvm-lens)
  -o, --output FILE         write the report to FILE instead of standard output
  --max-input-size SIZE     refuse an input file larger than SIZE bytes; k, M, G suffixes
                            (default: ${DEFAULT_MAX_INPUT_BYTES / (1024 * 1024)}M)
  --budget-time SECONDS     stop the analysis after this much time and report what it found
                            so far, naming what was cut (default: ${DEFAULT_BUDGET.timeMs / 1000})
  --budget-work UNITS       the same in work units, which cut at the same place on any
                            machine (one per statement or expression simulated, three per
                            hunk line parsed and merged; default: ${DEFAULT_BUDGET.work})
  --debug                   show the stack trace of an internal error
  -h, --help                show this help and exit
  --version                 show the version and exit

Assumptions (--assume KEY=VALUE):
  protected-at-create=true|false
      set vcpu->arch.guest_state_protected when the vCPU is created
  vm-type=legacy|protected|snp
      the type KVM_CREATE_VM gets: legacy KVM_X86_DEFAULT_VM (then KVM_SEV_ES_INIT),
      protected KVM_X86_SEV_ES_VM, snp KVM_X86_SNP_VM (both then KVM_SEV_INIT2)
  vcpus=1|2
      number of vCPUs in the simulated VM
  guard-absent=<function>:<condition text or flag>
      treat that guard in that function as absent
  launch-refuses-debug=true|false
      what-if: KVM_SEV_LAUNCH_UPDATE_VMSA refuses while guest debugging is armed

${exitStatusHelp('no error finding', 'at least one error finding')}`;
}
