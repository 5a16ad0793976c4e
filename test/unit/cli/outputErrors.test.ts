// Output that goes nowhere, in a real child process (the streams' errors arrive as events
// there, which no in-process io reproduces): a reader that closed the pipe ends the output
// quietly with the verdict's status; a full device is one line and exit 2. Never a stack.

import assert from 'node:assert/strict';
import { closeSync, existsSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readSeries } from '../../../extension/core/series/seriesReader';
import { EXAMPLE_DIR, PATCH_3, TEST_TIMEOUT_MS, linesOf, runCli, runCliChild, withTempDir } from './cliHarness';

const T = { timeout: TEST_TIMEOUT_MS };
const BOUND_MS = TEST_TIMEOUT_MS - 10_000;
const HAS_DEV_FULL = existsSync('/dev/full');

/** Nothing on stderr looks like a crash. */
function assertNoCrash(stderr: string): void {
  assert.doesNotMatch(stderr, /^\s+at .+[:(]/m, `a stack trace:\n${stderr}`);
  assert.doesNotMatch(stderr, /Unhandled 'error' event|node:events|node:internal/, stderr);
}

async function withDevFull<R>(fn: (fd: number) => Promise<R>): Promise<R> {
  const fd = openSync('/dev/full', 'w');
  try { return await fn(fd); } finally { closeSync(fd); }
}

describe('a closed pipe on stdout (`kvm-lens check ... | head -c0`)', () => {
  for (const format of ['text', 'json', 'sarif']) {
    it(`${format}: exit 1 (the example's verdict), no stack, no word about the pipe`, T, async () => {
      const r = await runCliChild(['check', EXAMPLE_DIR, '--format', format], BOUND_MS, { stdout: 'closed' });
      assert.equal(r.killed, false);
      assert.equal(r.signal, null, `died by ${r.signal}`);
      assertNoCrash(r.stderr);
      assert.equal(r.code, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /EPIPE|broken pipe/i);
    });
  }

  it('a clean series: exit 0', T, async () => {
    const r = await runCliChild(['check', PATCH_3], BOUND_MS, { stdout: 'closed' });
    assertNoCrash(r.stderr);
    assert.equal(r.code, 0, r.stderr);
  });

  it('--help and b4-check too', T, async () => {
    const help = await runCliChild(['--help'], BOUND_MS, { stdout: 'closed' });
    assertNoCrash(help.stderr);
    assert.equal(help.code, 0, help.stderr);
    const b4 = await runCliChild(['b4-check'], BOUND_MS, { stdout: 'closed', stdin: 'not a patch\n' });
    assertNoCrash(b4.stderr);
    assert.equal(b4.code, 0, b4.stderr);
  });
});

describe('a full device on stdout (`> /dev/full`)', { skip: !HAS_DEV_FULL && 'no /dev/full' }, () => {
  it('check: one line saying the output was lost, exit 2', T, async () => {
    const r = await withDevFull((fd) => runCliChild(['check', EXAMPLE_DIR], BOUND_MS, { stdout: fd }));
    assertNoCrash(r.stderr);
    assert.equal(r.code, 2, r.stderr);
    const own = linesOf(r.stderr).filter((l) => l.startsWith('kvm-lens'));
    assert.deepEqual(own, ['kvm-lens: cannot write to standard output: no space left on device; the output is incomplete']);
  });

  it('b4-check and --version: the same line, exit 2', T, async () => {
    for (const argv of [['b4-check'], ['--version']]) {
      const r = await withDevFull((fd) => runCliChild(argv, BOUND_MS, { stdout: fd, stdin: 'not a patch\n' }));
      assertNoCrash(r.stderr);
      assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^kvm-lens: cannot write to standard output: no space left on device/m);
    }
  });

  it('-o /dev/full: one line naming the file, exit 2', T, async () => {
    const r = await runCliChild(['check', PATCH_3, '--format', 'json', '-o', '/dev/full'], BOUND_MS);
    assertNoCrash(r.stderr);
    assert.equal(r.code, 2, r.stderr);
    assert.deepEqual(linesOf(r.stderr).filter((l) => l.startsWith('kvm-lens')), ['kvm-lens: /dev/full: cannot write the report (no space left on device)']);
  });
});

describe('reply --out where nothing can be made', () => {
  it('a directory under /proc: refused in one line, exit 2, within seconds (Node\'s recursive mkdir loops there)', T, async () => {
    await withTempDir('kvm-lens-proc-', async (dir) => {
      const review = join(dir, 'review.json');
      writeFileSync(review, JSON.stringify(await reviewFor(PATCH_3)));
      for (const out of ['/proc/kvm-lens-test/replies', '/proc/self/kvm-lens-replies']) {
        const r = await runCliChild(['reply', PATCH_3, '--annotations', review, '--out', out, '--date', '2026-11-05T12:00:00Z'], 20_000);
        assert.equal(r.killed, false, `still running after 20 s for --out ${out}`);
        assertNoCrash(r.stderr);
        assert.equal(r.code, 2, r.stderr);
        const own = linesOf(r.stderr).filter((l) => l.startsWith('kvm-lens reply: --out'));
        assert.equal(own.length, 1, r.stderr);
        assert.match(own[0]!, new RegExp(`^kvm-lens reply: --out ${out}: cannot create the directory \\(`));
      }
    });
  });
});

describe('reply --out --force', () => {
  it('replaces a reply file but never writes through a symbolic link planted where the reply goes', T, async () => {
    await withTempDir('kvm-lens-force-', async (dir) => {
      const review = join(dir, 'review.json');
      writeFileSync(review, JSON.stringify(await reviewFor(PATCH_3)));
      const out = join(dir, 'out');
      const argv = ['reply', PATCH_3, '--annotations', review, '--out', out, '--date', '2026-11-05T12:00:00Z'];
      const first = await runCli(argv);
      assert.equal(first.code, 0, first.err);
      const written = linesOf(first.out)[0]!;
      const victim = join(dir, 'victim.txt');
      writeFileSync(victim, 'keep me\n');
      rmSync(written);
      symlinkSync(victim, written);
      const forced = await runCli([...argv, '--force']);
      assert.equal(forced.code, 2, forced.err);
      assert.match(forced.err, /cannot write/);
      assert.equal(readFileSync(victim, 'utf8'), 'keep me\n', 'the link target is untouched');
    });
  });

  it('--to "a@x, b@y" is two recipients', T, async () => {
    await withTempDir('kvm-lens-to-', async (dir) => {
      const review = join(dir, 'review.json');
      writeFileSync(review, JSON.stringify(await reviewFor(PATCH_3)));
      const r = await runCli(['reply', PATCH_3, '--annotations', review, '--out', join(dir, 'out'), '--to', 'a@example.org, B <b@example.org>']);
      assert.equal(r.code, 0, r.err);
      const mail = readFileSync(linesOf(r.out)[0]!, 'utf8');
      const to = /^To: (.*(?:\n[ \t].*)*)/m.exec(mail)?.[1] ?? '';
      assert.match(to, /a@example\.org/);
      assert.match(to, /b@example\.org/);
      assert.doesNotMatch(r.err, /address|mailbox/, r.err);
    });
  });
});

/** A sidecar with one Reviewed-by for the patch: enough for one reply to be composed. */
async function reviewFor(patchFile: string): Promise<unknown> {
  const title = (await readSeries([patchFile])).patches[0]!.title;
  return {
    version: 1,
    series: { title: 'x' },
    reviewer: { name: 'Rita Reviewer', email: 'rita@example.org' },
    annotations: [],
    trailers: [{ key: 'Reviewed-by', patch: { title } }],
    orphans: [],
  };
}
