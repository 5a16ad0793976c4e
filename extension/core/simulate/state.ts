// The abstract state the simulation explores. Two kinds of facts, kept apart on purpose:
// ground truth (what hardware and firmware did) changes only through firmware commands and
// hardware-arming effects; kernel belief (flags) changes only through the code's assignments.
// Guards read belief; hazards are judged on ground truth.

/** A flag's value: 0, nonzero (1), a named constant (kvm->arch.vm_type = KVM_X86_SEV_ES_VM), or unknown (null). */
export type FlagValue = 0 | 1 | null | string;

export type FirmwareState = 'NONE' | 'UNINIT' | 'LUPDATE' | 'LSECRET' | 'RUNNING';

export interface VcpuState {
  /** Ground truth: LAUNCH_UPDATE_VMSA encrypted this vCPU's VMSA. */
  encrypted: boolean;
  /** Ground truth: debug flags committed or #DB/#BP intercepts / DR7 armed for this vCPU. */
  debugArmed: boolean;
  /** Kernel belief: vcpu-scoped flags by name (guest_state_protected, guest_debug, ...). */
  flags: Record<string, FlagValue>;
}

export interface SimState {
  vmType: 'legacy' | 'protected' | 'snp';
  /** Ground truth: an SEV-ES init command succeeded. */
  sevInit: boolean;
  firmware: FirmwareState;
  vcpus: VcpuState[];
  /** Kernel belief: vm-scoped flags (has_protected_state, sev.es_active, created_vcpus, ...). */
  flags: Record<string, FlagValue>;
}

/** Zero is every flag's value at allocation, so a zero flag and an absent one are the same state. */
function flagsKey(f: Record<string, FlagValue>): string {
  return Object.keys(f).filter((k) => f[k] !== 0).sort().map((k) => `${k}=${f[k] ?? '?'}`).join(',');
}

// States are never changed once shared (every writer clones first), so their keys are memoized.
const keys = new WeakMap<SimState, string>();
const symmetricKeys = new WeakMap<SimState, string>();

export function stateKey(s: SimState): string {
  let k = keys.get(s);
  if (k === undefined) { k = computeStateKey(s); keys.set(s, k); }
  return k;
}

function computeStateKey(s: SimState): string {
  return `${s.vmType}|${s.sevInit ? 1 : 0}|${s.firmware}|${flagsKey(s.flags)}|` +
    s.vcpus.map((v) => `${v.encrypted ? 'E' : 'p'}${v.debugArmed ? 'D' : '-'}{${flagsKey(v.flags)}}`).join(';');
}

/**
 * vCPUs are interchangeable: two states that differ only in which vCPU is in which state are
 * the same for exploration, which halves the states with two vCPUs.
 */
export function symmetricStateKey(s: SimState): string {
  let k = symmetricKeys.get(s);
  if (k === undefined) { k = computeSymmetricKey(s); symmetricKeys.set(s, k); }
  return k;
}

function computeSymmetricKey(s: SimState): string {
  const vcpus = s.vcpus.map((v) => `${v.encrypted ? 'E' : 'p'}${v.debugArmed ? 'D' : '-'}{${flagsKey(v.flags)}}`).sort();
  return `${s.vmType}|${s.sevInit ? 1 : 0}|${s.firmware}|${flagsKey(s.flags)}|${vcpus.join(';')}`;
}

export function cloneState(s: SimState): SimState {
  return {
    ...s,
    flags: { ...s.flags },
    vcpus: s.vcpus.map((v) => ({ ...v, flags: { ...v.flags } })),
  };
}

/** A flag key is "vcpu.<name>" or "vm.<name>"; returns its value in s for vCPU `vcpu`. */
export function readFlag(s: SimState, key: string, vcpu: number | null, tracked: ReadonlySet<string>): FlagValue {
  if (!tracked.has(key)) return null;
  if (key.startsWith('vm.')) return s.flags[key.slice(3)] ?? 0;
  if (vcpu === null || !s.vcpus[vcpu]) return null;
  return s.vcpus[vcpu].flags[key.slice(5)] ?? 0;
}

/** Writes a tracked flag in place (callers clone first); untracked flags are not state. */
export function writeFlag(s: SimState, key: string, vcpu: number | null, value: FlagValue, tracked: ReadonlySet<string>): boolean {
  if (!tracked.has(key)) return false;
  if (key.startsWith('vm.')) { s.flags[key.slice(3)] = value; return true; }
  if (vcpu === null || !s.vcpus[vcpu]) return false;
  s.vcpus[vcpu].flags[key.slice(5)] = value;
  return true;
}
