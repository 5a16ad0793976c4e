// A kernel tree for tests and benchmarks: the KVM files of a source tarball (Debian's
// linux-source-* package installs /usr/src/linux-source-<ver>.tar.xz; scripts/install-linux-sources.sh
// puts newer ones, fetched from backports, under $KVM_LENS_SOURCES_DIR), extracted once into a
// cache under os.tmpdir() and reused. Writes only under the cache root.
//
// Extraction goes to a temporary sibling, a `.complete` marker is written inside it last, and
// only then is it renamed into place, so an interrupted extraction is never mistaken for a
// finished one.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, promises as fsp, readdirSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KVM_SCOPE, MAX_DEPTH, type TreeProblem } from './kernelTree';

export const DEFAULT_CACHE_ROOT = path.join(os.tmpdir(), 'kvm-lens-linux-sources');
/** Where scripts/install-linux-sources.sh leaves tarballs that no installed package provides; $KVM_LENS_SOURCES_DIR overrides. */
export const DEFAULT_SOURCES_DIR = '/var/cache/kvm-lens/sources';
export const COMPLETE_MARKER = '.complete';
/** Temporary extraction directories older than this are taken to be left by a killed process. */
const STALE_TMP_MS = 60 * 60 * 1000;
const TARBALL_NAME = /^linux-source-(\d+(?:\.\d+)*)(.*)\.tar\.(xz|bz2)$/;

export interface Extraction {
  /** The extracted kernel tree root (e.g. ".../linux-source-6.12.tar.xz-<size>-<mtime>-s<scope>/linux-source-6.12"); "" on failure. */
  dir: string;
  problems: TreeProblem[];
  /** True when an earlier complete extraction was reused. */
  reused: boolean;
}

function compareVersions(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The newest `linux-source-<version>.tar.xz` (or `.tar.bz2`) in `srcDir`, by version; for equal
 * versions .tar.xz is preferred. Undefined when there is none.
 */
export function findDebianKernelSource(srcDir = '/usr/src'): string | undefined {
  let names: string[];
  try {
    names = readdirSync(srcDir);
  } catch {
    return undefined;
  }
  const found: { name: string; version: string; suffix: string; xz: boolean }[] = [];
  for (const name of names) {
    const m = TARBALL_NAME.exec(name);
    if (!m) continue;
    try {
      if (!statSync(path.join(srcDir, name)).isFile()) continue;
    } catch {
      continue;
    }
    found.push({ name, version: m[1]!, suffix: m[2]!, xz: m[3] === 'xz' });
  }
  found.sort(
    (a, b) =>
      compareVersions(b.version, a.version) ||
      (a.suffix < b.suffix ? -1 : a.suffix > b.suffix ? 1 : 0) ||
      Number(b.xz) - Number(a.xz),
  );
  return found[0] ? path.join(srcDir, found[0].name) : undefined;
}

/**
 * tar member patterns (under any single top-level directory) for the files kernelTree reads: for
 * each KVM_SCOPE directory its glob at that level and, when recursive, at every level down to
 * MAX_DEPTH. Used with --no-wildcards-match-slash, so `*` never crosses a `/` and each pattern
 * matches one depth exactly, as the walk in locateKvmFiles does.
 */
export function kvmTarPatterns(): string[] {
  const out = [
    '*/Makefile', // so locateKvmFiles recognises the extracted tree top
    '*/Kconfig',
  ];
  for (const s of KVM_SCOPE) {
    for (let depth = 0; depth <= (s.recursive ? MAX_DEPTH : 0); depth++) out.push(`*/${s.dir}/${'*/'.repeat(depth)}${s.glob}`);
  }
  return out;
}

/** `--exclude` patterns for the KVM_SCOPE exclusions (tar excludes a directory with everything under it). */
export function kvmTarExcludes(): string[] {
  return KVM_SCOPE.flatMap((s) => s.exclude.map((x) => `*/${s.dir}/${x}`));
}

/** The tar arguments that choose the members; what the extraction cache key depends on. */
function tarSelection(): string[] {
  return [
    '--wildcards',
    '--anchored',
    '--no-wildcards-match-slash',
    ...kvmTarExcludes().map((x) => `--exclude=${x}`),
    ...kvmTarPatterns(),
  ];
}

/**
 * A short digest of the member selection. It is part of the extraction directory's name, so an
 * extraction made with another scope (fewer or more files) is never reused.
 */
export function scopeKey(): string {
  return createHash('sha256').update(tarSelection().join('\0')).digest('hex').slice(0, 10);
}

/** The cache directory name for a tarball of this name, size and mtime. */
export function extractionKey(tarball: string, size: number, mtimeMs: number): string {
  return `${path.basename(tarball)}-${size}-${Math.trunc(mtimeMs)}-s${scopeKey()}`;
}

function runTar(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile('tar', args, { maxBuffer: 16 * 1024 * 1024, timeout: 15 * 60 * 1000 }, (err, _stdout, stderr) => {
      if (!err) return resolve({ code: 0, stderr: String(stderr) });
      const e = err as NodeJS.ErrnoException & { code?: number | string };
      const text = String(stderr) || e.message;
      resolve({ code: typeof e.code === 'number' ? e.code : -1, stderr: text });
    });
  });
}

