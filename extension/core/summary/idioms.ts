// The kernel idioms of SEV-ES code, in every variant we know of across kernel versions
// (5.11 to today). This is where "what is a VMSA write?" and "what is the protection flag?"
// are decided; lowerToIr.ts asks these questions while it walks the C tree.
import type { StateRef } from './ir';

/** What a local or parameter points at, decided from its type or, failing that, its name. */
/** `vmsa` is the VMSA page (svm->sev_es.vmsa); `vmcbSave` is the VMCB save area, KVM's own copy. */
/** `kvmRun` is the `kvm_run` page userspace maps and shares with KVM_RUN (vcpu->run). */
export type BaseKind = 'vcpu' | 'svm' | 'vm' | 'sev' | 'vmcb' | 'vmsa' | 'vmcbSave' | 'vmcbControl' | 'kvmRun';

const KIND_BY_TYPE: Record<string, BaseKind> = {
  kvm_vcpu: 'vcpu',
  vcpu_svm: 'svm',
  kvm: 'vm',
  kvm_svm: 'vm',
  kvm_sev_info: 'sev',
  kvm_run: 'kvmRun',
  // Not vmcb, vmcb_save_area or sev_es_save_area: a nested guest's vmcb12 and the host save area
  // have the same types, so such a pointer is this vCPU's only when its initializer says so
  // (svm->vmcb, &svm->vmcb->save, svm->sev_es.vmsa).
};

/** Hunks rarely show declarations, so conventional names stand in for them. */
const KIND_BY_NAME: Record<string, BaseKind> = {
  vcpu: 'vcpu', src_vcpu: 'vcpu', dst_vcpu: 'vcpu',
  svm: 'svm',
  kvm: 'vm',
  sev: 'sev',
  vmcb: 'vmcb',
  save: 'vmcbSave', vmsa: 'vmsa',
};

export function kindOfType(structName: string): BaseKind | undefined {
  return KIND_BY_TYPE[structName];
}

export function kindOfName(name: string): BaseKind | undefined {
  return KIND_BY_NAME[name];
}

/** Accessor calls whose result is a known base: to_svm(vcpu), to_kvm_sev_info(kvm), get_vmsa(svm). */
const KIND_BY_ACCESSOR: Record<string, BaseKind> = {
  to_svm: 'svm',
  to_kvm_svm: 'vm',
  to_kvm_sev_info: 'sev',
  get_vmsa: 'vmsa',
  svm_get_vmsa: 'vmsa',
};

export function kindOfAccessor(fn: string): BaseKind | undefined {
  return KIND_BY_ACCESSOR[fn];
}

/**
 * Follows a chain of fields from a base (svm->vmcb->save.dr7 is base svm, fields
 * [vmcb, save, dr7]) to the state it names, or null when it is state we do not model.
 */
export function resolveFields(kind: BaseKind, fields: string[]): StateRef | null {
  let k: BaseKind = kind;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    switch (k) {
      case 'vcpu':
        if (f === 'arch') continue;
        if (f === 'kvm') { k = 'vm'; continue; }
        if (f === 'guest_fpu') return fpuRef(fields.slice(i + 1));
        if (f === 'run') { k = 'kvmRun'; continue; }
        return { k: 'flag', scope: 'vcpu', name: fields.slice(i).join('.') };
      case 'svm':
        if (f === 'vcpu') { k = 'vcpu'; continue; }
        if (f === 'vmcb' || f === 'vmcb01' || f === 'ptr' || f === 'current_vmcb') { k = 'vmcb'; continue; }
        if (f === 'sev_es') continue;
        if (f === 'vmsa') { k = 'vmsa'; continue; }
        return { k: 'flag', scope: 'vcpu', name: fields.slice(i).join('.') };
      case 'vmcb':
        if (f === 'ptr') continue;
        if (f === 'save') { k = 'vmcbSave'; continue; }
        if (f === 'control') { k = 'vmcbControl'; continue; }
        return null;
      case 'vmcbControl':
        return { k: 'control', field: fields.slice(i).join('.') };
      case 'vmsa':
        return { k: 'vmsa', field: f.toUpperCase(), area: 'page' };
      case 'vmcbSave':
        return { k: 'vmsa', field: f.toUpperCase(), area: 'vmcb' };
      case 'vm':
        if (f === 'arch') continue;
        if (f === 'sev_info') { k = 'sev'; continue; }
        return { k: 'flag', scope: 'vm', name: fields.slice(i).join('.') };
      case 'sev':
        return { k: 'flag', scope: 'vm', name: 'sev.' + fields.slice(i).join('.') };
      case 'kvmRun':
        return { k: 'user', field: fields.slice(i).join('.') };
    }
  }
  // The chain ended on a base: a whole save area (a memcpy destination or source).
  if (k === 'vmsa') return WHOLE_VMSA_PAGE;
  if (k === 'vmcbSave') return WHOLE_VMCB_SAVE;
  if (k === 'kvmRun') return { k: 'user', field: '' };
  return null;
}

