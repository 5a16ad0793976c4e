// Kernel tree mode: find and read the KVM x86 sources of a real Linux tree. Reads only; never
// writes. Every failure is reported as a TreeProblem rather than thrown, so a caller can show the
// user what was read, what was skipped and why.
//
// What is read is KVM_SCOPE: every *.c / *.h under arch/x86/kvm/ (recursively, except vmx/), the
// arch/x86/include/asm/kvm*.h headers, and every *.c / *.h under virt/kvm/ (recursively).
//
// Symlinks are followed only while their real path stays inside the (real) tree root; a link that
// escapes the tree, a link cycle (ELOOP) and a directory link that points back at one of its own
// ancestors (`a -> .`) are warnings naming the link. The walk is bounded: directories more than
// MAX_DEPTH levels below a scope directory are not entered, a directory reached twice (through a
// link) is read once, and reading stops after MAX_FILES files, each with a warning.

import { isUtf8 } from 'node:buffer';
import type { Dirent, Stats } from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { readRegularFile } from '../io/boundedRead';

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

/** One directory of the KVM scope. */
export interface KvmScopeDir {
  /** Tree-relative directory, forward slashes, no trailing slash. */
  dir: string;
  /** Shell glob (`*`, `?`, `[...]`) for the file names read; matched against the name only. */
  glob: string;
  /** Whether subdirectories are read too (up to MAX_DEPTH levels below `dir`). */
  recursive: boolean;
  /** Subdirectories (relative to `dir`) not read, with everything under them. */
  exclude: readonly string[];
}

/** What locateKvmFiles reads, and what extractKvmFiles takes out of a source tarball. */
export const KVM_SCOPE: readonly KvmScopeDir[] = [
  { dir: 'arch/x86/kvm', glob: '*.[ch]', recursive: true, exclude: ['vmx'] },
  { dir: 'arch/x86/include/asm', glob: 'kvm*.h', recursive: false, exclude: [] },
  { dir: 'virt/kvm', glob: '*.[ch]', recursive: true, exclude: [] },
];

/** The file whose absence means "no x86 KVM in this tree". */
export const X86_KVM_MARKER = 'arch/x86/kvm/x86.c';

/**
 * Whether a problem at tree-relative `problemPath` keeps the x86 KVM sources themselves out of
 * reach (the marker, or a directory on its way such as a looping arch/x86/kvm link): then there
 * is no x86 KVM to analyse, whatever else was read.
 */
export function blocksX86Kvm(problemPath: string): boolean {
  return problemPath === X86_KVM_MARKER || X86_KVM_MARKER.startsWith(problemPath + '/');
}

/** Files larger than this are skipped with a warning. */
export const MAX_FILE_BYTES = 8 * 1024 * 1024;

/** Directories more than this many levels below a scope directory are not entered (with a warning). */
export const MAX_DEPTH = 6;

/** At most this many files are read (a warning names the first one left out). */
export const MAX_FILES = 2000;

export interface LocateOptions {
  /** Default MAX_DEPTH. */
  maxDepth?: number;
  /** Default MAX_FILES. */
  maxFiles?: number;
}

/** A shell glob over one file name as an anchored RegExp (`*`, `?`, `[...]`; the rest literal). */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let body = glob.slice(i + 1, end);
        if (body.startsWith('!')) body = '^' + body.slice(1);
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Whether tree-relative `rel` is a file KVM_SCOPE reads (by path alone: no links followed). */
export function inKvmScope(rel: string, maxDepth = MAX_DEPTH): boolean {
  for (const scope of KVM_SCOPE) {
    if (!rel.startsWith(scope.dir + '/')) continue;
    const parts = rel.slice(scope.dir.length + 1).split('/');
    const name = parts[parts.length - 1]!;
    if (parts.length > 1 && (!scope.recursive || scope.exclude.includes(parts[0]!) || parts.length - 1 > maxDepth)) continue;
    if (globToRegExp(scope.glob).test(name)) return true;
  }
  return false;
}

/** A source file's bytes as text: UTF-8, else latin1 with a warning naming the first bad line. */
export function decodeSource(rel: string, buf: Buffer, problems: TreeProblem[]): string {
  if (isUtf8(buf)) return buf.toString('utf8');
  problems.push({ path: rel, message: `${rel} is not valid UTF-8 (first at line ${firstBadUtf8Line(buf)}); decoded as latin1`, severity: 'warning' });
  return buf.toString('latin1');
}

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
 * Follow the symlink at `p` (lexically `lexical`, in the real directory `cur`): its real path and
 * stat when it stays inside `root` and is not a directory link to `cur` or one of its ancestors.
 * `dirLike` tells whether a refused link is (or may be) a directory link.
 */
