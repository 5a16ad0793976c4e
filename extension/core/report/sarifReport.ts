// SARIF 2.1.0 output, for code-scanning services and SARIF viewers. The ioctl trace becomes a
// codeFlow so viewers can step through the lifecycle that leads to each finding.
//
// What consumers need, as Microsoft's SARIF validator and GitHub code scanning check it:
// - every URI is absolute or a relative reference with a uriBaseId. Files are located relative
//   to %SRCROOT% (the kernel tree's root for a tree report, else the directory relative input
//   paths are relative to), whose absolute file: URI is in originalUriBaseIds; a file outside it
//   keeps an absolute file: URI with no base. The built-in model's files are relative to
//   %BUILTIN_MODEL%, described but not given an address (it is wherever kvm-lens is installed).
// - rule help as help.text and help.markdown (no relative helpUri: it resolves nowhere);
// - every result has a file location: a finding located at no file (the simulation's bound,
//   an assumption naming nothing) is a tool execution notification of the run, not a result,
//   since GitHub rejects a whole log for one result without an artifact location.

import { isAbsolute, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pkg from '../../../package.json';
import type { AnalysisReport, Finding, Severity, SourceLocation, TraceStep } from '../findings';
import { MODEL_PREFIX } from '../model/builtinModel';
import { RULES, helpUri, ruleIndex, type RuleMeta } from '../rules/ruleCatalog';

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';
export const FINGERPRINT_KEY = 'kvmLens/v1';
/** The base of files in the analysed sources (GitHub code scanning's name for the checkout). */
export const SRCROOT = '%SRCROOT%';
/** The base of the built-in model's files (`builtin-model/x86.c` is `x86.c` there). */
export const BUILTIN_MODEL = '%BUILTIN_MODEL%';
/** The project's address, as package.json's repository states it. */
export const TOOL_INFORMATION_URI: string = pkg.repository.url.replace(/^git\+/, '').replace(/\.git$/, '');

export interface SarifOptions {
  /** Base URL for rule help links (absolute, e.g. the repository's web address); without it rules carry no helpUri. */
  helpBase?: string;
  /**
   * The directory relative paths of the report are relative to: %SRCROOT%. Default: the tree's
   * root for a kernel-tree report, else the current directory (where input paths were given).
   */
  srcRoot?: string;
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
  const treeRoot = (report as { root?: unknown }).root;
  const srcRoot = resolve(opts.srcRoot ?? (typeof treeRoot === 'string' ? treeRoot : process.cwd()));
  const where = (file: string): ArtifactLocation => artifactLocation(file, srcRoot);
  const located = report.findings.filter((f) => !isPseudoFile(f.location.file));
  const unlocated = report.findings.filter((f) => isPseudoFile(f.location.file));
  const run: Record<string, unknown> = {
    tool: {
      driver: {
        name: 'kvm-patch-lens',
        version: toolVersion,
        informationUri: TOOL_INFORMATION_URI,
        rules: RULES.map((rule) => reportingDescriptor(rule, opts.helpBase)),
      },
    },
    originalUriBaseIds: {
      [SRCROOT]: {
        uri: directoryUri(srcRoot),
        description: { text: 'The root of the analysed sources: the kernel tree for a tree report, else the directory the inputs were given from.' },
      },
      [BUILTIN_MODEL]: {
        description: { text: "The built-in model of the KVM/SVM handlers shipped with kvm-patch-lens (extension/core/model/builtin/ in its sources, dist/model/builtin/ where it is installed), on which a series is simulated when no kernel tree is given." },
      },
    },
    results: located.map((f) => sarifResult(f, where)),
  };
  if (unlocated.length > 0) {
    run.invocations = [{ executionSuccessful: true, toolExecutionNotifications: unlocated.map(notification) }];
  }
  // Fixed findings are not results (they are not in the final tree); keep a short record so
  // a reviewer can still see what the series fixed along the way.
  if (report.fixed.length > 0) {
    run.properties = {
      fixed: report.fixed.map((f) => ({
        ruleId: f.rule,
        message: f.message,
        location: isPseudoFile(f.location.file) ? null : physicalLocation(f.location.file, { startLine: f.location.line }, where),
        introducedBy: f.introducedBy ?? null,
        introducedByPatch: f.introducedByPatch ?? null,
        fixedBy: f.fixedBy ?? null,
        fixedByPatch: f.fixedByPatch ?? null,
        fingerprint: f.key,
      })),
    };
  }
  return { $schema: SARIF_SCHEMA, version: '2.1.0', runs: [run] };
}

function reportingDescriptor(rule: RuleMeta, helpBase: string | undefined): object {
  const descriptor: Record<string, unknown> = {
    id: rule.id,
    name: rule.name,
    shortDescription: { text: rule.shortDescription },
    fullDescription: { text: rule.fullDescription },
    defaultConfiguration: { level: sarifLevel(rule.defaultSeverity) },
    help: ruleHelp(rule),
  };
  const uri = helpBase === undefined ? undefined : helpUri(rule.id, helpBase);
  if (uri !== undefined && isAbsoluteUri(uri)) descriptor.helpUri = uri;
  return descriptor;
}

/** The rule's help: what it reports and what to do, then where the README says more. */
export function ruleHelp(rule: RuleMeta): { text: string; markdown: string } {
  const where = `kvm-lens README, section Rules, "${rule.id}"`;
  return {
    text: `${rule.shortDescription}\n\n${rule.fullDescription}\n\nDefault severity: ${rule.defaultSeverity}. More in the ${where}.`,
    markdown: `**${markdownText(rule.shortDescription)}**\n\n${markdownText(rule.fullDescription)}\n\nDefault severity: ${rule.defaultSeverity}. More in the ${markdownText(where)}.`,
  };
}

/**
 * Plain catalog text as Markdown: kernel identifiers (`KVM_SET_REGS`, `vcpu->arch.guest_state_protected`,
 * `save.dr7`) as code, and the characters Markdown would take as syntax escaped elsewhere.
 */
export function markdownText(text: string): string {
  const identifier = /[A-Za-z_][A-Za-z0-9_]*(?:(?:->|\.)[A-Za-z_][A-Za-z0-9_]*)+|\b[A-Za-z0-9]*_[A-Za-z0-9_]*\b/g;
  let out = '';
  let at = 0;
  for (const m of text.matchAll(identifier)) {
    out += escapeMarkdown(text.slice(at, m.index)) + '`' + m[0] + '`';
    at = m.index! + m[0].length;
  }
  return out + escapeMarkdown(text.slice(at));
}

function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_[\]<>]/g, (c) => `\\${c}`);
}

