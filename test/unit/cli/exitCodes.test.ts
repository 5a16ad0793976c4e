// The exit status a CI job sees: 0 no error finding, 1 an error finding, 2 unusable input,
// usage or output, 3 kvm-lens itself failed. An internal failure is provoked the way it would
// happen for real: something the run calls throws (here the io's out(), in process).

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { main, type CliIo } from '../../../extension/cli/main';
import { BAD, EXAMPLE_DIR, PATCH_2, PATCH_3, TEST_TIMEOUT_MS, linesOf, runCli, withTempDir } from './cliHarness';

const T = { timeout: TEST_TIMEOUT_MS };

/** main with an out() that throws `error` on its first call; what reached stderr. */
async function runWithFailingOut(argv: string[], error: Error): Promise<{ code: number; err: string }> {
  let err = '';
  const stdin = async (): Promise<string> => readFileSync(PATCH_3, 'utf8');
  const io: CliIo = { out: () => { throw error; }, err: (t) => { err += t; }, isTty: false, stdin };
  const code = await main(argv, io);
  return { code, err };
}

function errnoError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${message}, write`), { code, errno: -1, syscall: 'write' });
}

const STACK_LINE = /^\s+at .+[:(]/m;

/** stderr lines of kvm-lens's own (the reader's problem lines begin with the file name). */
const ownLines = (err: string): string[] => linesOf(err).filter((l) => l.startsWith('kvm-lens'));

describe('exit status 3: kvm-lens itself failed', () => {
  it('an exception inside the run is one line naming the input and asking for a report, no stack', T, async () => {
    const { code, err } = await runWithFailingOut(['check', PATCH_3], new TypeError('cannot read properties of undefined'));
    assert.equal(code, 3);
    const lines = ownLines(err);
    assert.equal(lines.length, 1, err);
    assert.match(lines[0]!, /^kvm-lens: internal error while checking .*0003-KVM-SVM-Refuse-LAUNCH_UPDATE_VMSA.*: TypeError: cannot read properties of undefined; .*please report it/);
    assert.match(lines[0]!, /--debug shows the stack/);
    assert.doesNotMatch(err, STACK_LINE);
  });

  it('--debug adds the stack after the same line', T, async () => {
    const { code, err } = await runWithFailingOut(['check', PATCH_3, '--debug'], new TypeError('boom'));
    assert.equal(code, 3);
    assert.match(ownLines(err)[0]!, /^kvm-lens: internal error while checking .*: TypeError: boom; this is a bug in kvm-lens, please report it with this input$/);
    assert.match(err, STACK_LINE);
  });

  it('reply and b4-check fail the same way: one line, exit 3', T, async () => {
    const b4 = await runWithFailingOut(['b4-check'], new RangeError('Maximum call stack size exceeded'));
    assert.equal(b4.code, 3);
    assert.equal(ownLines(b4.err).length, 1, b4.err);
    assert.match(b4.err, /^kvm-lens: internal error while checking the message on standard input: RangeError: Maximum call stack size exceeded; /);
    const reply = await runWithFailingOut(['reply', '--help'], new Error('odd'));
    assert.equal(reply.code, 3);
    assert.match(reply.err, /^kvm-lens: internal error while composing replies: Error: odd; /);
  });

  it('a failure message quoting input shows its control characters escaped', T, async () => {
    const { err } = await runWithFailingOut(['check', PATCH_3], new Error('bad name \x1b[2J\x07'));
    assert.ok(!/[\x00-\x08\x0b-\x1f\x7f]/.test(err), JSON.stringify(err));
    assert.match(err, /bad name \\x1b\[2J\\x07/);
  });
});

describe('output that cannot be written', () => {
  it('EPIPE (the reader went away): the output stops, nothing is said, the verdict decides the status', T, async () => {
    const { code, err } = await runWithFailingOut(['check', EXAMPLE_DIR], errnoError('EPIPE', 'broken pipe'));
    assert.equal(code, 1, err);
    assert.equal(err, '');
  });

  it('ENOSPC (a full disk): one line saying the output is incomplete, exit 2', T, async () => {
    const { code, err } = await runWithFailingOut(['check', PATCH_3], errnoError('ENOSPC', 'no space left on device'));
    assert.equal(code, 2);
    assert.deepEqual(ownLines(err), ['kvm-lens: cannot write to standard output: no space left on device; the output is incomplete']);
  });

  it('out() is not called again after a write error', T, async () => {
    let calls = 0;
    const io: CliIo = { out: () => { calls++; throw errnoError('EIO', 'i/o error'); }, err: () => {}, isTty: false };
    assert.equal(await main(['reply', '--help'], io), 2);
    assert.equal(calls, 1);
  });
});

describe('exit status 2: some input unusable, or nothing to analyse', () => {
  it('every bad-input fixture: an "error:" line on stderr makes the status at least 2, and only then', T, async () => {
    for (const name of readdirSync(BAD)) {
      const file = join(BAD, name);
      const { code, err } = await runCli(['check', file]);
      const printedError = linesOf(err).some((l) => /: error: /.test(l));
      if (printedError) assert.ok(code >= 2, `${name}: exit ${code} although stderr says error:\n${err}`);
      else assert.ok(code <= 1, `${name}: exit ${code} without an error line:\n${err}`);
    }
  });

  it('a readable series next to an error still gets its report, with exit 2', T, async () => {
    const missing = join(tmpdir(), `kvm-lens-missing-${process.pid}.patch`);
    const { code, out, err } = await runCli(['check', PATCH_2, missing]);
    assert.ok(linesOf(err).some((l) => l.startsWith(`${missing}: error: `)), err);
    assert.match(out, /0002-KVM-SVM-Let-DR7.*: error: .*\[vmsa-write-after-encryption\]/);
    assert.equal(code, 2);
  });

  it('inputs without a single hunk: exit 2 and one line saying there is nothing to analyse', T, async () => {
    await withTempDir('kvm-lens-nothing-', async (dir) => {
      const cases: Record<string, string | Buffer> = {
        'empty.patch': '',
        'blank.patch': '\n\n   \n',
        'nul.patch': Buffer.alloc(512),
        'chat.eml': 'From: Bob <bob@example.org>\nSubject: Re: [PATCH 1/2] KVM: x\n\nI disagree.\n',
        'header-only.patch': 'From: A <a@example.org>\nSubject: [PATCH] KVM: SVM: cut\n\n---\ndiff --git a/arch/x86/kvm/svm/svm.c b/arch/x86/kvm/svm/svm.c\nindex 1111111..2222222 100644\n--- a/arch/x86/kvm/svm/svm.c\n',
      };
      for (const [name, body] of Object.entries(cases)) {
        const file = join(dir, name);
        writeFileSync(file, body);
        const { code, err } = await runCli(['check', file]);
        assert.equal(code, 2, `${name}:\n${err}`);
        const reason = linesOf(err).filter((l) => /^kvm-lens: nothing to analyse: /.test(l));
        assert.equal(reason.length, 1, `${name}:\n${err}`);
        assert.ok(reason[0]!.includes(file), reason[0]);
      }
    });
  });

  it('/dev/null as the only input: exit 2, not a clean "no diff"', T, async () => {
    const { code, err } = await runCli(['check', '/dev/null']);
    assert.equal(code, 2, err);
    assert.ok(err.includes('/dev/null'), err);
  });

  it('the example alone still exits 1, and its clean last patch 0', T, async () => {
    assert.equal((await runCli(['check', EXAMPLE_DIR])).code, 1);
    assert.equal((await runCli(['check', PATCH_3])).code, 0);
  });
});

describe('the analysis budget from the command line', () => {
  it('--budget-work 1: the run ends with what it found, says the budget cut it, and the status follows the findings', T, async () => {
    const { code, out, err } = await runCli(['check', EXAMPLE_DIR, '--budget-work', '1']);
    assert.match(out, /analysis budget/, 'the report says the budget cut the analysis');
    const errors = /^(\d+) errors?, /m.exec(out);
    assert.ok(errors, out);
    assert.equal(code, Number(errors[1]) > 0 ? 1 : 0, err);
  });

  it('a bad budget value is a usage error: one line, exit 2, nothing analysed', T, async () => {
    for (const argv of [['--budget-work', '0'], ['--budget-time', 'soon'], ['--max-input-size', '12X']]) {
      const { code, out, err } = await runCli(['check', EXAMPLE_DIR, ...argv]);
      assert.equal(code, 2, argv.join(' '));
      assert.equal(out, '');
      assert.equal(linesOf(err).length, 1, err);
    }
  });
});
