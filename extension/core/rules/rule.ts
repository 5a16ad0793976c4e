// What every rule sees after one operation: the state before and after, how the operation
// ended, and the events its code produced on the path taken. A rule turns that into hazards.
import type { RuleId } from '../findings';
import type { Loc } from '../summary/ir';
import type { SimEvent, Val } from '../simulate/interpreter';
import { initialisesSev, type Operation } from '../simulate/operations';
import type { SimState } from '../simulate/state';

export interface StepResult {
  op: Operation;
  vcpu: number | null;
  before: SimState;
  after: SimState;
  status: 'success' | 'error' | 'unknown';
  ret: Val;
  events: SimEvent[];
  /** The last series line this step ran, if any. */
  seriesLoc?: { loc: Loc; fn: string };
  handlerLoc: Loc;
}

export interface Hazard {
  rule: RuleId;
  /** Identity across patches and line moves: rule, function, state, operation. */
  key: string;
  message: string;
  loc: Loc;
  fn: string;
  /** What the last trace step did, in kernel terms. */
  note: string;
  /** The patch line the hazard came from, when `loc` lies in the built-in model. */
  seriesLoc?: Loc;
  /** The state it concerns (a register field); hazards of one rule in one function are one finding. */
  detail?: string;
  /** The guest's choice it happened under (the exit KVM_RUN took). */
  choice?: string;
  /** The calls from the operation's handler down to the hazard. */
  via?: string[];
}

export interface Rule {
  id: RuleId;
  check(step: StepResult): Hazard[];
}

export function vcpuName(v: number | null): string {
  return v === null ? 'the vCPU' : `vcpu ${v}`;
}

export function succeeded(step: StepResult): boolean {
  return step.status !== 'error';
}

/**
 * The step made the VM an SEV guest: a command labelled as SEV initialisation that did not fail
 * and after which the VM's SEV flag is set when it was not (not, say, the dispatcher's "no
 * argument, nothing to do", nor an error path that sets the flag and clears it again).
 */
export function sevInitialised(step: Pick<StepResult, 'op' | 'status' | 'before' | 'after'>): boolean {
  const active = (s: StepResult['after']) => s.flags['sev.active'] === 1 || s.flags['sev.es_active'] === 1;
  return initialisesSev(step.op) && step.status !== 'error' && active(step.after) && !active(step.before);
}

/** Where an event happened in the operation: the guest's choice and the calls down to it. */
export function originOf(ev: { choice?: string; via?: string[] }): { choice?: string; via?: string[] } {
  return { ...(ev.choice ? { choice: ev.choice } : {}), ...(ev.via?.length ? { via: ev.via } : {}) };
}