export const WHOLE_VMSA_PAGE: StateRef = { k: 'vmsa', field: 'VMSA', area: 'page' };
export const WHOLE_VMCB_SAVE: StateRef = { k: 'vmsa', field: 'VMCB_SAVE', area: 'vmcb' };

/** The whole VMSA page or VMCB save area, as opposed to one field of it. */
export function isWholeArea(ref: StateRef): boolean {
  return ref.k === 'vmsa' && (ref.field === 'VMSA' || ref.field === 'VMCB_SAVE');
}

function fpuRef(rest: string[]): StateRef {
  // vcpu->arch.guest_fpu.fpstate->is_confidential and fpstate_is_confidential(&vcpu->arch.guest_fpu)
  if (rest.includes('is_confidential') || rest.length === 0) return { k: 'flag', scope: 'vcpu', name: FPU_CONFIDENTIAL };
  return { k: 'flag', scope: 'vcpu', name: 'guest_fpu.' + rest.join('.') };
}

export const FPU_CONFIDENTIAL = 'fpu_confidential';

/** Predicates over the VM or vCPU that read one flag: sev_es_guest(kvm) reads sev.es_active. */
const PREDICATES: Record<string, StateRef> = {
  sev_guest: { k: 'flag', scope: 'vm', name: 'sev.active' },
  sev_es_guest: { k: 'flag', scope: 'vm', name: 'sev.es_active' },
  ____sev_es_guest: { k: 'flag', scope: 'vm', name: 'sev.es_active' },
  is_sev_es_guest: { k: 'flag', scope: 'vm', name: 'sev.es_active' },
  is_sev_guest: { k: 'flag', scope: 'vm', name: 'sev.active' },
  sev_snp_guest: { k: 'flag', scope: 'vm', name: 'sev.snp_active' },
  is_sev_snp_guest: { k: 'flag', scope: 'vm', name: 'sev.snp_active' },
  fpstate_is_confidential: { k: 'flag', scope: 'vcpu', name: FPU_CONFIDENTIAL },
};

export function predicateRef(fn: string): StateRef | undefined {
  return PREDICATES[fn];
}

/** Calls that set a flag with no assignment in sight. */
const FLAG_SETTERS: Record<string, { ref: StateRef; value: number }> = {
  fpstate_set_confidential: { ref: { k: 'flag', scope: 'vcpu', name: FPU_CONFIDENTIAL }, value: 1 },
};

export function flagSetter(fn: string): { ref: StateRef; value: number } | undefined {
  return FLAG_SETTERS[fn];
}

/** The protection flag and the other flags the rules and the launch flow name. */
export const FLAGS = {
  protectedState: 'vcpu.guest_state_protected',
  guestDebug: 'vcpu.guest_debug',
  hasProtectedState: 'vm.has_protected_state',
  esActive: 'vm.sev.es_active',
  sevActive: 'vm.sev.active',
  createdVcpus: 'vm.created_vcpus',
} as const;

export function flagKey(ref: StateRef): string {
  if (ref.k === 'flag') return `${ref.scope}.${ref.name}`;
  if (ref.k === 'vmsa') return `vmsa.${ref.field}`;
  if (ref.k === 'field') return `local.${ref.root}.${ref.path}`;
  if (ref.k === 'user') return `user.${ref.field}`;
  if (ref.k === 'control') return `vmcb.control.${ref.field}`;
  return `local.${ref.name}`;
}

/**
 * Indirect calls through the vendor ops table, all spellings:
 * kvm_x86_ops.op(...), kvm_x86_ops->op(...), static_call(kvm_x86_op)(...), kvm_x86_call(op)(...),
 * kvm_x86_ops.op tested for presence.
 */
export const OPS_TABLE_NAMES = new Set(['kvm_x86_ops', 'x86_ops']);
export const STATIC_CALL_PREFIX = 'kvm_x86_';

/** Loop macros that run their body once per vCPU of the VM. */
export function isVcpuLoop(macro: string): boolean {
  return macro === 'kvm_for_each_vcpu' || macro === 'kvm_for_each_vcpu_range';
}

/** Other for_each_* macros: the body runs zero or more times. */
export function isLoopMacro(macro: string): boolean {
  return /(^|_)for_each(_|$)/.test(macro) || /^list_for_each/.test(macro);
}

/** Firmware commands that move the launch flow; ground truth changes only through these. */
export const FIRMWARE_CALLS = new Set(['sev_issue_cmd', '__sev_issue_cmd', 'sev_do_cmd', 'sev_issue_cmd_external_user']);

