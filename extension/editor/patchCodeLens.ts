// Above each patch of a series: its place in the series, how many findings its lines hold,
// and how many findings it introduced or fixed (the timeline).
import * as vscode from 'vscode';
import { isPatchAt } from '../core/report/patchName';
import type { SeriesDocuments } from './seriesDocuments';

export class PatchCodeLens implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly documents: SeriesDocuments) {
    this.subscription = documents.onDidAnalyse(() => this.changed.fire());
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const result = this.documents.get(doc.uri);
    if (!result || result.version !== doc.version) return [];
    const { report } = result.analysis;
    // the series may include sibling files: lenses only for the patches in this document
    const file = doc.uri.fsPath || doc.uri.path;
    const patches = result.analysis.patches.filter((p) => p.file === file);
    const lenses: vscode.CodeLens[] = [];
    for (const p of patches) {
      const line = Math.min(Math.max(0, p.startLine - 1), doc.lineCount - 1);
      const range = new vscode.Range(line, 0, line, 0);
      const next = patches.filter((x) => x.startLine > p.startLine).map((x) => x.startLine).sort((a, b) => a - b)[0] ?? Number.MAX_SAFE_INTEGER;
      const inPatch = report.findings.filter((f) => f.location.file === p.file && f.location.line >= p.startLine && f.location.line < next && f.rule !== 'analysis-incomplete');
      const introduced = report.findings.filter((f) => isPatchAt(f.introducedByPatch, p.file, p.startLine)).length;
      const fixed = report.fixed.filter((f) => isPatchAt(f.fixedByPatch, p.file, p.startLine)).length;
      const place = p.index !== undefined && p.total !== undefined ? `${String(p.index).padStart(String(p.total).length, '0')}/${p.total}` : 'patch';
      const parts = [`${place}: ${inPatch.length} finding${inPatch.length === 1 ? '' : 's'}`];
      if (introduced) parts.push(`${introduced} introduced here`);
      if (fixed) parts.push(`fixes ${fixed}`);
      lenses.push(new vscode.CodeLens(range, { title: `KVM Lens ${parts.join(' · ')}`, command: 'workbench.actions.view.problems', tooltip: 'Show the findings in the Problems panel' }));
      lenses.push(new vscode.CodeLens(range, { title: 'Simulate', command: 'kvmLens.openSimulation', arguments: [doc.uri, p.startLine], tooltip: 'Step an ioctl sequence through the series up to this patch in the simulation panel' }));
    }
    return lenses;
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}
