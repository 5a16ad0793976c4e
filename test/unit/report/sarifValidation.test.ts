// Microsoft's SARIF validator (@microsoft/sarif-multitool-linux 5.7.0, a dev dependency npm ci
// installs) on logs `kvm-lens check --format sarif` writes: the example series, a kernel-like
// tree made at test time from our model C (audited as it is, with a series against it, and with
// its lines moved), a run whose notes lie at no file, and an installed Debian tree when there is
// one. Its SARIF rules and its GitHub code scanning rules (`--rule-kind Sarif;Gh`) must report
// no error and no warning. A log in the shape kvm-lens used to write (a relative helpUri, no
// informationUri, no rule help, a result at no file) is validated in the same run and must be
// refused, so a validator that checked nothing could not pass this test.
//
// The validator is a self-contained .NET program for Linux x64. It runs with
// DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1, so it needs no libicu (without it, a machine lacking
// libicu aborts it before it reads a file). Where it cannot run (another platform, not
// installed, not executable) the tests skip and say why; with CI set in the environment that is
// a failure instead.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { EXAMPLE_DIR, ROOT, runCli } from '../cli/cliHarness';
import { makeKernelSeriesRepo } from '../support/kernelSeriesRepo';
import { skipReason } from '../tree/realTrees';
import { kernelTreeForVersion } from '../../../extension/core/tree/sourceTarball';

const VALIDATOR_PACKAGE = '@microsoft/sarif-multitool-linux';
/** Installed Debian trees, the one with the most findings first (6.1: errors, warnings and notes in many files). */
const REAL_TREES = ['6.1', '6.12', '7.3'];
const T = { timeout: 300_000 };

/** The validator's path, or why it cannot run here. */
function findValidator(): { bin: string } | { cannot: string } {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return { cannot: `the SARIF validator ${VALIDATOR_PACKAGE} is a Linux x64 program; this is ${process.platform}-${process.arch}` };
  }
  let bin: string;
  try {
    bin = require(VALIDATOR_PACKAGE) as string;
  } catch {
    return { cannot: `${VALIDATOR_PACKAGE} is not installed: run npm ci` };
  }
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    return { cannot: `${bin} is not executable (its postinstall, chmod u+x, did not run): run npm rebuild ${VALIDATOR_PACKAGE}` };
  }
  return { bin };
}

interface ValidatorProblem {
  /** Base name of the log the problem is in. */
  log: string;
  rule: string;
  level: string;
  text: string;
}

interface ValidatorRun {
  scanned: number;
  problems: ValidatorProblem[];
}

interface SarifMessage { text?: string; id?: string; arguments?: string[] }
interface ValidatorRule { id: string; defaultConfiguration?: { level?: string }; messageStrings?: Record<string, { text: string }> }
interface ValidatorResult {
  ruleId: string;
  ruleIndex?: number;
  level?: string;
  message: SarifMessage;
  locations?: { physicalLocation?: { artifactLocation?: { uri?: string } } }[];
}
interface ValidatorNotification { level?: string; message: SarifMessage }

/** Runs `validate` once on the logs; undefined with the reason in `cannot` when the program does not start. */
function validate(bin: string, logs: string[], outDir: string): ValidatorRun | { cannot: string } {
  const output = join(outDir, 'validation.sarif');
  const r = spawnSync(bin, ['validate', ...logs, '--rule-kind', 'Sarif;Gh', '--output', output, '--log', 'ForceOverwrite'], {
    encoding: 'utf8',
    env: { ...process.env, DOTNET_SYSTEM_GLOBALIZATION_INVARIANT: '1' },
    timeout: 240_000,
  });
  const said = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  if (r.error || r.signal || r.status !== 0) {
    return { cannot: `${bin} did not run (${r.error?.message ?? (r.signal ? `signal ${r.signal}` : `exit ${r.status}`)}): ${said.slice(0, 600)}` };
  }
  const scanned = /Done\. (\d+) files? scanned/.exec(said);
  assert.ok(scanned, `the validator did not say what it scanned:\n${said}`);
  const log = JSON.parse(readFileSync(output, 'utf8')) as {
    runs: {
      tool: { driver: { rules?: ValidatorRule[] } };
      results: ValidatorResult[];
      invocations?: { executionSuccessful: boolean; toolExecutionNotifications?: ValidatorNotification[]; toolConfigurationNotifications?: ValidatorNotification[] }[];
    }[];
  };
  const run = log.runs[0]!;
  const rules = run.tool.driver.rules ?? [];
  const problems: ValidatorProblem[] = run.results.map((result) => {
    const rule = result.ruleIndex === undefined ? undefined : rules[result.ruleIndex];
    const uri = result.locations?.[0]?.physicalLocation?.artifactLocation?.uri;
    return {
      log: uri === undefined ? '(none)' : basename(uri.startsWith('file:') ? fileURLToPath(uri) : uri),
      rule: result.ruleId,
      // SARIF: a result without a level takes its rule's default, and "warning" without one
      level: result.level ?? rule?.defaultConfiguration?.level ?? 'warning',
      text: messageText(result.message, rule),
    };
  });
  for (const invocation of run.invocations ?? []) {
    assert.equal(invocation.executionSuccessful, true, `the validator's run failed:\n${said}`);
    for (const n of [...(invocation.toolExecutionNotifications ?? []), ...(invocation.toolConfigurationNotifications ?? [])]) {
      problems.push({ log: '(validator)', rule: 'notification', level: n.level ?? 'warning', text: messageText(n.message, undefined) });
    }
  }
  return { scanned: Number(scanned[1]), problems };
}

