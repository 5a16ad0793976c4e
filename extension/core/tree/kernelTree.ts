// Kernel tree mode: find and read the KVM x86 sources of a real Linux tree. Reads only; never
// writes. Every failure is reported as a TreeProblem rather than thrown, so a caller can show the
// user what was read, what was skipped and why.
//
// Symlinks are followed only while their real path stays inside the (real) tree root; a link that
// escapes the tree, a link cycle (ELOOP) and a directory link that points back at one of its own
// ancestors (`a -> .`) are warnings naming the link. Only a fixed list of paths plus one directory
// level (arch/x86/kvm/svm) is ever visited, so no walk can run away.

import { isUtf8 } from 'node:buffer';
import type { Dirent, Stats } from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

export interface TreeFile {
  /** Tree-relative, forward slashes, e.g. "arch/x86/kvm/svm/sev.c". */
  path: string;
  /** Absolute path through the tree root (the root is a real path; the file may sit behind an in-tree symlink). */
  absPath: string;
  text: string;
  bytes: number;
}

export interface TreeProblem {
  /** Tree-relative path of the file or link concerned; for whole-tree problems, the directory given or the root. */
  path: string;
  message: string;
  severity: 'error' | 'warning';
}

export interface LocatedTree {
  /** The real path of the tree top used (or of `dir` itself when no tree top was found). */
  root: string;
  /** Sorted by `path` (code-unit order). */
  files: TreeFile[];
  problems: TreeProblem[];
}

/** Single files read when present. */
export const KVM_FIXED_FILES: readonly string[] = [
  'arch/x86/kvm/x86.c',
  'arch/x86/kvm/regs.c',
  'arch/x86/kvm/kvm_cache_regs.h',
  'arch/x86/include/asm/kvm_host.h',
  'virt/kvm/kvm_main.c',
];

/** Directories whose immediate `*.c` and `*.h` entries are read (no recursion). */
export const KVM_GLOB_DIRS: readonly string[] = ['arch/x86/kvm/svm'];

/** The file whose absence means "no x86 KVM in this tree". */
export const X86_KVM_MARKER = 'arch/x86/kvm/x86.c';

/** Files larger than this are skipped with a warning. */
export const MAX_FILE_BYTES = 8 * 1024 * 1024;

const GLOB_NAME = /\.[ch]$/;

type Resolved =
  | { kind: 'ok'; real: string; stat: Stats }
  | { kind: 'missing' }
  | { kind: 'problem'; problem: TreeProblem };

function errCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

function errText(e: unknown): string {
  const code = errCode(e);
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'ENOTDIR') return 'a parent of it is not a directory';
  if (code) return code;
  return e instanceof Error ? e.message : String(e);
}

/** True when `p` is `dir` or lies inside it (both absolute, normalized). */
function isWithin(p: string, dir: string): boolean {
  if (p === dir) return true;
  const withSep = dir.endsWith(path.sep) ? dir : dir + path.sep;
  return p.startsWith(withSep);
}

async function statOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await fsp.stat(p);
  } catch {
    return undefined;
  }
}

async function isDir(p: string): Promise<boolean> {
  return (await statOrUndefined(p))?.isDirectory() ?? false;
}

async function isFile(p: string): Promise<boolean> {
  return (await statOrUndefined(p))?.isFile() ?? false;
}

/** A kernel tree top: `Makefile` + `arch/` + (`virt/` or `Kconfig`). */
async function looksLikeTreeTop(dir: string): Promise<boolean> {
  if (!(await isFile(path.join(dir, 'Makefile')))) return false;
  if (!(await isDir(path.join(dir, 'arch')))) return false;
  return (await isDir(path.join(dir, 'virt'))) || (await isFile(path.join(dir, 'Kconfig')));
}

function ancestors(dir: string): string[] {
  const out: string[] = [];
  for (let d = dir; ; ) {
    out.push(d);
    const up = path.dirname(d);
    if (up === d) return out;
    d = up;
  }
}

async function readLinkText(p: string): Promise<string> {
  try {
    return await fsp.readlink(p);
  } catch {
    return '?';
  }
}

/**
 * Resolve tree-relative `rel` one component at a time from the real `root`, checking every
 * symlink met on the way. The current directory is always a real path, so containment and
 * ancestor checks are plain prefix tests.
 */
