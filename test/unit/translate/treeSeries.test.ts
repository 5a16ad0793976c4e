// A series checked against a kernel tree inside the editor's long-lived tree session: the same
// base and findings as `kvm-lens check SERIES --tree DIR`, the session put back so the C files'
// audit is the same before and after, and the findings shown on the patch lines of the mbox
// with their trace in the tree's C files. The tree and the series are made here with git from
// the built-in model's C (test/unit/support/kernelSeriesRepo.ts).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_OPTIONS } from '../../../extension/core/analysis/analyzeSeries';
import { analyzeTree, TreeSession } from '../../../extension/core/analysis/analyzeTree';
import { checkSeriesInSession } from '../../../extension/core/analysis/seriesInSession';
import type { Finding } from '../../../extension/core/findings';
import { readSeries } from '../../../extension/core/series/seriesReader';
import { seriesOfRequest, type AnalysisSettings } from '../../../extension/translate/documentAnalysis';
import { treeSeriesAnalysis } from '../../../extension/translate/treeSeriesAnalysis';
import { AnalysisClient } from '../../../extension/worker/analysisClient';
import { DR7_WRITE, git, makeKernelSeriesRepo, type KernelSeriesRepo } from '../support/kernelSeriesRepo';

const ROOT = join(__dirname, '../../..');
const T = { timeout: 120_000 };
const SETTINGS: AnalysisSettings = { depth: 12, vcpus: 2, assumptions: {} };

let work: string;
let made: KernelSeriesRepo;
/** A second checkout of the same repository at the series' base (the series not applied). */
let atBase: string;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'kvm-lens-tree-series-'));
  made = makeKernelSeriesRepo(work, join(ROOT, 'extension/core/model/builtin'));
  atBase = join(work, 'linux-at-base');
  git(made.repo, 'worktree', 'add', '-q', '--detach', atBase, made.base);
});
after(() => rmSync(work, { recursive: true, force: true }));

const audit = async (session: TreeSession) => JSON.stringify((await session.analyze({ patches: [], problems: [] }, DEFAULT_OPTIONS)).findings);
const isDr7 = (f: Finding) => f.rule === 'vmsa-write-after-encryption' && f.location.function === 'svm_set_dr7';
const lineOf = (file: string, line: number) => readFileSync(file, 'utf8').split('\n')[line - 1] ?? '';

describe('a series checked inside a tree session', () => {
  it('finds the base, reports what kvm-lens check --tree reports, and leaves the session as it was', T, async () => {
    const series = await readSeries([made.mbox]);
    const session = await TreeSession.open(made.repo);
    try {
      const texts = session.texts();
      const before = await audit(session);
      assert.match(before, /svm_set_dr7/, 'the checkout has the series applied: its own audit sees the DR7 write');
      const check = await checkSeriesInSession(session, series, DEFAULT_OPTIONS, { git: true });
      assert.equal(check.report.base?.source, 'base-commit', check.report.base?.line);
      assert.equal(check.report.base?.commit, made.base);
      assert.doesNotMatch(JSON.stringify(check.report.problems), /does not apply|fuzz/);
      // the CLI's path: a new session on the tree, the same base
      const cli = await analyzeTree(made.repo, series, DEFAULT_OPTIONS, undefined, undefined, { git: true });
      assert.deepEqual(check.report.base, cli.base);
      assert.deepEqual(check.report.findings, cli.findings);
      assert.deepEqual(check.report.fixed, cli.fixed);
      assert.ok(check.report.findings.some(isDr7));
      assert.equal(check.introducedAt.get(check.report.findings.find(isDr7)!.key), 1, 'introduced by patch 2');
      // put back: the same texts and the same audit of the C files
      assert.deepEqual(session.texts(), texts);
      assert.equal(await audit(session), before);
    } finally {
      session.dispose();
    }
  });

  it('on a checkout at the base, no text needs to change, and the audit after is the same too', T, async () => {
    const series = await readSeries([made.mbox]);
    const session = await TreeSession.open(atBase);
    try {
      const before = await audit(session);
      assert.doesNotMatch(before, /svm_set_dr7/, 'at the base the guard is there');
      const check = await checkSeriesInSession(session, series, DEFAULT_OPTIONS, { git: true });
      assert.ok(check.report.findings.some(isDr7));
      assert.equal(await audit(session), before);
      assert.deepEqual(check.base, check.working);
    } finally {
      session.dispose();
    }
  });
});

