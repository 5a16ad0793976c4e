// Generates the benchmark's 35-patch series with real `git format-patch`, the same way
// test/fixtures/generate-series.mjs builds the fixtures: the built-in model's C is the base
// tree, each patch is a commit of exact-text edits. Everything lands in os.tmpdir().
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
export const MODEL_DIR = join(ROOT, 'extension/core/model/builtin');

/** Model C files and where they sit in the kernel tree (as in generate-series.mjs). */
const MODEL_FILES = { x86: 'arch/x86/kvm/x86.c', svm: 'arch/x86/kvm/svm/svm.c', sev: 'arch/x86/kvm/svm/sev.c' } as const;
/** Non-C files, so some patches carry text the analysis must skip. */
const OTHER_FILES = {
  doc: 'Documentation/virt/kvm/x86/amd-memory-encryption.rst',
  kconfig: 'arch/x86/kvm/Kconfig',
} as const;
type FileKey = keyof typeof MODEL_FILES | keyof typeof OTHER_FILES;
const ALL_FILES: Record<FileKey, string> = { ...MODEL_FILES, ...OTHER_FILES };

const BASE_DOC = [
  '======================================',
  'Secure Encrypted Virtualization (SEV)',
  '======================================',
  '',
  'KVM_SEV_LAUNCH_UPDATE_VMSA',
  '--------------------------',
  '',
  'The KVM_SEV_LAUNCH_UPDATE_VMSA command encrypts the VMSA of every vCPU.',
  '',
  'Returns: 0 on success, -negative on error',
  '',
].join('\n');

const BASE_KCONFIG = [
  'config KVM_AMD_SEV',
  '\tbool "AMD Secure Encrypted Virtualization (SEV) support"',
  '\tdefault y',
  '\tdepends on KVM_AMD && X86_64',
  '',
].join('\n');

/** [file, old text, new text]; the old text must occur exactly once when the edit runs. */
type Edit = [FileKey, string, string];
interface PatchSpec {
  subject: string;
  body: string;
  edits: Edit[];
}

const GSP_GUARD = '\tif (vcpu->arch.guest_state_protected)\n\t\treturn -EINVAL;\n\n';

/**
 * 35 patches in the spirit of a real SEV-ES clean-up series: comments, helpers, guards added
 * and dropped in the handlers the model has, local renames, an ops-table rewire, docs and
 * Kconfig touches. Order matters: later edits see earlier ones.
 */
