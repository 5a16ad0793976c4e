// A function's summary as a reviewer reads it: its paths (bounded), each with the guards it
// passes (condition and polarity), its ordered effects, and how it ends. Computed from the IR
// alone, without state: this is what a hover shows; the simulation runs the IR itself.
import type { Callee, Expr, FunctionIr, Loc, Stmt } from './ir';
import { flagKey } from './idioms';
import { labelTail } from './irKeys';

export interface Guard {
  text: string;
  holds: boolean;
  loc: Loc;
  /** The condition is a call's result kept in a local (`ret = f(); if (ret)`): nonzero is its error. */
  result?: true;
}

export type Effect =
  | { kind: 'vmsa-write' | 'vmsa-read'; state: string; area?: 'page' | 'vmcb'; loc: Loc }
  | { kind: 'flag'; flag: string; value: string; loc: Loc }
  | { kind: 'call'; callee: string; indirect: boolean; loc: Loc }
  | { kind: 'firmware'; command: string; loc: Loc };

export interface PathEnd { kind: 'success' | 'error' | 'unknown'; value: string; loc: Loc }

export interface SummaryPath { guards: Guard[]; effects: Effect[]; end: PathEnd }

export interface FunctionSummary {
  name: string;
  origin: FunctionIr['origin'];
  loc: Loc;
  paths: SummaryPath[];
  /** True when there were more paths than the bound and some were left out. */
  truncated: boolean;
}

export const MAX_PATHS = 64;

/**
 * A list shared by the paths that have it as a prefix: appending is constant time, so a long
 * function costs linear time however many statements each path carries.
 */
type Chain<T> = { item: T; prev: Chain<T> } | null;

function append<T>(chain: Chain<T>, items: readonly T[]): Chain<T> {
  let c = chain;
  for (const item of items) c = { item, prev: c };
  return c;
}

function toArray<T>(chain: Chain<T>): T[] {
  const out: T[] = [];
  for (let c = chain; c; c = c.prev) out.push(c.item);
  return out.reverse();
}

/**
 * A local's value is looked up this many assignments back on the path at most: enough for any
 * kernel function, and bounded, so a function of thousands of assignments stays linear.
 * Past it the summary shows the local's name instead of its value.
 */
const LOCAL_LOOKBACK = 256;

/** Jumps followed per round: each walks the rest of the function from its label. */
const MAX_JUMPS = 4 * MAX_PATHS;

type Locals = Chain<{ name: string; value: string }>;

function localValue(locals: Locals, name: string): string | undefined {
  let c = locals;
  for (let i = 0; c && i < LOCAL_LOOKBACK; i++, c = c.prev) if (c.item.name === name) return c.item.value;
  return undefined;
}

interface Partial { guards: Chain<Guard>; effects: Chain<Effect>; locals: Locals }
type Walk = { done: SummaryPath[]; open: Partial[]; jumps: { label: string; p: Partial }[] };

/** Appends without spreading into a call, which overflows the stack for very long arrays. */
function appendAll<T>(to: T[], items: readonly T[]): void {
  for (const x of items) to.push(x);
}

