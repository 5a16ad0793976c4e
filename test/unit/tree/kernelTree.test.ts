// Kernel tree mode: locating and reading the KVM x86 sources of a tree, and extracting them from a
// linux-source tarball. The fake trees hold a few invented lines each; no kernel code is copied.
// The last tests use Debian's /usr/src/linux-source-*.tar.xz when it is installed (extracted once
// into a cache under os.tmpdir()) and are skipped otherwise.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  globToRegExp,
  KVM_SCOPE,
  locateKvmFiles,
  MAX_DEPTH,
  MAX_FILE_BYTES,
  MAX_FILES,
  type LocatedTree,
} from '../../../extension/core/tree/kernelTree';
import {
  COMPLETE_MARKER,
  extractionKey,
  extractKvmFiles,
  findDebianKernelSource,
  findKernelSourceTarball,
  kernelTreeForVersion,
  kernelSourceDirs,
  kernelTreeFromEnvOrDebian,
  kvmTarExcludes,
  kvmTarPatterns,
  scopeKey,
} from '../../../extension/core/tree/sourceTarball';

const made: string[] = [];
test.after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

function tmpDir(tag: string): string {
  const d = mkdtempSync(path.join(os.tmpdir(), `kvm-lens-tree-${tag}-`));
  made.push(d);
  return d;
}

/** Write `files` (tree-relative path -> contents) under `root`. */
function writeTree(root: string, files: Record<string, string | Buffer>): void {
  for (const [rel, body] of Object.entries(files)) {
    const p = path.join(root, rel);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, body);
  }
}

const X86_TREE: Record<string, string> = {
  Makefile: '# invented top Makefile\n',
  Kconfig: '# invented Kconfig\n',
  'arch/x86/kvm/x86.c': 'int kvm_lens_fake_x86;\n',
  'arch/x86/kvm/mmu.h': 'int fake_mmu_h;\n',
  'arch/x86/kvm/kvm_cache_regs.h': '#define FAKE_CACHE_REGS 1\n',
  'arch/x86/kvm/Makefile': '# not a source file\n',
  'arch/x86/kvm/mmu/mmu.c': 'int fake_mmu;\n',
  'arch/x86/kvm/mmu/tdp_mmu.h': 'int fake_tdp;\n',
  'arch/x86/kvm/svm/sev.c': 'int fake_sev_es_guest(void) { return 1; }\n',
  'arch/x86/kvm/svm/svm.h': 'struct fake_vcpu_svm { int vmsa; };\n',
  'arch/x86/kvm/svm/notes.txt': 'not a source file\n',
  'arch/x86/kvm/svm/sub/deep.c': 'int one_level_down;\n',
  'arch/x86/kvm/vmx.h': 'int named_vmx_but_not_in_vmx_dir;\n',
  'arch/x86/kvm/vmx/vmx.c': 'int excluded_vmx;\n',
  'arch/x86/kvm/vmx/nested/deeper.h': 'int excluded_too;\n',
  'arch/x86/include/asm/kvm_host.h': 'struct fake_kvm_vcpu_arch { int regs[16]; };\n',
  'arch/x86/include/asm/kvm_para.h': 'int fake_para;\n',
  'arch/x86/include/asm/kvm-x86-ops.h': 'int fake_ops;\n',
  'arch/x86/include/asm/svm.h': 'int not_kvm_prefixed;\n',
  'arch/x86/include/asm/sub/kvm_sub.h': 'int asm_is_not_recursive;\n',
  'arch/x86/include/uapi/asm/kvm.h': 'int other_dir;\n',
  'include/linux/kvm_host.h': 'int not_in_scope;\n',
  'virt/kvm/kvm_main.c': 'int fake_kvm_main;\n',
  'virt/kvm/async_pf.c': 'int fake_async_pf;\n',
  'virt/kvm/sub/inner.h': 'int virt_recursive;\n',
  'virt/kvm/Kconfig': '# not a source file\n',
  'virt/lib/irqbypass.c': 'int not_virt_kvm;\n',
};

const X86_PATHS = [
  'arch/x86/include/asm/kvm-x86-ops.h',
  'arch/x86/include/asm/kvm_host.h',
  'arch/x86/include/asm/kvm_para.h',
  'arch/x86/kvm/kvm_cache_regs.h',
  'arch/x86/kvm/mmu.h',
  'arch/x86/kvm/mmu/mmu.c',
  'arch/x86/kvm/mmu/tdp_mmu.h',
  'arch/x86/kvm/svm/sev.c',
  'arch/x86/kvm/svm/sub/deep.c',
  'arch/x86/kvm/svm/svm.h',
  'arch/x86/kvm/vmx.h',
  'arch/x86/kvm/x86.c',
  'virt/kvm/async_pf.c',
  'virt/kvm/kvm_main.c',
  'virt/kvm/sub/inner.h',
];

function x86Tree(tag: string, extra: Record<string, string | Buffer> = {}): string {
  const root = tmpDir(tag);
  writeTree(root, { ...X86_TREE, ...extra });
  return realpathSync(root);
}

const paths = (t: LocatedTree) => t.files.map((f) => f.path);
const problemsAt = (t: LocatedTree, p: string) => t.problems.filter((q) => q.path === p);

