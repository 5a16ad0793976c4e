// Pathological C from generated patches: thousands of nested parentheses, braces, casts, `!`,
// ternaries, terms of a sum, `else if` branches. Lowering must neither overflow the stack nor
// take long, and the IR it hands on is never deeper than MAX_IR_DEPTH; where code was left out,
// the function says where. Kernel-sized code lowers exactly as written.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseC } from '../../../extension/core/parse/cParser';
import { depthCutMessage, type Expr, type FunctionIr, MAX_IR_DEPTH, type Stmt } from '../../../extension/core/summary/ir';
import { irDepth } from '../../../extension/core/summary/irDepth';
import { exprKey, forEachExpr } from '../../../extension/core/summary/irKeys';
import { lowerTranslationUnit } from '../../../extension/core/summary/lowerToIr';

/** Lowers C text and reports the one function it holds, and how long lowering took. */
async function lowerOne(c: string, name = 'svm_foo'): Promise<{ fn: FunctionIr; ms: number }> {
  const tree = await parseC(c);
  try {
    const t0 = performance.now();
    const unit = lowerTranslationUnit(tree.rootNode, { file: 'arch/x86/kvm/svm/svm.c', mapRow: (r) => ({ line: r + 1 }), origin: 'series' });
    const ms = performance.now() - t0;
    const fn = unit.functions.find((f) => f.name === name);
    assert.ok(fn, `${name} lowered`);
    return { fn, ms };
  } finally {
    tree.delete();
  }
}

/** A function of the vCPU whose body is `body`, starting on line 3. */
function fnWith(body: string): string {
  return `/* generated */\nstatic int svm_foo(struct kvm_vcpu *vcpu, unsigned long value)\n{\n${body}\n\treturn 0;\n}\n`;
}

const FLAG = 'vcpu->arch.guest_state_protected';
const SECONDS = 5_000;

function ifCond(fn: FunctionIr): Expr {
  const first = fn.body.k === 'block' ? fn.body.body[0] : undefined;
  assert.equal(first?.k, 'if');
  return (first as Stmt & { k: 'if' }).cond;
}

function countExprs(fn: FunctionIr, pred: (e: Expr) => boolean): number {
  let n = 0;
  forEachExpr(fn.body, (e) => { if (pred(e)) n++; });
  return n;
}

const isFlagRead = (e: Expr): boolean => e.k === 'read' && e.ref.k === 'flag' && e.ref.name === 'guest_state_protected';

