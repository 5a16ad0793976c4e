// An older tree (Debian's linux-source-6.1: static_call(), no has_protected_state, no regs.c,
// no KVM_SEV_INIT2) analyses with the same idioms. Its audit finds what later kernels fixed.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { analyzeTree, type TreeReport } from '../../../extension/core/analysis/analyzeTree';
import { DEFAULT_OPTIONS } from '../../../extension/core/analysis/analyzeSeries';
import { extractKvmFiles } from '../../../extension/core/tree/sourceTarball';

const TARBALL = '/usr/src/linux-source-6.1.tar.xz';
const SKIP = `no ${TARBALL}: install Debian's linux-source-6.1 (apt-get install linux-source-6.1)`;

describe('Linux 6.1 KVM, audited as it is', () => {
  let report: TreeReport | undefined;
  before(async () => {
    if (!existsSync(TARBALL)) return;
    const { dir } = await extractKvmFiles(TARBALL);
    if (dir) report = await analyzeTree(dir, { patches: [], problems: [] }, DEFAULT_OPTIONS);
  });

  it('reads the older spellings: handlers from the tree, ops resolved, simulated as a legacy VM', (t) => {
    if (!report) return t.skip(SKIP);
    assert.ok(report.tree.functions > 1100);
    assert.ok(report.problems.some((p) => /legacy SEV-ES VM/.test(p.message)), 'says it fell back to the legacy VM type');
    for (const fn of ['kvm_arch_vcpu_ioctl_set_guest_debug', 'sev_launch_update_vmsa', 'svm_set_dr7', 'sev_es_sync_vmsa']) {
      assert.ok(!report.tree.modelFilled.includes(fn), `${fn} comes from the tree`);
    }
  });

  it('finds that a second LAUNCH_UPDATE_VMSA re-syncs an encrypted VMSA page (later kernels check guest_state_protected there)', (t) => {
    if (!report) return t.skip(SKIP);
    const f = report.findings.find((x) => x.rule === 'vmsa-write-after-encryption' && x.location.function === 'sev_es_sync_vmsa');
    assert.ok(f, report.findings.map((x) => `${x.rule} ${x.location.function}`).join('; '));
    assert.deepEqual(f.trace.map((s) => s.operation).filter((o) => o === 'KVM_SEV_LAUNCH_UPDATE_VMSA').length, 2);
    assert.match(f.message, /SHUTDOWN/);
  });

  it('the guest debug and DR setter handling of 6.1 raises no debug finding', (t) => {
    if (!report) return t.skip(SKIP);
    assert.deepEqual(report.findings.filter((f) => f.rule === 'debug-after-encryption' || f.rule === 'debug-armed-at-encryption').map((f) => f.message), []);
  });
});
