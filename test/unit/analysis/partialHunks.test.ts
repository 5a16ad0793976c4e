// Patch-only mode never invents code: hunks written against a tree whose functions differ from
// the built-in model's (renamed locals, reordered lines, a guard refactored into a helper, a
// rewritten tail). Each series is made here with git from our own kernel-like C: the model's
// files with one function rewritten, then the patch. Where the model's text does not match a
// hunk's context or removed lines, the function is analysed from the hunk alone and every
// finding that rests on it says "partial:"; a guard the patch removes is never kept.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT, runJson, TEST_TIMEOUT_MS } from '../cli/cliHarness';
import type { JsonFinding, JsonReport } from '../../../extension/core/report/jsonReport';

const T = { timeout: TEST_TIMEOUT_MS };
const MODEL = join(ROOT, 'extension/core/model/builtin');
const FILES = { x86: 'arch/x86/kvm/x86.c', svm: 'arch/x86/kvm/svm/svm.c', sev: 'arch/x86/kvm/svm/sev.c' } as const;
type FileKey = keyof typeof FILES;

let work: string;
before(() => { work = mkdtempSync(join(tmpdir(), 'kvm-lens-partial-')); });
after(() => rmSync(work, { recursive: true, force: true }));

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z', GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z' } }).trim();
}

function modelText(key: FileKey): string {
  return readFileSync(join(MODEL, `${key}.c`), 'utf8');
}

/** `text` with `from` (which must be there once) replaced by `to`. */
function replaced(text: string, from: string, to: string): string {
  assert.equal(text.split(from).length, 2, `expected exactly one "${from.slice(0, 60)}"`);
  return text.replace(from, to);
}

/**
 * A one-patch series: the tree is the model with `tree` applied to one file (how that tree
 * differs from the model), and the patch changes `patchFrom` to `patchTo` in it.
 */
function seriesOf(name: string, key: FileKey, tree: [string, string], patch: [string, string]): string {
  const repo = join(work, name);
  mkdirSync(repo);
  git(repo, 'init', '-q', '-b', 'master');
  git(repo, 'config', 'user.name', 'A Reviewer');
  git(repo, 'config', 'user.email', 'reviewer@example.org');
  for (const k of Object.keys(FILES) as FileKey[]) {
    const p = join(repo, FILES[k]);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, k === key ? replaced(modelText(k), tree[0], tree[1]) : modelText(k));
  }
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'base');
  const p = join(repo, FILES[key]);
  writeFileSync(p, replaced(readFileSync(p, 'utf8'), patch[0], patch[1]));
  git(repo, 'commit', '-q', '-am', `KVM: SVM: ${name}`);
  const out = join(work, `${name}-series`);
  git(repo, 'format-patch', '-q', '-o', out, 'HEAD~1');
  return join(out, readdirSync(out)[0]!);
}

