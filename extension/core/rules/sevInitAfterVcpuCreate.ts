import { type Rule, sevInitialised } from './rule';

/** SEV-ES initialisation succeeds after a vCPU exists. */
export const sevInitAfterVcpuCreate: Rule = {
  id: 'sev-init-after-vcpu-create',
  check(step) {
    if (!sevInitialised(step) || step.before.vcpus.length === 0) return [];
    return [{
      rule: this.id,
      key: `${this.id}|${step.op.name}`,
      loc: step.seriesLoc?.loc ?? step.handlerLoc, fn: step.seriesLoc?.fn ?? step.op.handler,
      message: `${step.op.name} succeeds after ${step.before.vcpus.length} vCPU(s) were created: those vCPUs were set up as ordinary vCPUs (no VMSA page, no SEV-ES intercepts), so the guest runs with state KVM believes it can read and write; refuse initialisation while kvm->created_vcpus is non-zero`,
      note: `${step.op.name} succeeds with vCPUs already created`,
    }];
  },
};