async function followLink(root: string, cur: string, p: string, lexical: string): Promise<Resolved & { dirLike?: boolean }> {
  let real: string;
  try {
    real = await fsp.realpath(p);
  } catch (e) {
    const code = errCode(e);
    if (code === 'ELOOP') {
      return { kind: 'problem', dirLike: true, problem: { path: lexical, message: `symlink loop at ${lexical} (-> ${await readLinkText(p)}); not followed`, severity: 'warning' } };
    }
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      return { kind: 'problem', dirLike: false, problem: { path: lexical, message: `cannot read ${lexical}: dangling symlink (-> ${await readLinkText(p)})`, severity: 'error' } };
    }
    return { kind: 'problem', dirLike: false, problem: { path: lexical, message: `cannot read ${lexical}: ${errText(e)}`, severity: 'error' } };
  }
  if (!isWithin(real, root)) {
    return {
      kind: 'problem',
      dirLike: await isDir(real),
      problem: { path: lexical, message: `symlink ${lexical} points outside the tree (to ${real}); not followed`, severity: 'warning' },
    };
  }
  // A directory link to the directory holding it, or to an ancestor of that, is a cycle.
  if (isWithin(cur, real) && (await isDir(real))) {
    const shown = path.relative(root, real).split(path.sep).join('/') || '.';
    return { kind: 'problem', dirLike: true, problem: { path: lexical, message: `symlink loop at ${lexical}: it points to ${shown}, which contains it; not followed`, severity: 'warning' } };
  }
  try {
    return { kind: 'ok', real, stat: await fsp.stat(real) };
  } catch (e) {
    return { kind: 'problem', dirLike: false, problem: { path: lexical, message: `cannot read ${lexical}: ${errText(e)}`, severity: 'error' } };
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
    const f = await followLink(root, cur, p, lexical);
    if (f.kind !== 'ok') return f;
    cur = f.real;
  }
  try {
    return { kind: 'ok', real: cur, stat: await fsp.stat(cur) };
  } catch (e) {
    return { kind: 'problem', problem: { path: rel, message: `cannot read ${rel}: ${errText(e)}`, severity: 'error' } };
  }
}

/** A file the walk chose to read: where it is, and what it is. */
interface Candidate {
  rel: string;
  real: string;
  stat: Stats;
}

function byName(a: Dirent, b: Dirent): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * Walk KVM_SCOPE under the real `root`, in name order, collecting the files to read. Problems
 * (links refused, directories too deep or unlistable, the file limit) go to `problems`.
 */
