// SARIF consumers index rules by position and replay codeFlows in order, so those links are
// checked on the parsed output, along with the rule catalog the driver is built from.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AnalysisReport, Finding, RuleId, Severity } from '../../../extension/core/findings';
import { formatSarif } from '../../../extension/core/report/sarifReport';
import { RULE_IDS, helpUri, ruleMeta } from '../../../extension/core/rules/ruleCatalog';

function finding(overrides: Partial<Finding>): Finding {
  return {
    rule: 'debug-after-encryption',
    severity: 'error',
    message: 'KVM_SET_GUEST_DEBUG is allowed after LAUNCH_UPDATE_VMSA',
    location: { file: 'series\\0003-debug.patch', line: 42, column: 5, endLine: 44, endColumn: 2, function: 'svm_set_guest_debug', patch: '0003-debug.patch' },
    introducedBy: '0003-debug.patch',
    trace: [
      { operation: 'KVM_SEV_ES_INIT', vcpu: null, location: { file: 'model/sev.c', line: 10 }, note: 'VM becomes SEV-ES' },
      { operation: 'KVM_SEV_LAUNCH_UPDATE_VMSA', vcpu: null, location: { file: 'model/sev.c', line: 20 }, note: 'VMSA encrypted' },
      { operation: 'KVM_SET_GUEST_DEBUG', vcpu: 0, location: { file: 'series/0003-debug.patch', line: 42 }, note: 'writes save.dr7' },
    ],
    key: 'debug-after-encryption|svm_set_guest_debug|encrypted|KVM_SET_GUEST_DEBUG',
    ...overrides,
  };
}

const sample: AnalysisReport = {
  findings: [
    finding({}),
    finding({
      rule: 'vmsa-read-after-encryption',
      severity: 'warning',
      location: { file: 'dir with space/x#1.c', line: 3, column: 1 },
      introducedBy: null,
      trace: [],
      key: 'read-key',
    }),
    finding({ rule: 'analysis-incomplete', severity: 'info', trace: [], key: 'inc-key' }),
  ],
  fixed: [finding({ rule: 'protection-flag-not-set', fixedBy: '0004-fix.patch', key: 'fixed-key' })],
  stats: { patches: 4, functions: 10, statesExplored: 50, boundReached: false, ms: { read: 1, parse: 1, summarize: 1, simulate: 1 } },
  origins: [],
};

const log = JSON.parse(formatSarif(sample, '0.1.0'));
const run = log.runs[0];
const results = run.results;

test('log header: schema, version, a single run, driver name and version', () => {
  assert.equal(log.$schema, 'https://json.schemastore.org/sarif-2.1.0.json');
  assert.equal(log.version, '2.1.0');
  assert.equal(log.runs.length, 1);
  assert.equal(run.tool.driver.name, 'kvm-patch-lens');
  assert.equal(run.tool.driver.version, '0.1.0');
});

test('driver lists every rule once with descriptions, default level and help link', () => {
  const rules = run.tool.driver.rules;
  assert.deepEqual(rules.map((r: { id: string }) => r.id), [...RULE_IDS]);
  assert.equal(new Set(RULE_IDS).size, 9);
  for (const rule of rules) {
    assert.match(rule.name, /^[A-Z][A-Za-z]+$/);
    assert.ok(rule.shortDescription.text.length > 0);
    assert.ok(rule.fullDescription.text.length > rule.shortDescription.text.length);
    assert.equal(rule.helpUri, `README.md#rule-${rule.id}`);
  }
});

test('default severities follow the catalog, with info mapped to note', () => {
  const expected: Record<RuleId, Severity> = {
    'vmsa-write-after-encryption': 'error',
    'vmsa-read-after-encryption': 'warning',
    'debug-after-encryption': 'error',
    'debug-armed-at-encryption': 'error',
    'protection-flag-not-set': 'error',
    'init-refused-before-encryption': 'warning',
    'sev-init-after-vcpu-create': 'error',
    'legacy-write-ignored': 'info',

    'analysis-incomplete': 'info',
  };
  for (const rule of run.tool.driver.rules) {
    const severity = expected[rule.id as RuleId];
    assert.equal(ruleMeta(rule.id).defaultSeverity, severity);
    assert.equal(rule.defaultConfiguration.level, severity === 'info' ? 'note' : severity);
  }
});

