// The "Insert a guest_state_protected guard" quick fix as plain text editing, with plain Node:
// where the two lines go, which return they use, the hunk headers fixed, and the result still
// a patch the series reader takes without a problem.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseSeriesText } from '../../../extension/core/series/seriesReader';
import { analyzeDocument } from '../../../extension/translate/documentAnalysis';
import { applyRestorePlan, guardQuickFix, planGuard, planRestore } from '../../../extension/translate/guardQuickFix';

const DR7_FILE = join(__dirname, '../../../examples/sev-es-debug-rfc/0002-KVM-SVM-Let-DR7-writes-through-for-SEV-ES-guests.patch');
const DR7 = readFileSync(DR7_FILE, 'utf8');
const lineOf = (text: string, re: RegExp) => text.split('\n').findIndex((l) => re.test(l)) + 1;

function patch(hunks: string): string {
  return [
    'From 1 Mon Sep 17 00:00:00 2001', 'From: A <a@example.org>', 'Subject: [PATCH] KVM: x', '', 'x', '---',
    'diff --git a/arch/x86/kvm/x86.c b/arch/x86/kvm/x86.c', '--- a/arch/x86/kvm/x86.c', '+++ b/arch/x86/kvm/x86.c',
    hunks, '-- ', '2.39.5', '',
  ].join('\n');
}

/** Parses cleanly, and the hunks hold the lines the fix added. */
function assertParses(text: string, added: string[]): void {
  const parsed = parseSeriesText('/t/x.patch', text);
  assert.deepEqual(parsed.problems, []);
  const addedLines = parsed.patches.flatMap((p) => p.diffs).flatMap((d) => d.hunks).flatMap((h) => h.lines).filter((l) => l.kind === 'added').map((l) => l.text);
  for (const a of added) assert.ok(addedLines.includes(a), `${JSON.stringify(a)} in ${JSON.stringify(addedLines)}`);
}