async function walkScope(root: string, opts: Required<LocateOptions>, problems: TreeProblem[]): Promise<Candidate[]> {
  const out: Candidate[] = [];
  const seenDirs = new Map<string, string>(); // real directory -> lexical path it was read as
  const excludedLexical = new Set<string>();
  const excludedReal: string[] = [];
  for (const s of KVM_SCOPE) {
    for (const x of s.exclude) {
      const rel = `${s.dir}/${x}`;
      excludedLexical.add(rel);
      const r = await resolveInTree(root, rel);
      if (r.kind === 'ok' && r.stat.isDirectory()) excludedReal.push(r.real);
    }
  }
  let full = false;
  // Directory links are walked after every real directory, so a directory reached both directly
  // and through a link is read under its own path.
  type Pending = { scope: KvmScopeDir; names: RegExp; real: string; rel: string; depth: number };
  const linked: Pending[] = [];

  const walkDir = async (scope: KvmScopeDir, names: RegExp, real: string, rel: string, depth: number): Promise<void> => {
    const first = seenDirs.get(real);
    if (first !== undefined) {
      problems.push({ path: rel, message: `${rel} is the same directory as ${first}; read once`, severity: 'warning' });
      return;
    }
    seenDirs.set(real, rel);
    let entries: Dirent[];
    try {
      entries = await fsp.readdir(real, { withFileTypes: true });
    } catch (e) {
      problems.push({ path: rel, message: `cannot list ${rel}: ${errText(e)}`, severity: 'error' });
      return;
    }
    for (const e of entries.sort(byName)) {
      if (full) return;
      const childRel = `${rel}/${e.name}`;
      const childPath = path.join(real, e.name);
      const matches = names.test(e.name);
      let childReal = childPath;
      let st: Stats;
      // Some file systems do not report entry types; lstat then.
      const typed = e.isFile() || e.isDirectory() || e.isSymbolicLink() || e.isFIFO() || e.isSocket() || e.isCharacterDevice() || e.isBlockDevice();
      const isLink = typed ? e.isSymbolicLink() : (await fsp.lstat(childPath).catch(() => undefined))?.isSymbolicLink() ?? false;
      if (isLink) {
        const f = await followLink(root, real, childPath, childRel);
        if (f.kind === 'problem') {
          if (matches || (scope.recursive && f.dirLike)) problems.push(f.problem);
          continue;
        }
        if (f.kind !== 'ok') continue;
        childReal = f.real;
        st = f.stat;
      } else {
        if (!matches && typed && !e.isDirectory()) continue;
        try {
          st = await fsp.stat(childPath);
        } catch (err) {
          problems.push({ path: childRel, message: `cannot read ${childRel}: ${errText(err)}`, severity: 'error' });
          continue;
        }
      }
      if (st.isDirectory()) {
        if (!scope.recursive) continue;
        if (excludedLexical.has(childRel) || excludedReal.some((x) => isWithin(childReal, x))) continue;
        if (depth + 1 > opts.maxDepth) {
          problems.push({
            path: childRel,
            message: `${childRel} is more than ${opts.maxDepth} directory levels below ${scope.dir}; not read`,
            severity: 'warning',
          });
          continue;
        }
        if (isLink) linked.push({ scope, names, real: childReal, rel: childRel, depth: depth + 1 });
        else await walkDir(scope, names, childReal, childRel, depth + 1);
        continue;
      }
      if (!matches) continue;
      if (out.length >= opts.maxFiles) {
        full = true;
        problems.push({
          path: childRel,
          message: `file limit reached: the KVM sources hold more than ${opts.maxFiles} files; ${childRel} and the files after it are not read`,
          severity: 'warning',
        });
        return;
      }
      out.push({ rel: childRel, real: childReal, stat: st });
    }
  };

  for (const scope of KVM_SCOPE) {
    if (full) break;
    const r = await resolveInTree(root, scope.dir);
    if (r.kind === 'missing') continue;
    if (r.kind === 'problem') {
      problems.push(r.problem);
      continue;
    }
    if (!r.stat.isDirectory()) {
      problems.push({ path: scope.dir, message: `cannot read ${scope.dir}: it is not a directory`, severity: 'error' });
      continue;
    }
    await walkDir(scope, globToRegExp(scope.glob), r.real, scope.dir, 0);
  }
  for (let i = 0; i < linked.length && !full; i++) {
    const l = linked[i]!;
    await walkDir(l.scope, l.names, l.real, l.rel, l.depth);
  }
  return out;
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

/** Tree files in the order LocatedTree keeps them (code-unit order of their paths). */
export function byPath(a: { path: string }, b: { path: string }): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/**
 * The top of the kernel tree with x86 KVM that `dir` is in (a checkout a reviewer runs from),
 * or undefined. Only looks: nothing is read but directory entries.
 */
export async function kernelTreeAround(dir: string): Promise<string | undefined> {
  let start: string;
  try { start = await fsp.realpath(path.resolve(dir)); } catch { return undefined; }
  for (const d of ancestors(start)) {
    if (await looksLikeTreeTop(d)) return (await isFile(path.join(d, X86_KVM_MARKER))) ? d : undefined;
  }
  return undefined;
}

/**
 * Find the kernel tree containing `dir` (or starting at it) and read the KVM sources of
 * KVM_SCOPE that exist there. Never throws; never writes.
 */
export async function locateKvmFiles(dir: string, options: LocateOptions = {}): Promise<LocatedTree> {
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

  const opts: Required<LocateOptions> = { maxDepth: options.maxDepth ?? MAX_DEPTH, maxFiles: options.maxFiles ?? MAX_FILES };
  const candidates = await walkScope(root, opts, problems);

  // The marker decides whether this is an x86 KVM tree at all; a refused link on its way was reported by the walk.
  let markerMissing = false;
  const marker = await resolveInTree(root, X86_KVM_MARKER);
  if (marker.kind === 'missing') markerMissing = true;
  else if (marker.kind === 'problem') problems.push(marker.problem);
  else if (!marker.stat.isFile()) {
    const what = marker.stat.isDirectory() ? 'it is a directory' : 'it is not a regular file';
    problems.push({ path: X86_KVM_MARKER, message: `cannot read ${X86_KVM_MARKER}: ${what}`, severity: 'error' });
  }

  const byReal = new Map<string, string>();
  for (const r of candidates.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0))) {
    const rel = r.rel;
    if (!r.stat.isFile()) {
      problems.push({ path: rel, message: `cannot read ${rel}: it is not a regular file`, severity: 'error' });
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
    // bounded and never blocking: the file may have been swapped for a FIFO or have grown since the walk
    const read = await readRegularFile(r.real, MAX_FILE_BYTES);
    if (!read.ok) {
      problems.push({ path: rel, message: `cannot read ${rel}: ${read.reason}`, severity: 'error' });
      continue;
    }
    const buf = read.bytes;
    const text = decodeSource(rel, buf, problems);
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
