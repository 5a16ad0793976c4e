// `kvm-lens b4-check` end to end, in process: each example patch mail on stdin, a mail that
// is not a patch, empty and binary input. Whatever the verdict, stdout is b4's JSON array and
// the exit status is 0.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { main } from '../../../extension/cli/main';
import { analyzeSeries, DEFAULT_OPTIONS } from '../../../extension/core/analysis/analyzeSeries';
import { readSeries } from '../../../extension/core/series/seriesReader';
import { EXAMPLE_DIR, PATCH_1, PATCH_2, PATCH_3, TEST_TIMEOUT_MS } from './cliHarness';

const T = { timeout: TEST_TIMEOUT_MS };

interface Entry { tool: string; status: string; summary: string; details: string }

async function b4(stdin: string, extra: string[] = []): Promise<{ code: number; entries: Entry[]; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['b4-check', ...extra], { out: (t) => { out += t; }, err: (t) => { err += t; }, isTty: false, stdin: async () => stdin });
  let entries: Entry[];
  try {
    entries = JSON.parse(out) as Entry[];
  } catch (e) {
    throw new Error(`stdout is not JSON (${(e as Error).message}):\n${out}\nstderr:\n${err}`);
  }
  assert.ok(Array.isArray(entries) && entries.length === 1, out);
  const e = entries[0]!;
  assert.deepEqual(Object.keys(e).sort(), ['details', 'status', 'summary', 'tool']);
  assert.equal(e.tool, 'kvm-lens');
  assert.ok(['pass', 'warn', 'fail'].includes(e.status), e.status);
  assert.ok(!e.summary.includes('\n'), `the summary is one line: ${e.summary}`);
  assert.equal(typeof e.details, 'string');
  assert.ok(out.endsWith('\n'));
  return { code, entries, err };
}

describe('kvm-lens b4-check', () => {
  it('fails 2/3 on its DR7 write after encryption, with the trace in the details', T, async () => {
    const { code, entries } = await b4(readFileSync(PATCH_2, 'utf8'));
    const e = entries[0]!;
    assert.equal(code, 0);
    assert.equal(e.status, 'fail');
    assert.match(e.summary, /^1 error: vmsa-write-after-encryption in svm_set_dr7\(\)/);
    assert.match(e.details, /<stdin>:22:\d+: error: .*\[vmsa-write-after-encryption\]/);
    assert.match(e.details, /^ {4}1\. KVM_CREATE_VM at \S+:\d+: type KVM_X86_SEV_ES_VM/m);
    assert.match(e.details, /^ {4}2\. KVM_SEV_INIT2 at \S+:\d+/m);
    assert.ok(!e.details.includes('series is incomplete'), 'one patch at a time is what b4 hands; no complaint about the rest');
  });

  it('gives 1/3 alone the verdict the analysis gives it', T, async () => {
    const report = await analyzeSeries(await readSeries([PATCH_1]), DEFAULT_OPTIONS);
    const errors = report.findings.filter((f) => f.severity === 'error');
    const warnings = report.findings.filter((f) => f.severity === 'warning');
    const expected = errors.length > 0 ? 'fail' : warnings.length > 0 ? 'warn' : 'pass';
    const { code, entries } = await b4(readFileSync(PATCH_1, 'utf8'));
    assert.equal(code, 0);
    assert.equal(entries[0]!.status, expected);
    for (const f of errors) assert.ok(entries[0]!.summary.includes(f.rule), `${f.rule} in ${entries[0]!.summary}`);
  });

  it('passes 3/3, which adds the guard', T, async () => {
    const { entries } = await b4(readFileSync(PATCH_3, 'utf8'));
    assert.equal(entries[0]!.status, 'pass');
    assert.match(entries[0]!.summary, /no findings|no errors or warnings/);
  });

  it('warns with a reason for a cover letter and for a mail without a diff', T, async () => {
    const cover = await b4(readFileSync(`${EXAMPLE_DIR}/0000-cover-letter.patch`, 'utf8'));
    assert.equal(cover.entries[0]!.status, 'warn');
    assert.match(cover.entries[0]!.summary, /nothing to check: a cover letter/);
    const chat = await b4('From: Bob <bob@example.org>\nSubject: Re: [RFC PATCH 2/3] KVM: SVM: Let DR7 writes through\nMessage-Id: <r1@example.org>\n\n> quoted\nI disagree.\n');
    assert.equal(chat.code, 0);
    assert.ok(['pass', 'warn'].includes(chat.entries[0]!.status));
    assert.match(chat.entries[0]!.summary, /nothing to check/);
  });

  it('warns on empty stdin and on binary garbage, and still exits 0', T, async () => {
    for (const input of ['', '\n\n  \n']) {
      const { code, entries } = await b4(input);
      assert.equal(code, 0);
      assert.equal(entries[0]!.status, 'warn');
      assert.match(entries[0]!.summary, /empty input/);
    }
    const garbage = await b4('\x00\x01\x02\xff\xfe binary \x00');
    assert.equal(garbage.code, 0);
    assert.equal(garbage.entries[0]!.status, 'warn');
  });

  it('reads CRLF mail as well as LF', T, async () => {
    const { entries } = await b4(readFileSync(PATCH_2, 'utf8').replace(/\n/g, '\r\n'));
    assert.equal(entries[0]!.status, 'fail');
    assert.match(entries[0]!.summary, /vmsa-write-after-encryption/);
  });

  it('leaves the check command alone', T, async () => {
    let out = '';
    const code = await main(['check', PATCH_3], { out: (t) => { out += t; }, err: () => {}, isTty: false });
    assert.equal(code, 0);
    assert.match(out, /0 errors/);
  });
});
