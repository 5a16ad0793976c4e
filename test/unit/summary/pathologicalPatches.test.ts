// Whole-CLI runs of generated patches with pathological C in svm_set_dr7(): the process must end
// by itself, within a time and a heap limit, with a documented exit status (0, 1 or 2) and no
// stack trace. Each patch is written to a temporary directory, never committed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';

const REPO = resolve(__dirname, '../../..');
const TIME_LIMIT_MS = 90_000;
const HEAP_MB = 512;

/** A format-patch mail adding `added` lines to svm_set_dr7() of the built-in model's svm.c. */
function patchAdding(title: string, added: string[]): string {
  const before = ['{', '\tstruct vcpu_svm *svm = to_svm(vcpu);', ''];
  const rest = ['\tif (vcpu->arch.guest_state_protected)', '\t\treturn;', '', '\tsvm->vmcb->save.dr7 = value;', '}'];
  const oldCount = before.length + rest.length;
  return [
    'From 4572407c0b23421badbbcea9159302304cf41333 Mon Sep 17 00:00:00 2001',
    'From: Test Author <author@example.org>',
    'Date: Mon, 2 Nov 2026 10:00:00 +0000',
    `Subject: [PATCH] KVM: SVM: ${title}`,
    '',
    '---',
    ` arch/x86/kvm/svm/svm.c | ${added.length} +`,
    '',
    'diff --git a/arch/x86/kvm/svm/svm.c b/arch/x86/kvm/svm/svm.c',
    'index 7b0cc4b..09458fd 100644',
    '--- a/arch/x86/kvm/svm/svm.c',
    '+++ b/arch/x86/kvm/svm/svm.c',
    `@@ -88,${oldCount} +88,${oldCount + added.length} @@ static void svm_set_dr7(struct kvm_vcpu *vcpu, unsigned long value)`,
    ...before.map((l) => ` ${l}`),
    ...added.map((l) => `+${l}`),
    ...rest.map((l) => ` ${l}`),
    '-- ',
    '2.39.5',
    '',
  ].join('\n');
}

interface Run { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number; timedOut: boolean }

/** `kvm-lens check <file>` in a child with a heap cap, killed if it runs past the time limit. */
function runCheck(file: string): Promise<Run> {
  const script = "require('./extension/cli/main.ts').main(process.argv.slice(1)).then((c) => { process.exitCode = c; })";
  return new Promise((done) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [`--max-old-space-size=${HEAP_MB}`, '--import', 'tsx', '-e', script, 'check', file, '--no-cache'], { cwd: REPO });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, TIME_LIMIT_MS);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      done({ status, signal, stdout, stderr, ms: performance.now() - t0, timedOut });
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'kvm-lens-pathological-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const FLAG = 'vcpu->arch.guest_state_protected';
const elseIfs = ['\tif (value == 0)', '\t\treturn;'];
for (let i = 1; i < 2_000; i++) elseIfs.push(`\telse if (value == ${i})`, '\t\treturn;');

const CASES: { title: string; added: string[] }[] = [
  { title: '5,000 nested braces', added: [`\t${'{'.repeat(5_000)} svm->vmcb->save.dr7 = 0; ${'}'.repeat(5_000)}`] },
  { title: '5,000 negations', added: [`\tif (${'!'.repeat(5_000)}${FLAG})`, '\t\treturn;'] },
  { title: 'a 2,000-branch else-if chain', added: elseIfs },
  { title: 'a sum of 10,000 terms', added: [`\tvalue = ${Array(10_000).fill('value').join(' + ')};`] },
];

describe('pathological C through the whole CLI', () => {
  for (const c of CASES) {
    it(`${c.title}: ends in time with a documented exit status and no stack trace`, async () => {
      const file = join(dir, `${c.title.replace(/\W+/g, '-')}.patch`);
      writeFileSync(file, patchAdding(c.title, c.added));
      const run = await runCheck(file);
      assert.equal(run.timedOut, false, `still running after ${TIME_LIMIT_MS} ms`);
      assert.equal(run.signal, null);
      assert.ok(run.status === 0 || run.status === 1 || run.status === 2, `exit status ${run.status}; stderr: ${run.stderr.slice(0, 500)}`);
      assert.doesNotMatch(run.stderr, /\n\s+at .+:\d+:\d+\)?\n/, 'no stack trace');
      assert.doesNotMatch(run.stderr + run.stdout, /RangeError|Maximum call stack|heap out of memory/);
      assert.match(run.stdout, /1 patch/, 'the report was written');
    });
  }
});
