// Where the operations come from: the `case KVM_...:` labels of the code's dispatchers. From the
// file descriptors' entry points (kvm_vcpu_ioctl, kvm_vm_ioctl), a dispatcher's `default:` hands
// the same ioctl number on to the next one (kvm_arch_vcpu_ioctl, kvm_arch_vm_ioctl), and a case
// that calls through the vendor ops table reaches the vendor's own dispatcher
// (KVM_MEMORY_ENCRYPT_OP -> sev_mem_enc_ioctl, whose KVM_SEV_* cases are operations too).
// Nothing here names an ioctl: a tree with more cases has more operations, a patch that adds a
// case adds one.
import type { Expr, FunctionIr, Stmt } from '../summary/ir';
import { forEachExpr } from '../summary/irKeys';
import { type Operation, type OperationKind, ROOT_DISPATCHERS } from './operations';

export interface DiscoveredOperations {
  operations: Operation[];
  /** How many operations each dispatcher gave, in discovery order. */
  byDispatcher: { dispatcher: string; operations: number; via?: string }[];
  /** Dispatchers named as entry points that the code does not have, or that have no cases. */
  problems: string[];
  /** The kind of every dispatcher found, for a case a patch adds to one. */
  kinds: Map<string, OperationKind>;
}

const IOCTL_LABEL = /^KVM_[A-Z0-9_]+$/;
const MAX_CHAIN = 4;

export function operationsFromDispatchers(functions: ReadonlyMap<string, FunctionIr>, resolveOp: (op: string) => string | undefined): DiscoveredOperations {
  const out: DiscoveredOperations = { operations: [], byDispatcher: [], problems: [], kinds: new Map() };
  const seen = new Set<string>();
  const queue: { fn: string; kind: OperationKind; depth: number; via?: string }[] = Object.entries(ROOT_DISPATCHERS).map(([fn, kind]) => ({ fn, kind, depth: 0 }));
  const visited = new Set<string>();
  while (queue.length) {
    const { fn: name, kind, depth, via } = queue.shift()!;
    if (visited.has(name)) continue;
    visited.add(name);
    const fn = functions.get(name);
    if (!fn) { if (depth === 0) out.problems.push(`${name}() is not in the code, so its ioctls are not simulated`); continue; }
    const sw = dispatchSwitch(fn);
    if (!sw) { if (depth === 0) out.problems.push(`${name}() has no switch on KVM_* ioctl numbers, so its ioctls are not simulated`); continue; }
    const selectorParam = sw.subject.k === 'read' && sw.subject.ref.k === 'local' ? fn.params.indexOf(sw.subject.ref.name) : -1;
    // a call that hands the switched-on number on (default: kvm_arch_vcpu_ioctl(filp, ioctl, arg),
    // or an unlocked variant tried first) reaches a dispatcher of the same ioctls
    if (depth + 1 < MAX_CHAIN) for (const callee of selectorCallees(fn.body, sw.subject)) queue.push({ fn: callee, kind, depth: depth + 1, ...(via ? { via } : {}) });
    out.kinds.set(name, kind);
    let count = 0;
    for (const c of sw.cases) {
      const labels = c.labels.filter((l) => IOCTL_LABEL.test(l));
      const calls = callsIn(c.body);
      if (depth + 1 < MAX_CHAIN) {
        // an ops-table call from a case reaches the vendor's dispatcher
        const vendor = calls.ops.map(resolveOp).filter((x): x is string => !!x && !!functions.get(x) && !!dispatchSwitch(functions.get(x)!));
        if (labels.length === 1 && vendor.length) {
          for (const v of vendor) queue.push({ fn: v, kind, depth: depth + 1, via: labels[0] });
          continue; // the outer case is the way in, its sub-commands are the operations
        }
      }
      for (const label of labels) {
        if (seen.has(label)) continue;
        seen.add(label);
        count++;
        out.operations.push({
          name: label, kind, handler: name, ...(selectorParam >= 0 ? { selectorParam } : {}), ...(via ? { via } : {}),
          source: { file: c.loc.file, line: c.loc.line },
        });
      }
    }
    out.byDispatcher.push({ dispatcher: name, operations: count, ...(via ? { via } : {}) });
  }
  return out;
}

/** The function's switch whose cases are mostly KVM_* ioctl numbers (the first, outermost). */
export function dispatchSwitch(fn: FunctionIr): (Stmt & { k: 'switch' }) | undefined {
  let found: (Stmt & { k: 'switch' }) | undefined;
  const walk = (s: Stmt): void => {
    if (found) return;
    if (s.k === 'switch') {
      const labels = s.cases.flatMap((c) => c.labels).filter((l) => l !== 'default');
      const ioctl = labels.filter((l) => IOCTL_LABEL.test(l) && !l.startsWith('KVM_CAP_'));
      if (ioctl.length >= 1 && ioctl.length * 2 >= labels.length) { found = s; return; }
      s.cases.forEach((c) => c.body.forEach(walk));
    } else if (s.k === 'block') s.body.forEach(walk);
    else if (s.k === 'if') { walk(s.then); if (s.else) walk(s.else); }
  };
  walk(fn.body);
  return found;
}

function callsIn(body: Stmt[]): { ops: string[] } {
  const ops: string[] = [];
  for (const s of body) forEachExpr(s, (e) => { if (e.k === 'call' && e.callee.k === 'op') ops.push(e.callee.op); });
  return { ops };
}

/** Functions called with the switched-on value as an argument, in source order. */
function selectorCallees(body: Stmt, subject: Expr): string[] {
  if (subject.k !== 'read' || subject.ref.k !== 'local') return [];
  const name = subject.ref.name;
  const out: string[] = [];
  forEachExpr(body, (e) => {
    if (e.k === 'call' && e.callee.k === 'direct' && e.args.some((a) => a.k === 'read' && a.ref.k === 'local' && a.ref.name === name) && !out.includes(e.callee.name)) out.push(e.callee.name);
  });
  return out;
}

/**
 * The operations of a code base: the dispatchers' cases, with the cases a patch added (run as
 * the hunk's own case body) in place of the same label, and without the labels a patch removed.
 */
export function operationsOf(discovered: DiscoveredOperations, added: readonly Operation[], removed: readonly { name: string; from: string }[]): Operation[] {
  const byName = new Map(discovered.operations.map((op) => [op.name, op]));
  for (const r of removed) if (byName.get(r.name)?.handler === r.from) byName.delete(r.name);
  for (const op of added) {
    // a case added to a function that is no dispatcher is not an ioctl
    const kind = op.addedTo ? discovered.kinds.get(op.addedTo) : undefined;
    if (kind) byName.set(op.name, { ...op, kind });
  }
  return [...byName.values()];
}
