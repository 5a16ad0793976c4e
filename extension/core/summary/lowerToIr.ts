// Turns tree-sitter's C tree into our IR (ir.ts): statements that steer control flow, and
// expressions where kernel state is read, written or decided on. Everything else becomes
// `opaque` while keeping the calls inside it, so nothing that runs is lost.
import type { Node } from 'web-tree-sitter';
import { type Callee, type Expr, type FunctionIr, type FunctionTable, type Loc, MAX_IR_DEPTH, type OpsTable, type StateRef, type Stmt } from './ir';
import { cutExpr, cutStmt, limitIrDepth } from './irDepth';
import {
  type BaseKind, isNamedConstant, isWholeArea, OPS_TABLE_NAMES, WHOLE_VMCB_SAVE, WHOLE_VMSA_PAGE, STATIC_CALL_PREFIX, isLoopMacro, isTransparentWrapper, isVcpuLoop,
  kindOfAccessor, kindOfName, kindOfType, predicateRef, resolveFields,
} from './idioms';

/** Maps a 0-based row of the parsed text to the line the user has open. */
export type RowMapper = (row: number) => { line: number; change?: Loc['change'] } | undefined;

export interface LowerOptions {
  file: string;
  mapRow: RowMapper;
  origin: FunctionIr['origin'];
  patch?: string;
}

export interface LoweredUnit {
  functions: FunctionIr[];
  opsTables: { name: string; entries: OpsTable; loc: Loc }[];
  /** Arrays of functions initialized by index (`svm_exit_handlers[]`). */
  functionTables: FunctionTable[];
  /** Lines of ERROR or MISSING nodes outside any function we kept. */
  errorLines: number[];
}

/**
 * Lowers the functions and ops tables of a parsed file. With `rows`, only the top-level items
 * that overlap those 0-based rows (an edit in the editor), so unchanged functions keep their IR.
 */
export function lowerTranslationUnit(root: Node, opts: LowerOptions, rows?: { from: number; to: number }): LoweredUnit {
  const unit: LoweredUnit = { functions: [], opsTables: [], functionTables: [], errorLines: [] };
  // iterative, in source order: #ifdef and ERROR nodes can nest as deep as the input likes
  const stack: { node: Node; inError: boolean }[] = [{ node: root, inError: false }];
  while (stack.length > 0) {
    const { node: child, inError } = stack.pop()!;
    if (child !== root && rows && (child.endPosition.row < rows.from || child.startPosition.row > rows.to)) continue;
    if (child.type === 'function_definition') {
      const fn = lowerFunction(child, opts);
      if (fn) unit.functions.push(fn);
      else if (!inError) appendAll(unit.errorLines, errorLinesOf(child, opts));
    } else if (child.type === 'declaration') {
      const table = opsTableOf(child, opts);
      if (table) unit.opsTables.push(table);
      const fnTable = functionTableOf(child, opts);
      if (fnTable) unit.functionTables.push(fnTable);
    } else if (child === root || child.type === 'preproc_ifdef' || child.type === 'preproc_if' || child.type === 'preproc_else'
      || child.type === 'preproc_elif' || child.type === 'linkage_specification' || child.type === 'declaration_list' || child.type === 'ERROR') {
      // an ERROR node's lines include those of the ERROR nodes inside it
      if (child.type === 'ERROR' && !inError) appendAll(unit.errorLines, errorLinesOf(child, opts));
      // a function can still be recovered inside an ERROR node
      const children = child.namedChildren;
      const nested = inError || child.type === 'ERROR';
      for (let i = children.length - 1; i >= 0; i--) stack.push({ node: children[i], inError: nested });
    }
  }
  return unit;
}

/** Appends without spreading into a call, which overflows the stack for very long arrays. */
function appendAll<T>(to: T[], items: readonly T[]): void {
  for (const x of items) to.push(x);
}

function errorLinesOf(n: Node, opts: LowerOptions): number[] {
  const lines = new Set<number>();
  const add = (x: Node) => { const m = opts.mapRow(x.startPosition.row); if (m) lines.add(m.line); };
  if (n.type === 'ERROR' || n.isMissing) add(n);
  if (n.hasError) for (const e of n.descendantsOfType('ERROR')) add(e);
  return [...lines].sort((a, b) => a - b);
}

/** The declared name of a function_definition's declarator (through pointer declarators). */
export function declaratorName(decl: Node | null): string | undefined {
  let d = decl;
  while (d) {
    if (d.type === 'identifier' || d.type === 'field_identifier') return d.text;
    if (d.type === 'function_declarator' || d.type === 'pointer_declarator' || d.type === 'parenthesized_declarator' || d.type === 'array_declarator'
      || d.type === 'attributed_declarator') {
      d = d.childForFieldName('declarator') ?? d.namedChildren[0] ?? null;
      continue;
    }
    return undefined;
  }
  return undefined;
}

