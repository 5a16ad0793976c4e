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

/** A computed call; `depth`, `reach`, `depthCut` say at which call depths it holds (see the interpreter's CallFrame). */
export interface StoredCall { outcomes: StoredOutcome[]; notes: CallNote[]; depth: number; reach: number; depthCut: boolean }

/** A call's outcomes for every input that agrees on `slots`, by those slots' values. */
interface CallVariant { slots: string[]; byInput: Map<string, StoredCall[]> }

export class SimulationCache {
  /** By callee code, vCPU, arguments and facts: the variants of slots the call depended on. */
  readonly calls = new Map<string, CallVariant[]>();
  readonly steps = new Map<string, StepResult[]>();
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

  /** Outcomes of the call `key` computed from a state that agrees with `st` on every slot they depended on. */
  findCall(key: string, st: SimState, usable: (c: StoredCall) => boolean): StoredCall & { slots: string[] } | undefined {
    const variants = this.calls.get(key);
    if (!variants) return undefined;
    for (const v of variants) {
      const stored = v.byInput.get(projectionKey(st, v.slots))?.find(usable);
      if (stored) return { slots: v.slots, ...stored };
    }
    return undefined;
  }

  storeCall(key: string, st: SimState, slots: string[], call: StoredCall): void {
    let variants = this.calls.get(key);
    if (!variants) { variants = []; this.calls.set(key, variants); }
    const slotsKey = slots.join(',');
    let v = variants.find((x) => x.slots.join(',') === slotsKey);
    if (!v) { v = { slots, byInput: new Map() }; variants.push(v); }
    const input = projectionKey(st, slots);
    const calls = v.byInput.get(input);
    if (calls) calls.push(call);
    else v.byInput.set(input, [call]);
  }

  /** Bounds memory on long series: results of code no longer current are the ones dropped. */
  trim(limit = 200_000): void {
    if (this.steps.size + this.calls.size <= limit) return;
    this.steps.clear();
    this.calls.clear();
  }
}
