// "Introduced by" and "fixed by" name the patch, not only its file: an mbox (what `b4 am` writes)
// holds the whole series in one file, where the file alone would name every patch at once.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { EXAMPLE_DIR, TEST_TIMEOUT_MS, runCli, withTempDir } from '../cli/cliHarness';
import { patchName } from '../../../extension/core/report/patchName';

interface Ref { file: string; line: number; subject: string }
interface Report { findings: { rule: string; introducedBy: string | null; introducedByPatch: Ref | null }[]; fixed: { rule: string; introducedByPatch: Ref | null; fixedBy: string | null; fixedByPatch: Ref | null }[] }

it('in an mbox, each finding names the patch that introduced it and the one that fixed it, by line and subject', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withTempDir('kvm-lens-mbox-', async (dir) => {
    const mbox = join(dir, 'series.mbx');
    const mails = readdirSync(EXAMPLE_DIR).filter((f) => f.endsWith('.patch')).sort().map((f) => readFileSync(join(EXAMPLE_DIR, f), 'utf8'));
    writeFileSync(mbox, mails.join(''));
    // where each mail starts in the mbox, and its subject as the reader decodes it (folded lines joined)
    const starts: number[] = [];
    readFileSync(mbox, 'utf8').split('\n').forEach((l, i) => { if (l.startsWith('From ')) starts.push(i + 1); });
    assert.equal(starts.length, 4, 'the cover letter and three patches');
    const json = JSON.parse((await runCli(['check', mbox, '--no-tree', '--no-cache', '--format', 'json'])).out) as Report;
    const dr7 = json.findings.find((f) => f.rule === 'vmsa-write-after-encryption')!;
    assert.equal(dr7.introducedBy, mbox, 'the file, as before');
    assert.equal(dr7.introducedByPatch?.line, starts[2], 'the second patch, the one that drops the DR7 guard');
    assert.match(dr7.introducedByPatch!.subject, /^\[RFC PATCH 2\/3\] KVM: SVM: Let DR7 writes through/);
    const armed = json.fixed.find((f) => f.rule === 'debug-armed-at-encryption')!;
    assert.equal(armed.introducedByPatch?.line, starts[1]);
    assert.equal(armed.fixedByPatch?.line, starts[3]);
    assert.equal(armed.fixedBy, mbox);
    const text = (await runCli(['check', mbox, '--no-tree', '--no-cache', '--no-color'])).out;
    assert.ok(text.includes(`(introduced by ${mbox}:${starts[2]} "[RFC PATCH 2/3] KVM: SVM: Let DR7 writes through for SEV-ES guests")`), text);
  });
});

it('a patch that starts its file is named by the file alone, as before', () => {
  const ref = { file: 'dir/0002-x.patch', line: 1, subject: '[PATCH 2/3] x' };
  assert.equal(patchName('dir/0002-x.patch', ref), 'dir/0002-x.patch');
  assert.equal(patchName('dir/0002-x.patch', ref, true), '0002-x.patch');
  assert.equal(patchName('dir/s.mbx', { ...ref, file: 'dir/s.mbx', line: 40 }, true), 's.mbx:40 "[PATCH 2/3] x"');
  assert.equal(patchName('dir/s.mbx', null), 'dir/s.mbx');
});
