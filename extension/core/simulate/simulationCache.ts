// What one analysis remembers while it simulates a series prefix after prefix: outcomes of
// calls and of whole operations, keyed by small numbers for states and code fingerprints.
// Owned by the analysis and dropped with it, so a long-lived editor host does not accumulate it.
import type { StepResult } from '../rules/rule';
import type { Facts } from './pathFacts';
import type { PathCtx, SimEvent, Val } from './interpreter';
import type { Loc } from '../summary/ir';
import { type SimState, stateKey } from './state';
import { projectionKey, type SlotValue } from './stateSlots';

/** Long strings (state keys, code fingerprints) to small numbers, for cheap cache keys. */
export class Interner {
  private readonly ids = new Map<string, number>();

  id(key: string): number {
    let id = this.ids.get(key);
    if (id === undefined) { id = this.ids.size; this.ids.set(key, id); }
    return id;
  }

  get size(): number {
    return this.ids.size;
  }
}

/** One outcome of a call, its state as the values of the slots the call read or wrote (see stateSlots). */
export interface StoredOutcome { out: SlotValue[]; events: SimEvent[]; seriesLoc?: PathCtx['seriesLoc']; val: Val; facts: Facts }

/**
 * What a call left unfollowed or took as unknown (a path bound, a goto chain, recursion): named
 * again whenever its result is reused, so a reused result reports what a computed one would.
 */
export interface CallNote { key: string; fn: string; loc: Loc; what: string; cut: boolean }

/**
 * A computed call; `depth`, `reach`, `depthCut` say at which call depths it holds (see the
 * interpreter's CallFrame); `vcpu` is the vCPU it ran on, whose number its events carry.
 */
export interface StoredCall { outcomes: StoredOutcome[]; notes: CallNote[]; depth: number; reach: number; depthCut: boolean; vcpu: number | null }

/**
 * A call's outcomes for every input that agrees on `slots`, by those slots' values. A variant
 * of a call that touched no vCPU but its own is kept with that vCPU's slots named `v*`
 * (relative): the same call on another vCPU in a state that agrees on the same slots of that
 * vCPU has the same outcomes, so the second of two interchangeable vCPUs costs nothing.
 */
interface CallVariant { slots: string[]; relative: boolean; byInput: Map<string, StoredCall[]>; onVcpu: Map<number, string[]> }

const SELF = 'v*';

