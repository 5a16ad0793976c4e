// The operations userspace (QEMU, a fuzzer, an attacker) can issue, and the handler each one
// runs. This is the alphabet of the simulation; a `case KVM_...:` a patch adds joins it.

export type OperationKind = 'vcpu-ioctl' | 'sev-command' | 'sev-init' | 'create-vcpu';

export interface Operation {
  name: string;
  kind: OperationKind;
  /** Function the dispatcher calls for this operation. */
  handler: string;
  /** Hands vCPU state back to userspace (KVM_GET_*): any VMSA-backed read in it is exposed. */
  returnsToUser?: boolean;
  /** Userspace asks to change vCPU state (KVM_SET_*): a write it causes on protected state is lost. */
  setsState?: boolean;
  /** Needed by the launch flow while the VMSA is plaintext (QEMU builds the initial state). */
  neededForLaunch?: boolean;
  /** VM type the operation exists for (KVM_SEV_ES_INIT is legacy-only, KVM_SEV_INIT2 protected-only). */
  vmType?: 'legacy' | 'protected';
  /** Where the operation came from: the built-in list or a `case` a patch added. */
  source?: { file: string; line: number };
}

export const BUILTIN_OPERATIONS: readonly Operation[] = [
  { name: 'KVM_SEV_ES_INIT', kind: 'sev-init', handler: 'sev_guest_init', vmType: 'legacy' },
  { name: 'KVM_SEV_INIT2', kind: 'sev-init', handler: 'sev_guest_init2', vmType: 'protected' },
  { name: 'KVM_CREATE_VCPU', kind: 'create-vcpu', handler: 'kvm_arch_vcpu_create' },
  { name: 'KVM_SET_REGS', kind: 'vcpu-ioctl', handler: 'kvm_arch_vcpu_ioctl_set_regs', setsState: true, neededForLaunch: true },
  { name: 'KVM_GET_REGS', kind: 'vcpu-ioctl', handler: 'kvm_arch_vcpu_ioctl_get_regs', returnsToUser: true },
  { name: 'KVM_SET_SREGS', kind: 'vcpu-ioctl', handler: 'kvm_arch_vcpu_ioctl_set_sregs', setsState: true, neededForLaunch: true },
  { name: 'KVM_GET_SREGS', kind: 'vcpu-ioctl', handler: 'kvm_arch_vcpu_ioctl_get_sregs', returnsToUser: true },
  { name: 'KVM_SET_FPU', kind: 'vcpu-ioctl', handler: 'kvm_arch_vcpu_ioctl_set_fpu', setsState: true },
  { name: 'KVM_GET_FPU', kind: 'vcpu-ioctl', handler: 'kvm_arch_vcpu_ioctl_get_fpu', returnsToUser: true },
  { name: 'KVM_SET_XSAVE', kind: 'vcpu-ioctl', handler: 'kvm_vcpu_ioctl_x86_set_xsave', setsState: true },
  { name: 'KVM_GET_XSAVE', kind: 'vcpu-ioctl', handler: 'kvm_vcpu_ioctl_x86_get_xsave', returnsToUser: true },
  { name: 'KVM_SET_XCRS', kind: 'vcpu-ioctl', handler: 'kvm_vcpu_ioctl_x86_set_xcrs', setsState: true, neededForLaunch: true },
  { name: 'KVM_GET_XCRS', kind: 'vcpu-ioctl', handler: 'kvm_vcpu_ioctl_x86_get_xcrs', returnsToUser: true, neededForLaunch: true },
  { name: 'KVM_SET_DEBUGREGS', kind: 'vcpu-ioctl', handler: 'kvm_vcpu_ioctl_x86_set_debugregs', setsState: true },
  { name: 'KVM_GET_DEBUGREGS', kind: 'vcpu-ioctl', handler: 'kvm_vcpu_ioctl_x86_get_debugregs', returnsToUser: true },
  { name: 'KVM_SET_MSRS', kind: 'vcpu-ioctl', handler: 'kvm_vcpu_ioctl_set_msrs', setsState: true, neededForLaunch: true },
  { name: 'KVM_SET_CPUID2', kind: 'vcpu-ioctl', handler: 'kvm_vcpu_ioctl_set_cpuid2', setsState: true, neededForLaunch: true },
  { name: 'KVM_SET_GUEST_DEBUG', kind: 'vcpu-ioctl', handler: 'kvm_arch_vcpu_ioctl_set_guest_debug', setsState: true },
  { name: 'KVM_RUN', kind: 'vcpu-ioctl', handler: 'kvm_arch_vcpu_ioctl_run' },
  { name: 'KVM_SEV_LAUNCH_START', kind: 'sev-command', handler: 'sev_launch_start' },
  { name: 'KVM_SEV_LAUNCH_UPDATE_DATA', kind: 'sev-command', handler: 'sev_launch_update_data' },
  { name: 'KVM_SEV_LAUNCH_UPDATE_VMSA', kind: 'sev-command', handler: 'sev_launch_update_vmsa' },
  { name: 'KVM_SEV_LAUNCH_MEASURE', kind: 'sev-command', handler: 'sev_launch_measure' },
  { name: 'KVM_SEV_LAUNCH_FINISH', kind: 'sev-command', handler: 'sev_launch_finish' },
];

/** The dispatch functions whose `case KVM_...:` labels name operations. */
export const DISPATCHERS: Record<string, OperationKind> = {
  kvm_arch_vcpu_ioctl: 'vcpu-ioctl',
  kvm_vcpu_ioctl: 'vcpu-ioctl',
  sev_mem_enc_ioctl: 'sev-command',
};
