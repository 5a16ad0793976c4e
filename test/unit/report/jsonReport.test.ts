// Consumers script against the JSON report, so every key, its order and null-for-absent
// are checked by parsing the output back.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AnalysisReport, Finding } from '../../../extension/core/findings';
import { formatJson } from '../../../extension/core/report/jsonReport';

function finding(overrides: Partial<Finding>): Finding {
  return {
    rule: 'vmsa-write-after-encryption',
    severity: 'error',
    message: 'KVM_SET_REGS writes the encrypted VMSA',
    location: { file: 'series/0002-regs.patch', line: 30, column: 4, endLine: 30, endColumn: 20, function: 'svm_set_regs', patch: '0002-regs.patch' },
    introducedBy: '0002-regs.patch',
    introducedByPatch: { file: '0002-regs.patch', line: 1, subject: '[PATCH 2/5] KVM: SVM: regs' },
    trace: [
      { operation: 'KVM_SEV_LAUNCH_UPDATE_VMSA', vcpu: null, location: { file: 'model/sev.c', line: 20 }, note: 'VMSA encrypted' },
      { operation: 'KVM_SET_REGS', vcpu: 0, location: { file: 'series/0002-regs.patch', line: 30 }, note: 'writes save.rip' },
    ],
    key: 'vmsa-write-after-encryption|svm_set_regs|encrypted|KVM_SET_REGS',
    ...overrides,
  };
}

const sample: AnalysisReport = {
  findings: [finding({}), finding({ location: { file: 'x.c', line: 1, column: 1 }, introducedBy: null, introducedByPatch: null, trace: [] })],
  fixed: [finding({ rule: 'debug-armed-at-encryption', fixedBy: '0005-fix.patch' }), finding({ fixedBy: undefined })],
  stats: { patches: 5, functions: 9, statesExplored: 120, boundReached: true, ms: { read: 1.26, parse: 0.04, summarize: 10, simulate: 3.15 } },
  origins: [{ function: 'svm_set_regs', origin: 'series', file: 'series/0002-regs.patch' }],
};

const parsed = JSON.parse(formatJson(sample, '0.1.0'));

test('top level: tool, version, base, findings, fixed, stats, then origins', () => {
  assert.deepEqual(Object.keys(parsed), ['tool', 'version', 'base', 'findings', 'fixed', 'stats', 'origins']);
  // only functions the series touched are listed; model functions are the rest
  assert.ok(parsed.origins.every((o: { origin: string }) => o.origin !== 'model'));
  assert.equal(parsed.tool, 'kvm-patch-lens');
  assert.equal(parsed.version, '0.1.0');
});

test('finding: every key, in order, with nothing extra', () => {
  const f = parsed.findings[0];
  assert.deepEqual(Object.keys(f), ['rule', 'severity', 'message', 'location', 'introducedBy', 'introducedByPatch', 'trace']);
  assert.deepEqual(Object.keys(f.location), ['file', 'line', 'column', 'function', 'patch']);
  assert.deepEqual(f, {
    rule: 'vmsa-write-after-encryption',
    severity: 'error',
    message: 'KVM_SET_REGS writes the encrypted VMSA',
    location: { file: 'series/0002-regs.patch', line: 30, column: 4, function: 'svm_set_regs', patch: '0002-regs.patch' },
    introducedBy: '0002-regs.patch',
    introducedByPatch: { file: '0002-regs.patch', line: 1, subject: '[PATCH 2/5] KVM: SVM: regs' },
    trace: [
      { operation: 'KVM_SEV_LAUNCH_UPDATE_VMSA', vcpu: null, location: { file: 'model/sev.c', line: 20 }, note: 'VMSA encrypted' },
      { operation: 'KVM_SET_REGS', vcpu: 0, location: { file: 'series/0002-regs.patch', line: 30 }, note: 'writes save.rip' },
    ],
  });
  for (const step of f.trace) {
    assert.deepEqual(Object.keys(step), ['operation', 'vcpu', 'location', 'note']);
    assert.deepEqual(Object.keys(step.location), ['file', 'line']);
  }
});

test('absent function, patch and introducedBy are null, not missing', () => {
  const f = parsed.findings[1];
  assert.deepEqual(Object.keys(f.location), ['file', 'line', 'column', 'function', 'patch']);
  assert.equal(f.location.function, null);
  assert.equal(f.location.patch, null);
  assert.equal(f.introducedBy, null);
  assert.equal(f.introducedByPatch, null);
  assert.deepEqual(f.trace, []);
});

test('fixed findings have the same shape plus fixedBy (null when unknown)', () => {
  assert.equal(parsed.fixed.length, 2);
  assert.deepEqual(Object.keys(parsed.fixed[0]), ['rule', 'severity', 'message', 'location', 'introducedBy', 'introducedByPatch', 'fixedBy', 'fixedByPatch', 'trace']);
  assert.equal(parsed.fixed[0].rule, 'debug-armed-at-encryption');
  assert.equal(parsed.fixed[0].fixedBy, '0005-fix.patch');
  assert.equal(parsed.fixed[0].trace.length, 2);
  assert.equal(parsed.fixed[1].fixedBy, null);
  assert.equal(parsed.fixed[1].fixedByPatch, null);
  // The current findings never carry fixedBy.
  assert.ok(!('fixedBy' in parsed.findings[0]) && !('fixedByPatch' in parsed.findings[0]));
});

test('stats: every key, ms rounded to one decimal', () => {
  assert.deepEqual(Object.keys(parsed.stats), ['patches', 'functions', 'statesExplored', 'boundReached', 'ms']);
  assert.deepEqual(Object.keys(parsed.stats.ms), ['read', 'parse', 'summarize', 'simulate']);
  assert.deepEqual(parsed.stats, {
    patches: 5,
    functions: 9,
    statesExplored: 120,
    boundReached: true,
    ms: { read: 1.3, parse: 0, summarize: 10, simulate: 3.2 },
  });
});

test('pretty printed with two spaces, newline-terminated, deterministic', () => {
  const text = formatJson(sample, '0.1.0');
  assert.ok(text.startsWith('{\n  "tool": "kvm-patch-lens",\n  "version": "0.1.0",\n'));
  assert.ok(text.endsWith('}\n'));
  assert.equal(formatJson(sample, '0.1.0'), text);
  // Internal fields (finding key, end positions) stay out of the public shape.
  assert.doesNotMatch(text, /"key"|"endLine"/);
});

test('empty report still has every top-level key', () => {
  const empty: AnalysisReport = { ...sample, findings: [], fixed: [] };
  const p = JSON.parse(formatJson(empty, '9.9.9'));
  assert.deepEqual(p.findings, []);
  assert.deepEqual(p.fixed, []);
  assert.equal(p.version, '9.9.9');
});
