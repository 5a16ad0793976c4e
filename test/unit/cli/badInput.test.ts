// Bad input through the whole CLI: each case must produce a clear message naming the file (and
// the line, where there is one) on stderr, still analyse the rest of the series, not crash and
// not hang. Fixtures are in test/fixtures/bad-input/ (invented content); the 20 MB mbox is
// generated in the temporary directory and removed afterwards.

import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { JsonReport } from '../../../extension/core/report/jsonReport';
import {
  BAD, PATCH_1, PATCH_2, PATCH_3, ROOT, TEST_TIMEOUT_MS,
  hunkLineAt, linesOf, runCli, runCliChild, runJson, withTempDir,
} from './cliHarness';

const T = { timeout: TEST_TIMEOUT_MS };
const fixture = (name: string): string => join(BAD, name);

/** The example's own finding: present whenever patch 0002 was analysed. */
function hasDr7Finding(json: JsonReport): boolean {
  return json.findings.some((f) => f.rule === 'vmsa-write-after-encryption' && f.location.function === 'svm_set_dr7' && f.location.file === PATCH_2);
}

function dr6Findings(json: JsonReport): JsonReport['findings'] {
  return json.findings.filter((f) => f.rule === 'vmsa-write-after-encryption' && f.location.function === 'svm_set_dr6');
}

function stderrLinesNaming(err: string, file: string): string[] {
  return linesOf(err).filter((l) => l.includes(file));
}

function lineCount(file: string): number {
  return readFileSync(file, 'latin1').split('\n').filter((_, i, a) => i < a.length - 1 || a[i] !== '').length;
}