describe('the check as the editor shows it', () => {
  const analysed = async (root: string, git = true) => {
    const req = { file: made.mbox, text: readFileSync(made.mbox, 'utf8'), settings: SETTINGS, root, buffers: {}, git };
    const series = seriesOfRequest(req);
    const session = await TreeSession.open(root);
    try {
      return treeSeriesAnalysis(await checkSeriesInSession(session, series, DEFAULT_OPTIONS, { git }), series, root, []);
    } finally {
      session.dispose();
    }
  };
  const mboxLines = () => readFileSync(made.mbox, 'utf8').split('\n');

  for (const [name, root] of [['the checkout with the series applied', () => made.repo], ['a checkout at the base', () => atBase]] as const) {
    it(`${name}: the finding on patch 2's line of the write, the trace in the tree's C files at the lines on disk`, T, async () => {
      const a = await analysed(root());
      const dr7 = a.report.findings.find(isDr7);
      assert.ok(dr7, JSON.stringify(a.report.findings.map((f) => f.location)));
      assert.equal(dr7.location.file, made.mbox);
      const lines = mboxLines();
      assert.equal(lines[dr7.location.line - 1], ' ' + DR7_WRITE, 'the context line of the hunk that dropped the guard');
      const patch2 = lines.findIndex((l) => /^Subject: \[PATCH 2\/2\]/.test(l));
      assert.ok(patch2 > 0 && dr7.location.line > patch2, 'in patch 2');
      assert.match(dr7.location.patch ?? '', /Let DR7 writes through/);
      assert.equal(dr7.location.column, 3, 'after the " " and the tab');
      for (const s of dr7.trace) assert.ok(s.location.file.startsWith(root() + '/arch/x86/kvm/'), s.location.file);
      const last = dr7.trace[dr7.trace.length - 1]!;
      assert.equal(lineOf(last.location.file, last.location.line), DR7_WRITE, 'the last step opens the write on disk');
      assert.match(a.tree?.baseLine ?? '', /^base: base-commit [0-9a-f]{12} in /);
      assert.equal(a.report.base?.source, 'base-commit');
      assert.equal(a.patches.length, 2);
    });
  }

  it('without git (an untrusted workspace): the working tree is the base, and a hunk it cannot take is shown on the patch', T, async () => {
    const a = await analysed(made.repo, false);
    assert.match(a.tree?.baseLine ?? '', /git not run: the workspace is not trusted/);
    const refused = a.problems.find((p) => p.file === made.mbox && /does not apply/.test(p.message));
    assert.ok(refused, JSON.stringify(a.problems));
    assert.match(mboxLines()[refused.line! - 1]!, /^@@ /, 'on the hunk header');
  });
});

describe('the analysis worker: a series between two audits of the tree', () => {
  it('the C files\' findings are the same before and after the series was checked', T, async () => {
    const client = new AnalysisClient();
    try {
      // at the base: the series changes what the session holds, so a session not put back would show it
      const tree = { root: atBase, buffers: {}, settings: SETTINGS, describe: ['arch/x86/kvm/svm/svm.c'] };
      const first = await client.analyzeTree(tree);
      assert.ok(first && !first.report.findings.some(isDr7));
      const series = await client.analyzeOnTree('doc', { file: made.mbox, text: readFileSync(made.mbox, 'utf8'), settings: SETTINGS, root: atBase, buffers: {}, git: true });
      assert.equal(series?.report.findings.find(isDr7)?.location.file, made.mbox);
      const again = await client.analyzeTree(tree);
      assert.deepEqual(again?.report.findings, first.report.findings);
      assert.deepEqual(again?.functions, first.functions);
    } finally {
      client.dispose();
    }
  });
});
