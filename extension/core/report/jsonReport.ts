// The machine-readable report. Objects are built key by key (not spread from the findings)
// so the key order and the set of keys stay fixed whatever the analysis adds to its types;
// absent values are null rather than missing so consumers see one shape.

import type { AnalysisReport, Finding, PatchRef, TraceStep } from '../findings';

export const JSON_TOOL_NAME = 'kvm-patch-lens';

export interface JsonTraceStep {
  operation: string;
  vcpu: number | null;
  location: { file: string; line: number };
  note: string;
}

export interface JsonFinding {
  rule: string;
  severity: string;
  message: string;
  location: { file: string; line: number; column: number; function: string | null; patch: string | null };
  introducedBy: string | null;
  /** The patch itself: in an mbox, introducedBy names the one file every patch shares. */
  introducedByPatch: JsonPatchRef | null;
  trace: JsonTraceStep[];
}

export interface JsonPatchRef {
  file: string;
  /** The line its message starts on in the file. */
  line: number;
  subject: string;
}

export interface JsonFixedFinding extends JsonFinding {
  fixedBy: string | null;
  fixedByPatch: JsonPatchRef | null;
}

export interface JsonReport {
  tool: string;
  version: string;
  /** What the code analysed was based on and how it was found; null when the report does not say. */
  base: { source: string; exact: boolean; commit: string | null; line: string } | null;
  findings: JsonFinding[];
  fixed: JsonFixedFinding[];
  stats: {
    patches: number;
    functions: number;
    statesExplored: number;
    boundReached: boolean;
    ms: { read: number; parse: number; summarize: number; simulate: number };
    cached?: true;
  };
  origins: { function: string; origin: string; file: string }[];
}

/** Pretty-printed (2 spaces), newline-terminated. */
export function formatJson(report: AnalysisReport, toolVersion: string): string {
  return JSON.stringify(toJsonReport(report, toolVersion), null, 2) + '\n';
}

export function toJsonReport(report: AnalysisReport, toolVersion: string): JsonReport {
  const { stats } = report;
  return {
    tool: JSON_TOOL_NAME,
    version: toolVersion,
    base: report.base ? { source: report.base.source, exact: report.base.exact, commit: report.base.commit ?? null, line: report.base.line } : null,
    findings: report.findings.map(jsonFinding),
    fixed: report.fixed.map(jsonFixedFinding),
    stats: {
      patches: stats.patches,
      functions: stats.functions,
      statesExplored: stats.statesExplored,
      boundReached: stats.boundReached,
      ms: {
        read: round1(stats.ms.read),
        parse: round1(stats.ms.parse),
        summarize: round1(stats.ms.summarize),
        simulate: round1(stats.ms.simulate),
      },
      ...(stats.cached ? { cached: true as const } : {}),
    },
    // where each function the series touched came from; the others are the built-in model's
    origins: report.origins.filter((o) => o.origin !== 'model').map((o) => ({ function: o.function, origin: o.origin, file: o.file })),
  };
}

function jsonFinding(finding: Finding): JsonFinding {
  const loc = finding.location;
  return {
    rule: finding.rule,
    severity: finding.severity,
    message: finding.message,
    location: {
      file: loc.file,
      line: loc.line,
      column: loc.column,
      function: loc.function ?? null,
      patch: loc.patch ?? null,
    },
    introducedBy: finding.introducedBy ?? null,
    introducedByPatch: jsonPatchRef(finding.introducedByPatch),
    trace: finding.trace.map(jsonStep),
  };
}

// fixedBy goes right after introducedByPatch so the provenance fields read together.
function jsonFixedFinding(finding: Finding): JsonFixedFinding {
  const { trace, ...head } = jsonFinding(finding);
  return { ...head, fixedBy: finding.fixedBy ?? null, fixedByPatch: jsonPatchRef(finding.fixedByPatch), trace };
}

function jsonPatchRef(ref: PatchRef | null | undefined): JsonPatchRef | null {
  return ref ? { file: ref.file, line: ref.line, subject: ref.subject } : null;
}

function jsonStep(step: TraceStep): JsonTraceStep {
  return {
    operation: step.operation,
    vcpu: step.vcpu,
    location: { file: step.location.file, line: step.location.line },
    note: step.note,
  };
}

function round1(ms: number): number {
  return Math.round(ms * 10) / 10;
}
