// The simulation panel's data, with plain Node: a chosen ioctl sequence stepped through the
// example series, and a what-if toggle shown as findings that appear or vanish.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { simulateSequence } from '../../../extension/translate/sequenceSimulation';
import { whatIf } from '../../../extension/translate/whatIf';

const EXAMPLE = join(__dirname, '../../../examples/sev-es-debug-rfc');
const MBOX = readdirSync(EXAMPLE).sort().map((f) => readFileSync(join(EXAMPLE, f), 'utf8')).join('\n');
const SETTINGS = { depth: 12, vcpus: 2, assumptions: {} };

it('steps through a launch with debugging armed: ground truth beside the kernel\'s flags after each step', async () => {
  const r = await simulateSequence({
    file: '/ws/rfc.mbx', text: MBOX, settings: SETTINGS,
    steps: [
      { operation: 'KVM_SEV_INIT2', vcpu: null }, { operation: 'KVM_CREATE_VCPU', vcpu: null }, { operation: 'KVM_SET_GUEST_DEBUG', vcpu: 0 },
      { operation: 'KVM_SEV_LAUNCH_START', vcpu: null }, { operation: 'KVM_SEV_LAUNCH_UPDATE_VMSA', vcpu: null }, { operation: 'KVM_SET_GUEST_DEBUG', vcpu: 1 },
    ],
  });
  assert.ok(r.operations.some((o) => o.name === 'KVM_RUN' && o.perVcpu));
  assert.equal(r.initial.vcpus.length, 0);
  assert.equal(r.steps[2].state.vcpus[0].debugArmed, true, 'KVM_SET_GUEST_DEBUG arms debugging');
  assert.equal(r.steps[2].state.vcpus[0].flags.guest_debug, 'set');
  // patch 3 makes LAUNCH_UPDATE_VMSA refuse while debugging is armed: nothing is encrypted
  assert.equal(r.steps[4].state.vcpus[0].encrypted, false);
  assert.match(r.steps[4].outcome ?? '', /fails/);
  assert.ok(r.steps[4].lines.length > 0, 'the refusal runs patch lines, which the editor highlights');
  assert.match(r.steps[5].skipped ?? '', /cannot run/, 'there is no vcpu 1');
});

it('what-if: treating svm_set_dr7\'s remaining guard as absent changes nothing; making launch refuse debug keeps the series clean of debug findings', async () => {
  const req = { file: '/ws/rfc.mbx', text: MBOX, settings: SETTINGS };
  const legacy = await whatIf(req, { 'vm-type': 'legacy' });
  assert.ok(legacy.unchanged >= 1, 'the DR7 write stays');
  const refusesDebug = await whatIf(req, { 'launch-refuses-debug': 'true' });
  assert.deepEqual(refusesDebug.appeared.map((f) => f.rule), []);
});
