// A note that part of a patch was not analysed keeps its fingerprint when lines above it move
// (a reworded commit message, a hunk added before it): CI's code scanning, which matches results
// across runs by partialFingerprints, must not see a new alert for an old note.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { PATCH_2, TEST_TIMEOUT_MS, runCli, withTempDir } from '../cli/cliHarness';

interface SarifLog { runs: { results: { ruleId: string; partialFingerprints: Record<string, string>; locations: { physicalLocation: { region: { startLine: number } } }[] }[] }[] }

it('an analysis-incomplete note keeps its fingerprint when the commit message above it grows', { timeout: TEST_TIMEOUT_MS }, async () => {
  // a hunk header without its function name: the change is placed nowhere, which is the note
  const nameless = readFileSync(PATCH_2, 'utf8').replace(/^(@@ -\d+,\d+ \+\d+,\d+ @@).*$/m, '$1');
  const longer = nameless.replace(/\n\n/, '\n\nA second paragraph, added in v2 of the commit message,\nover two lines.\n\n');
  assert.notEqual(longer, nameless);
  const notes = await withTempDir('kvm-lens-fp-', async (dir) => {
    const out: { line: number; fingerprint: string }[] = [];
    // one path for both revisions, as CI checks out one patch file revised in place
    mkdirSync(join(dir, 'series'));
    const file = join(dir, 'series', '0002.patch');
    for (const text of [nameless, longer]) {
      writeFileSync(file, text);
      const r = await runCli(['check', file, '--no-tree', '--no-cache', '--format', 'sarif']);
      const log = JSON.parse(r.out) as SarifLog;
      const note = log.runs[0]!.results.find((x) => x.ruleId === 'analysis-incomplete');
      assert.ok(note, 'the nameless hunk is reported as not analysed');
      out.push({ line: note.locations[0]!.physicalLocation.region.startLine, fingerprint: JSON.stringify(note.partialFingerprints) });
    }
    return out;
  });
  assert.equal(notes[1]!.line, notes[0]!.line + 3, 'the note moved down with the text above it');
  assert.equal(notes[1]!.fingerprint, notes[0]!.fingerprint, 'and is the same note to code scanning');
});