function functionDeclarator(decl: Node | null): Node | null {
  let d = decl;
  while (d && d.type !== 'function_declarator') d = d.childForFieldName('declarator');
  return d;
}

/** Statement kinds stmt() lowers; anything else (comments, attributes, ERROR) is no statement. */
const STATEMENT_TYPES = new Set([
  'compound_statement', 'if_statement', 'return_statement', 'expression_statement', 'declaration', 'goto_statement',
  'labeled_statement', 'for_statement', 'while_statement', 'do_statement', 'switch_statement', 'break_statement',
  'continue_statement', 'preproc_ifdef', 'preproc_if', 'preproc_else', 'preproc_elif',
]);

/** Operators whose chains (`a || b || c ...`) may be regrouped without changing what they compute. */
const ASSOCIATIVE = new Set(['&&', '||', '+', '*', '&', '|', '^']);

/**
 * A chain of one operator longer than this (`a + a + ... + a`) is lowered as a balanced tree, or
 * as one opaque value when the operator does not regroup, instead of one level per term. Kernel
 * chains are far shorter, so their IR is exactly as written.
 */
const LONG_CHAIN = 32;

class FunctionLowering {
  /** Declared names: their base kind, or null for a local that is not one (shadows the name convention). */
  readonly aliases = new Map<string, BaseKind | null>();
  /** stmt() and expr() calls under way: the recursion that MAX_IR_DEPTH bounds. */
  private depth = 0;

  constructor(private readonly opts: LowerOptions) {}

  loc(n: Node): Loc {
    const row = n.startPosition.row;
    const m = this.opts.mapRow(row);
    const loc: Loc = { file: this.opts.file, line: m?.line ?? row + 1, column: n.startPosition.column + 1 };
    if (m?.change) loc.change = m.change;
    return loc;
  }

  declareParam(p: Node): void {
    const type = p.childForFieldName('type');
    const name = declaratorName(p.childForFieldName('declarator'));
    if (!name) return;
    const kind = type?.type === 'struct_specifier' ? kindOfType(type.childForFieldName('name')?.text ?? '') : undefined;
    this.aliases.set(name, kind ?? null);
  }

  baseKind(name: string): BaseKind | undefined {
    const declared = this.aliases.get(name);
    if (declared === null) return undefined;
    return declared ?? kindOfName(name);
  }

  // ---- statements ----

  /** A statement, or a placeholder for it once nesting passes MAX_IR_DEPTH (see irDepth.ts). */
  stmt(n: Node): Stmt | null {
    const type = n.type;
    if (!STATEMENT_TYPES.has(type)) return null;
    if (this.depth >= MAX_IR_DEPTH) return cutStmt(n.text, this.loc(n));
    this.depth++;
    try {
      return this.lowerStmt(n, type);
    } finally {
      this.depth--;
    }
  }

  private lowerStmt(n: Node, type: string): Stmt | null {
    switch (type) {
      case 'compound_statement': return { k: 'block', body: this.stmts(n.namedChildren), loc: this.loc(n) };
      case 'if_statement': {
        const cond = n.childForFieldName('condition');
        const cons = n.childForFieldName('consequence');
        const alt = n.childForFieldName('alternative');
        const elseStmt = alt ? this.stmt(alt.type === 'else_clause' ? alt.namedChildren[0] : alt) : null;
        return {
          k: 'if', cond: cond ? this.expr(cond) : this.opaque(n, []), text: cond?.text ?? '',
          then: (cons && this.stmt(cons)) ?? this.empty(n), ...(elseStmt ? { else: elseStmt } : {}), loc: this.loc(n),
        };
      }
      case 'return_statement': {
        const v = n.namedChildren.find((c) => c.type !== 'comment');
        return v ? { k: 'return', value: this.expr(v), loc: this.loc(n) } : { k: 'return', loc: this.loc(n) };
      }
      case 'expression_statement': {
        const e = n.namedChildren.find((c) => c.type !== 'comment');
        return e ? { k: 'expr', expr: this.expr(e), loc: this.loc(n) } : null;
      }
      case 'declaration': return this.declaration(n);
      case 'goto_statement': return { k: 'goto', label: n.childForFieldName('label')?.text ?? '', loc: this.loc(n) };
      case 'labeled_statement': {
        const label: Stmt = { k: 'label', name: n.childForFieldName('label')?.text ?? '', loc: this.loc(n) };
        const inner = n.namedChildren.slice(1).map((c) => this.stmt(c)).filter((s): s is Stmt => !!s);
        return inner.length ? { k: 'block', body: [label, ...inner], loc: this.loc(n) } : label;
      }
      case 'for_statement': case 'while_statement': case 'do_statement': {
        const body = n.childForFieldName('body');
        const parts: Expr[] = [];
        for (const f of ['initializer', 'condition', 'update']) {
          const c = n.childForFieldName(f);
          if (c) parts.push(this.expr(c));
        }
        const loop: Stmt = { k: 'loop', each: 'other', body: (body && this.stmt(body)) ?? this.empty(n), loc: this.loc(n) };
        return parts.length ? { k: 'block', body: [{ k: 'expr', expr: this.opaque(n, parts), loc: this.loc(n) }, loop], loc: this.loc(n) } : loop;
      }
      case 'switch_statement': return this.switchStmt(n);
      case 'break_statement': return { k: 'break', loc: this.loc(n) };
      case 'continue_statement': return { k: 'continue', loc: this.loc(n) };
      case 'preproc_ifdef': case 'preproc_if': case 'preproc_else': case 'preproc_elif':
        return { k: 'block', body: this.stmts(n.namedChildren), loc: this.loc(n) };
      default: return null; // comments, empty statements, attributes, ERROR
    }
  }

