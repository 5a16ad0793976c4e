/*
 * KVM Patch Lens built-in model: generic x86 vCPU ioctls (x86.c / regs.c).
 *
 * A behavioural model written for this project, not kernel source: each function keeps only
 * the guards, flag assignments, VMSA-backed accesses and calls that decide the SEV-ES
 * lifecycle, in the shape of today's mainline (Linux 7.x; README.md in this folder says which
 * upstream behaviour each handler models). Names of functions, fields and constants are the
 * kernel's so that a patch hunk merges into the right place.
 */

/*
 * The dispatchers: each `case` is an operation of the simulation, run as its dispatcher with
 * that case selected. GET cases copy what the handler filled back to userspace; SET cases copy
 * userspace's struct in first, so a write on their path is one userspace asked for.
 */
long kvm_vcpu_ioctl(struct file *filp, unsigned int ioctl, unsigned long arg)
{
	struct kvm_vcpu *vcpu = filp->private_data;
	void __user *argp = (void __user *)arg;
	long r;

	switch (ioctl) {
	case KVM_RUN:
		r = kvm_arch_vcpu_ioctl_run(vcpu);
		break;
	case KVM_GET_REGS:
		r = kvm_arch_vcpu_ioctl_get_regs(vcpu, kvm_regs);
		if (r)
			break;
		r = -EFAULT;
		if (copy_to_user(argp, kvm_regs, sizeof(struct kvm_regs)))
			break;
		r = 0;
		break;
	case KVM_SET_REGS:
		r = -EFAULT;
		if (copy_from_user(kvm_regs, argp, sizeof(struct kvm_regs)))
			break;
		r = kvm_arch_vcpu_ioctl_set_regs(vcpu, kvm_regs);
		break;
	case KVM_GET_SREGS:
		r = kvm_arch_vcpu_ioctl_get_sregs(vcpu, kvm_sregs);
		if (r)
			break;
		r = -EFAULT;
		if (copy_to_user(argp, kvm_sregs, sizeof(struct kvm_sregs)))
			break;
		r = 0;
		break;
	case KVM_SET_SREGS:
		r = -EFAULT;
		if (copy_from_user(kvm_sregs, argp, sizeof(struct kvm_sregs)))
			break;
		r = kvm_arch_vcpu_ioctl_set_sregs(vcpu, kvm_sregs);
		break;
	case KVM_GET_FPU:
		r = kvm_arch_vcpu_ioctl_get_fpu(vcpu, fpu);
		if (r)
			break;
		r = -EFAULT;
		if (copy_to_user(argp, fpu, sizeof(struct kvm_fpu)))
			break;
		r = 0;
		break;
	case KVM_SET_FPU:
		r = -EFAULT;
		if (copy_from_user(fpu, argp, sizeof(struct kvm_fpu)))
			break;
		r = kvm_arch_vcpu_ioctl_set_fpu(vcpu, fpu);
		break;
	case KVM_SET_GUEST_DEBUG:
		r = -EFAULT;
		if (copy_from_user(&dbg, argp, sizeof(dbg)))
			break;
		r = kvm_arch_vcpu_ioctl_set_guest_debug(vcpu, &dbg);
		break;
	default:
		r = kvm_arch_vcpu_ioctl(filp, ioctl, arg);
	}
	return r;
}

