import type { Hazard, Rule } from './rule';

/** LAUNCH_UPDATE_VMSA succeeds for a vCPU whose debugging is armed. */
export const debugArmedAtEncryption: Rule = {
  id: 'debug-armed-at-encryption',
  check(step) {
    const out: Hazard[] = [];
    if (step.status === 'error') return out;
    for (const ev of step.events) {
      if (ev.k !== 'encrypt' || !ev.debugArmed) continue;
      out.push({
        rule: this.id,
        key: `${this.id}|${ev.fn}`,
        loc: ev.loc, fn: ev.fn, ...(ev.at ? { seriesLoc: ev.at } : {}),
        message: `${step.op.name} encrypts the VMSA of vcpu ${ev.vcpu} while the debugging armed by an earlier KVM_SET_GUEST_DEBUG is still set: the debug state survives into the protected guest, where KVM can no longer update DR7 or RFLAGS.TF; refuse LAUNCH_UPDATE_VMSA while vcpu->guest_debug is set, or clear it there`,
        note: `encrypts vcpu ${ev.vcpu}'s VMSA with debugging still armed`,
      });
    }
    return out;
  },
};