  empty(n: Node): Stmt {
    return { k: 'block', body: [], loc: this.loc(n) };
  }

  /** A statement list; recognises `for_each_x(...) { ... }` macro loops the grammar splits in two. */
  stmts(nodes: Node[]): Stmt[] {
    const out: Stmt[] = [];
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i];
      const macro = loopMacroCall(n);
      const next = nodes[i + 1];
      if (macro && next && (next.type === 'compound_statement' || next.type === 'expression_statement' || next.type === 'if_statement')) {
        const body = this.stmt(next) ?? this.empty(next);
        out.push({ k: 'loop', each: isVcpuLoop(macro) ? 'vcpu' : 'other', body, loc: this.loc(n) });
        i++;
        continue;
      }
      const s = this.stmt(n);
      if (s) out.push(s);
    }
    return out;
  }

  switchStmt(n: Node): Stmt {
    const subject = n.childForFieldName('condition');
    const body = n.childForFieldName('body');
    const cases: { labels: string[]; body: Stmt[]; loc: Loc }[] = [];
    // cases under #ifdef CONFIG_... sit inside the preprocessor node: all of them are cases
    const caseNodes: Node[] = [];
    const pending: Node[] = body ? [...body.namedChildren].reverse() : [];
    while (pending.length > 0) {
      const c = pending.pop()!;
      if (c.type === 'case_statement') caseNodes.push(c);
      else if (c.type === 'preproc_ifdef' || c.type === 'preproc_if' || c.type === 'preproc_else' || c.type === 'preproc_elif') {
        const inner = c.namedChildren;
        for (let i = inner.length - 1; i >= 0; i--) pending.push(inner[i]);
      }
    }
    for (const c of caseNodes) {
      const value = c.childForFieldName('value');
      const label = value ? value.text : 'default';
      const stmts = this.stmts(c.namedChildren.filter((x) => x !== value && x.type !== 'ERROR'));
      const prev = cases[cases.length - 1];
      // consecutive labels with no statements between them share the next body
      if (prev && prev.body.length === 0) prev.labels.push(label), appendAll(prev.body, stmts);
      else cases.push({ labels: [label], body: stmts, loc: this.loc(c) });
    }
    return { k: 'switch', subject: subject ? this.expr(subject) : this.opaque(n, []), cases, loc: this.loc(n) };
  }

  declaration(n: Node): Stmt | null {
    const type = n.childForFieldName('type');
    const structKind = type?.type === 'struct_specifier' ? kindOfType(type.childForFieldName('name')?.text ?? '') : undefined;
    const out: Stmt[] = [];
    for (const d of n.childrenForFieldName('declarator')) {
      const isInit = d.type === 'init_declarator';
      const name = declaratorName(isInit ? d.childForFieldName('declarator') : d);
      if (!name) continue;
      const valueNode = isInit ? d.childForFieldName('value') : null;
      const kind = structKind ?? (valueNode ? this.kindOfExpr(valueNode) : undefined);
      this.aliases.set(name, kind ?? null);
      if (valueNode && !kind) {
        out.push({
          k: 'expr', loc: this.loc(d),
          expr: { k: 'assign', target: { k: 'local', name }, op: '=', value: this.expr(valueNode), text: d.text, loc: this.loc(d) },
        });
      }
    }
    if (out.length === 0) return null;
    return out.length === 1 ? out[0] : { k: 'block', body: out, loc: this.loc(n) };
  }

  /** The base kind an initializer expression denotes: to_svm(vcpu), &svm->vmcb->save, svm->sev_es.vmsa. */
  kindOfExpr(n: Node): BaseKind | undefined {
    const inner = unwrap(n);
    if (inner.type === 'call_expression') {
      const fn = inner.childForFieldName('function');
      return fn?.type === 'identifier' ? kindOfAccessor(fn.text) : undefined;
    }
    if (inner.type === 'identifier') return this.baseKind(inner.text);
    if (inner.type === 'field_expression') {
      const chain = this.fieldChain(inner);
      if (!chain) return undefined;
      const ref = resolveFields(chain.kind, chain.fields);
      if (ref && isWholeArea(ref)) return ref.k === 'vmsa' && ref.area === 'page' ? 'vmsa' : 'vmcbSave';
      return endKind(chain.kind, chain.fields);
    }
    return undefined;
  }

  // ---- expressions ----

  /** An expression, or a placeholder for it once nesting passes MAX_IR_DEPTH (see irDepth.ts). */
  expr(node: Node, spineChecked = false): Expr {
    // parentheses and casts add no level to the IR: stepped through here, not recursed into
    const { node: n, type } = stepThrough(node);
    if (this.depth >= MAX_IR_DEPTH) return cutExpr(n.text, this.loc(n));
    this.depth++;
    try {
      return this.lowerExpr(n, type, spineChecked);
    } finally {
      this.depth--;
    }
  }

  /** `spineChecked`: n is the left operand of a binary expression whose chain was found short. */
  private lowerExpr(n: Node, type: string, spineChecked: boolean): Expr {
    const loc = this.loc(n);
    switch (type) {
      case 'parenthesized_expression':
        return this.opaque(n, n.namedChildren.map((c) => this.expr(c)));
      case 'comma_expression':
        return this.commaChain(n);
      case 'cast_expression':
        return this.opaque(n, []);
      case 'number_literal': {
        const v = Number.parseInt(n.text.replace(/[uUlL]+$/, ''));
        return Number.isNaN(v) ? this.opaque(n, []) : { k: 'const', value: v, text: n.text, loc };
      }
      case 'true': return { k: 'const', value: 1, text: 'true', loc };
      case 'false': case 'null': return { k: 'const', value: 0, text: n.text, loc };
      case 'identifier': {
        if (n.text === 'NULL' || n.text === 'false') return { k: 'const', value: 0, text: n.text, loc };
        if (n.text === 'true') return { k: 'const', value: 1, text: n.text, loc };
        if (isNamedConstant(n.text)) return { k: 'sym', name: n.text, text: n.text, loc };
        const kind = this.baseKind(n.text);
        if (kind === 'vmsa') return { k: 'read', ref: WHOLE_VMSA_PAGE, text: n.text, loc };
        if (kind === 'vmcbSave') return { k: 'read', ref: WHOLE_VMCB_SAVE, text: n.text, loc };
        // the VM, the vCPU and their vendor structs exist while KVM runs code on them: non-null
        if (kind) return { k: 'const', value: 1, text: n.text, loc };
        return { k: 'read', ref: { k: 'local', name: n.text }, text: n.text, loc };
      }
      case 'unary_expression': {
        const op = n.childForFieldName('operator')?.text ?? n.children[0]?.text;
        const arg = n.childForFieldName('argument');
        if (!arg) return this.opaque(n, []);
        if (op === '-' && arg.type === 'identifier' && /^E[A-Z0-9]+$/.test(arg.text)) return { k: 'errno', name: arg.text, loc };
        if (op === '-' && arg.type === 'number_literal') return { k: 'const', value: -Number.parseInt(arg.text), text: n.text, loc };
        if (op === '!') return { k: 'not', arg: this.expr(arg), loc };
        if (op === '~') return { k: 'binary', op: '^', left: this.expr(arg), right: { k: 'const', value: -1, text: '~', loc }, loc };
        return this.opaque(n, [this.expr(arg)]);
      }
      case 'binary_expression': {
        const op = n.childForFieldName('operator')?.text ?? '';
        const l = n.childForFieldName('left');
        const r = n.childForFieldName('right');
        if (!l || !r) return this.opaque(n, []);
        if (!spineChecked && leftChain(n, undefined, LONG_CHAIN + 1).length > LONG_CHAIN) {
          const chain = leftChain(n, op);
          if (chain.length > LONG_CHAIN) return this.longChain(n, op, chain);
          // a long chain of mixed operators (`a - b + c - ...`): its terms, in one value we do not model
          return this.opaque(n, leftChain(n, undefined).map((t) => this.expr(t)));
        }
        if (op === '&&' || op === '||') return { k: 'logic', op, left: this.expr(l, true), right: this.expr(r), loc };
        // hflags & HF_GUEST_MASK: one bit of kernel state, a flag of its own
        if (op === '&') {
          const bit = this.bitOf(l, r) ?? this.bitOf(r, l);
          if (bit) return { k: 'read', ref: bit, text: n.text, loc };
        }
        return { k: 'binary', op, left: this.expr(l, true), right: this.expr(r), loc };
      }
      case 'conditional_expression': {
        const c = n.childForFieldName('condition');
        const t = n.childForFieldName('consequence');
        const e = n.childForFieldName('alternative');
        if (!c || !e) return this.opaque(n, []);
        return { k: 'ternary', cond: this.expr(c), then: t ? this.expr(t) : this.expr(c), else: this.expr(e), loc };
      }
      case 'assignment_expression': {
        const left = n.childForFieldName('left');
        const right = n.childForFieldName('right');
        const op = n.childForFieldName('operator')?.text ?? '=';
        if (!left || !right) return this.opaque(n, []);
        if (left.type === 'identifier' && op === '=') {
          const kind = this.kindOfExpr(right);
          if (kind) { this.aliases.set(left.text, kind); return this.opaque(n, []); }
        }
        // flags |= BIT sets the bit's flag, flags &= ~BIT clears it
        if (op === '|=' || op === '&=') {
          const mask = op === '&=' && unwrap(right).type === 'unary_expression' && unwrap(right).children[0]?.text === '~' ? unwrap(right).childForFieldName('argument') : op === '|=' ? right : null;
          const bit = mask ? this.bitOf(left, mask) : undefined;
          if (bit) return { k: 'assign', target: bit, op: '=', value: { k: 'const', value: op === '|=' ? 1 : 0, text: op === '|=' ? '1' : '0', loc }, text: n.text, loc };
        }
        return { k: 'assign', target: this.lvalue(left), op, value: this.expr(right), text: n.text, loc };
      }
      case 'update_expression': {
        const arg = n.childForFieldName('argument');
        return { k: 'assign', target: arg ? this.lvalue(arg) : null, op: '+=', value: { k: 'opaque', text: '1', parts: [], loc }, text: n.text, loc };
      }
      case 'field_expression': {
        const ops = opsMember(n);
        if (ops) return { k: 'call', callee: { k: 'opPresent', op: ops }, args: [], text: n.text, loc };
        const ref = this.stateOf(n) ?? this.localField(n);
        return ref ? { k: 'read', ref, text: n.text, loc } : this.opaque(n, this.partsOf(n));
      }
      case 'pointer_expression': {
        const arg = n.childForFieldName('argument');
        if (!arg) return this.opaque(n, []);
        const inner = this.expr(arg);
        // &local: the text says so, so a call handed it can be taken to change the local
        return inner.k === 'read' && inner.ref.k === 'local' && n.text.startsWith('&') ? { ...inner, text: n.text } : inner;
      }
      case 'call_expression': return this.call(n);
      default:
        return this.opaque(n, this.partsOf(n));
    }
  }

  /**
   * `a op b op c ...` with more than LONG_CHAIN terms: each term lowered once, side by side. An
   * operator that regroups freely becomes a balanced tree (`(a || b) || (c || d)` decides as
   * `a || b || c || d` does, left to right); any other becomes one value we do not model, whose
   * terms still run.
   */
  longChain(n: Node, op: string, terms: Node[]): Expr {
    const lowered = terms.map((t) => this.expr(t));
    if (!ASSOCIATIVE.has(op)) return this.opaque(n, lowered);
    // bottom-up, pairing neighbours: log2(terms) levels, no recursion
    let level = lowered;
    while (level.length > 1) {
      const next: Expr[] = [];
      for (let i = 0; i + 1 < level.length; i += 2) {
        const left = level[i];
        const right = level[i + 1];
        next.push(op === '&&' || op === '||' ? { k: 'logic', op, left, right, loc: left.loc } : { k: 'binary', op, left, right, loc: left.loc });
      }
      if (level.length % 2 === 1) next.push(level[level.length - 1]);
      level = next;
    }
    return level[0];
  }

  /** `a, b, c`: the grammar nests it to the right, one level per comma; lowered flat when long. */
  commaChain(n: Node): Expr {
    const terms: Node[] = [];
    let cur: Node | null = n;
    while (cur?.type === 'comma_expression' && terms.length <= LONG_CHAIN) {
      const [first, ...rest] = cur.namedChildren;
      if (!first || rest.length !== 1) break;
      terms.push(first);
      cur = rest[0];
    }
    if (terms.length <= LONG_CHAIN) return this.opaque(n, n.namedChildren.map((c) => this.expr(c)));
    // long: every term of the whole chain, walked iteratively, in one opaque value
    const all: Node[] = [];
    cur = n;
    while (cur?.type === 'comma_expression') {
      const children: Node[] = cur.namedChildren;
      if (children.length !== 2) break;
      all.push(children[0]);
      cur = children[1];
    }
    if (cur) all.push(cur);
    return this.opaque(n, all.map((c) => this.expr(c)));
  }

  call(n: Node): Expr {
    const loc = this.loc(n);
    const fn = n.childForFieldName('function');
    const argNodes = n.childForFieldName('arguments')?.namedChildren.filter((c) => c.type !== 'comment') ?? [];
    if (!fn) return this.opaque(n, []);
    if (fn.type === 'identifier' && isTransparentWrapper(fn.text) && argNodes.length >= 1) return this.expr(argNodes[0]);
    const callee = this.callee(fn);
    const args = argNodes.map((a) => this.expr(a));
    if (callee.k === 'direct') {
      const pred = predicateRef(callee.name);
      if (pred) return { k: 'read', ref: pred, text: n.text, loc };
    }
    return { k: 'call', callee, args, text: n.text, loc };
  }

  callee(node: Node): Callee {
    let fn = node;
    while (fn.type === 'parenthesized_expression' && fn.namedChildren.length === 1) fn = fn.namedChildren[0];
    if (fn.type === 'identifier') return this.aliases.has(fn.text) ? { k: 'pointer', name: fn.text } : { k: 'direct', name: fn.text };
    const member = opsMember(fn);
    if (member) return { k: 'op', op: member };
    // static_call(kvm_x86_op)(...) and kvm_x86_call(op)(...)
    if (fn.type === 'call_expression') {
      const inner = fn.childForFieldName('function')?.text;
      const arg = fn.childForFieldName('arguments')?.namedChildren[0]?.text ?? '';
      if (inner === 'static_call' && arg.startsWith(STATIC_CALL_PREFIX)) return { k: 'op', op: arg.slice(STATIC_CALL_PREFIX.length) };
      if (inner === 'kvm_x86_call' || inner === 'kvm_pmu_call') return { k: 'op', op: arg };
    }
    // svm_exit_handlers[exit_code](vcpu): the table's entries are the candidates
    if (fn.type === 'subscript_expression') {
      const table = fn.childForFieldName('argument');
      const index = fn.childForFieldName('index');
      if (table?.type === 'identifier' && index) return { k: 'table', table: table.text, index: this.expr(index) };
    }
    return { k: 'unknown', text: fn.text };
  }

  lvalue(n: Node): StateRef | null {
    let inner = unwrap(n);
    // a[i][j] = ...: the array
    while (inner.type === 'subscript_expression') {
      const arg = inner.childForFieldName('argument');
      if (!arg) return null;
      inner = unwrap(arg);
    }
    if (inner.type === 'identifier') return this.baseKind(inner.text) ? null : { k: 'local', name: inner.text };
    if (inner.type === 'field_expression') {
      const ref = this.stateOf(inner);
      // svm->sev_es.vmsa = page: setting the pointer, not writing the save area
      if (ref) return isWholeArea(ref) ? null : ref;
      return this.localField(inner);
    }
    return null;
  }

  /** The state a field expression names, or null for state we do not model. */
  stateOf(n: Node): StateRef | null {
    const chain = this.fieldChain(n);
    return chain ? resolveFields(chain.kind, chain.fields) : null;
  }

  /** One named bit of a kernel flag or of the VMCB control area (`hflags & HF_GUEST_MASK`), as a flag of its own. */
  bitOf(value: Node, mask: Node): StateRef | undefined {
    const m = unwrap(mask);
    if (m.type !== 'identifier' || !isNamedConstant(m.text)) return undefined;
    const v = unwrap(value);
    if (v.type !== 'field_expression') return undefined;
    const ref = this.stateOf(v);
    if (ref?.k === 'flag') return { k: 'flag', scope: ref.scope, name: `${ref.name}&${m.text}` };
    if (ref?.k === 'control') return { k: 'flag', scope: 'vcpu', name: `vmcb.control.${ref.field}&${m.text}` };
    return undefined;
  }

  /** msr->index, sev_cmd.id: a field of a local or parameter that is not kernel state. */
  localField(n: Node): StateRef | null {
    // innermost field last, reversed at the end (unshift at every step is quadratic in a long chain)
    const fields: string[] = [];
    let cur: Node | null = n;
    while (cur?.type === 'field_expression') {
      fields.push(cur.childForFieldName('field')?.text ?? '');
      cur = cur.childForFieldName('argument');
      if (cur?.type === 'parenthesized_expression' && cur.namedChildCount === 1) cur = cur.namedChildren[0];
      // entries[i].index: an element of a local array, named by the array (every element alike)
      if (cur?.type === 'subscript_expression') cur = cur.childForFieldName('argument');
    }
    if (cur?.type !== 'identifier' || this.baseKind(cur.text) || OPS_TABLE_NAMES.has(cur.text)) return null;
    return { k: 'field', root: cur.text, path: fields.reverse().join('.') };
  }

  fieldChain(n: Node): { kind: BaseKind; fields: string[] } | null {
    // innermost field last, reversed once the base is found
    const fields: string[] = [];
    let cur: Node | null = n;
    while (cur) {
      cur = unwrap(cur);
      if (cur.type === 'field_expression') {
        fields.push(cur.childForFieldName('field')?.text ?? '');
        cur = cur.childForFieldName('argument');
        continue;
      }
      if (cur.type === 'subscript_expression') { cur = cur.childForFieldName('argument'); continue; }
      if (cur.type === 'identifier') {
        const kind = this.baseKind(cur.text);
        return kind ? { kind, fields: fields.reverse() } : null;
      }
      if (cur.type === 'call_expression') {
        const fn = cur.childForFieldName('function');
        const kind = fn?.type === 'identifier' ? kindOfAccessor(fn.text) : undefined;
        return kind ? { kind, fields: fields.reverse() } : null;
      }
      return null;
    }
    return null;
  }

  /** The calls, assignments and field reads inside a node we do not model, in source order. */
  partsOf(n: Node): Expr[] {
    const parts: Expr[] = [];
    // iterative: an initializer can nest braces as deep as the input likes
    const pending: Node[] = [...n.namedChildren].reverse();
    while (pending.length > 0) {
      const c = pending.pop()!;
      if (c.type === 'call_expression' || c.type === 'assignment_expression' || c.type === 'field_expression'
        || c.type === 'update_expression') parts.push(this.expr(c));
      else if (c.namedChildCount > 0) {
        const inner = c.namedChildren;
        for (let i = inner.length - 1; i >= 0; i--) pending.push(inner[i]);
      }
    }
    return parts;
  }

  opaque(n: Node, parts: Expr[]): Expr {
    return { k: 'opaque', text: n.text.length > 80 ? n.text.slice(0, 77) + '...' : n.text, parts, loc: this.loc(n) };
  }
}

