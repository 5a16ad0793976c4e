// Warm edits in the editor's session: TreeSession is opened and audited once in this process,
// then a one-line edit in one file is re-analysed (incremental parse, affected functions only,
// reused call results) and timed; the edit is undone and re-simulated, untimed, before the next
// run, so every timed run starts from the clean tree's state.
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

export interface WarmEdit {
  label: string;
  /** One entry per run: setText + simulate, ms. */
  ms: number[];
  /** Hazards after the edit (rule and function), from the last run. */
  findings: string[];
}

export interface WarmBench {
  root: string;
  files: number;
  bytes: number;
  functions: number;
  /** Operations found in the tree's dispatchers, per dispatcher. */
  operations: { dispatcher: string; operations: number }[];
  /** The session's first audit in this process (context for the warm figures; the cold target is measured in a new process). */
  open: { read: number; parse: number; simulate: number; total: number; states: number; findings: number };
  edits: WarmEdit[];
  /** Edits whose place was not found in this tree (a function renamed or moved). */
  skipped: string[];
}

export async function benchWarmEdits(dir: string, runs: number): Promise<WarmBench> {
  const t0 = performance.now();
  const session = await TreeSession.open(dir);
  try {
    const report = await session.analyze({ patches: [], problems: [] }, DEFAULT_OPTIONS);
    const open = {
      read: report.stats.ms.read, parse: report.stats.ms.parse, simulate: report.stats.ms.simulate, total: performance.now() - t0,
      states: report.stats.statesExplored, findings: report.findings.filter((f) => f.severity !== 'info').length,
    };
    const edits: WarmEdit[] = [];
    const skipped: string[] = [];
    for (const e of EDITS) {
      const original = session.texts().get(e.file);
      const lines = original?.split('\n') ?? [];
      const at = lines.findIndex((l) => e.fn.test(l));
      const target = lines.findIndex((l, i) => at >= 0 && i > at && e.line.test(l));
      if (original === undefined || target < 0) { skipped.push(e.label); continue; }
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
      edits.push({ label: e.label, ms, findings });
    }
    return { root: session.root, files: report.tree.files, bytes: report.tree.bytes, functions: report.tree.functions, operations: report.tree.operations, open, edits, skipped };
  } finally {
    session.dispose();
  }
}