/** Every entry under `dir` with its size and mtime, to show nothing was written. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = path.join(d, n);
      const st = lstatSync(p);
      out.push(`${path.relative(dir, p)} ${st.size} ${st.mtimeMs}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

test('x86 tree: reads arch/x86/kvm/** but vmx/, asm/kvm*.h and virt/kvm/**, sorted, with text and sizes; writes nothing', async () => {
  const root = x86Tree('x86');
  const before = snapshot(root);
  const t = await locateKvmFiles(root);
  assert.deepEqual(t.problems, []);
  assert.equal(t.root, root);
  assert.deepEqual(paths(t), X86_PATHS);
  for (const f of t.files) {
    assert.equal(f.text, X86_TREE[f.path]);
    assert.equal(f.bytes, Buffer.byteLength(X86_TREE[f.path]!));
    assert.equal(f.absPath, path.join(root, f.path));
  }
  assert.deepEqual(snapshot(root), before);
});

test('a directory inside the tree (and a relative path, and a symlink to the tree) finds the same top', async () => {
  const root = x86Tree('sub');
  for (const start of [path.join(root, 'arch/x86/kvm/svm'), path.join(root, 'virt'), path.relative(process.cwd(), path.join(root, 'arch'))]) {
    const t = await locateKvmFiles(start);
    assert.equal(t.root, root, start);
    assert.deepEqual(paths(t), X86_PATHS);
    assert.deepEqual(t.problems, []);
  }
  const linkDir = tmpDir('link');
  symlinkSync(root, path.join(linkDir, 'tree'));
  const viaLink = await locateKvmFiles(path.join(linkDir, 'tree', 'arch'));
  assert.equal(viaLink.root, root);
  assert.deepEqual(paths(viaLink), X86_PATHS);
});

test('a partial tree without a top Makefile falls back to the nearest directory with arch/, with a warning', async () => {
  const root = tmpDir('partial');
  writeTree(root, { 'arch/x86/kvm/x86.c': 'int a;\n', 'virt/kvm/kvm_main.c': 'int b;\n' });
  const t = await locateKvmFiles(path.join(root, 'arch/x86/kvm'));
  assert.equal(t.root, realpathSync(root));
  assert.deepEqual(paths(t), ['arch/x86/kvm/x86.c', 'virt/kvm/kvm_main.c']);
  assert.equal(t.problems.length, 1);
  assert.equal(t.problems[0]!.severity, 'warning');
  assert.match(t.problems[0]!.message, /no kernel tree top/);
});

test('a tree with only arm64 and riscv KVM says so', async () => {
  const root = tmpDir('arm');
  writeTree(root, {
    Makefile: '# invented\n',
    'arch/arm64/kvm/arm.c': 'int fake_arm;\n',
    'arch/riscv/kvm/main.c': 'int fake_riscv;\n',
    'arch/x86/boot/header.S': '# no kvm here\n',
    'arch/mips/Kconfig': '# no kvm dir\n',
    'virt/kvm/kvm_main.c': 'int fake_kvm_main;\n',
  });
  const t = await locateKvmFiles(root);
  assert.equal(t.root, realpathSync(root));
  assert.deepEqual(t.problems, [
    {
      path: 'arch/x86/kvm/x86.c',
      message: 'this tree has KVM for arm64, riscv but not x86; kvm-lens models AMD SEV-ES on x86 only',
      severity: 'error',
    },
  ]);
});

test('a kernel tree with no KVM at all, and one with arch/x86/kvm but no x86.c', async () => {
  const none = tmpDir('nokvm');
  writeTree(none, { Makefile: '#\n', Kconfig: '#\n', 'arch/x86/boot/a.S': '#\n' });
  const t1 = await locateKvmFiles(none);
  assert.equal(t1.problems.length, 1);
  assert.match(t1.problems[0]!.message, /no KVM sources/);
  assert.equal(t1.problems[0]!.severity, 'error');

  const half = tmpDir('halfkvm');
  writeTree(half, { Makefile: '#\n', Kconfig: '#\n', 'arch/x86/kvm/svm/sev.c': 'int s;\n' });
  const t2 = await locateKvmFiles(half);
  assert.deepEqual(paths(t2), ['arch/x86/kvm/svm/sev.c']);
  assert.equal(t2.problems.length, 1);
  assert.match(t2.problems[0]!.message, /arch\/x86\/kvm\/x86\.c is missing/);
});

test('not a kernel tree, a missing directory, a file given as the directory', async () => {
  const plain = tmpDir('plain');
  writeTree(plain, { 'README.md': 'hello\n', 'src/x86.c': 'int x;\n' });
  const t = await locateKvmFiles(plain);
  assert.equal(t.root, realpathSync(plain));
  assert.deepEqual(t.files, []);
  assert.equal(t.problems.length, 1);
  assert.equal(t.problems[0]!.severity, 'error');
  assert.match(t.problems[0]!.message, /not a Linux kernel tree \(no arch\/ directory\)$/);

  const missing = path.join(plain, 'nope', 'deeper');
  const m = await locateKvmFiles(missing);
  assert.deepEqual(m.files, []);
  assert.deepEqual(m.problems, [{ path: missing, message: `${missing} does not exist`, severity: 'error' }]);

  const file = path.join(plain, 'README.md');
  const f = await locateKvmFiles(file);
  assert.deepEqual(f.files, []);
  assert.equal(f.problems.length, 1);
  assert.match(f.problems[0]!.message, /is not a directory$/);
});

test('symlink loops are warnings naming the link, never a hang; in-tree links are followed', { timeout: 10_000 }, async () => {
  const root = x86Tree('loop', { 'include/linux/inner_hdr.h': 'int inner;\n' });
  const svm = path.join(root, 'arch/x86/kvm/svm');
  symlinkSync('.', path.join(root, 'a'));
  symlinkSync('.', path.join(svm, 'a'));
  symlinkSync('.', path.join(svm, 'self.h'));
  symlinkSync('..', path.join(svm, 'parent.c'));
  symlinkSync('loop.c', path.join(svm, 'loop.c'));
  symlinkSync('pong.h', path.join(svm, 'ping.h'));
  symlinkSync('ping.h', path.join(svm, 'pong.h'));
  symlinkSync('../../../../include/linux/inner_hdr.h', path.join(svm, 'inner.h'));
  symlinkSync('sev.c', path.join(svm, 'sev_alias.c'));

  const t = await locateKvmFiles(root);
  assert.deepEqual(paths(t), [...X86_PATHS.slice(0, 2), 'arch/x86/kvm/svm/inner.h', ...X86_PATHS.slice(2)].sort());
  assert.equal(t.files.find((f) => f.path === 'arch/x86/kvm/svm/inner.h')!.text, 'int inner;\n');
  // svm/a -> . is a directory link inside a recursive scope: a loop too. The top-level a -> . is out of scope.
  for (const name of ['a', 'self.h', 'parent.c', 'loop.c', 'ping.h', 'pong.h']) {
    const rel = `arch/x86/kvm/svm/${name}`;
    const ps = problemsAt(t, rel);
    assert.equal(ps.length, 1, rel);
    assert.equal(ps[0]!.severity, 'warning');
    assert.match(ps[0]!.message, /symlink loop/);
    assert.ok(ps[0]!.message.includes(rel));
  }
  const alias = problemsAt(t, 'arch/x86/kvm/svm/sev_alias.c');
  assert.equal(alias.length, 1);
  assert.match(alias[0]!.message, /same file as arch\/x86\/kvm\/svm\/sev\.c/);
  assert.equal(t.problems.length, 7);
});

test('a glob directory that links to its own parent is a loop warning; the other files still read', { timeout: 10_000 }, async () => {
  const root = x86Tree('dirloop');
  rmSync(path.join(root, 'arch/x86/kvm/svm'), { recursive: true });
  symlinkSync('.', path.join(root, 'arch/x86/kvm/svm'));
  const t = await locateKvmFiles(root);
  assert.deepEqual(paths(t), X86_PATHS.filter((p) => !p.includes('/svm/')));
  assert.equal(t.problems.length, 1);
  assert.equal(t.problems[0]!.path, 'arch/x86/kvm/svm');
  assert.equal(t.problems[0]!.severity, 'warning');
  assert.match(t.problems[0]!.message, /symlink loop at arch\/x86\/kvm\/svm/);
});

test('symlinks escaping the tree are warnings and are not read', async () => {
  const outside = tmpDir('outside');
  writeTree(outside, { 'secret.c': 'int outside_secret;\n', 'svm/evil.c': 'int evil;\n' });
  const root = x86Tree('escape');
  symlinkSync(path.join(outside, 'secret.c'), path.join(root, 'arch/x86/kvm/svm/escape.c'));
  const svmDir = path.join(root, 'arch/x86/kvm/svm');
  symlinkSync(path.relative(svmDir, path.join(outside, 'secret.c')), path.join(svmDir, 'relative_escape.h'));
  const t = await locateKvmFiles(root);
  assert.deepEqual(paths(t), X86_PATHS);
  assert.ok(t.files.every((f) => !f.text.includes('outside_secret')));
  for (const rel of ['arch/x86/kvm/svm/escape.c', 'arch/x86/kvm/svm/relative_escape.h']) {
    const ps = problemsAt(t, rel);
    assert.equal(ps.length, 1, rel);
    assert.equal(ps[0]!.severity, 'warning');
    assert.match(ps[0]!.message, /points outside the tree/);
    assert.ok(ps[0]!.message.includes(rel));
  }

  // A whole directory linked out of the tree: one warning for the link, nothing read through it.
  const root2 = x86Tree('escape-dir');
  rmSync(path.join(root2, 'virt'), { recursive: true });
  symlinkSync(outside, path.join(root2, 'virt'));
  writeTree(outside, { 'kvm/kvm_main.c': 'int outside_main;\n' });
  const t2 = await locateKvmFiles(root2);
  assert.deepEqual(paths(t2), X86_PATHS.filter((p) => !p.startsWith('virt/')));
  assert.deepEqual(t2.problems.map((p) => [p.path, p.severity]), [['virt', 'warning']]);
});

test('unreadable files (a FIFO named like a source file, a dangling symlink, x86.c a directory) are errors; the rest still read', async () => {
  const root = x86Tree('unreadable');
  rmSync(path.join(root, 'arch/x86/kvm/kvm_cache_regs.h'));
  execFileSync('mkfifo', [path.join(root, 'arch/x86/kvm/kvm_cache_regs.h')]);
  symlinkSync('no_such_file.c', path.join(root, 'arch/x86/kvm/svm/gone.c'));
  symlinkSync('no_such_dir', path.join(root, 'arch/x86/kvm/svm/gone_dir')); // not a source name: not a file the walk wants
  const t = await locateKvmFiles(root);
  assert.deepEqual(paths(t), X86_PATHS.filter((p) => p !== 'arch/x86/kvm/kvm_cache_regs.h'));
  const fifoErr = problemsAt(t, 'arch/x86/kvm/kvm_cache_regs.h');
  assert.deepEqual(fifoErr, [
    { path: 'arch/x86/kvm/kvm_cache_regs.h', message: 'cannot read arch/x86/kvm/kvm_cache_regs.h: it is not a regular file', severity: 'error' },
  ]);
  const gone = problemsAt(t, 'arch/x86/kvm/svm/gone.c');
  assert.equal(gone.length, 1);
  assert.equal(gone[0]!.severity, 'error');
  assert.match(gone[0]!.message, /^cannot read arch\/x86\/kvm\/svm\/gone\.c: dangling symlink/);
  assert.equal(t.problems.length, 2);

  // The marker file as a directory: walked like any directory (empty here), and reported.
  const root2 = x86Tree('markerdir');
  rmSync(path.join(root2, 'arch/x86/kvm/x86.c'));
  mkdirSync(path.join(root2, 'arch/x86/kvm/x86.c'));
  const t2 = await locateKvmFiles(root2);
  assert.deepEqual(paths(t2), X86_PATHS.filter((p) => p !== 'arch/x86/kvm/x86.c'));
  assert.deepEqual(t2.problems, [
    { path: 'arch/x86/kvm/x86.c', message: 'cannot read arch/x86/kvm/x86.c: it is a directory', severity: 'error' },
  ]);
});

test('a latin1 byte is decoded as latin1 with a warning naming the file and line', async () => {
  const body = Buffer.concat([Buffer.from('int a;\n/* caf'), Buffer.from([0xe9]), Buffer.from(' */\n')]);
  const root = x86Tree('latin1', { 'arch/x86/kvm/svm/latin.c': body, 'arch/x86/kvm/svm/utf8.h': '/* café */\n' });
  const t = await locateKvmFiles(root);
  const latin = t.files.find((f) => f.path === 'arch/x86/kvm/svm/latin.c')!;
  assert.equal(latin.text, 'int a;\n/* café */\n');
  assert.equal(latin.bytes, body.length);
  assert.equal(t.files.find((f) => f.path === 'arch/x86/kvm/svm/utf8.h')!.text, '/* café */\n');
  assert.deepEqual(t.problems, [
    { path: 'arch/x86/kvm/svm/latin.c', message: 'arch/x86/kvm/svm/latin.c is not valid UTF-8 (first at line 2); decoded as latin1', severity: 'warning' },
  ]);
});

