import type { Hazard, Rule } from './rule';
import { succeeded, vcpuName } from './rule';

/** A path writes VMSA-backed state of a vCPU whose VMSA is already encrypted. */
export const vmsaWriteAfterEncryption: Rule = {
  id: 'vmsa-write-after-encryption',
  check(step) {
    const out: Hazard[] = [];
    for (const ev of step.events) {
      if (ev.k !== 'vmsaWrite' || !ev.encrypted) continue;
      const what = ev.field === 'VMSA' ? 'the VMSA page' : `VMSA-backed ${ev.field}`;
      out.push({
        rule: this.id,
        key: `${this.id}|${ev.fn}|${ev.field}`,
        loc: ev.loc, fn: ev.fn, ...(ev.at ? { seriesLoc: ev.at } : {}),
        message: `${ev.fn}() writes ${what} of ${vcpuName(ev.vcpu)} after KVM_SEV_LAUNCH_UPDATE_VMSA encrypted it (reached by ${step.op.name}${succeeded(step) ? '' : ', even though the ioctl then fails'}): KVM cannot change protected state, so the write is lost or corrupts the VMSA and the next VMRUN fails with a SHUTDOWN exit`,
        note: `writes ${ev.field} in ${ev.fn}() although the VMSA is encrypted`,
      });
    }
    return out;
  },
};
