// A series checked against a kernel tree inside the editor's long-lived tree session: the same
// base and findings as `kvm-lens check SERIES --tree DIR`, the session put back so the C files'
// audit is the same before and after, and the findings shown on the patch lines of the mbox
// with their trace in the tree's C files. The tree and the series are made here with git from
// the built-in model's C (test/unit/support/kernelSeriesRepo.ts).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_OPTIONS } from '../../../extension/core/analysis/analyzeSeries';
import { analyzeTree, TreeSession } from '../../../extension/core/analysis/analyzeTree';
import { checkSeriesInSession, type SessionSeriesCheck } from '../../../extension/core/analysis/seriesInSession';
import { applyPatchInMemory } from '../../../extension/core/tree/applyInMemory';
import { LineOrigins } from '../../../extension/core/tree/lineOrigins';
import type { Finding, FunctionInfo, TraceStep } from '../../../extension/core/findings';
import { assembleSeries, parseSeriesText, readSeries } from '../../../extension/core/series/seriesReader';
import { seriesOfRequest, type AnalysisSettings } from '../../../extension/translate/documentAnalysis';
import { functionsOnPatches, treeSeriesAnalysis } from '../../../extension/translate/treeSeriesAnalysis';
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

describe('files outside the KVM sources, and a tree without x86 KVM', () => {
  it('a file the analysis does not read is a note, not a hunk "not in the tree" on the patch', T, async () => {
    const other = 'From 0000000000000000000000000000000000000003 Mon Sep 17 00:00:00 2001\nFrom: A U Thor <a@example.org>\nSubject: [PATCH 3/3] drivers: x: Count z\n\nCount z.\n---\n'
      + 'diff --git a/drivers/x/z.c b/drivers/x/z.c\nindex 1111111..2222222 100644\n--- a/drivers/x/z.c\n+++ b/drivers/x/z.c\n@@ -1,1 +1,2 @@\n int z;\n+int zz;\n-- \n2.43.0\n';
    const req = { file: made.mbox, text: readFileSync(made.mbox, 'utf8') + '\n' + other, settings: SETTINGS };
    const series = seriesOfRequest(req);
    assert.equal(series.patches.length, 3);
    const session = await TreeSession.open(atBase);
    try {
      const check = await checkSeriesInSession(session, series, DEFAULT_OPTIONS, { git: true });
      assert.deepEqual(check.outside, ['drivers/x/z.c']);
      assert.ok(check.report.problems.some((p) => p.message.startsWith('drivers/x/z.c: ')), 'the tree analysis names it (the CLI prints it)');
      const a = treeSeriesAnalysis(check, series, atBase, []);
      assert.deepEqual(a.problems.filter((p) => /drivers/.test(p.message)), []);
      assert.ok(a.tree?.notes.includes('1 file the series changes is outside the KVM sources the analysis reads, so not applied: drivers/x/z.c'), JSON.stringify(a.tree?.notes));
      assert.ok(a.report.findings.some(isDr7), 'the KVM patches are still checked');
    } finally {
      session.dispose();
    }
  });

  it('kvmLens.kernelTree naming a directory without x86 KVM: the built-in model, and why', T, async () => {
    const client = new AnalysisClient();
    try {
      const empty = join(work, 'not-a-tree');
      mkdirSync(join(empty, 'arch/arm64/kvm'), { recursive: true });
      const a = await client.analyzeOnTree('doc', { file: made.mbox, text: readFileSync(made.mbox, 'utf8'), settings: SETTINGS, root: empty, buffers: {}, git: true });
      assert.ok(a);
      assert.equal(a.tree, undefined);
      assert.ok(a.settingsProblems.some((p) => p.startsWith(`kernel tree ${empty}: `) && p.endsWith('the series was checked against the built-in model')), JSON.stringify(a.settingsProblems));
      assert.ok(a.report.findings.some((f) => isDr7(f) && f.location.file === made.mbox), 'the model finds the DR7 write in the mbox');
    } finally {
      client.dispose();
    }
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

describe('where the editor shows a tree finding (made-up findings over one patch)', () => {
  const SVM = 'arch/x86/kvm/svm/svm.c';
  const X86 = 'arch/x86/kvm/x86.c';
  const ROOT_DIR = '/src/linux';
  const MBOX = '/s/one.mbox';
  const base = new Map([[SVM, 'void f(void)\n{\n\ta();\n\tb();\n}\n'], [X86, 'int x;\nint y;\n']]);
  const text = 'From 0000000000000000000000000000000000000001 Mon Sep 17 00:00:00 2001\nFrom: A U Thor <a@example.org>\nSubject: [PATCH] KVM: SVM: Call c() too\n\nCall c().\n---\n'
    + `diff --git a/${SVM} b/${SVM}\nindex 1111111..2222222 100644\n--- a/${SVM}\n+++ b/${SVM}\n@@ -2,3 +2,4 @@ void f(void)\n {\n \ta();\n+\tc();\n \tb();\n-- \n2.43.0\n`;
  const series = seriesOfRequest({ file: MBOX, text, settings: SETTINGS });
  const applied = applyPatchInMemory(base, series.patches[0]!);
  const step = (file: string, line: number): TraceStep => ({ operation: 'KVM_RUN', vcpu: 0, location: { file, line }, note: 'n' });
  const finding = (key: string, file: string, line: number, trace: TraceStep[] = []): Finding => ({
    rule: 'vmsa-write-after-encryption', severity: 'error', key, message: key, location: { file, line, column: 2, function: 'f' }, introducedBy: null, trace,
  });
  const check = (findings: Finding[], introducedAt: [string, number | null][]): SessionSeriesCheck => ({
    report: {
      root: ROOT_DIR, findings, fixed: [], origins: [], base: { source: 'working-tree', exact: true, line: `base: the working tree of ${ROOT_DIR}` },
      stats: { patches: 1, functions: 1, statesExplored: 1, boundReached: false, ms: { read: 0, parse: 0, summarize: 0, simulate: 0 } },
      tree: { files: 2, bytes: 0, functions: 1, functionsWithErrors: 0, modelFilled: [], operations: [{ dispatcher: 'kvm_vcpu_ioctl', operations: 3 }], dispatcherProblems: [] },
      problems: [{ file: MBOX, line: 9, severity: 'warning', message: 'applied with fuzz 1' }, { file: ROOT_DIR, severity: 'warning', message: 'simulated as a legacy SEV-ES VM' }],
    },
    working: base, base, final: applied.files, origins: LineOrigins.follow(base, [{ patch: series.patches[0]!, applied }]), introducedAt: new Map(introducedAt), outside: [], functions: [],
  });
  const lines = text.split('\n');

  it('a line the patch added: on its + line, the column moved past the +; a trace step there opens the patch, others the C files at their lines on disk', () => {
    const a = treeSeriesAnalysis(check([finding('added', SVM, 4, [step(X86, 1), step(SVM, 5), step(SVM, 4)])], [['added', 0]]), series, ROOT_DIR, []);
    const f = a.report.findings[0]!;
    assert.deepEqual(f.location, { file: MBOX, line: lines.indexOf('+\tc();') + 1, column: 3, function: 'f', patch: '[PATCH] KVM: SVM: Call c() too' });
    assert.deepEqual(f.trace.map((s) => s.location), [
      { file: `${ROOT_DIR}/${X86}`, line: 1 },
      { file: `${ROOT_DIR}/${SVM}`, line: 4 }, // the post-image's line 5 is line 4 on disk
      { file: MBOX, line: lines.indexOf('+\tc();') + 1 }, // a line only the patch has
    ]);
  });

  it('a line the patch shows as context; one it introduced elsewhere (on its first hunk, saying where); one from before the series (in the C file)', () => {
    const a = treeSeriesAnalysis(check([finding('context', SVM, 5), finding('caller', X86, 2), finding('before', X86, 1), finding('sim', '<simulation>', 1)], [['context', 0], ['caller', 0], ['before', null]]), series, ROOT_DIR, ['kvmLens.vcpus: bad']);
    const [context, caller, before, sim] = a.report.findings;
    assert.equal(lines[context!.location.line - 1], ' \tb();');
    assert.match(lines[caller!.location.line - 1]!, /^@@ -2,3 \+2,4 @@/);
    assert.equal(caller!.message, `caller (at ${X86}:2 once the series is applied)`);
    assert.deepEqual([before!.location.file, before!.location.line], [`${ROOT_DIR}/${X86}`, 1]);
    assert.equal(sim!.location.file, '<simulation>');
    assert.deepEqual(a.problems, [{ file: MBOX, line: 9, severity: 'warning', message: 'applied with fuzz 1' }]);
    assert.deepEqual(a.tree, { root: ROOT_DIR, baseLine: `base: the working tree of ${ROOT_DIR}`, scope: `kernel tree ${ROOT_DIR}: 2 files, 1 functions; 3 operations from the dispatchers`, notes: [`${ROOT_DIR}: warning: simulated as a legacy SEV-ES VM`] });
    assert.deepEqual(a.settingsProblems, ['kvmLens.vcpus: bad']);
  });
});

describe('hovers on a series checked against the tree: the tree\'s description of each function on the patch lines that show it', () => {
  it('from the @@ line of a hunk inside the function to its closing brace; not on another file\'s hunks', async () => {
    const series = await readSeries([join(__dirname, '../../../examples/sev-es-debug-rfc')]);
    const info = (name: string, file: string): FunctionInfo => ({ name, origin: 'tree', file, line: 500, endLine: 520, summary: [`${name} does things`], reachedBy: ['KVM_RUN'] });
    const placed = functionsOnPatches(series, [info('svm_set_dr7', 'arch/x86/kvm/svm/svm.c'), info('sev_es_sync_vmsa', 'arch/x86/kvm/svm/sev.c'), info('svm_set_dr6', 'arch/x86/kvm/svm/svm.c')]);
    const p2 = series.patches[1]!;
    const h = p2.diffs[0]!.hunks[0]!;
    const dr7 = placed.filter((f) => f.name === 'svm_set_dr7');
    const brace = h.lines.find((l) => l.text === '}')!;
    assert.ok(brace.patchLine < h.lines[h.lines.length - 1]!.patchLine, 'the hunk goes on past the brace');
    assert.deepEqual(dr7.map((f) => [f.file, f.line, f.endLine]), [[p2.file, h.headerPatchLine, brace.patchLine]]);
    assert.deepEqual(dr7[0]!.summary, ['svm_set_dr7 does things'], 'the tree\'s description, unchanged');
    const sync = placed.filter((f) => f.name === 'sev_es_sync_vmsa');
    assert.deepEqual(sync.map((f) => f.file), [series.patches[0]!.file], 'patch 1\'s sev.c hunk, and only there');
    assert.ok(!placed.some((f) => f.name === 'svm_set_dr6'), 'a function no hunk shows has no place');
  });

  it('a definition whose return type is on the line above is found by its name\'s line', () => {
    const text = [
      'From: A <a@example.org>', 'Subject: [PATCH] KVM: SVM: add a helper', '', 'Helper.', '---',
      'diff --git a/arch/x86/kvm/svm/sev.c b/arch/x86/kvm/svm/sev.c', '--- a/arch/x86/kvm/svm/sev.c', '+++ b/arch/x86/kvm/svm/sev.c',
      '@@ -10,2 +10,7 @@ static int other(void)', ' \treturn 0;', ' }', '+static int', '+sev_helper(struct kvm *kvm)', '+{', '+\treturn 1;', '+}', '',
    ].join('\n');
    const series = assembleSeries(parseSeriesText('/s/0001.patch', text).patches, []);
    const placed = functionsOnPatches(series, [{ name: 'sev_helper', origin: 'tree', file: 'arch/x86/kvm/svm/sev.c', line: 12, endLine: 16, summary: ['returns 1'], reachedBy: [] }]);
    const lines = text.split('\n');
    assert.deepEqual(placed.map((f) => [f.line, f.endLine]), [[lines.indexOf('+sev_helper(struct kvm *kvm)') + 1, lines.indexOf('+}') + 1]]);
  });
});