describe('bad input', () => {
  it('a missing file among valid inputs: exit 2, the file named, the valid patches still analysed and printed', T, async () => {
    const missing = join(tmpdir(), `kvm-lens-missing-${process.pid}`, '0002-not-there.patch');
    const { code, out, err } = await runCli(['check', PATCH_1, missing, PATCH_2]);
    assert.equal(code, 2, err);
    assert.ok(stderrLinesNaming(err, missing).length >= 1, err);
    assert.match(out, /0002-KVM-SVM-Let-DR7-writes-through-for-SEV-ES-guests\.patch:\d+:\d+: error: .*\[vmsa-write-after-encryption\]/);
    assert.match(out, /; 2 patches, /, 'both readable patches were analysed');

    const j = await runJson(['check', PATCH_1, missing, PATCH_2]);
    assert.equal(j.code, 2);
    assert.equal(j.json.stats.patches, 2);
    assert.ok(hasDr7Finding(j.json));
  });

  it('a missing file is reported once, not twice', { ...T, todo: 'extension/cli/main.ts reports it from its accessSync pre-check ("cannot read this file or directory") and again from the reader\'s problem list ("error: cannot read ...: ENOENT")' }, async () => {
    const missing = join(tmpdir(), `kvm-lens-missing-${process.pid}`, 'gone.patch');
    const { err } = await runCli(['check', missing, PATCH_2]);
    assert.equal(stderrLinesNaming(err, missing).length, 1, err);
  });

  it('only missing inputs: exit 2 and an empty report, no crash', T, async () => {
    const missing = join(tmpdir(), `kvm-lens-missing-${process.pid}`, 'a.patch');
    const { code, out, err } = await runCli(['check', missing]);
    assert.equal(code, 2);
    assert.ok(err.includes(missing), err);
    assert.match(out, /; 0 patches, /);
  });

  it('a mail cut in the middle of a hunk: file and last line named, the other patch still analysed', T, async () => {
    const cut = fixture('truncated-mid-hunk.patch');
    const last = lineCount(cut);
    const { code, json, err } = await runJson(['check', PATCH_2, cut]);
    assert.equal(code, 1, 'the DR7 finding of the readable patch decides the status');
    const named = stderrLinesNaming(err, cut).filter((l) => new RegExp(`${cut.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${last}\\b`).test(l) && /cut short/.test(l));
    assert.equal(named.length, 1, `expected one message naming ${cut}:${last}, got:\n${err}`);
    assert.equal(json.stats.patches, 2, 'the truncated patch is kept with the lines it has');
    assert.ok(hasDr7Finding(json));

    const alone = await runCli(['check', cut]);
    assert.equal(alone.code, 0, alone.out);
  });

  it('an mbox whose last message is cut short: the complete message is still analysed', T, async () => {
    const mbox = join(ROOT, 'test/fixtures/series/truncated.mbox');
    const { code, json, err } = await runJson(['check', mbox]);
    assert.notEqual(code, 2);
    assert.ok(stderrLinesNaming(err, mbox).some((l) => /:\d+\b.*cut short/.test(l)), err);
    assert.equal(json.stats.patches, 2);
  });

  it('hunk bodies that contradict their headers: each bad hunk named by line, later hunks still read', T, async () => {
    const bad = fixture('header-mismatch.patch');
    const { code, json, err } = await runJson(['check', PATCH_2, bad]);
    assert.equal(code, 1);
    const named = stderrLinesNaming(err, bad).filter((l) => /does not match its header|more lines than its header/.test(l));
    const lines = named.map((l) => Number(/:(\d+): /.exec(l)?.[1]));
    assert.deepEqual(lines, [22, 29], err);
    // the third hunk (header at line 32) is well formed and comes after both broken ones
    assert.ok(json.findings.some((f) => f.location.file === bad && /lens_count_same/.test(f.message)), 'the hunk after the broken ones was read');
    assert.ok(hasDr7Finding(json));
  });

  it('stderr names each problem\'s file:line once (no doubled prefix)', { ...T, todo: 'extension/cli/main.ts prints `${p.file}:${p.line}: ${severity}: ${p.message}` but the reader\'s messages already start with "file:line: ", so lines read "x.patch:22: error: x.patch:22: hunk ..."' }, async () => {
    const { err } = await runCli(['check', fixture('header-mismatch.patch'), fixture('latin1-byte.patch'), fixture('truncated-mid-hunk.patch')]);
    const doubled = linesOf(err).filter((l) => /^(.+?:\d+): (error|warning): \1: /.test(l));
    assert.deepEqual(doubled, []);
  });

  it('a hunk that starts inside a block comment: the analysis runs and the rest of the series is analysed', T, async (t) => {
    const file = fixture('comment-in-function.patch');
    const { code, json, err } = await runJson(['check', PATCH_2, file]);
    assert.notEqual(code, 2, err);
    assert.equal(json.stats.patches, 2);
    assert.ok(hasDr7Finding(json));
    for (const f of json.findings.filter((x) => x.rule === 'analysis-incomplete' && x.location.file === file)) {
      t.diagnostic(`parse note for the comment hunk: ${file}:${f.location.line}: ${f.message}`);
    }
  });

  // Failed up to 51a0112 (the "/*" prefix went before the synthetic function opener, so the
  // comment swallowed it); passes since d828d2b.
  it('a hunk that starts inside a block comment: the C after the comment parses and is simulated', T, async () => {
    const file = fixture('comment-in-function.patch');
    const { json } = await runJson(['check', file]);
    const notes = json.findings.filter((f) => f.rule === 'analysis-incomplete' && f.location.file === file);
    assert.deepEqual(notes.map((f) => `${f.location.line}: ${f.message}`), [], 'no parse note for the lines after the comment');
    const dr6 = dr6Findings(json);
    assert.equal(dr6.length, 1, 'dropping the DR6 guard lets svm_set_dr6 write the encrypted VMSA');
    assert.equal(dr6[0]!.location.file, file);
  });

  it('a hunk that starts in the doc comment above a whole function: the function is parsed and simulated', T, async () => {
    const file = fixture('comment-before-function.patch');
    const { code, json, err } = await runJson(['check', file]);
    assert.equal(code, 1, err);
    assert.deepEqual(json.findings.filter((f) => f.rule === 'analysis-incomplete').map((f) => f.message), []);
    const dr6 = dr6Findings(json);
    assert.equal(dr6.length, 1, JSON.stringify(json.findings.map((f) => f.rule)));
    assert.equal(dr6[0]!.location.file, file);
    const at = hunkLineAt(file, dr6[0]!.location.line);
    assert.ok(at, `line ${dr6[0]!.location.line} is inside the hunk`);
    assert.ok(at.line > 20, 'the finding is on the C after the comment, not on the comment');
  });

  it('a non-UTF-8 byte: a warning naming the file and line, and the patch is still analysed', T, async () => {
    const file = fixture('latin1-byte.patch');
    assert.ok(readFileSync(file).includes(0xe9), 'the fixture really holds a Latin-1 byte');
    const { code, json, err } = await runJson(['check', PATCH_2, file]);
    assert.equal(code, 1);
    const warn = stderrLinesNaming(err, file).filter((l) => /UTF-8/.test(l));
    assert.equal(warn.length, 1, err);
    assert.match(warn[0]!, new RegExp(`:2\\b`), 'the first bad byte is on line 2 (the From: header)');
    assert.match(warn[0]!, /warning/);
    const dr6 = dr6Findings(json);
    assert.equal(dr6.length, 1, 'the Latin-1 patch was analysed: its dropped DR6 guard is found');
    assert.equal(dr6[0]!.location.file, file);
    assert.ok(hunkLineAt(file, dr6[0]!.location.line), 'located on a hunk line of the Latin-1 patch');
    assert.ok(hasDr7Finding(json));
  });

  it('a patch that touches only Documentation/*.rst: no error, exit 0, counted as a patch', T, async () => {
    const file = fixture('docs-only.patch');
    const { code, json, err } = await runJson(['check', file]);
    assert.equal(code, 0, JSON.stringify(json.findings));
    assert.equal(err, '');
    assert.equal(json.findings.filter((f) => f.severity === 'error').length, 0);
    assert.equal(json.stats.patches, 1);
  });

  it('a finding is located in a line of its own function, not in another patch\'s hunk', { ...T, todo: 'extension/core/simulate/explore.ts attaches the step\'s seriesLoc (the last series line the whole ioctl ran) to every hazard of the step, and extension/core/analysis/analyzeSeries.ts preferSeries() prefers it to the trace; a svm_set_dr6 hazard is then placed on svm_set_dr7\'s hunk in 0002' }, async () => {
    const file = fixture('miscounted-dr6.patch');
    const { json } = await runJson(['check', PATCH_2, file]);
    const dr6 = dr6Findings(json);
    assert.equal(dr6.length, 1);
    const loc = dr6[0]!.location;
    assert.notEqual(loc.file, PATCH_2, `svm_set_dr6 finding placed at ${loc.file}:${loc.line}, a line of svm_set_dr7's hunk`);
    const inTrace = dr6[0]!.trace.some((s) => s.location.file === loc.file && s.location.line === loc.line);
    assert.ok(loc.file === file || inTrace || loc.file.startsWith('builtin-model/'), `${loc.file}:${loc.line}`);
  });

  it('a directory with no patches: a warning naming it, no crash', T, async (t) => {
    await withTempDir('kvm-lens-empty-', async (dir) => {
      writeFileSync(join(dir, 'README.txt'), 'not a patch\n');
      const { code, out, err } = await runCli(['check', dir]);
      assert.ok(err.includes(dir), err);
      assert.match(out, /; 0 patches, /);
      t.diagnostic(`exit status for a directory without patches: ${code}`);
    });
  });

  it('an empty file and a file of binary noise next to the example: named, no crash, the example still analysed', T, async (t) => {
    await withTempDir('kvm-lens-noise-', async (dir) => {
      const empty = join(dir, 'empty.patch');
      const noise = join(dir, 'noise.patch');
      writeFileSync(empty, '');
      const bytes = Buffer.alloc(4096);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 73 + 41) & 0xff;
      writeFileSync(noise, bytes);
      const { code, json, err } = await runJson(['check', PATCH_1, PATCH_2, PATCH_3, empty, noise]);
      assert.equal(code, 1, err);
      assert.ok(err.includes(empty), err);
      assert.ok(err.includes(noise), err);
      assert.ok(hasDr7Finding(json));
    });
  });
});