async function resolveInTree(root: string, rel: string): Promise<Resolved> {
  const comps = rel.split('/');
  let cur = root;
  for (let i = 0; i < comps.length; i++) {
    const lexical = comps.slice(0, i + 1).join('/');
    const p = path.join(cur, comps[i]!);
    let l: Stats;
    try {
      l = await fsp.lstat(p);
    } catch (e) {
      const code = errCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
      return { kind: 'problem', problem: { path: lexical, message: `cannot read ${lexical}: ${errText(e)}`, severity: 'error' } };
    }
    if (!l.isSymbolicLink()) {
      cur = p;
      continue;
    }
    let real: string;
    try {
      real = await fsp.realpath(p);
    } catch (e) {
      const code = errCode(e);
      if (code === 'ELOOP') {
        return { kind: 'problem', problem: { path: lexical, message: `symlink loop at ${lexical} (-> ${await readLinkText(p)}); not followed`, severity: 'warning' } };
      }
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        return { kind: 'problem', problem: { path: lexical, message: `cannot read ${lexical}: dangling symlink (-> ${await readLinkText(p)})`, severity: 'error' } };
      }
      return { kind: 'problem', problem: { path: lexical, message: `cannot read ${lexical}: ${errText(e)}`, severity: 'error' } };
    }
    if (!isWithin(real, root)) {
      return { kind: 'problem', problem: { path: lexical, message: `symlink ${lexical} points outside the tree (to ${real}); not followed`, severity: 'warning' } };
    }
    // A directory link to the directory holding it, or to an ancestor of that, is a cycle.
    if (isWithin(cur, real) && (await isDir(real))) {
      const shown = path.relative(root, real).split(path.sep).join('/') || '.';
      return { kind: 'problem', problem: { path: lexical, message: `symlink loop at ${lexical}: it points to ${shown}, which contains it; not followed`, severity: 'warning' } };
    }
    cur = real;
  }
  try {
    return { kind: 'ok', real: cur, stat: await fsp.stat(cur) };
  } catch (e) {
    return { kind: 'problem', problem: { path: rel, message: `cannot read ${rel}: ${errText(e)}`, severity: 'error' } };
  }
}

/** Architectures other than x86 with an `arch/<arch>/kvm` directory, sorted. */
async function otherKvmArches(root: string): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await fsp.readdir(path.join(root, 'arch'), { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    if (e.name === 'x86' || !(e.isDirectory() || e.isSymbolicLink())) continue;
    if (await isDir(path.join(root, 'arch', e.name, 'kvm'))) out.push(e.name);
  }
  return out.sort();
}

/** 1-based line of the first byte sequence that is not valid UTF-8. */
function firstBadUtf8Line(buf: Buffer): number {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(buf);
  const at = text.indexOf('\uFFFD');
  return at < 0 ? 1 : text.slice(0, at).split('\n').length;
}

function byPath(a: { path: string }, b: { path: string }): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/**
 * Find the kernel tree containing `dir` (or starting at it) and read the KVM x86 sources that
 * exist there. Never throws; never writes.
 */