async function check(patchFile: string): Promise<JsonReport> {
  const r = await runJson(['check', '--no-cache', '--no-tree', patchFile]);
  assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}: ${r.err}`);
  return r.json;
}

const serious = (json: JsonReport): JsonFinding[] => json.findings.filter((f) => f.severity !== 'info');

/** Every error or warning the series brings says it rests on a function known only in part. */
function assertNoFalseCertainty(json: JsonReport, fn: string): void {
  const note = json.findings.find((f) => f.rule === 'analysis-incomplete' && f.message.startsWith(`partial: the model's ${fn}() does not match this hunk's context`));
  assert.ok(note, `a note says ${fn}() was analysed from the hunk alone; findings:\n${json.findings.map((f) => f.message).join('\n')}`);
  for (const f of serious(json).filter((x) => x.introducedBy !== null)) {
    assert.match(f.message, new RegExp(`\\(partial: the model's ${fn}\\(\\) does not match this hunk's context\\)$`), `${f.rule} in ${f.location.function} claims certainty`);
  }
}

const DR7_MODEL = '\tstruct vcpu_svm *svm = to_svm(vcpu);\n\n\tif (vcpu->arch.guest_state_protected)\n\t\treturn;\n\n\tsvm->vmcb->save.dr7 = value;';

function dr7Write(json: JsonReport): JsonFinding | undefined {
  return json.findings.find((f) => f.rule === 'vmsa-write-after-encryption' && f.location.function === 'svm_set_dr7');
}

describe('partial hunks that disagree with the model', () => {
  it('a guard removed under renamed locals and a different condition is gone, and the finding says it is partial', T, async () => {
    const tree = '\tstruct vcpu_svm *s = to_svm(vcpu);\n\n\tif (sev_es_guest(vcpu->kvm) && vcpu->arch.guest_state_protected)\n\t\treturn;\n\n\ts->vmcb->save.dr7 = value;';
    const file = seriesOf('renamed-locals', 'svm', [DR7_MODEL, tree], ['\tif (sev_es_guest(vcpu->kvm) && vcpu->arch.guest_state_protected)\n\t\treturn;\n\n', '']);
    const json = await check(file);
    const f = dr7Write(json);
    assert.ok(f, `the DR7 write the removed guard used to stop is found:\n${json.findings.map((x) => `${x.rule}: ${x.message}`).join('\n')}`);
    assertNoFalseCertainty(json, 'svm_set_dr7');
  });

  it('reordered statements: the hunk is not merged by matching lines out of order', T, async () => {
    const model = '\tfpstate_set_confidential(&vcpu->arch.guest_fpu);\n\tvcpu->arch.guest_state_protected = true;\n\treturn 0;';
    const tree = '\tvcpu->arch.guest_state_protected = true;\n\tfpstate_set_confidential(&vcpu->arch.guest_fpu);\n\treturn 0;';
    // the patch stops setting the flag: the encrypted vCPU is no longer believed protected
    const file = seriesOf('reordered', 'sev', [model, tree], [tree, '\tfpstate_set_confidential(&vcpu->arch.guest_fpu);\n\treturn 0;']);
    const json = await check(file);
    assertNoFalseCertainty(json, '__sev_launch_update_vmsa');
    assert.ok(json.findings.some((f) => f.rule === 'protection-flag-not-set'), `the flag the patch stops setting is missed:\n${json.findings.map((f) => `${f.rule}: ${f.message}`).join('\n')}`);
  });

  it('a guard refactored into a helper and then removed is not kept from the model', T, async () => {
    const tree = '\tstruct vcpu_svm *svm = to_svm(vcpu);\n\n\tif (!svm_dr7_writable(vcpu))\n\t\treturn;\n\n\tsvm->vmcb->save.dr7 = value;';
    const file = seriesOf('helper', 'svm', [DR7_MODEL, tree], ['\tif (!svm_dr7_writable(vcpu))\n\t\treturn;\n\n', '']);
    const json = await check(file);
    assert.ok(dr7Write(json), 'the model\'s guard does not stand in for the helper the patch removed');
    assertNoFalseCertainty(json, 'svm_set_dr7');
  });

  it('a rewritten tail keeps its firmware call: no init-refused warnings the series does not cause', T, async () => {
    const model = '\tret = sev_issue_cmd(kvm, SEV_CMD_LAUNCH_UPDATE_VMSA, &vmsa, error);\n\tif (ret)\n\t\treturn ret;\n\n\tfpstate_set_confidential(&vcpu->arch.guest_fpu);\n\tvcpu->arch.guest_state_protected = true;\n\treturn 0;\n}';
    const tree = '\tret = sev_issue_cmd(kvm, SEV_CMD_LAUNCH_UPDATE_VMSA, &vmsa, error);\n\tif (ret)\n\t\tgoto out;\n\n\tfpstate_set_confidential(&vcpu->arch.guest_fpu);\n\tvcpu->arch.guest_state_protected = true;\nout:\n\treturn ret;\n}';
    const file = seriesOf('tail', 'sev', [model, tree], [tree, model]);
    const json = await check(file);
    assert.deepEqual(serious(json).filter((f) => f.rule === 'init-refused-before-encryption').map((f) => f.message), []);
    assertNoFalseCertainty(json, '__sev_launch_update_vmsa');
  });

  it('a hunk whose context the model has is merged as before, with no partial note', T, async () => {
    const file = seriesOf('agrees', 'svm', [DR7_MODEL, DR7_MODEL], ['\tif (vcpu->arch.guest_state_protected)\n\t\treturn;\n\n\tsvm->vmcb->save.dr7', '\tsvm->vmcb->save.dr7']);
    const json = await check(file);
    const f = dr7Write(json);
    assert.ok(f);
    assert.doesNotMatch(f.message, /partial:/);
    assert.ok(!json.findings.some((x) => x.message.startsWith('partial:')));
  });
});
