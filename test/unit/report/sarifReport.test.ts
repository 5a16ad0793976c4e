// SARIF consumers index rules by position and replay codeFlows in order, so those links are
// checked on the parsed output, along with the rule catalog the driver is built from, and where
// each file is said to be (relative to %SRCROOT% or %BUILTIN_MODEL%, else an absolute file: URI).
// sarifValidation.test.ts runs Microsoft's validator on logs of real runs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import type { AnalysisReport, Finding, RuleId, Severity } from '../../../extension/core/findings';
import { artifactLocation, formatSarif, markdownText } from '../../../extension/core/report/sarifReport';
import { RULE_IDS, helpUri, ruleMeta } from '../../../extension/core/rules/ruleCatalog';

function finding(overrides: Partial<Finding>): Finding {
  return {
    rule: 'debug-after-encryption',
    severity: 'error',
    message: 'KVM_SET_GUEST_DEBUG is allowed after LAUNCH_UPDATE_VMSA',
    location: { file: 'series\\0003-debug.patch', line: 42, column: 5, endLine: 44, endColumn: 2, function: 'svm_set_guest_debug', patch: '0003-debug.patch' },
    introducedBy: '0003-debug.patch',
    trace: [
      { operation: 'KVM_SEV_ES_INIT', vcpu: null, location: { file: 'builtin-model/sev.c', line: 10 }, note: 'VM becomes SEV-ES' },
      { operation: 'KVM_SEV_LAUNCH_UPDATE_VMSA', vcpu: null, location: { file: 'builtin-model/sev.c', line: 20 }, note: 'VMSA encrypted' },
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
    finding({ rule: 'analysis-incomplete', severity: 'info', message: 'the exploration stopped at its bound', location: { file: '<simulation>', line: 1, column: 1 }, trace: [], key: 'bound-key' }),
  ],
  fixed: [finding({ rule: 'protection-flag-not-set', fixedBy: '0004-fix.patch', key: 'fixed-key' })],
  stats: { patches: 4, functions: 10, statesExplored: 50, boundReached: false, ms: { read: 1, parse: 1, summarize: 1, simulate: 1 } },
  origins: [],
};

const SRC = '/srv/review';
const log = JSON.parse(formatSarif(sample, '0.1.0', { srcRoot: SRC }));
const run = log.runs[0];
const results = run.results;

test('log header: schema, version, a single run, driver name, version and the project\'s address', () => {
  assert.equal(log.$schema, 'https://json.schemastore.org/sarif-2.1.0.json');
  assert.equal(log.version, '2.1.0');
  assert.equal(log.runs.length, 1);
  assert.equal(run.tool.driver.name, 'kvm-patch-lens');
  assert.equal(run.tool.driver.version, '0.1.0');
  // package.json's repository, without git's ".git"
  assert.equal(run.tool.driver.informationUri, 'https://example.invalid/kvm-patch-lens');
});

test('driver lists every rule once with descriptions, default level and help as text and Markdown, no relative help link', () => {
  const rules = run.tool.driver.rules;
  assert.deepEqual(rules.map((r: { id: string }) => r.id), [...RULE_IDS]);
  assert.equal(new Set(RULE_IDS).size, 9);
  for (const rule of rules) {
    assert.match(rule.name, /^[A-Z][A-Za-z]+$/);
    assert.ok(rule.shortDescription.text.length > 0);
    assert.ok(rule.fullDescription.text.length > rule.shortDescription.text.length);
    // README.md#rule-... resolves nowhere a log is read (the validator's SARIF1002): no helpUri without a base
    assert.ok(!('helpUri' in rule), rule.id);
    const meta = ruleMeta(rule.id);
    assert.ok(rule.help.text.includes(meta.fullDescription), rule.id);
    assert.ok(rule.help.text.endsWith(`Default severity: ${meta.defaultSeverity}. More in the kvm-lens README, section Rules, "${rule.id}".`), rule.help.text);
    assert.ok(rule.help.markdown.startsWith('**'), rule.id);
    assert.ok(rule.help.markdown.includes(`"${rule.id}"`), rule.id);
  }
  const debug = rules.find((r: { id: string }) => r.id === 'debug-after-encryption');
  assert.match(debug.help.markdown, /`KVM_SET_GUEST_DEBUG` arms hardware breakpoints/);
  assert.match(debug.help.markdown, /once `vcpu->arch\.guest_state_protected` is set\./);
});

test('Markdown help: kernel identifiers as code, Markdown syntax in prose escaped', () => {
  assert.equal(markdownText('KVM_SET_REGS writes save.rip, then vcpu->arch.guest_state_protected is set.'),
    '`KVM_SET_REGS` writes `save.rip`, then `vcpu->arch.guest_state_protected` is set.');
  assert.equal(markdownText('a *star* [link] <tag> and a back`tick'), 'a \\*star\\* \\[link\\] \\<tag\\> and a back\\`tick');
  assert.equal(markdownText('The #DB and #BP intercepts (DR7, RFLAGS.TF).'), 'The #DB and #BP intercepts (DR7, `RFLAGS.TF`).');
});

test('originalUriBaseIds: %SRCROOT% as the absolute file: URI of the source root, %BUILTIN_MODEL% described', () => {
  assert.deepEqual(Object.keys(run.originalUriBaseIds), ['%SRCROOT%', '%BUILTIN_MODEL%']);
  assert.equal(run.originalUriBaseIds['%SRCROOT%'].uri, 'file:///srv/review/');
  assert.ok(!('uri' in run.originalUriBaseIds['%BUILTIN_MODEL%']), 'where the model is installed is not said');
  assert.match(run.originalUriBaseIds['%BUILTIN_MODEL%'].description.text, /built-in model/);
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
  assert.equal(results.length, 3, 'the finding at <simulation> is not a result');
  for (const result of results) assert.equal(run.tool.driver.rules[result.ruleIndex].id, result.ruleId);
});

test('result levels map error, warning and info to error, warning and note', () => {
  assert.deepEqual(results.map((r: { level: string }) => r.level), ['error', 'warning', 'note']);
});

test('result location: relative to %SRCROOT%, forward slashes, full region, function as logical location', () => {
  const r = results[0];
  assert.equal(r.message.text, 'KVM_SET_GUEST_DEBUG is allowed after LAUNCH_UPDATE_VMSA');
  assert.deepEqual(r.locations, [
    {
      physicalLocation: {
        artifactLocation: { uri: 'series/0003-debug.patch', uriBaseId: '%SRCROOT%' },
        region: { startLine: 42, startColumn: 5, endLine: 44, endColumn: 2 },
      },
      logicalLocations: [{ name: 'svm_set_guest_debug', kind: 'function' }],
    },
  ]);
});

test('result location without end or function: start only, no logical location, URI-safe path', () => {
  const loc = results[1].locations[0];
  assert.deepEqual(loc.physicalLocation.region, { startLine: 3, startColumn: 1 });
  assert.deepEqual(loc.physicalLocation.artifactLocation, { uri: 'dir%20with%20space/x%231.c', uriBaseId: '%SRCROOT%' });
  assert.ok(!('logicalLocations' in loc));
});

test('artifact locations: inside the root relative to it, the model relative to its base, anything else an absolute file: URI', () => {
  const at = (file: string) => artifactLocation(file, '/srv/review');
  assert.deepEqual(at('arch/x86/kvm/svm/sev.c'), { uri: 'arch/x86/kvm/svm/sev.c', uriBaseId: '%SRCROOT%' });
  assert.deepEqual(at('/srv/review/series/0001.patch'), { uri: 'series/0001.patch', uriBaseId: '%SRCROOT%' });
  assert.deepEqual(at('./a/../b.patch'), { uri: 'b.patch', uriBaseId: '%SRCROOT%' });
  assert.deepEqual(at('builtin-model/x86.c'), { uri: 'x86.c', uriBaseId: '%BUILTIN_MODEL%' });
  // outside the root: no "../" a consumer would resolve out of the checkout
  assert.deepEqual(at('../series.mbox'), { uri: 'file:///srv/series.mbox' });
  assert.deepEqual(at('/home/me/my series/0001#1.patch'), { uri: 'file:///home/me/my%20series/0001%231.patch' });
  assert.deepEqual(at('/srv/reviewer/x.patch'), { uri: 'file:///srv/reviewer/x.patch' }, 'a sibling with the root as its name prefix is outside');
  // a ':' in the first segment would read as a URI scheme
  assert.deepEqual(at('fix:dr7.patch'), { uri: 'fix%3Adr7.patch', uriBaseId: '%SRCROOT%' });
  assert.deepEqual(at('a?b/c%d.patch'), { uri: 'a%3Fb/c%25d.patch', uriBaseId: '%SRCROOT%' });
});

test('the source root defaults to a tree report\'s root, else the current directory', () => {
  const tree = JSON.parse(formatSarif({ ...sample, root: '/src/linux' } as AnalysisReport, '0.1.0'));
  assert.equal(tree.runs[0].originalUriBaseIds['%SRCROOT%'].uri, 'file:///src/linux/');
  assert.deepEqual(tree.runs[0].results[1].locations[0].physicalLocation.artifactLocation, { uri: 'dir%20with%20space/x%231.c', uriBaseId: '%SRCROOT%' });
  const here = JSON.parse(formatSarif(sample, '0.1.0'));
  assert.equal(here.runs[0].originalUriBaseIds['%SRCROOT%'].uri, `${pathToFileURL(process.cwd()).href}/`);
});

test('a finding at no file is a notification of the run, naming its rule', () => {
  assert.deepEqual(run.invocations, [{
    executionSuccessful: true,
    toolExecutionNotifications: [{
      level: 'note',
      message: { text: 'the exploration stopped at its bound' },
      associatedRule: { id: 'analysis-incomplete', index: RULE_IDS.indexOf('analysis-incomplete') },
      properties: { fingerprint: 'bound-key' },
    }],
  }]);
  const none = JSON.parse(formatSarif({ ...sample, findings: sample.findings.slice(0, 3) }, '0.1.0', { srcRoot: SRC }));
  assert.ok(!('invocations' in none.runs[0]), 'no notification, no invocation');
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
    artifactLocation: { uri: 'series/0003-debug.patch', uriBaseId: '%SRCROOT%' },
    region: { startLine: 42 },
  });
  assert.deepEqual(locations[0].location.physicalLocation.artifactLocation, { uri: 'sev.c', uriBaseId: '%BUILTIN_MODEL%' });
});

