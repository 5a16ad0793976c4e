// The process figures (cold, cached, worker memory) run the built bundles in dist/, while the
// series and warm-edit figures run the sources in this process; a stale dist/ would make the
// two disagree without saying so.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const BUNDLES = ['dist/cli.js', 'dist/analysisWorker.js'];

function newestUnder(dir: string): { path: string; mtimeMs: number } | undefined {
  let best: { path: string; mtimeMs: number } | undefined;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    const cand = e.isDirectory() ? newestUnder(p) : e.isFile() ? { path: p, mtimeMs: statSync(p).mtimeMs } : undefined;
    if (cand && (!best || cand.mtimeMs > best.mtimeMs)) best = cand;
  }
  return best;
}

/** A line saying dist/ is missing or older than extension/, else undefined. */
export function distStaleness(): string | undefined {
  let oldest = Infinity;
  for (const b of BUNDLES) {
    try { oldest = Math.min(oldest, statSync(join(ROOT, b)).mtimeMs); } catch { return `${b} is missing: the process figures cannot run; use --build or npm run build`; }
  }
  const newest = newestUnder(join(ROOT, 'extension'));
  if (newest && newest.mtimeMs > oldest) {
    return `dist/ is older than ${newest.path.slice(ROOT.length + 1)}: cold, cached and worker figures measure the last build; use --build or npm run build`;
  }
  return undefined;
}

/** node scripts/build.mjs (what npm run build runs). */
export function build(): void {
  // to stderr: stdout may be the JSON report
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, stdio: ['ignore', 2, 2] });
}

/**
 * Changes whenever dist/ is rebuilt. The cache is keyed by the bundle's code, so a rebuild
 * between a cold run and its cached run (someone running npm test meanwhile) makes the second
 * run cold too: such a pair measures nothing and is taken again.
 */
export function bundleStamp(): string {
  return BUNDLES.map((b) => {
    try { const st = statSync(join(ROOT, b)); return `${st.size}:${st.mtimeMs}`; } catch { return 'missing'; }
  }).join(' ');
}
