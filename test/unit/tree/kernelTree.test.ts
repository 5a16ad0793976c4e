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
import { locateKvmFiles, MAX_FILE_BYTES, type LocatedTree } from '../../../extension/core/tree/kernelTree';
import {
  COMPLETE_MARKER,
  extractKvmFiles,
  findDebianKernelSource,
  kernelTreeFromEnvOrDebian,
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
  'arch/x86/kvm/mmu.c': 'int not_in_the_list;\n',
  'arch/x86/kvm/kvm_cache_regs.h': '#define FAKE_CACHE_REGS 1\n',
  'arch/x86/kvm/svm/sev.c': 'int fake_sev_es_guest(void) { return 1; }\n',
  'arch/x86/kvm/svm/svm.h': 'struct fake_vcpu_svm { int vmsa; };\n',
  'arch/x86/kvm/svm/notes.txt': 'not a source file\n',
  'arch/x86/kvm/svm/sub/deep.c': 'int too_deep;\n',
  'arch/x86/include/asm/kvm_host.h': 'struct fake_kvm_vcpu_arch { int regs[16]; };\n',
  'virt/kvm/kvm_main.c': 'int fake_kvm_main;\n',
};

const X86_PATHS = [
  'arch/x86/include/asm/kvm_host.h',
  'arch/x86/kvm/kvm_cache_regs.h',
  'arch/x86/kvm/svm/sev.c',
  'arch/x86/kvm/svm/svm.h',
  'arch/x86/kvm/x86.c',
  'virt/kvm/kvm_main.c',
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

test('x86 tree: reads exactly the listed files and svm/*.c|*.h, sorted, with text and sizes; writes nothing', async () => {
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
  for (const name of ['self.h', 'parent.c', 'loop.c', 'ping.h', 'pong.h']) {
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
  assert.equal(t.problems.length, 6);
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

test('unreadable files (a directory where a file is expected, a dangling symlink) are errors; the rest still read', async () => {
  const root = x86Tree('unreadable');
  rmSync(path.join(root, 'arch/x86/kvm/kvm_cache_regs.h'));
  mkdirSync(path.join(root, 'arch/x86/kvm/kvm_cache_regs.h'));
  symlinkSync('no_such_file.c', path.join(root, 'arch/x86/kvm/svm/gone.c'));
  const t = await locateKvmFiles(root);
  assert.deepEqual(paths(t), X86_PATHS.filter((p) => p !== 'arch/x86/kvm/kvm_cache_regs.h'));
  const dirErr = problemsAt(t, 'arch/x86/kvm/kvm_cache_regs.h');
  assert.deepEqual(dirErr, [
    { path: 'arch/x86/kvm/kvm_cache_regs.h', message: 'cannot read arch/x86/kvm/kvm_cache_regs.h: it is a directory', severity: 'error' },
  ]);
  const gone = problemsAt(t, 'arch/x86/kvm/svm/gone.c');
  assert.equal(gone.length, 1);
  assert.equal(gone[0]!.severity, 'error');
  assert.match(gone[0]!.message, /^cannot read arch\/x86\/kvm\/svm\/gone\.c: dangling symlink/);
  assert.equal(t.problems.length, 2);
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
    assert.deepEqual(x.problems, []); // regs.c matches nothing: not an error
    assert.equal(x.reused, false);
    const st = statSync(tarball);
    const extraction = path.join(cache, `${name}-${st.size}-${Math.trunc(st.mtimeMs)}`);
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
