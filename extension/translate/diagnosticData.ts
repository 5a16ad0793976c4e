// A finding as an editor diagnostic, in plain data: the range on the expression the finding is
// about, the rule id as code (with its README anchor), and the trace as related information.
import { patchName } from '../core/report/patchName';
import type { Finding, Severity, TraceStep } from '../core/findings';
import { MODEL_PREFIX } from '../core/model/builtinModel';

export interface TextRange { startLine: number; startCharacter: number; endLine: number; endCharacter: number } // 0-based

export interface RelatedData {
  /** Where the step ran: a document path, a model file inside the extension, or a workspace-relative path. */
  target: { kind: 'file'; path: string } | { kind: 'model'; file: string } | { kind: 'workspace'; path: string };
  range: TextRange;
  message: string;
}

export interface DiagnosticData {
  range: TextRange;
  message: string;
  severity: Severity;
  code: string;
  /** README anchor of the rule, e.g. "rule-vmsa-write-after-encryption". */
  anchor: string;
  related: RelatedData[];
}

/** The range of a finding on its line: from its column to the end of the statement (trailing space and comments left out). */
export function findingRange(lineText: string | undefined, line: number, column: number): TextRange {
  const l = Math.max(0, line - 1);
  if (lineText === undefined) return { startLine: l, startCharacter: Math.max(0, column - 1), endLine: l, endCharacter: Math.max(0, column - 1) };
  // a patch line starts with its '+', '-' or ' ': point at the code after it
  const codeStart = /^[+\- ]/.test(lineText) && column <= 1 ? firstNonSpace(lineText, 1) : Math.max(0, column - 1);
  const withoutComment = lineText.replace(/\s*(\/\*.*\*\/|\/\/.*)\s*$/, '');
  const end = Math.max(codeStart + 1, withoutComment.trimEnd().length);
  return { startLine: l, startCharacter: codeStart, endLine: l, endCharacter: end };
}

function firstNonSpace(text: string, from: number): number {
  let i = from;
  while (i < text.length && /\s/.test(text[i])) i++;
  return i < text.length ? i : from;
}

/** Where a location's file is: the document or another file on disk, a file of the built-in model, or a path relative to the workspace (a kernel tree). */
export function targetOf(file: string, documentFile: string): RelatedData['target'] {
  return file === documentFile ? { kind: 'file', path: file }
    : file.startsWith(MODEL_PREFIX) ? { kind: 'model', file: file.slice(MODEL_PREFIX.length) }
      : /^(\/|[A-Za-z]:)/.test(file) ? { kind: 'file', path: file } : { kind: 'workspace', path: file };
}

export function relatedStep(step: TraceStep, index: number, documentFile: string): RelatedData {
  const target = targetOf(step.location.file, documentFile);
  const l = Math.max(0, step.location.line - 1);
  const vcpu = step.vcpu === null ? '' : ` (vcpu ${step.vcpu})`;
  return { target, range: { startLine: l, startCharacter: 0, endLine: l, endCharacter: 200 }, message: `${index + 1}. ${step.operation}${vcpu}: ${step.note}` };
}

export function diagnosticData(f: Finding, severity: Severity, lineText: string | undefined, documentFile: string): DiagnosticData {
  const intro = f.introducedBy ? ` (introduced by ${patchName(f.introducedBy, f.introducedByPatch, true)})` : '';
  return {
    range: findingRange(lineText, f.location.line, f.location.column),
    message: f.message + intro,
    severity,
    code: f.rule,
    anchor: `rule-${f.rule}`,
    related: f.trace.map((s, i) => relatedStep(s, i, documentFile)),
  };
}