function isAbsoluteUri(uri: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:/.test(uri) && URL.canParse(uri);
}

function sarifResult(finding: Finding, where: (file: string) => ArtifactLocation): object {
  const result: Record<string, unknown> = {
    ruleId: finding.rule,
    ruleIndex: ruleIndex(finding.rule),
    level: sarifLevel(finding.severity),
    message: { text: finding.message },
    locations: [resultLocation(finding.location, where)],
  };
  // SARIF requires at least one thread-flow location, so an empty trace gets no codeFlow.
  if (finding.trace.length > 0) {
    result.codeFlows = [{ threadFlows: [{ locations: finding.trace.map((step, i) => threadFlowLocation(step, i, where)) }] }];
  }
  result.partialFingerprints = { [FINGERPRINT_KEY]: finding.key };
  result.properties = { introducedBy: finding.introducedBy ?? null, introducedByPatch: finding.introducedByPatch ?? null };
  return result;
}

/** A finding located at no file, as a notification of the run (its rule named). */
function notification(finding: Finding): object {
  return {
    level: sarifLevel(finding.severity),
    message: { text: finding.message },
    associatedRule: { id: finding.rule, index: ruleIndex(finding.rule) },
    properties: { fingerprint: finding.key },
  };
}

function resultLocation(loc: SourceLocation, where: (file: string) => ArtifactLocation): object {
  const region: Record<string, number> = { startLine: loc.line, startColumn: loc.column };
  if (loc.endLine !== undefined) region.endLine = loc.endLine;
  if (loc.endColumn !== undefined) region.endColumn = loc.endColumn;
  const location: Record<string, unknown> = physicalLocation(loc.file, region, where);
  if (loc.function) location.logicalLocations = [{ name: loc.function, kind: 'function' }];
  return location;
}

function threadFlowLocation(step: TraceStep, i: number, where: (file: string) => ArtifactLocation): object {
  const vcpu = step.vcpu === null ? '' : ` (vcpu ${step.vcpu})`;
  return {
    location: {
      // a step at no file (a placeholder such as <simulation>) is its message alone
      ...(isPseudoFile(step.location.file) ? {} : physicalLocation(step.location.file, { startLine: step.location.line }, where)),
      message: { text: `${step.operation}${vcpu}${step.note ? `: ${step.note}` : ''}` },
    },
    executionOrder: i + 1,
  };
}

function physicalLocation(file: string, region: Record<string, number>, where: (file: string) => ArtifactLocation): Record<string, unknown> {
  return { physicalLocation: { artifactLocation: where(file), region } };
}

export interface ArtifactLocation {
  uri: string;
  uriBaseId?: string;
}

/**
 * Where a report's file is, as SARIF says it: the built-in model's files relative to
 * %BUILTIN_MODEL%; any other path (relative ones taken from `srcRoot`; `\` read as `/`) relative
 * to %SRCROOT% when it lies inside it, else an absolute file: URI with no base.
 */
export function artifactLocation(file: string, srcRoot: string): ArtifactLocation {
  const path = file.replace(/\\/g, '/');
  if (path.startsWith(MODEL_PREFIX)) return { uri: relativeUri(path.slice(MODEL_PREFIX.length)), uriBaseId: BUILTIN_MODEL };
  const absolute = resolve(srcRoot, path);
  const inside = relative(srcRoot, absolute);
  if (inside !== '' && !isAbsolute(inside) && inside.split(/[\\/]/)[0] !== '..') {
    return { uri: relativeUri(inside.replace(/\\/g, '/')), uriBaseId: SRCROOT };
  }
  return { uri: pathToFileURL(absolute).href };
}

/** A directory's absolute file: URI, ending with '/' as a base URI must. */
function directoryUri(dir: string): string {
  const href = pathToFileURL(dir).href;
  return href.endsWith('/') ? href : `${href}/`;
}

/** A relative path as a relative reference: each segment percent-encoded (so a ':' cannot read as a scheme). */
function relativeUri(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** The analysis' placeholders for "no file" (`<simulation>`, `<assumption>`, `<operations>`). */
function isPseudoFile(file: string): boolean {
  return /^<[^<>/]*>$/.test(file);
}
