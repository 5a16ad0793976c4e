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
import { runB4Check } from '../../../extension/cli/b4Check';
import { asB4Pipes, b4DetailEntries, b4JsonResults, b4TextResults, gitTopLevel, postImageLine, runAsB4, shlexSplit, type CommandRun } from './b4CheckRules';
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

/** In process, with the checkout as the working directory: the verdict is the patch's own. */
async function inCheckout(mail: Buffer, args: string[]): Promise<CommandRun> {
  let out = '';
  let err = '';
  const code = await runB4Check(args, { out: (t) => { out += t; }, err: (t) => { err += t; }, stdin: async () => ({ ok: true, bytes: mail }), cwd: topdir });
  return { code, stdout: Buffer.from(out), stderr: Buffer.from(err) };
}

/** A mail of what the working tree changes against HEAD (a patch written on top of the applied series); the tree is put back. */
function patchOnTop(file: string, edit: (text: string) => string, subject: string): string {
  const path = join(topdir, file);
  const before = readFileSync(path, 'utf8');
  writeFileSync(path, edit(before));
  try {
    const diff = execFileSync('git', ['diff', '--', file], { cwd: topdir, env, encoding: 'utf8' });
    return `From: A Reviewer <reviewer@example.org>\nSubject: [PATCH] ${subject}\n\nA change on top.\n\nSigned-off-by: A Reviewer <reviewer@example.org>\n---\n${diff}-- \n2.39.5\n`;
  } finally {
    writeFileSync(path, before);
  }
}

describe('in a kernel checkout: the patch\'s own verdict', () => {
  it('a finding the checkout already has without the patch is context: pass, nothing printed', T, async () => {
    // the checkout has the series applied: svm_set_dr7() already writes DR7 unguarded
    const mail = patchOnTop('arch/x86/kvm/x86.c', (t) => t.replace('/* VM creation (KVM_CREATE_VM):', '/* VM creation (KVM_CREATE_VM, the type decides):'), 'KVM: x86: Say more about VM creation');
    const text = await inCheckout(Buffer.from(mail), ['--text']);
    assert.deepEqual(b4TextResults(text), [{ flag: 'success', text: 'passed all checks' }]);
    const [result] = b4JsonResults(await inCheckout(Buffer.from(mail), []));
    assert.equal(result!.status, 'pass');
    assert.equal(result!.summary, `no findings of its own (1 pre-existing); checked on its exact base: the working tree of ${topdir}`);
    const entries = b4DetailEntries(result!.details)!;
    assert.deepEqual(entries.map((e) => e.status), ['pass', 'pass']);
    assert.match(entries[1]!.description, /^arch\/x86\/kvm\/svm\/svm\.c:\d+: \(pre-existing, not this patch's\) error: svm_set_dr7\(\) writes VMSA-backed DR7 .*\[vmsa-write-after-encryption\]\n {4}1\. KVM_CREATE_VM/);
  });

  it('a hunk that does not apply to its exact base is a warning at its C line; one applied with fuzz too', T, async () => {
    // a removed line the base does not have: the blob is found, the hunk cannot go in, nothing of it is analysed
    const broken = messages[1]!.replace('-\tif (vcpu->arch.guest_state_protected)\n', '-\tif (vcpu->arch.guest_state_protected && !vcpu->arch.debug)\n');
    assert.notEqual(broken, messages[1]);
    const hunk = /^@@ -\d+,\d+ \+(\d+),\d+ @@/m.exec(broken)!;
    const run = await inCheckout(asB4Pipes(broken, '8bit'), ['--text']);
    assert.equal(run.stderr.toString(), '');
    const lines = run.stdout.toString().split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, new RegExp(`^arch/x86/kvm/svm/svm\\.c:${hunk[1]}: WARNING: arch/x86/kvm/svm/svm\\.c @@ .*: hunk does not apply to arch/x86/kvm/svm/svm\\.c: `));
    assert.deepEqual(b4TextResults(run).map((r) => r.flag), ['warning']);
    const [result] = b4JsonResults(await inCheckout(asB4Pipes(broken, '8bit'), []));
    assert.equal(result!.status, 'warn');
    assert.match(result!.summary, /^1 hunk not applying cleanly to the tree; checked on its exact base: /);

    // a context line the base does not have: applied with fuzz, analysed, and said
    const fuzzy = messages[1]!.replace(' \tstruct vcpu_svm *svm = to_svm(vcpu);\n', ' \tstruct vcpu_svm *svm = to_svm_vcpu(vcpu);\n');
    const fuzzed = await inCheckout(asB4Pipes(fuzzy, '8bit'), ['--text']);
    const both = fuzzed.stdout.toString().split('\n').filter((l) => l !== '');
    assert.deepEqual(both.map((l) => / (ERROR|WARNING): /.exec(l)?.[1]), ['ERROR', 'WARNING'], both.join('\n'));
    assert.match(both[1]!, new RegExp(`^arch/x86/kvm/svm/svm\\.c:${hunk[1]}: WARNING: .*: applied with fuzz \\d$`));
    assert.deepEqual(b4TextResults(fuzzed).map((r) => r.flag), ['fail', 'warning']);
  });

  it('a C file outside the KVM sources the tree is read for: a warning beside the finding', T, async () => {
    const mixed = messages[1]!.replace('\n-- \n', [
      '', 'diff --git a/drivers/crypto/ccp/sev-dev.c b/drivers/crypto/ccp/sev-dev.c', 'index 1111111..2222222 100644', '--- a/drivers/crypto/ccp/sev-dev.c', '+++ b/drivers/crypto/ccp/sev-dev.c',
      '@@ -10,3 +10,3 @@ static int sev_cmd_buffer_len(int cmd)', ' {', '-\tint n = 0;', '+\tint n = 1;', ' \treturn n;', '-- ', '',
    ].join('\n'));
    const run = await inCheckout(asB4Pipes(mixed, '8bit'), ['--text']);
    const lines = run.stdout.toString().split('\n').filter((l) => l !== '');
    const dr7 = postImageLine(mixed, 'svm->vmcb->save.dr7 = value;');
    const out = postImageLine(mixed, 'int n = 1;');
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(lines[0]!, new RegExp(`^${dr7.file}:${dr7.line}: ERROR: .*\\[vmsa-write-after-encryption\\]$`));
    assert.equal(lines[1], `${out.file}:${out.line}: WARNING: not analysed: this C file is outside the KVM sources kvm-lens simulates (arch/x86/kvm without vmx/, arch/x86/include/asm/kvm*.h, virt/kvm) [analysis-incomplete]`);
    assert.deepEqual(b4TextResults(run).map((r) => r.flag), ['fail', 'warning']);
  });
});
