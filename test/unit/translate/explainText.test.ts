// "Explain this finding" as a page, with plain Node: the finding, the rule's paragraph from the
// catalog, and the trace as a numbered list whose places the editor opens by number.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Finding } from '../../../extension/core/findings';
import { ruleMeta } from '../../../extension/core/rules/ruleCatalog';
import { explainPage, explainTitle } from '../../../extension/translate/explainText';

const FINDING: Finding = {
  rule: 'vmsa-write-after-encryption',
  severity: 'error',
  message: 'svm_set_dr7() writes VMSA-backed DR7 of vcpu 0 after KVM_SEV_LAUNCH_UPDATE_VMSA encrypted it <a & b>',
  location: { file: '/s/0002-dr7.patch', line: 22, column: 2, function: 'svm_set_dr7' },
  introducedBy: '/s/0002-dr7.patch',
  trace: [
    { operation: 'KVM_SEV_INIT2', vcpu: null, location: { file: 'builtin-model/sev.c', line: 32 }, note: 'succeeds' },
    { operation: 'KVM_CREATE_VCPU', vcpu: 0, location: { file: 'builtin-model/x86.c', line: 35 }, note: 'returns' },
    { operation: 'KVM_RUN', vcpu: 0, location: { file: 'arch/x86/kvm/svm/svm.c', line: 91 }, note: 'writes save.dr7' },
  ],
  key: 'vmsa-write-after-encryption|svm_set_dr7|x',
};

const text = (html: string) => html.replace(/<[^>]+>/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&').replace(/&#39;/g, "'").replace(/&quot;/g, '"');

describe('explain page', () => {
  it('names the rule and function, and carries the message (escaped) and the rule paragraph', () => {
    const page = explainPage(FINDING);
    assert.equal(explainTitle(FINDING), 'vmsa-write-after-encryption in svm_set_dr7()');
    assert.match(page.html, /^<h1>vmsa-write-after-encryption in svm_set_dr7\(\)<\/h1>$/m);
    assert.match(page.html, /<strong>error<\/strong>/);
    assert.ok(page.html.includes('encrypted it &lt;a &amp; b&gt;'), 'input text never becomes markup');
    assert.ok(text(page.html).includes(ruleMeta('vmsa-write-after-encryption').fullDescription));
    assert.match(text(page.html), /Introduced by 0002-dr7\.patch\./);
  });

  it('lists the trace in order, each step\'s place a link the editor opens by number', () => {
    const page = explainPage(FINDING, { shownSeverity: 'warning' });
    assert.match(page.html, /<strong>warning<\/strong>/);
    const items = page.html.split('\n').filter((l) => l.startsWith('<li>'));
    assert.deepEqual(items.map((l) => /<code>(\w+)<\/code>/.exec(l)![1]), ['KVM_SEV_INIT2', 'KVM_CREATE_VCPU', 'KVM_RUN']);
    assert.match(items[1]!, /\(vcpu 0\)/);
    const linked = items.map((l) => page.places[Number(/data-place="(\d+)"/.exec(l)![1])]!);
    assert.deepEqual(linked.map((p) => [p.label, p.file, p.line]), [
      ['sev.c:32', 'builtin-model/sev.c', 32], ['x86.c:35', 'builtin-model/x86.c', 35], ['svm.c:91', 'arch/x86/kvm/svm/svm.c', 91],
    ]);
    // the finding's own place first, with its column
    assert.deepEqual(page.places[0], { label: '0002-dr7.patch:22:2', file: '/s/0002-dr7.patch', line: 22, column: 2 });
    assert.ok(!/href="(?!#)/.test(page.html), 'no link leaves the page: the editor opens every place');
  });

  it('says so when there is no trace', () => {
    assert.match(explainPage({ ...FINDING, trace: [], introducedBy: null }).html, /No trace/);
  });
});
