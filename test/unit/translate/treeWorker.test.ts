// Kernel-tree mode through the editor's worker: the tree stays open between requests, and an
// unsaved buffer that removes a guard brings its finding back, then puts it away again.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { kernelTreeForVersion } from '../../../extension/core/tree/sourceTarball';
import { AnalysisClient } from '../../../extension/worker/analysisClient';

const SETTINGS = { depth: 12, vcpus: 2, assumptions: {} };

describe('the analysis worker on a kernel tree', () => {
  it('audits, then re-analyses an edited buffer in the same session', async (t) => {
    const root = await kernelTreeForVersion('6.12');
    if (!root) return t.skip('no kernel tree: install Debian\'s linux-source-6.12 or set KVM_LENS_KERNEL_TREE');
    const client = new AnalysisClient();
    try {
      const clean = await client.analyzeTree({ root, buffers: {}, settings: SETTINGS, describe: ['arch/x86/kvm/svm/svm.c', 'arch/x86/kvm/regs.c'] });
      assert.ok(clean);
      // hovers and handler CodeLens in the C files come from these descriptions
      const dr7 = clean.functions.find((f) => f.name === 'svm_set_dr7');
      assert.ok(dr7 && dr7.reachedBy.includes('KVM_RUN') && dr7.summary.some((l) => /writes DR7/.test(l)), JSON.stringify(dr7));
      assert.deepEqual(clean.functions.find((f) => f.name === 'kvm_arch_vcpu_ioctl_set_sregs')?.handles, ['KVM_SET_SREGS']);
      // 6.12's one real hazard (async page fault delivery reads the CPL; see linux612.test.ts) and nothing else
      const verdict = (r: typeof clean | undefined) => r!.report.findings.filter((f) => f.severity !== 'info').map((f) => `${f.rule} ${f.location.function}`);
      assert.deepEqual(verdict(clean), ['vmsa-read-after-encryption kvm_can_deliver_async_pf']);
      const path = 'arch/x86/kvm/svm/svm.c';
      const lines = readFileSync(join(root, path), 'utf8').split('\n');
      const at = lines.findIndex((l) => /^static void svm_set_dr7\(/.test(l));
      const guard = lines.findIndex((l, i) => i > at && /guest_state_protected/.test(l));
      const edited = lines.map((l, i) => (i === guard ? l.replace('vcpu->arch.guest_state_protected', '0') : l)).join('\n');
      const dirty = await client.analyzeTree({ root, buffers: { [path]: edited }, settings: SETTINGS });
      assert.ok(dirty?.report.findings.some((f) => f.rule === 'vmsa-write-after-encryption' && f.location.file === path && f.location.function === 'svm_set_dr7'));
      t.diagnostic(`first audit ${clean.ms.toFixed(0)} ms, edit re-analysed in ${dirty!.ms.toFixed(0)} ms`);
      const back = await client.analyzeTree({ root, buffers: { [path]: lines.join('\n') }, settings: SETTINGS });
      assert.deepEqual(verdict(back), verdict(clean));
    } finally {
      client.dispose();
    }
  });
});
