// A `case KVM_...:` a patch adds to the vCPU ioctl dispatcher becomes an operation.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import { analyzeSeries, DEFAULT_OPTIONS } from '../../../extension/core/analysis/analyzeSeries';
import { readSeries } from '../../../extension/core/series/seriesReader';

it('a new vCPU ioctl that commits debug flags without a protection check is simulated and caught', async () => {
  const series = await readSeries([join(__dirname, '../../fixtures/entry-points/new-vcpu-ioctl')]);
  const r = await analyzeSeries(series, DEFAULT_OPTIONS);
  const f = r.findings.find((x) => x.rule === 'debug-after-encryption');
  assert.ok(f, r.findings.map((x) => x.rule).join(', '));
  assert.equal(f.trace[f.trace.length - 1].operation, 'KVM_SET_GUEST_DEBUG_FLAGS');
  assert.ok(f.trace.some((s) => s.operation === 'KVM_SEV_LAUNCH_UPDATE_VMSA'));
  assert.match(f.location.file, /0001-/);
  const text = require('node:fs').readFileSync(f.location.file, 'utf8').split('\n')[f.location.line - 1];
  assert.match(text, /guest_debug = flags/, 'the finding points at the assignment in the patch');
});
