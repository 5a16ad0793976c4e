// Reading a reviewer's git repository: objects by id, a commit's files, whether a commit is
// there. git runs as a spawned process with an argument list (never a shell), with no pager,
// no prompt and no optional locks; it only reads. Callers decide whether running git is allowed
// at all (the editor: only in a trusted workspace).
import { firstError, runGit } from '../io/gitProcess';

/** One entry of a commit's tree. */
export interface GitTreeEntry { mode: string; type: string; id: string; path: string }

export type OpenResult = { ok: true; repo: GitRepository } | { ok: false; why: string };

export class GitRepository {
  private constructor(
    /** The work tree's top level (a real path, as git prints it). */
    readonly top: string,
    readonly shallow: boolean,
    /** 'sha1' or 'sha256': how a blob's id is computed. */
    readonly objectFormat: 'sha1' | 'sha256',
  ) {}

  /** The repository `dir` is in; `why` says in a few words when there is none or git cannot run. */
  static async open(dir: string): Promise<OpenResult> {
    const r = await runGit(dir, ['rev-parse', '--show-toplevel', '--is-shallow-repository', '--show-object-format']);
    if (r.code !== 0) {
      const why = firstError(r);
      return { ok: false, why: /not a git repository/i.test(why) ? 'not a git repository' : why };
    }
    const [top, shallow, format] = r.stdout.toString('utf8').split('\n');
    if (!top) return { ok: false, why: 'a bare repository or a .git directory, not a work tree' };
    return { ok: true, repo: new GitRepository(top, shallow === 'true', format === 'sha256' ? 'sha256' : 'sha1') };
  }

  /** The full id of `rev` as a commit, or undefined when the repository has no such commit. */
  async commit(rev: string): Promise<string | undefined> {
    if (!/^[0-9a-f]{4,64}$/i.test(rev)) return undefined;
    const r = await runGit(this.top, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`]);
    return r.code === 0 ? r.stdout.toString('utf8').trim() || undefined : undefined;
  }

  /**
   * The blobs among `ids` (full or abbreviated) the repository holds, each with its full id.
   * An abbreviation that is ambiguous or names no blob is left out.
   */
  async blobs(ids: readonly string[]): Promise<Map<string, string>> {
    const wanted = [...new Set(ids.filter((id) => /^[0-9a-f]{4,64}$/i.test(id)))];
    const found = new Map<string, string>();
    if (!wanted.length) return found;
    const r = await runGit(this.top, ['cat-file', '--batch-check=%(objectname) %(objecttype)'], wanted.map((id) => id + '\n').join(''));
    if (r.code !== 0) return found;
    const lines = r.stdout.toString('utf8').split('\n');
    wanted.forEach((id, i) => {
      const m = /^([0-9a-f]+) blob$/.exec(lines[i] ?? '');
      if (m) found.set(id, m[1]!);
    });
    return found;
  }

  /** The contents of blobs by full id (one `cat-file --batch` for all of them). */
  async readBlobs(ids: readonly string[]): Promise<Map<string, Buffer> | string> {
    const wanted = [...new Set(ids)];
    const out = new Map<string, Buffer>();
    if (!wanted.length) return out;
    const r = await runGit(this.top, ['cat-file', '--batch'], wanted.map((id) => id + '\n').join(''));
    if (r.code !== 0) return firstError(r);
    const buf = r.stdout;
    let at = 0;
    for (const id of wanted) {
      const nl = buf.indexOf(10, at);
      if (nl < 0) return `git cat-file ended early, before ${id}`;
      const header = buf.subarray(at, nl).toString('utf8');
      const m = /^([0-9a-f]+) (\w+) (\d+)$/.exec(header);
      if (!m) return `git cat-file: ${header}`;
      const size = Number(m[3]);
      out.set(id, buf.subarray(nl + 1, nl + 1 + size));
      at = nl + 1 + size + 1;
    }
    return out;
  }

  /** Every file under `dirs` in `commit`'s tree (recursively). */
  async treeFiles(commit: string, dirs: readonly string[]): Promise<GitTreeEntry[] | string> {
    const r = await runGit(this.top, ['ls-tree', '-r', '-z', '--full-tree', '--end-of-options', commit, '--', ...dirs]);
    if (r.code !== 0) return firstError(r);
    const out: GitTreeEntry[] = [];
    for (const rec of r.stdout.toString('utf8').split('\0')) {
      const m = /^(\d+) (\w+) ([0-9a-f]+)\t(.*)$/s.exec(rec);
      if (m) out.push({ mode: m[1]!, type: m[2]!, id: m[3]!, path: m[4]! });
    }
    return out;
  }
}
