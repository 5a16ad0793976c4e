// The exact base of a series, found in a git repository made here from our own kernel-like C
// (the built-in model's files laid out as a tree): by base-commit, by the diffs' blob ids, by
// the working tree's hashes, and the fallbacks when none of them is there.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT, runCli, runJson, TEST_TIMEOUT_MS } from '../cli/cliHarness';
import { gitBlobId, seriesPreimages } from '../../../extension/core/tree/seriesBase';
import { readSeries } from '../../../extension/core/series/seriesReader';

const T = { timeout: TEST_TIMEOUT_MS };
const MODEL = join(ROOT, 'extension/core/model/builtin');
const DR7_GUARD = '\tif (vcpu->arch.guest_state_protected)\n\t\treturn;\n\n\tsvm->vmcb->save.dr7 = value;';

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z', GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z' } }).trim();
}

function write(root: string, files: Record<string, string>): void {
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  }
}

/** A small kernel-like tree of our own: the model's C where the kernel keeps those files. */
function baseFiles(): Record<string, string> {
  return {
    'Makefile': '# a kernel-like tree for the tests\n',
    'Kconfig': '# nothing here\n',
    'arch/x86/kvm/x86.c': readFileSync(join(MODEL, 'x86.c'), 'utf8'),
    'arch/x86/kvm/svm/svm.c': readFileSync(join(MODEL, 'svm.c'), 'utf8'),
    'arch/x86/kvm/svm/sev.c': readFileSync(join(MODEL, 'sev.c'), 'utf8'),
  };
}

let work: string;
let repo: string;
let baseSha: string;
let seriesDir: string;

function seriesFiles(dir = seriesDir): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.patch')).sort().map((f) => join(dir, f));
}

/** A copy of the series with every file's text passed through `edit`. */
function editedSeries(name: string, edit: (text: string) => string): string[] {
  const dir = join(work, name);
  mkdirSync(dir);
  for (const f of seriesFiles()) writeFileSync(join(dir, f.split('/').pop()!), edit(readFileSync(f, 'utf8')));
  return seriesFiles(dir);
}

function dr7Finding(json: Awaited<ReturnType<typeof runJson>>['json']) {
  return json.findings.find((f) => f.rule === 'vmsa-write-after-encryption' && f.location.function === 'svm_set_dr7');
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'kvm-lens-base-'));
  repo = join(work, 'linux');
  mkdirSync(repo);
  git(repo, 'init', '-q', '-b', 'master');
  git(repo, 'config', 'user.name', 'A Reviewer');
  git(repo, 'config', 'user.email', 'reviewer@example.org');
  write(repo, baseFiles());
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'base');
  baseSha = git(repo, 'rev-parse', 'HEAD');
  // patch 1 lets DR7 writes through for protected vCPUs (the hazard), patch 2 only touches a comment
  const svm = readFileSync(join(repo, 'arch/x86/kvm/svm/svm.c'), 'utf8');
  assert.ok(svm.includes(DR7_GUARD), 'the model still has the guard this test removes');
  write(repo, { 'arch/x86/kvm/svm/svm.c': svm.replace(DR7_GUARD, '\tsvm->vmcb->save.dr7 = value;') });
  git(repo, 'commit', '-q', '-am', 'KVM: SVM: Let DR7 writes through');
  const x86 = readFileSync(join(repo, 'arch/x86/kvm/x86.c'), 'utf8');
  write(repo, {
    'arch/x86/kvm/x86.c': x86.replace('/* VM creation:', '/* VM creation (KVM_CREATE_VM):'),
    'Documentation/virt/kvm/api.rst': 'KVM_CREATE_VM creates the VM.\n',
  });
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-am', 'KVM: x86: Say which ioctl creates the VM');
  seriesDir = join(work, 'series');
  git(repo, 'format-patch', '-q', '--cover-letter', `--base=${baseSha}`, '-o', seriesDir, `${baseSha}..HEAD`);
  // the checkout now holds the series applied, as after `b4 shazam`: its files are the post-images
});

after(() => rmSync(work, { recursive: true, force: true }));

describe('series base: reading what format-patch wrote', () => {
  it('takes base-commit from the cover letter and each diff\'s pre-image blob id', T, async () => {
    const series = await readSeries(seriesFiles());
    assert.equal(series.baseCommit?.id, baseSha);
    assert.match(series.baseCommit!.file, /0000-cover-letter\.patch$/);
    const pre = seriesPreimages(series);
    assert.deepEqual([...pre.keys()].sort(), ['arch/x86/kvm/svm/svm.c', 'arch/x86/kvm/x86.c']);
    const svmAtBase = git(repo, 'rev-parse', `${baseSha}:arch/x86/kvm/svm/svm.c`);
    assert.ok(svmAtBase.startsWith(pre.get('arch/x86/kvm/svm/svm.c')!), 'the pre-image id is the base commit\'s blob');
  });

  it('computes blob ids as git does', T, () => {
    const text = readFileSync(join(MODEL, 'sev.c'));
    assert.equal(gitBlobId(text), execFileSync('git', ['hash-object', '--stdin'], { input: text, encoding: 'utf8' }).trim());
  });
});