function messageText(message: SarifMessage, rule: ValidatorRule | undefined): string {
  if (message.text !== undefined) return message.text;
  const template = message.id === undefined ? undefined : rule?.messageStrings?.[message.id]?.text;
  if (template === undefined) return `${message.id ?? '?'} ${JSON.stringify(message.arguments ?? [])}`;
  return template.replace(/\{(\d+)\}/g, (_, i: string) => message.arguments?.[Number(i)] ?? '');
}

/** Errors and warnings the validator found in one log, one line each. */
function serious(run: ValidatorRun, log: string): string[] {
  return run.problems.filter((p) => p.log === log && (p.level === 'error' || p.level === 'warning')).map((p) => `${p.level} ${p.rule}: ${p.text}`);
}

interface SarifLog {
  runs: {
    tool: { driver: { informationUri?: string; rules: { id: string; helpUri?: string; help?: { text?: string; markdown?: string } }[] } };
    originalUriBaseIds: Record<string, { uri?: string; uriBaseId?: string }>;
    results: {
      ruleId: string;
      locations: { physicalLocation: { artifactLocation: { uri: string; uriBaseId?: string }; region: { startLine: number } } }[];
      partialFingerprints: Record<string, string>;
    }[];
    invocations?: { toolExecutionNotifications: { message: { text: string } }[] }[];
  }[];
}

