// `kvm-lens b4-check` fed what b4 pipes (the body decoded, the Content-Transfer-Encoding header
// kept), its output read by b4's own rules (b4CheckRules.ts): the JSON protocol of
// b4.review-perpatch-check-cmd and b4.review-series-check-cmd, and with --text the plain-text
// one of b4.am-perpatch-check-cmd and b4.prep-perpatch-check-cmd. Every location is a C file
// and its post-image line, worked out by the test's own walk of the diff. In process, against
// the built-in model; b4CheckAsB4Runs.test.ts runs the command as b4 does, in a checkout.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { asPipedByB4, formatTerse, runB4Check } from '../../../extension/cli/b4Check';
import { main } from '../../../extension/cli/main';
import { asB4Pipes, asMailboxHolds, b4DetailEntries, b4JsonResults, b4TextResults, postImageLine, type B4Result, type CommandRun } from './b4CheckRules';
import { EXAMPLE_DIR, PATCH_1, PATCH_2, PATCH_3, ROOT, runCliChild, TEST_TIMEOUT_MS } from './cliHarness';

const T = { timeout: TEST_TIMEOUT_MS };
const DR7_WRITE = 'svm->vmcb->save.dr7 = value;';

/** One in-process run of `kvm-lens b4-check ARGS` with `input` on stdin, as b4 sees it. */
async function run(input: Buffer | string, args: string[] = ['--no-tree'], cwd?: string): Promise<CommandRun> {
  let out = '';
  let err = '';
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const io = { out: (t: string) => { out += t; }, err: (t: string) => { err += t; }, isTty: false, stdin: async () => ({ ok: true as const, bytes }) };
  // through the entry point, as the command runs; with a working directory of the test's choosing, the subcommand itself
  const code = cwd === undefined ? await main(['b4-check', ...args], io) : await runB4Check(args, { ...io, cwd });
  return { code, stdout: Buffer.from(out), stderr: Buffer.from(err) };
}

/** The JSON protocol: exactly one well-formed result, its details a list b4 draws entry by entry. */
async function json(input: Buffer | string, args: string[] = ['--no-tree'], cwd?: string): Promise<{ result: B4Result; entries: { status: string; description: string }[] }> {
  const r = await run(input, args, cwd);
  assert.equal(r.code, 0, r.stderr.toString());
  assert.equal(r.stderr.toString(), '', 'nothing on stderr');
  const results = b4JsonResults(r, 'kvm-lens');
  assert.equal(results.length, 1, r.stdout.toString());
  const result = results[0]!;
  assert.equal(result.tool, 'kvm-lens');
  assert.ok(!/invalid JSON/.test(result.summary), result.summary);
  assert.ok(!result.summary.includes('\n'), `one-line summary: ${result.summary}`);
  const entries = result.details === '' ? [] : b4DetailEntries(result.details);
  assert.ok(entries, `details is a JSON list b4 draws as structured findings: ${result.details}`);
  for (const e of entries) assert.ok(['pass', 'warn', 'fail'].includes(e.status), e.status);
  return { result, entries };
}

/** The text protocol, as `b4 am -k` and `b4 prep --check` read it. */
async function text(input: Buffer | string, args: string[] = ['--no-tree']): Promise<{ run: CommandRun; lines: string[]; results: ReturnType<typeof b4TextResults> }> {
  const r = await run(input, ['--text', ...args]);
  assert.equal(r.code, 0, r.stderr.toString());
  assert.equal(r.stderr.toString(), '', 'nothing on stderr: b4 would count every stderr line as a failure');
  const out = r.stdout.toString();
  return { run: r, lines: out === '' ? [] : out.replace(/\n$/, '').split('\n'), results: b4TextResults(r) };
}

const patch2 = readFileSync(PATCH_2, 'utf8');
const dr7 = postImageLine(patch2, DR7_WRITE);

