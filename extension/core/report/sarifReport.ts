// SARIF 2.1.0 output, for code-scanning services and SARIF viewers. The ioctl trace becomes a
// codeFlow so viewers can step through the lifecycle that leads to each finding.

import type { AnalysisReport, Finding, Severity, SourceLocation, TraceStep } from '../findings';
import { RULES, helpUri, ruleIndex } from '../rules/ruleCatalog';

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';
export const FINGERPRINT_KEY = 'kvmLens/v1';

export interface SarifOptions {
  /** Base URL for rule help links; without it they are relative to the README. */
  helpBase?: string;
}

type SarifLevel = 'error' | 'warning' | 'note';

// SARIF has no "info" level; "note" is its informational level.
const LEVEL: Record<Severity, SarifLevel> = { error: 'error', warning: 'warning', info: 'note' };

export function sarifLevel(severity: Severity): SarifLevel {
  return LEVEL[severity];
}

/** Pretty-printed (2 spaces), newline-terminated. */
export function formatSarif(report: AnalysisReport, toolVersion: string, opts: SarifOptions = {}): string {
  return JSON.stringify(toSarifLog(report, toolVersion, opts), null, 2) + '\n';
}

export function toSarifLog(report: AnalysisReport, toolVersion: string, opts: SarifOptions = {}): object {
  const run: Record<string, unknown> = {
    tool: {
      driver: {
        name: 'kvm-patch-lens',
        version: toolVersion,
        rules: RULES.map((rule) => ({
          id: rule.id,
          name: rule.name,
          shortDescription: { text: rule.shortDescription },
          fullDescription: { text: rule.fullDescription },
          defaultConfiguration: { level: sarifLevel(rule.defaultSeverity) },
          helpUri: helpUri(rule.id, opts.helpBase),
        })),
      },
    },
    results: report.findings.map(sarifResult),
  };
  // Fixed findings are not results (they are not in the final tree); keep a short record so
  // a reviewer can still see what the series fixed along the way.
  if (report.fixed.length > 0) {
    run.properties = {
      fixed: report.fixed.map((f) => ({
        ruleId: f.rule,
        message: f.message,
        location: `${artifactUri(f.location.file)}:${f.location.line}`,
        introducedBy: f.introducedBy ?? null,
        fixedBy: f.fixedBy ?? null,
        fingerprint: f.key,
      })),
    };
  }
  return { $schema: SARIF_SCHEMA, version: '2.1.0', runs: [run] };
}

function sarifResult(finding: Finding): object {
  const result: Record<string, unknown> = {
    ruleId: finding.rule,
    ruleIndex: ruleIndex(finding.rule),
    level: sarifLevel(finding.severity),
    message: { text: finding.message },
    locations: [resultLocation(finding.location)],
  };
  // SARIF requires at least one thread-flow location, so an empty trace gets no codeFlow.
  if (finding.trace.length > 0) {
    result.codeFlows = [{ threadFlows: [{ locations: finding.trace.map(threadFlowLocation) }] }];
  }
  result.partialFingerprints = { [FINGERPRINT_KEY]: finding.key };
  result.properties = { introducedBy: finding.introducedBy ?? null };
  return result;
}

function resultLocation(loc: SourceLocation): object {
  const region: Record<string, number> = { startLine: loc.line, startColumn: loc.column };
  if (loc.endLine !== undefined) region.endLine = loc.endLine;
  if (loc.endColumn !== undefined) region.endColumn = loc.endColumn;
  const location: Record<string, unknown> = {
    physicalLocation: { artifactLocation: { uri: artifactUri(loc.file) }, region },
  };
  if (loc.function) location.logicalLocations = [{ name: loc.function, kind: 'function' }];
  return location;
}

function threadFlowLocation(step: TraceStep, i: number): object {
  const vcpu = step.vcpu === null ? '' : ` (vcpu ${step.vcpu})`;
  return {
    location: {
      physicalLocation: {
        artifactLocation: { uri: artifactUri(step.location.file) },
        region: { startLine: step.location.line },
      },
      message: { text: `${step.operation}${vcpu}${step.note ? `: ${step.note}` : ''}` },
    },
    executionOrder: i + 1,
  };
}

/**
 * The path as the user gave it, with forward slashes, percent-encoding only what would
 * otherwise end or corrupt a URI reference (spaces, '%', '#', '?').
 */
export function artifactUri(file: string): string {
  return encodeURI(file.replace(/\\/g, '/')).replace(/#/g, '%23').replace(/\?/g, '%3F');
}
