// The text report is read by people and by editors' problem matchers, so its exact layout
// is pinned here with a small golden report.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AnalysisReport, Finding } from '../../../extension/core/findings';
import { formatText } from '../../../extension/core/report/textReport';

function finding(overrides: Partial<Finding>): Finding {
  return {
    rule: 'debug-after-encryption',
    severity: 'error',
    message: 'message',
    location: { file: 'a.patch', line: 1, column: 1 },
    introducedBy: null,
    trace: [],
    key: 'k',
    ...overrides,
  };
}

function report(overrides: Partial<AnalysisReport> = {}): AnalysisReport {
  return {
    findings: [],
    fixed: [],
    stats: { patches: 1, functions: 1, statesExplored: 1, boundReached: false, ms: { read: 0, parse: 0, summarize: 0, simulate: 0 } },
    origins: [],
    ...overrides,
  };
}

const golden = report({
  findings: [
    finding({
      message: 'KVM_SET_GUEST_DEBUG writes DR7 after the VMSA is encrypted',
      location: { file: 'series/0003-debug.patch', line: 42, column: 5, function: 'svm_set_guest_debug' },
      introducedBy: '0003-debug.patch',
      trace: [
        { operation: 'KVM_SEV_ES_INIT', vcpu: null, location: { file: 'model/sev.c', line: 10 }, note: 'VM becomes SEV-ES' },
        { operation: 'KVM_SEV_LAUNCH_UPDATE_VMSA', vcpu: null, location: { file: 'model/sev.c', line: 20 }, note: 'VMSA encrypted' },
        { operation: 'KVM_SET_GUEST_DEBUG', vcpu: 0, location: { file: 'series/0003-debug.patch', line: 42 }, note: 'writes save.dr7' },
      ],
    }),
    finding({
      rule: 'vmsa-read-after-encryption',
      severity: 'warning',
      message: 'KVM_GET_REGS reads stale state',
      location: { file: 'arch/x86/kvm/x86.c', line: 7, column: 2 },
    }),
    finding({ rule: 'analysis-incomplete', severity: 'info', message: 'could not resolve sev_foo', location: { file: 'b.patch', line: 3, column: 1 } }),
  ],
  fixed: [
    finding({
      rule: 'protection-flag-not-set',
      message: 'guest_state_protected is never set',
      location: { file: 'series/0001-a.patch', line: 9, column: 3 },
      introducedBy: '0001-a.patch',
      fixedBy: '0004-b.patch',
      trace: [{ operation: 'KVM_SEV_LAUNCH_UPDATE_VMSA', vcpu: 1, location: { file: 'model/sev.c', line: 20 }, note: 'VMSA encrypted' }],
    }),
  ],
  stats: { patches: 4, functions: 12, statesExplored: 57, boundReached: false, ms: { read: 1.04, parse: 2, summarize: 3, simulate: 4 } },
});

test('golden: findings, traces, fixed section and summary', () => {
  assert.equal(
    formatText(golden),
    [
      'series/0003-debug.patch:42:5: error: KVM_SET_GUEST_DEBUG writes DR7 after the VMSA is encrypted [debug-after-encryption] (introduced by 0003-debug.patch)',
      '    1. KVM_SEV_ES_INIT at model/sev.c:10: VM becomes SEV-ES',
      '    2. KVM_SEV_LAUNCH_UPDATE_VMSA at model/sev.c:20: VMSA encrypted',
      '    3. KVM_SET_GUEST_DEBUG (vcpu 0) at series/0003-debug.patch:42: writes save.dr7',
      'arch/x86/kvm/x86.c:7:2: warning: KVM_GET_REGS reads stale state [vmsa-read-after-encryption]',
      'b.patch:3:1: note: could not resolve sev_foo [analysis-incomplete]',
      '',
      'fixed later in the series:',
      'series/0001-a.patch:9:3: error: guest_state_protected is never set [protection-flag-not-set] (introduced by 0001-a.patch, fixed by 0004-b.patch)',
      '    1. KVM_SEV_LAUNCH_UPDATE_VMSA (vcpu 1) at model/sev.c:20: VMSA encrypted',
      '',
      '1 error, 1 warning, 1 note; 4 patches, 12 functions, 57 states explored in 10.0 ms',
      '',
    ].join('\n'),
  );
});

test('empty report is just the summary, with singular words for one', () => {
  assert.equal(formatText(report()), '0 errors, 0 warnings, 0 notes; 1 patch, 1 function, 1 state explored in 0.0 ms\n');
});

test('summary says when the exploration bound was reached', () => {
  const r = report({ stats: { ...report().stats, boundReached: true } });
  assert.match(formatText(r), /explored in 0\.0 ms \(exploration bound reached\)\n$/);
});

test('fixed finding with no introducing patch names only the fix', () => {
  const r = report({ fixed: [finding({ fixedBy: '0002-x.patch' })] });
  assert.equal(
    formatText(r),
    'fixed later in the series:\na.patch:1:1: error: message [debug-after-encryption] (fixed by 0002-x.patch)\n\n' +
      '0 errors, 0 warnings, 0 notes; 1 patch, 1 function, 1 state explored in 0.0 ms\n',
  );
});

test('summary counts current findings only, not fixed ones', () => {
  const r = report({ findings: [finding({}), finding({})], fixed: [finding({ fixedBy: 'x' })] });
  assert.match(formatText(r), /^2 errors, 0 warnings, 0 notes;/m);
});

test('colour is off by default and only adds escape codes when on', () => {
  assert.doesNotMatch(formatText(golden), /\x1b\[/);
  assert.doesNotMatch(formatText(golden, { color: false }), /\x1b\[/);
  const colored = formatText(golden, { color: true });
  assert.match(colored, /\x1b\[1m\x1b\[31merror\x1b\[0m/);
  assert.equal(colored.replace(/\x1b\[[0-9;]*m/g, ''), formatText(golden));
});
