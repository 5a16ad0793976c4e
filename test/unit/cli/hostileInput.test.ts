// Input chosen to hurt: devices and FIFOs where a patch should be, files over the size limit,
// terminal escape sequences in names and subjects, a kernel tree with a looping link or a FIFO
// for a source file. Each must end quickly, in bounded memory, with one line and the
// documented status; nothing from the input may reach the terminal raw.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PATCH_2, PATCH_3, TEST_TIMEOUT_MS, linesOf, runCli, runCliChild, withTempDir } from './cliHarness';

const T = { timeout: TEST_TIMEOUT_MS };
/** What "quickly" means for a refusal: the child's own start-up (tsx) is most of it. */
const QUICK_MS = 20_000;
/** A refused input is never read into memory: the whole process stays well under this. */
const HEAP_MB = 256;
const RSS_CAP_KB = 700 * 1024;

function mkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
}

/** No control character other than line feed and tab. */
const RAW_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

describe('devices and FIFOs as inputs', () => {
  it('check /dev/zero: refused in one line naming it, exit 2, quickly and in bounded memory', T, async () => {
    const r = await runCliChild(['check', '/dev/zero'], QUICK_MS, { maxOldSpaceMb: HEAP_MB });
    assert.equal(r.killed, false, 'still reading /dev/zero');
    assert.equal(r.signal, null);
    assert.equal(r.code, 2, r.stderr);
    assert.ok(linesOf(r.stderr).some((l) => l.startsWith('/dev/zero: error: ')), r.stderr);
    assert.ok(r.maxRssKb !== undefined && r.maxRssKb < RSS_CAP_KB, `peak RSS ${r.maxRssKb} kB`);
  });

  it('check of a FIFO nobody writes: refused, not waited on', T, async () => {
    await withTempDir('kvm-lens-fifo-', async (dir) => {
      const fifo = join(dir, '0001-waiting.patch');
      mkfifo(fifo);
      const r = await runCliChild(['check', fifo, PATCH_2], QUICK_MS);
      assert.equal(r.killed, false, 'blocked on the FIFO');
      assert.equal(r.code, 2, r.stderr);
      assert.ok(linesOf(r.stderr).some((l) => l.startsWith(`${fifo}: error: `)), r.stderr);
    });
  });

  it('a FIFO inside a series directory does not block the directory either', T, async () => {
    await withTempDir('kvm-lens-fifodir-', async (dir) => {
      copyFileSync(PATCH_2, join(dir, '0002-dr7.patch'));
      mkfifo(join(dir, '0003-waiting.patch'));
      const r = await runCliChild(['check', dir], QUICK_MS);
      assert.equal(r.killed, false, 'blocked on the FIFO');
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /0003-waiting\.patch: error: /);
    });
  });

  it('reply --annotations on a FIFO or /dev/zero: one line, exit 2, not waited on', T, async () => {
    await withTempDir('kvm-lens-fifoside-', async (dir) => {
      const fifo = join(dir, 'review.json');
      mkfifo(fifo);
      for (const sidecar of [fifo, '/dev/zero']) {
        const r = await runCliChild(['reply', PATCH_3, '--annotations', sidecar, '--out', join(dir, 'out')], QUICK_MS, { maxOldSpaceMb: HEAP_MB });
        assert.equal(r.killed, false, `blocked on ${sidecar}`);
        assert.equal(r.code, 2, r.stderr);
        assert.deepEqual(linesOf(r.stderr).filter((l) => l.startsWith('kvm-lens reply:')).length, 1, r.stderr);
        assert.match(r.stderr, new RegExp(`^kvm-lens reply: ${sidecar}: cannot read the review file: .*not a regular file`, 'm'));
      }
    });
  });
});

describe('size limits', () => {
  it('--max-input-size: a larger patch is refused naming the file and the limit, the rest still analysed', T, async () => {
    const [small, large] = [PATCH_2, PATCH_3].sort((a, b) => statSync(a).size - statSync(b).size) as [string, string];
    const limit = statSync(large).size - 1;
    assert.ok(statSync(small).size <= limit);
    const { code, out, err } = await runCli(['check', small, large, '--max-input-size', String(limit)]);
    assert.equal(code, 2, err);
    assert.ok(linesOf(err).some((l) => l.startsWith(`${large}: error: `) && /limit/.test(l)), err);
    assert.match(out, /; 1 patch, /);
    const fits = await runCli(['check', small, large, '--max-input-size', String(limit + 1)]);
    assert.ok(fits.code < 2, fits.err);
    assert.match(fits.out, /; 2 patches, /);
  });

  it('reply --annotations over --max-input-size: refused in one line', T, async () => {
    await withTempDir('kvm-lens-bigside-', async (dir) => {
      const sidecar = join(dir, 'review.json');
      writeFileSync(sidecar, `{"version": 1, "pad": "${'x'.repeat(4096)}"}`);
      const { code, err } = await runCli(['reply', PATCH_3, '--annotations', sidecar, '--out', join(dir, 'out'), '--max-input-size', '2k']);
      assert.equal(code, 2);
      assert.match(err, /^kvm-lens reply: .*review\.json: cannot read the review file: .*larger than the 2 kB limit/m);
    });
  });

  it('b4-check: stdin over --max-input-size is a warn entry saying so, exit 0, in bounded memory', T, async () => {
    // the DR7 patch with its commit message padded past the limit
    const mail = Buffer.from(readFileSync(PATCH_2, 'utf8').replace(/\n---\n/, `\n${'A longer commit message line.\n'.repeat(64)}---\n`));
    assert.ok(mail.length > 1024);
    const r = await runCliChild(['b4-check', '--max-input-size', '1k'], QUICK_MS, { stdin: mail, stdout: 'capture', maxOldSpaceMb: HEAP_MB });
    assert.equal(r.code, 0, r.stderr);
    const [entry] = JSON.parse(r.stdout) as { status: string; summary: string }[];
    assert.equal(entry!.status, 'warn');
    assert.match(entry!.summary, /larger than the 1 kB limit/);
  });
});