describe('series base: kvm-lens check --tree on a checkout that already has the series applied', () => {
  it('finds the base by base-commit, applies the series cleanly on it and reports the hazard patch 1 brings', T, async () => {
    const r = await runJson(['check', '--no-cache', '--tree', repo, ...seriesFiles()]);
    assert.equal(r.json.base?.source, 'base-commit', r.json.base?.line);
    assert.equal(r.json.base?.commit, baseSha);
    assert.equal(r.json.base?.exact, true);
    assert.doesNotMatch(r.err, /does not apply|fuzz|not in the tree/, 'on its exact base every hunk applies as written');
    assert.match(r.err, /Documentation\/virt\/kvm\/api\.rst: outside the KVM sources the analysis reads; its changes are not analysed/);
    const f = dr7Finding(r.json);
    assert.ok(f, 'DR7 written into an encrypted vCPU\'s VMSA after patch 1');
    assert.match(f.introducedBy ?? '', /0001-KVM-SVM-Let-DR7-writes-through\.patch$/);
    const text = await runCli(['check', '--no-cache', '--tree', repo, ...seriesFiles()]);
    assert.equal(text.out.split('\n')[0], `base: base-commit ${baseSha.slice(0, 12)} in ${repo} (the 2 files the series changes are there as its blob ids say)`);
  });

  it('without base-commit, finds the pre-images by their blob ids and gives the same findings', T, async () => {
    const noBase = editedSeries('no-base', (t) => t.replace(/^base-commit: .*\n/m, ''));
    const r = await runJson(['check', '--no-cache', '--tree', repo, ...noBase]);
    assert.equal(r.json.base?.source, 'blobs', r.json.base?.line);
    assert.equal(r.json.base?.exact, true);
    assert.match(r.json.base!.line, /^base: blobs of 2 files the series changes found in /);
    const byCommit = await runJson(['check', '--no-cache', '--tree', repo, ...seriesFiles()]);
    assert.deepEqual(r.json.findings.map((f) => [f.rule, f.location, f.trace]), byCommit.json.findings.map((f) => [f.rule, f.location, f.trace]));
  });

  it('uses a working tree that is not a repository when its files hash to the pre-images', T, async () => {
    const plain = join(work, 'plain');
    write(plain, baseFiles());
    const r = await runJson(['check', '--no-cache', '--tree', plain, ...seriesFiles()]);
    assert.equal(r.json.base?.source, 'working-tree');
    assert.equal(r.json.base?.exact, true, r.json.base?.line);
    assert.match(r.json.base!.line, /exact pre-images \(blob ids match\) \(not a git repository; base-commit [0-9a-f]{12} not looked up\)$/);
    assert.ok(dr7Finding(r.json));
  });

  it('falls back to the working tree, and says why, when neither the blobs nor base-commit are in the repository', T, async () => {
    const unknown = editedSeries('unknown-base', (t) => t
      .replace(/^base-commit: [0-9a-f]+$/m, `base-commit: ${'f'.repeat(40)}`)
      .replace(/^index [0-9a-f]+\.\./gm, 'index 0123456..'));
    const r = await runJson(['check', '--no-cache', '--tree', repo, ...unknown]);
    assert.equal(r.json.base?.source, 'working-tree');
    assert.equal(r.json.base?.exact, false);
    assert.match(r.json.base!.line, /none of the series' 2 pre-image blobs is in this repository; base-commit f{12} is not in this repository\)$/);
    // the analysis goes on: the patches meet their own post-images and say so
    assert.match(r.err, /does not apply|already/);
  });

  it('names a shallow clone that lacks base-commit', T, async () => {
    const shallow = join(work, 'shallow');
    git(work, 'clone', '-q', '--depth', '1', `file://${repo}`, shallow);
    const r = await runJson(['check', '--no-cache', '--tree', shallow, ...seriesFiles()]);
    assert.equal(r.json.base?.source, 'working-tree');
    assert.match(r.json.base!.line, /base-commit [0-9a-f]{12} is not in this shallow clone\)$/);
  });

  it('checks against the kernel checkout it is run from, as b4 does, unless told --no-tree', T, async () => {
    const cwd = process.cwd();
    process.chdir(join(repo, 'arch/x86'));
    try {
      const r = await runJson(['check', '--no-cache', ...seriesFiles()]);
      assert.equal(r.json.base?.source, 'base-commit', r.json.base?.line);
      const model = await runJson(['check', '--no-cache', '--no-tree', ...seriesFiles()]);
      assert.equal(model.json.base?.source, 'model');
      assert.equal(model.json.base?.line, 'base: the built-in model (--no-tree)');
    } finally {
      process.chdir(cwd);
    }
  });

  it('a base-commit that is there but holds no x86 KVM falls back to the working tree and says so', T, async () => {
    const other = join(work, 'other');
    cpSync(repo, other, { recursive: true });
    git(other, 'checkout', '-q', '--orphan', 'docs');
    git(other, 'rm', '-rq', '--cached', '.');
    write(other, { 'README': 'not a kernel\n' });
    git(other, 'add', 'README');
    git(other, 'commit', '-q', '-m', 'docs only');
    const docs = git(other, 'rev-parse', 'HEAD');
    git(other, 'checkout', '-q', '-f', 'master');
    const pointed = editedSeries('docs-base', (t) => t.replace(/^base-commit: [0-9a-f]+$/m, `base-commit: ${docs}`));
    const r = await runJson(['check', '--no-cache', '--tree', other, ...pointed]);
    assert.notEqual(r.json.base?.source, 'base-commit');
    assert.match(r.json.base!.line, new RegExp(`base-commit ${docs.slice(0, 12)}: it has no arch/x86/kvm/x86\\.c|blobs of 2 files`));
  });
});
