/*
 * KVM Patch Lens built-in model: SEV and SEV-ES commands (svm/sev.c).
 *
 * A behavioural model written for this project, not kernel source (see x86.c in this folder).
 * Firmware commands go through sev_issue_cmd(kvm, SEV_CMD_..., ...), which the simulation
 * treats as the firmware's launch state machine (ground truth).
 */

static int __sev_guest_init(struct kvm *kvm, struct kvm_sev_cmd *argp, unsigned long vm_type)
{
	struct kvm_sev_info *sev = to_kvm_sev_info(kvm);

	if (kvm->created_vcpus)
		return -EINVAL;

	if (sev->active)
		return -EINVAL;

	if (sev_asid_new(sev, vm_type) < 0)
		return -EBUSY;

	sev->active = true;
	sev->es_active = true;
	/* upstream tests its vm_type argument: the type the VM was created with */
	if (kvm->arch.vm_type == KVM_X86_SNP_VM)
		sev->snp_active = true;
	return 0;
}

static int sev_guest_init(struct kvm *kvm, struct kvm_sev_cmd *argp)
{
	if (kvm->arch.has_protected_state)
		return -EINVAL;

	return __sev_guest_init(kvm, argp, KVM_X86_SEV_ES_VM);
}

static int sev_guest_init2(struct kvm *kvm, struct kvm_sev_cmd *argp)
{
	if (!kvm->arch.has_protected_state)
		return -EINVAL;

	return __sev_guest_init(kvm, argp, kvm->arch.vm_type);
}

int sev_vcpu_create(struct kvm_vcpu *vcpu)
{
	if (!sev_es_guest(vcpu->kvm))
		return 0;

	return sev_es_alloc_vmsa_page(vcpu);
}

static int sev_launch_start(struct kvm *kvm, struct kvm_sev_cmd *argp)
{
	int ret;

	ret = sev_issue_cmd(kvm, SEV_CMD_LAUNCH_START, &start, &argp->error);
	if (ret)
		return ret;
	return 0;
}

static int sev_launch_update_data(struct kvm *kvm, struct kvm_sev_cmd *argp)
{
	return sev_issue_cmd(kvm, SEV_CMD_LAUNCH_UPDATE_DATA, &data, &argp->error);
}

static int sev_es_sync_vmsa(struct vcpu_svm *svm)
{
	struct kvm_vcpu *vcpu = &svm->vcpu;
	struct sev_es_save_area *save = svm->sev_es.vmsa;

	if (vcpu->arch.guest_state_protected)
		return -EINVAL;

	if (svm->vcpu.guest_debug)
		return -EINVAL;

	memcpy(save, &svm->vmcb->save, sizeof(svm->vmcb->save));
	save->xcr0 = svm->vcpu.arch.xcr0;
	return 0;
}

static int __sev_launch_update_vmsa(struct kvm *kvm, struct kvm_vcpu *vcpu, int *error)
{
	struct vcpu_svm *svm = to_svm(vcpu);
	int ret;

	if (vcpu->guest_debug)
		return -EINVAL;

	ret = sev_es_sync_vmsa(svm);
	if (ret)
		return ret;

	ret = sev_issue_cmd(kvm, SEV_CMD_LAUNCH_UPDATE_VMSA, &vmsa, error);
	if (ret)
		return ret;

	fpstate_set_confidential(&vcpu->arch.guest_fpu);
	vcpu->arch.guest_state_protected = true;
	return 0;
}

static int sev_launch_update_vmsa(struct kvm *kvm, struct kvm_sev_cmd *argp)
{
	struct kvm_vcpu *vcpu;
	unsigned long i;
	int ret;

	if (!sev_es_guest(kvm))
		return -ENOTTY;

	kvm_for_each_vcpu(i, vcpu, kvm) {
		ret = __sev_launch_update_vmsa(kvm, vcpu, &argp->error);
		if (ret)
			return ret;
	}
	return 0;
}

static int sev_launch_measure(struct kvm *kvm, struct kvm_sev_cmd *argp)
{
	return sev_issue_cmd(kvm, SEV_CMD_LAUNCH_MEASURE, &data, &argp->error);
}