/** `slots` of vCPU `vcpu` named relative to it; undefined when another vCPU's slot is among them. */
export function relativeSlots(slots: readonly string[], vcpu: number): string[] | undefined {
  const own = `v${vcpu}`;
  const out: string[] = [];
  for (const s of slots) {
    if (s[0] !== 'v' || s.startsWith('vm.')) { out.push(s); continue; }
    const end = s.search(/[#.]/);
    if (s.slice(0, end) !== own) return undefined;
    out.push(SELF + s.slice(end));
  }
  return out;
}

/** No outcome of `call` names a vCPU other than `vcpu` (a loop over the vCPUs would). */
function ownEventsOnly(call: StoredCall, vcpu: number): boolean {
  return call.outcomes.every((o) => o.events.every((e) => !('vcpu' in e) || e.vcpu === null || e.vcpu === vcpu));
}

/** The variant of `variants` kept under `slots` (and `alike`), added when there is none. */
function variantFor<V extends { slots: string[] }>(variants: V[], slots: string[], alike: (v: V) => boolean, make: (slots: string[]) => V): V {
  const slotsKey = slots.join(',');
  let v = variants.find((x) => alike(x) && x.slots.join(',') === slotsKey);
  if (!v) { v = make(slots); variants.push(v); }
  return v;
}

/** A relative variant's slots on vCPU `vcpu`, made once per vCPU. */
function slotsOn(v: CallVariant, vcpu: number): string[] {
  let slots = v.onVcpu.get(vcpu);
  if (!slots) {
    slots = v.slots.map((s) => (s.startsWith(SELF) ? `v${vcpu}${s.slice(SELF.length)}` : s));
    v.onVcpu.set(vcpu, slots);
  }
  return slots;
}

/**
 * An exploration step's results computed in one state, for every state that agrees on `slots`
 * (what the operation's code read or wrote, and what the rules and the step itself look at):
 * the same results with that state before and the slots' values after laid over it.
 */
export interface StepTemplate { results: StepResult[]; afterValues: SlotValue[][]; notes: CallNote[] }

interface StepVariant { slots: string[]; byInput: Map<string, StepTemplate> }

export class SimulationCache {
  /** By callee code, vCPU, arguments and facts: the variants of slots the call depended on. */
  readonly calls = new Map<string, CallVariant[]>();
  readonly steps = new Map<string, StepResult[]>();
  /** By operation identity, vCPU and assumptions: step results reusable in other states (see StepTemplate). */
  private readonly stepTemplates = new Map<string, StepVariant[]>();
  readonly fingerprints = new Interner();
  private readonly stateKeys = new Interner();
  private readonly stateIds = new WeakMap<SimState, number>();
  hits = 0;
  misses = 0;

  /** A small number per distinct state (states are never changed once shared). */
  stateId(s: SimState): number {
    let id = this.stateIds.get(s);
    if (id === undefined) { id = this.stateKeys.id(stateKey(s)); this.stateIds.set(s, id); }
    return id;
  }

  /**
   * Outcomes of the call `key` on vCPU `vcpu` computed from a state that agrees with `st` on
   * every slot they depended on; `slots` in the answer are named for `vcpu`.
   */
  findCall(key: string, vcpu: number | null, st: SimState, usable: (c: StoredCall) => boolean): StoredCall & { slots: string[] } | undefined {
    const variants = this.calls.get(key);
    if (!variants) return undefined;
    for (const v of variants) {
      if (v.relative && vcpu === null) continue;
      const slots = v.relative ? slotsOn(v, vcpu as number) : v.slots;
      const stored = v.byInput.get(projectionKey(st, slots))?.find((c) => (v.relative || c.vcpu === vcpu) && usable(c));
      if (stored) return { ...stored, slots };
    }
    return undefined;
  }

  /** Keeps a computed call; relative to its vCPU when it touched no other (see CallVariant). */
  storeCall(key: string, st: SimState, slots: string[], call: StoredCall): void {
    let variants = this.calls.get(key);
    if (!variants) { variants = []; this.calls.set(key, variants); }
    const relative = call.vcpu === null || !ownEventsOnly(call, call.vcpu) ? undefined : relativeSlots(slots, call.vcpu);
    const v = variantFor(variants, relative ?? slots, (x) => x.relative === !!relative, (named) => ({ slots: named, relative: !!relative, byInput: new Map(), onVcpu: new Map() }));
    const input = projectionKey(st, slots);
    const calls = v.byInput.get(input);
    if (calls) calls.push(call);
    else v.byInput.set(input, [call]);
  }

  findStep(key: string, st: SimState): { slots: string[]; template: StepTemplate } | undefined {
    for (const v of this.stepTemplates.get(key) ?? []) {
      const template = v.byInput.get(projectionKey(st, v.slots));
      if (template) return { slots: v.slots, template };
    }
    return undefined;
  }

  storeStep(key: string, st: SimState, slots: string[], template: StepTemplate): void {
    let variants = this.stepTemplates.get(key);
    if (!variants) { variants = []; this.stepTemplates.set(key, variants); }
    const v = variantFor(variants, slots, () => true, (named) => ({ slots: named, byInput: new Map() }));
    v.byInput.set(projectionKey(st, slots), template);
  }

  /** Bounds memory on long series: results of code no longer current are the ones dropped. */
  trim(limit = 200_000): void {
    if (this.steps.size + this.calls.size + this.stepTemplates.size <= limit) return;
    this.steps.clear();
    this.calls.clear();
    this.stepTemplates.clear();
  }
}
