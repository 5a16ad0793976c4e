// What the analysis reports: one shape shared by the CLI formats, the editor and review replies.

export type Severity = 'error' | 'warning' | 'info';

export type RuleId =
  | 'vmsa-write-after-encryption'
  | 'vmsa-read-after-encryption'
  | 'debug-after-encryption'
  | 'debug-armed-at-encryption'
  | 'protection-flag-not-set'
  | 'init-refused-before-encryption'
  | 'sev-init-after-vcpu-create'
  | 'legacy-write-ignored'
  | 'analysis-incomplete';

/** A place in a file the user can open: a patch file, a C file, or the built-in model. */
export interface SourceLocation {
  file: string;
  line: number;        // 1-based
  column: number;      // 1-based
  endLine?: number;
  endColumn?: number;
  function?: string;
  /** Subject (or file) of the patch this location lies in, when it lies in a patch. */
  patch?: string;
}

export interface TraceStep {
  operation: string;   // "KVM_SET_GUEST_DEBUG"
  vcpu: number | null; // null for VM-level operations
  location: { file: string; line: number };
  note: string;        // what this step did, in kernel terms
}

/** One patch of the series: its file, the line its message starts on there, its subject. */
export interface PatchRef {
  file: string;
  line: number;
  subject: string;
}

export interface Finding {
  rule: RuleId;
  severity: Severity;
  message: string;
  location: SourceLocation;
  /** Patch file that introduced the finding (series timeline), or null. */
  introducedBy: string | null;
  /** The patch itself (an mbox holds several in one file), or null. */
  introducedByPatch?: PatchRef | null;
  /** For fixed findings: the patch file after which the finding no longer appears. */
  fixedBy?: string | null;
  fixedByPatch?: PatchRef | null;
  trace: TraceStep[];
  /** Stable identity across patches and line moves: rule, function, state, operation. */
  key: string;
}

export interface AnalysisStats {
  patches: number;
  functions: number;
  statesExplored: number;
  /** True when an exploration stopped at its depth or state bound before exhausting states. */
  boundReached: boolean;
  ms: { read: number; parse: number; summarize: number; simulate: number };
  /** The report came from the cache of an earlier identical run (ms then counts this run's reading only). */
  cached?: boolean;
}

export interface FunctionInfo {
  name: string;
  origin: 'series' | 'series+model' | 'tree';
  /** Patch file and the first and last patch lines of the function's code there. */
  file: string;
  line: number;
  endLine: number;
  /** One line per path: guards, effects, how it ends. */
  summary: string[];
  /** The operations whose handlers can reach it. */
  reachedBy: string[];
  /** The operations this function is the handler of. */
  handles?: string[];
}

/** What the analysed code was based on, and how that was found (the report's first line). */
export interface ReportBase {
  /** 'model': patch-only, the built-in model; the others: a kernel tree's files (see tree/seriesBase.ts). */
  source: 'model' | 'base-commit' | 'blobs' | 'working-tree';
  /** Whether every file the series changes was analysed on its exact pre-image. */
  exact: boolean;
  commit?: string;
  line: string;
}

export interface AnalysisReport {
  /** Absent in reports made before bases were reported (cached ones are keyed by tool version). */
  base?: ReportBase;
  findings: Finding[];
  fixed: Finding[];
  stats: AnalysisStats;
  /** Functions the series touched, summarised for hovers (not part of the JSON output). */
  functions?: FunctionInfo[];
  /** Where each summarized function came from, for "which came from where". */
  origins: { function: string; origin: 'series' | 'model' | 'series+model' | 'tree'; file: string }[];
}
