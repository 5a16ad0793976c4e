// What the editor asks of the core for one open document, and what it gets back: plain,
// serialisable data, so the work can run in a worker thread and be unit-tested without VS Code.
import { DEFAULT_BUDGET } from '../core/analysis/budget';
import type { AnalysisReport, Finding, Severity } from '../core/findings';
import { analyzeSeries, DEFAULT_OPTIONS, type AnalysisOptions } from '../core/analysis/analyzeSeries';
import { applyAssumption } from '../core/analysis/assumptions';
import { assembleSeries, parseSeriesText } from '../core/series/seriesReader';
import type { InputProblem, Patch, Series } from '../core/series/types';

export interface AnalysisSettings {
  depth: number;
  vcpus: number;
  /** KEY=VALUE what-if assumptions, as on the command line. */
  assumptions: Record<string, string>;
  /** Seconds one analysis may run (kvmLens.analysisTimeLimit); the CLI's default when absent. */
  timeLimitSeconds?: number;
}

export interface DocumentRequest {
  /** Path of the file on disk (or the document's name for an untitled buffer). */
  file: string;
  text: string;
  settings: AnalysisSettings;
  /** The other patches of the series (format-patch files beside it), so one patch is seen in its series. */
  siblings?: { file: string; text: string }[];
}

export interface PatchOutline {
  subject: string;
  file: string;
  /** 1-based line where the patch's mail starts in this document. */
  startLine: number;
  /** 1-based line of the first hunk header, or the start line when there is none. */
  firstHunkLine: number;
  version: number;
  index?: number;
  total?: number;
  from?: string;
}

export interface DocumentAnalysis {
  report: AnalysisReport;
  problems: InputProblem[];
  patches: PatchOutline[];
  /** Setting problems (an unknown assumption key), for the output channel. */
  settingsProblems: string[];
  /** Set when the series was checked against a kernel tree (translate/treeSeriesAnalysis.ts). */
  tree?: TreeSeriesSummary;
}

export interface TreeSeriesSummary {
  /** The tree as the editor names it. */
  root: string;
  /** One line: what the series was applied to and how that was found ("base: base-commit 1a2b3c4d5e6f in ..."). */
  baseLine: string;
  /** The tree's size and operations, in one line. */
  scope: string;
  /** Problems of the tree's files and notes on the simulation (a patch's own problems are in `problems`). */
  notes: string[];
}

export function optionsFromSettings(settings: AnalysisSettings): { options: AnalysisOptions; problems: string[] } {
  const options: AnalysisOptions = { ...DEFAULT_OPTIONS, depth: settings.depth, assumptions: { ...DEFAULT_OPTIONS.assumptions }, absentGuards: [] };
  const problems: string[] = [];
  const vcpus = applyAssumption(options, 'vcpus', String(settings.vcpus));
  if (vcpus) problems.push(`kvmLens.vcpus: ${vcpus}`);
  for (const [key, value] of Object.entries(settings.assumptions)) {
    const msg = applyAssumption(options, key, value);
    if (msg) problems.push(`kvmLens.assumptions: ${msg}`);
  }
  const limit = settings.timeLimitSeconds;
  if (limit !== undefined) {
    if (Number.isFinite(limit) && limit > 0) options.budget = { ...DEFAULT_BUDGET, timeMs: limit * 1000 };
    else problems.push(`kvmLens.analysisTimeLimit: ${limit} is not a number of seconds above 0`);
  }
  return { options, problems };
}

/** The series a request holds: the document's patches with its siblings'. */
export function seriesOfRequest(req: DocumentRequest): Series {
  const parsed = parseSeriesText(req.file, req.text);
  const others = (req.siblings ?? []).map((s) => parseSeriesText(s.file, s.text));
  return assembleSeries([...parsed.patches, ...others.flatMap((o) => o.patches)], [...parsed.problems, ...others.flatMap((o) => o.problems)]);
}

/** Analyses one document's text as a series (a patch, an mbox, a mail). */
export async function analyzeDocument(req: DocumentRequest): Promise<DocumentAnalysis> {
  const series = seriesOfRequest(req);
  const { options, problems } = optionsFromSettings(req.settings);
  const report = await analyzeSeries(series, options);
  return { report, problems: series.problems, patches: outlineSeries(series), settingsProblems: problems };
}

/** The cover letter, then the patches in series order. */
export function outlineSeries(series: Series): PatchOutline[] {
  return (series.coverLetter ? [series.coverLetter, ...series.patches] : series.patches).map(outline);
}

function outline(p: Patch): PatchOutline {
  const firstHunk = p.diffs.flatMap((d) => d.hunks)[0];
  return {
    subject: p.subject, file: p.file, startLine: p.startLine, firstHunkLine: firstHunk?.headerPatchLine ?? p.startLine,
    version: p.tags.version, ...(p.tags.index !== undefined ? { index: p.tags.index } : {}), ...(p.tags.total !== undefined ? { total: p.tags.total } : {}),
    ...(p.from ? { from: p.from } : {}),
  };
}

/** Findings whose location is in this file, with the severity the user's settings give them. */
export function findingsForFile(report: AnalysisReport, file: string, severities: Partial<Record<string, Severity | 'off'>>): (Finding & { shownSeverity: Severity })[] {
  const out: (Finding & { shownSeverity: Severity })[] = [];
  for (const f of report.findings) {
    if (f.location.file !== file) continue;
    const s = severities[f.rule] ?? f.severity;
    if (s === 'off') continue;
    out.push({ ...f, shownSeverity: s });
  }
  return out;
}