/**
 * The terms of a chain nested to the left (`a + b + c` is `(a + b) + c`), leftmost first: through
 * binary expressions with operator `op`, or with any operator when `op` is undefined, and through
 * the parentheses and casts expr() steps through. Iterative; stops after `limit` terms.
 */
function leftChain(n: Node, op: string | undefined, limit = Number.POSITIVE_INFINITY): Node[] {
  const rights: Node[] = [];
  let cur = n;
  while (rights.length < limit) {
    const l = cur.childForFieldName('left');
    const r = cur.childForFieldName('right');
    if (!l || !r) break;
    rights.push(r);
    const next = stepThrough(l);
    if (next.type !== 'binary_expression' || (op !== undefined && next.node.childForFieldName('operator')?.text !== op)) {
      rights.push(l);
      return rights.reverse();
    }
    cur = next.node;
  }
  rights.push(cur);
  return rights.reverse();
}

/** Steps through parentheses around one expression and through casts: they add nothing to the IR. */
function stepThrough(start: Node): { node: Node; type: string } {
  let n = start;
  let type = n.type;
  for (;;) {
    if (type === 'parenthesized_expression' && n.namedChildCount === 1) {
      n = n.namedChild(0)!;
    } else if (type === 'cast_expression') {
      const v = n.childForFieldName('value');
      if (!v) break;
      n = v;
    } else break;
    type = n.type;
  }
  return { node: n, type };
}