test('a trace step at no file keeps its place in the flow, as its message alone', () => {
  const step = { operation: 'KVM_RUN', vcpu: 0, location: { file: '<simulation>', line: 1 }, note: 'bound' };
  const one = JSON.parse(formatSarif({ ...sample, findings: [finding({ trace: [...sample.findings[0]!.trace, step] })] }, '0.1.0', { srcRoot: SRC }));
  const flow = one.runs[0].results[0].codeFlows[0].threadFlows[0].locations;
  assert.equal(flow.length, 4);
  assert.deepEqual(flow[3], { location: { message: { text: 'KVM_RUN (vcpu 0): bound' } }, executionOrder: 4 });
});

test('a finding without a trace has no codeFlows', () => {
  assert.ok(!('codeFlows' in results[1]));
});

test('fingerprint and introducing patch are carried on each result', () => {
  assert.deepEqual(results[0].partialFingerprints, { 'kvmLens/v1': sample.findings[0].key });
  assert.deepEqual(results[0].properties, { introducedBy: '0003-debug.patch', introducedByPatch: null });
  assert.deepEqual(results[1].properties, { introducedBy: null, introducedByPatch: null });
});

test('fixed findings are not results but are listed in run properties, located as results are', () => {
  assert.ok(!results.some((r: { ruleId: string }) => r.ruleId === 'protection-flag-not-set'));
  assert.equal(run.properties.fixed.length, 1);
  assert.equal(run.properties.fixed[0].ruleId, 'protection-flag-not-set');
  assert.equal(run.properties.fixed[0].fixedBy, '0004-fix.patch');
  assert.equal(run.properties.fixed[0].fingerprint, 'fixed-key');
  // a location object (no longer "file:line") so a consumer resolves it against %SRCROOT% as it does a result's
  assert.deepEqual(run.properties.fixed[0].location, {
    physicalLocation: { artifactLocation: { uri: 'series/0003-debug.patch', uriBaseId: '%SRCROOT%' }, region: { startLine: 42 } },
  });
});

test('no fixed findings: no run properties; empty report has an empty results array', () => {
  const empty = JSON.parse(formatSarif({ ...sample, findings: [], fixed: [] }, '0.1.0'));
  assert.deepEqual(empty.runs[0].results, []);
  assert.ok(!('properties' in empty.runs[0]));
});

test('help links only from an absolute base URL', () => {
  assert.equal(helpUri('analysis-incomplete'), 'README.md#rule-analysis-incomplete');
  assert.equal(helpUri('analysis-incomplete', 'https://example.org/lens'), 'https://example.org/lens/README.md#rule-analysis-incomplete');
  assert.equal(helpUri('analysis-incomplete', 'https://example.org/lens/'), 'https://example.org/lens/README.md#rule-analysis-incomplete');
  const based = JSON.parse(formatSarif(sample, '0.1.0', { helpBase: 'https://example.org/lens' }));
  assert.equal(based.runs[0].tool.driver.rules[0].helpUri, `https://example.org/lens/README.md#rule-${RULE_IDS[0]}`);
  const relative = JSON.parse(formatSarif(sample, '0.1.0', { helpBase: 'docs' }));
  assert.ok(relative.runs[0].tool.driver.rules.every((r: object) => !('helpUri' in r)), 'a relative base gives no link');
});
