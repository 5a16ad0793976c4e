// The exact base of a series, found the way b4 finds it: the pre-image of each file the series
// changes is the blob its first diff names (`index <old>..<new>`), looked up in the reviewer's
// git repository; the rest of the KVM sources come from the series' `base-commit:` when the
// repository has that commit, else from the working tree. The working tree is the base without
// git when its files hash to those blob ids. Whatever is used is said in one line; a base that
// cannot be found exactly falls back to the working tree and says so, it never stops the analysis.
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import type { Series } from '../series/types';
import { GitRepository } from './gitRepository';
import { byPath, decodeSource, inKvmScope, KVM_SCOPE, MAX_FILE_BYTES, X86_KVM_MARKER, type LocatedTree, type TreeFile, type TreeProblem } from './kernelTree';

export type BaseSource = 'base-commit' | 'blobs' | 'working-tree';

export interface SeriesBase {
  /** What the files came from. 'working-tree' with `exact` false: the pre-images could not be confirmed. */
  source: BaseSource;
  /** Whether every file the series changes in the KVM sources is its exact pre-image. */
  exact: boolean;
  /** The full id of the commit the files came from ('base-commit'). */
  commit?: string;
  /** Files in the KVM sources the series changes that have a pre-image (not new), and how many of them are exact. */
  preimages: { total: number; exact: number };
  /** One line for the report's head: "base: ...". */
  line: string;
}