export const BENCH_PATCHES: PatchSpec[] = [
  {
    subject: 'KVM: x86: Document why KVM_SET_GUEST_DEBUG refuses protected guests',
    body: 'Add a comment above kvm_arch_vcpu_ioctl_set_guest_debug().',
    edits: [['x86', 'int kvm_arch_vcpu_ioctl_set_guest_debug(', '/*\n * Debug state lives in the VMSA; once it is encrypted KVM can neither read\n * nor write it, so guest debugging is refused from then on.\n */\nint kvm_arch_vcpu_ioctl_set_guest_debug(']],
  },
  {
    subject: 'KVM: SVM: Add svm_dr_writes_allowed() helper',
    body: 'One place to decide whether DR6/DR7 may be written to the VMCB.',
    edits: [['svm', 'static void svm_set_dr6(', 'static bool svm_dr_writes_allowed(struct kvm_vcpu *vcpu)\n{\n\treturn !vcpu->arch.guest_state_protected;\n}\n\nstatic void svm_set_dr6(']],
  },
  {
    subject: 'KVM: SVM: Use svm_dr_writes_allowed() in svm_set_dr7()',
    body: 'No functional change intended.',
    edits: [['svm', '\tif (vcpu->arch.guest_state_protected)\n\t\treturn;\n\n\tsvm->vmcb->save.dr7 = value;', '\tif (!svm_dr_writes_allowed(vcpu))\n\t\treturn;\n\n\tsvm->vmcb->save.dr7 = value;']],
  },
  {
    subject: 'Documentation: KVM: Describe the guest debug restriction for SEV-ES',
    body: 'Say what LAUNCH_UPDATE_VMSA does when guest debug is enabled.',
    edits: [['doc', 'Returns: 0 on success, -negative on error\n', 'The command fails with -EINVAL if guest debugging is enabled on any vCPU.\n\nReturns: 0 on success, -negative on error\n']],
  },
  {
    subject: 'KVM: SVM: Rename ret to rc in sev_launch_start()',
    body: 'Match the naming used elsewhere in sev.c.',
    edits: [['sev', '\tint ret;\n\n\tret = sev_issue_cmd(kvm, SEV_CMD_LAUNCH_START, &start, &argp->error);\n\tif (ret)\n\t\treturn ret;', '\tint rc;\n\n\trc = sev_issue_cmd(kvm, SEV_CMD_LAUNCH_START, &start, &argp->error);\n\tif (rc)\n\t\treturn rc;']],
  },
  {
    subject: 'KVM: x86: Refuse KVM_SET_MSRS for protected vCPU state',
    body: 'MSRs of an SEV-ES guest live in the encrypted VMSA.',
    edits: [['x86', '{\n\tif (copy_from_user(&msrs, user_msrs, sizeof(msrs)))', '{\n' + GSP_GUARD + '\tif (copy_from_user(&msrs, user_msrs, sizeof(msrs)))']],
  },
  {
    subject: 'KVM: SVM: Implement get_dr6 for the VMCB',
    body: 'Add svm_get_dr6() and wire it into svm_x86_ops.',
    edits: [
      ['svm', 'static void svm_set_dr6(', 'static unsigned long svm_get_dr6(struct kvm_vcpu *vcpu)\n{\n\treturn to_svm(vcpu)->vmcb->save.dr6;\n}\n\nstatic void svm_set_dr6('],
      ['svm', '\t.set_dr6 = svm_set_dr6,\n', '\t.get_dr6 = svm_get_dr6,\n\t.set_dr6 = svm_set_dr6,\n'],
    ],
  },
  {
    subject: 'KVM: SVM: Drop the guest_debug check from __sev_launch_update_vmsa()',
    body: 'sev_es_sync_vmsa() checks guest_debug as well.',
    edits: [['sev', '\tif (vcpu->guest_debug)\n\t\treturn -EINVAL;\n\n\tret = sev_es_sync_vmsa(svm);', '\tret = sev_es_sync_vmsa(svm);']],
  },
  {
    subject: 'KVM: x86: Latch the hardware breakpoint DR7 in KVM_SET_GUEST_DEBUG',
    body: 'Keep guest_debug_dr7 in sync with what userspace asked for.',
    edits: [['x86', '\t\tvcpu->guest_debug = 0;\n\n\tkvm_update_dr7(vcpu);', '\t\tvcpu->guest_debug = 0;\n\n\tif (vcpu->guest_debug & KVM_GUESTDBG_USE_HW_BP)\n\t\tvcpu->arch.guest_debug_dr7 = dbg->arch.debugreg[7];\n\n\tkvm_update_dr7(vcpu);']],
  },
  {
    subject: 'KVM: x86: Rename ret to err in kvm_arch_vcpu_ioctl_set_sregs()',
    body: 'Cosmetic.',
    edits: [['x86', '\tint ret;\n\n\tif (vcpu->kvm->arch.has_protected_state && vcpu->arch.guest_state_protected)\n\t\treturn -EINVAL;\n\n\tret = __set_sregs(vcpu, sregs);\n\treturn ret;', '\tint err;\n\n\tif (vcpu->kvm->arch.has_protected_state && vcpu->arch.guest_state_protected)\n\t\treturn -EINVAL;\n\n\terr = __set_sregs(vcpu, sregs);\n\treturn err;']],
  },
  {
    subject: 'KVM: SVM: Use svm_dr_writes_allowed() in svm_set_dr6()',
    body: 'And say so in the documentation.',
    edits: [
      ['svm', '\tif (vcpu->arch.guest_state_protected)\n\t\treturn;\n\n\tvmcb->save.dr6 = value;', '\tif (!svm_dr_writes_allowed(vcpu))\n\t\treturn;\n\n\tvmcb->save.dr6 = value;'],
      ['doc', 'Returns: 0 on success, -negative on error\n', 'Writes to DR6 and DR7 are dropped once the VMSA is encrypted.\n\nReturns: 0 on success, -negative on error\n'],
    ],
  },
  {
    subject: 'KVM: SVM: Comment the guest_debug check in sev_es_sync_vmsa()',
    body: 'Explain why the check is there.',
    edits: [['sev', '\tif (svm->vcpu.guest_debug)\n', '\t/* DR7 and friends would be frozen into the encrypted VMSA */\n\tif (svm->vcpu.guest_debug)\n']],
  },
  {
    subject: 'KVM: x86: Let legacy SEV-ES VMs reach __set_sregs()',
    body: '__set_sregs() already drops the write for protected state.',
    edits: [['x86', '\tint err;\n\n\tif (vcpu->kvm->arch.has_protected_state && vcpu->arch.guest_state_protected)\n\t\treturn -EINVAL;\n\n\terr = __set_sregs', '\tint err;\n\n\terr = __set_sregs']],
  },
  {
    subject: 'KVM: x86: Refuse KVM_SET_SREGS once guest state is protected',
    body: 'Partially reverts the previous patch: userspace should get an error.',
    edits: [['x86', '\tint err;\n\n\terr = __set_sregs', '\tint err;\n\n' + GSP_GUARD + '\terr = __set_sregs']],
  },
  {
    subject: 'KVM: SVM: Cache EFER in svm_set_efer()',
    body: 'Nested code wants the last EFER written by userspace.',
    edits: [['svm', '\tvcpu->arch.efer = efer;\n', '\tvcpu->arch.efer = efer;\n\tsvm->nested.last_efer = efer;\n']],
  },
  {
    subject: 'KVM: SVM: Add sev_vcpu_debug_allowed() helper',
    body: 'SEV-ES guests cannot be debugged by the host.',
    edits: [['sev', 'static int sev_launch_start(', 'static bool sev_vcpu_debug_allowed(struct kvm_vcpu *vcpu)\n{\n\treturn !sev_es_guest(vcpu->kvm);\n}\n\nstatic int sev_launch_start(']],
  },
  {
    subject: 'KVM: SVM: Refuse LAUNCH_UPDATE_VMSA for vCPUs being debugged',
    body: 'Restore the check dropped earlier, via the new helper.',
    edits: [['sev', '\tint ret;\n\n\tret = sev_es_sync_vmsa(svm);', '\tint ret;\n\n\tif (vcpu->guest_debug && !sev_vcpu_debug_allowed(vcpu))\n\t\treturn -EINVAL;\n\n\tret = sev_es_sync_vmsa(svm);']],
  },
  {
    subject: 'KVM: x86: Zero the debugregs buffer in KVM_GET_DEBUGREGS',
    body: 'Do not leak stack contents in the padding.',
    edits: [['x86', '\tdbgregs->dr6 = vcpu->arch.dr6;\n', '\tmemset(dbgregs, 0, sizeof(*dbgregs));\n\tdbgregs->dr6 = vcpu->arch.dr6;\n']],
  },
  {
    subject: 'KVM: SVM: Make SEV-ES depend on CPU_SUP_AMD',
    body: 'Kconfig only.',
    edits: [['kconfig', '\tdepends on KVM_AMD && X86_64\n', '\tdepends on KVM_AMD && X86_64\n\tdepends on CPU_SUP_AMD\n']],
  },
  {
    subject: 'KVM: SVM: Skip exception intercepts for protected guests',
    body: 'The intercept bitmap is irrelevant once the guest owns its state.',
    edits: [['svm', '\tstruct vcpu_svm *svm = to_svm(vcpu);\n\n\tclr_exception_intercept(svm, BP_VECTOR);', '\tstruct vcpu_svm *svm = to_svm(vcpu);\n\n\tif (vcpu->arch.guest_state_protected)\n\t\treturn;\n\n\tclr_exception_intercept(svm, BP_VECTOR);']],
  },
  {
    subject: 'KVM: x86: Do not update DR7 for protected vCPU state',
    body: 'kvm_update_dr7() would only reach a setter that drops the write.',
    edits: [['x86', '\tunsigned long dr7;\n\n\tif (vcpu->guest_debug & KVM_GUESTDBG_USE_HW_BP)', '\tunsigned long dr7;\n\n\tif (vcpu->arch.guest_state_protected)\n\t\treturn;\n\n\tif (vcpu->guest_debug & KVM_GUESTDBG_USE_HW_BP)']],
  },
  {
    subject: 'KVM: SVM: Refuse LAUNCH_UPDATE_VMSA while guest debug is enabled',
    body: 'Check every vCPU before encrypting any VMSA.',
    edits: [['sev', '\tkvm_for_each_vcpu(i, vcpu, kvm) {\n\t\tret = __sev_launch_update_vmsa', '\tkvm_for_each_vcpu(i, vcpu, kvm) {\n\t\tif (vcpu->guest_debug)\n\t\t\treturn -EINVAL;\n\n\t\tret = __sev_launch_update_vmsa']],
  },
  {
    subject: 'KVM: SVM: Check guest_state_protected in svm_sync_dirty_debug_regs()',
    body: 'Replace the WARN with a plain check; the WARN fired on legacy VMs.',
    edits: [['svm', '\tif (WARN_ON_ONCE(sev_es_guest(vcpu->kvm)))\n\t\treturn;', '\tif (vcpu->arch.guest_state_protected)\n\t\treturn;']],
  },
  {
    subject: 'KVM: x86: Clear the DR reload request after entering the guest',
    body: 'Avoid reloading DR6 on every entry.',
    edits: [['x86', '\tkvm_x86_call(vcpu_run)(vcpu, run_flags);\n', '\tkvm_x86_call(vcpu_run)(vcpu, run_flags);\n\n\t/* the guest may have changed DR6; reload only when asked again */\n\tvcpu->arch.switch_db_regs &= ~KVM_DEBUGREG_RELOAD;\n']],
  },
  {
    subject: 'KVM: SVM: Route set_dr7 through a checked wrapper',
    body: 'svm_set_dr7_checked() warns on writes after LAUNCH_UPDATE_VMSA.',
    edits: [
      ['svm', 'static void svm_sync_dirty_debug_regs(', 'static void svm_set_dr7_checked(struct kvm_vcpu *vcpu, unsigned long value)\n{\n\tWARN_ON_ONCE(vcpu->arch.guest_state_protected);\n\tsvm_set_dr7(vcpu, value);\n}\n\nstatic void svm_sync_dirty_debug_regs('],
      ['svm', '\t.set_dr7 = svm_set_dr7,\n', '\t.set_dr7 = svm_set_dr7_checked,\n'],
    ],
  },
  {
    subject: 'Documentation: KVM: Mention SEV-ES in the SEV document title',
    body: 'Docs only.',
    edits: [['doc', 'Secure Encrypted Virtualization (SEV)\n', 'Secure Encrypted Virtualization (SEV, SEV-ES)\n']],
  },
  {
    subject: 'KVM: SVM: Comment the vCPU check in __sev_guest_init()',
    body: 'SEV must be enabled before the first vCPU exists.',
    edits: [['sev', '\tif (kvm->created_vcpus)\n', '\t/* vCPUs created before SEV init would lack a VMSA page */\n\tif (kvm->created_vcpus)\n']],
  },
  {
    subject: 'KVM: x86: Rename r to ret in kvm_arch_vcpu_ioctl_set_guest_debug()',
    body: 'Cosmetic.',
    edits: [
      ['x86', '\tint r;\n\n\tif (vcpu->arch.guest_state_protected)\n\t\treturn -EINVAL;\n\n\tif (dbg->control', '\tint ret;\n\n\tif (vcpu->arch.guest_state_protected)\n\t\treturn -EINVAL;\n\n\tif (dbg->control'],
      ['x86', '\t\tr = -EBUSY;\n', '\t\tret = -EBUSY;\n'],
      ['x86', '\tr = 0;\nout:\n\treturn r;', '\tret = 0;\nout:\n\treturn ret;'],
    ],
  },
  {
    subject: 'KVM: SVM: Rename rflags to flags in svm_set_rflags()',
    body: 'Cosmetic.',
    edits: [['svm', 'static void svm_set_rflags(struct kvm_vcpu *vcpu, unsigned long rflags)\n{\n\tif (vcpu->arch.guest_state_protected)\n\t\treturn;\n\n\tto_svm(vcpu)->vmcb->save.rflags = rflags;', 'static void svm_set_rflags(struct kvm_vcpu *vcpu, unsigned long flags)\n{\n\tif (vcpu->arch.guest_state_protected)\n\t\treturn;\n\n\tto_svm(vcpu)->vmcb->save.rflags = flags;']],
  },
  {
    subject: 'KVM: x86: Add kvm_vcpu_state_protected() helper',
    body: 'Name the guest_state_protected test.',
    edits: [['x86', 'int kvm_arch_vcpu_ioctl_get_regs(', 'static bool kvm_vcpu_state_protected(struct kvm_vcpu *vcpu)\n{\n\treturn vcpu->arch.guest_state_protected;\n}\n\nint kvm_arch_vcpu_ioctl_get_regs(']],
  },
  {
    subject: 'KVM: x86: Use kvm_vcpu_state_protected() for KVM_SET_DEBUGREGS',
    body: 'Also refuse on legacy SEV-ES VMs.',
    edits: [['x86', 'struct kvm_debugregs *dbgregs)\n{\n\tif (vcpu->kvm->arch.has_protected_state && vcpu->arch.guest_state_protected)\n\t\treturn -EINVAL;\n\n\tif (dbgregs->flags)', 'struct kvm_debugregs *dbgregs)\n{\n\tif (kvm_vcpu_state_protected(vcpu))\n\t\treturn -EINVAL;\n\n\tif (dbgregs->flags)']],
  },
  {
    subject: 'KVM: SVM: Clear the guest-VMSA flag at vCPU creation',
    body: 'Start every SEV-ES vCPU without a guest-provided VMSA.',
    edits: [['sev', '\treturn sev_es_alloc_vmsa_page(vcpu);', '\tto_svm(vcpu)->sev_es.snp_has_guest_vmsa = false;\n\treturn sev_es_alloc_vmsa_page(vcpu);']],
  },
  {
    subject: 'KVM: SVM: Accept writes to MSR_IA32_LASTBRANCHFROMIP',
    body: 'Ignore them instead of failing.',
    edits: [['svm', '\t\tsvm->vmcb->save.dbgctl = msr->data;\n\t\tbreak;\n', '\t\tsvm->vmcb->save.dbgctl = msr->data;\n\t\tbreak;\n\tcase MSR_IA32_LASTBRANCHFROMIP:\n\t\tbreak;\n']],
  },
  {
    subject: 'KVM: x86/SVM: Comment FPU and vcpu_run handling of protected guests',
    body: 'Touches x86.c, svm.c and the documentation.',
    edits: [
      ['x86', 'int kvm_arch_vcpu_ioctl_get_fpu(struct kvm_vcpu *vcpu, struct kvm_fpu *fpu)\n{\n', 'int kvm_arch_vcpu_ioctl_get_fpu(struct kvm_vcpu *vcpu, struct kvm_fpu *fpu)\n{\n\t/* the FPU image of a protected guest is in the encrypted VMSA */\n'],
      ['svm', '\tif (sev_es_guest(vcpu->kvm) && !vcpu->arch.guest_state_protected)\n\t\treturn EXIT_FASTPATH_EXIT_USERSPACE;', '\t/* an SEV-ES vCPU cannot run before LAUNCH_UPDATE_VMSA */\n\tif (sev_es_guest(vcpu->kvm) && !vcpu->arch.guest_state_protected)\n\t\treturn EXIT_FASTPATH_EXIT_USERSPACE;'],
      ['doc', 'Returns: 0 on success, -negative on error\n', 'KVM_GET_FPU and KVM_SET_FPU fail once the VMSA is encrypted.\n\nReturns: 0 on success, -negative on error\n'],
    ],
  },
  {
    subject: 'KVM: x86: Use kvm_vcpu_state_protected() in KVM_SET_GUEST_DEBUG',
    body: 'Last user of the open-coded test in this function.',
    edits: [['x86', '\tint ret;\n\n\tif (vcpu->arch.guest_state_protected)\n\t\treturn -EINVAL;\n\n\tif (dbg->control', '\tint ret;\n\n\tif (kvm_vcpu_state_protected(vcpu))\n\t\treturn -EINVAL;\n\n\tif (dbg->control']],
  },
];

