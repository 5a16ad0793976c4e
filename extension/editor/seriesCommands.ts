// Two commands: "Open Series…" (patch files, an mbox or b4's .mbx/.cover, or a directory of
// format-patch files, picked in a dialog) and "Check Series Against Kernel Tree" (the active
// series, against the kernel tree; when there is none yet, a tree picked in a dialog, which
// then stays the tree until kvmLens.kernelTree changes). The report goes to the output channel
// with the base line first, as `kvm-lens check SERIES --tree DIR` prints it.
import * as vscode from 'vscode';
import { formatText } from '../core/report/textReport';
import type { KernelWorkspace } from './kernelWorkspace';
import type { SeriesDocuments } from './seriesDocuments';

export const OPEN_SERIES_COMMAND = 'kvmLens.openSeries';
export const CHECK_AGAINST_TREE_COMMAND = 'kvmLens.checkSeriesAgainstTree';

/** What the check command returns (tests, other extensions). */
export interface TreeCheckResult {
  root: string;
  baseLine: string;
  findings: number;
}

export class SeriesCommands implements vscode.Disposable {
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly documents: SeriesDocuments, private readonly kernel: KernelWorkspace, private readonly output: vscode.OutputChannel) {
    this.subscriptions = [
      vscode.commands.registerCommand(OPEN_SERIES_COMMAND, (uris?: unknown) => this.open(uris)),
      vscode.commands.registerCommand(CHECK_AGAINST_TREE_COMMAND, () => this.checkAgainstTree()),
    ];
  }

  /** Opens the series given (a URI or URIs: tests, other extensions), else the one picked in a dialog. */
  async open(given?: unknown): Promise<vscode.Uri | undefined> {
    const uris = given instanceof vscode.Uri ? [given] : Array.isArray(given) && given.every((u) => u instanceof vscode.Uri) ? given as vscode.Uri[] : await this.pick();
    return uris?.length ? this.documents.openSeries(uris) : undefined;
  }

  /** A dialog cannot offer files and folders at once on every platform: ask which first. */
  private async pick(): Promise<vscode.Uri[] | undefined> {
    const files = { label: '$(file) Patch files or an mbox…', description: '.patch, .diff, .mbox, .mbx, .eml, b4\'s .cover' };
    const folder = { label: '$(folder) A directory of format-patch files…' };
    const which = await vscode.window.showQuickPick([files, folder], { title: 'KVM Lens: Open Series', placeHolder: 'What holds the series?' });
    if (!which) return undefined;
    return vscode.window.showOpenDialog(which === files
      ? { canSelectFiles: true, canSelectFolders: false, canSelectMany: true, openLabel: 'Open Series', filters: { 'Patch series': ['patch', 'diff', 'mbox', 'mbx', 'eml', 'cover'], 'All files': ['*'] } }
      : { canSelectFiles: false, canSelectFolders: true, canSelectMany: false, openLabel: 'Open Series' });
  }

  async checkAgainstTree(): Promise<TreeCheckResult | undefined> {
    const doc = vscode.window.activeTextEditor?.document;
    if (!doc || !this.documents.isSeries(doc)) {
      void vscode.window.showInformationMessage('KVM Lens: open a series first (KVM Lens: Open Series…), then check it against the kernel tree.');
      return undefined;
    }
    if (!this.kernel.root) {
      const picked = await vscode.window.showOpenDialog({ canSelectFiles: false, canSelectFolders: true, canSelectMany: false, openLabel: 'Use This Kernel Tree', title: 'KVM Lens: the kernel tree to check the series against (set kvmLens.kernelTree to keep it)' });
      if (!picked?.[0]) return undefined;
      this.kernel.pick(picked[0].fsPath);
    }
    const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'KVM Lens: checking the series against the kernel tree' }, () => this.documents.analyseNow(doc));
    const tree = result?.analysis.tree;
    if (!result || !tree) {
      void vscode.window.showWarningMessage('KVM Lens: the series could not be checked against the kernel tree; the output channel says why.');
      this.output.show(true);
      return undefined;
    }
    const { analysis } = result;
    this.output.clear();
    this.output.appendLine(tree.baseLine);
    this.output.appendLine(tree.scope);
    for (const n of tree.notes) this.output.appendLine(n);
    for (const p of analysis.problems) this.output.appendLine(`${p.file}${p.line ? ':' + p.line : ''}: ${p.severity}: ${p.message}`);
    this.output.append(formatText(analysis.report));
    this.output.show(true);
    return { root: tree.root, baseLine: tree.baseLine, findings: analysis.report.findings.length };
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
  }
}