/** The blob id git gives `bytes` (SHA-1 repositories unless told otherwise). */
export function gitBlobId(bytes: Buffer, format: 'sha1' | 'sha256' = 'sha1'): string {
  return createHash(format).update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

/** The KVM-scope files the series changes, each with the blob id of its pre-image (its first diff's). */
export function seriesPreimages(series: Series): Map<string, string> {
  const out = new Map<string, string>();
  const seen = new Set<string>();
  for (const p of series.patches) {
    for (const d of p.diffs) {
      const old = d.oldPath;
      if (old === null || seen.has(old)) { if (d.newPath) seen.add(d.newPath); continue; }
      seen.add(old);
      if (d.newPath) seen.add(d.newPath);
      if (d.index && !/^0+$/.test(d.index.old) && inKvmScope(old)) out.set(old, d.index.old);
    }
  }
  return out;
}

export interface FindBaseOptions {
  /** Whether git may run (the editor: only in a trusted workspace). Without it, only the working tree's hashes are compared. */
  git: boolean;
}

/** `located` (the working tree) turned into the series' base, and the line that says how. */
export async function findSeriesBase(located: LocatedTree, series: Series, options: FindBaseOptions): Promise<{ located: LocatedTree; base: SeriesBase }> {
  const where = located.root;
  const preimages = seriesPreimages(series);
  const workFiles = new Map(located.files.map((f) => [f.path, f]));
  // the changed files whose working-tree text is already their pre-image: hashed once
  let hashed: { format: string; same: Set<string> } | undefined;
  const sameAsWorkTree = (format: 'sha1' | 'sha256'): Set<string> => {
    if (hashed?.format !== format) {
      const same = new Set([...preimages].filter(([p, id]) => {
        const f = workFiles.get(p);
        return f !== undefined && gitBlobId(Buffer.from(f.text, 'utf8'), format).startsWith(id);
      }).map(([p]) => p));
      hashed = { format, same };
    }
    return hashed.same;
  };
  const matchesWorkTree = (format: 'sha1' | 'sha256') => sameAsWorkTree(format).size;
  const baseCommit = series.baseCommit?.id;
  const workTree = (exact: number, why: string): { located: LocatedTree; base: SeriesBase } => ({
    located,
    base: {
      source: 'working-tree', exact: exact === preimages.size, preimages: { total: preimages.size, exact },
      line: `base: the working tree of ${where}${why}`,
    },
  });
  const counted = (n: number) => `${n} file${n === 1 ? '' : 's'}`;
  const worktreeVerdict = (exact: number) => preimages.size === 0
    ? ' (the series names no pre-image blob to check it against)'
    : exact === preimages.size ? `, whose ${counted(exact)} the series changes are its exact pre-images (blob ids match)`
      : `; ${preimages.size - exact} of the ${counted(preimages.size)} the series changes differ from the series' pre-images, so patches apply with fuzz or not at all`;

  if (!options.git) {
    const exact = matchesWorkTree('sha1');
    return workTree(exact, `${worktreeVerdict(exact)} (git not run: the workspace is not trusted)`);
  }
  const opened = await GitRepository.open(where);
  if (!opened.ok) {
    const exact = matchesWorkTree('sha1');
    return workTree(exact, `${worktreeVerdict(exact)} (${opened.why}${baseCommit ? `; base-commit ${short(baseCommit)} not looked up` : ''})`);
  }
  const repo = opened.repo;
  const prefix = path.relative(repo.top, where).split(path.sep).filter(Boolean).join('/');
  const inRepo = (rel: string) => (prefix ? `${prefix}/${rel}` : rel);

  // why base-commit was not used, for the line ("" without one)
  let commitWhy = !baseCommit ? '' : repo.shallow
    ? `base-commit ${short(baseCommit)} is not in this shallow clone`
    : `base-commit ${short(baseCommit)} is not in this repository`;
  const commitNote = (): string => (commitWhy ? `; ${commitWhy}` : '');

  if (baseCommit) {
    const commit = await repo.commit(baseCommit);
    if (commit) {
      const atCommit = await filesAtCommit(repo, commit, where, inRepo, prefix);
      if (typeof atCommit !== 'string') {
        const problems = atCommit.problems;
        const files = new Map(atCommit.files.map((f) => [f.path, f]));
        // a file the series changes whose pre-image is not the commit's: the blob wins when the repository has it
        const differing = [...preimages].filter(([p, id]) => !(atCommit.ids.get(p) ?? '').startsWith(id));
        const blobs = await repo.blobs(differing.map(([, id]) => id));
        const texts = await repo.readBlobs([...blobs.values()]);
        let fromBlobs = 0;
        if (typeof texts !== 'string') {
          for (const [p, id] of differing) {
            const full = blobs.get(id);
            const buf = full ? texts.get(full) : undefined;
            if (!buf) continue;
            files.set(p, treeFile(where, p, buf, problems));
            fromBlobs++;
          }
        }
        const exact = preimages.size - differing.length + fromBlobs;
        const agree = preimages.size === 0 ? ''
          : differing.length === 0 ? ` (the ${counted(preimages.size)} the series changes are there as its blob ids say)`
            : ` (${fromBlobs ? `${counted(fromBlobs)} the series changes differ there and were taken from their blobs` : ''}${fromBlobs && exact < preimages.size ? '; ' : ''}${exact < preimages.size ? `${preimages.size - exact} of the ${counted(preimages.size)} the series changes are neither there nor in the repository as its blob ids say` : ''})`;
        return {
          located: { root: where, files: [...files.values()].sort(byPath), problems },
          base: {
            source: 'base-commit', exact: exact === preimages.size, commit, preimages: { total: preimages.size, exact },
            line: `base: base-commit ${short(commit)} in ${where}${agree}`,
          },
        };
      }
      // the commit is there but its KVM sources could not be read: the blobs or the working tree stand in
      commitWhy = `base-commit ${short(commit)}: ${atCommit}`;
    }
  }

  if (preimages.size === 0) return workTree(0, `${worktreeVerdict(0)}${commitWhy ? ` (${commitWhy})` : ''}`);
  // only now: a base read from base-commit never needed the working tree's hashes
  const wtExact = matchesWorkTree(repo.objectFormat);
  if (wtExact === preimages.size) return workTree(wtExact, `${worktreeVerdict(wtExact)}${commitWhy ? ` (${commitWhy})` : ''}`);

  // the working tree is not the base (a series already applied with b4 shazam, a newer checkout): take the pre-images from the blobs
  const blobs = await repo.blobs([...preimages.values()]);
  const texts = await repo.readBlobs([...blobs.values()]);
  if (typeof texts === 'string' || blobs.size === 0) {
    const why = typeof texts === 'string' ? `git cat-file: ${texts}` : `none of the series' ${preimages.size} pre-image blobs is in this repository`;
    return workTree(wtExact, `${worktreeVerdict(wtExact)} (${why}${commitNote()})`);
  }
  const problems = [...located.problems];
  const files = new Map(workFiles);
  let exact = 0;
  for (const [p, id] of preimages) {
    const full = blobs.get(id);
    const buf = full ? texts.get(full) : undefined;
    if (buf) { files.set(p, treeFile(where, p, buf, problems)); exact++; }
    else if (sameAsWorkTree(repo.objectFormat).has(p)) exact++;
  }
  const missing = preimages.size - exact;
  return {
    located: { root: where, files: [...files.values()].sort(byPath), problems },
    base: {
      source: 'blobs', exact: missing === 0, preimages: { total: preimages.size, exact },
      line: `base: blobs of ${counted(exact)} the series changes found in ${where}, the other KVM sources from its working tree`
        + (missing ? `; ${missing} pre-image blob${missing === 1 ? ' is' : 's are'} missing, so ${missing === 1 ? 'that file comes' : 'those files come'} from the working tree` : '')
        + (commitWhy ? ` (${commitWhy})` : ''),
    },
  };
}

function short(id: string): string {
  return id.slice(0, 12);
}

function treeFile(root: string, rel: string, buf: Buffer, problems: TreeProblem[]): TreeFile {
  return { path: rel, absPath: path.join(root, ...rel.split('/')), text: decodeSource(rel, buf, problems), bytes: buf.length };
}

/** The KVM sources as `commit` has them, with each file's blob id; a string says why they could not be read. */
async function filesAtCommit(repo: GitRepository, commit: string, root: string, inRepo: (rel: string) => string, prefix: string): Promise<{ files: TreeFile[]; ids: Map<string, string>; problems: TreeProblem[] } | string> {
  const entries = await repo.treeFiles(commit, KVM_SCOPE.map((s) => inRepo(s.dir)));
  if (typeof entries === 'string') return entries;
  const strip = (p: string) => (prefix ? p.slice(prefix.length + 1) : p);
  const problems: TreeProblem[] = [];
  const wanted: { rel: string; id: string }[] = [];
  for (const e of entries) {
    const rel = strip(e.path);
    if (!inKvmScope(rel)) continue;
    if (e.type !== 'blob') continue;
    if (e.mode === '120000') { problems.push({ path: rel, message: `${rel} is a symlink in commit ${short(commit)}; not followed`, severity: 'warning' }); continue; }
    wanted.push({ rel, id: e.id });
  }
  if (!wanted.some((w) => w.rel === X86_KVM_MARKER)) return `it has no ${X86_KVM_MARKER}`;
  const blobs = await repo.readBlobs(wanted.map((w) => w.id));
  if (typeof blobs === 'string') return `git cat-file: ${blobs}`;
  const files: TreeFile[] = [];
  const ids = new Map<string, string>();
  for (const w of wanted) {
    const buf = blobs.get(w.id);
    if (!buf) continue;
    if (buf.length > MAX_FILE_BYTES) { problems.push({ path: w.rel, message: `${w.rel} is over the ${MAX_FILE_BYTES / (1024 * 1024)} MB limit; skipped`, severity: 'warning' }); continue; }
    files.push(treeFile(root, w.rel, buf, problems));
    ids.set(w.rel, w.id);
  }
  return { files, ids, problems };
}
