// The parser returns one-line messages instead of exiting, so each bad input is checked
// for the exact message the user will see.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCheckArgs, usageText, type CheckOptions } from '../../../extension/cli/args';

function ok(argv: string[]): CheckOptions {
  const result = parseCheckArgs(argv);
  if (!result.ok) assert.fail(`expected success, got: ${result.message}`);
  return result.options;
}

function err(argv: string[]): string {
  const result = parseCheckArgs(argv);
  if (result.ok) assert.fail(`expected an error for ${JSON.stringify(argv)}`);
  assert.doesNotMatch(result.message, /\n/);
  return result.message;
}

test('defaults: text format, colour on, no assumptions or bounds', () => {
  assert.deepEqual(ok(['check', 'series/']), {
    inputs: ['series/'],
    format: 'text',
    assumptions: [],
    noTree: false,
    color: true,
    cache: true,
    debug: false,
    help: false,
    version: false,
  });
});

test('several inputs keep their order, interleaved with options', () => {
  assert.deepEqual(ok(['check', 'a.patch', '--no-color', 'b.patch', 'c.mbox']).inputs, ['a.patch', 'b.patch', 'c.mbox']);
});

test('every option, separate-value spelling', () => {
  const o = ok([
    'check', 'a.patch',
    '--format', 'sarif',
    '--assume', 'vm-type=protected',
    '--assume', 'guard-absent=sev_es_launch_update_vmsa:vcpu->guest_debug',
    '--depth', '12',
    '--vcpus', '2',
    '--tree', '/src/linux',
    '--no-color',
    '--no-cache',
    '-o', 'out.sarif',
    '--max-input-size', '64M',
    '--budget-time', '2.5',
    '--budget-work', '1000000',
    '--debug',
  ]);
  assert.deepEqual(o, {
    inputs: ['a.patch'],
    format: 'sarif',
    assumptions: [
      { key: 'vm-type', value: 'protected' },
      { key: 'guard-absent', value: 'sev_es_launch_update_vmsa:vcpu->guest_debug' },
    ],
    depth: 12,
    vcpus: 2,
    tree: '/src/linux',
    noTree: false,
    color: false,
    cache: false,
    output: 'out.sarif',
    maxInputBytes: 64 * 1024 * 1024,
    budgetTimeMs: 2500,
    budgetWork: 1_000_000,
    debug: true,
    help: false,
    version: false,
  });
});

test('--no-tree asks for the built-in model; with --tree it is a contradiction', () => {
  assert.equal(ok(['check', '--no-tree', 'a.patch']).noTree, true);
  const r = parseCheckArgs(['check', '--no-tree', '--tree', 'linux', 'a.patch']);
  assert.ok(!r.ok && /--tree and --no-tree contradict/.test(r.message));
});

test('every option, --name=value spelling', () => {
  const o = ok(['check', '--format=json', '--assume=vcpus=1', '--depth=3', '--vcpus=1', '--tree=linux', '--output=r.json', 'a.patch']);
  assert.equal(o.format, 'json');
  assert.deepEqual(o.assumptions, [{ key: 'vcpus', value: '1' }]);
  assert.equal(o.depth, 3);
  assert.equal(o.vcpus, 1);
  assert.equal(o.tree, 'linux');
  assert.equal(o.output, 'r.json');
});

test('every format is accepted; the last --format wins', () => {
  for (const format of ['text', 'json', 'sarif'] as const) assert.equal(ok(['check', 'a', '--format', format]).format, format);
  assert.equal(ok(['check', 'a', '--format', 'json', '--format=text']).format, 'text');
});

test('assumption values may contain "=" and may be empty; only the first "=" splits', () => {
  assert.deepEqual(ok(['check', 'a', '--assume', 'guard-absent=f:x==0', '--assume', 'k=']).assumptions, [
    { key: 'guard-absent', value: 'f:x==0' },
    { key: 'k', value: '' },
  ]);
});

test('"--" ends options and "-" is an input', () => {
  assert.deepEqual(ok(['check', '--', '--weird-name.patch', '-x']).inputs, ['--weird-name.patch', '-x']);
  assert.deepEqual(ok(['check', '-']).inputs, ['-']);
});

test('--help and -h need no command or inputs', () => {
  assert.equal(ok(['--help']).help, true);
  assert.equal(ok(['-h']).help, true);
  assert.equal(ok(['check', '--help']).help, true);
  assert.deepEqual(ok(['check', 'a.patch', '-h']).inputs, ['a.patch']);
});

test('--version needs no command or inputs', () => {
  const o = ok(['--version']);
  assert.equal(o.version, true);
  assert.equal(o.help, false);
});

test('bad --format value', () => {
  assert.equal(err(['check', 'a', '--format', 'xml']), 'kvm-lens: --format must be text, json or sarif, got "xml"');
  assert.equal(err(['check', 'a', '--format=']), 'kvm-lens: --format must be text, json or sarif, got ""');
});

test('bad --depth and --vcpus values', () => {
  assert.equal(err(['check', 'a', '--depth', 'x']), 'kvm-lens: --depth needs a positive integer, got "x"');
  assert.equal(err(['check', 'a', '--depth', '0']), 'kvm-lens: --depth needs a positive integer, got "0"');
  assert.equal(err(['check', 'a', '--depth', '-1']), 'kvm-lens: --depth needs a positive integer, got "-1"');
  assert.equal(err(['check', 'a', '--depth=2.5']), 'kvm-lens: --depth needs a positive integer, got "2.5"');
  assert.equal(err(['check', 'a', '--depth', '99999999999999999999']), 'kvm-lens: --depth needs a positive integer, got "99999999999999999999"');
  assert.equal(err(['check', 'a', '--vcpus', 'two']), 'kvm-lens: --vcpus needs a positive integer, got "two"');
  assert.equal(err(['check', 'a', '--vcpus', '']), 'kvm-lens: --vcpus needs a positive integer, got ""');
});

