// "Explain this finding" as plain markdown, with plain Node: the finding, the rule's paragraph
// from the catalog, and the trace as a numbered list of file:line links.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Finding } from '../../../extension/core/findings';
import { ruleMeta } from '../../../extension/core/rules/ruleCatalog';
import { explainMarkdown, explainTitle } from '../../../extension/translate/explainText';

const FINDING: Finding = {
  rule: 'vmsa-write-after-encryption',
  severity: 'error',
  message: 'svm_set_dr7() writes VMSA-backed DR7 of vcpu 0 after KVM_SEV_LAUNCH_UPDATE_VMSA encrypted it',
  location: { file: '/s/0002-dr7.patch', line: 22, column: 2, function: 'svm_set_dr7' },
  introducedBy: '/s/0002-dr7.patch',
  trace: [
    { operation: 'KVM_SEV_INIT2', vcpu: null, location: { file: 'builtin-model/sev.c', line: 32 }, note: 'succeeds' },
    { operation: 'KVM_CREATE_VCPU', vcpu: 0, location: { file: 'builtin-model/x86.c', line: 35 }, note: 'returns' },
    { operation: 'KVM_RUN', vcpu: 0, location: { file: '/s/0002-dr7.patch', line: 22 }, note: 'writes save.dr7' },
  ],
  key: 'vmsa-write-after-encryption|svm_set_dr7|x',
};

describe('explain text', () => {
  it('names the rule and function, and carries the message and the rule paragraph', () => {
    const md = explainMarkdown(FINDING);
    assert.equal(explainTitle(FINDING), 'vmsa-write-after-encryption in svm_set_dr7()');
    assert.match(md, /^# vmsa-write-after-encryption in svm\\_set\\_dr7\(\)$/m);
    assert.match(md, /\*\*error\*\*/);
    assert.match(md, /writes VMSA-backed DR7/);
    // the paragraph from the catalog, markdown-escaped but word for word
    const para = ruleMeta('vmsa-write-after-encryption').fullDescription;
    assert.ok(md.replace(/\\(.)/g, '$1').includes(para));
    assert.match(md, /Introduced by `0002-dr7.patch`/);
  });

  it('lists the trace in order, numbered, with the vCPU and file:line', () => {
    const md = explainMarkdown(FINDING);
    const steps = md.split('\n').filter((l) => /^\d+\. /.test(l));
    assert.deepEqual(steps.map((l) => l.slice(0, l.indexOf(' '))), ['1.', '2.', '3.']);
    assert.match(steps[0]!, /^1\. `KVM_SEV_INIT2`: succeeds — `sev\.c:32`$/);
    assert.match(steps[1]!, /\(vcpu 0\)/);
    assert.match(steps[2]!, /`0002-dr7\.patch:22`$/);
  });

  it('links each place through the caller, encoding spaces and parentheses', () => {
    const md = explainMarkdown(FINDING, {
      link: (file, line) => (file.startsWith('builtin-model/') ? undefined : `file:///my dir (x)${file}#L${line}`),
      shownSeverity: 'warning',
    });
    assert.match(md, /\*\*warning\*\*/);
    assert.match(md, /\[0002-dr7\.patch:22:2\]\(file:\/\/\/my%20dir%20%28x%29\/s\/0002-dr7\.patch#L22\)/);
    assert.match(md, /^3\. .*\[0002-dr7\.patch:22\]\(file:\/\/\/my%20dir%20%28x%29\/s\/0002-dr7\.patch#L22\)$/m);
    assert.match(md, /^1\. .*`sev\.c:32`$/m, 'no link: plain code');
  });

  it('says so when there is no trace', () => {
    assert.match(explainMarkdown({ ...FINDING, trace: [], introducedBy: null }), /No trace/);
  });
});