describe('deep nesting in lowering', () => {
  it('steps through 10,000 nested parentheses and casts: the condition is the flag, nothing is cut', async () => {
    for (const wrapped of [`${'('.repeat(10_000)}${FLAG}${')'.repeat(10_000)}`, `${'(int)'.repeat(10_000)}${FLAG}`]) {
      const { fn, ms } = await lowerOne(fnWith(`\tif (${wrapped})\n\t\treturn -EINVAL;`));
      assert.ok(ms < SECONDS, `lowered in ${Math.round(ms)} ms`);
      assert.ok(isFlagRead(ifCond(fn)), exprKey(ifCond(fn)));
      assert.equal(fn.depthCut, undefined);
    }
  });

  it('cuts 5,000 nested braces, 5,000 `!` and a 5,000-deep ternary at MAX_IR_DEPTH, naming the line', async () => {
    const shapes = [
      `\t${'{'.repeat(5_000)} svm->vmcb->save.dr7 = 0; ${'}'.repeat(5_000)}`,
      `\tif (${'!'.repeat(5_000)}${FLAG})\n\t\treturn -EINVAL;`,
      `\tvalue = ${`${FLAG} ? 0 : `.repeat(5_000)}value;`,
      `\tvalue = ${'f('.repeat(5_000)}value${')'.repeat(5_000)};`,
    ];
    for (const body of shapes) {
      const { fn, ms } = await lowerOne(fnWith(body));
      assert.ok(ms < SECONDS, `lowered in ${Math.round(ms)} ms`);
      assert.ok(irDepth(fn.body) <= MAX_IR_DEPTH, `depth ${irDepth(fn.body)}`);
      assert.ok(fn.depthCut, 'the cut is recorded');
      assert.equal(fn.depthCut.at.line, 4, 'the nesting is on the first line of the body');
      assert.equal(depthCutMessage(fn.name, fn.depthCut),
        `nesting deeper than ${MAX_IR_DEPTH} levels in svm_foo() at svm.c:4: the inner part was not analysed`);
      // the code before and after the deep part is still there
      const last = fn.body.k === 'block' ? fn.body.body[fn.body.body.length - 1] : undefined;
      assert.equal(last?.k, 'return');
    }
  });

  it('lowers a 2,000-branch else-if chain down to the bound and cuts the rest', async () => {
    const branches = ['\tif (value == 0)\n\t\treturn -EINVAL;'];
    for (let i = 1; i < 2_000; i++) branches.push(`\telse if (value == ${i})\n\t\treturn -EINVAL;`);
    const { fn, ms } = await lowerOne(fnWith(branches.join('\n')));
    assert.ok(ms < SECONDS, `lowered in ${Math.round(ms)} ms`);
    assert.ok(irDepth(fn.body) <= MAX_IR_DEPTH);
    // the first branches are there as written: if, else if, ...
    let s: Stmt | undefined = fn.body.k === 'block' ? fn.body.body[0] : undefined;
    for (let i = 0; i < 50; i++) {
      assert.equal(s?.k, 'if', `branch ${i}`);
      assert.equal((s as Stmt & { k: 'if' }).text, `(value == ${i})`);
      s = (s as Stmt & { k: 'if' }).else;
    }
    assert.ok(fn.depthCut && fn.depthCut.at.line > 4 + 2 * 50, `cut at line ${fn.depthCut?.at.line}`);
  });

  it('lowers 10,000 terms of `||` and `+` as a balanced tree with every term, nothing cut', async () => {
    const or = await lowerOne(fnWith(`\tif (${Array(10_000).fill(FLAG).join(' || ')})\n\t\treturn -EINVAL;`));
    assert.ok(or.ms < SECONDS, `lowered in ${Math.round(or.ms)} ms`);
    assert.equal(or.fn.depthCut, undefined);
    assert.equal(countExprs(or.fn, isFlagRead), 10_000);
    assert.ok(irDepth(or.fn.body) < 30, `depth ${irDepth(or.fn.body)}`);
    assert.equal(ifCond(or.fn).k, 'logic');

    const sum = await lowerOne(fnWith(`\tvalue = ${Array(10_000).fill('f(value)').join(' + ')};`));
    assert.equal(sum.fn.depthCut, undefined);
    assert.equal(countExprs(sum.fn, (e) => e.k === 'call'), 10_000, 'every call in the sum still runs');
  });

  it('lowers 10,000 terms of mixed operators and of a comma list as one value whose terms still run', async () => {
    const mixed = await lowerOne(fnWith(`\tvalue = f(0)${Array.from({ length: 10_000 }, (_, i) => ` ${i % 2 ? '+' : '-'} f(${i + 1})`).join('')};`));
    assert.equal(mixed.fn.depthCut, undefined);
    assert.equal(countExprs(mixed.fn, (e) => e.k === 'call'), 10_001);
    const comma = await lowerOne(fnWith(`\tvalue = (${Array.from({ length: 10_000 }, (_, i) => `f(${i})`).join(', ')});`));
    assert.equal(comma.fn.depthCut, undefined);
    assert.equal(countExprs(comma.fn, (e) => e.k === 'call'), 10_000);
  });

  it('keeps a kernel-sized chain exactly as written, nested to the left', async () => {
    const { fn } = await lowerOne(fnWith(`\tif (${['a', 'b', 'c', 'd'].join(' || ')})\n\t\treturn -EINVAL;`));
    assert.equal(exprKey(ifCond(fn)), '((($a||$b)||$c)||$d)');
  });

  it('bounds the IR exactly where a statement lowers to more than one level (nested for loops)', async () => {
    // each `for` with an initializer lowers to a block holding the initializer and the loop: two levels
    const loops = `${'\tfor (value = 0; ; ) '.repeat(100)}value++;`;
    const { fn } = await lowerOne(fnWith(loops));
    assert.ok(irDepth(fn.body) <= MAX_IR_DEPTH, `depth ${irDepth(fn.body)}`);
    assert.ok(fn.depthCut);
  });

  it('walks 5,000 nested #ifdef, initializer braces and subscripts without recursion', async () => {
    const ifdefs = `${'#ifdef CONFIG_X\n'.repeat(5_000)}${fnWith('\tvalue = 1;')}${'#endif\n'.repeat(5_000)}`;
    const { fn } = await lowerOne(ifdefs);
    assert.equal(fn.depthCut, undefined);
    const init = await lowerOne(fnWith(`\tint a[1] = ${'{'.repeat(5_000)}f(1)${'}'.repeat(5_000)};`));
    assert.equal(countExprs(init.fn, (e) => e.k === 'call'), 1);
    const sub = await lowerOne(fnWith(`\tvalue${'[0]'.repeat(5_000)} = 1;`));
    assert.equal(sub.fn.depthCut, undefined);
  });

  it('lowers a 1,000-case switch quickly, every case kept', async () => {
    const cases = Array.from({ length: 1_000 }, (_, i) => `\tcase ${i}:\n\t\tsvm->vmcb->save.dr${i % 8} = ${i};\n\t\tbreak;`).join('\n');
    const { fn, ms } = await lowerOne(fnWith(`\tswitch (value) {\n${cases}\n\t}`));
    assert.ok(ms < 2_000, `lowered in ${Math.round(ms)} ms`);
    const sw = fn.body.k === 'block' ? fn.body.body[0] : undefined;
    assert.equal(sw?.k, 'switch');
    assert.equal((sw as Stmt & { k: 'switch' }).cases.length, 1_000);
  });
});
