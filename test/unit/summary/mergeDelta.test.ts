// Merging a partial hunk into a function we know: where removed and added statements go, and
// that a hunk of tens of thousands of lines merges in linear time (it took minutes when every
// statement was searched for and spliced in one at a time).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildFragment, FRAGMENT_FUNCTION } from '../../../extension/core/parse/hunkFragments';
import { parseC } from '../../../extension/core/parse/cParser';
import type { Hunk, HunkLine } from '../../../extension/core/series/types';
import type { FunctionIr, Stmt } from '../../../extension/core/summary/ir';
import { stmtKey } from '../../../extension/core/summary/irKeys';
import { lowerTranslationUnit } from '../../../extension/core/summary/lowerToIr';
import { mergeDelta } from '../../../extension/core/summary/mergeDelta';

const MODEL = `static void svm_set_dr7(struct kvm_vcpu *vcpu, unsigned long value)
{
	struct vcpu_svm *svm = to_svm(vcpu);

	if (vcpu->arch.guest_state_protected)
		return;

	sync_a(vcpu);
	svm->vmcb->save.dr7 = value;
}
`;

async function lowerC(c: string, mapRow: (r: number) => { line: number; change?: HunkLine['kind'] } | undefined): Promise<FunctionIr[]> {
  const tree = await parseC(c);
  try {
    return lowerTranslationUnit(tree.rootNode, { file: 't.c', mapRow, origin: 'model' }).functions;
  } finally {
    tree.delete();
  }
}

async function model(): Promise<FunctionIr> {
  const [fn] = await lowerC(MODEL, (r) => ({ line: r + 1 }));
  return fn;
}

/** A hunk inside svm_set_dr7 from lines as in a diff: '+' added, '-' removed, anything else context. */
function hunk(diff: string[]): Hunk {
  const lines: HunkLine[] = diff.map((d, i) => ({
    kind: d[0] === '+' ? 'added' : d[0] === '-' ? 'removed' : 'context', text: d[0] === '+' || d[0] === '-' ? d.slice(1) : d, patchLine: 100 + i,
  }));
  return { oldStart: 3, oldCount: 0, newStart: 3, newCount: 0, section: 'static void svm_set_dr7(struct kvm_vcpu *vcpu, unsigned long value)', headerPatchLine: 99, lines };
}

async function image(h: Hunk, which: 'pre' | 'post'): Promise<Stmt[]> {
  const f = buildFragment(h, which);
  const fns = await lowerC(f.text, (r) => f.rows[r]);
  const fn = fns.find((x) => x.name === FRAGMENT_FUNCTION);
  assert.ok(fn, 'the fragment lowers');
  return fn.body.k === 'block' ? fn.body.body : [fn.body];
}

async function merge(diff: string[]): Promise<{ keys: string[]; result: ReturnType<typeof mergeDelta> }> {
  const h = hunk(diff);
  const result = mergeDelta(await model(), await image(h, 'pre'), await image(h, 'post'), 'test patch');
  const keys: string[] = [];
  const walk = (s: Stmt): void => {
    if (s.k === 'block') s.body.forEach(walk);
    else {
      keys.push(stmtKey(s));
      if (s.k === 'if') { walk(s.then); if (s.else) walk(s.else); }
    }
  };
  walk(result.fn.body);
  return { keys, result };
}

describe('mergeDelta', () => {
  it('takes removed statements out and puts added ones after their nearest context', async () => {
    const { keys, result } = await merge([
      '\tif (vcpu->arch.guest_state_protected)',
      '\t\treturn;',
      '',
      '-\tsync_a(vcpu);',
      '+\tsync_b(vcpu);',
      '+\tsync_c(vcpu);',
      '\tsvm->vmcb->save.dr7 = value;',
    ]);
    assert.deepEqual(keys, ['if vcpu.guest_state_protected', 'return ', 'sync_b(vcpu)', 'sync_c(vcpu)', 'vmsa.DR7=$value']);
    assert.deepEqual(result.unplaced, []);
    assert.equal(result.fn.origin, 'series');
  });

  it('places a statement added into a one-statement branch, which becomes a block', async () => {
    const { keys } = await merge([
      '\tif (vcpu->arch.guest_state_protected)',
      '+\t{',
      '+\t\tsync_b(vcpu);',
      '\t\treturn;',
      '+\t}',
    ]);
    assert.deepEqual(keys.slice(0, 3), ['if vcpu.guest_state_protected', 'sync_b(vcpu)', 'return ']);
  });

  it('puts a statement added after a copy of an earlier one right after that copy', async () => {
    // sync_a(vcpu) is in the model already; the second added line goes after the new copy, at the end
    const { keys } = await merge([
      '\tsvm->vmcb->save.dr7 = value;',
      '+\tsync_a(vcpu);',
      '+\tsync_b(vcpu);',
    ]);
    assert.deepEqual(keys.slice(-3), ['vmsa.DR7=$value', 'sync_a(vcpu)', 'sync_b(vcpu)']);
  });

  it('says so when a removed statement is not in the function', async () => {
    const { result } = await merge(['\tsync_a(vcpu);', '-\tsync_z(vcpu);']);
    assert.deepEqual(result.unplaced.map((u) => u.what), ['removed "sync_z(vcpu)" not found in svm_set_dr7()']);
  });

  it('merges a 30,000-line hunk in linear time, every added statement in order', async () => {
    const added = Array.from({ length: 30_000 }, (_, i) => `+\tsvm->vmcb->save.dr${i % 7} = value + ${i};`);
    const h = hunk(['\tsync_a(vcpu);', ...added, '\tsvm->vmcb->save.dr7 = value;']);
    const pre = await image(h, 'pre');
    const post = await image(h, 'post');
    const base = await model();
    const t0 = performance.now();
    const { fn, unplaced } = mergeDelta(base, pre, post, 'long patch');
    const ms = performance.now() - t0;
    assert.ok(ms < 3_000, `merged in ${Math.round(ms)} ms`);
    assert.deepEqual(unplaced, []);
    const body = fn.body.k === 'block' ? fn.body.body : [];
    const at = body.findIndex((s) => stmtKey(s) === 'sync_a(vcpu)');
    // the model's if, sync_a and the DR7 write (the to_svm declaration only names a base)
    assert.equal(body.length, 3 + 30_000);
    for (const i of [0, 1, 12_345, 29_999]) assert.equal(body[at + 1 + i].loc.line, 101 + i, `added statement ${i} in its place`);
    assert.equal(stmtKey(body[body.length - 1]), 'vmsa.DR7=$value');
  });
});
