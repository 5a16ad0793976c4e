import type { Hazard, Purpose, Rule } from './rule';
import { vcpuName } from './rule';

/**
 * Whether a read can be reported; the interpreter records only these. A read counts when it is
 * decided on or handed back to userspace; on KVM's VMCB copy, only in user-facing ioctls (KVM_RUN's
 * own decisions on its copy are bookkeeping).
 */
export function readCanMatter(ev: { area: 'page' | 'vmcb'; encrypted: boolean; decided: boolean }, purpose: Purpose): boolean {
  if (!ev.encrypted || (!ev.decided && !purpose.returnsToUser)) return false;
  return ev.area === 'page' || purpose.returnsToUser || purpose.setsState;
}

/** A path reads VMSA-backed state of an encrypted vCPU and hands it to userspace or decides on it. */
export const vmsaReadAfterEncryption: Rule = {
  id: 'vmsa-read-after-encryption',
  check(step) {
    const out: Hazard[] = [];
    for (const ev of step.events) {
      if (ev.k !== 'vmsaRead' || !ev.encrypted) continue;
      if (!readCanMatter(ev, { setsState: !!step.op.setsState, returnsToUser: !!step.op.returnsToUser })) continue;
      if (!ev.decided && step.status === 'error') continue; // nothing was handed back
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
