// Raw tree-sitter throughput: the same parseC the analysis uses, without lowering to IR, on a
// large synthetic kernel-style C text and (when available) real KVM sources from Linux 6.12.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseC } from '../../extension/core/parse/cParser';
import { median } from './stats';

export interface ParseMeasure {
  label: string;
  bytes: number;
  /** Median wall time of one parse, ms. */
  ms: number;
  mbPerS: number;
  /** tree-sitter found syntax it could not parse (macros, fragments); the parse still completes. */
  hasError: boolean;
}

/** Parses `text` reps times (after one untimed warm-up parse) and reports the median. */
export async function measureParse(label: string, text: string, reps: number): Promise<ParseMeasure> {
  const bytes = Buffer.byteLength(text);
  const warm = await parseC(text);
  const hasError = warm.rootNode.hasError;
  warm.delete();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    const tree = await parseC(text);
    times.push(performance.now() - t);
    tree.delete(); // WASM memory is not garbage collected
  }
  const ms = median(times);
  return { label, bytes, ms, mbPerS: bytes / 1e6 / (ms / 1e3), hasError };
}

/** Parses each text once per rep (one parseC call per text, as the analysis does); median of the sums. */
export async function measureParseMany(texts: readonly string[], reps: number): Promise<number> {
  const sums: number[] = [];
  for (let i = 0; i <= reps; i++) {
    let sum = 0;
    for (const text of texts) {
      const t = performance.now();
      const tree = await parseC(text);
      sum += performance.now() - t;
      tree.delete();
    }
    if (i > 0) sums.push(sum); // rep 0 warms up
  }
  return median(sums);
}

/**
 * About `targetBytes` of kernel-style C: the given sources repeated with every function renamed
 * per copy (name_N) and numeric constants varied, so the text is not one block over and over.
 */
export function syntheticC(sources: readonly string[], targetBytes: number): string {
  const defined = new Set<string>();
  for (const src of sources) {
    for (const m of src.matchAll(/^[A-Za-z_][\w \t*]*?\b([A-Za-z_]\w*)\s*\([^;{]*\)\s*\n\{/gm)) defined.add(m[1]!);
  }
  const nameRe = new RegExp(`\\b(${[...defined].join('|')})\\b`, 'g');
  const parts: string[] = [];
  let size = 0;
  for (let copy = 0; size < targetBytes; copy++) {
    for (const src of sources) {
      const text = src
        .replace(nameRe, (n) => `${n}_${copy}`)
        .replace(/\b(\d+)\b/g, (d) => String(Number(d) + (copy % 7)));
      parts.push(`/* copy ${copy} */\n${text}`);
      size += Buffer.byteLength(text);
      if (size >= targetBytes) break;
    }
  }
  return parts.join('\n');
}

export interface KernelFiles {
  /** Where the files came from, for the report. */
  source: string;
  files: { path: string; text: string }[];
}

const KVM_FILES = (dir: string): string[] => {
  const svm = join(dir, 'arch/x86/kvm/svm');
  const svmFiles = existsSync(svm) ? readdirSync(svm).filter((f) => f.endsWith('.c')).sort().map((f) => join('arch/x86/kvm/svm', f)) : [];
  return ['arch/x86/kvm/x86.c', ...svmFiles];
};

function readTree(dir: string, source: string): KernelFiles {
  return { source, files: KVM_FILES(dir).map((p) => ({ path: p, text: readFileSync(join(dir, p), 'utf8') })) };
}

/**
 * KVM sources from KVM_LENS_BENCH_TREE, else from the Debian linux-source tarball. Only x86.c
 * and svm/*.c are extracted, once, into os.tmpdir() (keyed by the tarball's size and mtime, so
 * later runs skip the ~10 s xz decompression). Returns a reason string when neither exists.
 */
export function findKernelFiles(tarball: string, log: (msg: string) => void): KernelFiles | string {
  const env = process.env.KVM_LENS_BENCH_TREE;
  if (env) {
    if (!existsSync(join(env, 'arch/x86/kvm/x86.c'))) return `KVM_LENS_BENCH_TREE=${env} has no arch/x86/kvm/x86.c`;
    return readTree(env, `KVM_LENS_BENCH_TREE=${env}`);
  }
  if (!existsSync(tarball)) return `no ${tarball} and KVM_LENS_BENCH_TREE is not set`;
  const st = statSync(tarball);
  const cache = join(tmpdir(), `kvm-lens-bench-${basename(tarball).replace(/\.tar\.\w+$/, '')}-${st.size}-${Math.floor(st.mtimeMs)}`);
  if (!existsSync(cache)) {
    log(`extracting arch/x86/kvm/{x86.c,svm/*.c} from ${tarball} into ${cache} (once; takes a few seconds)`);
    // Extract beside the cache path and rename, so an interrupted run leaves no half tree behind.
    const partial = `${cache}.partial-${process.pid}`;
    mkdirSync(partial, { recursive: true });
    try {
      execFileSync('tar', ['-xJf', tarball, '-C', partial, '--wildcards', '*/arch/x86/kvm/x86.c', '*/arch/x86/kvm/svm/*.c'], { stdio: ['ignore', 'ignore', 'pipe'] });
      renameSync(partial, cache);
    } catch (e) {
      rmSync(partial, { recursive: true, force: true });
      return `cannot extract from ${tarball}: ${(e as Error).message.split('\n')[0]}`;
    }
  }
  // The tarball has one top-level directory (linux-source-6.12/); find the one holding x86.c.
  const top = readdirSync(cache).map((d) => join(cache, d)).find((d) => existsSync(join(d, 'arch/x86/kvm/x86.c')));
  if (!top) return `${tarball} holds no arch/x86/kvm/x86.c`;
  return readTree(top, `${tarball} (extracted to ${cache})`);
}
