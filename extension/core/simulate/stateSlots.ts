// The state as named slots, so a call's result can be keyed by the part of the state it read
// and wrote instead of the whole state. A function that tests one flag of one vCPU computes the
// same outcomes in every state that agrees on that flag; its result is kept as the slots' values
// after the call and laid over whatever state the next caller is in.
//
// Slots: `n` the number of vCPUs; `fw` the firmware's launch state with whether an SEV init
// succeeded; `vm.<flag>` a VM-scoped flag; `v<i>.<flag>`, `v<i>#E` (encrypted), `v<i>#D`
// (debug armed) for vCPU i. Reading a slot of a vCPU that does not exist gives `x`, so a result
// computed with the vCPU present is never reused without it.
import { type FirmwareState, type FlagValue, type SimState, cloneState } from './state';

export type SlotValue = FlagValue | boolean;

type SlotRef =
  | { k: 'count' }
  | { k: 'firmware' }
  | { k: 'vmFlag'; name: string }
  | { k: 'vcpuFlag'; vcpu: number; name: string }
  | { k: 'encrypted'; vcpu: number }
  | { k: 'debugArmed'; vcpu: number };

const ABSENT = 'x';
const parsed = new Map<string, SlotRef>();

function parse(slot: string): SlotRef {
  let ref = parsed.get(slot);
  if (ref) return ref;
  if (slot === 'n') ref = { k: 'count' };
  else if (slot === 'fw') ref = { k: 'firmware' };
  else if (slot.startsWith('vm.')) ref = { k: 'vmFlag', name: slot.slice(3) };
  else {
    const m = /^v(\d+)(?:#([ED])|\.(.+))$/.exec(slot);
    if (!m) throw new Error(`not a state slot: ${slot}`);
    const vcpu = Number(m[1]);
    ref = m[3] !== undefined ? { k: 'vcpuFlag', vcpu, name: m[3] } : m[2] === 'E' ? { k: 'encrypted', vcpu } : { k: 'debugArmed', vcpu };
  }
  parsed.set(slot, ref);
  return ref;
}

/** The slot of a tracked flag ("vm.<name>" or "vcpu.<name>") for vCPU `vcpu`; none for a vCPU flag without a vCPU. */
export function flagSlot(key: string, vcpu: number | null): string | undefined {
  if (key.startsWith('vm.')) return key;
  return vcpu === null ? undefined : `v${vcpu}.${key.slice(5)}`;
}

export const encryptedSlot = (vcpu: number): string => `v${vcpu}#E`;
export const debugArmedSlot = (vcpu: number): string => `v${vcpu}#D`;
export const COUNT_SLOT = 'n';
export const FIRMWARE_SLOT = 'fw';

export function readSlot(st: SimState, slot: string): SlotValue {
  const ref = parse(slot);
  switch (ref.k) {
    case 'count': return String(st.vcpus.length);
    case 'firmware': return `${st.sevInit ? 1 : 0}${st.firmware}`;
    case 'vmFlag': return st.flags[ref.name] ?? 0;
  }
  const v = st.vcpus[ref.vcpu];
  if (!v) return ABSENT;
  switch (ref.k) {
    case 'vcpuFlag': return v.flags[ref.name] ?? 0;
    case 'encrypted': return v.encrypted;
    case 'debugArmed': return v.debugArmed;
  }
}

function writeSlot(st: SimState, slot: string, value: SlotValue): void {
  const ref = parse(slot);
  switch (ref.k) {
    case 'count': return; // vCPUs are created by the exploration, never inside a call
    case 'firmware': {
      const s = String(value);
      st.sevInit = s[0] === '1';
      st.firmware = s.slice(1) as FirmwareState;
      return;
    }
    case 'vmFlag': st.flags[ref.name] = value as FlagValue; return;
  }
  const v = st.vcpus[ref.vcpu];
  if (!v || value === ABSENT) return;
  switch (ref.k) {
    case 'vcpuFlag': v.flags[ref.name] = value as FlagValue; return;
    case 'encrypted': v.encrypted = value as boolean; return;
    case 'debugArmed': v.debugArmed = value as boolean; return;
  }
}

/** The slots' values in `st`, as one key. Zero and an absent flag are the same value. */
export function projectionKey(st: SimState, slots: readonly string[]): string {
  let out = '';
  for (const s of slots) out += `${String(readSlot(st, s))};`;
  return out;
}

export function readSlots(st: SimState, slots: readonly string[]): SlotValue[] {
  return slots.map((s) => readSlot(st, s));
}

/** `st` with the slots set to `values`; `st` itself when they already hold them (states are shared, never changed). */
export function overlaySlots(st: SimState, slots: readonly string[], values: readonly SlotValue[]): SimState {
  let changed = false;
  for (let i = 0; i < slots.length && !changed; i++) changed = readSlot(st, slots[i]) !== values[i];
  if (!changed) return st;
  const out = cloneState(st);
  slots.forEach((s, i) => writeSlot(out, s, values[i]));
  return out;
}
