// An older tree (Debian's linux-source-6.1: static_call(), no has_protected_state, no regs.c,
// no KVM_SEV_INIT2, so every SEV-ES VM is the legacy type). Its audit finds what later kernels
// fixed, each with the ioctl sequence that reaches it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditOf, findingOf, skipReason, verdicts } from './realTrees';

const V = '6.1';

describe('Linux 6.1 KVM, audited as it is', () => {
  it('reads the older spellings: operations from its dispatchers, VM creation without a protected-state type', async (t) => {
    const r = await auditOf(V);
    if (!r) return t.skip(skipReason(V));
    t.diagnostic(verdicts(r).join('; '));
    assert.ok(r.tree.functions > 2400);
    assert.deepEqual(r.tree.modelFilled, []);
    assert.ok(r.problems.some((p) => /legacy SEV-ES VM/.test(p.message)), 'says it simulates the legacy VM type');
    assert.ok(r.tree.operations.some((d) => d.dispatcher === 'sev_mem_enc_ioctl' && d.operations > 10));
  });

  it('KVM_SET_MSRS writes the save area of an encrypted vCPU (upstream refused MSR access after encryption in 6.10)', async (t) => {
    const r = await auditOf(V);
    if (!r) return t.skip(skipReason(V));
    // svm_set_msr() has no protection test in 6.1: userspace's MSR value goes into KVM's VMCB copy,
    // which the hardware ignores for an SEV-ES guest, and the ioctl reports success
    const f = findingOf(r, 'vmsa-write-after-encryption', 'svm_set_msr');
    assert.ok(f, verdicts(r).join('; '));
    assert.equal(f.trace[f.trace.length - 1].operation, 'KVM_SET_MSRS');
  });

  it('async page fault delivery decides on the CPL of a protected guest, through KVM_RUN', async (t) => {
    const r = await auditOf(V);
    if (!r) return t.skip(skipReason(V));
    const f = findingOf(r, 'vmsa-read-after-encryption', 'kvm_can_deliver_async_pf');
    assert.ok(f, verdicts(r).join('; '));
    assert.equal(f.trace[f.trace.length - 1].operation, 'KVM_RUN');
    assert.match(f.message, /CPL/);
  });

  it('a second LAUNCH_UPDATE_VMSA re-syncs an encrypted VMSA page (later kernels check guest_state_protected there)', async (t) => {
    const r = await auditOf(V);
    if (!r) return t.skip(skipReason(V));
    const f = findingOf(r, 'vmsa-write-after-encryption', 'sev_es_sync_vmsa');
    assert.ok(f, verdicts(r).join('; '));
    assert.equal(f.trace.map((s) => s.operation).filter((o) => o === 'KVM_SEV_LAUNCH_UPDATE_VMSA').length, 2);
    assert.match(f.message, /SHUTDOWN/);
  });

  it('nothing else but other faces of the same 6.1 gaps', async (t) => {
    const r = await auditOf(V);
    if (!r) return t.skip(skipReason(V));
    const explained: Record<string, string> = {
      'vmsa-write-after-encryption svm_set_msr': 'MSR writes after encryption (above)',
      'vmsa-read-after-encryption kvm_can_deliver_async_pf': 'async page fault CPL (above)',
      'vmsa-write-after-encryption sev_es_sync_vmsa': 'the VMSA re-sync (above)',
      // the same re-sync reads DR7 from KVM's stale copy to decide what to put in the page
      'vmsa-read-after-encryption sev_es_sync_vmsa': 'the VMSA re-sync (above), deciding on DR7 on the way',
      // 6.1 has no has_protected_state: KVM_GET_REGS hands the stale RFLAGS of an encrypted vCPU
      // to userspace; 6.10 refuses it for protected-state VMs
      'vmsa-read-after-encryption svm_get_rflags': 'KVM_GET_REGS after encryption, refused since 6.10',
      // KVM_SET_MSRS of MSR_EFER reaches svm_set_efer() through kvm_set_msr_common(): the MSR gap again
      'vmsa-write-after-encryption svm_set_efer': 'MSR writes after encryption (above), through MSR_EFER',
      // KVM_RUN with kvm_dirty_regs copies userspace's registers in (sync_regs) without a protection
      // test; 6.10 makes the sync fields of a protected-state VM empty
      'vmsa-write-after-encryption svm_set_rflags': 'KVM_RUN sync_regs from the kvm_run page after encryption',
    };
    assert.deepEqual(verdicts(r).filter((v) => !(v in explained)), []);
    assert.deepEqual(r.findings.filter((f) => f.rule === 'debug-after-encryption' || f.rule === 'debug-armed-at-encryption').map((f) => f.message), [], 'no debug finding');
  });
});