describe('kvm-lens b4-check: the JSON protocol (review-perpatch-check-cmd, review-series-check-cmd)', () => {
  it('fails the DR7 patch at the C line where the removed guard stood (the write), with the ioctl sequence under it', T, async () => {
    const { result, entries } = await json(asB4Pipes(patch2, '8bit'));
    assert.equal(result.status, 'fail');
    assert.match(result.summary, /^1 error: vmsa-write-after-encryption in svm_set_dr7\(\); checked on the built-in model \(--no-tree\)$/);
    assert.deepEqual(entries.map((e) => e.status), ['fail', 'pass']);
    const [head, ...trace] = entries[0]!.description.split('\n');
    assert.equal(dr7.file, 'arch/x86/kvm/svm/svm.c');
    assert.match(head!, new RegExp(`^${dr7.file}:${dr7.line}: ERROR: svm_set_dr7\\(\\) writes VMSA-backed DR7 .* \\[vmsa-write-after-encryption\\]$`));
    assert.deepEqual(trace.map((l) => /^ {4}\d+\. (KVM_\w+)/.exec(l)?.[1]), ['KVM_CREATE_VM', 'KVM_SEV_INIT2', 'KVM_CREATE_VCPU', 'KVM_SEV_LAUNCH_START', 'KVM_SEV_LAUNCH_UPDATE_VMSA', 'KVM_RUN']);
    assert.ok(!entries.some((e) => e.description.includes('<stdin>')), 'no location counts lines of the piped mail');
    assert.equal(entries[1]!.description, 'base: the built-in model (--no-tree)');
  });

  it('places patch 1/3 (sev.c) the same way', T, async () => {
    const patch1 = readFileSync(PATCH_1, 'utf8');
    const { result, entries } = await json(asB4Pipes(patch1, '8bit'));
    assert.equal(result.status, 'fail');
    const fail = entries.find((e) => e.status === 'fail')!;
    const [, file, line] = /^(\S+):(\d+): ERROR: /.exec(fail.description) ?? [];
    assert.equal(file, 'arch/x86/kvm/svm/sev.c');
    // the line is one the patch shows in sev.c's post-image: the check it leaves in place or the code after it
    const shown = patch1.split('\n').filter((l) => /^[ +]/.test(l) && !l.startsWith('+++')).map((l) => l.slice(1));
    const candidates = shown.map((t) => { try { return postImageLine(patch1, t); } catch { return undefined; } }).filter((p) => p?.file === file).map((p) => p!.line);
    assert.ok(candidates.includes(Number(line)), `sev.c:${line} is a post-image line of the hunk (${candidates.join(', ')})`);
  });

  it('passes patch 3/3 with nothing but the base under it', T, async () => {
    const { result, entries } = await json(asB4Pipes(readFileSync(PATCH_3, 'utf8'), '8bit'));
    assert.equal(result.status, 'pass');
    assert.equal(result.summary, 'no findings; checked on the built-in model (--no-tree)');
    assert.deepEqual(entries, [{ status: 'pass', description: 'base: the built-in model (--no-tree)' }]);
  });

  it('says why it used the built-in model when the working directory is in no kernel checkout', T, async () => {
    const { result } = await json(asB4Pipes(readFileSync(PATCH_3, 'utf8'), '8bit'), [], tmpdir());
    assert.equal(result.summary, 'no findings; checked on the built-in model (the working directory is in no kernel checkout)');
  });
});

describe('kvm-lens b4-check --text: the text protocol (am-perpatch-check-cmd, prep-perpatch-check-cmd)', () => {
  it('one ERROR line for the DR7 patch, which b4 counts as one failure', T, async () => {
    const { lines, results } = await text(asB4Pipes(patch2, '8bit'));
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, new RegExp(`^${dr7.file}:${dr7.line}: ERROR: svm_set_dr7\\(\\) writes VMSA-backed DR7 `));
    assert.match(lines[0]!, / \[vmsa-write-after-encryption\]$/);
    assert.deepEqual(results.map((r) => r.flag), ['fail']);
  });

  it('prints nothing for a clean patch, which b4 reports as "passed all checks"', T, async () => {
    const { lines, results } = await text(asB4Pipes(readFileSync(PATCH_3, 'utf8'), '8bit'));
    assert.deepEqual(lines, []);
    assert.deepEqual(results, [{ flag: 'success', text: 'passed all checks' }]);
  });

  it('a warning line never holds "ERROR:", even when its message quotes it', () => {
    const out = formatTerse({
      status: 'warn', summary: 's', nothingToCheck: false,
      items: [{ status: 'warn', kind: 'input', message: 'a line quoting "ERROR: x"', trace: [] }, { status: 'fail', kind: 'finding', place: { file: 'a.c', line: 3 }, message: 'm', rule: 'r', trace: [] }],
    });
    const results = b4TextResults({ code: 0, stdout: Buffer.from(out), stderr: Buffer.alloc(0) });
    assert.deepEqual(results.map((r) => r.flag), ['warning', 'fail']);
    assert.deepEqual(out.split('\n'), ['kvm-lens: WARNING: a line quoting "error: x"', 'a.c:3: ERROR: m [r]', '']);
  });
});