export interface GeneratedSeries {
  /** Temp directory holding everything below; remove it when done. */
  root: string;
  /** Directory with 0000-cover-letter.patch and 0001..0035-*.patch. */
  patchDir: string;
  /** The same mails concatenated into one mbox. */
  mbox: string;
  patchFiles: string[];
  bytes: number;
  /** The C files after the last patch (the series' post-image), as text. */
  finalC: string[];
}

const AUTHOR = ['-c', 'user.name=Ada Reviewer', '-c', 'user.email=ada@example.org'];

function git(cwd: string, ...args: string[]): string {
  // Fixed dates make the generated text (and so the benchmark input) reproducible.
  return execFileSync('git', [...AUTHOR, ...args], {
    cwd, encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_DATE: '2026-11-02T10:00:00Z', GIT_COMMITTER_DATE: '2026-11-02T10:00:00Z' },
  });
}

export function generateSeries(patches: PatchSpec[] = BENCH_PATCHES): GeneratedSeries {
  const root = mkdtempSync(join(tmpdir(), 'kvm-lens-bench-'));
  const work = join(root, 'repo');
  for (const [key, path] of Object.entries(MODEL_FILES)) {
    mkdirSync(dirname(join(work, path)), { recursive: true });
    cpSync(join(MODEL_DIR, `${key}.c`), join(work, path));
  }
  mkdirSync(dirname(join(work, OTHER_FILES.doc)), { recursive: true });
  writeFileSync(join(work, OTHER_FILES.doc), BASE_DOC);
  writeFileSync(join(work, OTHER_FILES.kconfig), BASE_KCONFIG);
  git(work, 'init', '-q');
  git(work, 'add', '-A');
  git(work, 'commit', '-qm', 'base: built-in model of the upstream handlers');

  patches.forEach((p, n) => {
    for (const [key, from, to] of p.edits) {
      const file = join(work, ALL_FILES[key]);
      const text = readFileSync(file, 'utf8');
      const count = text.split(from).length - 1;
      // A stale edit would silently shrink the series; fail loudly instead.
      if (count !== 1) throw new Error(`bench patch ${n + 1}: "${from.slice(0, 50)}..." occurs ${count} times in ${ALL_FILES[key]}`);
      writeFileSync(file, text.replace(from, () => to));
    }
    git(work, 'commit', '-qam', `${p.subject}\n\n${p.body}\n\nSigned-off-by: Ada Reviewer <ada@example.org>`);
  });

  const patchDir = join(root, 'patches');
  git(work, 'format-patch', '-q', '--cover-letter', '-o', patchDir, `HEAD~${patches.length}`);
  const patchFiles = readdirSync(patchDir).filter((f) => f.endsWith('.patch')).sort().map((f) => join(patchDir, f));
  const cover = patchFiles[0]!;
  writeFileSync(cover, readFileSync(cover, 'utf8')
    .replace('*** SUBJECT HERE ***', 'KVM: SVM: SEV-ES debug register and guest debug clean-ups')
    .replace('*** BLURB HERE ***', 'Benchmark series generated by scripts/bench.ts; the C is a behavioural model, not kernel code.'));

  // format-patch mails start with "From <sha> ..." lines, so concatenation is a valid mbox.
  // It goes in its own directory: readSeries on patchDir would otherwise pick it up too.
  const mboxDir = join(root, 'mbox');
  mkdirSync(mboxDir);
  const mbox = join(mboxDir, 'series.mbox');
  const texts = patchFiles.map((f) => readFileSync(f, 'utf8'));
  writeFileSync(mbox, texts.join('\n'));
  const finalC = Object.values(MODEL_FILES).map((f) => readFileSync(join(work, f), 'utf8'));
  return { root, patchDir, mbox, patchFiles, bytes: texts.reduce((n, t) => n + Buffer.byteLength(t), 0), finalC };
}
