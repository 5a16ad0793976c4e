/*
 * KVM Patch Lens built-in model: SVM vendor code (svm/svm.c).
 *
 * A behavioural model written for this project, not kernel source (see x86.c in this folder).
 */

static int svm_vcpu_create(struct kvm_vcpu *vcpu)
{
	int err;

	err = sev_vcpu_create(vcpu);
	if (err)
		return err;
	return 0;
}

static unsigned long svm_get_rflags(struct kvm_vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb->save.rflags;
}

static void svm_set_rflags(struct kvm_vcpu *vcpu, unsigned long rflags)
{
	if (vcpu->arch.guest_state_protected)
		return;

	to_svm(vcpu)->vmcb->save.rflags = rflags;
}

static int svm_get_cpl(struct kvm_vcpu *vcpu)
{
	struct vmcb_save_area *save = &to_svm(vcpu)->vmcb->save;

	return save->cpl;
}

static void svm_get_segment(struct kvm_vcpu *vcpu, struct kvm_segment *var, int seg)
{
	struct vcpu_svm *svm = to_svm(vcpu);

	var->selector = svm->vmcb->save.cs.selector;
}

static void svm_set_segment(struct kvm_vcpu *vcpu, struct kvm_segment *var, int seg)
{
	struct vcpu_svm *svm = to_svm(vcpu);

	if (vcpu->arch.guest_state_protected)
		return;

	svm->vmcb->save.cs.selector = var->selector;
	svm->vmcb->save.cpl = var->dpl;
}

void svm_set_efer(struct kvm_vcpu *vcpu, u64 efer)
{
	struct vcpu_svm *svm = to_svm(vcpu);

	vcpu->arch.efer = efer;
	if (vcpu->arch.guest_state_protected)
		return;

	svm->vmcb->save.efer = efer | EFER_SVME;
}

void svm_set_cr0(struct kvm_vcpu *vcpu, unsigned long cr0)
{
	struct vcpu_svm *svm = to_svm(vcpu);

	vcpu->arch.cr0 = cr0;
	if (vcpu->arch.guest_state_protected)
		return;

	svm->vmcb->save.cr0 = cr0;
}

static void svm_set_dr6(struct kvm_vcpu *vcpu, unsigned long value)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;

	if (vcpu->arch.guest_state_protected)
		return;

	vmcb->save.dr6 = value;
}

static void svm_set_dr7(struct kvm_vcpu *vcpu, unsigned long value)
{
	struct vcpu_svm *svm = to_svm(vcpu);

	if (vcpu->arch.guest_state_protected)
		return;

	svm->vmcb->save.dr7 = value;
}

static void svm_sync_dirty_debug_regs(struct kvm_vcpu *vcpu)
{
	struct vcpu_svm *svm = to_svm(vcpu);

	if (WARN_ON_ONCE(sev_es_guest(vcpu->kvm)))
		return;

	vcpu->arch.dr6 = svm->vmcb->save.dr6;
	vcpu->arch.dr7 = svm->vmcb->save.dr7;
	set_dr_intercepts(svm);
}

static void svm_update_exception_bitmap(struct kvm_vcpu *vcpu)
{
	struct vcpu_svm *svm = to_svm(vcpu);

	clr_exception_intercept(svm, BP_VECTOR);
	if (vcpu->guest_debug & KVM_GUESTDBG_ENABLE) {
		if (vcpu->guest_debug & KVM_GUESTDBG_USE_SW_BP)
			set_exception_intercept(svm, BP_VECTOR);
	}
}

/*
 * MSRs the VMSA holds cannot be reached once it is encrypted. Upstream also lets through a
 * write the guest's MSR intercepts route to KVM; the MSRs this model writes (STAR, DEBUGCTL)
 * live in the VMSA, so that test is left out here.
 */
static bool sev_es_prevent_msr_access(struct kvm_vcpu *vcpu, struct msr_data *msr_info)
{
	return sev_es_guest(vcpu->kvm) && vcpu->arch.guest_state_protected &&
	       msr_info->index != MSR_IA32_XSS;
}

static int svm_set_msr(struct kvm_vcpu *vcpu, struct msr_data *msr)
{
	struct vcpu_svm *svm = to_svm(vcpu);

	if (sev_es_prevent_msr_access(vcpu, msr))
		return vcpu->kvm->arch.has_protected_state ? -EINVAL : 0;

	switch (msr->index) {
	case MSR_STAR:
		svm->vmcb01.ptr->save.star = msr->data;
		break;
	case MSR_IA32_DEBUGCTLMSR:
		svm->vmcb->save.dbgctl = msr->data;
		break;
	}
	return 0;
}

static fastpath_t svm_vcpu_run(struct kvm_vcpu *vcpu, u64 run_flags)
{
	if (sev_es_guest(vcpu->kvm) && !vcpu->arch.guest_state_protected)
		return EXIT_FASTPATH_EXIT_USERSPACE;

	return EXIT_FASTPATH_NONE;
}

static struct kvm_x86_ops svm_x86_ops = {
	.vcpu_create = svm_vcpu_create,
	.get_rflags = svm_get_rflags,
	.set_rflags = svm_set_rflags,
	.get_cpl = svm_get_cpl,
	.get_segment = svm_get_segment,
	.set_segment = svm_set_segment,
	.set_efer = svm_set_efer,
	.set_cr0 = svm_set_cr0,
	.set_dr6 = svm_set_dr6,
	.set_dr7 = svm_set_dr7,
	.sync_dirty_debug_regs = svm_sync_dirty_debug_regs,
	.update_exception_bitmap = svm_update_exception_bitmap,
	.set_msr = svm_set_msr,
	.vcpu_run = svm_vcpu_run,
	.mem_enc_ioctl = sev_mem_enc_ioctl,
};
