// The editor's request for a kernel workspace: the tree root and the open buffers that differ
// from disk. Plain data, answered in the analysis worker by a long-lived tree session.
import type { AnalysisSettings } from './documentAnalysis';
import type { TreeReport } from '../core/analysis/analyzeTree';
import type { FunctionInfo } from '../core/findings';

export interface TreeRequest {
  root: string;
  /** Open C buffers, tree-relative path → text (unsaved edits included). */
  buffers: Record<string, string>;
  settings: AnalysisSettings;
  /** Tree-relative paths of open C files whose functions the editor wants described (hovers, CodeLens). */
  describe?: string[];
}

export interface TreeAnalysis {
  report: TreeReport;
  functions: FunctionInfo[];
  ms: number;
}