export async function locateKvmFiles(dir: string): Promise<LocatedTree> {
  const given = path.resolve(dir);
  const problems: TreeProblem[] = [];
  const files: TreeFile[] = [];
  const done = (root: string): LocatedTree => {
    const seen = new Set<string>();
    const unique = problems.filter((p) => {
      const k = `${p.severity}\0${p.path}\0${p.message}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    return { root, files: files.sort(byPath), problems: unique };
  };

  let start: string;
  try {
    start = await fsp.realpath(given);
    const st = await fsp.stat(start);
    if (!st.isDirectory()) {
      problems.push({ path: given, message: `${given} is not a directory`, severity: 'error' });
      return done(start);
    }
  } catch (e) {
    const code = errCode(e);
    const message =
      code === 'ENOENT' ? `${given} does not exist`
      : code === 'ELOOP' ? `${given} is a symlink loop`
      : code === 'ENOTDIR' ? `${given} is not a directory`
      : `cannot open ${given}: ${errText(e)}`;
    problems.push({ path: given, message, severity: 'error' });
    return done(given);
  }

  // Walk up to the tree top; failing that, to the nearest directory with an arch/ subdirectory.
  const ups = ancestors(start);
  let root: string | undefined;
  for (const d of ups) {
    if (await looksLikeTreeTop(d)) {
      root = d;
      break;
    }
  }
  if (root === undefined) {
    for (const d of ups) {
      if (await isDir(path.join(d, 'arch'))) {
        root = d;
        problems.push({
          path: d,
          message: `no kernel tree top (Makefile with arch/ and virt/ or Kconfig) found at or above ${start}; using ${d}, which has arch/`,
          severity: 'warning',
        });
        break;
      }
    }
  }
  if (root === undefined) {
    problems.push({ path: start, message: `${start} is not a Linux kernel tree (no arch/ directory)`, severity: 'error' });
    return done(start);
  }

  // Candidate paths: the fixed list plus the *.c / *.h entries of each glob directory.
  const candidates = new Set<string>(KVM_FIXED_FILES);
  for (const g of KVM_GLOB_DIRS) {
    const r = await resolveInTree(root, g);
    if (r.kind === 'missing') continue;
    if (r.kind === 'problem') {
      problems.push(r.problem);
      continue;
    }
    if (!r.stat.isDirectory()) {
      problems.push({ path: g, message: `cannot read ${g}: it is not a directory`, severity: 'error' });
      continue;
    }
    try {
      for (const name of await fsp.readdir(r.real)) {
        if (GLOB_NAME.test(name)) candidates.add(`${g}/${name}`);
      }
    } catch (e) {
      problems.push({ path: g, message: `cannot list ${g}: ${errText(e)}`, severity: 'error' });
    }
  }

  const byReal = new Map<string, string>();
  let markerMissing = false;
  for (const rel of [...candidates].sort()) {
    const r = await resolveInTree(root, rel);
    if (r.kind === 'missing') {
      if (rel === X86_KVM_MARKER) markerMissing = true;
      continue;
    }
    if (r.kind === 'problem') {
      problems.push(r.problem);
      continue;
    }
    if (!r.stat.isFile()) {
      const what = r.stat.isDirectory() ? 'it is a directory' : 'it is not a regular file';
      problems.push({ path: rel, message: `cannot read ${rel}: ${what}`, severity: 'error' });
      continue;
    }
    const dup = byReal.get(r.real);
    if (dup !== undefined) {
      problems.push({ path: rel, message: `${rel} is the same file as ${dup}; read once`, severity: 'warning' });
      continue;
    }
    if (r.stat.size > MAX_FILE_BYTES) {
      const mb = (r.stat.size / (1024 * 1024)).toFixed(1);
      problems.push({ path: rel, message: `${rel} is ${mb} MB, over the ${MAX_FILE_BYTES / (1024 * 1024)} MB limit; skipped`, severity: 'warning' });
      continue;
    }
    let buf: Buffer;
    try {
      buf = await fsp.readFile(r.real);
    } catch (e) {
      problems.push({ path: rel, message: `cannot read ${rel}: ${errText(e)}`, severity: 'error' });
      continue;
    }
    let text: string;
    if (isUtf8(buf)) {
      text = buf.toString('utf8');
    } else {
      text = buf.toString('latin1');
      problems.push({ path: rel, message: `${rel} is not valid UTF-8 (first at line ${firstBadUtf8Line(buf)}); decoded as latin1`, severity: 'warning' });
    }
    byReal.set(r.real, rel);
    files.push({ path: rel, absPath: path.join(root, ...rel.split('/')), text, bytes: buf.length });
  }

  if (markerMissing) {
    const others = await otherKvmArches(root);
    let message: string;
    if (others.length > 0) {
      message = `this tree has KVM for ${others.join(', ')} but not x86; kvm-lens models AMD SEV-ES on x86 only`;
    } else if (await isDir(path.join(root, 'arch/x86/kvm'))) {
      message = `${X86_KVM_MARKER} is missing although arch/x86/kvm exists; kvm-lens needs the x86 KVM sources`;
    } else {
      message = 'this tree has no KVM sources (no arch/*/kvm directory); kvm-lens models AMD SEV-ES on x86 only';
    }
    problems.push({ path: X86_KVM_MARKER, message, severity: 'error' });
  }

  return done(root);
}
