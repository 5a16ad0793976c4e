// One status bar item: the analysis state and the finding count of the active series, or of the
// kernel tree when a KVM C file of it is active (a spinner while either is analysed).
import * as vscode from 'vscode';
import type { KernelWorkspace } from './kernelWorkspace';
import type { SeriesDocuments } from './seriesDocuments';

export class LensStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('kvmLens.status', vscode.StatusBarAlignment.Left, 50);
  private readonly subscriptions: vscode.Disposable[] = [];
  private busy = 0;

  private treeBusy = false;

  constructor(private readonly documents: SeriesDocuments, private readonly kernel?: KernelWorkspace) {
    this.item.name = 'KVM Lens';
    this.item.command = 'workbench.actions.view.problems';
    this.subscriptions.push(
      documents.onDidAnalyse(() => this.update()),
      documents.onDidChangeBusy((n) => { this.busy = n; this.update(); }),
      vscode.window.onDidChangeActiveTextEditor(() => this.update()),
      ...(kernel ? [kernel.onDidAnalyse(() => this.update()), kernel.onDidChangeBusy((busy) => { this.treeBusy = busy; this.update(); })] : []),
    );
    this.update();
  }

  private update(): void {
    const editor = vscode.window.activeTextEditor;
    if (editor && this.kernel?.pathOf(editor.document)) { this.showTree(this.kernel); return; }
    if (!editor || !this.documents.isSeries(editor.document)) { this.item.hide(); return; }
    const result = this.documents.get(editor.document.uri);
    if (this.busy > 0) {
      this.item.text = '$(sync~spin) KVM Lens: simulating';
      this.item.tooltip = 'Simulating the SEV-ES lifecycle over this series';
    } else if (result) {
      const f = result.analysis.report.findings;
      const errors = f.filter((x) => x.severity === 'error').length;
      const warnings = f.filter((x) => x.severity === 'warning').length;
      this.item.text = `$(shield) KVM Lens: ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`;
      const tree = result.analysis.tree;
      this.item.tooltip = `${result.analysis.report.stats.patches} patches, ${result.analysis.report.stats.statesExplored} states explored in ${result.ms.toFixed(0)} ms`
        + (tree ? `, against the kernel tree ${tree.root}\n${tree.baseLine}` : ', against the built-in model');
    } else {
      this.item.text = '$(shield) KVM Lens';
      this.item.tooltip = 'Not analysed yet';
    }
    this.item.show();
  }

  /** A KVM C file of the kernel tree: the tree audit's state and counts. */
  private showTree(kernel: KernelWorkspace): void {
    const last = kernel.last;
    if (this.treeBusy || !last) {
      this.item.text = '$(sync~spin) KVM Lens: auditing the tree';
      this.item.tooltip = `Simulating the SEV-ES lifecycle over the KVM sources of ${kernel.root ?? 'the kernel tree'}`;
    } else {
      const f = last.report.findings;
      const errors = f.filter((x) => x.severity === 'error').length;
      const warnings = f.filter((x) => x.severity === 'warning').length;
      this.item.text = `$(shield) KVM Lens: ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'} in the tree`;
      this.item.tooltip = `${last.report.tree.files} files, ${last.report.tree.operations.reduce((n, d) => n + d.operations, 0)} operations, ${last.report.stats.statesExplored} states; analysed in ${last.ms.toFixed(0)} ms`;
    }
    this.item.show();
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.item.dispose();
  }
}
