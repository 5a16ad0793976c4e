// Properties of the C side: the hunk wrapper and tree-sitter on arbitrary hunks, and lowering
// on generated functions. Nothing may throw, whatever the nesting; every row of a fragment maps
// back to its hunk line; the IR that comes out is well-formed (every node located in the text
// it came from), and a function that parses cleanly is lowered, under its own name.

import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildFragment } from '../../../extension/core/parse/hunkFragments';
import { parseC } from '../../../extension/core/parse/cParser';
import type { Expr, FunctionIr, Loc, Stmt } from '../../../extension/core/summary/ir';
import { lowerTranslationUnit, type LoweredUnit, type LowerOptions } from '../../../extension/core/summary/lowerToIr';
import { deepBody, deepShapeArb, functionsArb, hunkArb, hunkOf } from './cGen';
import type { FuzzProperty } from './harness';

/** Parse and lower `text`; the tree is deleted whatever happens. */
async function lowerText(text: string, opts: LowerOptions): Promise<{ unit: LoweredUnit; hasError: boolean }> {
  const tree = await parseC(text);
  try {
    return { unit: lowerTranslationUnit(tree.rootNode, opts), hasError: tree.rootNode.hasError };
  } finally {
    tree.delete();
  }
}

const STMT_KINDS = new Set(['block', 'if', 'return', 'expr', 'goto', 'label', 'loop', 'switch', 'break', 'continue']);
const EXPR_KINDS = new Set(['const', 'errno', 'sym', 'read', 'call', 'assign', 'not', 'logic', 'binary', 'ternary', 'opaque']);

/**
 * Every statement and expression of a function, visited with an explicit stack (the IR of a
 * deep input is deep; the check must not overflow where the code under test must not).
 */
function checkFunction(fn: FunctionIr, file: string, lineOk: (line: number) => boolean): void {
  const where = `${fn.name}()`;
  assert.ok(typeof fn.name === 'string' && fn.name !== '', 'a function without a name');
  assert.ok(Array.isArray(fn.params) && fn.params.every((p) => typeof p === 'string' && p !== ''), `${where}: params ${JSON.stringify(fn.params)}`);
  assert.equal(fn.body.k, 'block', `${where}: body is a ${fn.body.k}, not a block`);
  // a function cut by the end of a hunk ends on a wrapper row, which has no patch line
  assert.ok(Number.isInteger(fn.endLine) && (fn.truncated || fn.endLine >= fn.loc.line), `${where}: endLine ${fn.endLine} before its start ${fn.loc.line}`);
  for (const l of fn.errorLines) assert.ok(Number.isInteger(l) && lineOk(l), `${where}: error line ${l} out of range`);
  const checkLoc = (loc: Loc, what: string): void => {
    assert.ok(loc && loc.file === file, `${where}: ${what} located in ${JSON.stringify(loc?.file)}, not ${file}`);
    assert.ok(Number.isInteger(loc.line) && lineOk(loc.line), `${where}: ${what} at line ${loc.line}, out of range`);
    assert.ok(Number.isInteger(loc.column) && loc.column >= 1, `${where}: ${what} at column ${loc.column}`);
  };
  checkLoc(fn.loc, 'the function');
  const stack: ({ s: Stmt } | { e: Expr })[] = [{ s: fn.body }];
  let seen = 0;
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (++seen > 10_000_000) assert.fail(`${where}: more than 10^7 IR nodes (a cycle?)`);
    if ('s' in item) {
      const s = item.s;
      assert.ok(s && STMT_KINDS.has(s.k), `${where}: statement of kind ${JSON.stringify(s?.k)}`);
      checkLoc(s.loc, `a ${s.k} statement`);
      switch (s.k) {
        case 'block': for (const b of s.body) stack.push({ s: b }); break;
        case 'if': stack.push({ e: s.cond }, { s: s.then }); if (s.else) stack.push({ s: s.else }); break;
        case 'return': if (s.value) stack.push({ e: s.value }); break;
        case 'expr': stack.push({ e: s.expr }); break;
        case 'goto': case 'label': assert.ok(typeof (s.k === 'goto' ? s.label : s.name) === 'string', `${where}: ${s.k} without a name`); break;
        case 'loop': stack.push({ s: s.body }); break;
        case 'switch':
          stack.push({ e: s.subject });
          for (const c of s.cases) {
            assert.ok(Array.isArray(c.labels) && c.labels.every((l) => typeof l === 'string'), `${where}: case labels ${JSON.stringify(c.labels)}`);
            checkLoc(c.loc, 'a case');
            for (const b of c.body) stack.push({ s: b });
          }
          break;
        default: break;
      }
    } else {
      const e = item.e;
      assert.ok(e && EXPR_KINDS.has(e.k), `${where}: expression of kind ${JSON.stringify(e?.k)}`);
      checkLoc(e.loc, `a ${e.k} expression`);
      switch (e.k) {
        case 'call': for (const a of e.args) stack.push({ e: a }); if (e.callee.k === 'table') stack.push({ e: e.callee.index }); break;
        case 'assign': stack.push({ e: e.value }); break;
        case 'not': stack.push({ e: e.arg }); break;
        case 'logic': case 'binary': stack.push({ e: e.left }, { e: e.right }); break;
        case 'ternary': stack.push({ e: e.cond }, { e: e.then }, { e: e.else }); break;
        case 'opaque': for (const p of e.parts) stack.push({ e: p }); break;
        default: break;
      }
    }
  }
}

