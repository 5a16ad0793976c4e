// What each rule means, in one place: the text formats, the SARIF driver and the editor's
// hover help all describe a rule from here, so the wording cannot drift between them.

import type { RuleId, Severity } from '../findings';

export interface RuleMeta {
  id: RuleId;
  /** PascalCase form of the id, for SARIF's reportingDescriptor.name. */
  name: string;
  defaultSeverity: Severity;
  shortDescription: string;
  fullDescription: string;
}

// A Record keyed by RuleId makes the compiler reject a RuleId added without metadata.
const CATALOG: Record<RuleId, Omit<RuleMeta, 'id' | 'name'>> = {
  'vmsa-write-after-encryption': {
    defaultSeverity: 'error',
    shortDescription: 'KVM writes vCPU register state after the SEV-ES VMSA has been encrypted.',
    fullDescription:
      'For an SEV-ES guest, KVM_SEV_LAUNCH_UPDATE_VMSA encrypts the vCPU save area (VMSA) with the ' +
      "guest's key. From then on KVM can neither read nor write the vCPU's register state: the VMSA " +
      'belongs to the guest and is integrity-checked by the hardware. A path that still writes ' +
      'register state (KVM_SET_REGS, KVM_SET_SREGS, KVM_SET_XCRS, KVM_SET_MSRS, or an internal ' +
      'update of save.rip, save.rflags, save.dr7 and similar) either corrupts the ' +
      'encrypted VMSA, so the next VMRUN fails with a SHUTDOWN exit, or silently changes nothing. ' +
      'Such paths must be refused once vcpu->arch.guest_state_protected is set.',
  },
  'vmsa-read-after-encryption': {
    defaultSeverity: 'warning',
    shortDescription: 'KVM reads vCPU register state after the SEV-ES VMSA has been encrypted.',
    fullDescription:
      'Once KVM_SEV_LAUNCH_UPDATE_VMSA has encrypted the VMSA, the copy of the register state KVM ' +
      'can see is stale: the guest runs on the encrypted VMSA and KVM no longer tracks it. A path ' +
      'that reads register state after that point (KVM_GET_REGS, KVM_GET_SREGS, KVM_GET_XCRS, ' +
      'KVM_GET_MSRS, or an internal read of save.* fields) returns stale or meaningless data to ' +
      'userspace or bases a decision on it. Such reads should be refused, or return a defined value, ' +
      'while vcpu->arch.guest_state_protected is set.',
  },
  'debug-after-encryption': {
    defaultSeverity: 'error',
    shortDescription: 'Guest debugging can be enabled after the SEV-ES VMSA has been encrypted.',
    fullDescription:
      'KVM_SET_GUEST_DEBUG arms hardware breakpoints (DR7), single-stepping (RFLAGS.TF) and the #DB ' +
      "and #BP intercepts by editing the vCPU's register state. After KVM_SEV_LAUNCH_UPDATE_VMSA " +
      'that state is encrypted, so none of this can work: the writes are lost or corrupt the VMSA, ' +
      'and the intercepts deliver exits KVM cannot service. KVM_SET_GUEST_DEBUG must fail once ' +
      'vcpu->arch.guest_state_protected is set.',
  },
  'debug-armed-at-encryption': {
    defaultSeverity: 'error',
    shortDescription: 'LAUNCH_UPDATE_VMSA encrypts the VMSA while guest debugging is armed.',
    fullDescription:
      'If userspace calls KVM_SET_GUEST_DEBUG before KVM_SEV_LAUNCH_UPDATE_VMSA, the debug state ' +
      '(DR7, RFLAGS.TF, the #DB and #BP intercepts) is baked into the VMSA when it is encrypted, and ' +
      'KVM can never clear it afterwards. The guest then starts with breakpoints or single-step ' +
      'that nobody can service. KVM_SEV_LAUNCH_UPDATE_VMSA must refuse while vcpu->guest_debug is ' +
      'set, or sanitize the debug state before encrypting.',
  },
  'protection-flag-not-set': {
    defaultSeverity: 'error',
    shortDescription: 'The VMSA is encrypted but vcpu->arch.guest_state_protected is never set.',
    fullDescription:
      'Every check that keeps KVM away from encrypted register state tests ' +
      'vcpu->arch.guest_state_protected. If KVM_SEV_LAUNCH_UPDATE_VMSA (or the equivalent path for ' +
      'the VM type) encrypts the VMSA without setting that flag, all of those checks pass and ' +
      'later register reads and writes go through as if the state were plaintext. The flag must be ' +
      'set as soon as the VMSA is encrypted.',
  },
  'init-refused-before-encryption': {
    defaultSeverity: 'warning',
    shortDescription: 'A set-up ioctl is refused while the VMSA is still plaintext.',
    fullDescription:
      'Before KVM_SEV_LAUNCH_UPDATE_VMSA the VMSA is still plaintext, and QEMU builds the initial ' +
      'vCPU state with KVM_SET_REGS, KVM_SET_SREGS, KVM_GET_XCRS, KVM_SET_XCRS, KVM_SET_MSRS and ' +
      'KVM_SET_CPUID2. A guard that refuses these for every SEV-ES vCPU, rather than only once the ' +
      'state is protected, breaks guest launch. They must keep working until the VMSA is encrypted.',
  },
  'sev-init-after-vcpu-create': {
    defaultSeverity: 'error',
    shortDescription: 'SEV-ES initialisation succeeds after vCPUs have been created.',
    fullDescription:
      'KVM_SEV_ES_INIT and KVM_SEV_INIT2 turn the VM into an SEV-ES VM, which changes how every ' +
      'vCPU is created (VMSA page, intercepts, protected state). vCPUs created before that point ' +
      'were set up as ordinary vCPUs and are never converted. Both commands must fail once ' +
      'kvm->created_vcpus is non-zero.',
  },
  'legacy-write-ignored': {
    defaultSeverity: 'info',
    shortDescription: 'A legacy SEV-ES VM accepts a register write after encryption that only KVM\'s ignored copy sees.',
    fullDescription:
      'On the legacy VM type (KVM_SEV_ES_INIT, no has_protected_state), upstream keeps the state ' +
      'ioctls succeeding after KVM_SEV_LAUNCH_UPDATE_VMSA for compatibility with existing userspace: ' +
      "the value lands in KVM's VMCB save-area copy, which the hardware ignores for an SEV-ES guest, " +
      'and nothing else changes. That is the documented behaviour of the type, reported as a note. A ' +
      'write with effects beyond that copy (a debug register, the VMCB control area) stays an error.',
  },
  'analysis-incomplete': {
    defaultSeverity: 'info',
    shortDescription: 'Part of the series could not be parsed or resolved; results may be incomplete.',
    fullDescription:
      'The analysis could not parse a hunk or function, or could not resolve a function the ' +
      'lifecycle model calls (not in the series, the built-in model or the --tree source). The ' +
      'message says what was skipped and what was assumed instead. Findings on paths through that ' +
      'code may be missing or spurious.',
  },
};

function pascalCase(id: string): string {
  return id
    .split('-')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
}

/** Every rule, in a fixed order; SARIF ruleIndex values are positions in this list. */
export const RULES: readonly RuleMeta[] = (Object.keys(CATALOG) as RuleId[]).map((id) => ({
  id,
  name: pascalCase(id),
  ...CATALOG[id],
}));

export const RULE_IDS: readonly RuleId[] = RULES.map((rule) => rule.id);

export function ruleMeta(id: RuleId): RuleMeta {
  const meta = RULES.find((rule) => rule.id === id);
  if (!meta) throw new Error(`unknown rule ${id}`);
  return meta;
}

/** Index of a rule in RULES (for SARIF ruleIndex). */
export function ruleIndex(id: RuleId): number {
  return RULE_IDS.indexOf(id);
}

/**
 * Where a rule is documented: README.md#rule-<id>, relative unless a base URL is given
 * (e.g. the repository's web address), since a relative link only resolves next to the README.
 */
export function helpUri(rule: RuleId, base?: string): string {
  const anchor = `README.md#rule-${rule}`;
  if (!base) return anchor;
  return base.endsWith('/') ? base + anchor : `${base}/${anchor}`;
}
