// Generators of C for the hunk wrapper, the parser and lowering: kernel-like statements and
// expressions over the state the simulation cares about, whole functions, arbitrary hunks of
// C-ish lines (cut anywhere, braces unbalanced, comments and strings left open), and nesting a
// few thousand deep in each of the shapes that recursion meets.

import fc from 'fast-check';
import type { Hunk, HunkLine } from '../../../extension/core/series/types';
import { SEEDS } from './mutate';

const STATE = [
  'vcpu->arch.guest_state_protected', 'svm->vmcb->save.dr7', 'to_svm(vcpu)->vmcb->save.dr6', 'svm->sev_es.vmsa->rip',
  'vcpu->arch.guest_debug', 'vcpu->kvm->arch.has_protected_state', 'kvm->arch.has_protected_state', 'vcpu->arch.dr7',
  'svm->vmcb->control.exit_code', 'vcpu->run->s.regs.regs.rax', 'vcpu->arch.guest_fpu.fpstate->is_confidential',
];
const LOCALS = ['r', 'x', 'value', 'i', 'ret'];
const CALLS = [
  'sev_es_guest(vcpu->kvm)', 'to_svm(vcpu)', 'kvm_x86_ops.set_dr7(vcpu, value)', 'static_call(kvm_x86_set_dr7)(vcpu, value)',
  'kvm_x86_call(set_dr7)(vcpu, value)', 'svm_set_dr7(vcpu, value)', 'WARN_ON_ONCE(x)', 'fpstate_is_confidential(&vcpu->arch.guest_fpu)',
  'copy_to_user(argp, &x, sizeof(x))', 'helper()', 'svm_exit_handlers[exit_code](vcpu)', 'do_msr(vcpu, &x)',
];
const CONSTS = ['0', '1', 'true', 'false', 'NULL', '-EINVAL', '-EFAULT', 'KVM_RUN', 'DR7_FIXED_1', '0xffffffffffffffffULL', "'\\''", '"str\\"ing"'];

export const exprArb: fc.Arbitrary<string> = fc.letrec<{ e: string }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...CONSTS, ...LOCALS, ...STATE),
    fc.constantFrom(...CALLS),
    fc.tuple(fc.constantFrom('!', '-', '~', '(int)', '(bool)', '*', '&'), tie('e')).map(([op, a]) => `${op}(${a})`),
    fc.tuple(tie('e'), fc.constantFrom('&&', '||', '+', '-', '==', '!=', '<', '&', '|', '<<', ','), tie('e')).map(([a, op, b]) => `(${a} ${op} ${b})`),
    fc.tuple(tie('e'), tie('e'), tie('e')).map(([c, a, b]) => `(${c} ? ${a} : ${b})`),
    fc.tuple(fc.constantFrom('f', 'g', 'kvm_x86_ops.get_dr7', 'WARN_ON'), fc.array(tie('e'), { maxLength: 3 })).map(([f, args]) => `${f}(${args.join(', ')})`),
    fc.tuple(fc.constantFrom(...STATE, ...LOCALS), fc.constantFrom('=', '|=', '&=', '+='), tie('e')).map(([l, op, v]) => `(${l} ${op} ${v})`),
  ),
})).e;

const LABELS = ['out', 'err', 'skip_protected_regs', 'unlock'];