// ---------------------------------------------------------------- a 20 MB mbox

const EXAMPLE_MAILS = [PATCH_1, PATCH_2, PATCH_3].map((f) => readFileSync(f, 'utf8'));

/** An mbox of `bytes` or more, made of the example's three mails with new subjects and n/N indices. */
function writeBigMbox(file: string, bytes: number): number {
  const avg = EXAMPLE_MAILS.reduce((n, m) => n + Buffer.byteLength(m), 0) / EXAMPLE_MAILS.length;
  const total = Math.ceil(bytes / (avg + 10));
  const parts: string[] = [];
  for (let i = 0; i < total; i++) {
    const mail = EXAMPLE_MAILS[i % 3]!;
    parts.push(mail.replace(/^Subject: \[RFC PATCH \d+\/\d+\]/m, `Subject: [RFC PATCH ${i + 1}/${total}] (copy ${Math.floor(i / 3) + 1})`));
  }
  writeFileSync(file, parts.join(''));
  return total;
}

// What "bounded" means here: reading 20 MB takes well under a second; the whole check should
// finish in a couple of minutes. KVM_LENS_BIG_MBOX_BOUND_S overrides it for slow machines.
const BIG_BOUND_MS = Number(process.env.KVM_LENS_BIG_MBOX_BOUND_S ?? 120) * 1000;