test('files over 8 MB are skipped with a warning', async () => {
  const root = x86Tree('huge');
  const huge = path.join(root, 'arch/x86/kvm/svm/huge.c');
  writeFileSync(huge, '');
  truncateSync(huge, MAX_FILE_BYTES + 1); // sparse
  const atLimit = path.join(root, 'arch/x86/kvm/svm/limit.h');
  writeFileSync(atLimit, '');
  truncateSync(atLimit, MAX_FILE_BYTES);
  const t = await locateKvmFiles(root);
  assert.ok(!paths(t).includes('arch/x86/kvm/svm/huge.c'));
  assert.equal(t.files.find((f) => f.path === 'arch/x86/kvm/svm/limit.h')!.bytes, MAX_FILE_BYTES);
  assert.equal(t.problems.length, 1);
  assert.equal(t.problems[0]!.path, 'arch/x86/kvm/svm/huge.c');
  assert.equal(t.problems[0]!.severity, 'warning');
  assert.match(t.problems[0]!.message, /over the 8 MB limit; skipped/);
});

test('vmx/ is left out even through a link; a directory reached twice is read once, under its own path', async () => {
  const root = x86Tree('scope-links');
  symlinkSync('vmx', path.join(root, 'arch/x86/kvm/intel')); // excluded by where it leads
  symlinkSync('svm', path.join(root, 'arch/x86/kvm/amd')); // sorts before svm/, still read as svm/
  symlinkSync('../../../virt/kvm', path.join(root, 'arch/x86/kvm/generic'));
  const t = await locateKvmFiles(root);
  assert.deepEqual(paths(t), X86_PATHS);
  assert.deepEqual(t.problems, [
    { path: 'arch/x86/kvm/amd', message: 'arch/x86/kvm/amd is the same directory as arch/x86/kvm/svm; read once', severity: 'warning' },
    { path: 'arch/x86/kvm/generic', message: 'arch/x86/kvm/generic is the same directory as virt/kvm; read once', severity: 'warning' },
  ]);
});

