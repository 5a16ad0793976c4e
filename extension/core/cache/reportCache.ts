// Results of whole analyses kept between runs, so running the same check again (CI re-runs,
// b4 calling us once per patch of a series we just saw, a reviewer's second look) costs reading
// the inputs and one lookup. Keyed by a hash of everything the result depends on: the analysis
// code, the options, the series and the tree's files. Lives under $XDG_CACHE_HOME (or
// ~/.cache), never inside a tree; written by rename so two processes never see half a file;
// bounded in size, oldest entries dropped first. Anything unreadable is a miss, never an error.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import type { AnalysisReport } from '../findings';
import { isBudgetNote } from '../analysis/budget';
import { codeFingerprint } from './codeFingerprint';

/** A cache of results, not of data anyone needs: a few runs of the largest tree fit. */
export const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;

/** Where the cache lives: $XDG_CACHE_HOME/kvm-lens, else ~/.cache/kvm-lens; undefined when neither is known. */
export function defaultCacheRoot(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, 'kvm-lens');
  const home = env.HOME ?? safeHomedir();
  return home ? join(home, '.cache', 'kvm-lens') : undefined;
}

function safeHomedir(): string | undefined {
  try { return homedir() || undefined; } catch { return undefined; }
}

export class ReportCache {
  private readonly dir: string;

  /**
   * `root` from defaultCacheRoot(); entries of other code versions (`code`) live in other
   * directories. `kind` names what is kept (whole reports; lowered files, see LoweredFileCache),
   * each in its own directory with its own bound.
   */
  constructor(root: string, private readonly maxBytes = DEFAULT_CACHE_BYTES, code = codeFingerprint(), private readonly kind = 'reports') {
    this.dir = join(root, `${kind}-${code}`);
  }

  /** The cache, unless it would sit inside one of `protectedDirs` (the kernel tree is never written). */
  static open(protectedDirs: string[], root = defaultCacheRoot(), kind = 'reports', maxBytes = DEFAULT_CACHE_BYTES): ReportCache | undefined {
    if (!root) return undefined;
    for (const p of protectedDirs) {
      const rel = relative(p, root);
      if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) return undefined;
    }
    return new ReportCache(root, maxBytes, codeFingerprint(), kind);
  }

  /** The key for a result: everything it depends on, in order. */
  static key(parts: (string | Buffer)[]): string {
    const hash = createHash('sha256');
    for (const p of parts) hash.update(typeof p === 'string' ? `${p.length}:${p}` : p).update('\0');
    return hash.digest('hex');
  }

  /**
   * The entry stored under `key`, if it is whole: an entry is its key, a checksum and the JSON,
   * so a file cut short, damaged or written by something else is never trusted (the next put
   * rewrites it).
   */
  get<T>(key: string): T | undefined {
    const file = join(this.dir, `${key}.json`);
    try {
      const text = readFileSync(file, 'utf8');
      const first = text.indexOf('\n');
      const body = text.slice(first + 1);
      if (first < 0 || text.slice(0, first) !== `${key} ${checksum(body)}`) return undefined;
      const value = JSON.parse(body) as T;
      // used: the pruning keeps recently used entries
      const now = new Date();
      try { utimesSync(file, now, now); } catch { /* read-only cache: still a hit */ }
      return value;
    } catch {
      return undefined;
    }
  }

  /** Stores `value`; `prune: false` when the caller stores many entries and prunes once after them. */
  put(key: string, value: unknown, { prune = true } = {}): void {
    try {
      mkdirSync(this.dir, { recursive: true });
      const file = join(this.dir, `${key}.json`);
      const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
      const body = JSON.stringify(value);
      writeFileSync(tmp, `${key} ${checksum(body)}\n${body}`);
      renameSync(tmp, file);
      if (prune) this.prune();
    } catch {
      // a cache that cannot be written only costs the next run its time
    }
  }

  /** Whether `key` was marked (see mark): a cheap record that something was seen, with no value. */
  marked(key: string): boolean {
    try { return statSync(join(this.dir, `${key}.seen`)).isFile(); } catch { return false; }
  }

  mark(key: string): void {
    try {
      mkdirSync(this.dir, { recursive: true });
      writeFileSync(join(this.dir, `${key}.seen`), '');
    } catch {
      // as put
    }
  }

  /** Oldest first until the directory fits; also drops the directories of other code versions. */
  prune(): void {
    try {
      this.pruneNow();
    } catch {
      // as put
    }
  }

  private pruneNow(): void {
    const root = join(this.dir, '..');
    for (const d of readdirSync(root)) {
      const p = join(root, d);
      if (d.startsWith(`${this.kind}-`) && p !== this.dir) rmSync(p, { recursive: true, force: true });
    }
    const entries = readdirSync(this.dir).map((name) => {
      const p = join(this.dir, name);
      // a marker holds no data but still costs a directory entry
      try { const st = statSync(p); return { p, size: Math.max(st.size, 256), at: st.mtimeMs }; } catch { return undefined; }
    }).filter((x): x is { p: string; size: number; at: number } => x !== undefined).sort((a, b) => a.at - b.at);
    let total = entries.reduce((n, e) => n + e.size, 0);
    for (const e of entries) {
      if (total <= this.maxBytes) break;
      rmSync(e.p, { force: true });
      total -= e.size;
    }
  }
}

function checksum(body: string): string {
  return createHash('sha256').update(body).digest('hex');
}

/**
 * The report for `key`: from the cache when an identical run stored it (marked cached, timed as
 * this run's reading), else computed and stored, unless the budget cut it short (then it is
 * not the answer for a run with time to finish). Without a cache, computed.
 */
export async function cachedReport<R extends AnalysisReport>(cache: ReportCache | undefined, key: () => string, readMs: number, compute: () => Promise<R>): Promise<R> {
  if (!cache) return compute();
  const k = key();
  const hit = cache.get<R>(k);
  if (hit) return { ...hit, stats: { ...hit.stats, cached: true, ms: { read: readMs, parse: 0, summarize: 0, simulate: 0 } } };
  const report = await compute();
  if (!report.findings.some((f) => isBudgetNote(f.message))) cache.put(k, report);
  return report;
}
