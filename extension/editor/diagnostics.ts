// Findings as diagnostics in the editor and the Problems panel: the rule id as the code (linked
// to its paragraph in the README), the trace as related information, each step clickable.
import * as vscode from 'vscode';
import type { Severity } from '../core/findings';
import { diagnosticData, type DiagnosticData, type RelatedData, type TextRange } from '../translate/diagnosticData';
import { findingsForFile } from '../translate/documentAnalysis';
import type { AnalysedDocument, SeriesDocuments } from './seriesDocuments';
import { readSettings } from './settings';

export const DIAGNOSTIC_SOURCE = 'kvm-lens';

const SEVERITY: Record<Severity, vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  info: vscode.DiagnosticSeverity.Information,
};

export class FindingDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection(DIAGNOSTIC_SOURCE);
  private readonly subscription: vscode.Disposable;

  constructor(documents: SeriesDocuments, private readonly extensionUri: vscode.Uri) {
    this.subscription = documents.onDidAnalyse((d) => this.show(d));
  }

  private show(d: AnalysedDocument): void {
    if (d.version < 0) { this.collection.delete(d.uri); return; }
    const doc = vscode.workspace.textDocuments.find((x) => x.uri.toString() === d.uri.toString());
    const file = d.uri.fsPath || d.uri.path;
    const findings = findingsForFile(d.analysis.report, file, readSettings().severities);
    const diagnostics = findings.map((f) => {
      const lineText = doc && f.location.line - 1 < doc.lineCount ? doc.lineAt(f.location.line - 1).text : undefined;
      return toDiagnostic(diagnosticData(f, f.shownSeverity, lineText, file), this.extensionUri, (r) => this.targetUri(r, d.uri));
    });
    // input problems (a hunk that contradicts its header, a bad byte) belong in Problems too
    for (const p of d.analysis.problems) {
      if (p.file !== file) continue;
      const line = Math.max(0, (p.line ?? 1) - 1);
      const diag = new vscode.Diagnostic(new vscode.Range(line, 0, line, 200), p.message, p.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning);
      diag.source = DIAGNOSTIC_SOURCE;
      diag.code = 'input';
      diagnostics.push(diag);
    }
    this.collection.set(d.uri, diagnostics);
  }

  private targetUri(r: RelatedData, documentUri: vscode.Uri): vscode.Uri {
    switch (r.target.kind) {
      case 'file': return r.target.path === (documentUri.fsPath || documentUri.path) ? documentUri : vscode.Uri.file(r.target.path);
      case 'model': return modelUri(this.extensionUri, r.target.file);
      case 'workspace': {
        const folder = vscode.workspace.workspaceFolders?.[0];
        return folder ? vscode.Uri.joinPath(folder.uri, r.target.path) : vscode.Uri.file(r.target.path);
      }
    }
  }

  dispose(): void {
    this.subscription.dispose();
    this.collection.dispose();
  }
}

/** A finding's diagnostic: its rule as the code, linked to the rule's paragraph in the README, and its trace. */
export function toDiagnostic(data: DiagnosticData, extensionUri: vscode.Uri, targetOf: (r: RelatedData) => vscode.Uri): vscode.Diagnostic {
  const diag = new vscode.Diagnostic(range(data.range), data.message, SEVERITY[data.severity]);
  diag.source = DIAGNOSTIC_SOURCE;
  diag.code = { value: data.code, target: vscode.Uri.joinPath(extensionUri, 'README.md').with({ fragment: data.anchor }) };
  diag.relatedInformation = data.related.map((r) => new vscode.DiagnosticRelatedInformation(new vscode.Location(targetOf(r), range(r.range)), r.message));
  return diag;
}

/** The built-in model's C, shipped in the extension, for trace steps that ran in it. */
export function modelUri(extensionUri: vscode.Uri, file: string): vscode.Uri {
  return vscode.Uri.joinPath(extensionUri, 'dist', 'model', 'builtin', file);
}

function range(r: TextRange): vscode.Range {
  return new vscode.Range(r.startLine, r.startCharacter, r.endLine, r.endCharacter);
}