test('bad --assume values', () => {
  assert.equal(err(['check', 'a', '--assume', 'vm-type']), 'kvm-lens: --assume needs KEY=VALUE, got "vm-type"');
  assert.equal(err(['check', 'a', '--assume', '=legacy']), 'kvm-lens: --assume needs a key before "=", got "=legacy"');
});

test('empty --tree and --output values', () => {
  assert.equal(err(['check', 'a', '--tree=']), 'kvm-lens: --tree needs a directory');
  assert.equal(err(['check', 'a', '--output=']), 'kvm-lens: --output needs a file name');
});

test('missing option values', () => {
  for (const option of ['--format', '--assume', '--depth', '--vcpus', '--tree', '--output']) {
    assert.equal(err(['check', 'a', option]), `kvm-lens: ${option} needs a value`);
  }
  assert.equal(err(['check', 'a', '-o']), 'kvm-lens: --output needs a value');
  assert.equal(err(['check', 'a', '--format', '--depth', '3']), 'kvm-lens: --format needs a value');
});

test('flags reject a value', () => {
  assert.equal(err(['check', 'a', '--no-color=1']), 'kvm-lens: --no-color takes no value');
  assert.equal(err(['--help=x']), 'kvm-lens: --help takes no value');
});

test('unknown options', () => {
  assert.equal(err(['check', 'a', '--foo']), 'kvm-lens: unknown option --foo (see kvm-lens --help)');
  assert.equal(err(['check', 'a', '--foo=bar']), 'kvm-lens: unknown option --foo (see kvm-lens --help)');
  assert.equal(err(['check', 'a', '-x']), 'kvm-lens: unknown option -x (see kvm-lens --help)');
  assert.equal(err(['check', 'a', '--color']), 'kvm-lens: unknown option --color (see kvm-lens --help)');
});

test('missing or unknown command, missing inputs', () => {
  assert.equal(err([]), 'kvm-lens: missing command; expected "check" (see kvm-lens --help)');
  assert.equal(err(['--format', 'json']), 'kvm-lens: missing command; expected "check" (see kvm-lens --help)');
  assert.equal(err(['lint', 'a.patch']), 'kvm-lens: unknown command "lint" (see kvm-lens --help)');
  assert.equal(err(['check']), 'kvm-lens: check needs at least one patch, mbox or directory, or --tree DIR (see kvm-lens --help)');
  assert.equal(err(['check', '--no-color']), 'kvm-lens: check needs at least one patch, mbox or directory, or --tree DIR (see kvm-lens --help)');
});

test('usage text documents the command, every option, assumption keys and exit statuses', () => {
  const usage = usageText();
  assert.match(usage, /^Usage: kvm-lens check <inputs\.\.\.>/);
  for (const option of ['--format text|json|sarif', '--assume KEY=VALUE', '--depth N', '--vcpus N', '--tree DIR', '--no-color', '--no-cache', '-o, --output FILE',
    '--max-input-size SIZE', '--budget-time SECONDS', '--budget-work UNITS', '--debug', '-h, --help', '--version']) {
    assert.ok(usage.includes(option), `usage mentions ${option}`);
  }
  for (const key of [
    'protected-at-create=true|false',
    'vm-type=legacy|protected',
    'vcpus=1|2',
    'guard-absent=<function>:<condition text or flag>',
    'launch-refuses-debug=true|false',
  ]) {
    assert.ok(usage.includes(key), `usage mentions ${key}`);
  }
  assert.match(usage, /0 {2}no error finding/);
  assert.match(usage, /1 {2}at least one error finding/);
  assert.match(usage, /2 {2}bad usage, or input or output unusable/);
  assert.match(usage, /3 {2}kvm-lens itself failed \(an internal error/);
  for (const line of usage.split('\n')) assert.ok(line.length <= 100, `line too long: ${line}`);
});

test('--max-input-size takes bytes with k, M, G suffixes; anything else is refused in one line', () => {
  const size = (v: string): number | undefined => ok(['check', 'a.patch', '--max-input-size', v]).maxInputBytes;
  assert.equal(size('4096'), 4096);
  assert.equal(size('512k'), 512 * 1024);
  assert.equal(size('64M'), 64 * 1024 * 1024);
  assert.equal(size('1g'), 1024 ** 3);
  assert.equal(size('2MB'), 2 * 1024 * 1024);
  for (const bad of ['0', '-1', '1.5M', '12X', 'M', '']) {
    assert.match(err(['check', 'a.patch', `--max-input-size=${bad}`]), /^kvm-lens: --max-input-size needs a size in bytes such as .*, got "/, bad);
  }
});

test('--budget-time takes seconds greater than 0, --budget-work a positive integer', () => {
  assert.equal(ok(['check', 'a.patch', '--budget-time=30']).budgetTimeMs, 30_000);
  assert.equal(ok(['check', 'a.patch', '--budget-time', '0.25']).budgetTimeMs, 250);
  assert.equal(err(['check', 'a.patch', '--budget-time', '0']), 'kvm-lens: --budget-time needs a number of seconds greater than 0, got "0"');
  assert.equal(err(['check', 'a.patch', '--budget-time', '1e9']), 'kvm-lens: --budget-time needs a number of seconds greater than 0, got "1e9"');
  assert.equal(err(['check', 'a.patch', '--budget-work', '1.5']), 'kvm-lens: --budget-work needs a positive integer, got "1.5"');
});
