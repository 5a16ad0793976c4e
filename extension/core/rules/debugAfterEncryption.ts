import type { Hazard, Rule } from './rule';
import { vcpuName, originOf } from './rule';

/** Guest debugging is armed for a vCPU whose VMSA is encrypted. */
export const debugAfterEncryption: Rule = {
  id: 'debug-after-encryption',
  check(step) {
    const out: Hazard[] = [];
    if (step.status === 'error') return out; // a refused ioctl leaves debugging as it was
    for (const ev of step.events) {
      if (ev.k !== 'debugArm' || !ev.encrypted) continue;
      out.push({
        rule: this.id,
        key: `${this.id}|${ev.fn}`,
        loc: ev.loc, fn: ev.fn, ...(ev.at ? { seriesLoc: ev.at } : {}), ...originOf(ev),
        message: `${step.op.name} arms guest debugging (${ev.how}) for ${vcpuName(ev.vcpu)} whose VMSA is encrypted: KVM cannot load DR7, set RFLAGS.TF or read RIP of a protected guest, so debugging an SEV-ES guest must be refused once guest_state_protected is set`,
        note: `arms debugging in ${ev.fn}() (${ev.how}) on an encrypted vCPU`,
      });
    }
    return out;
  },
};