long kvm_arch_vcpu_ioctl(struct file *filp, unsigned int ioctl, unsigned long arg)
{
	struct kvm_vcpu *vcpu = filp->private_data;
	void __user *argp = (void __user *)arg;
	long r;

	switch (ioctl) {
	case KVM_GET_XCRS:
		r = kvm_vcpu_ioctl_x86_get_xcrs(vcpu, u.xcrs);
		if (r)
			break;
		r = -EFAULT;
		if (copy_to_user(argp, u.xcrs, sizeof(struct kvm_xcrs)))
			break;
		r = 0;
		break;
	case KVM_SET_XCRS:
		u.xcrs = memdup_user(argp, sizeof(*u.xcrs));
		r = kvm_vcpu_ioctl_x86_set_xcrs(vcpu, u.xcrs);
		break;
	case KVM_GET_XSAVE:
		r = kvm_vcpu_ioctl_x86_get_xsave(vcpu, u.xsave);
		if (r)
			break;
		r = -EFAULT;
		if (copy_to_user(argp, u.xsave, sizeof(struct kvm_xsave)))
			break;
		r = 0;
		break;
	case KVM_SET_XSAVE:
		u.xsave = memdup_user(argp, sizeof(*u.xsave));
		r = kvm_vcpu_ioctl_x86_set_xsave(vcpu, u.xsave);
		break;
	case KVM_GET_DEBUGREGS:
		r = kvm_vcpu_ioctl_x86_get_debugregs(vcpu, &dbgregs);
		if (r)
			break;
		r = -EFAULT;
		if (copy_to_user(argp, &dbgregs, sizeof(struct kvm_debugregs)))
			break;
		r = 0;
		break;
	case KVM_SET_DEBUGREGS:
		r = -EFAULT;
		if (copy_from_user(&dbgregs, argp, sizeof(struct kvm_debugregs)))
			break;
		r = kvm_vcpu_ioctl_x86_set_debugregs(vcpu, &dbgregs);
		break;
	case KVM_SET_MSRS:
		r = kvm_vcpu_ioctl_set_msrs(vcpu, argp);
		break;
	case KVM_SET_CPUID2:
		r = -EFAULT;
		if (copy_from_user(&cpuid, argp, sizeof(cpuid)))
			break;
		r = kvm_vcpu_ioctl_set_cpuid2(vcpu, &cpuid);
		break;
	default:
		r = -EINVAL;
	}
	return r;
}

long kvm_vm_ioctl(struct file *filp, unsigned int ioctl, unsigned long arg)
{
	struct kvm *kvm = filp->private_data;
	long r;

	switch (ioctl) {
	case KVM_CREATE_VCPU:
		r = kvm_vm_ioctl_create_vcpu(kvm, arg);
		break;
	default:
		r = kvm_arch_vm_ioctl(filp, ioctl, arg);
	}
	return r;
}

long kvm_arch_vm_ioctl(struct file *filp, unsigned int ioctl, unsigned long arg)
{
	struct kvm *kvm = filp->private_data;
	void __user *argp = (void __user *)arg;
	long r;

	switch (ioctl) {
	case KVM_MEMORY_ENCRYPT_OP:
		r = -ENOTTY;
		if (!kvm_x86_ops.mem_enc_ioctl)
			break;
		r = kvm_x86_call(mem_enc_ioctl)(kvm, argp);
		break;
	case KVM_CHECK_EXTENSION:
		r = 0;
		break;
	default:
		r = -ENOTTY;
	}
	return r;
}

/* VM creation: the type userspace passes decides whether the VM's state is protected. */
int kvm_arch_init_vm(struct kvm *kvm, unsigned long type)
{
	kvm->arch.vm_type = type;
	kvm->arch.has_protected_state = (type == KVM_X86_SEV_ES_VM || type == KVM_X86_SNP_VM);
	return 0;
}

static int kvm_vm_ioctl_create_vcpu(struct kvm *kvm, unsigned long id)
{
	struct kvm_vcpu *vcpu;
	int r;

	r = kvm_arch_vcpu_create(vcpu);
	if (r)
		return r;
	return 0;
}

int kvm_arch_vcpu_create(struct kvm_vcpu *vcpu)
{
	int r;

	r = kvm_x86_call(vcpu_create)(vcpu);
	if (r)
		return r;
	return 0;
}

int kvm_arch_vcpu_ioctl_get_regs(struct kvm_vcpu *vcpu, struct kvm_regs *regs)
{
	if (vcpu->kvm->arch.has_protected_state && vcpu->arch.guest_state_protected)
		return -EINVAL;

	__get_regs(vcpu, regs);
	return 0;
}

static void __get_regs(struct kvm_vcpu *vcpu, struct kvm_regs *regs)
{
	regs->rax = kvm_rax_read(vcpu);
	regs->rip = kvm_rip_read(vcpu);
	regs->rflags = kvm_get_rflags(vcpu);
}

int kvm_arch_vcpu_ioctl_set_regs(struct kvm_vcpu *vcpu, struct kvm_regs *regs)
{
	if (vcpu->kvm->arch.has_protected_state && vcpu->arch.guest_state_protected)
		return -EINVAL;

	__set_regs(vcpu, regs);
	return 0;
}

static void __set_regs(struct kvm_vcpu *vcpu, struct kvm_regs *regs)
{
	kvm_rax_write(vcpu, regs->rax);
	kvm_rip_write(vcpu, regs->rip);
	kvm_set_rflags(vcpu, regs->rflags | X86_EFLAGS_FIXED);
}

