// The kernel idioms of ../shared/DOMAIN.md in their variants across kernel versions, each
// written as a small C snippet of our own with the IR the lowering must give it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseC } from '../../../extension/core/parse/cParser';
import { blankNestedConditionals } from '../../../extension/core/parse/preprocessorBlanking';
import type { Expr, FunctionIr, Stmt } from '../../../extension/core/summary/ir';
import { exprKey } from '../../../extension/core/summary/irKeys';
import { lowerTranslationUnit, type LoweredUnit } from '../../../extension/core/summary/lowerToIr';

async function lower(c: string): Promise<LoweredUnit> {
  const tree = await parseC(blankNestedConditionals(c));
  try {
    return lowerTranslationUnit(tree.rootNode, { file: 't.c', mapRow: (r) => ({ line: r + 1 }), origin: 'series' });
  } finally {
    tree.delete();
  }
}

/** Every expression in a function, flattened, as keys. */
function keys(fn: FunctionIr): string[] {
  const out: string[] = [];
  const ve = (e: Expr): void => {
    out.push(exprKey(e));
    if (e.k === 'call') e.args.forEach(ve);
    if (e.k === 'assign') ve(e.value);
    if (e.k === 'not') ve(e.arg);
    if (e.k === 'logic' || e.k === 'binary') { ve(e.left); ve(e.right); }
    if (e.k === 'ternary') { ve(e.cond); ve(e.then); ve(e.else); }
    if (e.k === 'opaque') e.parts.forEach(ve);
  };
  const vs = (s: Stmt): void => {
    if (s.k === 'block') s.body.forEach(vs);
    if (s.k === 'if') { ve(s.cond); vs(s.then); if (s.else) vs(s.else); }
    if (s.k === 'expr') ve(s.expr);
    if (s.k === 'return' && s.value) ve(s.value);
    if (s.k === 'loop') { out.push(`loop ${s.each}`); vs(s.body); }
  };
  vs(fn.body);
  return out;
}

async function keysOf(body: string, params = 'struct kvm_vcpu *vcpu'): Promise<string[]> {
  const unit = await lower(`static void f(${params})\n{\n${body}\n}\n`);
  assert.equal(unit.functions.length, 1);
  return keys(unit.functions[0]);
}

describe('VMSA-backed state, every spelling', () => {
  for (const [code, key] of [
    ['struct vcpu_svm *svm = to_svm(vcpu);\nsvm->vmcb->save.dr7 = value;', 'vmsa.DR7=$value'],
    ['to_svm(vcpu)->vmcb->save.rflags = value;', 'vmsa.RFLAGS=$value'],
    ['struct vcpu_svm *svm = to_svm(vcpu);\nsvm->vmcb01.ptr->save.star = value;', 'vmsa.STAR=$value'],
    ['struct vmcb *vmcb = to_svm(vcpu)->vmcb;\nvmcb->save.dr6 = value;', 'vmsa.DR6=$value'],
    ['struct vmcb_save_area *save = &to_svm(vcpu)->vmcb->save;\nsave->efer = value;', 'vmsa.EFER=$value'],
    ['struct vcpu_svm *svm = to_svm(vcpu);\nsvm->sev_es.vmsa->rip = value;', 'vmsa.RIP=$value'],
    ['struct vcpu_svm *svm = to_svm(vcpu);\nsvm->vmsa->rip = value;', 'vmsa.RIP=$value'],
    ['struct vcpu_svm *svm = to_svm(vcpu);\nget_vmsa(svm)->rax = value;', 'vmsa.RAX=$value'],
  ] as const) {
    it(code.split('\n').pop()!, async () => {
      assert.ok((await keysOf(code)).includes(key), `${code} → ${key}`);
    });
  }

  it('a read of the CPL through a local alias', async () => {
    const k = await keysOf('struct vmcb_save_area *save = &to_svm(vcpu)->vmcb->save;\nreturn save->cpl;');
    assert.ok(k.includes('vmsa.CPL'));
  });

  it('memcpy into the VMSA page names the page as its destination', async () => {
    const k = await keysOf('struct sev_es_save_area *save = svm->sev_es.vmsa;\nmemcpy(save, &svm->vmcb->save, sizeof(*save));', 'struct vcpu_svm *svm');
    assert.ok(k.some((x) => x.startsWith('memcpy(vmsa.VMSA,')), k.join(' | '));
  });

  it('setting the VMSA pointer is not a write of the save area', async () => {
    const k = await keysOf('svm->sev_es.vmsa = page_address(p);', 'struct vcpu_svm *svm');
    assert.ok(!k.some((x) => x.startsWith('vmsa.')), k.join(' | '));
  });

  it('the control area is not VMSA-backed', async () => {
    const k = await keysOf('svm->vmcb->control.intercepts[0] = 1;', 'struct vcpu_svm *svm');
    assert.ok(!k.some((x) => x.startsWith('vmsa.')), k.join(' | '));
  });

  it('a local named like a base but declared otherwise is not one', async () => {
    const k = await keysOf('struct sev_data_launch_update_vmsa vmsa;\nvmsa.len = PAGE_SIZE;');
    assert.ok(!k.some((x) => x.startsWith('vmsa.LEN')), k.join(' | '));
  });
});

