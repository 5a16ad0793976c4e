// `kvm-lens check` end to end, in process: the example RFC series in each report format, the
// review-thread fixtures under --assume what-ifs, usage errors, -o and determinism.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TOOL_VERSION } from '../../../extension/core/version';
import type { JsonFinding } from '../../../extension/core/report/jsonReport';
import {
  EXAMPLE_DIR, PATCH_1, PATCH_2, PATCH_3, TEST_TIMEOUT_MS, THREAD,
  hunkBodyLines, hunkLineAt, linesOf, runCli, runCliChild, runJson, withTempDir, withoutTimings,
} from './cliHarness';

const T = { timeout: TEST_TIMEOUT_MS };
const LAUNCH_SANITIZES = join(THREAD, 'launch-sanitizes');
const GSP_CHECK_ONLY = join(THREAD, 'gsp-check-only');

function errors(findings: JsonFinding[]): JsonFinding[] {
  return findings.filter((f) => f.severity === 'error');
}

function ops(f: JsonFinding): string[] {
  return f.trace.map((s) => s.operation);
}

function describeFindings(findings: JsonFinding[]): string {
  return findings.map((f) => `${f.severity} ${f.rule} ${f.location.function ?? '?'} at ${f.location.file}:${f.location.line}`).join('\n') || '(none)';
}

