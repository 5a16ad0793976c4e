// Current mainline (Debian's linux-source-7.3, trixie-backports), read where it is installed.
// Everything the review thread and the later upstream fixes asked for is there, so the audit
// reports nothing; each fix undone at test time brings its finding back, one of them through
// KVM_RUN's guest-driven paths and one through an ioctl the patch adds.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DEFAULT_OPTIONS } from '../../../extension/core/analysis/analyzeSeries';
import { analyzeTree, TreeSession } from '../../../extension/core/analysis/analyzeTree';
import { kernelTreeForVersion } from '../../../extension/core/tree/sourceTarball';
import { auditOf, auditWith, findingOf, skipReason, verdicts } from './realTrees';

const V = '7.3';

describe('Linux 7.3 KVM, audited as it is', () => {
  it('the operations come from the tree\'s dispatchers, each named with how many it gave', async (t) => {
    const r = await auditOf(V);
    if (!r) return t.skip(skipReason(V));
    const by = new Map(r.tree.operations.map((d) => [d.dispatcher, d.operations]));
    t.diagnostic(r.tree.operations.map((d) => `${d.dispatcher}: ${d.operations}`).join(', '));
    for (const d of ['kvm_vcpu_ioctl', 'kvm_arch_vcpu_ioctl', 'kvm_vm_ioctl', 'kvm_arch_vm_ioctl', 'sev_mem_enc_ioctl']) {
      assert.ok((by.get(d) ?? 0) > 0, `${d} gave operations`);
    }
    assert.ok((by.get('sev_mem_enc_ioctl') ?? 0) >= 20, 'every KVM_SEV_* command, SNP ones included');
    assert.deepEqual(r.tree.modelFilled, [], 'nothing from the built-in model in tree mode');
    assert.deepEqual(r.origins, []);
  });

  it('no error or warning: every guard upstream added holds on every path the simulation finds', async (t) => {
    const r = await auditOf(V);
    if (!r) return t.skip(skipReason(V));
    t.diagnostic(`${r.tree.files} files, ${r.tree.functions} functions, ${r.stats.statesExplored} states, ${r.stats.ms.simulate.toFixed(0)} ms simulating`);
    // none today: a finding here is either a real unfixed hazard (explained here, step by step)
    // or a bug in the analysis to fix, never an entry in a list
    assert.deepEqual(verdicts(r), []);
  });
});

