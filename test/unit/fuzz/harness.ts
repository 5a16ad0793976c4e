// How a fuzz property is run: by `npm test` with a fixed seed, a few runs and a time guard, and
// by `npm run fuzz` (scripts/fuzz.ts) with random seeds for as long as asked. The same property
// and the same generators in both, so a seed and a path from either replays in the other.
//
// Environment (for `npm test`): FUZZ_SEED replaces the fixed seed, FUZZ_RUNS the number of runs
// of every property (and lifts the time guard), FUZZ_PATH replays one counterexample (with its
// FUZZ_SEED; pick the property with --test-name-pattern).

import fc from 'fast-check';

/** The seed `npm test` uses unless FUZZ_SEED says otherwise. */
export const FIXED_SEED = 90_2026;

export interface FuzzProperty {
  /** Unique, used to select a property in `npm run fuzz -- --property NAME`. */
  name: string;
  /** Runs in `npm test`. */
  runs: number;
  /** `npm test` stops generating new runs after this long (what already failed still fails). */
  guardMs: number;
  /** A fresh fast-check property (sync or async). */
  make: () => fc.IRawProperty<any>;
}

export interface FuzzSettings {
  seed: number;
  runs: number;
  /** Replay this counterexample path (with its seed). */
  path?: string;
  /** Stop generating new runs after this long; undefined: never. */
  guardMs?: number;
  /** Stop shrinking a failure after this long; undefined: as guardMs. */
  shrinkMs?: number;
}

/** The settings `npm test` uses for a property, after the FUZZ_* environment. */
export function testSettings(p: FuzzProperty, env: NodeJS.ProcessEnv = process.env): FuzzSettings {
  const seed = env.FUZZ_SEED !== undefined && env.FUZZ_SEED !== '' ? Number(env.FUZZ_SEED) : FIXED_SEED;
  const runs = env.FUZZ_RUNS !== undefined && env.FUZZ_RUNS !== '' ? Number(env.FUZZ_RUNS) : undefined;
  if (!Number.isInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, not "${env.FUZZ_SEED}"`);
  if (runs !== undefined && !(Number.isInteger(runs) && runs > 0)) throw new Error(`FUZZ_RUNS must be a positive integer, not "${env.FUZZ_RUNS}"`);
  return {
    seed,
    runs: runs ?? p.runs,
    ...(env.FUZZ_PATH ? { path: env.FUZZ_PATH } : {}),
    ...(runs === undefined ? { guardMs: p.guardMs } : {}),
  };
}

export interface FuzzOutcome {
  property: string;
  seed: number;
  failed: boolean;
  interrupted: boolean;
  /** Runs done (up to and including the first failure). */
  runs: number;
  shrinks: number;
  path: string | null;
  /** The shrunk counterexample, printed by fast-check. */
  counterexample: string | null;
  /** What the property said about the counterexample (the assertion message or the exception, with its stack). */
  error: string | null;
  /** fast-check's report: the counterexample, how to replay. */
  report: string | null;
  ms: number;
}

/**
 * Two phases, so a time guard never cuts shrinking short: find a failure (with `guardMs` for
 * new runs), then replay it from its path and shrink it (with `shrinkMs`, default `guardMs`).
 */
export async function runFuzz(p: FuzzProperty, s: FuzzSettings): Promise<FuzzOutcome> {
  const t0 = performance.now();
  const guard = (ms: number | undefined) => (ms !== undefined ? { plugins: [fc.interruptAfterTimeLimit(ms)] } : {});
  const find = await fc.check(p.make(), {
    seed: s.seed, numRuns: s.runs, endOnFailure: true, ...(s.path !== undefined ? { path: s.path } : {}), ...guard(s.guardMs),
  });
  let d = find;
  if (find.failed && find.counterexamplePath !== null) {
    const shrunk = await fc.check(p.make(), { seed: find.seed, path: find.counterexamplePath, ...guard(s.shrinkMs ?? s.guardMs) });
    if (shrunk.failed) d = shrunk; // else the failure did not repeat: report it as found
  }
  return {
    property: p.name,
    seed: d.seed,
    failed: d.failed,
    interrupted: find.interrupted,
    runs: find.numRuns,
    shrinks: d.numShrinks,
    path: d.counterexamplePath,
    counterexample: d.counterexample === null ? null : fc.stringify(d.counterexample),
    error: d.failed ? errorText(d.errorInstance) : null,
    report: d.failed ? (fc.defaultReportMessage(d) ?? null) : null,
    ms: performance.now() - t0,
  };
}

function errorText(e: unknown): string {
  if (e instanceof Error) return e.stack ?? `${e.name}: ${e.message}`;
  return String(e);
}

/** For a node:test case: run with the `npm test` settings, fail with fast-check's report. */
export async function assertFuzz(p: FuzzProperty, t?: { diagnostic: (m: string) => void }): Promise<void> {
  const s = testSettings(p);
  const o = await runFuzz(p, s);
  if (o.interrupted && !o.failed) t?.diagnostic(`time guard: stopped after ${o.runs} of ${s.runs} runs (${Math.round(o.ms)} ms)`);
  if (o.failed) {
    const replay = `FUZZ_SEED=${o.seed} FUZZ_PATH=${o.path} node --import tsx --test --test-name-pattern='${p.name}' <this file>`;
    throw new Error(`${p.name}: ${o.error}\n${o.report}\nreplay: ${replay}`);
  }
}