test('a symlink loop on arch/x86/kvm itself is a warning naming it; asm/kvm*.h and virt/kvm/ still read', { timeout: 10_000 }, async () => {
  for (const target of ['.', 'kvm', '../x86/kvm']) {
    const root = x86Tree('kvmloop');
    rmSync(path.join(root, 'arch/x86/kvm'), { recursive: true });
    symlinkSync(target, path.join(root, 'arch/x86/kvm'));
    const t = await locateKvmFiles(root);
    assert.deepEqual(paths(t), X86_PATHS.filter((p) => !p.startsWith('arch/x86/kvm/')), target);
    assert.equal(t.problems.length, 1, `${target}: ${JSON.stringify(t.problems)}`);
    assert.equal(t.problems[0]!.path, 'arch/x86/kvm');
    assert.equal(t.problems[0]!.severity, 'warning');
    assert.match(t.problems[0]!.message, /^symlink loop at arch\/x86\/kvm\b/);
  }
});

test(`directories more than ${MAX_DEPTH} levels below a scope directory are not entered, with a warning naming them`, async () => {
  const six = 'arch/x86/kvm/d1/d2/d3/d4/d5/d6';
  const root = x86Tree('deep', { [`${six}/ok.c`]: 'int six;\n', [`${six}/d7/too_deep.c`]: 'int seven;\n' });
  const t = await locateKvmFiles(root);
  assert.deepEqual(paths(t), [...X86_PATHS, `${six}/ok.c`].sort());
  assert.deepEqual(t.problems, [
    { path: `${six}/d7`, message: `${six}/d7 is more than ${MAX_DEPTH} directory levels below arch/x86/kvm; not read`, severity: 'warning' },
  ]);

  const shallow = await locateKvmFiles(root, { maxDepth: 1 });
  assert.deepEqual(paths(shallow), X86_PATHS.filter((p) => p !== 'arch/x86/kvm/svm/sub/deep.c'));
  assert.deepEqual(shallow.problems.map((p) => p.path), ['arch/x86/kvm/d1/d2', 'arch/x86/kvm/svm/sub']);
});

