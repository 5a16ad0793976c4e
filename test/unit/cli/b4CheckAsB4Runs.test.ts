// `kvm-lens b4-check` run the way b4 runs a check command: the README's `git config` lines are
// run (against a throwaway global config), each value is read back and split as shlex splits
// it, and the command is started without a shell, in the git top level of a kernel-like
// checkout, with a patch on stdin as b4 pipes it. The command is the launcher the README names,
// bin/kvm-lens.js, in a copy of the package built from the current sources (as `npm install`
// builds it), so the test never runs a stale dist/. The output is read by b4's rules.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { build } from 'esbuild';
import { makeKernelSeriesRepo, type KernelSeriesRepo } from '../support/kernelSeriesRepo';
import { asB4Pipes, b4DetailEntries, b4JsonResults, b4TextResults, gitTopLevel, postImageLine, runAsB4, shlexSplit } from './b4CheckRules';
import { EXAMPLE_DIR, ROOT, TEST_TIMEOUT_MS } from './cliHarness';

const T = { timeout: TEST_TIMEOUT_MS };
/** The clone's path in the README's commands. */
const README_CLONE = '/home/me/src/kvm-patch-lens';
const KEYS = ['review-perpatch-check-cmd', 'review-series-check-cmd', 'am-perpatch-check-cmd', 'prep-perpatch-check-cmd'];

let work: string;
let image: string;
let made: KernelSeriesRepo;
let topdir: string;
let messages: string[];
let env: NodeJS.ProcessEnv;

/** The package as `npm install` leaves it: the launcher, the bundle, the model's C, the grammars. */
async function buildPackage(dir: string): Promise<void> {
  const require = createRequire(join(ROOT, 'package.json'));
  mkdirSync(join(dir, 'bin'), { recursive: true });
  mkdirSync(join(dir, 'grammars'), { recursive: true });
  copyFileSync(join(ROOT, 'bin/kvm-lens.js'), join(dir, 'bin/kvm-lens.js'));
  chmodSync(join(dir, 'bin/kvm-lens.js'), 0o755);
  copyFileSync(require.resolve('tree-sitter-c/tree-sitter-c.wasm'), join(dir, 'grammars/tree-sitter-c.wasm'));
  copyFileSync(require.resolve('web-tree-sitter/web-tree-sitter.wasm'), join(dir, 'grammars/web-tree-sitter.wasm'));
  cpSync(join(ROOT, 'extension/core/model/builtin'), join(dir, 'dist/model/builtin'), { recursive: true });
  // bundled as scripts/build.mjs bundles the CLI
  await build({
    entryPoints: [join(ROOT, 'extension/cli/main.ts')], outfile: join(dir, 'dist/cli.js'),
    bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'warning',
    alias: { 'web-tree-sitter': require.resolve('web-tree-sitter') },
  });
}

/** The README's `git config` lines for the four keys (the ones naming kvm-lens), as the user's shell splits them. */
function readmeConfigLines(): string[][] {
  const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l.startsWith('git config ') && l.includes('kvm-lens'));
  return lines.map(shlexSplit);
}

before(async () => {
  work = realpathSync(mkdtempSync(join(tmpdir(), 'kvm-lens-b4-')));
  image = join(work, 'kvm-patch-lens');
  await buildPackage(image);
  made = makeKernelSeriesRepo(work, join(ROOT, 'extension/core/model/builtin'));
  // the top of a kernel tree has a Kconfig beside its Makefile and arch/
  writeFileSync(join(made.repo, 'Kconfig'), '# a kernel-like tree for the tests\n');
  topdir = gitTopLevel(join(made.repo, 'arch/x86/kvm'));
  messages = readFileSync(made.mbox, 'utf8').split(/^(?=From [0-9a-f]{40} )/m).filter((m) => m.trim() !== '');
  env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, GIT_CONFIG_GLOBAL: join(work, 'gitconfig'), GIT_CONFIG_NOSYSTEM: '1' };
  writeFileSync(env.GIT_CONFIG_GLOBAL!, '');
});

after(() => rmSync(work, { recursive: true, force: true }));

/** Runs the README's git config lines, then reads each key back as b4 does: every value of it. */
function configuredCommands(): Map<string, string[]> {
  const lines = readmeConfigLines();
  const keys = lines.map((argv) => argv.find((a) => a.startsWith('b4.'))!.slice(3));
  assert.deepEqual([...new Set(keys)].sort(), [...KEYS].sort(), 'the README has a git config line for each of the four keys');
  for (const argv of lines) {
    assert.equal(argv[0], 'git');
    const args = argv.slice(1).map((a) => a.split(README_CLONE).join(image));
    execFileSync('git', args, { cwd: topdir, env });
  }
  return new Map(KEYS.map((key) => [key, execFileSync('git', ['config', '--get-all', `b4.${key}`], { cwd: topdir, env, encoding: 'utf8' }).trim().split('\n')]));
}

