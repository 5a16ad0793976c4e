// The other half of precision: on real 6.12 code, a patch that removes one of the guards the
// review thread asked for must bring its finding back. Each patch is made at test time from
// the installed tree (git format-patch in a temp repo), so no kernel code enters this repository.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TreeReport } from '../../../extension/core/analysis/analyzeTree';
import { kernelTreeForVersion } from '../../../extension/core/tree/sourceTarball';
import { auditWith, type Edit } from './realTrees';

const SKIP = 'no kernel tree: install Debian\'s linux-source-6.12 (apt-get install linux-source-6.12) or set KVM_LENS_KERNEL_TREE';

describe('Linux 6.12 with one guard removed: the finding comes back', () => {
  let tree: string | undefined;
  const work = mkdtempSync(join(tmpdir(), 'kvm-lens-mutations-'));
  before(async () => { tree = await kernelTreeForVersion('6.12'); });
  after(() => rmSync(work, { recursive: true, force: true }));

  const analyze = (name: string, removals: Edit[]): Promise<TreeReport> => auditWith('6.12', work, name, removals);

  const rules = (r: TreeReport) => r.findings.filter((f) => f.rule !== 'analysis-incomplete').map((f) => `${f.rule} ${f.location.function}`);

  it('LAUNCH_UPDATE_VMSA no longer sets guest_state_protected: protection-flag-not-set', async (t) => {
    if (!tree) return t.skip(SKIP);
    const r = await analyze('flag', [{ file: 'arch/x86/kvm/svm/sev.c', fn: '__sev_launch_update_vmsa', line: /guest_state_protected = true/ }]);
    t.diagnostic(rules(r).join('; '));
    const f = r.findings.find((x) => x.rule === 'protection-flag-not-set');
    assert.ok(f, rules(r).join('; '));
    assert.match(f.introducedBy ?? '', /0001-/);
    assert.deepEqual(r.problems.filter((p) => p.severity === 'error'), []);
  });

  it('svm_set_dr7 without its early return: DR7 written after encryption', async (t) => {
    if (!tree) return t.skip(SKIP);
    const r = await analyze('dr7', [{ file: 'arch/x86/kvm/svm/svm.c', fn: 'svm_set_dr7', line: /guest_state_protected/, remove: 2 }]);
    t.diagnostic(rules(r).join('; '));
    assert.ok(r.findings.some((f) => f.rule === 'vmsa-write-after-encryption' && f.location.function === 'svm_set_dr7'), rules(r).join('; '));
  });

  it('KVM_SET_GUEST_DEBUG without its guest_state_protected check: debugging armed after encryption', async (t) => {
    if (!tree) return t.skip(SKIP);
    const r = await analyze('guest-debug', [{ file: 'arch/x86/kvm/x86.c', fn: 'kvm_arch_vcpu_ioctl_set_guest_debug', line: /guest_state_protected/, remove: 2 }]);
    t.diagnostic(rules(r).join('; '));
    const f = r.findings.find((x) => x.rule === 'debug-after-encryption');
    assert.ok(f, rules(r).join('; '));
    assert.equal(f.trace[f.trace.length - 1].operation, 'KVM_SET_GUEST_DEBUG');
  });

  it('LAUNCH_UPDATE_VMSA and the VMSA sync without their guest_debug checks: debug armed at encryption', async (t) => {
    if (!tree) return t.skip(SKIP);
    const r = await analyze('launch-debug', [
      { file: 'arch/x86/kvm/svm/sev.c', fn: '__sev_launch_update_vmsa', line: /if \(vcpu->guest_debug\)/ },
      { file: 'arch/x86/kvm/svm/sev.c', fn: 'sev_es_sync_vmsa', line: /guest_debug/, remove: 2 },
    ]);
    t.diagnostic(rules(r).join('; '));
    const f = r.findings.find((x) => x.rule === 'debug-armed-at-encryption');
    assert.ok(f, rules(r).join('; '));
    const ops = f.trace.map((s) => s.operation);
    assert.ok(ops.indexOf('KVM_SET_GUEST_DEBUG') < ops.indexOf('KVM_SEV_LAUNCH_UPDATE_VMSA'), ops.join(' > '));
  });
});