test('every result points at its own rule through ruleIndex', () => {
  assert.equal(results.length, 3);
  for (const result of results) assert.equal(run.tool.driver.rules[result.ruleIndex].id, result.ruleId);
});

test('result levels map error, warning and info to error, warning and note', () => {
  assert.deepEqual(results.map((r: { level: string }) => r.level), ['error', 'warning', 'note']);
});

test('result location: forward slashes, full region, function as logical location', () => {
  const r = results[0];
  assert.equal(r.message.text, 'KVM_SET_GUEST_DEBUG is allowed after LAUNCH_UPDATE_VMSA');
  assert.deepEqual(r.locations, [
    {
      physicalLocation: {
        artifactLocation: { uri: 'series/0003-debug.patch' },
        region: { startLine: 42, startColumn: 5, endLine: 44, endColumn: 2 },
      },
      logicalLocations: [{ name: 'svm_set_guest_debug', kind: 'function' }],
    },
  ]);
});

test('result location without end or function: start only, no logical location, URI-safe path', () => {
  const loc = results[1].locations[0];
  assert.deepEqual(loc.physicalLocation.region, { startLine: 3, startColumn: 1 });
  assert.equal(loc.physicalLocation.artifactLocation.uri, 'dir%20with%20space/x%231.c');
  assert.ok(!('logicalLocations' in loc));
});

test('trace becomes one thread flow in execution order', () => {
  const locations = results[0].codeFlows[0].threadFlows[0].locations;
  assert.equal(results[0].codeFlows.length, 1);
  assert.deepEqual(locations.map((l: { executionOrder: number }) => l.executionOrder), [1, 2, 3]);
  assert.deepEqual(
    locations.map((l: { location: { message: { text: string } } }) => l.location.message.text),
    ['KVM_SEV_ES_INIT: VM becomes SEV-ES', 'KVM_SEV_LAUNCH_UPDATE_VMSA: VMSA encrypted', 'KVM_SET_GUEST_DEBUG (vcpu 0): writes save.dr7'],
  );
  assert.deepEqual(locations[2].location.physicalLocation, {
    artifactLocation: { uri: 'series/0003-debug.patch' },
    region: { startLine: 42 },
  });
});

test('a finding without a trace has no codeFlows', () => {
  assert.ok(!('codeFlows' in results[1]));
});

test('fingerprint and introducing patch are carried on each result', () => {
  assert.deepEqual(results[0].partialFingerprints, { 'kvmLens/v1': sample.findings[0].key });
  assert.deepEqual(results[0].properties, { introducedBy: '0003-debug.patch' });
  assert.deepEqual(results[1].properties, { introducedBy: null });
});

test('fixed findings are not results but are listed in run properties', () => {
  assert.ok(!results.some((r: { ruleId: string }) => r.ruleId === 'protection-flag-not-set'));
  assert.equal(run.properties.fixed.length, 1);
  assert.equal(run.properties.fixed[0].ruleId, 'protection-flag-not-set');
  assert.equal(run.properties.fixed[0].fixedBy, '0004-fix.patch');
  assert.equal(run.properties.fixed[0].location, 'series/0003-debug.patch:42');
});

test('no fixed findings: no run properties; empty report has an empty results array', () => {
  const empty = JSON.parse(formatSarif({ ...sample, findings: [], fixed: [] }, '0.1.0'));
  assert.deepEqual(empty.runs[0].results, []);
  assert.ok(!('properties' in empty.runs[0]));
});

test('help links take an optional base URL', () => {
  assert.equal(helpUri('analysis-incomplete'), 'README.md#rule-analysis-incomplete');
  assert.equal(helpUri('analysis-incomplete', 'https://example.org/lens'), 'https://example.org/lens/README.md#rule-analysis-incomplete');
  assert.equal(helpUri('analysis-incomplete', 'https://example.org/lens/'), 'https://example.org/lens/README.md#rule-analysis-incomplete');
  const based = JSON.parse(formatSarif(sample, '0.1.0', { helpBase: 'https://example.org/lens' }));
  assert.equal(based.runs[0].tool.driver.rules[0].helpUri, `https://example.org/lens/README.md#rule-${RULE_IDS[0]}`);
});