describe('large input', () => {
  it('a 300-patch mbox (~300 KB) completes and reports every patch', T, async (t) => {
    await withTempDir('kvm-lens-mid-', async (dir) => {
      const mbox = join(dir, 'series.mbox');
      const count = writeBigMbox(mbox, 300 * 1000);
      const t0 = performance.now();
      const { code, json } = await runJson(['check', mbox]);
      const ms = performance.now() - t0;
      t.diagnostic(`${count} patches, ${(statSync(mbox).size / 1e6).toFixed(2)} MB, analysed in ${(ms / 1000).toFixed(1)} s`);
      assert.notEqual(code, 2);
      assert.equal(json.stats.patches, count);
    });
  });

  it('a generated 20 MB mbox is analysed in bounded time and every patch is counted', { timeout: BIG_BOUND_MS + 60_000, todo: 'not analysed in bounded time: at d828d2b a 1.5 MB mbox (1500 patches) takes 31 s / 0.7 GB and a 3 MB one (3000 patches) 90 s / 1.5 GB, time per patch and memory growing with the series (the per-analysis StepCache and CallMemo keep every step and call result of every patch); the 20 MB one (~21000 patches) was still running after 367 s at 2.5 GB' }, async (t) => {
    await withTempDir('kvm-lens-big-', async (dir) => {
      const mbox = join(dir, 'series.mbox');
      const count = writeBigMbox(mbox, 20 * 1024 * 1024);
      assert.ok(statSync(mbox).size >= 20 * 1024 * 1024);
      const report = join(dir, 'report.json');
      const r = await runCliChild(['check', mbox, '--format', 'json', '-o', report], BIG_BOUND_MS);
      t.diagnostic(`${count} patches, ${(statSync(mbox).size / 1e6).toFixed(1)} MB: ${r.killed ? 'killed after' : 'finished in'} ${(r.ms / 1000).toFixed(1)} s (exit ${r.code}, signal ${r.signal})`);
      assert.equal(r.killed, false, `did not finish within ${BIG_BOUND_MS / 1000} s`);
      assert.ok(r.code === 0 || r.code === 1, `exit ${r.code} signal ${r.signal}; stderr:\n${r.stderr.slice(0, 2000)}`);
      const json = JSON.parse(readFileSync(report, 'utf8')) as JsonReport;
      assert.equal(json.stats.patches, count);
    });
  });
});