function unwrap(n: Node): Node {
  let cur = n;
  for (;;) {
    if ((cur.type === 'parenthesized_expression' && cur.namedChildCount === 1)) { cur = cur.namedChildren[0]; continue; }
    if (cur.type === 'pointer_expression') { const a = cur.childForFieldName('argument'); if (a) { cur = a; continue; } }
    if (cur.type === 'cast_expression') { const v = cur.childForFieldName('value'); if (v) { cur = v; continue; } }
    return cur;
  }
}

/** Which kind a field chain ends on, when it ends on a base rather than a field of state. */
function endKind(kind: BaseKind, fields: string[]): BaseKind | undefined {
  let k: BaseKind = kind;
  for (const f of fields) {
    if (k === 'svm' && f === 'vcpu') k = 'vcpu';
    else if (k === 'vcpu' && f === 'kvm') k = 'vm';
    else if (k === 'vcpu' && f === 'run') k = 'kvmRun';
    else if (k === 'svm' && (f === 'vmcb' || f === 'vmcb01' || f === 'current_vmcb')) k = 'vmcb';
    else if (k === 'vmcb' && f === 'ptr') k = 'vmcb';
    else if (k === 'vmcb' && f === 'save') k = 'vmcbSave';
    else if (k === 'vmcb' && f === 'control') k = 'vmcbControl';
    else if (k === 'svm' && f === 'sev_es') k = 'svm';
    else if (k === 'svm' && f === 'vmsa') k = 'vmsa';
    else if (k === 'vm' && (f === 'arch' || f === 'sev_info')) k = f === 'sev_info' ? 'sev' : 'vm';
    else if (k === 'vcpu' && f === 'arch') k = 'vcpu';
    else return undefined;
  }
  return k;
}

