import type { Hazard, Rule } from './rule';
import { vcpuName } from './rule';

/** A path reads VMSA-backed state of an encrypted vCPU and hands it to userspace or decides on it. */
export const vmsaReadAfterEncryption: Rule = {
  id: 'vmsa-read-after-encryption',
  check(step) {
    const out: Hazard[] = [];
    for (const ev of step.events) {
      if (ev.k !== 'vmsaRead' || !ev.encrypted) continue;
      if (!ev.decided && !(step.op.returnsToUser && step.status !== 'error')) continue;
      // KVM_RUN's own decisions on its VMCB copy are bookkeeping; userspace-facing ioctls are not
      if (ev.area === 'vmcb' && !step.op.returnsToUser && !step.op.setsState) continue;
      const use = ev.decided ? 'decides on it' : `returns it to userspace through ${step.op.name}`;
      out.push({
        rule: this.id,
        key: `${this.id}|${ev.fn}`,
        detail: ev.field,
        loc: ev.loc, fn: ev.fn, ...(ev.at ? { seriesLoc: ev.at } : {}),
        message: `${ev.fn}() reads VMSA-backed ${ev.field} of ${vcpuName(ev.vcpu)} after its VMSA was encrypted and ${use}: KVM's copy is stale or meaningless once the state is protected (only what the guest shares through the GHCB is real)`,
        note: `reads ${ev.field} in ${ev.fn}() from an encrypted VMSA`,
      });
    }
    return out;
  },
};
