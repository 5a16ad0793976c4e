// The editor's request for a kernel workspace: the tree root and the open buffers that differ
// from disk. Plain data, answered in the analysis worker by a long-lived tree session.
import type { AnalysisSettings } from './documentAnalysis';
import type { TreeReport } from '../core/analysis/analyzeTree';

export interface TreeRequest {
  root: string;
  /** Open C buffers, tree-relative path → text (unsaved edits included). */
  buffers: Record<string, string>;
  settings: AnalysisSettings;
}

export interface TreeAnalysis {
  report: TreeReport;
  ms: number;
}
