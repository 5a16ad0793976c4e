// The editor's translation layer, with plain Node: findings to diagnostic data, one document
// analysed as a series, and the worker client that keeps analysis off the extension host.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { diagnosticData, findingRange, relatedStep } from '../../../extension/translate/diagnosticData';
import { analyzeDocument, findingsForFile, type AnalysisSettings } from '../../../extension/translate/documentAnalysis';
import { AnalysisClient } from '../../../extension/worker/analysisClient';

const EXAMPLE = join(__dirname, '../../../examples/sev-es-debug-rfc');
const SETTINGS: AnalysisSettings = { depth: 12, vcpus: 2, assumptions: {} };
/** The example series as one mbox text, as a reviewer would open it after `b4 am`. */
const MBOX = readdirSync(EXAMPLE).sort().map((f) => readFileSync(join(EXAMPLE, f), 'utf8')).join('\n');

describe('diagnostic data', () => {
  it('covers the code of a patch line, not its +/- marker, leading tabs or trailing comment', () => {
    assert.deepEqual(findingRange('+\tsvm->vmcb->save.dr7 = value; /* why */', 12, 1), { startLine: 11, startCharacter: 2, endLine: 11, endCharacter: 30 });
    assert.deepEqual(findingRange('\tx = 1;', 3, 2), { startLine: 2, startCharacter: 1, endLine: 2, endCharacter: 7 });
  });

  it('trace steps point into the document, the bundled model, or the workspace', () => {
    const step = (file: string) => ({ operation: 'KVM_RUN', vcpu: 0, location: { file, line: 5 }, note: 'n' });
    assert.deepEqual(relatedStep(step('/s/a.patch'), 0, '/s/a.patch').target, { kind: 'file', path: '/s/a.patch' });
    assert.deepEqual(relatedStep(step('builtin-model/svm.c'), 1, '/s/a.patch').target, { kind: 'model', file: 'svm.c' });
    assert.deepEqual(relatedStep(step('arch/x86/kvm/svm/svm.c'), 2, '/s/a.patch').target, { kind: 'workspace', path: 'arch/x86/kvm/svm/svm.c' });
    assert.equal(relatedStep(step('x'), 2, 'y').message, '3. KVM_RUN (vcpu 0): n');
  });
});

describe('a document analysed as a series', () => {
  it('the example mbox: findings located in it, three patches outlined, the rule as code', async () => {
    const a = await analyzeDocument({ file: '/ws/rfc.mbx', text: MBOX, settings: SETTINGS });
    assert.equal(a.patches.filter((p) => p.index !== 0).length, 3);
    const mine = findingsForFile(a.report, '/ws/rfc.mbx', {});
    const dr7 = mine.find((f) => f.rule === 'vmsa-write-after-encryption');
    assert.ok(dr7, mine.map((f) => f.rule).join(', '));
    const line = MBOX.split('\n')[dr7.location.line - 1];
    assert.match(line, /^[-+ ]/, 'the finding sits on a line of a hunk');
    const data = diagnosticData(dr7, dr7.shownSeverity, line, '/ws/rfc.mbx');
    assert.equal(data.code, 'vmsa-write-after-encryption');
    assert.equal(data.anchor, 'rule-vmsa-write-after-encryption');
    assert.ok(data.related.length >= 4 && data.related.at(-1)!.message.includes('KVM_RUN'));
  });

  it('functions the series touched carry a hover summary and the ioctls that reach them', async () => {
    const a = await analyzeDocument({ file: '/ws/rfc.mbx', text: MBOX, settings: SETTINGS });
    const dr7 = (a.report.functions ?? []).find((f) => f.name === 'svm_set_dr7');
    assert.ok(dr7, (a.report.functions ?? []).map((f) => f.name).join(', '));
    assert.equal(dr7.file, '/ws/rfc.mbx');
    assert.deepEqual(dr7.reachedBy, ['KVM_RUN', 'KVM_SET_DEBUGREGS', 'KVM_SET_GUEST_DEBUG']);
    assert.ok(dr7.summary.some((l) => /writes DR7/.test(l)), dr7.summary.join('\n'));
    // any line of the function in the patch: its hunk header, the removed guard, the write itself
    const lines = MBOX.split('\n');
    const shown = (re: RegExp) => { const i = lines.findIndex((l, k) => k + 1 >= dr7.line && re.test(l)) + 1; return i >= dr7.line && i <= dr7.endLine; };
    assert.match(lines[dr7.line - 1]!, /^@@ .* svm_set_dr7\(/, 'from the hunk header that names it');
    assert.ok(shown(/^-.*guest_state_protected/), 'the removed guard');
    assert.ok(shown(/^ \tsvm->vmcb->save\.dr7 = value;/), 'the write itself');
    assert.match(dr7.summary.join('\n'), /^writes DR7 in the VMCB save area$/m, 'a reviewer\'s sentence, the place named');
  });

  it('settings change the verdict: severity off hides a rule, an assumption makes a finding vanish', async () => {
    const a = await analyzeDocument({ file: '/ws/rfc.mbx', text: MBOX, settings: SETTINGS });
    assert.equal(findingsForFile(a.report, '/ws/rfc.mbx', { 'vmsa-write-after-encryption': 'off' }).filter((f) => f.rule === 'vmsa-write-after-encryption').length, 0);
    assert.equal(findingsForFile(a.report, '/ws/rfc.mbx', { 'vmsa-write-after-encryption': 'warning' }).find((f) => f.rule === 'vmsa-write-after-encryption')?.shownSeverity, 'warning');
    const bad = await analyzeDocument({ file: '/ws/rfc.mbx', text: MBOX, settings: { ...SETTINGS, assumptions: { nonsense: '1' } } });
    assert.match(bad.settingsProblems.join('\n'), /unknown assumption "nonsense"/);
  });

  it('kvmLens.analysisTimeLimit bounds the analysis: a tiny limit gives a partial report that says so', async () => {
    const cut = await analyzeDocument({ file: '/ws/rfc.mbx', text: MBOX, settings: { ...SETTINGS, timeLimitSeconds: 0.001 } });
    assert.ok(cut.report.findings.some((f) => /analysis budget \(1 ms of time\) ran out/.test(f.message)), cut.report.findings.map((f) => f.message).join('\n'));
    const bad = await analyzeDocument({ file: '/ws/rfc.mbx', text: MBOX, settings: { ...SETTINGS, timeLimitSeconds: -1 } });
    assert.match(bad.settingsProblems.join('\n'), /kvmLens.analysisTimeLimit: -1 is not a number of seconds/);
  });
});

describe('the analysis worker', () => {
  it('answers off the main thread, and a newer request for a document supersedes a queued one', async () => {
    const client = new AnalysisClient();
    try {
      const first = client.analyze('a', { file: '/ws/a.mbx', text: MBOX, settings: SETTINGS });
      const queued = client.analyze('b', { file: '/ws/b.mbx', text: MBOX, settings: SETTINGS });
      const newest = client.analyze('b', { file: '/ws/b.mbx', text: MBOX, settings: SETTINGS });
      const [r1, r2, r3] = await Promise.all([first, queued, newest]);
      assert.ok(r1 && r1.report.findings.length > 0);
      assert.equal(r2, undefined, 'superseded before it started');
      assert.ok(r3 && r3.report.findings.some((f) => f.location.file === '/ws/b.mbx'));
    } finally {
      client.dispose();
    }
  });
});
