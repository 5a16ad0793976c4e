// Reuse must never change a verdict: a tree session that has analysed the code before and is
// then edited reports, byte for byte, what a new session on the edited code reports. The tree
// is the built-in model's C (our own) laid out as a kernel tree, with KVM_SET_MSRS reaching
// svm_set_msr() only through a function handed over as an argument, as upstream's msr_io() does.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DEFAULT_OPTIONS } from '../../../extension/core/analysis/analyzeSeries';
import { TreeSession } from '../../../extension/core/analysis/analyzeTree';
import { LoweredFileCache } from '../../../extension/core/cache/loweredFileCache';

const MODEL = join(__dirname, '../../../extension/core/model/builtin');
const model = (name: string) => readFileSync(join(MODEL, name), 'utf8');

const SET_MSRS_THROUGH_A_POINTER = `
static int do_set_msr(struct kvm_vcpu *vcpu, u32 index, u64 data)
{
	struct msr_data msr;

	msr.index = index;
	msr.data = data;
	return kvm_x86_call(set_msr)(vcpu, &msr);
}

static int msr_io_with(struct kvm_vcpu *vcpu, u32 index, u64 data, int (*do_msr)(struct kvm_vcpu *vcpu, u32 index, u64 data))
{
	return do_msr(vcpu, index, data);
}
`;

function treeFiles(): Record<string, string> {
  const x86 = model('x86.c').replace('\treturn kvm_set_msr(vcpu, index, data);\n', '\treturn msr_io_with(vcpu, msrs.index, msrs.data, do_set_msr);\n');
  assert.notEqual(x86, model('x86.c'), 'the model still has the line this test rewrites');
  return {
    'Makefile': '# a tree of our own for the tests\n',
    'arch/x86/kvm/x86.c': x86.replace('static int kvm_vcpu_ioctl_set_msrs(', `${SET_MSRS_THROUGH_A_POINTER}\nstatic int kvm_vcpu_ioctl_set_msrs(`),
    'arch/x86/kvm/svm/svm.c': model('svm.c'),
    'arch/x86/kvm/svm/sev.c': model('sev.c'),
  };
}

/** Edits a reviewer might make: a guard taken out, a refusal dropped, a flag no longer set. */
const EDITS: { name: string; file: string; from: string; to: string }[] = [
  { name: 'KVM_SET_GUEST_DEBUG without its guest_state_protected refusal', file: 'arch/x86/kvm/x86.c', from: '\tint r;\n\n\tif (vcpu->arch.guest_state_protected)\n\t\treturn -EINVAL;\n\n\tif (dbg->control', to: '\tint r;\n\n\tif (dbg->control' },
  { name: 'guest_state_protected no longer set after encryption', file: 'arch/x86/kvm/svm/sev.c', from: '\tvcpu->arch.guest_state_protected = true;\n', to: '' },
  { name: 'the MSR guard, reached only through the function msr_io_with() is handed', file: 'arch/x86/kvm/svm/svm.c', from: '\tif (sev_es_prevent_msr_access(vcpu, msr))\n\t\treturn vcpu->kvm->arch.has_protected_state ? -EINVAL : 0;\n\n\tswitch (msr->index) {', to: '\tswitch (msr->index) {' },
];

const roots: string[] = [];
after(() => { for (const r of roots) rmSync(r, { recursive: true, force: true }); });

function writeTree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'kvm-lens-warm-'));
  roots.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

async function verdict(session: TreeSession): Promise<string> {
  const report = await session.analyze({ patches: [], problems: [] }, DEFAULT_OPTIONS);
  return JSON.stringify(report.findings, null, 1);
}