/** Every URI-valued property in the log, with its JSON path; a relative `uri` beside its `uriBaseId`. */
function urisIn(value: unknown, path = '$'): { path: string; uri: string; base?: string }[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => urisIn(v, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  const o = value as Record<string, unknown>;
  const here = Object.entries(o)
    .filter(([k, v]) => /^(uri|.*Uri)$/.test(k) && typeof v === 'string')
    .map(([k, v]) => ({ path: `${path}.${k}`, uri: v as string, ...(typeof o.uriBaseId === 'string' ? { base: o.uriBaseId } : {}) }));
  return [...here, ...Object.entries(o).flatMap(([k, v]) => urisIn(v, `${path}.${k}`))];
}

const isAbsoluteUri = (uri: string): boolean => /^[A-Za-z][A-Za-z0-9+.-]*:/.test(uri) && URL.canParse(uri);

/** Shape every log must have: help per rule, no relative URI without a base, bases that resolve. */
function assertUploadShape(log: SarifLog, name: string): void {
  const run = log.runs[0]!;
  assert.ok(run.tool.driver.informationUri && isAbsoluteUri(run.tool.driver.informationUri), name);
  for (const rule of run.tool.driver.rules) {
    assert.ok(rule.help?.text && rule.help.markdown, `${name}: ${rule.id} has help text and Markdown`);
  }
  assert.match(run.originalUriBaseIds['%SRCROOT%']?.uri ?? '', /^file:\/\/\/.*\/$/, `${name}: %SRCROOT% is an absolute file: URI of a directory`);
  for (const u of urisIn(log)) {
    if (u.base === undefined) assert.ok(isAbsoluteUri(u.uri), `${name}: ${u.path} = ${u.uri} is neither absolute nor relative to a base`);
    else {
      assert.ok(!isAbsoluteUri(u.uri) && !u.uri.startsWith('/') && !u.uri.split('/').includes('..'), `${name}: ${u.path} = ${u.uri} is a plain relative reference`);
      assert.ok(u.base in run.originalUriBaseIds, `${name}: ${u.path}'s base ${u.base} is declared`);
    }
  }
  for (const r of run.results) assert.ok(r.locations[0]?.physicalLocation.artifactLocation.uri, `${name}: every result has a file (GitHub refuses a log with one that has not)`);
}

const validator = findValidator();
const logs = new Map<string, SarifLog>();
let work = '';
let validation: ValidatorRun | { cannot: string } | undefined;
let realTree: { version: string } | { skip: string } = { skip: `none of Linux ${REAL_TREES.join(', ')} is installed; ${skipReason(REAL_TREES[0]!)}` };

/** Why these tests cannot run here, or undefined when they can (a failure instead under CI). */
function cannotRun(): string | undefined {
  const why = 'cannot' in validator ? validator.cannot : validation && 'cannot' in validation ? validation.cannot : undefined;
  if (why !== undefined && process.env.CI) assert.fail(`CI must run the SARIF validator: ${why}`);
  return why;
}

function validated(): ValidatorRun {
  assert.ok(validation && !('cannot' in validation));
  return validation;
}

async function writeLog(name: string, argv: string[], expectedCode: number): Promise<void> {
  const r = await runCli(['check', ...argv, '--format', 'sarif', '--no-cache']);
  assert.equal(r.code, expectedCode, `${name}: exit ${r.code}\n${r.err}`);
  writeFileSync(join(work, name), r.out);
  logs.set(name, JSON.parse(r.out) as SarifLog);
}

describe('kvm-lens SARIF through Microsoft\'s SARIF validator (SARIF and GitHub rules)', () => {
  before(async () => {
    if ('cannot' in validator) return;
    // the example's paths are given relative to the project, as a CI job in its checkout would
    process.chdir(ROOT);
    work = mkdtempSync(join(tmpdir(), 'kvm-lens-sarif-'));
    const made = makeKernelSeriesRepo(work, join(ROOT, 'extension/core/model/builtin'));
    // the same tree with every line of svm.c three lines further down
    const moved = join(work, 'linux-moved');
    cpSync(made.repo, moved, { recursive: true });
    const svm = join(moved, 'arch/x86/kvm/svm/svm.c');
    writeFileSync(svm, `/* moved */\n/* three */\n/* lines */\n${readFileSync(svm, 'utf8')}`);

    await writeLog('example.sarif', ['examples/sev-es-debug-rfc'], 1);
    await writeLog('audit.sarif', ['--tree', made.repo], 1);
    await writeLog('series-on-tree.sarif', [made.mbox, '--tree', made.repo], 1);
    await writeLog('audit-moved.sarif', ['--tree', moved], 1);
    // notes at no file: the exploration's bound, an assumption that names nothing
    await writeLog('notes.sarif', [EXAMPLE_DIR, '--depth', '2', '--assume', 'guard-absent=no_such_function:x'], 0);
    for (const version of REAL_TREES) {
      const tree = await kernelTreeForVersion(version);
      if (tree === undefined) continue;
      await writeLog('real-tree.sarif', ['--tree', tree], 1);
      realTree = { version };
      break;
    }
    // the shape kvm-lens wrote before: relative helpUri, no informationUri, no help, a result at no file
    const old = JSON.parse(JSON.stringify(logs.get('example.sarif'))) as SarifLog & { runs: { tool: { driver: Record<string, unknown> }; results: Record<string, unknown>[] }[] };
    const oldRun = old.runs[0]!;
    delete oldRun.tool.driver.informationUri;
    for (const rule of oldRun.tool.driver.rules as { id: string; helpUri?: string; help?: unknown }[]) {
      delete rule.help;
      rule.helpUri = `README.md#rule-${rule.id}`;
    }
    oldRun.results.push({ ...oldRun.results[0], locations: [] });
    writeFileSync(join(work, 'old-shape.sarif'), JSON.stringify(old, null, 2));

    validation = validate(validator.bin, [...logs.keys(), 'old-shape.sarif'].map((n) => join(work, n)), work);
  }, T);

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('runs on every log', T, (t) => {
    const why = cannotRun();
    if (why) return t.skip(why);
    assert.equal(validated().scanned, logs.size + 1);
    const stray = validated().problems.filter((p) => p.log !== 'old-shape.sarif' && !logs.has(p.log));
    assert.deepEqual(stray, [], 'every problem is in one of the logs');
  });

  it('refuses the old shape: relative helpUri (SARIF1002), no informationUri (SARIF2005), no help and a result at no file (GitHub)', T, (t) => {
    const why = cannotRun();
    if (why) return t.skip(why);
    const old = serious(validated(), 'old-shape.sarif');
    const count = (re: RegExp) => old.filter((l) => re.test(l)).length;
    const rules = logs.get('example.sarif')!.runs[0]!.tool.driver.rules.length;
    assert.equal(count(/^error SARIF1002: .*helpUri/), rules, old.join('\n'));
    assert.equal(count(/^warning SARIF2005: .*informationUri/), 1, old.join('\n'));
    assert.equal(count(/^error GH2012: .*'help'/), rules, old.join('\n'));
    assert.ok(count(/^error GH10(01|15): /) >= 1, old.join('\n'));
  });

  for (const name of ['example.sarif', 'audit.sarif', 'series-on-tree.sarif', 'audit-moved.sarif', 'notes.sarif']) {
    it(`${name}: no error and no warning`, T, (t) => {
      const why = cannotRun();
      if (why) return t.skip(why);
      assert.deepEqual(serious(validated(), name), []);
      assertUploadShape(logs.get(name)!, name);
    });
  }

  it('real-tree.sarif (an installed Debian tree, audited): no error and no warning', T, (t) => {
    const why = cannotRun();
    if (why) return t.skip(why);
    if ('skip' in realTree) return t.skip(realTree.skip);
    t.diagnostic(`Linux ${realTree.version}`);
    const log = logs.get('real-tree.sarif')!;
    assert.ok(log.runs[0]!.results.length > 0, 'the tree has findings to locate');
    assert.deepEqual(serious(validated(), 'real-tree.sarif'), []);
    assertUploadShape(log, 'real-tree.sarif');
    assert.ok(log.runs[0]!.results.every((r) => r.locations[0]!.physicalLocation.artifactLocation.uriBaseId === '%SRCROOT%'), 'tree findings are tree-relative');
  });

  it('the example: patch files relative to %SRCROOT% (the current directory), the model\'s steps to %BUILTIN_MODEL%', T, (t) => {
    const why = cannotRun();
    if (why) return t.skip(why);
    const run = logs.get('example.sarif')!.runs[0]!;
    assert.equal(run.originalUriBaseIds['%SRCROOT%']!.uri, `${pathToFileURL(ROOT).href}/`);
    const dr7 = run.results.find((r) => r.ruleId === 'vmsa-write-after-encryption')!;
    assert.deepEqual(dr7.locations[0]!.physicalLocation.artifactLocation, {
      uri: 'examples/sev-es-debug-rfc/0002-KVM-SVM-Let-DR7-writes-through-for-SEV-ES-guests.patch',
      uriBaseId: '%SRCROOT%',
    });
    const bases = new Set(urisIn(run).filter((u) => u.path.includes('codeFlows')).map((u) => u.base));
    assert.deepEqual([...bases].sort(), ['%BUILTIN_MODEL%', '%SRCROOT%']);
  });

  it('a tree audit: C files relative to the tree\'s root, which is %SRCROOT%; a series outside it only named', T, (t) => {
    const why = cannotRun();
    if (why) return t.skip(why);
    for (const name of ['audit.sarif', 'series-on-tree.sarif']) {
      const run = logs.get(name)!.runs[0]!;
      assert.equal(run.originalUriBaseIds['%SRCROOT%']!.uri, `${pathToFileURL(join(work, 'linux')).href}/`, name);
      const dr7 = run.results.find((r) => r.ruleId === 'vmsa-write-after-encryption')!;
      assert.deepEqual(dr7.locations[0]!.physicalLocation.artifactLocation, { uri: 'arch/x86/kvm/svm/svm.c', uriBaseId: '%SRCROOT%' }, name);
    }
  });

  it('fingerprints stay when lines move and are the same for the hazard found by the audit and through the series', T, (t) => {
    const why = cannotRun();
    if (why) return t.skip(why);
    const dr7 = (name: string) => logs.get(name)!.runs[0]!.results.find((r) => r.ruleId === 'vmsa-write-after-encryption')!;
    const [audit, moved, series] = [dr7('audit.sarif'), dr7('audit-moved.sarif'), dr7('series-on-tree.sarif')];
    assert.equal(moved.locations[0]!.physicalLocation.region.startLine, audit.locations[0]!.physicalLocation.region.startLine + 3, 'the finding moved');
    assert.deepEqual(moved.partialFingerprints, audit.partialFingerprints);
    assert.deepEqual(series.partialFingerprints, audit.partialFingerprints);
    assert.deepEqual(audit.partialFingerprints, { 'kvmLens/v1': 'vmsa-write-after-encryption|svm_set_dr7' });
  });

  it('notes at no file are the run\'s notifications, not results', T, (t) => {
    const why = cannotRun();
    if (why) return t.skip(why);
    const run = logs.get('notes.sarif')!.runs[0]!;
    const notes = run.invocations![0]!.toolExecutionNotifications.map((n) => n.message.text);
    assert.ok(notes.some((n) => /exploration stopped at its bound/.test(n)), notes.join('\n'));
    assert.ok(notes.some((n) => /guard-absent=no_such_function:x/.test(n)), notes.join('\n'));
  });
});