unsigned long kvm_get_rflags(struct kvm_vcpu *vcpu)
{
	return kvm_x86_call(get_rflags)(vcpu);
}

void kvm_set_rflags(struct kvm_vcpu *vcpu, unsigned long rflags)
{
	kvm_x86_call(set_rflags)(vcpu, rflags);
}

int kvm_arch_vcpu_ioctl_get_sregs(struct kvm_vcpu *vcpu, struct kvm_sregs *sregs)
{
	if (vcpu->kvm->arch.has_protected_state && vcpu->arch.guest_state_protected)
		return -EINVAL;

	__get_sregs(vcpu, sregs);
	return 0;
}

static void __get_sregs(struct kvm_vcpu *vcpu, struct kvm_sregs *sregs)
{
	if (vcpu->arch.guest_state_protected)
		goto skip_protected_regs;

	kvm_get_segment(vcpu, &sregs->cs, VCPU_SREG_CS);
	sregs->cr0 = kvm_read_cr0(vcpu);
	sregs->cr4 = kvm_read_cr4(vcpu);

skip_protected_regs:
	sregs->efer = vcpu->arch.efer;
	sregs->cr8 = kvm_get_cr8(vcpu);
}

void kvm_get_segment(struct kvm_vcpu *vcpu, struct kvm_segment *var, int seg)
{
	kvm_x86_call(get_segment)(vcpu, var, seg);
}

int kvm_arch_vcpu_ioctl_set_sregs(struct kvm_vcpu *vcpu, struct kvm_sregs *sregs)
{
	int ret;

	if (vcpu->kvm->arch.has_protected_state && vcpu->arch.guest_state_protected)
		return -EINVAL;

	ret = __set_sregs(vcpu, sregs);
	return ret;
}

static int __set_sregs(struct kvm_vcpu *vcpu, struct kvm_sregs *sregs)
{
	if (!kvm_is_valid_sregs(vcpu, sregs))
		return -EINVAL;

	/* legacy SEV-ES VMs: the write is silently dropped once state is protected */
	if (vcpu->arch.guest_state_protected)
		return 0;

	kvm_x86_call(set_efer)(vcpu, sregs->efer);
	kvm_x86_call(set_cr0)(vcpu, sregs->cr0);
	kvm_set_segment(vcpu, &sregs->cs, VCPU_SREG_CS);
	return 0;
}

void kvm_set_segment(struct kvm_vcpu *vcpu, struct kvm_segment *var, int seg)
{
	kvm_x86_call(set_segment)(vcpu, var, seg);
}

int kvm_arch_vcpu_ioctl_get_fpu(struct kvm_vcpu *vcpu, struct kvm_fpu *fpu)
{
	if (fpstate_is_confidential(&vcpu->arch.guest_fpu))
		return vcpu->kvm->arch.has_protected_state ? -EINVAL : 0;

	fpu_copy_guest_fpstate_to_uabi(&vcpu->arch.guest_fpu, fpu);
	return 0;
}

int kvm_arch_vcpu_ioctl_set_fpu(struct kvm_vcpu *vcpu, struct kvm_fpu *fpu)
{
	if (fpstate_is_confidential(&vcpu->arch.guest_fpu))
		return vcpu->kvm->arch.has_protected_state ? -EINVAL : 0;

	fpu_copy_uabi_to_guest_fpstate(&vcpu->arch.guest_fpu, fpu);
	return 0;
}

static int kvm_vcpu_ioctl_x86_get_xsave(struct kvm_vcpu *vcpu, struct kvm_xsave *guest_xsave)
{
	if (fpstate_is_confidential(&vcpu->arch.guest_fpu))
		return vcpu->kvm->arch.has_protected_state ? -EINVAL : 0;

	fpu_copy_guest_fpstate_to_uabi(&vcpu->arch.guest_fpu, guest_xsave);
	return 0;
}

static int kvm_vcpu_ioctl_x86_set_xsave(struct kvm_vcpu *vcpu, struct kvm_xsave *guest_xsave)
{
	if (fpstate_is_confidential(&vcpu->arch.guest_fpu))
		return vcpu->kvm->arch.has_protected_state ? -EINVAL : 0;

	return fpu_copy_uabi_to_guest_fpstate(&vcpu->arch.guest_fpu, guest_xsave);
}

static int kvm_vcpu_ioctl_x86_get_xcrs(struct kvm_vcpu *vcpu, struct kvm_xcrs *guest_xcrs)
{
	if (vcpu->kvm->arch.has_protected_state && vcpu->arch.guest_state_protected)
		return -EINVAL;

	guest_xcrs->xcrs[0].value = vcpu->arch.xcr0;
	return 0;
}