/** kvm_x86_ops.set_dr7 / kvm_x86_ops->set_dr7 → "set_dr7". */
function opsMember(n: Node): string | undefined {
  if (n.type !== 'field_expression') return undefined;
  const arg = n.childForFieldName('argument');
  if (arg?.type === 'identifier' && OPS_TABLE_NAMES.has(arg.text)) return n.childForFieldName('field')?.text;
  return undefined;
}

function loopMacroCall(n: Node): string | undefined {
  if (n.type !== 'expression_statement') return undefined;
  const call = n.namedChildren[0];
  if (call?.type !== 'call_expression') return undefined;
  const fn = call.childForFieldName('function');
  if (fn?.type !== 'identifier' || !isLoopMacro(fn.text)) return undefined;
  // The grammar reads `macro(...) {` as a statement missing its ';'.
  return n.text.trimEnd().endsWith(';') && !n.hasError ? undefined : fn.text;
}

export function lowerFunction(n: Node, opts: LowerOptions): FunctionIr | undefined {
  const declarator = n.childForFieldName('declarator');
  const name = declaratorName(declarator);
  const body = n.childForFieldName('body');
  if (!name || !body) return undefined;
  const lowering = new FunctionLowering(opts);
  const params: string[] = [];
  for (const p of functionDeclarator(declarator)?.childForFieldName('parameters')?.namedChildren ?? []) {
    if (p.type !== 'parameter_declaration') continue;
    lowering.declareParam(p);
    const pn = declaratorName(p.childForFieldName('declarator'));
    if (pn) params.push(pn);
  }
  const typeText = n.childForFieldName('type')?.text ?? '';
  const returnsVoid = typeText === 'void' && declarator?.type === 'function_declarator';
  const loweredBody = lowering.stmt(body) ?? lowering.empty(body);
  const endRow = n.endPosition.row;
  const end = opts.mapRow(endRow);
  const start = opts.mapRow(n.startPosition.row);
  const fn: FunctionIr = {
    name, params, returnsVoid, body: loweredBody, loc: lowering.loc(n),
    endLine: end?.line ?? endRow + 1,
    ...(end && start ? {} : { truncated: true }),
    origin: opts.origin, ...(opts.patch ? { patch: opts.patch } : {}),
    errorLines: errorLinesOf(body, opts),
  };
  // exact bound, and where code was left out (fn.depthCut)
  limitIrDepth(fn);
  return fn;
}

