// Lowered tree files kept between runs: parsing and lowering the 80-odd files of arch/x86/kvm
// costs about 1.5 s, reading their IR back about 0.3 s. A reviewer checks series after series
// against the same tree, and opens the same workspace again: the files the series does not touch
// are the same text as last time. Keyed by path and text (and, through the directory, the
// analysis code); a file is stored the second time its text is seen, so a one-off audit does not
// pay for writing what no later run will read.
import type { FunctionIr, FunctionTable } from '../summary/ir';
import { defaultCacheRoot, ReportCache } from './reportCache';

/** What a tree file's parse leaves besides its parse tree (see analyzeTree's SourceFile). */
export interface LoweredFile {
  functions: FunctionIr[];
  /** The vendor ops table's entries: op name, implementing function. */
  ops: [string, string][];
  tables: FunctionTable[];
  errorLines: number[];
}

/** Lowered files of a few trees: one tree's IR is about 15 MB as JSON. */
export const LOWERED_CACHE_BYTES = 256 * 1024 * 1024;

export class LoweredFileCache {
  private constructor(private readonly store: ReportCache) {}

  /** The cache, unless it would sit inside one of `protectedDirs` (the kernel tree is never written). */
  static open(protectedDirs: string[], root = defaultCacheRoot()): LoweredFileCache | undefined {
    const store = ReportCache.open(protectedDirs, root, 'lowered', LOWERED_CACHE_BYTES);
    return store ? new LoweredFileCache(store) : undefined;
  }

  /** A cache in `root` for another code version (tests: a new release never reads an old one's files). */
  static at(root: string, code: string): LoweredFileCache {
    return new LoweredFileCache(new ReportCache(root, LOWERED_CACHE_BYTES, code, 'lowered'));
  }

  get(path: string, text: string): LoweredFile | undefined {
    const hit = this.store.get<LoweredFile>(key(path, text));
    return hit && Array.isArray(hit.functions) && Array.isArray(hit.ops) && Array.isArray(hit.tables) && Array.isArray(hit.errorLines) ? hit : undefined;
  }

  /** Stores the file if its text was seen before; otherwise only notes that it has been seen. */
  offer(path: string, text: string, lowered: () => LoweredFile): void {
    const k = key(path, text);
    if (this.store.marked(k)) this.store.put(k, lowered(), { prune: false });
    else this.store.mark(k);
  }

  /** After a run's offers: keeps the cache within its bound. */
  prune(): void {
    this.store.prune();
  }
}

function key(path: string, text: string): string {
  return ReportCache.key(['lowered', path, text]);
}
