// A small statement/expression tree distilled from tree-sitter's C tree: only what the lifecycle
// simulation needs, with every node keeping the place it came from. Summaries (paths) and the
// simulation are both computed from this, so a function reads the same wherever it came from.

/** Where a node came from; `line` is the line the user has open (patch file or C file). */
export interface Loc {
  file: string;
  line: number;
  column: number;
  /** For hunk code: whether the source line is added, removed or context; absent for whole files. */
  change?: 'added' | 'removed' | 'context';
}

/** A piece of kernel state the code reads or writes, already canonicalised by the idioms. */
export type StateRef =
  | { k: 'flag'; scope: 'vcpu' | 'vm'; name: string }        // vcpu.guest_state_protected, vm.has_protected_state
  /** VMSA-backed field (DR7, RIP, CS, ...), in the VMSA page itself or in KVM's VMCB save-area copy. */
  | { k: 'vmsa'; field: string; area: 'page' | 'vmcb' }
  | { k: 'local'; name: string }
  /** A field of a local or parameter that is not kernel state (msr->index): a value with an identity, for path facts. */
  | { k: 'field'; root: string; path: string }
  /** KVM's VMCB control area (intercepts, the exit code): KVM's own, not VMSA-backed; a value with an identity. */
  | { k: 'control'; field: string }
  /** The `kvm_run` page userspace shares with KVM_RUN: reading it takes what userspace gave, writing it hands state back. */
  | { k: 'user'; field: string };

export type Expr =
  | { k: 'const'; value: number; text: string; loc: Loc }     // 0, 1, true, false, NULL
  | { k: 'errno'; name: string; loc: Loc }                    // -EINVAL
  /** A named constant (KVM_SET_SREGS, MSR_STAR, SVM_EXIT_NPF): its value unknown, its identity known. */
  | { k: 'sym'; name: string; text: string; loc: Loc }
  | { k: 'read'; ref: StateRef; text: string; loc: Loc }
  | { k: 'call'; callee: Callee; args: Expr[]; text: string; loc: Loc }
  | { k: 'assign'; target: StateRef | null; op: string; value: Expr; text: string; loc: Loc }
  | { k: 'not'; arg: Expr; loc: Loc }
  | { k: 'logic'; op: '&&' | '||'; left: Expr; right: Expr; loc: Loc }
  | { k: 'binary'; op: string; left: Expr; right: Expr; loc: Loc }
  | { k: 'ternary'; cond: Expr; then: Expr; else: Expr; loc: Loc }
  /**
   * Something we do not model; its sub-expressions still run (calls inside it happen).
   * `cut`: code nested deeper than MAX_IR_DEPTH, left out whole (nothing inside it runs).
   */
  | { k: 'opaque'; text: string; parts: Expr[]; loc: Loc; cut?: true };

export type Callee =
  | { k: 'direct'; name: string }
  | { k: 'op'; op: string }                                  // kvm_x86_ops.<op>, static_call(kvm_x86_<op>), kvm_x86_call(<op>)
  | { k: 'opPresent'; op: string }                            // kvm_x86_ops.<op> tested, not called
  /** do_msr(...) where do_msr is a parameter or local: the function it holds */
  | { k: 'pointer'; name: string }
  /** handlers[index](...): a call through a table of functions initialized with designators. */
  | { k: 'table'; table: string; index: Expr }
  | { k: 'unknown'; text: string };

export type Stmt =
  | { k: 'block'; body: Stmt[]; loc: Loc }
  | { k: 'if'; cond: Expr; then: Stmt; else?: Stmt; text: string; loc: Loc }
  | { k: 'return'; value?: Expr; loc: Loc }
  | { k: 'expr'; expr: Expr; loc: Loc }
  | { k: 'goto'; label: string; loc: Loc }
  | { k: 'label'; name: string; loc: Loc }
  | { k: 'loop'; each: 'vcpu' | 'other'; body: Stmt; loc: Loc }
  | { k: 'switch'; subject: Expr; cases: { labels: string[]; body: Stmt[]; loc: Loc }[]; loc: Loc }
  | { k: 'break'; loc: Loc }
  | { k: 'continue'; loc: Loc };

export interface FunctionIr {
  name: string;
  params: string[];
  returnsVoid: boolean;
  body: Stmt;
  loc: Loc;
  /** Last line of the definition (the closing brace), in the same file as loc. */
  endLine: number;
  origin: 'model' | 'series' | 'tree';
  /** Patch subject or file name the function came from, for series code. */
  patch?: string;
  /** Parse problems inside this function (ERROR nodes), as lines. */
  errorLines: number[];
  /** The definition runs past the text we parsed (a hunk that ends inside it). */
  truncated?: boolean;
  /** First line a patch changed in this function: where a finding through it points. */
  touched?: Loc;
  /** Code nested deeper than MAX_IR_DEPTH was left out: the first such place and how many there are. */
  depthCut?: DepthCut;
  /**
   * Only part of this function is known (a hunk whose context the model's text does not match):
   * what is unseen may return or go on, and a finding through it says why, in these words.
   */
  partial?: string;
}

/**
 * The deepest IR any function may have, counting a leaf as one level. Kernel code stays far
 * below it (the deepest function body of arch/x86/kvm in Linux 6.12 and 7.3 lowers to 24
 * levels); hostile input (thousands of nested parentheses, braces or `else if`s) is cut here,
 * so every walk over the IR, the interpreter's included, recurses at most this deep.
 */
export const MAX_IR_DEPTH = 128;

export interface DepthCut {
  /** The outermost statement or expression of the first part left out. */
  at: Loc;
  /** Places left out in this function (each a whole subtree). */
  places: number;
}

/** One line for the user: "nesting deeper than 128 levels in svm_foo() at 0001-x.patch:123 ...". */
export function depthCutMessage(fnName: string, cut: DepthCut): string {
  const where = `${cut.at.file.split('/').pop()}:${cut.at.line}`;
  const more = cut.places > 1 ? ` and ${cut.places - 1} more place${cut.places > 2 ? 's' : ''}` : '';
  return `nesting deeper than ${MAX_IR_DEPTH} levels in ${fnName}() at ${where}${more}: the inner part was not analysed`;
}

/** Ops table initializers: svm_x86_ops.<op> = <function>. */
export type OpsTable = Map<string, string>;

/** A table of functions indexed by constants: `[SVM_EXIT_NPF] = npf_interception`, in source order. */
export interface FunctionTable {
  name: string;
  entries: { index: string; fn: string }[];
  loc: Loc;
}
