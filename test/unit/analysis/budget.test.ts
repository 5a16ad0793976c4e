// One budget for the whole analysis: when it runs out the result is partial, says so in one
// note naming where it was cut, and keeps what was found before. Inputs are generated here.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { join } from 'node:path';
import { Budget, BudgetExhausted } from '../../../extension/core/analysis/budget';
import { analyzeSeries, DEFAULT_OPTIONS } from '../../../extension/core/analysis/analyzeSeries';
import { parseSeriesText, readSeries } from '../../../extension/core/series/seriesReader';
import type { Series } from '../../../extension/core/series/types';

const EXAMPLE = join(__dirname, '../../../examples/sev-es-debug-rfc');

const withWork = (work: number) => ({ ...DEFAULT_OPTIONS, budget: { timeMs: 1e9, work } });
const summary = (fs: { rule: string; location: { function?: string; line: number } }[]) => fs.map((f) => `${f.rule}@${f.location.function ?? ''}:${f.location.line}`);

/** svm_set_dr7 replaced by a switch of `cases` cases on the value, each writing the save area. */
function bigSwitchPatch(cases: number): string {
  const body = [' static void svm_set_dr7(struct kvm_vcpu *vcpu, unsigned long value)', ' {', ' \tstruct vcpu_svm *svm = to_svm(vcpu);', ' '];
  const added = ['+\tswitch (value) {'];
  for (let i = 0; i < cases; i++) added.push(`+\tcase ${i}:`, `+\t\tsvm->vmcb->save.dr7 = ${i};`, '+\t\tbreak;');
  added.push('+\t}');
  const hunk = [...body, '-\tif (vcpu->arch.guest_state_protected)', '-\t\treturn;', '-', ...added, ' \tsvm->vmcb->save.dr7 = value;', ' }'];
  const oldCount = hunk.filter((l) => !l.startsWith('+')).length;
  const newCount = hunk.filter((l) => !l.startsWith('-')).length;
  return [
    'From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001',
    'From: Fuzz Author <fuzz@example.org>',
    'Subject: [PATCH] KVM: SVM: a very long switch',
    '',
    '---',
    'diff --git a/arch/x86/kvm/svm/svm.c b/arch/x86/kvm/svm/svm.c',
    '--- a/arch/x86/kvm/svm/svm.c',
    '+++ b/arch/x86/kvm/svm/svm.c',
    `@@ -87,${oldCount} +87,${newCount} @@`,
    ...hunk,
    '-- ',
    '2.39.5',
    '',
  ].join('\n');
}

/** `n` new functions, each `depth` ifs deep, each writing DR7 and calling the next at its innermost level. */
function deepCallChainPatch(depth: number, n: number): string {
  const added: string[] = [];
  for (let k = n - 1; k >= 0; k--) {
    const call = k + 1 < n ? `chain_${k + 1}(vcpu, value);` : '';
    added.push(`static void chain_${k}(struct kvm_vcpu *vcpu, unsigned long value)`, '{', '\tstruct vcpu_svm *svm = to_svm(vcpu);',
      `\t${'if (value) {'.repeat(depth)} ${call} svm->vmcb->save.dr7 = value; ${'}'.repeat(depth)}`, '}', '');
  }
  const head = [' static void svm_set_dr7(struct kvm_vcpu *vcpu, unsigned long value)', ' {', ' \tstruct vcpu_svm *svm = to_svm(vcpu);', ' '];
  const tail = [' \tif (vcpu->arch.guest_state_protected)', ' \t\treturn;'];
  const hunk = [...added.map((l) => `+${l}`), ...head, '+\tchain_0(vcpu, value);', ...tail];
  return [
    'From 2222222222222222222222222222222222222222 Mon Sep 17 00:00:00 2001', 'From: Fuzz Author <fuzz@example.org>',
    'Subject: [PATCH] KVM: SVM: a deep call chain', '', '---',
    'diff --git a/arch/x86/kvm/svm/svm.c b/arch/x86/kvm/svm/svm.c', '--- a/arch/x86/kvm/svm/svm.c', '+++ b/arch/x86/kvm/svm/svm.c',
    `@@ -87,${head.length + tail.length} +87,${hunk.length} @@`, ...hunk, '-- ', '2.39.5', '',
  ].join('\n');
}

