// The whole analysis through the CLI's `main`, in process, on the example series with some of
// its files damaged: main resolves (nothing escapes), the exit status is one the README
// documents for a verdict or bad input (0, 1, 2; 3 is an internal error, a failure here), a
// JSON or SARIF report parses, every JSON finding has a trace, and stderr carries neither a
// stack trace nor raw control characters.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { main } from '../../../extension/cli/main';
import type { FuzzProperty } from './harness';
import { applyMutations, EXAMPLE_SEEDS, type Mutation, mutationsArb } from './mutate';

/** One analysis of the 4-file example at depth 6 takes about half a second; this is the bound for one run. */
const RUN_MS = 60_000;

export interface CliCase {
  /** Mutations per example file (cover letter first). */
  mutations: Mutation[][];
  format: 'json' | 'sarif' | 'text';
  depth: number;
  vcpus: number;
  asDir: boolean;
}

const cliCaseArb: fc.Arbitrary<CliCase> = fc.record({
  mutations: fc.array(mutationsArb(3), { minLength: EXAMPLE_SEEDS.length, maxLength: EXAMPLE_SEEDS.length }),
  format: fc.constantFrom('json' as const, 'sarif' as const, 'text' as const),
  depth: fc.integer({ min: 2, max: 6 }),
  vcpus: fc.constantFrom(1, 2),
  asDir: fc.boolean(),
});

// Control characters other than tab and newline, raw: what a terminal would act on.
const RAW_CONTROL = /[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]/;

export const cliProperty: FuzzProperty = {
  name: 'cli: check on a damaged example series',
  runs: 25,
  guardMs: 20_000,
  make: () => fc.asyncProperty(cliCaseArb, async (c) => {
    const dir = mkdtempSync(join(tmpdir(), 'kvm-lens-fuzz-'));
    try {
      const files = EXAMPLE_SEEDS.map((s, k) => {
        const f = join(dir, s.name.split('/').pop()!);
        writeFileSync(f, applyMutations(s.bytes, c.mutations[k]!));
        return f;
      });
      const argv = ['check', ...(c.asDir ? [dir] : files), '--format', c.format, '--depth', String(c.depth), '--vcpus', String(c.vcpus), '--no-color', '--no-cache'];
      let out = '';
      let err = '';
      const t0 = performance.now();
      const code = await main(argv, { out: (t) => { out += t; }, err: (t) => { err += t; }, isTty: false, stdin: async () => '' });
      const ms = performance.now() - t0;
      const tail = `\nexit ${code}; stderr:\n${err.slice(0, 2000)}`;
      assert.ok(ms <= RUN_MS, `took ${Math.round(ms)} ms (bound ${RUN_MS} ms)${tail}`);
      assert.ok(code === 0 || code === 1 || code === 2, `exit status ${code}, not 0, 1 or 2${tail}`);
      const stackLine = err.split('\n').find((l) => /^\s+at /.test(l));
      assert.equal(stackLine, undefined, `stderr holds a stack trace${tail}`);
      const control = RAW_CONTROL.exec(err);
      assert.equal(control, null, `stderr holds a raw control character ${JSON.stringify(control?.[0])} in: ${JSON.stringify(err.split('\n').find((l) => RAW_CONTROL.test(l)))}${tail}`);
      if (c.format !== 'text' && out !== '') {
        let report: unknown;
        try { report = JSON.parse(out); } catch (e) { assert.fail(`${c.format} output does not parse: ${(e as Error).message}${tail}`); }
        if (c.format === 'json') {
          const findings = (report as { findings: { rule: string; trace: unknown[] }[] }).findings;
          assert.ok(Array.isArray(findings), `json report without findings[]${tail}`);
          // analysis-incomplete is a note about the analysis (a bound, an unparsed hunk), not a path to a hazard
          for (const f of findings) {
            assert.ok(Array.isArray(f.trace), `finding ${f.rule} without trace[]${tail}`);
            if (f.rule !== 'analysis-incomplete') assert.ok(f.trace.length > 0, `finding ${f.rule} has an empty trace${tail}`);
          }
        }
      }
      if (code !== 2) assert.ok(out !== '', `exit ${code} without a report${tail}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }),
};
