// The simulated world of one code base: the program (functions, ops tables, function tables,
// tracked flags) and the operations its dispatchers define, plus those a patch added.
import type { FunctionIr, FunctionTable, Stmt } from '../summary/ir';
import { forEachExpr } from '../summary/irKeys';
import type { Operation } from './operations';
import { dispatchSwitch, type DiscoveredOperations, operationsFromDispatchers, operationsOf } from './operationsFromDispatchers';
import { Program, type ProgramOptions } from './program';
import type { Interner } from './simulationCache';

export interface World {
  program: Program;
  operations: Operation[];
  discovered: DiscoveredOperations;
}

export interface WorldInput {
  functions: ReadonlyMap<string, FunctionIr>;
  ops: ReadonlyMap<string, string>;
  tables: ReadonlyMap<string, FunctionTable['entries']>;
  added?: readonly Operation[];
  removed?: readonly { name: string; from: string }[];
  seriesFiles?: ReadonlySet<string>;
  interner?: Interner;
  options?: ProgramOptions;
  /** The world of the code before an edit, to take over what the edit did not change. */
  previous?: World;
}

export function worldOf(input: WorldInput): World {
  const program = new Program(input.functions, input.ops, input.seriesFiles, input.interner, input.options, input.tables, input.previous?.program);
  const discovered = operationsFromDispatchers(input.functions, (op) => program.resolveOp(op));
  return { program, discovered, operations: operationsOf(discovered, input.added ?? [], input.removed ?? []) };
}

/** Every function each operation's case can reach, by function: the ioctls that reach it. */
export function reachingOperations(world: World): Map<string, string[]> {
  const reach = new Map<string, string[]>();
  for (const op of world.operations) {
    for (const name of operationClosure(world.program, op)) reach.set(name, [...(reach.get(name) ?? []), op.name]);
  }
  return reach;
}

/**
 * The statements an operation runs in its dispatcher: its case, and the next case's only when it
 * falls through; undefined when the handler is not a dispatcher (a case a patch added).
 */
function caseBody(program: Program, op: Operation): Stmt[] | undefined {
  const fn = program.functions.get(op.handler);
  const sw = fn && !op.addedTo ? dispatchSwitch(fn) : undefined;
  if (!sw) return undefined;
  const at = sw.cases.findIndex((c) => c.labels.includes(op.name));
  const body: Stmt[] = [];
  for (const c of at < 0 ? [] : sw.cases.slice(at)) {
    for (const b of c.body) body.push(b);
    if (c.body.some((s) => s.k === 'break' || s.k === 'return' || (s.k === 'block' && s.body.some((x) => x.k === 'break' || x.k === 'return')))) break;
  }
  return body;
}

/** The functions statements call, directly or through the ops table, in source order. */
function calleesIn(program: Program, body: Stmt[]): string[] {
  const out: string[] = [];
  for (const s of body) {
    forEachExpr(s, (e) => {
      if (e.k !== 'call') return;
      const name = e.callee.k === 'direct' ? e.callee.name : e.callee.k === 'op' ? program.resolveOp(e.callee.op) : undefined;
      if (name && !out.includes(name)) out.push(name);
    });
  }
  return out;
}

/** The functions an operation's case body calls itself: the ioctl's handler, as a reader names it. */
export function caseHandlers(program: Program, op: Operation): string[] {
  const body = caseBody(program, op);
  return body ? calleesIn(program, body).filter((name) => program.functions.has(name)) : [op.handler];
}

/** The functions one operation can run: those its case body calls, and what they call. */
export function operationClosure(program: Program, op: Operation): Set<string> {
  const body = caseBody(program, op);
  if (!body) return program.closure(op.handler);
  const out = new Set<string>([op.handler]);
  for (const start of calleesIn(program, body)) for (const name of program.closure(start)) out.add(name);
  return out;
}

/** The operations' handlers' fingerprints: equal signatures explore alike. */
export function worldSignature(world: World): string {
  return world.operations.map((op) => `${op.name}:${world.program.selectedFingerprint(op.handler, op.name)}`).join(',');
}