/** A statement as lines (without the function's indentation). */
export const stmtArb: fc.Arbitrary<string[]> = fc.letrec<{ s: string[]; block: string[] }>((tie) => ({
  block: fc.array(tie('s'), { maxLength: 4 }).map((ss) => ['{', ...ss.flat().map((l) => '\t' + l), '}']),
  s: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.tuple(fc.constantFrom(...STATE, ...LOCALS), exprArb).map(([l, e]) => [`${l} = ${e};`]),
    exprArb.map((e) => [`${e};`]),
    fc.tuple(fc.constantFrom('int', 'unsigned long', 'struct vcpu_svm *', 'bool'), fc.constantFrom(...LOCALS), exprArb).map(([t, n, e]) => [`${t} ${n}_d = ${e};`]),
    fc.option(exprArb).map((e) => [e === null ? 'return;' : `return ${e};`]),
    fc.constantFrom(...LABELS).map((l) => [`goto ${l};`]),
    fc.tuple(fc.constantFrom(...LABELS), tie('s')).map(([l, s]) => [`${l}:`, ...s]),
    fc.constantFrom('break;', 'continue;', ';').map((s) => [s]),
    tie('block'),
    fc.tuple(exprArb, tie('s'), fc.option(tie('s'))).map(([c, t, e]) => [`if (${c})`, ...t.map((l) => '\t' + l), ...(e ? ['else', ...e.map((l) => '\t' + l)] : [])]),
    fc.tuple(fc.array(fc.tuple(exprArb, tie('s')), { minLength: 1, maxLength: 4 }), tie('s')).map(([arms, last]) => [
      ...arms.flatMap(([c, s], k) => [`${k === 0 ? '' : 'else '}if (${c})`, ...s.map((l) => '\t' + l)]), 'else', ...last.map((l) => '\t' + l),
    ]),
    fc.tuple(exprArb, fc.array(fc.tuple(fc.array(fc.constantFrom('KVM_RUN', 'KVM_SET_REGS', '1', 'SVM_EXIT_NPF', 'default'), { minLength: 1, maxLength: 2 }), fc.array(tie('s'), { maxLength: 3 }), fc.boolean()), { maxLength: 5 }))
      .map(([subject, cases]) => [`switch (${subject}) {`, ...cases.flatMap(([labels, body, brk]) => [
        ...labels.map((l) => (l === 'default' ? 'default:' : `case ${l}:`)), ...body.flat().map((l) => '\t' + l), ...(brk ? ['\tbreak;'] : []),
      ]), '}']),
    fc.tuple(exprArb, tie('s')).map(([c, s]) => [`while (${c})`, ...s.map((l) => '\t' + l)]),
    fc.tuple(exprArb, tie('block')).map(([c, b]) => [`for (i = 0; ${c}; i++)`, ...b]),
    fc.tuple(tie('block'), exprArb).map(([b, c]) => ['do', ...b, `while (${c});`]),
    tie('block').map((b) => ['kvm_for_each_vcpu(i, vcpu, kvm)', ...b]),
  ),
})).s;

export interface GeneratedFunction {
  name: string;
  lines: string[];
}

const oneFunctionArb = fc.tuple(
  fc.constantFrom('static int', 'int', 'static void', 'static bool', 'static noinline int'),
  fc.constantFrom('struct kvm_vcpu *vcpu', 'struct kvm_vcpu *vcpu, unsigned long value', 'struct kvm *kvm, struct kvm_sev_cmd *argp', 'void', 'struct vcpu_svm *svm'),
  fc.array(stmtArb, { maxLength: 8 }),
);

/** One to four functions, named fuzz_fn_0, fuzz_fn_1, ... */
export const functionsArb: fc.Arbitrary<GeneratedFunction[]> = fc.array(oneFunctionArb, { minLength: 1, maxLength: 4 })
  .map((fns) => fns.map(([ret, params, body], k) => {
    const name = `fuzz_fn_${k}`;
    return { name, lines: [`${ret} ${name}(${params})`, '{', ...body.flat().map((l) => '\t' + l), '}'] };
  }));

// ---------------------------------------------------------------- deep nesting

export type DeepShape = 'parens' | 'braces' | 'ifs' | 'elseIf' | 'ternary' | 'not' | 'cast' | 'sum' | 'calls' | 'switches' | 'comments';

export const deepShapeArb: fc.Arbitrary<DeepShape> = fc.constantFrom('parens', 'braces', 'ifs', 'elseIf', 'ternary', 'not', 'cast', 'sum', 'calls', 'switches', 'comments');

/** `depth` levels of one shape, as the lines of a function body. */
export function deepBody(shape: DeepShape, depth: number): string[] {
  const x = 'vcpu->arch.guest_state_protected';
  switch (shape) {
    case 'parens': return [`return ${'('.repeat(depth)}${x}${')'.repeat(depth)};`];
    case 'not': return [`return ${'!'.repeat(depth)}${x};`];
    case 'cast': return [`return ${'(int)'.repeat(depth)}${x};`];
    case 'sum': return [`return ${Array.from({ length: depth }, (_, k) => `x${k}`).join(' + ')};`];
    case 'ternary': return [`return ${`${x} ? 1 : `.repeat(depth)}0;`];
    case 'calls': return [`return ${'f('.repeat(depth)}${x}${')'.repeat(depth)};`];
    case 'braces': return [...Array<string>(depth).fill('{'), 'svm->vmcb->save.dr7 = 0;', ...Array<string>(depth).fill('}')];
    case 'ifs': return [...Array.from({ length: depth }, (_, k) => `if (x${k}) {`), 'svm->vmcb->save.dr7 = 0;', ...Array<string>(depth).fill('}')];
    case 'elseIf': return [...Array.from({ length: depth }, (_, k) => `${k ? 'else ' : ''}if (x == ${k})\n\tr = ${k};`).flatMap((s) => s.split('\n')), 'return r;'];
    case 'switches': return [...Array.from({ length: depth }, (_, k) => `switch (x${k}) { case ${k}:`), 'svm->vmcb->save.dr7 = 0;', ...Array<string>(depth).fill('}')];
    case 'comments': return [...Array<string>(depth).fill('/* { ( " */'), 'return 0;'];
  }
}

