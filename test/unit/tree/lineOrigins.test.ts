// Where each line of a series' post-image came from: followed through patches applied in
// memory (exactly, at an offset, with fuzz), a file renamed, created and deleted. Every answer
// is also checked against the texts themselves: a base line has the base text's words, and a
// hunk that shows a line has it after its '+' or ' '.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyPatchInMemory } from '../../../extension/core/tree/applyInMemory';
import { LineOrigins } from '../../../extension/core/tree/lineOrigins';
import { parseSeriesText } from '../../../extension/core/series/seriesReader';
import type { Patch } from '../../../extension/core/series/types';
import { hunk, modify } from '../support/diffText';

const FILE = 'arch/x86/kvm/svm/svm.c';
const BASE = [
  'static void svm_set_dr7(struct kvm_vcpu *vcpu, unsigned long value)', // 1
  '{',                                                                  // 2
  '\tstruct vcpu_svm *svm = to_svm(vcpu);',                             // 3
  '',                                                                   // 4
  '\tif (vcpu->arch.guest_state_protected)',                            // 5
  '\t\treturn;',                                                        // 6
  '',                                                                   // 7
  '\tsvm->vmcb->save.dr7 = value;',                                     // 8
  '\tvmcb_mark_dirty(svm->vmcb, VMCB_DR);',                             // 9
  '}',                                                                  // 10
].join('\n') + '\n';

/** A mail of format-patch's shape with one diff; hunks as written (counts computed). */
function mail(n: number, subject: string, diffs: string): string {
  return `From 000000000000000000000000000000000000000${n} Mon Sep 17 00:00:00 2001\nFrom: A U Thor <a@example.org>\nSubject: [PATCH ${n}/3] ${subject}\n\n${subject}.\n---\n${diffs}-- \n2.43.0\n\n`;
}

/** Applies the patches of one mbox text in order, as TreeSession.analyze does, and follows the lines. */
function follow(base: Map<string, string>, mbox: string) {
  const { patches, problems } = parseSeriesText('/s/series.mbox', mbox);
  assert.deepEqual(problems, []);
  const steps: { patch: Patch; applied: ReturnType<typeof applyPatchInMemory> }[] = [];
  let texts: ReadonlyMap<string, string> = base;
  for (const patch of patches) {
    const applied = applyPatchInMemory(texts, patch);
    assert.deepEqual(applied.problems, [], `patch ${patch.subject} applies`);
    steps.push({ patch, applied });
    texts = applied.files;
  }
  const origins = LineOrigins.follow(base, steps);
  const lines = mbox.split('\n');
  // the oracle: every answer agrees with the texts
  for (const [path, text] of texts) {
    text.split('\n').slice(0, -1).forEach((l, i) => {
      const o = origins.of(path, i + 1);
      assert.ok(o, `${path}:${i + 1} has an origin`);
      if (o.base) assert.equal(base.get(o.base.path)!.split('\n')[o.base.line - 1], l, `${path}:${i + 1} is base line ${o.base.line}`);
      for (const a of o.appearances) assert.equal(lines[a.patchLine - 1], (a.kind === 'added' ? '+' : ' ') + l, `${path}:${i + 1} shown at mbox line ${a.patchLine}`);
    });
  }
  return { origins, texts, patches, lines };
}

