// The operations userspace (QEMU, a fuzzer, an attacker) can issue: each is a `case KVM_...:` of
// a dispatcher in the code (operationsFromDispatchers.ts finds them), run as the dispatcher
// with that case selected. The tables below only label operations; which exist is the code's.

export type OperationKind = 'vcpu-ioctl' | 'vm-ioctl';

export interface Operation {
  /** The case label: KVM_SET_SREGS, KVM_SEV_LAUNCH_UPDATE_VMSA, ... */
  name: string;
  kind: OperationKind;
  /** The dispatcher function whose switch holds the case; the simulation runs it with the case selected. */
  handler: string;
  /** Position of the dispatcher's parameter that carries the ioctl number, when it switches on one. */
  selectorParam?: number;
  /** The case of an outer dispatcher that leads here (KVM_MEMORY_ENCRYPT_OP for KVM_SEV_*). */
  via?: string;
  /** A case a patch added to this dispatcher: `handler` is then the hunk's case body on its own. */
  addedTo?: string;
  /** Where the case label is. */
  source?: { file: string; line: number };
}

/** The file descriptors' entry points: every dispatcher is found from these through the code. */
export const ROOT_DISPATCHERS: Readonly<Record<string, OperationKind>> = {
  kvm_vcpu_ioctl: 'vcpu-ioctl',
  kvm_vm_ioctl: 'vm-ioctl',
};

/** Labels: the operation that makes a vCPU exist (the simulation adds it before the handler runs). */
export function createsVcpu(op: Operation): boolean {
  return op.name === 'KVM_CREATE_VCPU';
}

/** Labels: the commands that make the VM an SEV guest (ground truth: the firmware context exists). */
export function initialisesSev(op: Operation): boolean {
  return /^KVM_SEV(_ES)?_INIT2?$/.test(op.name);
}

/**
 * Labels: the set-up ioctls QEMU's SEV-ES launch needs while the VMSA is still plaintext (it
 * builds the initial register state with them), for the init-refused-before-encryption rule.
 */
const NEEDED_FOR_LAUNCH = new Set(['KVM_SET_REGS', 'KVM_SET_SREGS', 'KVM_SET_XCRS', 'KVM_GET_XCRS', 'KVM_SET_MSRS', 'KVM_SET_CPUID2']);

export function neededForLaunch(op: Operation): boolean {
  return NEEDED_FOR_LAUNCH.has(op.name);
}

/** The VM types the simulation creates, by the constant userspace passes to KVM_CREATE_VM. */
export const VM_TYPE_CONSTANT = { legacy: 'KVM_X86_DEFAULT_VM', protected: 'KVM_X86_SEV_ES_VM', snp: 'KVM_X86_SNP_VM' } as const;

/** The function VM creation hands its type to. */
export const VM_CREATION = 'kvm_arch_init_vm';