/** `static struct kvm_x86_ops svm_x86_ops = { .op = fn, ... };` → op → fn. */
function opsTableOf(n: Node, opts: LowerOptions): LoweredUnit['opsTables'][number] | undefined {
  const type = n.childForFieldName('type');
  if (type?.type !== 'struct_specifier' || type.childForFieldName('name')?.text !== 'kvm_x86_ops') return undefined;
  const init = n.descendantsOfType('initializer_list')[0];
  if (!init) return undefined;
  const entries: OpsTable = new Map();
  for (const pair of init.namedChildren) {
    if (pair.type !== 'initializer_pair') continue;
    const field = pair.namedChildren[0]?.type === 'field_designator' ? pair.namedChildren[0].text.replace(/^\./, '') : undefined;
    const value = pair.childForFieldName('value');
    if (field && value?.type === 'identifier') entries.set(field, value.text);
  }
  const declName = declaratorName(n.childForFieldName('declarator')?.childForFieldName('declarator') ?? null) ?? 'kvm_x86_ops';
  const row = n.startPosition.row;
  return { name: declName, entries, loc: { file: opts.file, line: opts.mapRow(row)?.line ?? row + 1, column: 1 } };
}

/**
 * `static int (*const svm_exit_handlers[])(struct kvm_vcpu *) = { [SVM_EXIT_NPF] = npf_interception, ... };`
 * → its entries, index constant to function, in source order.
 */
function functionTableOf(n: Node, opts: LowerOptions): FunctionTable | undefined {
  const init = n.descendantsOfType('init_declarator')[0];
  const list = init?.childForFieldName('value');
  if (!init || list?.type !== 'initializer_list') return undefined;
  if (!init.childForFieldName('declarator')?.descendantsOfType('array_declarator').length) return undefined;
  const entries: FunctionTable['entries'] = [];
  for (const pair of list.namedChildren) {
    if (pair.type !== 'initializer_pair') continue;
    const designator = pair.namedChildren[0];
    const value = pair.childForFieldName('value');
    if (designator?.type !== 'subscript_designator' || value?.type !== 'identifier') continue;
    const index = designator.namedChildren[0]?.text;
    if (index) entries.push({ index, fn: value.text });
  }
  if (entries.length === 0) return undefined;
  const name = declaratorName(init.childForFieldName('declarator'));
  if (!name) return undefined;
  const row = n.startPosition.row;
  return { name, entries, loc: { file: opts.file, line: opts.mapRow(row)?.line ?? row + 1, column: 1 } };
}