describe('bodies as b4 pipes them: decoded, the Content-Transfer-Encoding header kept', () => {
  for (const cte of ['8bit', 'base64', 'quoted-printable'] as const) {
    it(`${cte}: the same result, line for line, as the patch file itself`, T, async () => {
      for (const file of [PATCH_1, PATCH_2, PATCH_3]) {
        const patch = readFileSync(file, 'utf8');
        const plain = await text(patch);
        const piped = await text(asB4Pipes(patch, cte));
        assert.deepEqual(piped.lines, plain.lines, file);
        const a = await json(patch);
        const b = await json(asB4Pipes(patch, cte));
        assert.deepEqual([b.result.status, b.result.summary, b.entries], [a.result.status, a.result.summary, a.entries], file);
      }
    });
  }

  it('a body still encoded (piped straight from a mailbox) is decoded once, to the same result', T, async () => {
    const expected = await text(patch2);
    for (const cte of ['base64', 'quoted-printable'] as const) {
      const held = asMailboxHolds(patch2, cte);
      assert.equal(asPipedByB4(held).body, 'decoded-here', cte);
      assert.deepEqual((await text(held)).lines, expected.lines, cte);
    }
  });

  it('a decoded quoted-printable body whose "=" look like escapes and soft breaks is not decoded again', T, async () => {
    // two comment lines added above the write: one holds "=FF", the first ends in "=" (a soft line break, were it still encoded)
    const wrapped = patch2
      .replace('@@ -88,9 +88,6 @@', '@@ -88,9 +88,8 @@')
      .replace('-\n \tsvm->vmcb->save.dr7 = value;\n', '-\n+\t/* DR7=FF arms all four breakpoints, see the APM\'s "DR7 =\n+\t * bit layout" */\n \tsvm->vmcb->save.dr7 = value;\n')
      .replace(' 1 file changed, 3 deletions(-)', ' 1 file changed, 2 insertions(+), 3 deletions(-)');
    assert.notEqual(wrapped, patch2);
    const piped = asB4Pipes(wrapped, 'quoted-printable');
    const normal = asPipedByB4(piped);
    assert.equal(normal.body, 'already-decoded');
    assert.ok(normal.bytes.toString('utf8').endsWith(piped.toString('utf8').slice(piped.indexOf('\n\n'))), 'the body is read as b4 piped it');
    // the finding lies on the guard the patch removes: in the post-image, the line that now follows where it stood
    const at = postImageLine(wrapped, 'DR7=FF arms');
    assert.equal(postImageLine(wrapped, DR7_WRITE).line, at.line + 2);
    const { lines, results } = await text(piped);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.ok(lines[0]!.startsWith(`${at.file}:${at.line}: ERROR: `), `${lines[0]} at ${at.file}:${at.line}`);
    assert.deepEqual(results.map((r) => r.flag), ['fail']);
  });
});

