// A `case KVM_...:` that a patch adds to a dispatch switch (kvm_arch_vcpu_ioctl,
// sev_mem_enc_ioctl) is a new operation userspace can issue. Its case body, as the hunk shows
// it, becomes the operation's handler, so the simulation can call it like any other ioctl.
import type { Hunk, Patch } from '../series/types';
import { parseC } from '../parse/cParser';
import { blankKernelNoise } from '../parse/preprocessorBlanking';
import { sectionFunctionName } from '../parse/hunkFragments';
import type { FunctionIr } from '../summary/ir';
import { lowerTranslationUnit } from '../summary/lowerToIr';
import type { Operation } from '../simulate/operations';

const CASE = /^\s*case\s+(KVM_[A-Z0-9_]+)\s*:/;
const NEXT_LABEL = /^\s*(case\s+[A-Z0-9_]+\s*:|default\s*:)/;

export interface NewEntryPoint { operation: Operation; handler: FunctionIr }
export interface RemovedEntryPoint { name: string; from: string }

/** Operations added (and names removed) by one hunk of a dispatcher. */
export async function entryPointsOfHunk(hunk: Hunk, patch: Patch): Promise<{ added: NewEntryPoint[]; removed: RemovedEntryPoint[] }> {
  const dispatcher = sectionFunctionName(hunk.section);
  const out = { added: [] as NewEntryPoint[], removed: [] as RemovedEntryPoint[] };
  // any function's switch can be a dispatcher; whether this one is, the simulation decides from the code
  if (!dispatcher) return out;
  const post = hunk.lines.filter((l) => l.kind !== 'removed');
  for (const l of hunk.lines) {
    const m = CASE.exec(l.text);
    if (m && l.kind === 'removed' && !post.some((p) => CASE.exec(p.text)?.[1] === m[1])) out.removed.push({ name: m[1], from: dispatcher });
  }
  for (let i = 0; i < post.length; i++) {
    const m = CASE.exec(post[i].text);
    if (!m || post[i].kind !== 'added') continue;
    let end = i + 1;
    while (end < post.length && !NEXT_LABEL.test(post[end].text)) end++;
    const body = post.slice(i + 1, end);
    const name = `${dispatcher}__${m[1]}`;
    // switch (0) { default: ... } keeps the case body's `break` meaningful
    const header = [`static long ${name}(struct kvm_vcpu *vcpu, struct kvm *kvm)`, '{', '\tlong r = 0;', '\tswitch (0) { default:'];
    const footer = ['\t}', '\treturn r;', '}'];
    const text = blankKernelNoise([...header, ...body.map((l) => l.text), ...footer].join('\n'));
    const rows = [...header.map(() => undefined), ...body.map((l) => ({ line: l.patchLine, change: l.kind })), ...footer.map(() => undefined)];
    const tree = await parseC(text);
    try {
      const unit = lowerTranslationUnit(tree.rootNode, { file: patch.file, origin: 'series', patch: patch.subject || patch.file, mapRow: (r) => rows[r] });
      const handler = unit.functions.find((f) => f.name === name);
      if (!handler) continue;
      const loc = { file: patch.file, line: post[i].patchLine, column: 1, change: 'added' as const };
      out.added.push({
        operation: { name: m[1], kind: 'vcpu-ioctl', handler: name, addedTo: dispatcher, source: { file: patch.file, line: post[i].patchLine } },
        handler: { ...handler, loc, touched: loc },
      });
    } finally {
      tree.delete();
    }
  }
  return out;
}
