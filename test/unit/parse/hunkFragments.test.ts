// Hunks cut C anywhere; each shape here must wrap into text tree-sitter parses without ERROR
// nodes, with every hunk line kept on its own row.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildFragment, sectionFunctionName } from '../../../extension/core/parse/hunkFragments';
import { parseC } from '../../../extension/core/parse/cParser';
import type { Hunk, HunkLine } from '../../../extension/core/series/types';

/** A hunk from lines prefixed ' ', '+', '-' as in a diff. */
function hunk(section: string, diff: string[]): Hunk {
  const lines: HunkLine[] = diff.map((d, i) => ({
    kind: d[0] === '+' ? 'added' : d[0] === '-' ? 'removed' : 'context',
    text: d.slice(1), patchLine: 100 + i,
  }));
  return { oldStart: 1, oldCount: 0, newStart: 1, newCount: 0, section, headerPatchLine: 99, lines };
}

async function errors(h: Hunk, image: 'pre' | 'post' = 'post'): Promise<string[]> {
  const f = buildFragment(h, image);
  const tree = await parseC(f.text);
  try {
    return tree.rootNode.descendantsOfType('ERROR').map((e) => `${e.startPosition.row}: ${e.text}`);
  } finally {
    tree.delete();
  }
}

describe('hunk fragments', () => {
  it('names the function in an @@ section, and not a table or a keyword', () => {
    assert.equal(sectionFunctionName('static int svm_set_dr7(struct kvm_vcpu *vcpu,'), 'svm_set_dr7');
    assert.equal(sectionFunctionName('static struct kvm_x86_ops svm_x86_ops __initdata = {'), undefined);
    assert.equal(sectionFunctionName(''), undefined);
  });

  it('starts inside a function body and closes what it opened', async () => {
    assert.deepEqual(await errors(hunk('static void f(struct kvm_vcpu *vcpu)', [' \tint r;', ' ', '+\tif (vcpu->arch.guest_state_protected) {', '+\t\tr = -EINVAL;', ' \tg(vcpu);'])), []);
  });

  it('starts at the opening brace of the function', async () => {
    assert.deepEqual(await errors(hunk('int f(struct kvm_vcpu *vcpu, struct kvm_guest_', ['{', ' \tint r;', '-\tif (a)', '+\tif (b)', ' \t\treturn -EINVAL;'])), []);
  });

  it('adds a function between two others', async () => {
    assert.deepEqual(await errors(hunk('static void f(void)', [' \tx = 1;', ' }', ' ', '+static bool g(struct kvm *kvm)', '+{', '+\treturn !sev_es_guest(kvm);', '+}', '+', ' static void h(void)', ' {', ' \tint y;'])), []);
  });

  it('starts inside an ops-table initializer', async () => {
    assert.deepEqual(await errors(hunk('static struct kvm_x86_ops svm_x86_ops __initdata = {', [' \t.set_dr7 = svm_set_dr7,', '+\t.allow_debug = svm_allow_debug,', ' \t.set_msr = svm_set_msr,'])), []);
  });

  it('starts in the middle of a block comment, then code', async () => {
    assert.deepEqual(await errors(hunk('void kvm_update_dr7(struct kvm_vcpu *vcpu)', [' * the rest of a comment {', ' */', ' int f(struct kvm_vcpu *vcpu)', ' {', '+\tif (vcpu->arch.guest_state_protected)', '+\t\treturn -EINVAL;', ' \treturn 0;', ' }'].map((l) => l.replace(/^ int/, ' int')))), []);
  });

  it('ends after a bare else, or inside an if header', async () => {
    assert.deepEqual(await errors(hunk('static void f(struct kvm_vcpu *vcpu)', [' \tif (a)', ' \t\tg();', '+\telse'])), []);
    assert.deepEqual(await errors(hunk('static void f(struct kvm_vcpu *vcpu)', [' \tx = 1;', '+\tif (vcpu->guest_debug)'])), []);
  });

  it('ends inside a call', async () => {
    assert.deepEqual(await errors(hunk('static void f(struct kvm_vcpu *vcpu)', [' \tx = 1;', '+\tg(vcpu,'])), []);
  });

  it('ends inside a comment', async () => {
    assert.deepEqual(await errors(hunk('static void f(struct kvm_vcpu *vcpu)', [' \tx = 1;', '+\t/* a comment that goes on'])), []);
  });

  it('keeps each hunk line on its own row, mapped to its patch line and change', () => {
    const h = hunk('static void f(struct kvm_vcpu *vcpu)', [' \ta();', '-\tb();', '+\tc();']);
    const post = buildFragment(h, 'post');
    const rows = post.rows.filter((r) => r !== undefined);
    assert.deepEqual(rows, [{ line: 100, change: 'context' }, { line: 102, change: 'added' }]);
    const pre = buildFragment(h, 'pre');
    assert.deepEqual(pre.rows.filter((r) => r !== undefined), [{ line: 100, change: 'context' }, { line: 101, change: 'removed' }]);
  });
});
