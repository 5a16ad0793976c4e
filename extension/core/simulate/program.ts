// The code the simulation runs: every function summary by name (series over model), the ops
// tables that resolve indirect calls, and which kernel flags are state worth tracking.
import type { FunctionIr, FunctionTable } from '../summary/ir';
import { CodeIdentity } from './codeIdentity';
import { forEachExpr } from '../summary/irKeys';
import { FLAGS, FPU_CONFIDENTIAL, flagKey, flagSetter } from '../summary/idioms';
import { Interner } from './simulationCache';
import { Relevance } from './relevance';

export interface ProgramOptions {
  /**
   * Track only the lifecycle's flags (the core ones and any named like protection, encryption,
   * debug or SEV state) instead of every flag some code assigns and tests. Whole kernel files
   * assign and test hundreds of unrelated fields; tracking them all multiplies states for nothing.
   */
  lifecycleFlagsOnly?: boolean;
}

// the protection and encryption flags under any name a patch gives them, and the core ones
const LIFECYCLE_FLAG = /^vcpu\.(\w*protected\w*|\w*encrypted\w*|guest_debug)$|^vm\.(sev\.(active|es_active|snp_active)|has_protected_state|created_vcpus|vm_type)$/;

export class Program {
  readonly trackedFlags: ReadonlySet<string>;
  /** Named bits the code sets or clears somewhere (hflags |= HF_GUEST_MASK): vCPU modes code enters. */
  readonly modeBits: ReadonlySet<string>;
  readonly relevance: Relevance;

  constructor(
    readonly functions: ReadonlyMap<string, FunctionIr>,
    /** op name → implementing function, merged from every kvm_x86_ops initializer seen. */
    readonly ops: ReadonlyMap<string, string>,
    private readonly seriesFiles: ReadonlySet<string> = new Set(),
    /** Shared by every Program of one analysis, so equal code gets equal tokens across patches. */
    private readonly interner: Interner = new Interner(),
    options: ProgramOptions = {},
    /** Tables of functions indexed by constants (the exit handlers), by name. */
    readonly tables: ReadonlyMap<string, FunctionTable['entries']> = new Map(),
    /** The program before an edit: what the edit did not change is taken over from it. */
    previous?: Program,
  ) {
    // only its identities are kept (a reference to the program would chain every version of the code)
    this.previousIdentity = previous?.identity;
    const tracked = computeTrackedFlags(functions.values());
    this.modeBits = assignedBits(functions.values());
    this.trackedFlags = options.lifecycleFlagsOnly ? new Set([...tracked].filter((f) => LIFECYCLE_FLAG.test(f) || f === `vcpu.${FPU_CONFIDENTIAL}`)) : tracked;
    this.relevance = new Relevance(functions, (op) => this.resolveOp(op), this.trackedFlags, tables);
  }

  /** kvm_x86_ops.<op> → the SVM function; by table first, then by the svm_<op> convention. */
  resolveOp(op: string): string | undefined {
    const fromTable = this.ops.get(op);
    if (fromTable) return fromTable;
    return this.functions.has(`svm_${op}`) ? `svm_${op}` : undefined;
  }

  private exitCodeNames: string[] | undefined;

  /** The exit codes the vendor's exit table handles: the indexes of the table of SVM_EXIT_* entries. */
  exitCodes(): string[] {
    this.exitCodeNames ??= [...this.tables.values()].filter((t) => t.some((e) => e.index.startsWith('SVM_EXIT_'))).flatMap((t) => t.map((e) => e.index)).concat('SVM_EXIT_ERR');
    return this.exitCodeNames;
  }

  isSeriesFile(file: string): boolean {
    return this.seriesFiles.has(file);
  }

  private identity: CodeIdentity | undefined;
  private previousIdentity: CodeIdentity | undefined;

  /** Built on first use: the tracked flags are part of every identity. */
  private codeIdentity(): CodeIdentity {
    if (!this.identity) {
      this.identity = new CodeIdentity(this, this.interner, [...this.trackedFlags].sort().join(','), this.previousIdentity);
      this.previousIdentity = undefined;
    }
    return this.identity;
  }

  /**
   * Identity of everything a handler can run (see CodeIdentity) and of which flags are state.
   * Equal fingerprints mean equal behaviour, so results can be reused across patches and edits.
   */
  fingerprint(handler: string): string {
    return this.codeIdentity().of(handler);
  }

  /** The VMCB control and kvm_run terms `name` or anything it reaches can read or write: facts about others cannot matter to it. */
  sharedTerms(name: string): readonly string[] {
    return this.codeIdentity().sharedTerms(name);
  }

  /** Identity of `handler` run with its dispatch switch's `case label:` selected (an operation). */
  selectedFingerprint(handler: string, label: string): string {
    return this.codeIdentity().selected(handler, label);
  }

  /** Every function a handler can reach, through direct, ops-table and table calls and functions named as values. */
  closure(handler: string): Set<string> {
    return this.codeIdentity().closure(handler);
  }
}

/**
 * A flag that some code assigns and some code tests is state (zero at allocation); a flag
 * nobody assigns stays unknown, and one nobody tests cannot steer anything.
 */
function computeTrackedFlags(fns: Iterable<FunctionIr>): Set<string> {
  const assigned = new Set<string>();
  const tested = new Set<string>();
  const tracked = new Set<string>([
    FLAGS.protectedState, FLAGS.guestDebug, FLAGS.hasProtectedState, FLAGS.esActive, FLAGS.sevActive,
    FLAGS.createdVcpus, `vcpu.${FPU_CONFIDENTIAL}`,
  ]);
  for (const fn of fns) {
    const uses = flagUsesOf(fn);
    for (const k of uses.assigned) assigned.add(k);
    for (const k of uses.tested) tested.add(k);
  }
  for (const key of assigned) if (tested.has(key)) tracked.add(key);
  return tracked;
}

/** Bit flags (`name&BIT`) some code assigns, i.e. sets with |= or clears with &= ~. */
function assignedBits(fns: Iterable<FunctionIr>): Set<string> {
  const out = new Set<string>();
  for (const fn of fns) for (const k of flagUsesOf(fn).bits) out.add(k);
  return out;
}

interface FlagUses { assigned: string[]; tested: string[]; bits: string[] }

// per function object: a program derived again after an edit reads only the functions the edit changed
const flagUses = new WeakMap<FunctionIr, FlagUses>();

function flagUsesOf(fn: FunctionIr): FlagUses {
  const known = flagUses.get(fn);
  if (known) return known;
  const out: FlagUses = { assigned: [], tested: [], bits: [] };
  forEachExpr(fn.body, (e, inCondition) => {
    if (e.k === 'assign' && e.target?.k === 'flag') {
      out.assigned.push(flagKey(e.target));
      if (e.target.scope === 'vcpu' && e.target.name.includes('&')) out.bits.push(flagKey(e.target));
    } else if (e.k === 'call' && e.callee.k === 'direct') { const setter = flagSetter(e.callee.name); if (setter) out.assigned.push(flagKey(setter.ref)); }
    else if (e.k === 'read' && e.ref.k === 'flag' && (inCondition || e.ref.name.includes('&'))) out.tested.push(flagKey(e.ref));
  });
  flagUses.set(fn, out);
  return out;
}
