// What one analysis remembers while it simulates a series prefix after prefix: outcomes of
// calls and of whole operations, keyed by small numbers for states and code fingerprints.
// Owned by the analysis and dropped with it, so a long-lived editor host does not accumulate it.
import type { StepResult } from '../rules/rule';
import type { CallResult } from './interpreter';
import { type SimState, stateKey } from './state';

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

export class SimulationCache {
  readonly calls = new Map<string, CallResult[]>();
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

  /** Bounds memory on long series: results of code no longer current are the ones dropped. */
  trim(limit = 200_000): void {
    if (this.steps.size + this.calls.size <= limit) return;
    this.steps.clear();
    this.calls.clear();
  }
}
