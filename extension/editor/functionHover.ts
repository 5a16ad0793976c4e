// Hover on a function's code in a patch: its summary (guards, VMSA-backed reads and writes,
// flags it sets, how each path ends) and the ioctls that reach it.
import * as vscode from 'vscode';
import { summaryMarkdown } from './kernelSourceFeatures';
import type { SeriesDocuments } from './seriesDocuments';

export class FunctionHover implements vscode.HoverProvider {
  constructor(private readonly documents: SeriesDocuments) {}

  provideHover(doc: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
    const result = this.documents.get(doc.uri);
    if (!result) return undefined;
    const file = doc.uri.fsPath || doc.uri.path;
    const line = position.line + 1;
    const fn = (result.analysis.report.functions ?? []).find((f) => f.file === file && f.line <= line && line <= f.endLine);
    if (!fn) return undefined;
    return new vscode.Hover(summaryMarkdown(fn));
  }
}
