// Properties of the series reader on damaged real series: nothing escapes, every problem names
// a file we gave it and a line that file has, every patch line points into its file, nothing
// is reported as an internal error, and what it reports and how long it takes stay in
// proportion to what it read.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { assembleSeries, parseSeriesText, readSeries } from '../../../extension/core/series/seriesReader';
import type { InputProblem, Patch } from '../../../extension/core/series/types';
import type { FuzzProperty } from './harness';
import { applyMutations, EXAMPLE_SEEDS, lineCountOf, mutationsArb, seedBytes, seedTextArb } from './mutate';

/** A small input may take this long at most (a normal one takes milliseconds). */
const RUN_MS = 10_000;

/** What the reader reports is bounded by what it read. */
function reportBound(inputBytes: number): number {
  return 4 * inputBytes + 10_000;
}

/** Lines each file has; a directory has none (its problems carry no line). */
type Files = Map<string, number | 'dir'>;

function checkProblems(problems: readonly InputProblem[], files: Files, inputBytes: number): void {
  let total = 0;
  for (const p of problems) {
    const where = `${JSON.stringify(p.file)}${p.line !== undefined ? ':' + p.line : ''}: ${p.message.slice(0, 300)}`;
    assert.ok(p.file !== '' && files.has(p.file), `a problem names a file that was not an input: ${where}`);
    const lines = files.get(p.file)!;
    if (p.line !== undefined) {
      assert.ok(lines !== 'dir', `a problem about a directory carries a line: ${where}`);
      assert.ok(Number.isInteger(p.line) && p.line >= 1 && p.line <= lines, `problem line out of range 1..${lines}: ${where}`);
    }
    assert.ok(!/internal error/i.test(p.message), `the reader caught its own exception: ${where}`);
    total += p.message.length;
  }
  assert.ok(total <= reportBound(inputBytes), `problems total ${total} characters for ${inputBytes} bytes of input (bound ${reportBound(inputBytes)}); longest starts: ${problems.reduce((a, b) => (b.message.length > a.length ? b.message : a), '').slice(0, 200)}`);
}

function checkPatch(p: Patch, files: Files): void {
  const lines = files.get(p.file);
  assert.ok(typeof lines === 'number', `a patch comes from a file that was not an input: ${JSON.stringify(p.file)}`);
  const inRange = (n: number, what: string): void => {
    assert.ok(Number.isInteger(n) && n >= 1 && n <= lines, `${what} ${n} out of range 1..${lines} in ${p.file} ("${p.subject.slice(0, 80)}")`);
  };
  inRange(p.startLine, 'startLine');
  for (const d of p.diffs) {
    inRange(d.headerPatchLine, 'diff header line');
    for (const h of d.hunks) {
      inRange(h.headerPatchLine, 'hunk header line');
      for (const l of h.lines) inRange(l.patchLine, 'hunk line');
    }
  }
}

async function timed<T>(fn: () => T | Promise<T>): Promise<T> {
  const t0 = performance.now();
  const r = await fn();
  const ms = performance.now() - t0;
  assert.ok(ms <= RUN_MS, `took ${Math.round(ms)} ms (bound ${RUN_MS} ms)`);
  return r;
}

/** parseSeriesText on one damaged file (or several concatenated as an mbox), then assembled as a series. */
export const parseTextProperty: FuzzProperty = {
  name: 'reader: parseSeriesText on damaged series text',
  runs: 250,
  guardMs: 10_000,
  make: () => fc.asyncProperty(seedTextArb, mutationsArb(6), async (pick, muts) => {
    const bytes = applyMutations(seedBytes(pick), muts);
    const text = bytes.toString('utf8');
    const file = 'fuzz/series.mbox';
    const files: Files = new Map([[file, lineCountOf(text)]]);
    const parsed = await timed(() => parseSeriesText(file, text));
    checkProblems(parsed.problems, files, bytes.length);
    for (const p of parsed.patches) checkPatch(p, files);
    const series = await timed(() => assembleSeries(parsed.patches, parsed.problems));
    checkProblems(series.problems, files, bytes.length);
  }),
};

/** readSeries on a directory (or a file list) of the example series, some files damaged. */
export const readSeriesProperty: FuzzProperty = {
  name: 'reader: readSeries on a damaged series directory',
  runs: 60,
  guardMs: 8_000,
  make: () => fc.asyncProperty(
    fc.array(mutationsArb(4), { minLength: EXAMPLE_SEEDS.length, maxLength: EXAMPLE_SEEDS.length }),
    fc.boolean(),
    async (mutsPerFile, asDir) => {
      const dir = mkdtempSync(join(tmpdir(), 'kvm-lens-fuzz-'));
      try {
        const files: Files = new Map([[dir, 'dir']]);
        let total = 0;
        EXAMPLE_SEEDS.forEach((s, k) => {
          const bytes = applyMutations(s.bytes, mutsPerFile[k]!);
          const f = join(dir, s.name.split('/').pop()!);
          writeFileSync(f, bytes);
          files.set(f, lineCountOf(bytes));
          total += bytes.length;
        });
        const inputs = asDir ? [dir] : [...files.keys()].filter((f) => f !== dir);
        const series = await timed(() => readSeries(inputs));
        checkProblems(series.problems, files, total);
        for (const p of [...series.patches, ...(series.coverLetter ? [series.coverLetter] : [])]) checkPatch(p, files);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  ),
};

/**
 * Series totals as large as a subject can say: the reader must describe a gap of a billion
 * patches in a line, not list them. Its own property (and test file), since the failure it
 * looks for can take gigabytes.
 */
export const absurdTotalsProperty: FuzzProperty = {
  name: 'reader: absurd [PATCH n/m] totals',
  runs: 40,
  guardMs: 10_000,
  make: () => fc.asyncProperty(
    fc.nat({ max: EXAMPLE_SEEDS.length - 1 }),
    fc.oneof(
      { weight: 3, arbitrary: fc.integer({ min: 1, max: 1_000_000 }) },
      { weight: 1, arbitrary: fc.constantFrom(10_000_000, 999_999_999, 2 ** 31 - 1, 2 ** 53 - 1) },
    ),
    fc.integer({ min: 0, max: 5 }),
    async (k, total, index) => {
      const seed = EXAMPLE_SEEDS[k]!;
      const text = seed.bytes.toString('utf8').replace(/^Subject:\s*\[[^\]]*\]/m, `Subject: [PATCH ${index}/${total}]`);
      const files: Files = new Map([[seed.name, lineCountOf(text)]]);
      const parsed = await timed(() => parseSeriesText(seed.name, text));
      const series = await timed(() => assembleSeries(parsed.patches, parsed.problems));
      checkProblems(series.problems, files, text.length);
    },
  ),
};