describe('the analysis budget', () => {
  it('counts work reproducibly and stops on time with a note naming the stage and place', () => {
    const b = new Budget({ timeMs: 1e9, work: 10 });
    b.spend(10, 'merge', () => 'x');
    assert.throws(() => b.spend(1, 'simulate', () => 'svm_set_dr7'), BudgetExhausted);
    assert.match(b.describeCut() ?? '', /10 work units.*simulating \(svm_set_dr7\)/);
    assert.throws(() => b.spend(0, 'simulate', () => 'later'), BudgetExhausted, 'a spent budget stays spent');
    let now = 0;
    const t = new Budget({ timeMs: 50, work: Infinity }, () => now);
    for (let i = 0; i < 5000; i++) t.spend(1, 'simulate', () => 'a');
    now = 51;
    assert.throws(() => { for (let i = 0; i < 5000; i++) t.spend(1, 'simulate', () => 'KVM_RUN'); }, BudgetExhausted);
    assert.equal(t.cut?.reason, 'time');
  });

  it('a budget too small for the example series: partial, said in one note, no exception; the same cut every time', async () => {
    const series = await readSeries([EXAMPLE]);
    const full = await analyzeSeries(series, DEFAULT_OPTIONS);
    assert.ok(full.findings.some((f) => f.rule === 'vmsa-write-after-encryption'), 'the example has its finding with the default budget');
    assert.ok(!full.findings.some((f) => /budget/.test(f.message)), 'the default budget is not reached by the example');
    const a = await analyzeSeries(series, withWork(2000));
    const b = await analyzeSeries(series, withWork(2000));
    const cut = a.findings.filter((f) => /analysis budget \(2000 work units\) ran out while/.test(f.message));
    assert.equal(cut.length, 1, summary(a.findings).join(', '));
    assert.match(cut[0].message, /ran out while simulating \(\w+/, 'names the functions it was running');
    assert.ok(a.findings.some((f) => /were not analysed: the analysis budget ran out/.test(f.message)), 'the patches left out are named');
    assert.deepEqual(summary(a.findings), summary(b.findings), 'work units cut at the same place every time');
  });

  it('a 1,000-case switch in a patch stops at a time budget instead of running for a minute', async () => {
    const parsed = parseSeriesText('big-switch.patch', bigSwitchPatch(1000));
    assert.equal(parsed.problems.filter((p) => p.severity === 'error').length, 0);
    const series: Series = { patches: parsed.patches, problems: [] };
    const t0 = performance.now();
    const r = await analyzeSeries(series, { ...DEFAULT_OPTIONS, budget: { timeMs: 1500, work: Infinity } });
    const ms = performance.now() - t0;
    assert.ok(ms < 15_000, `took ${Math.round(ms)} ms`);
    // (on this machine the whole run takes about 10 s: the cut is what stops it)
    const partial = r.findings.some((f) => /the analysis budget \(2 s of time\) ran out while simulating/.test(f.message));
    const found = r.findings.some((f) => f.rule === 'vmsa-write-after-encryption' && f.location.function === 'svm_set_dr7');
    assert.ok(partial || found, `neither cut nor complete: ${summary(r.findings).join(', ')}`);
  });

  it('calls nested deep one inside the other: the outer writes are found, the rest is cut with a note naming where', async () => {
    const parsed = parseSeriesText('chain.patch', deepCallChainPatch(60, 12));
    const r = await analyzeSeries({ patches: parsed.patches, problems: [] }, DEFAULT_OPTIONS);
    const found = new Set(r.findings.filter((f) => f.rule === 'vmsa-write-after-encryption').map((f) => f.location.function));
    assert.ok(found.has('chain_0') && found.has('chain_5'), [...found].join(', '));
    const notes = r.findings.filter((f) => /nested more than \d+ deep, counted across the calls that lead into chain_\d+\(\)/.test(f.message));
    // (one note per function where some call path ran out of depth)
    assert.ok(notes.length >= 1 && notes.length <= 2, summary(r.findings).join(', '));
  });
});