describe('Linux 7.3 with a fix undone: the finding comes back', () => {
  const work = mkdtempSync(join(tmpdir(), 'kvm-lens-73-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  it('the MSR guard without its guest_state_protected test: KVM_SET_MSRS writes the save area again', async (t) => {
    if (!(await auditOf(V))) return t.skip(skipReason(V));
    const r = await auditWith(V, work, 'msr-guard', [
      { file: 'arch/x86/kvm/svm/svm.c', fn: 'sev_es_prevent_msr_access', line: / && vcpu->arch\.guest_state_protected &&/, replace: ' &&' },
    ]);
    t.diagnostic(verdicts(r).join('; '));
    const f = findingOf(r, 'vmsa-write-after-encryption', 'svm_set_msr');
    assert.ok(f, verdicts(r).join('; '));
    assert.equal(f.trace[f.trace.length - 1].operation, 'KVM_SET_MSRS');
  });

  it('async page fault delivery reading the CPL again: found through KVM_RUN, with the guest\'s exit', async (t) => {
    if (!(await auditOf(V))) return t.skip(skipReason(V));
    const r = await auditWith(V, work, 'async-pf-cpl', [
      { file: 'arch/x86/kvm/x86.c', fn: 'kvm_can_deliver_async_pf', line: /\(vcpu->arch\.guest_state_protected \|\| !kvm_x86_call\(get_cpl\)\(vcpu\)\)/, replace: '!kvm_x86_call(get_cpl)(vcpu)' },
    ]);
    t.diagnostic(verdicts(r).join('; '));
    const f = findingOf(r, 'vmsa-read-after-encryption', 'kvm_can_deliver_async_pf');
    assert.ok(f, verdicts(r).join('; '));
    const last = f.trace[f.trace.length - 1];
    assert.equal(last.operation, 'KVM_RUN');
    assert.match(last.note ?? '', /kvm_can_deliver_async_pf/);
    assert.match(f.message, /CPL/);
  });

  it('a new KVM_SET_* ioctl that copies a struct from userspace into the save area: an error on its first run', async (t) => {
    if (!(await auditOf(V))) return t.skip(skipReason(V));
    // our own case body: userspace's RFLAGS straight into the vCPU, no protection test
    const r = await auditWith(V, work, 'new-ioctl', [
      {
        file: 'arch/x86/kvm/x86.c', fn: 'kvm_arch_vcpu_ioctl', line: /switch \(ioctl\) \{/, insertAfter: [
          '\tcase KVM_SET_FOO: {',
          '\t\tstruct kvm_regs foo;',
          '',
          '\t\tr = -EFAULT;',
          '\t\tif (copy_from_user(&foo, argp, sizeof(foo)))',
          '\t\t\tbreak;',
          '\t\tkvm_set_rflags(vcpu, foo.rflags);',
          '\t\tr = 0;',
          '\t\tbreak;',
          '\t}',
        ],
      },
    ]);
    t.diagnostic(verdicts(r).join('; '));
    const f = r.findings.find((x) => x.rule === 'vmsa-write-after-encryption' && x.trace[x.trace.length - 1].operation === 'KVM_SET_FOO');
    assert.ok(f, verdicts(r).join('; '));
    assert.equal(f.severity, 'error');
    assert.match(f.introducedBy ?? '', /0001-/);
  });
});

describe('Linux 7.3, an SEV-SNP launch', () => {
  it('KVM_SEV_SNP_LAUNCH_FINISH has the firmware take in each vCPU\'s VMSA and marks the state protected', async (t) => {
    const tree = await kernelTreeForVersion(V);
    if (!tree) return t.skip(skipReason(V));
    const session = await TreeSession.open(tree);
    try {
      const options = { ...DEFAULT_OPTIONS, assumptions: { ...DEFAULT_OPTIONS.assumptions, vmType: 'snp' as const } };
      const run = session.runSequence([
        { operation: 'KVM_SEV_INIT2', vcpu: null }, { operation: 'KVM_CREATE_VCPU', vcpu: null },
        { operation: 'KVM_SEV_SNP_LAUNCH_START', vcpu: null }, { operation: 'KVM_SEV_SNP_LAUNCH_FINISH', vcpu: null },
      ], options);
      t.diagnostic(run.map((r) => `${r.step?.op.name ?? r.message}: ${r.step?.status ?? ''}`).join(', '));
      assert.equal(run[0].state.flags['sev.snp_active'] ?? run[0].state.flags['sev.es_active'], 1, 'an SNP guest is an SEV-ES guest');
      const last = run[3];
      assert.ok(last.step, last.message);
      assert.equal(last.state.firmware, 'RUNNING');
      assert.equal(last.state.vcpus[0].encrypted, true, 'SNP_LAUNCH_UPDATE of the VMSA page');
      assert.equal(last.state.vcpus[0].flags.guest_state_protected, 1);
    } finally {
      session.dispose();
    }
  });
});

describe('Linux 7.3, the legacy VM type (KVM_SEV_ES_INIT)', () => {
  it('KVM_SET_REGS after encryption, which upstream keeps succeeding for compatibility, is a note that says so, not an error', async (t) => {
    const tree = await kernelTreeForVersion(V);
    if (!tree) return t.skip(skipReason(V));
    const options = { ...DEFAULT_OPTIONS, assumptions: { ...DEFAULT_OPTIONS.assumptions, vmType: 'legacy' as const } };
    const r = await analyzeTree(tree, { patches: [], problems: [] }, options);
    t.diagnostic(r.findings.filter((f) => f.rule !== 'analysis-incomplete').map((f) => `${f.severity} ${f.rule} ${f.location.function} ${f.trace[f.trace.length - 1]?.operation}`).join('; '));
    // (the legacy type's other behaviours, KVM_RUN's sync_regs and KVM_GET_REGS among them, are
    // not judged as compatibility yet: see the README's limits)
    assert.deepEqual(r.findings.filter((f) => f.severity === 'error' && f.trace[f.trace.length - 1].operation === 'KVM_SET_REGS').map((f) => f.message), []);
    const notes = r.findings.filter((f) => f.rule === 'legacy-write-ignored');
    assert.ok(notes.some((f) => f.trace[f.trace.length - 1].operation === 'KVM_SET_REGS'), 'KVM_SET_REGS after encryption only changes the ignored copy');
    for (const f of notes) assert.equal(f.severity, 'info');
  });
});