describe('partial analysis is a warning, never a pass', () => {
  it('a hunk whose header names no function', T, async () => {
    const nameless = patch2.replace(/^(@@ -88,9 \+88,6 @@).*$/m, '$1');
    const { lines, results } = await text(nameless);
    assert.deepEqual(lines, [`${dr7.file}:${dr7.line}: WARNING: not analysed: the hunk header (@@ -88,9 +88,6 @@) names no function and the hunk holds no whole one, so its change is placed in no function and not simulated [analysis-incomplete]`]);
    assert.deepEqual(results.map((r) => r.flag), ['warning']);
    const { result } = await json(nameless);
    assert.equal(result.status, 'warn');
    assert.match(result.summary, /^1 part not analysed \(arch\/x86\/kvm\/svm\/svm\.c\); checked on /);
  });

  it('a change to a function the built-in model does not have', T, async () => {
    const patch = [
      'From: Ada Reviewer <ada@example.org>', 'Subject: [PATCH] KVM: x86: Count differently', '', 'Counting.', '', 'Signed-off-by: Ada Reviewer <ada@example.org>', '---',
      'diff --git a/arch/x86/kvm/x86.c b/arch/x86/kvm/x86.c', 'index 1111111..2222222 100644', '--- a/arch/x86/kvm/x86.c', '+++ b/arch/x86/kvm/x86.c',
      '@@ -300,7 +300,7 @@ static unsigned int kvm_count_things(unsigned int n)', ' {', ' \tunsigned int total;', ' ', '-\ttotal = n * 2;', '+\ttotal = n * 3;', ' \ttotal += 1;', ' \ttotal -= 1;', ' \ttotal++;', '-- ', '2.39.5', '',
    ].join('\n');
    const at = postImageLine(patch, 'total = n * 3;');
    const { lines } = await text(patch);
    assert.deepEqual(lines, [`${at.file}:${at.line}: WARNING: analysis incomplete: kvm_count_things() is changed here, but neither the series nor the built-in model holds the whole function, so this change is not simulated [analysis-incomplete]`]);
    assert.equal((await json(patch)).result.status, 'warn');
  });

  it('a change to the kvm_x86_ops initializer is analysed (it rewires an indirect call): no "not analysed" warning', T, async () => {
    // built from the model's own svm.c: the .set_dr7 line of svm_x86_ops, three lines around it
    const model = readFileSync(join(ROOT, 'extension/core/model/builtin/svm.c'), 'utf8').split('\n');
    const at = model.findIndex((l) => l === '\t.set_dr7 = svm_set_dr7,');
    assert.ok(at > 3, 'the model wires set_dr7 in its ops table');
    const header = model.slice(0, at).reverse().find((l) => /kvm_x86_ops .* = \{$/.test(l))!;
    const patch = [
      'From: Ada Reviewer <ada@example.org>', 'Subject: [PATCH] KVM: SVM: Unwire set_dr7', '', 'Unwire.', '', 'Signed-off-by: Ada Reviewer <ada@example.org>', '---',
      'diff --git a/arch/x86/kvm/svm/svm.c b/arch/x86/kvm/svm/svm.c', 'index 1111111..2222222 100644', '--- a/arch/x86/kvm/svm/svm.c', '+++ b/arch/x86/kvm/svm/svm.c',
      `@@ -${at - 2},7 +${at - 2},7 @@ ${header}`, ...model.slice(at - 3, at).map((l) => ' ' + l), '-\t.set_dr7 = svm_set_dr7,', '+\t.set_dr7 = NULL,', ...model.slice(at + 1, at + 4).map((l) => ' ' + l), '-- ', '2.39.5', '',
    ].join('\n');
    const { lines } = await text(patch);
    assert.deepEqual(lines, [], 'nothing to say: the change was simulated and found nothing');
    assert.equal((await json(patch)).result.status, 'pass');
  });

  it('a C file outside the KVM sources, next to a change that is analysed', T, async () => {
    const mixed = patch2.replace('\n-- \n', [
      '', 'diff --git a/drivers/crypto/ccp/sev-dev.c b/drivers/crypto/ccp/sev-dev.c', 'index 1111111..2222222 100644', '--- a/drivers/crypto/ccp/sev-dev.c', '+++ b/drivers/crypto/ccp/sev-dev.c',
      '@@ -10,3 +10,3 @@ static int sev_cmd_buffer_len(int cmd)', ' {', '-\tint n = 0;', '+\tint n = 1;', ' \treturn n;', '-- ', '',
    ].join('\n'));
    const { lines, results } = await text(mixed);
    const out = postImageLine(mixed, 'int n = 1;');
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(lines[0]!, new RegExp(`^${dr7.file}:${dr7.line}: ERROR: `));
    assert.match(lines[1]!, new RegExp(`^${out.file}:${out.line}: WARNING: (not analysed|analysis incomplete): .*\\[analysis-incomplete\\]$`));
    assert.deepEqual(results.map((r) => r.flag), ['fail', 'warning']);
  });
});

describe('bad input: one clear result line each, never a stack, never a silent pass', () => {
  const oneWarning = async (input: Buffer | string, pattern: RegExp): Promise<void> => {
    const t = await text(input);
    assert.equal(t.lines.length, 1, t.lines.join('\n'));
    assert.match(t.lines[0]!, pattern);
    assert.deepEqual(t.results.map((r) => r.flag), ['warning']);
    assert.ok(!/\n\s+at /.test(t.run.stdout.toString()), 'no stack');
    const j = await json(input);
    assert.equal(j.result.status, 'warn');
    assert.equal(`kvm-lens: WARNING: ${j.result.summary}`, t.lines[0]);
  };

  it('a cover letter: nothing to check', T, async () => {
    await oneWarning(asB4Pipes(readFileSync(`${EXAMPLE_DIR}/0000-cover-letter.patch`, 'utf8'), '8bit', 'cover@example.org'), /^kvm-lens: WARNING: nothing to check: a cover letter$/);
  });

  it('a mail that is not a patch', T, async () => {
    await oneWarning('From: Bob <bob@example.org>\nSubject: Re: [RFC PATCH 2/3] KVM: SVM: Let DR7 writes through\nMessage-Id: <r1@example.org>\n\n> quoted\nI disagree.\n',
      /^kvm-lens: WARNING: nothing to check: a message without a diff$/);
  });

  it('a mail whose encoding header lies', T, async () => {
    // says 7bit, holds base64: read as it says, and the summary says what it looks like
    const held = asMailboxHolds(patch2, 'base64').toString('utf8').replace('Content-Transfer-Encoding: base64', 'Content-Transfer-Encoding: 7bit');
    await oneWarning(held, /^kvm-lens: WARNING: nothing to check: a message without a diff \(its body looks base64-encoded, but no Content-Transfer-Encoding header says so\)$/);
    // says quoted-printable, holds 8-bit text with "= ": read as the text it is, and checked
    const lying = asB4Pipes(patch2.replace('Signed-off-by: Ada', 'Acked-by: Zo\u00eb <zoe@example.org>\nSigned-off-by: Ada'), 'quoted-printable');
    assert.equal(asPipedByB4(lying).body, 'already-decoded');
    assert.deepEqual((await text(lying)).results.map((r) => r.flag), ['fail']);
  });

  it('empty input and binary garbage', T, async () => {
    await oneWarning('', /^kvm-lens: WARNING: empty input; b4 passed no message on stdin$/);
    await oneWarning(Buffer.from([0, 1, 2, 0xff, 0xfe, 0x62, 0, 0x69, 0]), /^kvm-lens: WARNING: nothing to check: a message without a diff \(.+\)$/);
  });

  it('a 50 MB mail: one line, at once, exit 0', { timeout: 120_000 }, async () => {
    const pad = 'A line of a commit message that goes on and on, as a pasted log does.\n';
    const mail = Buffer.from(patch2.replace('\n---\n', `\n${pad.repeat(Math.ceil(50 * 1024 * 1024 / pad.length))}---\n`));
    assert.ok(mail.length >= 50 * 1024 * 1024);
    for (const args of [['b4-check', '--text'], ['b4-check']]) {
      const r = await runCliChild(args, 60_000, { stdin: mail, stdout: 'capture', maxOldSpaceMb: 256 });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      const run = { code: r.code!, stdout: Buffer.from(r.stdout), stderr: Buffer.alloc(0) };
      if (args.includes('--text')) {
        assert.deepEqual(r.stdout.split('\n'), ['kvm-lens: WARNING: not checked: cannot read stdin: standard input is larger than the 8 MB limit (a patch mail is far smaller; raise the limit with --max-input-size)', '']);
        assert.deepEqual(b4TextResults(run).map((x) => x.flag), ['warning']);
      } else {
        const [result] = b4JsonResults(run);
        assert.equal(result!.status, 'warn');
        assert.match(result!.summary, /^not checked: cannot read stdin: standard input is larger than the 8 MB limit/);
      }
    }
  });

  it('an argument it does not know is said on stderr (b4 shows it as a failure), the check still runs', T, async () => {
    const r = await run(patch2, ['--no-tree', '--text', '--colour']);
    assert.equal(r.code, 0);
    assert.deepEqual(b4TextResults(r).map((x) => x.flag), ['fail', 'fail']);
    assert.match(r.stderr.toString(), /^kvm-lens b4-check: ignoring arguments --colour; the message is read from stdin\n$/);
  });
});
