// A patch that renames a KVM source and changes it: the tree holds the file at its new path only.
// Kept at both paths, every function of the file was defined twice and the old, unchanged copy
// hid the change: the DR7 guard this rename drops went unreported.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { it } from 'node:test';
import { PATCH_2, ROOT, TEST_TIMEOUT_MS, runJson, withTempDir } from '../cli/cliHarness';

const MODEL = join(ROOT, 'extension/core/model/builtin');

it('a renamed file is analysed at its new path, once, with the patch\'s change', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withTempDir('kvm-lens-rename-', async (dir) => {
    const tree = join(dir, 'linux');
    for (const [path, src] of [['arch/x86/kvm/x86.c', 'x86.c'], ['arch/x86/kvm/svm/svm.c', 'svm.c'], ['arch/x86/kvm/svm/sev.c', 'sev.c']] as const) {
      mkdirSync(dirname(join(tree, path)), { recursive: true });
      writeFileSync(join(tree, path), readFileSync(join(MODEL, src), 'utf8'));
    }
    writeFileSync(join(tree, 'Makefile'), '# a kernel-like tree\n');
    mkdirSync(join(tree, 'virt'));
    // patch 2 of the example (it drops svm_set_dr7()'s guard), as a rename of svm.c to svm_main.c
    const renamed = readFileSync(PATCH_2, 'utf8').replace(
      /^diff --git a\/arch\/x86\/kvm\/svm\/svm\.c b\/arch\/x86\/kvm\/svm\/svm\.c\nindex [0-9a-f]+\.\.[0-9a-f]+ 100644\n--- a\/arch\/x86\/kvm\/svm\/svm\.c\n\+\+\+ b\/arch\/x86\/kvm\/svm\/svm\.c$/m,
      'diff --git a/arch/x86/kvm/svm/svm.c b/arch/x86/kvm/svm/svm_main.c\nsimilarity index 98%\nrename from arch/x86/kvm/svm/svm.c\nrename to arch/x86/kvm/svm/svm_main.c\n--- a/arch/x86/kvm/svm/svm.c\n+++ b/arch/x86/kvm/svm/svm_main.c',
    );
    assert.match(renamed, /^rename to arch\/x86\/kvm\/svm\/svm_main\.c$/m);
    const patch = join(dir, '0001-rename.patch');
    writeFileSync(patch, renamed);
    const { json } = await runJson(['check', patch, '--tree', tree, '--no-cache']);
    const dr7 = json.findings.filter((f) => f.rule === 'vmsa-write-after-encryption' && f.location.function === 'svm_set_dr7');
    assert.equal(dr7.length, 1, JSON.stringify(json.findings.map((f) => `${f.rule} ${f.location.file}`)));
    assert.equal(dr7[0]!.location.file, 'arch/x86/kvm/svm/svm_main.c', 'at the new path');
    assert.ok(!json.findings.some((f) => f.location.file === 'arch/x86/kvm/svm/svm.c'), 'nothing at the old path');
  });
});