describe('guard quick fix', () => {
  it('the DR7 patch: after the declarations under the brace, return; for a void function, header +2', () => {
    const line = lineOf(DR7, /^-\tif \(vcpu->arch\.guest_state_protected\)/);
    const out = guardQuickFix(DR7, line, 'svm_set_dr7');
    assert.ok(out);
    const lines = out.split('\n');
    assert.ok(lines.includes('@@ -88,9 +88,8 @@ static void svm_set_dr7(struct kvm_vcpu *vcpu, unsigned long value)'));
    const at = lines.indexOf('+\tif (vcpu->arch.guest_state_protected)');
    assert.deepEqual(lines.slice(at - 3, at + 2), [' {', ' \tstruct vcpu_svm *svm = to_svm(vcpu);', ' ', '+\tif (vcpu->arch.guest_state_protected)', '+\t\treturn;']);
    assert.equal(out.split('\n').length, DR7.split('\n').length + 2);
    assertParses(out, ['\tif (vcpu->arch.guest_state_protected)', '\t\treturn;']);
  });

  it('the fixed DR7 patch no longer writes DR7 of an encrypted vCPU', async () => {
    const line = lineOf(DR7, /^-\tif \(vcpu->arch\.guest_state_protected\)/);
    const out = guardQuickFix(DR7, line, 'svm_set_dr7')!;
    const a = await analyzeDocument({ file: DR7_FILE, text: out, settings: { depth: 12, vcpus: 2, assumptions: {} } });
    assert.deepEqual(a.report.findings.filter((f) => f.location.file === DR7_FILE && f.rule === 'vmsa-write-after-encryption'), []);
  });

  it('an int function gets return -EINVAL; and later hunks of the file move down two lines', () => {
    const text = patch([
      '@@ -10,5 +10,6 @@ static int set_regs(struct kvm_vcpu *v, struct kvm_regs *regs)',
      ' {',
      ' \tv->arch.regs[0] = regs->rax;',
      '+\tv->arch.regs[1] = regs->rbx;',
      ' \treturn 0;',
      ' }',
      ' ',
      '@@ -40,3 +41,3 @@ static int other(void)',
      ' {',
      '-\treturn 1;',
      '+\treturn 2;',
      ' }',
    ].join('\n'));
    const out = guardQuickFix(text, lineOf(text, /regs->rbx/), 'set_regs');
    assert.ok(out);
    assert.match(out, /^@@ -10,5 \+10,8 @@ static int set_regs/m);
    assert.match(out, /^@@ -40,3 \+43,3 @@ static int other/m);
    assert.match(out, / \{\n\+\tif \(v->arch\.guest_state_protected\)\n\+\t\treturn -EINVAL;\n \tv->arch\.regs\[0\]/);
    assertParses(out, ['\tif (v->arch.guest_state_protected)', '\t\treturn -EINVAL;']);
  });

  it('without the brace in the hunk: just above the finding, with its indentation', () => {
    const text = patch([
      '@@ -20,4 +20,5 @@ void svm_set_rip(struct kvm_vcpu *vcpu, unsigned long rip)',
      ' \tstruct vcpu_svm *svm = to_svm(vcpu);',
      ' ',
      '+\tsvm->vmcb->save.rip = rip;',
      ' \tvcpu->arch.regs[VCPU_REGS_RIP] = rip;',
      ' }',
    ].join('\n'));
    const out = guardQuickFix(text, lineOf(text, /save\.rip/));
    assert.ok(out);
    assert.match(out, /^@@ -20,4 \+20,7 @@/m);
    assert.match(out, / \n\+\tif \(vcpu->arch\.guest_state_protected\)\n\+\t\treturn;\n\+\tsvm->vmcb->save\.rip = rip;/);
    assertParses(out, ['\tif (vcpu->arch.guest_state_protected)', '\t\treturn;']);
  });

  it('a signature shown inside the hunk, K&R brace on it', () => {
    const text = patch([
      '@@ -1,3 +1,3 @@',
      ' static void f(struct kvm_vcpu *vcpu) {',
      '-\tvcpu->arch.dr7 = 0;',
      '+\tvcpu->arch.dr7 = 1;',
      ' }',
    ].join('\n'));
    const out = guardQuickFix(text, lineOf(text, /dr7 = 1/), 'f');
    assert.ok(out);
    assert.match(out, /^@@ -1,3 \+1,5 @@$/m);
    assert.match(out, /^ static void f\(struct kvm_vcpu \*vcpu\) \{\n\+\tif/m);
    assertParses(out, ['\tif (vcpu->arch.guest_state_protected)', '\t\treturn;']);
  });

  it('declines what it cannot do safely', () => {
    const base = (section: string, body: string[]) => patch([`@@ -1,${body.length} +1,${body.length} @@ ${section}`, ...body].join('\n'));
    // under an unbraced if: a line above would change what the if guards
    const unbraced = base('static void g(struct kvm_vcpu *vcpu)', ['\tif (x)', ' \t\tvcpu->arch.dr7 = 0;', ' }']);
    assert.equal(guardQuickFix(unbraced.replace('\tif (x)', ' \tif (x)'), lineOf(unbraced, /dr7 = 0/)), undefined);
    // a pointer or bool function: no return value fits
    const ptr = base('static u64 *h(struct kvm_vcpu *vcpu)', [' {', ' \tvcpu->arch.dr7 = 0;', ' }']);
    assert.equal(guardQuickFix(ptr, lineOf(ptr, /dr7 = 0/)), undefined);
    // no kvm_vcpu to test
    const novcpu = base('static void k(struct vcpu_svm *svm)', [' {', ' \tsvm->vmcb->save.dr7 = 0;', ' }']);
    assert.equal(guardQuickFix(novcpu, lineOf(novcpu, /dr7 = 0/)), undefined);
    // another function than the finding's
    const other = base('static void k(struct kvm_vcpu *vcpu)', [' {', ' \tvcpu->arch.dr7 = 0;', ' }']);
    assert.equal(guardQuickFix(other, lineOf(other, /dr7 = 0/), 'svm_set_dr7'), undefined);
    // not a hunk line, a hunk that contradicts its header
    assert.equal(guardQuickFix(DR7, 1), undefined);
    const broken = DR7.replace('@@ -88,9 +88,6 @@', '@@ -88,9 +88,7 @@');
    assert.equal(planGuard(broken, lineOf(broken, /^-\tif/)), undefined);
  });

  it('keeps CRLF line ends', () => {
    const crlf = DR7.replace(/\n/g, '\r\n');
    const out = guardQuickFix(crlf, lineOf(DR7, /^-\tif/), 'svm_set_dr7');
    assert.ok(out);
    assert.ok(!/[^\r]\n/.test(out));
    assertParses(out, ['\t\treturn;']);
  });
});

describe('keeping the guard a patch removes', () => {
  it('the DR7 patch: the removed guard becomes context again, the header counts it, and the finding is gone', async () => {
    const line = lineOf(DR7, /^-\tif \(vcpu->arch\.guest_state_protected\)/);
    const plan = planRestore(DR7, line);
    assert.ok(plan);
    const out = applyRestorePlan(DR7, plan);
    const lines = out.split('\n');
    assert.ok(lines.includes('@@ -88,9 +88,9 @@ static void svm_set_dr7(struct kvm_vcpu *vcpu, unsigned long value)'), 'the new side counts the three lines again');
    const at = lines.indexOf(' \tif (vcpu->arch.guest_state_protected)');
    assert.ok(at > 0, 'the guard is a context line');
    assert.deepEqual(lines.slice(at, at + 3), [' \tif (vcpu->arch.guest_state_protected)', ' \t\treturn;', ' '], 'the whole removed run, the blank line after it included');
    assert.equal(lines.filter((l) => /guest_state_protected/.test(l)).length, DR7.split('\n').filter((l) => /guest_state_protected/.test(l)).length, 'no second copy of the guard');
    const parsed = parseSeriesText(DR7_FILE, out);
    assert.deepEqual(parsed.problems, []);
    const report = (await analyzeDocument({ file: DR7_FILE, text: out, settings: { depth: 12, vcpus: 2, assumptions: {} } })).report;
    assert.ok(!report.findings.some((f) => f.rule === 'vmsa-write-after-encryption' && f.location.function === 'svm_set_dr7'), 'the guard kept, the DR7 write is refused again');
  });

  it('later hunks of the file start further down in the new file; a line that is not removed has no restore', () => {
    const text = patch([
      '@@ -10,5 +10,3 @@ static int f(struct kvm_vcpu *vcpu)', ' {', '-\tif (vcpu->arch.guest_state_protected)', '-\t\treturn -EINVAL;', ' \tg();', ' }',
      '@@ -30,3 +28,3 @@ static int h(struct kvm_vcpu *vcpu)', ' {', '-\tx();', '+\ty();', ' }',
    ].join('\n'));
    const line = lineOf(text, /^-\t\treturn -EINVAL;/);
    const out = applyRestorePlan(text, planRestore(text, line)!);
    assert.ok(out.includes('@@ -10,5 +10,5 @@ static int f('));
    assert.ok(out.includes('@@ -30,3 +30,3 @@ static int h('));
    assert.deepEqual(parseSeriesText('/t/x.patch', out).problems, []);
    assert.equal(planRestore(text, lineOf(text, /^ \tg\(\);/)), undefined);
  });
});