/** The single top-level directory inside an extraction, if exactly one. */
async function treeDirIn(extraction: string): Promise<string | undefined> {
  const dirs = (await fsp.readdir(extraction, { withFileTypes: true })).filter((e) => e.isDirectory());
  return dirs.length === 1 ? path.join(extraction, dirs[0]!.name) : undefined;
}

async function removeStaleTemps(cacheRoot: string, key: string): Promise<void> {
  let names: string[];
  try {
    names = await fsp.readdir(cacheRoot);
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(`${key}.tmp-`)) continue;
    const p = path.join(cacheRoot, n);
    try {
      if (Date.now() - (await fsp.stat(p)).mtimeMs > STALE_TMP_MS) await fsp.rm(p, { recursive: true, force: true });
    } catch {
      // Another process may be removing it too.
    }
  }
}

/**
 * Extract the KVM files of `tarball` into `cacheRoot/<basename>-<size>-<mtimeMs>-s<scope>/` (reusing
 * a complete earlier extraction made with the same member selection) and return the kernel tree root inside it. Never throws.
 */
export async function extractKvmFiles(tarball: string, cacheRoot = DEFAULT_CACHE_ROOT): Promise<Extraction> {
  const fail = (message: string): Extraction => ({ dir: '', problems: [{ path: tarball, message, severity: 'error' }], reused: false });
  let size: number;
  let mtimeMs: number;
  try {
    const st = await fsp.stat(tarball);
    if (!st.isFile()) return fail(`${tarball} is not a file`);
    size = st.size;
    mtimeMs = Math.trunc(st.mtimeMs);
  } catch (e) {
    return fail(`cannot read ${tarball}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const base = path.basename(tarball);
  const key = extractionKey(tarball, size, mtimeMs);
  const dest = path.join(cacheRoot, key);

  const reuse = async (): Promise<Extraction | undefined> => {
    if (!existsSync(path.join(dest, COMPLETE_MARKER))) return undefined;
    const dir = await treeDirIn(dest);
    if (dir === undefined) return fail(`${dest} holds no single kernel tree directory; delete it to extract again`);
    return { dir, problems: [], reused: true };
  };
  const earlier = await reuse();
  if (earlier) return earlier;

  const decompress = base.endsWith('.bz2') ? '-j' : base.endsWith('.xz') ? '-J' : base.endsWith('.gz') ? '-z' : undefined;
  let tmp: string | undefined;
  let moved = false;
  try {
    await fsp.mkdir(cacheRoot, { recursive: true });
    await removeStaleTemps(cacheRoot, key);
    const work = await fsp.mkdtemp(path.join(cacheRoot, `${key}.tmp-`));
    tmp = work;
    const args = [
      '-x',
      ...(decompress ? [decompress] : []),
      '-f', tarball,
      '-C', work,
      '--no-same-owner',
      '--no-same-permissions',
      ...tarSelection(),
    ];
    const r = await runTar(args);
    if (r.code !== 0) {
      // A pattern matching nothing (e.g. a file newer kernels have) is not a failure.
      const real = r.stderr
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !/: Not found in archive$/.test(l) && !/Exiting with failure status due to previous errors/.test(l));
      if (r.code !== 2 || real.length > 0) return fail(`tar failed (exit ${r.code}) on ${tarball}: ${real.join('; ') || r.stderr.trim()}`);
    }
    if ((await treeDirIn(work)) === undefined) return fail(`${tarball} has no single top-level directory holding kernel sources`);
    await fsp.chmod(work, 0o755); // mkdtemp makes it 0700
    await fsp.writeFile(path.join(work, COMPLETE_MARKER), `${tarball}\n`);
    try {
      await fsp.rename(work, dest);
      moved = true;
    } catch {
      // Someone else finished first, or a leftover without a marker sits there.
      const theirs = await reuse();
      if (theirs) return theirs;
      await fsp.rm(dest, { recursive: true, force: true });
      await fsp.rename(work, dest);
      moved = true;
    }
    const dir = await treeDirIn(dest);
    if (dir === undefined) return fail(`${dest} holds no single kernel tree directory`);
    return { dir, problems: [], reused: false };
  } catch (e) {
    return fail(`cannot extract ${tarball} into ${cacheRoot}: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    if (tmp !== undefined && !moved) await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
  }
}

/**
 * A kernel tree to run against: `$KVM_LENS_KERNEL_TREE` when set (an unpacked tree, returned
 * as given), else the cached extraction of the newest Debian linux-source tarball, else
 * undefined. Throws when a tarball exists but cannot be extracted, so a broken setup is not
 * mistaken for an absent one.
 */
export async function kernelTreeFromEnvOrDebian(): Promise<string | undefined> {
  const env = process.env.KVM_LENS_KERNEL_TREE;
  if (env) return env;
  const tarball = findDebianKernelSource();
  if (tarball === undefined) return undefined;
  const x = await extractKvmFiles(tarball);
  if (!x.dir) throw new Error(x.problems.map((p) => p.message).join('\n'));
  return x.dir;
}

/** The directories searched for `linux-source-<version>.tar.xz`: /usr/src, then $KVM_LENS_SOURCES_DIR (default DEFAULT_SOURCES_DIR). */
export function kernelSourceDirs(): string[] {
  return ['/usr/src', process.env.KVM_LENS_SOURCES_DIR || DEFAULT_SOURCES_DIR];
}

/**
 * `linux-source-<version>.tar.xz` (e.g. version "7.3") in /usr/src or in $KVM_LENS_SOURCES_DIR
 * (default /var/cache/kvm-lens/sources), the first found; undefined when neither has it or the
 * version is not dotted digits.
 */
export function findKernelSourceTarball(version: string, dirs: readonly string[] = kernelSourceDirs()): string | undefined {
  if (!/^\d+(\.\d+)*$/.test(version)) return undefined;
  for (const d of dirs) {
    const p = path.join(d, `linux-source-${version}.tar.xz`);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The extracted KVM tree of Linux `version` (see findKernelSourceTarball), or undefined when no
 * tarball of that version is installed. Throws when the tarball exists but cannot be extracted,
 * so a broken setup is not mistaken for an absent one.
 */
export async function kernelTreeForVersion(version: string, cacheRoot = DEFAULT_CACHE_ROOT): Promise<string | undefined> {
  const tarball = findKernelSourceTarball(version);
  if (tarball === undefined) return undefined;
  const x = await extractKvmFiles(tarball, cacheRoot);
  if (!x.dir) throw new Error(x.problems.map((p) => p.message).join('\n'));
  return x.dir;
}
