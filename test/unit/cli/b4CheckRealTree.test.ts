// `kvm-lens b4-check` in Debian's Linux 6.12 tree (where it is installed; never copied here), as
// b4 runs it there: a patch made at test time that drops svm_set_dr7()'s guest_state_protected
// guard is one ERROR line at the write's line of svm.c; the tree's own warning (the async page
// fault delivery deciding on the CPL, README: 6.12) is context, not the patch's verdict; the
// tree's dozens of notes on code the patch does not touch are one entry of the details.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runB4Check } from '../../../extension/cli/b4Check';
import { kernelTreeForVersion } from '../../../extension/core/tree/sourceTarball';
import { makePatch, skipReason } from '../tree/realTrees';
import { asB4Pipes, b4DetailEntries, b4JsonResults, b4TextResults, postImageLine, type CommandRun } from './b4CheckRules';
import { TEST_TIMEOUT_MS } from './cliHarness';

const V = '6.12';

async function inTree(tree: string, mail: Buffer, args: string[]): Promise<CommandRun> {
  let out = '';
  let err = '';
  const code = await runB4Check(args, { out: (t) => { out += t; }, err: (t) => { err += t; }, stdin: async () => ({ ok: true, bytes: mail }), cwd: tree });
  return { code, stdout: Buffer.from(out), stderr: Buffer.from(err) };
}

describe(`kvm-lens b4-check in Linux ${V}`, () => {
  it('a patch dropping the DR7 guard: one ERROR at the write; the tree\'s own warning and notes are context', { timeout: 4 * TEST_TIMEOUT_MS }, async (t) => {
    const tree = await kernelTreeForVersion(V);
    if (!tree) return t.skip(skipReason(V));
    const work = mkdtempSync(join(tmpdir(), 'kvm-lens-b4-real-'));
    try {
      const file = makePatch(tree, join(work, 'out'), 'KVM: SVM: Let DR7 writes through', [{ file: 'arch/x86/kvm/svm/svm.c', fn: 'svm_set_dr7', line: /if \(vcpu->arch\.guest_state_protected\)/, remove: 3 }]);
      const patch = readFileSync(file, 'utf8');
      const write = postImageLine(patch, 'svm->vmcb->save.dr7 = value;');
      const mail = asB4Pipes(patch, 'quoted-printable');

      const text = await inTree(tree, mail, ['--text']);
      assert.equal(text.stderr.toString(), '');
      const lines = text.stdout.toString().split('\n').filter((l) => l !== '');
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(lines[0]!, new RegExp(`^arch/x86/kvm/svm/svm\\.c:${write.line}: ERROR: svm_set_dr7\\(\\) writes VMSA-backed DR7 .*\\[vmsa-write-after-encryption\\]$`));
      assert.deepEqual(b4TextResults(text).map((r) => r.flag), ['fail']);

      const [result] = b4JsonResults(await inTree(tree, mail, []));
      assert.equal(result!.status, 'fail');
      assert.equal(result!.summary, `1 error: vmsa-write-after-encryption in svm_set_dr7(); checked on its exact base: the working tree of ${tree}`);
      const entries = b4DetailEntries(result!.details)!;
      assert.equal(entries.filter((e) => e.status !== 'pass').length, 1);
      assert.ok(entries.some((e) => /^arch\/x86\/kvm\/x86\.c:\d+: \(pre-existing, not this patch's\) warning: kvm_can_deliver_async_pf\(\) reads VMSA-backed CPL/.test(e.description)), 'the tree\'s own warning is context');
      assert.match(entries[entries.length - 1]!.description, new RegExp(`^\\d+ notes on code this patch does not change \\(kvm-lens check --tree ${tree.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} lists them\\)$`));
      assert.ok(entries.length < 12, `the details stay short: ${entries.length} entries`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