describe('kvm-lens b4-check as b4 runs it, in a kernel checkout', () => {
  it('the README\'s commands: text for am and prep, JSON for review, on the exact base, at the C line', T, async () => {
    const commands = configuredCommands();
    const patch1 = asB4Pipes(messages[0]!, '8bit', 'p1@example.org');
    const patch2 = asB4Pipes(messages[1]!, 'base64', 'p2@example.org');
    const dr7 = postImageLine(messages[1]!, 'svm->vmcb->save.dr7 = value;');
    const base = made.base.slice(0, 12);

    for (const key of ['am-perpatch-check-cmd', 'prep-perpatch-check-cmd']) {
      const [cmd] = commands.get(key)!;
      assert.match(cmd!, /b4-check --text$/, `${key}: ${cmd}`);
      const clean = await runAsB4(cmd!, patch1, topdir, env);
      assert.equal(clean.stderr.toString(), '', `${key}: no stderr`);
      assert.deepEqual(b4TextResults(clean), [{ flag: 'success', text: 'passed all checks' }], key);
      const bad = await runAsB4(cmd!, patch2, topdir, env);
      assert.equal(bad.stderr.toString(), '', `${key}: no stderr`);
      const lines = bad.stdout.toString().split('\n');
      assert.equal(lines.length, 2, bad.stdout.toString());
      assert.match(lines[0]!, new RegExp(`^${dr7.file}:${dr7.line}: ERROR: svm_set_dr7\\(\\) writes VMSA-backed DR7 .* \\[vmsa-write-after-encryption\\]$`));
      assert.deepEqual(b4TextResults(bad).map((r) => r.flag), ['fail'], key);
    }

    for (const key of ['review-perpatch-check-cmd', 'review-series-check-cmd']) {
      const [cmd] = commands.get(key)!;
      assert.match(cmd!, /b4-check$/, `${key}: ${cmd}`);
      const clean = b4JsonResults(await runAsB4(cmd!, patch1, topdir, env));
      assert.deepEqual(clean.map((r) => [r.tool, r.status, r.summary]), [['kvm-lens', 'pass', `no findings; checked on its exact base: base-commit ${base} in ${topdir}`]], key);
      const bad = b4JsonResults(await runAsB4(cmd!, patch2, topdir, env));
      assert.deepEqual(bad.map((r) => [r.tool, r.status, r.summary]), [['kvm-lens', 'fail', `1 error: vmsa-write-after-encryption in svm_set_dr7(); checked on its exact base: the pre-image blobs in ${topdir}`]], key);
      const entries = b4DetailEntries(bad[0]!.details)!;
      assert.deepEqual(entries.map((e) => e.status), ['fail', 'pass']);
      assert.match(entries[0]!.description, new RegExp(`^${dr7.file}:${dr7.line}: ERROR: `));
      // the trace is the tree's C: every step at a path of the checkout
      assert.deepEqual(entries[0]!.description.split('\n').slice(1).map((l) => /^ {4}\d+\. \S+(?: \(vcpu \d\))? at (arch\/x86\/kvm\/\S+):\d+/.exec(l)?.[1] !== undefined), [true, true, true, true, true, true]);
      assert.match(entries[1]!.description, new RegExp(`^base: blobs of 1 file the series changes found in ${topdir}`));
    }
  });

  it('the series check on a cover letter: a warning that there is nothing to check', T, async () => {
    const [cmd] = configuredCommands().get('review-series-check-cmd')!;
    const cover = asB4Pipes(readFileSync(join(EXAMPLE_DIR, '0000-cover-letter.patch'), 'utf8'), '8bit', 'cover@example.org');
    assert.deepEqual(b4JsonResults(await runAsB4(cmd!, cover, topdir, env)).map((r) => [r.status, r.summary]), [['warn', 'nothing to check: a cover letter']]);
  });

  it('node and a quoted path with a space, as a config value may hold them', T, async () => {
    const spaced = join(work, 'b4 tools');
    mkdirSync(spaced);
    symlinkSync(image, join(spaced, 'kvm-patch-lens'));
    const cmd = `${process.execPath} "${spaced}/kvm-patch-lens/bin/kvm-lens.js" b4-check --text`;
    assert.equal(shlexSplit(cmd)[1], `${spaced}/kvm-patch-lens/bin/kvm-lens.js`);
    const run = await runAsB4(cmd, asB4Pipes(messages[1]!, 'quoted-printable'), topdir, env);
    assert.equal(run.stderr.toString(), '');
    assert.deepEqual(b4TextResults(run).map((r) => r.flag), ['fail']);
  });

  it('outside any kernel checkout (b4 am in a plain directory): the built-in model, and the summary says so', T, async () => {
    const plain = join(work, 'mail');
    mkdirSync(plain);
    const [cmd] = configuredCommands().get('review-perpatch-check-cmd')!;
    const [result] = b4JsonResults(await runAsB4(cmd!, asB4Pipes(messages[1]!, '8bit'), plain, env));
    assert.equal(result!.status, 'fail');
    assert.match(result!.summary, /; checked on the built-in model \(the working directory is in no kernel checkout\)$/);
  });
});