export function summarizeFunction(fn: FunctionIr): FunctionSummary {
  let truncated = false;
  const cap = <T>(xs: T[]): T[] => {
    if (xs.length <= MAX_PATHS) return xs;
    truncated = true;
    return xs.slice(0, MAX_PATHS);
  };
  const finish = (p: Partial, end: PathEnd): SummaryPath => ({ guards: toArray(p.guards), effects: toArray(p.effects), end });
  // finished paths keep their chains until the bound is applied, so only the kept ones are copied
  type Done = { p: Partial; end: PathEnd };
  const doneOf = new WeakMap<SummaryPath, Done>();
  const done = (p: Partial, end: PathEnd): SummaryPath => {
    const path = { guards: [], effects: [], end };
    doneOf.set(path, { p, end });
    return path;
  };

  const walk = (s: Stmt, open: Partial[]): Walk => {
    const res: Walk = { done: [], open: [], jumps: [] };
    switch (s.k) {
      case 'block': {
        let cur = open;
        for (const x of s.body) {
          if (cur.length === 0) break;
          const w = walk(x, cur);
          appendAll(res.done, w.done);
          appendAll(res.jumps, w.jumps);
          cur = cap(w.open);
        }
        res.open = cur;
        return res;
      }
      case 'if': {
        const text = s.text.replace(/\s+/g, ' ').replace(/^\((.*)\)$/, '$1');
        const condEffects = effectsOf(s.cond);
        // a local tested as it is says what it holds on this path: two results both called "ret" read apart
        const said = (p: Partial, holds: boolean): Guard => {
          const negated = s.cond.k === 'not';
          const local = s.cond.k === 'read' && s.cond.ref.k === 'local' ? s.cond : s.cond.k === 'not' && s.cond.arg.k === 'read' && s.cond.arg.ref.k === 'local' ? s.cond.arg : undefined;
          const value = local?.ref.k === 'local' ? localValue(p.locals, local.ref.name) : undefined;
          if (value === undefined) return { text, holds, loc: s.loc };
          return { text: value, holds: negated ? !holds : holds, loc: s.loc, ...(/^[A-Za-z_]\w*\(/.test(value) ? { result: true as const } : {}) };
        };
        const withGuard = (holds: boolean) => open.map((p) => ({ ...p, effects: append(p.effects, condEffects), guards: append(p.guards, [said(p, holds)]) }));
        const a = walk(s.then, withGuard(true));
        const b = s.else ? walk(s.else, withGuard(false)) : { done: [], open: withGuard(false), jumps: [] };
        return { done: a.done.concat(b.done), open: cap(a.open.concat(b.open)), jumps: a.jumps.concat(b.jumps) };
      }
      case 'return': {
        for (const p of open) {
          const value = s.value ? valueText(s.value, p.locals) : fn.returnsVoid ? 'void' : '';
          res.done.push(done({ ...p, effects: append(p.effects, s.value ? effectsOf(s.value) : []) }, endOf(value, s.loc)));
        }
        return res;
      }
      case 'expr': {
        const effects = effectsOf(s.expr);
        const target = s.expr.k === 'assign' && s.expr.target?.k === 'local' ? s.expr.target.name : undefined;
        res.open = open.map((p) => {
          const locals = target !== undefined && s.expr.k === 'assign' ? append(p.locals, [{ name: target, value: valueText(s.expr.value, p.locals) }]) : p.locals;
          return { ...p, locals, effects: append(p.effects, effects) };
        });
        return res;
      }
      case 'goto':
        res.jumps = open.map((p) => ({ label: s.label, p }));
        return res;
      case 'loop': {
        const once = walk(s.body, open);
        return { done: once.done, open: cap(open.concat(once.open)), jumps: once.jumps };
      }
      case 'switch': {
        const out: Walk = { done: [], open: [], jumps: [] };
        for (const c of s.cases) {
          const guard = [{ text: `case ${c.labels.join(', ')}`, holds: true, loc: c.loc }];
          const w = walk({ k: 'block', body: c.body, loc: c.loc }, open.map((p) => ({ ...p, guards: append(p.guards, guard) })));
          appendAll(out.done, w.done); appendAll(out.open, w.open); appendAll(out.jumps, w.jumps);
          // the bound holds while the cases are walked, not only after the last one
          out.open = cap(out.open);
        }
        return out;
      }
      default:
        res.open = open;
        return res;
    }
  };

  const start: Partial = { guards: null, effects: null, locals: null };
  const first = walk(fn.body, [start]);
  const paths: SummaryPath[] = first.done.concat(first.open.map((p) => done(p, endOf(fn.returnsVoid ? 'void' : '', fn.loc))));
  // goto: continue from the label (labels sit in the top-level block in kernel style). Once
  // there are more paths than the bound, the rest could only be cut: stop there.
  let jumps = first.jumps;
  for (let round = 0; jumps.length && round < 4 && paths.length <= MAX_PATHS; round++) {
    if (jumps.length > MAX_JUMPS) { truncated = true; jumps = jumps.slice(0, MAX_JUMPS); }
    const next: Walk['jumps'] = [];
    for (const j of jumps) {
      if (paths.length > MAX_PATHS) break;
      const tail = labelTail(fn.body, j.label);
      const w = walk({ k: 'block', body: tail ?? [], loc: fn.loc }, [j.p]);
      appendAll(paths, w.done);
      for (const p of w.open) paths.push(done(p, endOf(localValue(p.locals, '__ret') ?? '', fn.loc)));
      appendAll(next, w.jumps);
    }
    jumps = next;
  }
  const kept = cap(paths).map((path) => {
    const d = doneOf.get(path);
    return d ? finish(d.p, d.end) : path;
  });
  return { name: fn.name, origin: fn.origin, loc: fn.loc, paths: kept, truncated };
}

function endOf(value: string, loc: Loc): PathEnd {
  if (value === 'void' || value === '0' || value === 'true' || value === 'false' || value === '1') return { kind: 'success', value, loc };
  if (/^-E[A-Z0-9]+$/.test(value) || /^-\d+$/.test(value)) return { kind: 'error', value, loc };
  return { kind: 'unknown', value, loc };
}

function valueText(e: Expr, locals: Locals): string {
  switch (e.k) {
    case 'const': return String(e.value);
    case 'errno': return `-${e.name}`;
    case 'sym': return e.name;
    case 'read': return e.ref.k === 'local' ? localValue(locals, e.ref.name) ?? e.ref.name : e.text;
    case 'call': case 'opaque': return e.text;
    default: return '';
  }
}

function calleeText(c: Callee): { callee: string; indirect: boolean } {
  if (c.k === 'direct') return { callee: c.name, indirect: false };
  if (c.k === 'op' || c.k === 'opPresent') return { callee: `kvm_x86_ops.${c.op}`, indirect: true };
  if (c.k === 'table') return { callee: `${c.table}[]`, indirect: true };
  if (c.k === 'pointer') return { callee: c.name, indirect: true };
  return { callee: c.text, indirect: true };
}

/** Effects of evaluating an expression, in evaluation order. */
export function effectsOf(e: Expr): Effect[] {
  switch (e.k) {
    case 'read':
      return e.ref.k === 'vmsa' ? [{ kind: 'vmsa-read', state: e.ref.field, area: e.ref.area, loc: e.loc }] : [];
    case 'assign': {
      const value = effectsOf(e.value);
      if (!e.target) return value;
      if (e.target.k === 'vmsa') return [...value, { kind: 'vmsa-write', state: e.target.field, area: e.target.area, loc: e.loc }];
      if (e.target.k === 'flag') return [...value, { kind: 'flag', flag: flagKey(e.target), value: e.value.k === 'const' ? String(e.value.value) : e.value.k === 'opaque' || e.value.k === 'read' || e.value.k === 'call' ? e.value.text : '?', loc: e.loc }];
      return value;
    }
    case 'call': {
      const args = e.args.flatMap(effectsOf);
      if (e.callee.k === 'opPresent') return args;
      const fw = e.args.map((a) => (a.k === 'sym' ? a.name : '')).find((t) => t.startsWith('SEV_CMD_'));
      if (fw) return [...args, { kind: 'firmware', command: fw.slice('SEV_CMD_'.length), loc: e.loc }];
      return [...args, { kind: 'call', ...calleeText(e.callee), loc: e.loc }];
    }
    case 'not': return effectsOf(e.arg);
    case 'logic': case 'binary': return [...effectsOf(e.left), ...effectsOf(e.right)];
    case 'ternary': return [...effectsOf(e.cond), ...effectsOf(e.then), ...effectsOf(e.else)];
    case 'opaque': return e.parts.flatMap(effectsOf);
    default: return [];
  }
}

/** A summary as short lines for a hover: one line per path, guards then effects then the end. */
/** Paths a hover shows; the rest are counted. */
export const SHOWN_PATHS = 4;

/**
 * The summary as a reviewer would say it, a sentence per path: "refuses with -EINVAL when
 * vcpu->arch.guest_state_protected", "otherwise writes DR7 (VMCB save area); returns 0". A path
 * whose one condition is the previous path's turned around reads "otherwise"; repeated effects
 * are said once; at most `maxPaths` paths, then how many more there are.
 */
export function formatSummary(s: FunctionSummary, maxPaths = SHOWN_PATHS): string[] {
  const lines: string[] = [];
  s.paths.slice(0, maxPaths).forEach((p, i) => {
    const prev = s.paths[i - 1];
    const otherwise = prev !== undefined && p.guards.length === prev.guards.length && p.guards.length > 0
      && p.guards.every((g, k) => (k < p.guards.length - 1 ? g.text === prev.guards[k]!.text && g.holds === prev.guards[k]!.holds : g.text === prev.guards[k]!.text && g.holds !== prev.guards[k]!.holds));
    const when = p.guards.length === 0 ? '' : otherwise ? 'otherwise' : `when ${p.guards.map(guardText).join(' and ')}`;
    const effects = sayEffects(p.effects);
    // a void function's end says nothing unless nothing else is said; a failed call's result handed on is "its error"
    const failed = p.guards.find((g) => g.result && g.holds && g.text === p.end.value);
    const end = p.end.kind === 'error' ? `refuses with ${p.end.value}` : failed ? 'returns its error'
      : p.end.kind === 'success' ? (p.end.value && p.end.value !== 'void' ? `returns ${p.end.value}` : effects ? '' : 'returns')
        : `returns ${p.end.value || 'a value'}`;
    // an early return with nothing done first leads with how it ends, as a reviewer says it
    const sentence = effects === '' && end !== '' && when !== '' && !otherwise ? `${end} ${when}`
      : [otherwise || !when ? when : `${when},`, [effects, end].filter(Boolean).join('; ')].filter(Boolean).join(' ');
    lines.push(sentence);
  });
  const more = s.paths.length - Math.min(s.paths.length, maxPaths);
  if (more > 0 || s.truncated) lines.push(`and ${more}${s.truncated ? '+' : ''} more path${more === 1 && !s.truncated ? '' : 's'}`);
  return lines;
}

function guardText(g: Guard): string {
  const t = g.text.trim().replace(/^\((.*)\)$/s, '$1');
  // a call's result kept in a local and tested as it is: nonzero is its error, as kernel functions return them
  if (g.result) return `${t} ${g.holds ? 'fails' : 'succeeds'}`;
  return g.holds ? t : `not ${/^[\w>.-]+$/.test(t) ? t : `(${t})`}`;
}

/** A path's effects in words, each said once, in the order they happen: writes and reads by state, flags, firmware, a few calls. */
function sayEffects(effects: readonly Effect[]): string {
  const parts: string[] = [];
  const seen = new Set<string>();
  const writes: string[] = [];
  const reads: string[] = [];
  const calls: string[] = [];
  for (const e of effects) {
    const key = `${e.kind}:${effectText(e)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (e.kind === 'vmsa-write') writes.push(stateName(e.state, e.area));
    else if (e.kind === 'vmsa-read') reads.push(stateName(e.state, e.area));
    else if (e.kind === 'call') calls.push(`${e.callee}()`);
    else parts.push(effectText(e));
  }
  if (reads.length) parts.unshift(`reads ${list(reads)}`);
  if (writes.length) parts.unshift(`writes ${list(writes)}`);
  if (calls.length) parts.push(`calls ${list(calls.slice(0, 4))}${calls.length > 4 ? ` and ${calls.length - 4} more` : ''}`);
  return parts.join(', ');
}

/** The state names the summary uses, as a reader knows them. */
function stateName(state: string, area?: 'page' | 'vmcb'): string {
  if (state === 'VMCB_SAVE') return "KVM's VMCB save area";
  if (state === 'VMSA') return 'the VMSA page';
  return area === 'vmcb' ? `${state} in the VMCB save area` : area === 'page' ? `${state} in the VMSA page` : state;
}

function list(xs: readonly string[]): string {
  return xs.length <= 1 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}

function effectText(e: Effect): string {
  switch (e.kind) {
    case 'vmsa-write': return `writes ${e.state}`;
    case 'vmsa-read': return `reads ${e.state}`;
    case 'flag': return `sets ${e.flag.replace(/^(vcpu|vm)\./, '')} = ${e.value}`;
    case 'firmware': return `asks the firmware for ${e.command}`;
    case 'call': return `${e.callee}()`;
  }
}
