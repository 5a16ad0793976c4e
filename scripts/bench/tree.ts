// `npm run bench -- --tree DIR`: kernel-tree mode on real sources. Cold: open the tree, parse
// the KVM files, simulate (read, parse, summarise, simulate). Warm: a one-line edit in one
// file, then re-analysis in the same session (incremental parse, affected functions only).
import { DEFAULT_OPTIONS } from '../../extension/core/analysis/analyzeSeries';
import { TreeSession } from '../../extension/core/analysis/analyzeTree';

interface Edit { label: string; file: string; fn: RegExp; line: RegExp; change: (line: string) => string }

// Edits described by where they go, never by kernel text: the line after a function's
// signature that mentions the protection flag, changed in a way a reviewer might type.
const EDITS: Edit[] = [
  { label: 'comment added (IR unchanged), svm.c svm_set_dr7', file: 'arch/x86/kvm/svm/svm.c', fn: /^static void svm_set_dr7\(/, line: /guest_state_protected/, change: (l) => `${l} /* edited */` },
  { label: 'guard disabled, x86.c kvm_vcpu_ioctl_x86_set_xcrs (off the KVM_RUN path)', file: 'arch/x86/kvm/x86.c', fn: /^static int kvm_vcpu_ioctl_x86_set_xcrs\(/, line: /guest_state_protected/, change: (l) => l.replace('vcpu->arch.guest_state_protected', '0') },
  { label: 'guard disabled, svm.c svm_set_dr7 (reached from KVM_RUN)', file: 'arch/x86/kvm/svm/svm.c', fn: /^static void svm_set_dr7\(/, line: /guest_state_protected/, change: (l) => l.replace('vcpu->arch.guest_state_protected', '0') },
];

export interface TreeBench {
  root: string;
  files: number;
  bytes: number;
  functions: number;
  /** Operations found in the tree's dispatchers, per dispatcher. */
  operations: { dispatcher: string; operations: number }[];
  cold: { read: number; parse: number; simulate: number; total: number; states: number; findings: number };
  warm: { label: string; ms: number[]; median: number; findings: string[] }[];
}

export async function benchTree(dir: string, runs: number): Promise<TreeBench> {
  const t0 = performance.now();
  const session = await TreeSession.open(dir);
  try {
    const report = await session.analyze({ patches: [], problems: [] }, DEFAULT_OPTIONS);
    const total = performance.now() - t0;
    const cold = {
      read: report.stats.ms.read, parse: report.stats.ms.parse, simulate: report.stats.ms.simulate, total,
      states: report.stats.statesExplored, findings: report.findings.filter((f) => f.severity !== 'info').length,
    };
    const warm: TreeBench['warm'] = [];
    for (const e of EDITS) {
      const original = session.texts().get(e.file);
      if (original === undefined) continue;
      const lines = original.split('\n');
      const at = lines.findIndex((l) => e.fn.test(l));
      const target = lines.findIndex((l, i) => i > at && e.line.test(l));
      if (at < 0 || target < 0) continue;
      const edited = lines.map((l, i) => (i === target ? e.change(l) : l)).join('\n');
      const ms: number[] = [];
      let findings: string[] = [];
      for (let i = 0; i < runs; i++) {
        const t = performance.now();
        await session.setText(e.file, edited);
        const result = session.simulate(DEFAULT_OPTIONS);
        ms.push(performance.now() - t);
        findings = result.hazards.map((h) => `${h.rule} ${h.fn}`);
        await session.setText(e.file, original);
        session.simulate(DEFAULT_OPTIONS);
      }
      const sorted = [...ms].sort((a, b) => a - b);
      warm.push({ label: e.label, ms, median: sorted[Math.floor(sorted.length / 2)], findings });
    }
    return { root: session.root, files: report.tree.files, bytes: report.tree.bytes, functions: report.tree.functions, operations: report.tree.operations, cold, warm };
  } finally {
    session.dispose();
  }
}

export function renderTree(b: TreeBench): string {
  const out: string[] = [];
  out.push(`kernel tree ${b.root}: ${b.files} files, ${(b.bytes / 1e6).toFixed(2)} MB, ${b.functions} functions`);
  out.push(`operations from the dispatchers: ${b.operations.reduce((n, d) => n + d.operations, 0)} (${b.operations.map((d) => `${d.dispatcher} ${d.operations}`).join(', ')})`);
  out.push('', 'cold audit (first analysis in this process, ms)');
  out.push(`   read ${b.cold.read.toFixed(0)}  parse+summarise ${b.cold.parse.toFixed(0)}  simulate ${b.cold.simulate.toFixed(0)}  total ${b.cold.total.toFixed(0)}  (${b.cold.states} states, ${b.cold.findings} findings)`);
  out.push('', 'warm re-analysis after a one-line edit (median, ms)');
  for (const w of b.warm) out.push(`   ${w.median.toFixed(1).padStart(7)}  ${w.label}${w.findings.length ? `  → ${w.findings.join('; ')}` : ''}`);
  const worst = Math.max(...b.warm.map((w) => w.median));
  out.push('', 'targets (informational)');
  out.push(`   cold audit < 2000 ms: ${b.cold.total.toFixed(0)} ms ${b.cold.total < 2000 ? 'PASS' : 'MISS'}`);
  out.push(`   warm re-analysis < 100 ms: ${b.warm.map((w) => w.median.toFixed(0)).join(' / ')} ms ${worst < 100 ? 'PASS' : 'MISS on ' + b.warm.filter((w) => w.median >= 100).length + ' of ' + b.warm.length}`);
  return out.join('\n') + '\n';
}
