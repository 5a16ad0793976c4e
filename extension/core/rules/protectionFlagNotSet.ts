import { FLAGS } from '../summary/idioms';
import type { Hazard, Rule } from './rule';

/** After an operation succeeds, a vCPU's VMSA is encrypted but guest_state_protected is still false. */
export const protectionFlagNotSet: Rule = {
  id: 'protection-flag-not-set',
  check(step) {
    const out: Hazard[] = [];
    if (step.status === 'error') return out;
    const name = FLAGS.protectedState.slice('vcpu.'.length);
    step.after.vcpus.forEach((v, i) => {
      if (!v.encrypted || v.flags[name] === 1) return;
      if (step.before.vcpus[i]?.encrypted) return; // reported at the step that encrypted it
      const enc = step.events.find((e) => e.k === 'encrypt' && e.vcpu === i);
      const loc = enc?.loc ?? step.seriesLoc?.loc ?? step.handlerLoc;
      const fn = enc?.fn ?? step.op.handler;
      out.push({
        rule: this.id,
        key: `${this.id}|${fn}`,
        loc, fn, ...(enc?.at ? { seriesLoc: enc.at } : {}),
        message: `${step.op.name} returns success with vcpu ${i}'s VMSA encrypted but vcpu->arch.guest_state_protected still false: every guard that tests the flag lets register reads and writes through, which then target protected state (set the flag where the firmware encrypts the VMSA)`,
        note: `encrypts vcpu ${i}'s VMSA in ${fn}() without setting guest_state_protected`,
      });
    });
    return out;
  },
};
