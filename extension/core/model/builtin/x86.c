/*
 * KVM Patch Lens built-in model: generic x86 vCPU ioctls (x86.c / regs.c).
 *
 * A behavioural model written for this project, not kernel source: each function keeps only
 * the guards, flag assignments, VMSA-backed accesses and calls that decide the SEV-ES
 * lifecycle, as upstream behaves around Linux 6.12. Names of functions, fields and constants
 * are the kernel's so that a patch hunk merges into the right place.
 */

/*
 * The vCPU ioctl dispatcher. The simulation runs the handlers below as operations directly;
 * this function is here so that a patch adding a `case KVM_...:` finds its place.
 */
long kvm_arch_vcpu_ioctl(struct file *filp, unsigned int ioctl, unsigned long arg)
{
	struct kvm_vcpu *vcpu = filp->private_data;
	long r;

	switch (ioctl) {
	case KVM_GET_XCRS:
		r = kvm_vcpu_ioctl_x86_get_xcrs(vcpu, u.xcrs);
		break;
	case KVM_SET_XCRS:
		r = kvm_vcpu_ioctl_x86_set_xcrs(vcpu, u.xcrs);
		break;
	case KVM_SET_DEBUGREGS:
		r = kvm_vcpu_ioctl_x86_set_debugregs(vcpu, &dbgregs);
		break;
	default:
		r = -EINVAL;
	}
	return r;
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