describe('bytes that are not what they claim', () => {
  it('b4-check on invalid UTF-8: the verdict is given and the summary says the text was read as Latin-1', T, async () => {
    // a Latin-1 "é" in the From: line of the clean patch
    const mail = Buffer.from(readFileSync(PATCH_3, 'utf8').replace(/^From: (.*)$/m, 'From: Ren\u00e9 $1'), 'latin1');
    const r = await runCliChild(['b4-check'], QUICK_MS, { stdin: mail, stdout: 'capture' });
    assert.equal(r.code, 0, r.stderr);
    const [entry] = JSON.parse(r.stdout) as { status: string; summary: string; details: string }[];
    assert.equal(entry!.status, 'warn', 'a clean patch read from a guess at its text is worth a look');
    assert.match(entry!.summary, /invalid UTF-8; this message was read as Latin-1/);
    assert.match(entry!.details, /WARNING: invalid UTF-8; this message was read as Latin-1 \(line \d+ of the mail\)/);
    assert.ok(!entry!.details.includes('\uFFFD'), 'no replacement characters');
  });
});

describe('terminal escape sequences in the input', () => {
  it('a file name and a subject carrying escapes: stderr and the text report show them escaped', T, async () => {
    await withTempDir('kvm-lens-esc-', async (dir) => {
      const named = join(dir, '0002-\x1b[2J\x1b]0;owned\x07.patch');
      copyFileSync(PATCH_2, named);
      const subject = join(dir, 'subject.patch');
      writeFileSync(subject, readFileSync(PATCH_3, 'utf8').replace(/^Subject: .*$/m, 'Subject: [RFC PATCH 3/3] \x1b[31mred\x1b[0m \x9b6n'));
      const missing = join(dir, 'gone-\x1b[1A.patch');
      const { code, out, err } = await runCli(['check', named, subject, missing]);
      assert.equal(code, 2, err);
      assert.ok(!RAW_CONTROL.test(err), `raw control characters on stderr: ${JSON.stringify(err)}`);
      assert.ok(!RAW_CONTROL.test(out), `raw control characters in the report: ${JSON.stringify(out)}`);
      assert.ok(err.includes('gone-\\x1b[1A.patch'), err);
      assert.ok(out.includes('0002-\\x1b[2J\\x1b]0;owned\\x07.patch:'), 'the finding names the file, escaped');
    });
  });
});

describe('kernel trees that cannot be read as they should', () => {
  /** The smallest tree the tree mode accepts: a tree top, x86.c and a dispatcher. */
  function smallTree(root: string): void {
    mkdirSync(join(root, 'arch/x86/kvm/svm'), { recursive: true });
    mkdirSync(join(root, 'virt/kvm'), { recursive: true });
    writeFileSync(join(root, 'Makefile'), '');
    writeFileSync(join(root, 'Kconfig'), '');
    writeFileSync(join(root, 'arch/x86/kvm/x86.c'), 'int kvm_arch_init_vm(struct kvm *kvm, unsigned long type)\n{\n\treturn 0;\n}\n');
    writeFileSync(join(root, 'virt/kvm/kvm_main.c'), 'long kvm_vcpu_ioctl(struct file *f, unsigned int ioctl, unsigned long arg)\n{\n\tswitch (ioctl) {\n\tcase KVM_RUN:\n\t\treturn 0;\n\t}\n\treturn 0;\n}\n');
  }

  it('arch/x86/kvm a symlink loop: one line naming it, exit 2', T, async () => {
    await withTempDir('kvm-lens-treeloop-', async (root) => {
      smallTree(root);
      execFileSync('rm', ['-r', join(root, 'arch/x86/kvm')]);
      symlinkSync('kvm', join(root, 'arch/x86/kvm'));
      const r = await runCliChild(['check', '--tree', root], QUICK_MS, { stdout: 'capture' });
      assert.equal(r.killed, false);
      assert.equal(r.code, 2, r.stderr);
      assert.deepEqual(linesOf(r.stderr), [`kvm-lens: --tree ${root}: symlink loop at arch/x86/kvm (-> kvm); not followed`]);
      assert.equal(r.stdout, '', 'no report for a tree without its x86 KVM sources');
    });
  });

  it('a FIFO where a source file should be: named in one line, not waited on, the rest audited, exit 2', T, async () => {
    await withTempDir('kvm-lens-treefifo-', async (root) => {
      smallTree(root);
      mkfifo(join(root, 'arch/x86/kvm/svm/sev.c'));
      const r = await runCliChild(['check', '--tree', root], QUICK_MS, { stdout: 'capture' });
      assert.equal(r.killed, false, 'blocked on the FIFO');
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^arch\/x86\/kvm\/svm\/sev\.c: error: cannot read arch\/x86\/kvm\/svm\/sev\.c: .*not a regular file$/m);
      assert.match(r.stdout, /^kernel tree .*: 2 files, /m);
    });
  });
});
