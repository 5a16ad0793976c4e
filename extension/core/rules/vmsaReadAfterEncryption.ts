import type { SimEvent } from '../simulate/interpreter';
import type { Hazard, Rule } from './rule';
import { vcpuName, originOf } from './rule';

/**
 * The reads of one step that matter: VMSA-backed state of an encrypted vCPU that KVM does not
 * keep current (the interpreter records no other), which the path decides on or hands back to
 * userspace by a later copy. A field KVM itself wrote earlier in the step (from the GHCB, for this
 * exit) is KVM's own value, not a stale one.
 */
export function readsThatMatter(events: readonly SimEvent[]): { ev: SimEvent & { k: 'vmsaRead' }; use: string }[] {
  const fresh = new Set<string>();
  const out: { ev: SimEvent & { k: 'vmsaRead' }; use: string }[] = [];
  for (const ev of events) {
    if (ev.k === 'vmsaWrite' && ev.area === 'vmcb') fresh.add(`${ev.vcpu}:${ev.field}`);
    if (ev.k !== 'vmsaRead' || !ev.encrypted) continue;
    if (ev.area === 'vmcb' && fresh.has(`${ev.vcpu}:${ev.field}`)) continue;
    // on a path decided by a vCPU mode the simulation does not track (nested guest mode, LBR
    // virtualization), the read may be unreachable: counted in a note, not reported (see modeDependentReads)
    if (ev.mode) continue;
    if (ev.decided) out.push({ ev, use: 'decides on it' });
    else if (ev.user) out.push({ ev, use: `hands it to userspace (${ev.user})` });
  }
  return out;
}

/** A path reads VMSA-backed state of an encrypted vCPU and hands it to userspace or decides on it. */
export const vmsaReadAfterEncryption: Rule = {
  id: 'vmsa-read-after-encryption',
  check(step) {
    const out: Hazard[] = [];
    for (const { ev, use } of readsThatMatter(step.events)) {
      if (!ev.decided && step.status === 'error') continue; // nothing was handed back
      const via = ev.via?.length ? ` (${[...ev.via].join(' -> ')})` : '';
      out.push({
        rule: this.id,
        key: `${this.id}|${ev.fn}`,
        detail: ev.field,
        loc: ev.loc, fn: ev.fn, ...(ev.at ? { seriesLoc: ev.at } : {}), ...originOf(ev),
        message: `${ev.fn}() reads VMSA-backed ${ev.field} of ${vcpuName(ev.vcpu)} after its VMSA was encrypted and ${use}${via ? `, reached by ${step.op.name}${via}` : ''}: KVM's copy is stale or meaningless once the state is protected (only what the guest shares through the GHCB is real)`,
        note: `reads ${ev.field} in ${ev.fn}() from an encrypted VMSA`,
      });
    }
    return out;
  },
};

/** Reads that would matter but sit on paths decided by an untracked vCPU mode bit, by that bit. */
export function modeDependentReads(events: readonly SimEvent[]): string[] {
  return [...new Set(events.filter((e) => e.k === 'vmsaRead' && e.encrypted && e.mode && (e.decided || e.user)).map((e) => e.mode!))];
}