describe('protection flags and guest-type predicates', () => {
  for (const [code, key] of [
    ['if (vcpu->arch.guest_state_protected) return;', 'vcpu.guest_state_protected'],
    ['if (svm->vcpu.arch.guest_state_protected) return;', 'vcpu.guest_state_protected'],
    ['if (to_svm(vcpu)->vcpu.arch.guest_state_protected) return;', 'vcpu.guest_state_protected'],
    ['if (vcpu->arch.vmsa_encrypted) return;', 'vcpu.vmsa_encrypted'],
    ['if (svm->vmsa_encrypted) return;', 'vcpu.vmsa_encrypted'],
    ['if (vcpu->kvm->arch.has_protected_state) return;', 'vm.has_protected_state'],
    ['if (vcpu->guest_debug) return;', 'vcpu.guest_debug'],
    ['if (sev_es_guest(vcpu->kvm)) return;', 'vm.sev.es_active'],
    ['if (is_sev_es_guest(vcpu)) return;', 'vm.sev.es_active'],
    ['if (sev_guest(kvm)) return;', 'vm.sev.active'],
    ['if (fpstate_is_confidential(&vcpu->arch.guest_fpu)) return;', 'vcpu.fpu_confidential'],
    ['if (kvm->created_vcpus) return;', 'vm.created_vcpus'],
    ['if (to_kvm_sev_info(kvm)->es_active) return;', 'vm.sev.es_active'],
  ] as const) {
    it(code, async () => {
      assert.ok((await keysOf(code, 'struct kvm_vcpu *vcpu, struct vcpu_svm *svm, struct kvm *kvm')).includes(key));
    });
  }

  it('an assignment to the flag is a flag write with its value', async () => {
    assert.ok((await keysOf('vcpu->arch.guest_state_protected = true;')).includes('vcpu.guest_state_protected=1'));
  });
});

describe('indirect calls through the vendor ops table, all spellings', () => {
  for (const code of ['kvm_x86_ops.set_dr7(vcpu, value);', 'static_call(kvm_x86_set_dr7)(vcpu, value);', 'kvm_x86_call(set_dr7)(vcpu, value);']) {
    it(code, async () => {
      assert.ok((await keysOf(code)).includes('ops.set_dr7(vcpu,$value)'), (await keysOf(code)).join(' | '));
    });
  }

  it('the table initializer, with an annotation and #ifdef inside it', async () => {
    const unit = await lower([
      'static struct kvm_x86_ops svm_x86_ops __initdata = {',
      '\t.name = KBUILD_MODNAME,',
      '\t.set_dr7 = svm_set_dr7,',
      '#ifdef CONFIG_KVM_SMM',
      '\t.smi_allowed = svm_smi_allowed,',
      '#endif',
      '\t.set_dr6 = svm_set_dr6,',
      '};',
    ].join('\n'));
    const table = unit.opsTables[0];
    assert.equal(table.entries.get('set_dr7'), 'svm_set_dr7');
    assert.equal(table.entries.get('set_dr6'), 'svm_set_dr6');
    assert.equal(table.entries.get('smi_allowed'), 'svm_smi_allowed');
  });
});

describe('kernel C that confuses parsers', () => {
  it('kvm_for_each_vcpu is a loop over the vCPUs; other for_each macros are loops', async () => {
    const k = await keysOf('kvm_for_each_vcpu(i, vcpu, kvm) {\n\tf(vcpu);\n}\nlist_for_each_entry(p, &l, node) {\n\tg(p);\n}', 'struct kvm *kvm');
    assert.deepEqual(k.filter((x) => x.startsWith('loop')), ['loop vcpu', 'loop other']);
    assert.ok(k.includes('f()') || k.some((x) => x.startsWith('f(')));
  });

  it('annotations, __user and GNU case ranges still give the function', async () => {
    const unit = await lower('static int __init noinstr f(struct kvm_vcpu *vcpu, void __user *argp)\n{\n\tswitch (x) {\n\tcase 1 ... 3:\n\t\treturn -EINVAL;\n\t}\n\tif (vcpu->arch.guest_state_protected)\n\t\treturn -EINVAL;\n\treturn 0;\n}\n');
    assert.equal(unit.functions[0]?.name, 'f');
    assert.ok(keys(unit.functions[0]).includes('vcpu.guest_state_protected'));
  });

  it('#if inside an expression is blanked without moving anything', () => {
    const src = 'int x = (a\n#ifdef CONFIG_X\n\t|| b\n#endif\n\t);';
    const out = blankNestedConditionals(src);
    assert.equal(out.length, src.length);
    assert.equal(out.split('\n')[1].trim(), '');
    assert.equal(out.split('\n')[2], '\t|| b');
  });
});