test('reading stops at the file limit, with a warning naming the first file left out', async () => {
  assert.equal(MAX_FILES, 2000);
  const root = x86Tree('limit');
  const t = await locateKvmFiles(root, { maxFiles: 5 });
  // Walk order: arch/x86/kvm by name, depth first.
  assert.deepEqual(paths(t), [
    'arch/x86/kvm/kvm_cache_regs.h',
    'arch/x86/kvm/mmu.h',
    'arch/x86/kvm/mmu/mmu.c',
    'arch/x86/kvm/mmu/tdp_mmu.h',
    'arch/x86/kvm/svm/sev.c',
  ]);
  assert.deepEqual(t.problems, [
    {
      path: 'arch/x86/kvm/svm/sub/deep.c',
      message: 'file limit reached: the KVM sources hold more than 5 files; arch/x86/kvm/svm/sub/deep.c and the files after it are not read',
      severity: 'warning',
    },
  ]);
  assert.deepEqual(await locateKvmFiles(root, { maxFiles: 5 }), t);

  const many: Record<string, string> = {};
  for (let i = 0; i < MAX_FILES + 10; i++) many[`arch/x86/kvm/gen/f${String(i).padStart(4, '0')}.c`] = 'int generated;\n';
  const big = x86Tree('limit-big', many);
  const tb = await locateKvmFiles(big);
  assert.equal(tb.files.length, MAX_FILES);
  assert.equal(tb.problems.length, 1);
  assert.equal(tb.problems[0]!.severity, 'warning');
  assert.equal(tb.problems[0]!.path, 'arch/x86/kvm/gen/f2000.c'); // gen/ sorts first in arch/x86/kvm
  assert.match(tb.problems[0]!.message, /^file limit reached: the KVM sources hold more than 2000 files; arch\/x86\/kvm\/gen\/f2000\.c and the files after it are not read$/);
});

test('scope globs: kvm*.h and *.[ch] match names only', () => {
  const kvmH = globToRegExp('kvm*.h');
  for (const n of ['kvm_host.h', 'kvm-x86-ops.h', 'kvm.h', 'kvmclock.h']) assert.ok(kvmH.test(n), n);
  for (const n of ['kvm_host.c', 'xkvm.h', 'kvm/x.h', 'kvm_host.h.orig']) assert.ok(!kvmH.test(n), n);
  const src = globToRegExp('*.[ch]');
  for (const n of ['x86.c', 'mmu.h', '.c']) assert.ok(src.test(n), n);
  for (const n of ['x86.cc', 'entry.S', 'Makefile', 'a/b.c', 'x86.c~']) assert.ok(!src.test(n), n);
  assert.ok(globToRegExp('[!v]*').test('svm') && !globToRegExp('[!v]*').test('vmx'));
  assert.ok(globToRegExp('a+b(c).h').test('a+b(c).h') && !globToRegExp('a+b(c).h').test('aab(c).h'));
  assert.deepEqual(KVM_SCOPE.map((s) => [s.dir, s.glob, s.recursive, s.exclude]), [
    ['arch/x86/kvm', '*.[ch]', true, ['vmx']],
    ['arch/x86/include/asm', 'kvm*.h', false, []],
    ['virt/kvm', '*.[ch]', true, []],
  ]);
});

test('findDebianKernelSource picks the newest version, preferring .tar.xz; undefined when none', () => {
  const src = tmpDir('usrsrc');
  for (const n of [
    'linux-source-6.1.tar.xz',
    'linux-source-6.9.tar.bz2',
    'linux-source-6.12.tar.bz2',
    'linux-source-6.12.tar.xz',
    'linux-source-7.0.tar.gz',
    'linux-config-6.12',
    'other-6.99.tar.xz',
  ]) writeFileSync(path.join(src, n), '');
  mkdirSync(path.join(src, 'linux-source-9.0.tar.xz')); // a directory, not a tarball
  assert.equal(findDebianKernelSource(src), path.join(src, 'linux-source-6.12.tar.xz'));
  rmSync(path.join(src, 'linux-source-6.12.tar.xz'));
  assert.equal(findDebianKernelSource(src), path.join(src, 'linux-source-6.12.tar.bz2'));
  assert.equal(findDebianKernelSource(path.join(src, 'missing')), undefined);
  assert.equal(findDebianKernelSource(tmpDir('emptysrc')), undefined);
});