export type FirmwareCommand = 'LAUNCH_START' | 'LAUNCH_UPDATE_DATA' | 'LAUNCH_UPDATE_VMSA' | 'LAUNCH_MEASURE' | 'LAUNCH_SECRET' | 'LAUNCH_FINISH'
  | 'SNP_LAUNCH_START' | 'SNP_LAUNCH_UPDATE' | 'SNP_LAUNCH_FINISH' | 'OTHER';

export function firmwareCommand(constant: string): FirmwareCommand | undefined {
  const m = /^SEV_CMD_(\w+)$/.exec(constant);
  if (!m) return undefined;
  switch (m[1]) {
    case 'LAUNCH_START': case 'LAUNCH_UPDATE_DATA': case 'LAUNCH_UPDATE_VMSA':
    case 'LAUNCH_MEASURE': case 'LAUNCH_SECRET': case 'LAUNCH_FINISH': case 'SNP_LAUNCH_START': case 'SNP_LAUNCH_UPDATE': case 'SNP_LAUNCH_FINISH':
      return m[1];
    default:
      return 'OTHER';
  }
}

/** Calls that arm guest debugging in hardware: #DB/#BP intercepts. */
export function debugArmingCall(fn: string, argTexts: string[]): boolean {
  return (fn === 'set_exception_intercept' || fn === 'vmcb_set_intercept' || fn === 'svm_set_intercept')
    && argTexts.some((a) => /\b(DB_VECTOR|BP_VECTOR|INTERCEPT_DB|INTERCEPT_BP)\b/.test(a));
}

/** Copies into the VMSA page: memcpy(save, ...), memcpy(svm->sev_es.vmsa, ...). */
export const MEMORY_WRITERS = new Set(['memcpy', 'memset', 'memmove']);

/** WARN_ON*(cond) warns and evaluates to cond: it does not refuse by itself. */
export function isWarnMacro(fn: string): boolean {
  return /^WARN_ON(_ONCE)?$|^WARN(_ONCE)?$|^KVM_BUG_ON$/.test(fn);
}

/** likely()/unlikely() and friends are transparent. */
export function isTransparentWrapper(fn: string): boolean {
  return fn === 'likely' || fn === 'unlikely' || fn === 'READ_ONCE' || fn === '!!' || fn === 'array_index_nospec';
}

/**
 * Where userspace's data crosses into the kernel and back: a path that copies from userspace
 * carries a change userspace asked for; a path that copies to userspace hands back what it read.
 */
const FROM_USER = /^(__)?copy_from_user$|^(v)?memdup_user(_nul)?$|^(__)?get_user$|^copy_struct_from_user$/;
const TO_USER = /^(__)?copy_to_user$|^(__)?put_user$|^copy_struct_to_user$/;

export function isCopyFromUser(fn: string): boolean {
  return FROM_USER.test(fn);
}

export function isCopyToUser(fn: string): boolean {
  return TO_USER.test(fn);
}

/**
 * VMSA-backed registers KVM keeps current for a protected vCPU: the guest's writes to them trap
 * (CR0, CR4, CR8 and EFER write traps; XCR0 and XSS reported through the GHCB), so KVM's copy
 * is the guest's value and deciding on it is sound.
 */
const TRAP_TRACKED = new Set(['EFER', 'CR0', 'CR4', 'CR8', 'XCR0', 'XSS']);

export function keptCurrentByTraps(field: string): boolean {
  return TRAP_TRACKED.has(field);
}

/** A named constant as the kernel spells them (KVM_SET_SREGS, MSR_STAR, SVM_EXIT_NPF). */
export function isNamedConstant(name: string): boolean {
  return /^[A-Z][A-Z0-9_]*[A-Z0-9]$/.test(name) && name !== 'NULL';
}

/**
 * The exits the hardware itself takes for an SEV-ES guest (AMD APM vol. 2, "SEV-ES automatic
 * exits"): interrupts, NMI, SMI, INIT, the interrupt window, PAUSE, HLT, shutdown, nested page
 * faults, VMGEXIT, the CR/EFER write traps and the #AC/#MC intercepts. Any other intercepted
 * event raises #VC inside the guest, which can only ask for it through VMGEXIT. A fact about the
 * machine, so a label: which handlers exist still comes from the code's exit table.
 */
const SEV_ES_AUTOMATIC_EXIT = /^SVM_EXIT_(INTR|NMI|SMI|INIT|VINTR|PAUSE|HLT|IDLE_HLT|SHUTDOWN|NPF|VMGEXIT|BUS_LOCK|EFER_WRITE_TRAP|CR\d+_WRITE_TRAP|ERR)$|^SVM_EXIT_EXCP_BASE\s*\+\s*(AC|MC)_VECTOR$/;

export function isSevEsAutomaticExit(index: string): boolean {
  return SEV_ES_AUTOMATIC_EXIT.test(index);
}

/** The VMCB control field that holds the exit code the hardware (or the GHCB sync) reports. */
export const EXIT_CODE_FIELD = 'exit_code';