static int sev_launch_finish(struct kvm *kvm, struct kvm_sev_cmd *argp)
{
	return sev_issue_cmd(kvm, SEV_CMD_LAUNCH_FINISH, &data, &argp->error);
}

/*
 * SEV-SNP launch: memory goes in with SNP_LAUNCH_UPDATE; LAUNCH_FINISH first syncs each vCPU's
 * VMSA and hands the page to the firmware (SNP_LAUNCH_UPDATE of a VMSA page), which encrypts it.
 */
static int snp_launch_start(struct kvm *kvm, struct kvm_sev_cmd *argp)
{
	if (!sev_snp_guest(kvm))
		return -ENOTTY;

	return sev_issue_cmd(kvm, SEV_CMD_SNP_LAUNCH_START, &start, &argp->error);
}

static int snp_launch_update(struct kvm *kvm, struct kvm_sev_cmd *argp)
{
	if (!sev_snp_guest(kvm))
		return -EINVAL;

	return sev_issue_cmd(kvm, SEV_CMD_SNP_LAUNCH_UPDATE, &data, &argp->error);
}

static int snp_launch_update_vmsa(struct kvm *kvm, struct kvm_sev_cmd *argp)
{
	struct kvm_vcpu *vcpu;
	unsigned long i;
	int ret;

	kvm_for_each_vcpu(i, vcpu, kvm) {
		struct vcpu_svm *svm = to_svm(vcpu);

		ret = sev_es_sync_vmsa(svm);
		if (ret)
			return ret;

		ret = sev_issue_cmd(kvm, SEV_CMD_SNP_LAUNCH_UPDATE, &data, &argp->error);
		if (ret)
			return ret;

		svm->vcpu.arch.guest_state_protected = true;
	}
	return 0;
}

static int snp_launch_finish(struct kvm *kvm, struct kvm_sev_cmd *argp)
{
	int ret;

	if (!sev_snp_guest(kvm))
		return -ENOTTY;

	ret = snp_launch_update_vmsa(kvm, argp);
	if (ret)
		return ret;

	return sev_issue_cmd(kvm, SEV_CMD_SNP_LAUNCH_FINISH, &data, &argp->error);
}

/* The SEV command dispatcher: userspace's command struct names the command. */
int sev_mem_enc_ioctl(struct kvm *kvm, void __user *argp)
{
	struct kvm_sev_cmd sev_cmd;
	int r;

	if (!argp)
		return 0;

	if (copy_from_user(&sev_cmd, argp, sizeof(struct kvm_sev_cmd)))
		return -EFAULT;

	switch (sev_cmd.id) {
	case KVM_SEV_ES_INIT:
		r = sev_guest_init(kvm, &sev_cmd);
		break;
	case KVM_SEV_INIT2:
		r = sev_guest_init2(kvm, &sev_cmd);
		break;
	case KVM_SEV_LAUNCH_START:
		r = sev_launch_start(kvm, &sev_cmd);
		break;
	case KVM_SEV_LAUNCH_UPDATE_DATA:
		r = sev_launch_update_data(kvm, &sev_cmd);
		break;
	case KVM_SEV_LAUNCH_UPDATE_VMSA:
		r = sev_launch_update_vmsa(kvm, &sev_cmd);
		break;
	case KVM_SEV_LAUNCH_MEASURE:
		r = sev_launch_measure(kvm, &sev_cmd);
		break;
	case KVM_SEV_LAUNCH_FINISH:
		r = sev_launch_finish(kvm, &sev_cmd);
		break;
	case KVM_SEV_SNP_LAUNCH_START:
		r = snp_launch_start(kvm, &sev_cmd);
		break;
	case KVM_SEV_SNP_LAUNCH_UPDATE:
		r = snp_launch_update(kvm, &sev_cmd);
		break;
	case KVM_SEV_SNP_LAUNCH_FINISH:
		r = snp_launch_finish(kvm, &sev_cmd);
		break;
	default:
		r = -EINVAL;
	}
	return r;
}