static int kvm_vcpu_ioctl_x86_set_xcrs(struct kvm_vcpu *vcpu, struct kvm_xcrs *guest_xcrs)
{
	if (vcpu->kvm->arch.has_protected_state && vcpu->arch.guest_state_protected)
		return -EINVAL;

	if (guest_xcrs->nr_xcrs > KVM_MAX_XCRS || guest_xcrs->flags)
		return -EINVAL;

	return __kvm_set_xcr(vcpu, XCR_XFEATURE_ENABLED_MASK, guest_xcrs->xcrs[0].value);
}

static int kvm_vcpu_ioctl_set_msrs(struct kvm_vcpu *vcpu, struct kvm_msrs __user *user_msrs)
{
	if (copy_from_user(&msrs, user_msrs, sizeof(msrs)))
		return -EFAULT;
	return kvm_set_msr(vcpu, index, data);
}

int kvm_set_msr(struct kvm_vcpu *vcpu, u32 index, u64 data)
{
	return kvm_x86_call(set_msr)(vcpu, &msr);
}

static int kvm_vcpu_ioctl_set_cpuid2(struct kvm_vcpu *vcpu, struct kvm_cpuid2 *cpuid)
{
	if (kvm_vcpu_has_run(vcpu))
		return -EINVAL;

	return kvm_set_cpuid(vcpu, e2, cpuid->nent);
}

static int kvm_vcpu_ioctl_x86_get_debugregs(struct kvm_vcpu *vcpu, struct kvm_debugregs *dbgregs)
{
	if (vcpu->kvm->arch.has_protected_state && vcpu->arch.guest_state_protected)
		return -EINVAL;

	dbgregs->dr6 = vcpu->arch.dr6;
	dbgregs->dr7 = vcpu->arch.dr7;
	return 0;
}

static int kvm_vcpu_ioctl_x86_set_debugregs(struct kvm_vcpu *vcpu, struct kvm_debugregs *dbgregs)
{
	if (vcpu->kvm->arch.has_protected_state && vcpu->arch.guest_state_protected)
		return -EINVAL;

	if (dbgregs->flags)
		return -EINVAL;

	vcpu->arch.dr6 = dbgregs->dr6;
	vcpu->arch.dr7 = dbgregs->dr7;
	kvm_update_dr7(vcpu);
	return 0;
}

void kvm_update_dr7(struct kvm_vcpu *vcpu)
{
	unsigned long dr7;

	if (vcpu->guest_debug & KVM_GUESTDBG_USE_HW_BP)
		dr7 = vcpu->arch.guest_debug_dr7;
	else
		dr7 = vcpu->arch.dr7;
	kvm_x86_call(set_dr7)(vcpu, dr7);
}

int kvm_arch_vcpu_ioctl_set_guest_debug(struct kvm_vcpu *vcpu, struct kvm_guest_debug *dbg)
{
	int r;

	if (vcpu->arch.guest_state_protected)
		return -EINVAL;

	if (dbg->control & (KVM_GUESTDBG_INJECT_DB | KVM_GUESTDBG_INJECT_BP)) {
		r = -EBUSY;
		if (kvm_is_exception_pending(vcpu))
			goto out;
	}

	vcpu->guest_debug = dbg->control;
	if (!(dbg->control & KVM_GUESTDBG_ENABLE))
		vcpu->guest_debug = 0;

	kvm_update_dr7(vcpu);
	kvm_x86_call(update_exception_bitmap)(vcpu);
	r = 0;
out:
	return r;
}

int kvm_arch_vcpu_ioctl_run(struct kvm_vcpu *vcpu)
{
	return vcpu_run(vcpu);
}

static int vcpu_run(struct kvm_vcpu *vcpu)
{
	return vcpu_enter_guest(vcpu);
}

static int vcpu_enter_guest(struct kvm_vcpu *vcpu)
{
	if (vcpu->arch.switch_db_regs)
		kvm_x86_call(set_dr6)(vcpu, vcpu->arch.dr6);

	kvm_x86_call(vcpu_run)(vcpu, run_flags);

	if (vcpu->arch.switch_db_regs & KVM_DEBUGREG_WONT_EXIT) {
		kvm_x86_call(sync_dirty_debug_regs)(vcpu);
		kvm_update_dr7(vcpu);
	}
	return 1;
}
