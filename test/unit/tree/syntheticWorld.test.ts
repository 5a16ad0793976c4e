// The world derived from a tree's code, on a small tree of our own C: which operations exist is
// what the dispatchers say, and what cannot be followed (a dispatcher missing, an exit the table
// names but the code lacks, a handler that calls itself) is a note naming the function.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { analyzeTree } from '../../../extension/core/analysis/analyzeTree';
import { DEFAULT_OPTIONS } from '../../../extension/core/analysis/analyzeSeries';

const X86 = `
long kvm_arch_vcpu_ioctl(struct file *filp, unsigned int ioctl, unsigned long arg)
{
	struct kvm_vcpu *vcpu = filp->private_data;
	long r;

	switch (ioctl) {
	case KVM_RUN:
		r = vcpu_run(vcpu);
		break;
	case KVM_LOOP:
		r = kvm_arch_vcpu_ioctl(filp, ioctl, arg);
		break;
	default:
		r = -EINVAL;
	}
	return r;
}

static int vcpu_run(struct kvm_vcpu *vcpu)
{
	return svm_exit_handlers[to_svm(vcpu)->vmcb->control.exit_code](vcpu);
}

static int npf_interception(struct kvm_vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb->save.cpl == 0;
}

static int (*const svm_exit_handlers[])(struct kvm_vcpu *vcpu) = {
	[SVM_EXIT_NPF] = npf_interception,
	[SVM_EXIT_HLT] = halt_interception,
};
`;

const files: Record<string, string> = {
  'Makefile': '# a tree of our own for the tests\n',
  'Kconfig': '\n',
  'arch/x86/kvm/x86.c': X86,
  // the vCPU fd's entry point hands everything to the arch dispatcher; there is no VM fd dispatcher
  'virt/kvm/kvm_main.c': `
long kvm_vcpu_ioctl(struct file *filp, unsigned int ioctl, unsigned long arg)
{
	long r;

	switch (ioctl) {
	case KVM_GET_ONE:
		r = 0;
		break;
	default:
		r = kvm_arch_vcpu_ioctl(filp, ioctl, arg);
	}
	return r;
}
`,
};

/** The same with a VM fd dispatcher that creates vCPUs, so the vCPU ioctls run. */
const withVm: Record<string, string> = {
  ...files,
  'virt/kvm/kvm_main.c': files['virt/kvm/kvm_main.c'] + `
long kvm_vm_ioctl(struct file *filp, unsigned int ioctl, unsigned long arg)
{
	struct kvm *kvm = filp->private_data;
	long r;

	switch (ioctl) {
	case KVM_CREATE_VCPU:
		r = kvm_arch_vcpu_create(kvm);
		break;
	default:
		r = -ENOTTY;
	}
	return r;
}

int kvm_arch_vcpu_create(struct kvm *kvm)
{
	return kvm->created_vcpus ? 0 : 0;
}
`,
};

function makeTree(contents: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'kvm-lens-world-'));
  for (const [path, text] of Object.entries(contents)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('a tree of our own: the world its code defines', () => {
  const root = makeTree(files);
  const full = makeTree(withVm);
  after(() => { rmSync(root, { recursive: true, force: true }); rmSync(full, { recursive: true, force: true }); });

  it('operations are the case labels, counted per dispatcher, the default chain followed', async () => {
    const r = await analyzeTree(root, { patches: [], problems: [] }, DEFAULT_OPTIONS);
    assert.deepEqual(r.tree.operations, [
      { dispatcher: 'kvm_vcpu_ioctl', operations: 1 },
      { dispatcher: 'kvm_arch_vcpu_ioctl', operations: 2 },
    ]);
    assert.deepEqual(r.tree.modelFilled, []);
  });

  it('what cannot be followed is a note naming the function; the rest is still analysed', async () => {
    const missing = await analyzeTree(root, { patches: [], problems: [] }, DEFAULT_OPTIONS);
    const missingNotes = missing.findings.filter((f) => f.rule === 'analysis-incomplete').map((f) => f.message);
    assert.ok(missingNotes.some((m) => /kvm_vm_ioctl\(\) is not in the code/.test(m)), missingNotes.join('\n'));
    const r = await analyzeTree(full, { patches: [], problems: [] }, DEFAULT_OPTIONS);
    const notes = r.findings.filter((f) => f.rule === 'analysis-incomplete').map((f) => f.message);
    assert.ok(notes.some((m) => /kvm_arch_vcpu_ioctl\(\) calls itself again/.test(m)), notes.join('\n'));
    assert.ok(notes.some((m) => /svm_exit_handlers\[SVM_EXIT_HLT\] names halt_interception\(\), which the code does not define/.test(m)), notes.join('\n'));
    assert.ok(r.stats.statesExplored > 0);
    assert.deepEqual(r.findings.filter((f) => f.severity === 'error'), []);
  });

  it('a tree file cut in the middle of a function is a warning naming the file, the line and the function', async () => {
    const cut = makeTree({ ...withVm, 'arch/x86/kvm/x86.c': X86.slice(0, X86.indexOf('\treturn to_svm(vcpu)->vmcb->save.cpl')) });
    try {
      const r = await analyzeTree(cut, { patches: [], problems: [] }, DEFAULT_OPTIONS);
      const warned = r.problems.filter((p) => p.severity === 'warning' && /looks cut short/.test(p.message));
      assert.equal(warned.length, 1, JSON.stringify(r.problems));
      assert.equal(warned[0].file, 'arch/x86/kvm/x86.c');
      assert.match(warned[0].message, /in npf_interception\(\)/);
      assert.equal(warned[0].line, X86.slice(0, X86.indexOf('static int npf_interception')).split('\n').length + 1);
      const whole = await analyzeTree(full, { patches: [], problems: [] }, DEFAULT_OPTIONS);
      assert.deepEqual(whole.problems.filter((p) => /cut short/.test(p.message)), [], 'a whole file is not called cut');
    } finally {
      rmSync(cut, { recursive: true, force: true });
    }
  });
});
