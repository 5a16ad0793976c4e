// The editor's buffers in the worker's tree session: every open buffer is sent, saved or not, so
// an edit undone back to the saved text is undone in the analysis too; a buffer closed without
// saving is the file on disk again. Through the real analysis worker, as the editor uses it.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { AnalysisClient } from '../../../extension/worker/analysisClient';
import type { AnalysisSettings } from '../../../extension/translate/documentAnalysis';
import type { TreeAnalysis } from '../../../extension/translate/treeAnalysis';
import { DR7_GUARD, DR7_WRITE } from '../support/kernelSeriesRepo';

const MODEL = join(__dirname, '../../../extension/core/model/builtin');
const SETTINGS: AnalysisSettings = { depth: 12, vcpus: 2, assumptions: {} };
const SVM = 'arch/x86/kvm/svm/svm.c';
const work = mkdtempSync(join(tmpdir(), 'kvm-lens-buffers-'));
after(() => rmSync(work, { recursive: true, force: true }));

function tree(): string {
  const root = join(work, 'linux');
  const files: Record<string, string> = {
    'Makefile': '# a kernel-like tree for the tests\n',
    'arch/x86/kvm/x86.c': readFileSync(join(MODEL, 'x86.c'), 'utf8'),
    [SVM]: readFileSync(join(MODEL, 'svm.c'), 'utf8'),
    'arch/x86/kvm/svm/sev.c': readFileSync(join(MODEL, 'sev.c'), 'utf8'),
  };
  for (const [p, text] of Object.entries(files)) { mkdirSync(dirname(join(root, p)), { recursive: true }); writeFileSync(join(root, p), text); }
  return root;
}

const dr7 = (r: TreeAnalysis | undefined) => !!r?.report.findings.some((f) => f.rule === 'vmsa-write-after-encryption' && f.location.function === 'svm_set_dr7');

describe('the editor\'s buffers in the tree session', () => {
  it('an edit, its undo back to the saved text, and a close without saving each reach the analysis', { timeout: 120_000 }, async () => {
    const root = tree();
    const saved = readFileSync(join(root, SVM), 'utf8');
    const edited = saved.replace(DR7_GUARD, DR7_WRITE);
    assert.notEqual(edited, saved);
    const client = new AnalysisClient();
    try {
      const ask = (buffers: Record<string, string>) => client.analyzeTree({ root, buffers, settings: SETTINGS });
      assert.equal(dr7(await ask({ [SVM]: saved })), false, 'the tree as saved');
      assert.equal(dr7(await ask({ [SVM]: edited })), true, 'the guard deleted in the buffer');
      assert.equal(dr7(await ask({ [SVM]: saved })), false, 'undone: the buffer is the saved text again, no longer dirty');
      assert.equal(dr7(await ask({ [SVM]: edited })), true);
      assert.equal(dr7(await ask({})), false, 'closed without saving: the file on disk');
    } finally {
      client.dispose();
    }
  });
});