/** The wrapper, tree-sitter and lowering on an arbitrary hunk, both images. */
export const hunkProperty: FuzzProperty = {
  name: 'parse: hunk wrapper, tree-sitter and lowering on arbitrary hunks',
  runs: 200,
  guardMs: 10_000,
  make: () => fc.asyncProperty(hunkArb, async (spec) => {
    const hunk = hunkOf(spec);
    for (const image of ['pre', 'post'] as const) {
      const f = buildFragment(hunk, image);
      const rows = f.text.split('\n');
      // '' is one empty row, or none when the image has no line at all
      assert.ok(f.rows.length === rows.length || (f.text === '' && f.rows.length === 0), `${image}: ${f.rows.length} row mappings for ${rows.length} rows of text`);
      const want = hunk.lines.filter((l) => l.kind === 'context' || l.kind === (image === 'post' ? 'added' : 'removed')).map((l) => l.patchLine);
      assert.deepEqual(f.rows.filter((r) => r !== undefined).map((r) => r.line), want, `${image}: the hunk's lines are not each on their own row, in order`);
      const lines = new Set(want);
      // wrapper rows have no patch line; lowering then falls back to the row itself
      const { unit } = await lowerText(f.text, { file: 'fuzz.patch', origin: 'series', patch: 'fuzz', mapRow: (row) => f.rows[row] });
      const lineOk = (l: number): boolean => lines.has(l) || (l >= 1 && l <= rows.length);
      for (const fn of unit.functions) checkFunction(fn, 'fuzz.patch', lineOk);
      for (const l of unit.errorLines) assert.ok(lineOk(l), `${image}: error line ${l} out of range`);
    }
  }),
};

/** Lowering on whole generated functions: kernel-like statements, switch, goto, nested ifs. */
export const loweringProperty: FuzzProperty = {
  name: 'lower: generated C functions',
  runs: 150,
  guardMs: 10_000,
  make: () => fc.asyncProperty(functionsArb, async (fns) => {
    const text = fns.flatMap((f) => [...f.lines, '']).join('\n');
    const nRows = text.split('\n').length;
    const { unit, hasError } = await lowerText(text, { file: 'fuzz.c', origin: 'tree', mapRow: (row) => ({ line: row + 1 }) });
    for (const fn of unit.functions) checkFunction(fn, 'fuzz.c', (l) => l >= 1 && l <= nRows);
    if (!hasError) {
      assert.deepEqual(unit.functions.map((f) => f.name), fns.map((f) => f.name), 'a function that parses without error is not lowered');
      assert.deepEqual(unit.errorLines, [], 'error lines for text without a parse error');
      for (const fn of unit.functions) assert.deepEqual(fn.errorLines, [], `${fn.name}(): error lines for text without a parse error`);
    }
  }),
};

/** Lowering on nesting a few thousand deep, in every shape recursion meets. */
export const deepLoweringProperty: FuzzProperty = {
  name: 'lower: nesting thousands deep',
  runs: 40,
  guardMs: 12_000,
  make: () => fc.asyncProperty(deepShapeArb, fc.integer({ min: 1, max: 4000 }), async (shape, depth) => {
    const text = ['static int fuzz_deep(struct kvm_vcpu *vcpu)', '{', ...deepBody(shape, depth).map((l) => '\t' + l), '}', ''].join('\n');
    const nRows = text.split('\n').length;
    const { unit } = await lowerText(text, { file: 'deep.c', origin: 'tree', mapRow: (row) => ({ line: row + 1 }) });
    for (const fn of unit.functions) checkFunction(fn, 'deep.c', (l) => l >= 1 && l <= nRows);
  }),
};
