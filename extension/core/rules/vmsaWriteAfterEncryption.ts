import type { Hazard, Rule, StepResult } from './rule';
import type { SimEvent } from '../simulate/interpreter';
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
    const compat = legacyCompatWrites(step);
    for (const ev of step.events) {
      if (ev.k !== 'vmsaWrite' || !writeCanMatter(ev) || compat.includes(ev)) continue;
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

/**
 * Writes a legacy SEV-ES VM accepts for compatibility: on a path that tested the VM type and
 * found it legacy (has_protected_state clear: the code chose to let this type through), into
 * KVM's VMCB copy only, asked by userspace, not a debug register, in a step that succeeds and
 * changes nothing else of the vCPU's VMCB (its control area). A note (legacyWriteIgnored), not an
 * error. A tree with no VM type at all (6.1) makes no such choice, so its writes stay errors.
 */
export function legacyCompatWrites(step: StepResult): SimEvent[] {
  if (step.before.flags.has_protected_state === 1 || step.status === 'error') return [];
  if (step.events.some((e) => e.k === 'controlWrite')) return [];
  return step.events.filter((e) => e.k === 'vmsaWrite' && e.compat && e.encrypted && e.area === 'vmcb' && e.asked && !DEBUG_FIELDS.has(e.field));
}

/** The note for legacyCompatWrites: what the legacy type keeps doing, and that it is expected. */
export const legacyWriteIgnored: Rule = {
  id: 'legacy-write-ignored',
  check(step) {
    const out: Hazard[] = [];
    for (const ev of legacyCompatWrites(step)) {
      if (ev.k !== 'vmsaWrite') continue;
      out.push({
        rule: this.id,
        key: `${this.id}|${ev.fn}|${step.op.name}`,
        detail: ev.field,
        loc: ev.loc, fn: ev.fn, ...(ev.at ? { seriesLoc: ev.at } : {}), ...originOf(ev),
        message: `${step.op.name} succeeds on a legacy SEV-ES VM (KVM_SEV_ES_INIT) after encryption and ${ev.fn}() writes ${ev.field} into KVM's VMCB copy only, which the hardware ignores: upstream keeps this type succeeding for compatibility; VMs of type KVM_X86_SEV_ES_VM refuse it`,
        note: `writes ${ev.field} into KVM's ignored copy (legacy VM type)`,
      });
    }
    return out;
  },
};