describe('an edited tree session reports what a new session on the edited code reports', () => {
  for (const edit of EDITS) {
    it(edit.name, async () => {
      const files = treeFiles();
      const warm = await TreeSession.open(writeTree(files));
      const before = await verdict(warm);
      assert.ok(files[edit.file].includes(edit.from), `the tree has the text this edit changes (${edit.file})`);
      const edited = files[edit.file].replace(edit.from, edit.to);
      await warm.setText(edit.file, edited);
      const warmAfter = await verdict(warm);
      const cold = await TreeSession.open(writeTree({ ...files, [edit.file]: edited }));
      const coldAfter = await verdict(cold);
      assert.notEqual(coldAfter, before, 'the edit changes the verdict (else this case shows nothing)');
      assert.equal(warmAfter, coldAfter);
      // undone, as an editor's undo would: the first verdict again
      await warm.setText(edit.file, files[edit.file]);
      assert.equal(await verdict(warm), before);
    });
  }
});

describe('a what-if after other runs in the same session reports what it reports alone', () => {
  // the editor's what-if toggles re-run one session with other assumptions
  const WHAT_IFS: { name: string; assumptions: Record<string, unknown> }[] = [
    { name: 'LAUNCH_UPDATE_VMSA refuses while debug is armed', assumptions: { launchRefusesDebug: true } },
    { name: 'guest_state_protected set at vCPU creation', assumptions: { protectedAtCreate: true } },
    { name: 'one vCPU', assumptions: { vcpus: 1 } },
    { name: 'the legacy VM type', assumptions: { vmType: 'legacy' } },
  ];
  // the guard KVM_SET_GUEST_DEBUG needs is out, so debugging can be armed around encryption
  const files = treeFiles();
  files['arch/x86/kvm/svm/sev.c'] = files['arch/x86/kvm/svm/sev.c'].replace('\tif (vcpu->guest_debug)\n\t\treturn -EINVAL;\n\n\tret = sev_es_sync_vmsa(svm);', '\tret = sev_es_sync_vmsa(svm);')
    .replace('\tif (svm->vcpu.guest_debug)\n\t\treturn -EINVAL;\n\n\tmemcpy(', '\tmemcpy(');
  for (const w of WHAT_IFS) {
    it(w.name, async () => {
      const options = { ...DEFAULT_OPTIONS, assumptions: { ...DEFAULT_OPTIONS.assumptions, ...w.assumptions } };
      const shared = await TreeSession.open(writeTree(files));
      const plain = JSON.stringify((await shared.analyze({ patches: [], problems: [] }, DEFAULT_OPTIONS)).findings);
      const after = JSON.stringify((await shared.analyze({ patches: [], problems: [] }, options)).findings);
      const alone = JSON.stringify((await (await TreeSession.open(writeTree(files))).analyze({ patches: [], problems: [] }, options)).findings);
      assert.equal(after, alone);
      if (w.assumptions.launchRefusesDebug) assert.notEqual(alone, plain, 'this what-if changes the verdict (else this case shows nothing)');
    });
  }
});

describe('a session whose files came from the lowered-file cache reports what a parsed one does', () => {
  it('before and after an edit that needs the parse tree the cached files lack', async () => {
    const files = treeFiles();
    const root = writeTree(files);
    const cacheRoot = mkdtempSync(join(tmpdir(), 'kvm-lens-lowered-'));
    roots.push(cacheRoot);
    const cache = LoweredFileCache.at(cacheRoot, 'test');
    // seen once (marked), then stored, then read
    for (let i = 0; i < 2; i++) (await TreeSession.open(root, cache)).dispose();
    for (const [path, text] of Object.entries(files)) if (/\.c$/.test(path)) assert.ok(cache.get(path, text), `${path} is in the cache after two runs`);
    const fromCache = await TreeSession.open(root, cache);
    const parsed = await TreeSession.open(root);
    assert.equal(await verdict(fromCache), await verdict(parsed));
    const edit = EDITS[0];
    const edited = files[edit.file].replace(edit.from, edit.to);
    await fromCache.setText(edit.file, edited);
    await parsed.setText(edit.file, edited);
    const after = await verdict(fromCache);
    assert.notEqual(after, await verdict(await TreeSession.open(root)), 'the edit changes the verdict');
    assert.equal(after, await verdict(parsed));
    assert.deepEqual(fromCache.texts(), parsed.texts());
  });
});