// ---------------------------------------------------------------- hunks

const TOKENS = [
  '{', '}', '(', ')', '[', ']', ';', ',', '/*', '*/', '//', '"', "'", '\\', '#', '#if 0', '#ifdef CONFIG_KVM_AMD_SEV', '#else', '#endif',
  '#define X(a) \\', 'if', 'else', 'for', 'while', 'do', 'switch', 'case 1:', 'default:', 'goto', 'out:', 'return', 'static', 'struct', 'int',
  'void', '__always_inline', '__must_check', '=', '==', '&&', '||', '?', ':', '->', '.', '!', '*', '&', 'sizeof', '0', '-EINVAL', 'x', 'vcpu', 'svm',
  ...STATE, ...CALLS.slice(0, 4), '\t', '\r', '\x1b', '\0', '\u00e9', '\u202e',
];

/** Hunk body lines from the example series, for realistic material. */
const REAL_LINES: readonly string[] = (() => {
  const out = new Set<string>();
  for (const s of SEEDS) {
    let inHunk = false;
    for (const l of s.bytes.toString('utf8').split('\n')) {
      if (l.startsWith('@@')) inHunk = true;
      else if (l === '-- ' || l.startsWith('diff --git')) inHunk = false;
      else if (inHunk && /^[ +-]/.test(l)) out.add(l.slice(1));
    }
  }
  return [...out];
})();

export const cLineArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...REAL_LINES) },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom('', '\t', '\t\t', ' '), fc.array(fc.constantFrom(...TOKENS), { maxLength: 10 })).map(([ind, ts]) => ind + ts.join(' ')) },
  { weight: 2, arbitrary: stmtArb.map((ls) => ls.map((l) => '\t' + l).join(' ')) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((s) => s.replace(/\n/g, ' ')) },
);

const SECTIONS = [
  '', 'static void svm_set_dr7(struct kvm_vcpu *vcpu, unsigned long value)', 'int sev_vcpu_create(struct kvm_vcpu *vcpu)',
  'static int __sev_launch_update_vmsa(struct kvm *kvm, struct kvm_vcpu *vcpu, int', 'static struct kvm_x86_ops svm_x86_ops = {',
  'static int (*const svm_exit_handlers[])(struct kvm_vcpu *vcpu) = {', 'struct foo {', 'if (x)', 'sizeof(', ' f(', 'x = {', '(((((', '\x1b[31m f(',
];

export interface HunkSpec {
  section: string;
  lines: { kind: HunkLine['kind']; text: string }[];
  deep?: { at: number; shape: DeepShape; depth: number; kind: HunkLine['kind']; cut: number };
}

// `deep` first: shrinking a failure makes the nesting shallow before it touches the lines
export const hunkArb: fc.Arbitrary<HunkSpec> = fc.record({
  deep: fc.option(fc.record({
    depth: fc.oneof(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 50, max: 3000 })),
    shape: deepShapeArb,
    at: fc.nat(),
    kind: fc.constantFrom('context' as const, 'added' as const, 'removed' as const),
    cut: fc.nat(), // lines dropped from the end of the deep block: a hunk that stops inside it
  }), { nil: undefined }),
  lines: fc.array(fc.record({ kind: fc.constantFrom('context' as const, 'added' as const, 'removed' as const), text: cLineArb }), { maxLength: 40 }),
  section: fc.oneof(fc.constantFrom(...SECTIONS), fc.string({ maxLength: 30 }).map((s) => s.replace(/\n/g, ' '))),
}, { requiredKeys: ['section', 'lines'] });

/** The Hunk the reader would make of a spec; patch lines start at 100. */
export function hunkOf(spec: HunkSpec): Hunk {
  const body = [...spec.lines];
  if (spec.deep) {
    const d = spec.deep;
    const deep = deepBody(d.shape, d.depth).map((text) => ({ kind: d.kind, text: '\t' + text }));
    deep.splice(deep.length - (d.cut % (deep.length + 1)));
    body.splice(d.at % (body.length + 1), 0, ...deep);
  }
  let oldLine = 10;
  let newLine = 10;
  const lines: HunkLine[] = body.map((l, i) => {
    const h: HunkLine = { kind: l.kind, text: l.text, patchLine: 100 + i };
    if (l.kind !== 'added') h.oldLine = oldLine++;
    if (l.kind !== 'removed') h.newLine = newLine++;
    return h;
  });
  return { oldStart: 10, oldCount: oldLine - 10, newStart: 10, newCount: newLine - 10, section: spec.section, headerPatchLine: 99, lines };
}
