import type { Hazard, Rule } from './rule';
import { succeeded, vcpuName, originOf } from './rule';

/** Debug registers: KVM must never change them for a protected guest, whatever asked it to. */
const DEBUG_FIELDS = new Set(['DR6', 'DR7']);

/** Whether a recorded write (always on an encrypted vCPU) is a hazard. */
export function writeCanMatter(ev: { area: 'page' | 'vmcb'; field: string; encrypted: boolean; asked: boolean }): boolean {
  return ev.encrypted && (ev.area === 'page' || ev.asked || DEBUG_FIELDS.has(ev.field));
}

/**
 * A path writes VMSA-backed state of a vCPU whose VMSA is already encrypted: the VMSA page
 * itself on any path; KVM's VMCB save-area copy when userspace handed in the change on that path
 * (copy_from_user, the kvm_run page) or the field is a debug register. KVM_RUN's own bookkeeping
 * of the VMCB copy (from the GHCB), which the hardware ignores for an SEV-ES guest, is not reported.
 */
export const vmsaWriteAfterEncryption: Rule = {
  id: 'vmsa-write-after-encryption',
  check(step) {
    const out: Hazard[] = [];
    for (const ev of step.events) {
      if (ev.k !== 'vmsaWrite' || !writeCanMatter(ev)) continue;
      const what = ev.field === 'VMSA' ? 'the VMSA page' : ev.area === 'page' ? `${ev.field} in the VMSA page` : `VMSA-backed ${ev.field} (its VMCB save-area copy)`;
      out.push({
        rule: this.id,
        key: `${this.id}|${ev.fn}`,
        detail: ev.field,
        loc: ev.loc, fn: ev.fn, ...(ev.at ? { seriesLoc: ev.at } : {}), ...originOf(ev),
        message: `${ev.fn}() writes ${what} of ${vcpuName(ev.vcpu)} after KVM_SEV_LAUNCH_UPDATE_VMSA encrypted it (reached by ${step.op.name}${succeeded(step) ? '' : ', even though the ioctl then fails'}): ${ev.area === 'page'
          ? 'the write lands in the encrypted VMSA page, so the guest state is corrupted and the next VMRUN fails with a SHUTDOWN exit'
          : 'KVM cannot change protected state; only its VMCB copy changes, which the hardware ignores for an SEV-ES guest, so the ioctl reports success while the guest state stays as it was and KVM\'s view of the vCPU is wrong'}`,
        note: `writes ${ev.field} in ${ev.fn}() although the VMSA is encrypted`,
      });
    }
    return out;
  },
};