describe('check on the example RFC series', () => {
  it('text: one compiler-style error line for the DR7 write, its trace indented beneath, exit 1', T, async () => {
    const { code, out, err } = await runCli(['check', EXAMPLE_DIR]);
    assert.equal(code, 1, `stdout:\n${out}\nstderr:\n${err}`);
    assert.equal(err, '', 'a complete, well-formed series produces no input problems');

    const lines = out.split('\n');
    const errorLines = lines.filter((l) => /^\S.*:\d+:\d+: error: /.test(l));
    // The rule tag closes the message; provenance "(introduced by ...)" may follow it.
    const dr7 = errorLines.filter((l) => / \[vmsa-write-after-encryption\]( \(|$)/.test(l));
    assert.equal(dr7.length, 1, out);
    const m = /^(.+):(\d+):(\d+): error: (.+) \[vmsa-write-after-encryption\]/.exec(dr7[0]!);
    assert.ok(m, dr7[0]);
    assert.equal(m[1], PATCH_2, 'the finding is in the patch that dropped the DR7 guard');
    assert.ok(Number(m[2]) > 0 && Number(m[3]) > 0);
    assert.match(m[4]!, /svm_set_dr7\(\)/);

    // The trace: numbered, indented lines right under the finding, ending in KVM_RUN.
    const at = lines.indexOf(dr7[0]!);
    const trace: string[] = [];
    for (let i = at + 1; i < lines.length && /^\s+\d+\. /.test(lines[i]!); i++) trace.push(lines[i]!);
    assert.ok(trace.length >= 2, `expected trace lines under the finding, got:\n${lines.slice(at, at + 8).join('\n')}`);
    trace.forEach((l, k) => assert.match(l, new RegExp(`^ {4}${k + 1}\\. [A-Z0-9_]+( \\(vcpu \\d+\\))? at \\S+:\\d+`), l));
    assert.match(trace[trace.length - 1]!, /^ {4}\d+\. KVM_RUN\b/);
    assert.ok(trace.some((l) => /KVM_SEV_LAUNCH_UPDATE_VMSA/.test(l)));

    assert.match(out, /^fixed later in the series:$/m);
    assert.match(lines.filter((l) => l !== '').pop()!, /^1 error, \d+ warnings?, \d+ notes?; 3 patches, \d+ functions?, \d+ states? explored in [\d.]+ ms/);
  });

  it('json: tool, version, the DR7 finding at a line of its hunk, trace, fixed timeline, stats', T, async () => {
    const { code, json, err } = await runJson(['check', EXAMPLE_DIR]);
    assert.equal(code, 1, err);
    assert.equal(json.tool, 'kvm-patch-lens');
    assert.equal(json.version, TOOL_VERSION);
    assert.match(json.version, /^\d+\.\d+\.\d+/);

    assert.equal(errors(json.findings).length, 1, describeFindings(json.findings));
    const f = json.findings[0]!;
    assert.equal(f.rule, 'vmsa-write-after-encryption', describeFindings(json.findings));
    assert.equal(f.severity, 'error');
    assert.equal(f.location.file, PATCH_2);
    assert.equal(f.location.function, 'svm_set_dr7');
    assert.equal(f.introducedBy, PATCH_2);

    // The line must be one of the patch file's hunk lines, in the hunk for svm_set_dr7.
    const hunkLine = hunkLineAt(f.location.file, f.location.line);
    assert.ok(hunkLine, `line ${f.location.line} of ${f.location.file} is not inside any hunk`);
    assert.match(hunkLine.section, /svm_set_dr7/, 'the hunk that matters is the one in svm_set_dr7');
    assert.ok(f.location.column >= 1 && f.location.column <= hunkLine.text.length + 1, `column ${f.location.column} outside "${hunkLine.text}"`);

    const trace = ops(f);
    assert.equal(trace[trace.length - 1], 'KVM_RUN', trace.join(' → '));
    const launch = trace.indexOf('KVM_SEV_LAUNCH_UPDATE_VMSA');
    assert.ok(launch >= 0 && launch < trace.length - 1, `LAUNCH_UPDATE_VMSA must come before KVM_RUN: ${trace.join(' → ')}`);
    assert.ok(trace.indexOf('KVM_CREATE_VCPU') >= 0 && trace.indexOf('KVM_CREATE_VCPU') < launch, trace.join(' → '));
    for (const s of f.trace) {
      assert.ok(s.location.line > 0 && s.location.file !== '', JSON.stringify(s));
      assert.ok(s.vcpu === null || Number.isInteger(s.vcpu));
    }

    const fixed = json.fixed.filter((x) => x.rule === 'debug-armed-at-encryption');
    assert.equal(fixed.length, 1, JSON.stringify(json.fixed.map((x) => x.rule)));
    assert.equal(fixed[0]!.introducedBy, PATCH_1);
    assert.equal(fixed[0]!.fixedBy, PATCH_3);
    assert.ok(!json.findings.some((x) => x.rule === 'debug-armed-at-encryption'), 'a fixed finding is not also a current one');

    assert.equal(json.stats.patches, 3);
    assert.ok(json.stats.statesExplored > 0);
    assert.ok(json.stats.functions > 0);
    assert.equal(json.stats.boundReached, false);
    for (const v of Object.values(json.stats.ms)) assert.ok(typeof v === 'number' && v >= 0);
  });

  it('sarif: version 2.1.0, the result with its rule id, location and a codeFlow of the trace', T, async () => {
    const { code, out, err } = await runCli(['check', EXAMPLE_DIR, '--format', 'sarif']);
    assert.equal(code, 1, err);
    const log = JSON.parse(out) as {
      version: string;
      $schema: string;
      runs: {
        tool: { driver: { name: string; rules: { id: string }[] } };
        results: {
          ruleId: string;
          ruleIndex: number;
          level: string;
          locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[];
          codeFlows?: { threadFlows: { locations: { location: { message: { text: string } }; executionOrder: number }[] }[] }[];
        }[];
        properties?: { fixed: { ruleId: string; introducedBy: string | null; fixedBy: string | null }[] };
      }[];
    };
    assert.equal(log.version, '2.1.0');
    assert.match(log.$schema, /sarif/);
    assert.equal(log.runs.length, 1);
    const run = log.runs[0]!;
    assert.equal(run.tool.driver.name, 'kvm-patch-lens');
    const results = run.results.filter((r) => r.level === 'error');
    assert.equal(results.length, 1);
    const r = results[0]!;
    assert.equal(r.ruleId, 'vmsa-write-after-encryption');
    assert.equal(run.tool.driver.rules[r.ruleIndex]?.id, r.ruleId, 'ruleIndex points at the rule');
    assert.ok(r.locations[0]!.physicalLocation.artifactLocation.uri.endsWith('0002-KVM-SVM-Let-DR7-writes-through-for-SEV-ES-guests.patch'));
    assert.ok(r.codeFlows && r.codeFlows.length === 1, 'the trace becomes a codeFlow');
    const steps = r.codeFlows[0]!.threadFlows[0]!.locations;
    assert.ok(steps.length >= 2);
    assert.deepEqual(steps.map((s) => s.executionOrder), steps.map((_, k) => k + 1));
    assert.match(steps[steps.length - 1]!.location.message.text, /^KVM_RUN\b/);
    assert.ok(run.properties?.fixed.some((x) => x.ruleId === 'debug-armed-at-encryption' && x.fixedBy !== null));
  });

  it('the same run twice gives the same JSON and SARIF byte for byte (timings aside)', T, async () => {
    // computed both times (the result cache would answer the second: its own test is resultCache.test.ts)
    const a = await runCli(['check', EXAMPLE_DIR, '--format', 'json', '--no-cache']);
    const b = await runCli(['check', EXAMPLE_DIR, '--format', 'json', '--no-cache']);
    assert.match(a.out, /"ms": \{/, 'the timings are where the stripping expects them');
    assert.equal(withoutTimings(a.out), withoutTimings(b.out));
    const s1 = await runCli(['check', EXAMPLE_DIR, '--format', 'sarif', '--no-cache']);
    const s2 = await runCli(['check', EXAMPLE_DIR, '--format', 'sarif', '--no-cache']);
    assert.equal(s1.out, s2.out);
    const t1 = await runCli(['check', EXAMPLE_DIR, '--no-cache']);
    const t2 = await runCli(['check', EXAMPLE_DIR, '--no-cache']);
    const noMs = (s: string): string => s.replace(/explored in [\d.]+ ms/, 'explored in <t> ms');
    assert.equal(noMs(t1.out), noMs(t2.out));
  });

  it('a fresh process (cold caches) writes the same JSON as this warm one', T, async (t) => {
    await withTempDir('kvm-lens-cold-', async (dir) => {
      const file = join(dir, 'cold.json');
      const child = await runCliChild(['check', EXAMPLE_DIR, '--format', 'json', '-o', file, '--no-cache'], TEST_TIMEOUT_MS - 5_000);
      assert.equal(child.killed, false);
      assert.equal(child.code, 1, child.stderr);
      const warm = await runCli(['check', EXAMPLE_DIR, '--format', 'json', '--no-cache']);
      assert.equal(withoutTimings(readFileSync(file, 'utf8')), withoutTimings(warm.out));
    });
  });

  it('inputs in a different order (files instead of the directory) give the same findings', T, async () => {
    const dir = await runJson(['check', EXAMPLE_DIR, '--no-cache']);
    const files = await runJson(['check', PATCH_3, PATCH_1, PATCH_2, '--no-cache']);
    assert.equal(files.code, dir.code);
    assert.equal(withoutTimings(JSON.stringify(files.json, null, 2)), withoutTimings(JSON.stringify(dir.json, null, 2)), 'patches are ordered by their n/m, not by argument order');
  });
});

describe('check on review-thread fixtures and --assume', () => {
  it('a clean series (LAUNCH_UPDATE_VMSA clears the debug state) exits 0 with no error line', T, async () => {
    const { code, out, err } = await runCli(['check', LAUNCH_SANITIZES]);
    assert.equal(code, 0, out);
    assert.equal(err, '');
    assert.doesNotMatch(out, /: error: /);
    assert.match(out, /^0 errors, /m);
  });

  it('guard-absent=svm_set_dr7:guest_state_protected makes the DR7 write appear in a clean series', T, async () => {
    const base = await runJson(['check', LAUNCH_SANITIZES]);
    assert.equal(errors(base.json.findings).length, 0);
    const r = await runJson(['check', LAUNCH_SANITIZES, '--assume', 'guard-absent=svm_set_dr7:guest_state_protected']);
    assert.equal(r.code, 1, describeFindings(r.json.findings));
    const f = r.json.findings.find((x) => x.rule === 'vmsa-write-after-encryption' && x.location.function === 'svm_set_dr7');
    assert.ok(f, describeFindings(r.json.findings));
    assert.equal(f.severity, 'error');
    assert.equal(ops(f)[ops(f).length - 1], 'KVM_RUN');
    assert.ok(ops(f).includes('KVM_SEV_LAUNCH_UPDATE_VMSA'));
  });

  it('guard-absent also works with the --assume=KEY=VALUE spelling', T, async () => {
    const r = await runJson(['check', LAUNCH_SANITIZES, '--assume=guard-absent=svm_set_dr7:guest_state_protected']);
    assert.equal(r.code, 1);
    assert.ok(r.json.findings.some((x) => x.rule === 'vmsa-write-after-encryption' && x.location.function === 'svm_set_dr7'));
  });

  it('guard-absent naming a function nobody has is reported, not silently ignored', T, async () => {
    const r = await runJson(['check', LAUNCH_SANITIZES, '--assume', 'guard-absent=lens_no_such_function:guest_state_protected']);
    assert.equal(r.code, 0);
    const note = r.json.findings.find((x) => x.rule === 'analysis-incomplete' && /lens_no_such_function/.test(x.message));
    assert.ok(note, describeFindings(r.json.findings));
  });

  // Up to d828d2b this finding was placed on 0002's svm_set_dr7 guard line, on none of its trace steps.
  it('guard-absent on a model function: its finding is located on its own line or its trace, not in an unrelated hunk', T, async () => {
    const r = await runJson(['check', PATCH_2, '--assume', 'guard-absent=svm_set_dr6:guest_state_protected']);
    const dr6 = r.json.findings.find((f) => f.rule === 'vmsa-write-after-encryption' && f.location.function === 'svm_set_dr6');
    assert.ok(dr6, describeFindings(r.json.findings));
    const { file, line } = dr6.location;
    const onTrace = dr6.trace.some((s) => s.location.file === file && s.location.line === line);
    assert.ok(onTrace || file.startsWith('builtin-model/'), `svm_set_dr6 finding placed at ${file}:${line}; trace: ${dr6.trace.map((s) => `${s.location.file}:${s.location.line}`).join(', ')}`);
    const dr7 = r.json.findings.find((f) => f.rule === 'vmsa-write-after-encryption' && f.location.function === 'svm_set_dr7');
    assert.ok(dr7);
    assert.notDeepEqual([dr6.location.file, dr6.location.line], [dr7.location.file, dr7.location.line], 'two findings in two functions share one location');
  });

  // The thread's fix (patch 3) refuses LAUNCH_UPDATE_VMSA with debug armed; an SNP guest is encrypted by SNP_LAUNCH_FINISH instead.
  it('vm-type=snp: after patch 1, SNP_LAUNCH_FINISH encrypts with debug armed, shown at the check patch 1 removes, and patch 3 does not fix it', T, async () => {
    const r = await runJson(['check', '--no-cache', '--assume', 'vm-type=snp', PATCH_1, PATCH_2, PATCH_3]);
    const snp = r.json.findings.find((f) => f.rule === 'debug-armed-at-encryption' && f.trace.some((s) => s.operation === 'KVM_SEV_SNP_LAUNCH_FINISH'));
    assert.ok(snp, describeFindings(r.json.findings));
    assert.equal(snp.location.file, PATCH_1);
    const removed = hunkBodyLines(readFileSync(PATCH_1, 'utf8')).get(snp.location.line);
    assert.equal(removed?.kind, 'removed', 'the finding sits on a line patch 1 removes');
    assert.match(removed!.section, /sev_es_sync_vmsa/);
    assert.equal(snp.introducedBy, PATCH_1);
  });

  it('launch-refuses-debug=true removes debug-armed-at-encryption from gsp-check-only', T, async () => {
    const base = await runJson(['check', GSP_CHECK_ONLY]);
    assert.equal(base.code, 1);
    assert.ok(base.json.findings.some((f) => f.rule === 'debug-armed-at-encryption'), describeFindings(base.json.findings));
    const r = await runJson(['check', GSP_CHECK_ONLY, '--assume', 'launch-refuses-debug=true']);
    assert.ok(!r.json.findings.some((f) => f.rule === 'debug-armed-at-encryption'), describeFindings(r.json.findings));
    assert.equal(r.code, 0, describeFindings(r.json.findings));
    const off = await runJson(['check', GSP_CHECK_ONLY, '--assume', 'launch-refuses-debug=false']);
    assert.ok(off.json.findings.some((f) => f.rule === 'debug-armed-at-encryption'), 'false is the default');
  });

  it('vm-type=legacy runs and still reports the DR7 write of the example', T, async () => {
    const r = await runJson(['check', EXAMPLE_DIR, '--assume', 'vm-type=legacy']);
    assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}: ${r.err}`);
    assert.equal(r.json.stats.patches, 3);
    assert.ok(r.json.stats.statesExplored > 0);
    assert.ok(r.json.findings.some((f) => f.rule === 'vmsa-write-after-encryption' && f.location.function === 'svm_set_dr7'), describeFindings(r.json.findings));
    for (const f of r.json.findings) assert.ok(!ops(f).includes('KVM_SEV_INIT2'), `legacy VMs use KVM_SEV_ES_INIT, not INIT2: ${ops(f).join(' → ')}`);
  });

  it('vm-type=protected is the default', T, async () => {
    const a = await runCli(['check', EXAMPLE_DIR, '--format', 'sarif']);
    const b = await runCli(['check', EXAMPLE_DIR, '--format', 'sarif', '--assume', 'vm-type=protected']);
    assert.equal(b.out, a.out);
  });

  it('the other assumption keys run: protected-at-create, vcpus', T, async () => {
    for (const a of ['protected-at-create=true', 'protected-at-create=false', 'vcpus=1', 'vcpus=3']) {
      const r = await runJson(['check', LAUNCH_SANITIZES, '--assume', a]);
      assert.ok(r.code === 0 || r.code === 1, `${a}: exit ${r.code}: ${r.err}`);
      assert.equal(r.json.stats.patches, 1, a);
    }
  });
});

describe('usage errors and output', () => {
  for (const [what, argv, mention] of [
    ['unknown assumption key', ['--assume', 'no-such-key=1'], /no-such-key/],
    ['bad assumption value', ['--assume', 'vm-type=tdx'], /vm-type/],
    ['vcpus out of range', ['--assume', 'vcpus=9'], /vcpus/],
    ['assumption without "="', ['--assume', 'vm-type'], /KEY=VALUE/],
    ['unknown format', ['--format', 'xml'], /--format/],
    ['--tree on a directory that does not exist', ['--tree', 'no-such-tree'], /--tree no-such-tree: .*does not exist/],
    ['unknown option', ['--frobnicate'], /--frobnicate/],
  ] as const) {
    it(`${what} → exit 2, one line on stderr, nothing on stdout`, T, async () => {
      const { code, out, err } = await runCli(['check', LAUNCH_SANITIZES, ...argv]);
      assert.equal(code, 2, err);
      assert.equal(out, '');
      assert.match(err, /^kvm-lens: [^\n]+\n$/, JSON.stringify(err));
      assert.match(err, mention);
    });
  }

  it('no command or no input → exit 2 with a message', T, async () => {
    for (const argv of [[], ['check'], ['lint', LAUNCH_SANITIZES]]) {
      const { code, out, err } = await runCli(argv);
      assert.equal(code, 2, JSON.stringify(argv));
      assert.equal(out, '');
      assert.match(err, /^kvm-lens: [^\n]+\n$/);
    }
  });

  it('--help and --version answer on stdout with exit 0', T, async () => {
    const h = await runCli(['--help']);
    assert.equal(h.code, 0);
    assert.match(h.out, /^Usage: kvm-lens check/);
    const v = await runCli(['--version']);
    assert.equal(v.code, 0);
    assert.equal(v.out, `kvm-lens ${TOOL_VERSION}\n`);
  });

  it('-o FILE writes the report there and nothing to stdout; the exit status is unchanged', T, async (t) => {
    await withTempDir('kvm-lens-o-', async (dir) => {
      const file = join(dir, 'report.json');
      const { code, out, err } = await runCli(['check', EXAMPLE_DIR, '--format', 'json', '-o', file]);
      assert.equal(code, 1);
      assert.equal(out, '');
      assert.equal(err, '');
      const written = readFileSync(file, 'utf8');
      const direct = await runCli(['check', EXAMPLE_DIR, '--format', 'json']);
      assert.equal(withoutTimings(written), withoutTimings(direct.out));

      const textFile = join(dir, 'report.txt');
      const t2 = await runCli(['check', EXAMPLE_DIR, '--output', textFile], true);
      assert.equal(t2.out, '');
      const text = readFileSync(textFile, 'utf8');
      assert.doesNotMatch(text, /\x1b\[/, 'no colour codes in a file, even when stdout is a terminal');
      assert.match(text, /\[vmsa-write-after-encryption\]/);
    });
  });

  it('-o over an existing file replaces it', T, async (t) => {
    await withTempDir('kvm-lens-o-', async (dir) => {
      const file = join(dir, 'report.sarif');
      writeFileSync(file, 'old content that is longer than nothing\n'.repeat(500));
      const { code } = await runCli(['check', LAUNCH_SANITIZES, '--format', 'sarif', '-o', file]);
      assert.equal(code, 0);
      assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version, '2.1.0');
    });
  });

  it('-o into a directory that does not exist → exit 2 naming the file, nothing on stdout', T, async () => {
    const file = join(tmpdir(), `kvm-lens-no-such-dir-${process.pid}`, 'report.json');
    const { code, out, err } = await runCli(['check', LAUNCH_SANITIZES, '-o', file]);
    assert.equal(code, 2);
    assert.equal(out, '');
    assert.ok(err.includes(file), err);
    assert.equal(linesOf(err).length, 1, err);
  });

  it('colour only on a terminal, and never with --no-color', T, async () => {
    const tty = await runCli(['check', EXAMPLE_DIR], true);
    assert.match(tty.out, /\x1b\[/);
    const plain = await runCli(['check', EXAMPLE_DIR], false);
    assert.doesNotMatch(plain.out, /\x1b\[/);
    const off = await runCli(['check', EXAMPLE_DIR, '--no-color'], true);
    assert.doesNotMatch(off.out, /\x1b\[/);
    const summaryFree = (t: string) => t.replace(/explored in [\d.]+ ms( \(the result of an identical earlier run, from the cache\))?/, '');
    assert.equal(summaryFree(off.out), summaryFree(plain.out));
  });
});
