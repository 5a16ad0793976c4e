import type { Hazard, Rule } from './rule';
import { neededForLaunch } from '../simulate/operations';

/** A set-up ioctl that the launch flow needs is refused while the VMSA is still plaintext. */
export const initRefusedBeforeEncryption: Rule = {
  id: 'init-refused-before-encryption',
  check(step) {
    if (!neededForLaunch(step.op) || step.status !== 'error' || step.vcpu === null) return [];
    const v = step.before.vcpus[step.vcpu];
    const cause = step.ret.cause;
    // Only refusals the state decided: an invalid argument is refused on any VM.
    if (!v || v.encrypted || !step.before.sevInit || !cause) return [];
    const h: Hazard = {
      rule: this.id,
      key: `${this.id}|${step.op.name}`,
      loc: cause.loc, fn: cause.fn,
      message: `${step.op.name} is refused for vcpu ${step.vcpu} while its VMSA is still plaintext, because ${cause.fn}() tests ${cause.text}: QEMU builds the initial register state with ${step.op.name} before KVM_SEV_LAUNCH_UPDATE_VMSA, so SEV-ES guests can no longer be launched`,
      note: `${step.op.name} refused by ${cause.text} before encryption`,
    };
    return [h];
  },
};