/** A small invented tarball with one top directory, like Debian's. */
function fakeTarball(dir: string, name: string, flag: '-J' | '-j'): string {
  const stage = path.join(dir, 'stage');
  writeTree(path.join(stage, 'linux-source-0.1'), {
    ...X86_TREE,
    'drivers/Makefile': '# not extracted\n',
    'arch/arm64/kvm/arm.c': 'int not_extracted;\n',
    'arch/x86/kvm/Makefile': '# not extracted\n',
  });
  const tarball = path.join(dir, name);
  execFileSync('tar', ['-c', flag, '-f', tarball, '-C', stage, 'linux-source-0.1']);
  return tarball;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = path.join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(path.relative(dir, p).split(path.sep).join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

for (const [name, flag] of [['linux-source-0.1.tar.xz', '-J'], ['linux-source-0.1.tar.bz2', '-j']] as const) {
  test(`extractKvmFiles (${name}): only the KVM files plus top Makefile/Kconfig, cached, interrupted extractions not reused`, async () => {
    const work = tmpDir('tarball');
    const tarball = fakeTarball(work, name, flag);
    const cache = path.join(work, 'cache');

    const x = await extractKvmFiles(tarball, cache);
    assert.deepEqual(x.problems, []); // patterns for deeper levels match nothing: not an error
    assert.equal(x.reused, false);
    const st = statSync(tarball);
    const extraction = path.join(cache, extractionKey(tarball, st.size, st.mtimeMs));
    assert.equal(path.basename(extraction), `${name}-${st.size}-${Math.trunc(st.mtimeMs)}-s${scopeKey()}`);
    assert.equal(x.dir, path.join(extraction, 'linux-source-0.1'));
    assert.ok(existsSync(path.join(extraction, COMPLETE_MARKER)));
    assert.deepEqual(filesUnder(x.dir), ['Kconfig', 'Makefile', ...X86_PATHS].sort());
    assert.deepEqual(readdirSync(cache), [path.basename(extraction)]); // no temp left behind

    const t = await locateKvmFiles(x.dir);
    assert.deepEqual(t.problems, []);
    assert.equal(t.root, realpathSync(x.dir));
    assert.deepEqual(paths(t), X86_PATHS);

    const again = await extractKvmFiles(tarball, cache);
    assert.deepEqual(again, { dir: x.dir, problems: [], reused: true });

    // An extraction without its marker (as if interrupted) is replaced, not reused.
    rmSync(path.join(extraction, COMPLETE_MARKER));
    writeFileSync(path.join(x.dir, 'leftover'), 'x');
    const redo = await extractKvmFiles(tarball, cache);
    assert.equal(redo.reused, false);
    assert.equal(redo.dir, x.dir);
    assert.ok(!existsSync(path.join(x.dir, 'leftover')));
    assert.ok(existsSync(path.join(extraction, COMPLETE_MARKER)));
  });
}

test('tar patterns: each recursive scope directory at every depth down to MAX_DEPTH, vmx/ excluded; the cache key names the selection', () => {
  const pats = kvmTarPatterns();
  for (const want of [
    '*/Makefile',
    '*/Kconfig',
    '*/arch/x86/kvm/*.[ch]',
    `*/arch/x86/kvm/${'*/'.repeat(MAX_DEPTH)}*.[ch]`,
    '*/arch/x86/include/asm/kvm*.h',
    '*/virt/kvm/*.[ch]',
    `*/virt/kvm/${'*/'.repeat(MAX_DEPTH)}*.[ch]`,
  ]) assert.ok(pats.includes(want), want);
  assert.ok(!pats.includes(`*/arch/x86/kvm/${'*/'.repeat(MAX_DEPTH + 1)}*.[ch]`));
  assert.ok(!pats.some((p) => p.startsWith('*/arch/x86/include/asm/*/')));
  assert.equal(pats.length, 2 + 2 * (MAX_DEPTH + 1) + 1);
  assert.deepEqual(kvmTarExcludes(), ['*/arch/x86/kvm/vmx']);
  assert.match(scopeKey(), /^[0-9a-f]{10}$/);
  assert.equal(extractionKey('/usr/src/linux-source-6.12.tar.xz', 10, 20.7), `linux-source-6.12.tar.xz-10-20-s${scopeKey()}`);
});

test('a tarball extraction holds exactly the files the walk reads in the unpacked tree (depth limit, vmx/, names alike)', async () => {
  const work = tmpDir('tar-vs-walk');
  const six = 'arch/x86/kvm/d1/d2/d3/d4/d5/d6';
  const stageTree = path.join(work, 'stage', 'linux-source-0.2');
  writeTree(stageTree, {
    ...X86_TREE,
    [`${six}/ok.c`]: 'int six;\n',
    [`${six}/d7/too_deep.c`]: 'int seven;\n',
    'virt/kvm/a/b/c/d/e/f/ok.h': 'int six_in_virt;\n',
    'arch/x86/kvm/vmx/d1/d2/x.c': 'int excluded;\n',
    'arch/x86/kvm/vmxx/x.c': 'int not_vmx;\n',
  });
  const tarball = path.join(work, 'linux-source-0.2.tar.xz');
  execFileSync('tar', ['-c', '-J', '-f', tarball, '-C', path.join(work, 'stage'), 'linux-source-0.2']);
  const walked = await locateKvmFiles(stageTree);
  assert.deepEqual(walked.problems.map((p) => p.path), [`${six}/d7`]);
  assert.ok(paths(walked).includes('arch/x86/kvm/vmxx/x.c'));

  const x = await extractKvmFiles(tarball, path.join(work, 'cache'));
  assert.deepEqual(x.problems, []);
  assert.deepEqual(filesUnder(x.dir), ['Kconfig', 'Makefile', ...paths(walked)].sort());
  const t = await locateKvmFiles(x.dir);
  assert.deepEqual(t.problems, []);
  assert.deepEqual(paths(t), paths(walked));
});

test('an extraction made under another key (an older, smaller scope) is not reused', async () => {
  const work = tmpDir('oldkey');
  const tarball = fakeTarball(work, 'linux-source-0.1.tar.xz', '-J');
  const cache = path.join(work, 'cache');
  const st = statSync(tarball);
  const old = path.join(cache, `linux-source-0.1.tar.xz-${st.size}-${Math.trunc(st.mtimeMs)}`);
  writeTree(path.join(old, 'linux-source-0.1'), { Makefile: '#\n', 'arch/x86/kvm/x86.c': 'int old_extraction;\n' });
  writeFileSync(path.join(old, COMPLETE_MARKER), `${tarball}\n`);
  const x = await extractKvmFiles(tarball, cache);
  assert.equal(x.reused, false);
  assert.notEqual(path.dirname(x.dir), old);
  assert.deepEqual(paths(await locateKvmFiles(x.dir)), X86_PATHS);
});

test('findKernelSourceTarball: /usr/src first, then $KVM_LENS_SOURCES_DIR; kernelTreeForVersion extracts what it finds', async () => {
  const a = tmpDir('srcA');
  const b = tmpDir('srcB');
  writeFileSync(path.join(b, 'linux-source-9.7.tar.xz'), '');
  writeFileSync(path.join(a, 'linux-source-9.7.tar.bz2'), ''); // only .tar.xz is looked for
  mkdirSync(path.join(a, 'linux-source-9.6.tar.xz')); // a directory, not a tarball
  assert.equal(findKernelSourceTarball('9.7', [a, b]), path.join(b, 'linux-source-9.7.tar.xz'));
  writeFileSync(path.join(a, 'linux-source-9.7.tar.xz'), '');
  assert.equal(findKernelSourceTarball('9.7', [a, b]), path.join(a, 'linux-source-9.7.tar.xz'));
  assert.equal(findKernelSourceTarball('9.6', [a, b]), undefined);
  for (const bad of ['', '9', '9.7/../9.7', '../9.7', '9.7.tar.xz', '*', '9.7 ']) {
    if (bad === '9') continue; // a bare major is a valid version; nothing by that name here
    assert.equal(findKernelSourceTarball(bad, [a, b]), undefined, bad);
  }
  assert.equal(findKernelSourceTarball('9', [a, b]), undefined);

  const saved = process.env.KVM_LENS_SOURCES_DIR;
  try {
    delete process.env.KVM_LENS_SOURCES_DIR;
    assert.deepEqual(kernelSourceDirs(), ['/usr/src', '/var/cache/kvm-lens/sources']);
    const c = tmpDir('srcC');
    process.env.KVM_LENS_SOURCES_DIR = c;
    assert.deepEqual(kernelSourceDirs(), ['/usr/src', c]);
    fakeTarball(c, 'linux-source-0.1.tar.xz', '-J');
    assert.equal(findKernelSourceTarball('0.1'), path.join(c, 'linux-source-0.1.tar.xz'));
    const cache = path.join(c, 'cache');
    const dir = await kernelTreeForVersion('0.1', cache);
    assert.ok(dir !== undefined);
    assert.equal(path.basename(dir), 'linux-source-0.1');
    assert.deepEqual(paths(await locateKvmFiles(dir)), X86_PATHS);
    assert.equal(await kernelTreeForVersion('0.2', cache), undefined);
    writeFileSync(path.join(c, 'linux-source-0.3.tar.xz'), 'not an xz stream\n');
    await assert.rejects(kernelTreeForVersion('0.3', cache), /tar failed/);
  } finally {
    if (saved === undefined) delete process.env.KVM_LENS_SOURCES_DIR;
    else process.env.KVM_LENS_SOURCES_DIR = saved;
  }
});

test('extractKvmFiles reports a missing or corrupt tarball and leaves no partial extraction', async () => {
  const work = tmpDir('badtar');
  const cache = path.join(work, 'cache');
  const missing = await extractKvmFiles(path.join(work, 'linux-source-9.9.tar.xz'), cache);
  assert.equal(missing.dir, '');
  assert.equal(missing.problems.length, 1);
  assert.match(missing.problems[0]!.message, /cannot read/);

  const corrupt = path.join(work, 'linux-source-9.8.tar.xz');
  writeFileSync(corrupt, 'this is not an xz stream\n');
  const bad = await extractKvmFiles(corrupt, cache);
  assert.equal(bad.dir, '');
  assert.equal(bad.problems.length, 1);
  assert.equal(bad.problems[0]!.severity, 'error');
  assert.match(bad.problems[0]!.message, /tar failed/);
  assert.deepEqual(readdirSync(cache), []);
});

test('kernelTreeFromEnvOrDebian prefers $KVM_LENS_KERNEL_TREE', async () => {
  const saved = process.env.KVM_LENS_KERNEL_TREE;
  try {
    process.env.KVM_LENS_KERNEL_TREE = '/some/unpacked/tree';
    assert.equal(await kernelTreeFromEnvOrDebian(), '/some/unpacked/tree');
  } finally {
    if (saved === undefined) delete process.env.KVM_LENS_KERNEL_TREE;
    else process.env.KVM_LENS_KERNEL_TREE = saved;
  }
});

const DEBIAN = findDebianKernelSource();
const NO_DEBIAN = DEBIAN === undefined ? 'no /usr/src/linux-source-*.tar.xz (install Debian package linux-source-<ver>)' : false;

test('Debian linux-source tarball: extracted once (cached), the KVM x86 files are located', { skip: NO_DEBIAN, timeout: 10 * 60_000 }, async () => {
  const first = await extractKvmFiles(DEBIAN!);
  assert.deepEqual(first.problems, []);
  assert.match(path.basename(first.dir), /^linux-source-/);

  const t = await locateKvmFiles(first.dir);
  assert.equal(t.root, realpathSync(first.dir));
  assert.deepEqual(t.problems, []);
  for (const want of ['arch/x86/kvm/x86.c', 'arch/x86/kvm/svm/sev.c', 'virt/kvm/kvm_main.c', 'arch/x86/include/asm/kvm_host.h']) {
    const f = t.files.find((x) => x.path === want);
    assert.ok(f, `${want} located`);
    assert.ok(f.bytes > 0 && f.text.length > 0, `${want} non-empty`);
  }
  assert.deepEqual(paths(t), [...paths(t)].sort());

  const markerBefore = statSync(path.join(path.dirname(first.dir), COMPLETE_MARKER)).mtimeMs;
  const t0 = performance.now();
  const second = await extractKvmFiles(DEBIAN!);
  const ms = performance.now() - t0;
  assert.deepEqual(second, { dir: first.dir, problems: [], reused: true });
  assert.ok(ms < 1000, `reuse took ${ms.toFixed(0)} ms`);
  assert.equal(statSync(path.join(path.dirname(first.dir), COMPLETE_MARKER)).mtimeMs, markerBefore);
});

test('kernelTreeFromEnvOrDebian falls back to the Debian extraction', { skip: NO_DEBIAN }, async () => {
  const saved = process.env.KVM_LENS_KERNEL_TREE;
  try {
    delete process.env.KVM_LENS_KERNEL_TREE;
    const dir = await kernelTreeFromEnvOrDebian();
    assert.equal(dir, (await extractKvmFiles(DEBIAN!)).dir);
  } finally {
    if (saved !== undefined) process.env.KVM_LENS_KERNEL_TREE = saved;
  }
});

// The scope on real trees: Debian's 6.1 and 6.12 (/usr/src) and 7.3 from trixie-backports
// ($KVM_LENS_SOURCES_DIR, default /var/cache/kvm-lens/sources); see scripts/install-linux-sources.sh.
for (const version of ['6.1', '6.12', '7.3']) {
  const tarball = findKernelSourceTarball(version);
  const skip =
    tarball === undefined
      ? `no linux-source-${version}.tar.xz in ${kernelSourceDirs().join(' or ')} (scripts/install-linux-sources.sh installs it)`
      : false;
  test(`Linux ${version}: the scope reads mmu/, svm/, asm/kvm*.h and virt/kvm/ (async_pf.c among them), nothing under vmx/`, { skip, timeout: 10 * 60_000 }, async (t) => {
    const dir = await kernelTreeForVersion(version);
    assert.ok(dir !== undefined);
    const tree = await locateKvmFiles(dir);
    assert.deepEqual(tree.problems, []);
    const ps = paths(tree);
    for (const want of [
      'arch/x86/kvm/x86.c',
      'arch/x86/kvm/mmu/mmu.c',
      'arch/x86/kvm/svm/sev.c',
      'arch/x86/include/asm/kvm_host.h',
      'arch/x86/include/asm/kvm-x86-ops.h',
      'virt/kvm/kvm_main.c',
      'virt/kvm/async_pf.c',
    ]) {
      const f = tree.files.find((x) => x.path === want);
      assert.ok(f && f.bytes > 0 && f.text.length > 0, `${want} located and non-empty`);
    }
    assert.ok(ps.filter((p) => p.startsWith('arch/x86/kvm/mmu/')).length >= 5, 'several files under mmu/');
    assert.deepEqual(ps.filter((p) => p.includes('/vmx/')), []);
    const inScope = /^(arch\/x86\/kvm\/.+\.[ch]|arch\/x86\/include\/asm\/kvm[^/]*\.h|virt\/kvm\/.+\.[ch])$/;
    assert.deepEqual(ps.filter((p) => !inScope.test(p)), []);
    assert.deepEqual(ps, [...ps].sort());
    assert.ok(tree.files.length > 50 && tree.files.length < MAX_FILES, `${tree.files.length} files`);
    const bytes = tree.files.reduce((n, f) => n + f.bytes, 0);
    t.diagnostic(`Linux ${version}: ${tree.files.length} files, ${bytes} bytes (${tarball})`);
  });
}
