// A kernel-like git repository made at test time from the built-in model's C (our own), and a
// two-patch series made from it with `git format-patch --stdout --base`, as one mbox: patch 1
// only rewords a comment in x86.c, patch 2 drops svm_set_dr7()'s guest_state_protected guard
// (the write stays, as a context line of patch 2's hunk). The checkout is left with the series
// applied, as after `b4 shazam`. git runs with an argument list, never through a shell.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const DR7_GUARD = '\tif (vcpu->arch.guest_state_protected)\n\t\treturn;\n\n\tsvm->vmcb->save.dr7 = value;';
export const DR7_WRITE = '\tsvm->vmcb->save.dr7 = value;';

export interface KernelSeriesRepo {
  /** The checkout (the series applied). */
  repo: string;
  /** The commit the series is based on (full id). */
  base: string;
  /** The series as one mbox file. */
  mbox: string;
}

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd, encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z', GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
  }).trim();
}

/** Makes `work/linux` (the repository) and `work/series.mbox` from the model C in `modelDir`. */
export function makeKernelSeriesRepo(work: string, modelDir: string): KernelSeriesRepo {
  const repo = join(work, 'linux');
  const model = (name: string) => readFileSync(join(modelDir, name), 'utf8');
  const files: Record<string, string> = {
    'Makefile': '# a kernel-like tree for the tests\n',
    'arch/x86/kvm/x86.c': model('x86.c'),
    'arch/x86/kvm/svm/svm.c': model('svm.c'),
    'arch/x86/kvm/svm/sev.c': model('sev.c'),
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(repo, path)), { recursive: true });
    writeFileSync(join(repo, path), text);
  }
  git(repo, 'init', '-q', '-b', 'master');
  git(repo, 'config', 'user.name', 'A Reviewer');
  git(repo, 'config', 'user.email', 'reviewer@example.org');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'base');
  const base = git(repo, 'rev-parse', 'HEAD');
  const x86 = files['arch/x86/kvm/x86.c']!;
  if (!x86.includes('/* VM creation:')) throw new Error('the model no longer has the comment patch 1 rewords');
  writeFileSync(join(repo, 'arch/x86/kvm/x86.c'), x86.replace('/* VM creation:', '/* VM creation (KVM_CREATE_VM):'));
  git(repo, 'commit', '-q', '-am', 'KVM: x86: Say which ioctl creates the VM');
  const svm = files['arch/x86/kvm/svm/svm.c']!;
  if (!svm.includes(DR7_GUARD)) throw new Error('the model no longer has the DR7 guard patch 2 removes');
  writeFileSync(join(repo, 'arch/x86/kvm/svm/svm.c'), svm.replace(DR7_GUARD, DR7_WRITE));
  git(repo, 'commit', '-q', '-am', 'KVM: SVM: Let DR7 writes through for SEV-ES guests');
  const mbox = join(work, 'series.mbox');
  writeFileSync(mbox, git(repo, 'format-patch', '--stdout', `--base=${base}`, `${base}..HEAD`) + '\n');
  return { repo, base, mbox };
}