describe('line origins through a series applied in memory', () => {
  it('a line added by one patch and shown as context by the next, a base line shown as context, a base line moved', () => {
    // patch 1 adds a helper call before the write; patch 2 drops the guard, with the write as context
    const mbox = mail(1, 'KVM: SVM: Trace DR7 writes', modify(FILE, hunk(7, 7, [' ', '+\ttrace_kvm_dr7(value);', ' \tsvm->vmcb->save.dr7 = value;'])))
      + mail(2, 'KVM: SVM: Let DR7 writes through', modify(FILE, hunk(3, 3, [' \tstruct vcpu_svm *svm = to_svm(vcpu);', ' ', '-\tif (vcpu->arch.guest_state_protected)', '-\t\treturn;', '-', ' \ttrace_kvm_dr7(value);', ' \tsvm->vmcb->save.dr7 = value;'])));
    const { origins, texts, lines } = follow(new Map([[FILE, BASE]]), mbox);
    const final = texts.get(FILE)!.split('\n');
    const at = (text: string) => final.indexOf(text) + 1;
    const trace = origins.of(FILE, at('\ttrace_kvm_dr7(value);'))!;
    assert.equal(trace.base, undefined, 'a line patch 1 added');
    assert.deepEqual(trace.appearances.map((a) => [a.patch, a.kind]), [[0, 'added'], [1, 'context']]);
    const write = origins.of(FILE, at('\tsvm->vmcb->save.dr7 = value;'))!;
    assert.deepEqual(write.base, { path: FILE, line: 8 });
    assert.deepEqual(write.appearances.map((a) => [a.patch, a.kind]), [[0, 'context'], [1, 'context']]);
    assert.ok(lines[write.appearances[1]!.patchLine - 1]!.startsWith(' \tsvm->vmcb'), 'patch 2\'s context line');
    const dirty = origins.of(FILE, at('\tvmcb_mark_dirty(svm->vmcb, VMCB_DR);'))!;
    assert.deepEqual(dirty, { base: { path: FILE, line: 9 }, appearances: [] }, 'moved up two lines, shown by no hunk');
    assert.equal(at('\tvmcb_mark_dirty(svm->vmcb, VMCB_DR);'), 7);
    assert.equal(origins.of(FILE, final.length), undefined, 'past the end');
    assert.ok(origins.changed(FILE));
  });

  it('a hunk that applies at an offset, and one that applies with fuzz: the lines fuzz did not compare are not the hunk\'s', () => {
    const shifted = '/* a comment the series did not expect */\n/* and another */\n' + BASE;
    // the header says line 5, the guard is at line 7; the first context line is wrong (fuzz 1)
    const mbox = mail(1, 'KVM: SVM: Let DR7 writes through', modify(FILE, hunk(4, 4, [' \tstruct vcpu_svm *svm = to_svm(vcpu); /* not as in the tree */', ' ', '-\tif (vcpu->arch.guest_state_protected)', '-\t\treturn;', '-', ' \tsvm->vmcb->save.dr7 = value;', ' \tvmcb_mark_dirty(svm->vmcb, VMCB_DR);'])));
    const { patches } = parseSeriesText('/s/series.mbox', mbox);
    const applied = applyPatchInMemory(new Map([[FILE, shifted]]), patches[0]!);
    assert.equal(applied.results[0]!.hunks[0]!.fuzz, 1, 'the case this test is about: fuzz');
    const origins = LineOrigins.follow(new Map([[FILE, shifted]]), [{ patch: patches[0]!, applied }]);
    const final = applied.files.get(FILE)!.split('\n');
    const write = origins.of(FILE, final.indexOf('\tsvm->vmcb->save.dr7 = value;') + 1)!;
    assert.deepEqual(write.base, { path: FILE, line: 10 });
    assert.deepEqual(write.appearances.map((a) => a.kind), ['context']);
    const decl = origins.of(FILE, final.indexOf('\tstruct vcpu_svm *svm = to_svm(vcpu);') + 1)!;
    assert.deepEqual(decl, { base: { path: FILE, line: 5 }, appearances: [] }, 'the file\'s own line where the hunk\'s context differs');
  });

  it('a new file\'s lines are added lines; a renamed file keeps its base lines under the old path; a deleted file has none', () => {
    const NEW = 'arch/x86/kvm/svm/dr7.c';
    const added = `diff --git a/${NEW} b/${NEW}\nnew file mode 100644\nindex 0000000..3333333\n--- /dev/null\n+++ b/${NEW}\n${hunk(0, 1, ['+int dr7_allowed;', '+int dr7_written;'])}`;
    const renamed = `diff --git a/${FILE} b/arch/x86/kvm/svm/svm2.c\nsimilarity index 90%\nrename from ${FILE}\nrename to arch/x86/kvm/svm/svm2.c\nindex 1111111..2222222 100644\n--- a/${FILE}\n+++ b/arch/x86/kvm/svm/svm2.c\n${hunk(8, 8, [' \tsvm->vmcb->save.dr7 = value;', '+\t/* written */', ' \tvmcb_mark_dirty(svm->vmcb, VMCB_DR);'])}`;
    const deleted = `diff --git a/${NEW} b/${NEW}\ndeleted file mode 100644\nindex 3333333..0000000\n--- a/${NEW}\n+++ /dev/null\n${hunk(1, 0, ['-int dr7_allowed;', '-int dr7_written;'])}`;
    const mbox = mail(1, 'KVM: SVM: Add dr7.c', added) + mail(2, 'KVM: SVM: Rename svm.c', renamed) + mail(3, 'KVM: SVM: Drop dr7.c', deleted);
    const { origins, texts } = follow(new Map([[FILE, BASE]]), mbox);
    assert.deepEqual([...texts.keys()].sort(), ['arch/x86/kvm/svm/svm2.c']);
    assert.deepEqual(origins.of('arch/x86/kvm/svm/svm2.c', 8), { base: { path: FILE, line: 8 }, appearances: [{ patch: 1, patchLine: origins.of('arch/x86/kvm/svm/svm2.c', 8)!.appearances[0]!.patchLine, kind: 'context' }] });
    assert.equal(origins.of('arch/x86/kvm/svm/svm2.c', 9)?.appearances[0]?.kind, 'added');
    assert.equal(origins.of(FILE, 1), undefined, 'the old path is gone');
    assert.equal(origins.of(NEW, 1), undefined, 'deleted');
  });

  it('a file the series does not change: every line is its base line', () => {
    const origins = LineOrigins.follow(new Map([[FILE, BASE], ['arch/x86/kvm/x86.c', 'int x;\n']]), []);
    assert.deepEqual(origins.of('arch/x86/kvm/x86.c', 1), { base: { path: 'arch/x86/kvm/x86.c', line: 1 }, appearances: [] });
    assert.equal(origins.of('arch/x86/kvm/x86.c', 2), undefined);
    assert.equal(origins.changed('arch/x86/kvm/x86.c'), false);
  });
});
