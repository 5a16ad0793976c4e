// The other half of precision: on real 6.12 code, a patch that removes one of the guards the
// review thread asked for must bring its finding back. Each patch is made at test time from
// the installed tree (git format-patch in a temp repo), so no kernel code enters this repository.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { analyzeTree, type TreeReport } from '../../../extension/core/analysis/analyzeTree';
import { DEFAULT_OPTIONS } from '../../../extension/core/analysis/analyzeSeries';
import { readSeries } from '../../../extension/core/series/seriesReader';
import { kernelTreeForVersion } from '../../../extension/core/tree/sourceTarball';

const SKIP = 'no kernel tree: install Debian\'s linux-source-6.12 (apt-get install linux-source-6.12) or set KVM_LENS_KERNEL_TREE';

/** Delete, inside function `fn` of `file`, the statement starting at the first line matching `line` (up to `count` lines, or its braces). */
interface Removal { file: string; fn: string; line: RegExp; count?: number }

function removeStatement(text: string, r: Removal): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => new RegExp(`^[a-z].*\\b${r.fn}\\(`).test(l) && !l.trimEnd().endsWith(';'));
  assert.ok(start >= 0, `${r.fn} not found in ${r.file}`);
  const at = lines.findIndex((l, i) => i > start && r.line.test(l));
  assert.ok(at > start, `${r.line} not found in ${r.fn}`);
  let count = r.count ?? 1;
  if (lines[at].trimEnd().endsWith('{')) {
    let depth = 0;
    for (let i = at; i < lines.length; i++) {
      depth += (lines[i].match(/\{/g) ?? []).length - (lines[i].match(/\}/g) ?? []).length;
      if (depth === 0) { count = i - at + 1; break; }
    }
  }
  lines.splice(at, count);
  return lines.join('\n');
}

const git = (cwd: string, ...args: string[]) => execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=t@example.org', ...args], { cwd, encoding: 'utf8' });

/** One format-patch file that makes the removals, against the installed tree. */
function makePatch(tree: string, out: string, subject: string, removals: Removal[]): string {
  const repo = mkdtempSync(join(tmpdir(), 'kvm-lens-mutation-'));
  try {
    for (const file of new Set(removals.map((r) => r.file))) {
      mkdirSync(dirname(join(repo, file)), { recursive: true });
      writeFileSync(join(repo, file), readFileSync(join(tree, file)));
    }
    git(repo, 'init', '-q');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'base');
    for (const r of removals) writeFileSync(join(repo, r.file), removeStatement(readFileSync(join(repo, r.file), 'utf8'), r));
    git(repo, 'commit', '-qam', subject);
    git(repo, 'format-patch', '-q', '-1', '-o', out);
    return join(out, readdirSync(out).find((f) => f.endsWith('.patch'))!);
  } finally {
    rmSync(repo, { recursive: true, force: true });
  }
}

describe('Linux 6.12 with one guard removed: the finding comes back', () => {
  let tree: string | undefined;
  const work = mkdtempSync(join(tmpdir(), 'kvm-lens-mutations-'));
  before(async () => { tree = await kernelTreeForVersion('6.12'); });
  after(() => rmSync(work, { recursive: true, force: true }));

  async function analyze(name: string, removals: Removal[]): Promise<TreeReport> {
    const dir = join(work, name);
    mkdirSync(dir);
    const patch = makePatch(tree!, dir, `KVM: test: ${name}`, removals);
    return analyzeTree(tree!, await readSeries([patch]), DEFAULT_OPTIONS);
  }

  const rules = (r: TreeReport) => r.findings.filter((f) => f.rule !== 'analysis-incomplete').map((f) => `${f.rule} ${f.location.function}`);

  it('LAUNCH_UPDATE_VMSA no longer sets guest_state_protected: protection-flag-not-set', async (t) => {
    if (!tree) return t.skip(SKIP);
    const r = await analyze('flag', [{ file: 'arch/x86/kvm/svm/sev.c', fn: '__sev_launch_update_vmsa', line: /guest_state_protected = true/ }]);
    t.diagnostic(rules(r).join('; '));
    const f = r.findings.find((x) => x.rule === 'protection-flag-not-set');
    assert.ok(f, rules(r).join('; '));
    assert.match(f.introducedBy ?? '', /0001-/);
    assert.deepEqual(r.problems.filter((p) => p.severity === 'error'), []);
  });

  it('svm_set_dr7 without its early return: DR7 written after encryption', async (t) => {
    if (!tree) return t.skip(SKIP);
    const r = await analyze('dr7', [{ file: 'arch/x86/kvm/svm/svm.c', fn: 'svm_set_dr7', line: /guest_state_protected/, count: 2 }]);
    t.diagnostic(rules(r).join('; '));
    assert.ok(r.findings.some((f) => f.rule === 'vmsa-write-after-encryption' && f.location.function === 'svm_set_dr7'), rules(r).join('; '));
  });

  it('KVM_SET_GUEST_DEBUG without its guest_state_protected check: debugging armed after encryption', async (t) => {
    if (!tree) return t.skip(SKIP);
    const r = await analyze('guest-debug', [{ file: 'arch/x86/kvm/x86.c', fn: 'kvm_arch_vcpu_ioctl_set_guest_debug', line: /guest_state_protected/, count: 2 }]);
    t.diagnostic(rules(r).join('; '));
    const f = r.findings.find((x) => x.rule === 'debug-after-encryption');
    assert.ok(f, rules(r).join('; '));
    assert.equal(f.trace[f.trace.length - 1].operation, 'KVM_SET_GUEST_DEBUG');
  });

  it('LAUNCH_UPDATE_VMSA and the VMSA sync without their guest_debug checks: debug armed at encryption', async (t) => {
    if (!tree) return t.skip(SKIP);
    const r = await analyze('launch-debug', [
      { file: 'arch/x86/kvm/svm/sev.c', fn: '__sev_launch_update_vmsa', line: /if \(vcpu->guest_debug\)/ },
      { file: 'arch/x86/kvm/svm/sev.c', fn: 'sev_es_sync_vmsa', line: /guest_debug/, count: 2 },
    ]);
    t.diagnostic(rules(r).join('; '));
    const f = r.findings.find((x) => x.rule === 'debug-armed-at-encryption');
    assert.ok(f, rules(r).join('; '));
    const ops = f.trace.map((s) => s.operation);
    assert.ok(ops.indexOf('KVM_SET_GUEST_DEBUG') < ops.indexOf('KVM_SEV_LAUNCH_UPDATE_VMSA'), ops.join(' > '));
  });
});
