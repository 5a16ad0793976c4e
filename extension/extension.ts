// The editor entry point. The editor features (diagnostics, hovers, CodeLens, series view,
// simulation panel) are the next issue; for now one command runs the core on the active
// patch or mbox and shows the report in an output channel, so the manifest is a working one.
import * as vscode from 'vscode';
import { analyzeSeries, DEFAULT_OPTIONS } from './core/analysis/analyzeSeries';
import { readSeries } from './core/series/seriesReader';
import { formatText } from './core/report/textReport';

export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel('KVM Lens');
  context.subscriptions.push(output);
  context.subscriptions.push(vscode.commands.registerCommand('kvmLens.checkActiveSeries', async () => {
    const doc = vscode.window.activeTextEditor?.document;
    if (!doc || doc.uri.scheme !== 'file') {
      void vscode.window.showInformationMessage('KVM Lens: open a .patch, .mbox or .eml file saved on disk first.');
      return;
    }
    const series = await readSeries([doc.uri.fsPath]);
    const report = await analyzeSeries(series, DEFAULT_OPTIONS);
    output.clear();
    for (const p of series.problems) output.appendLine(`${p.file}${p.line ? ':' + p.line : ''}: ${p.severity}: ${p.message}`);
    output.append(formatText(report));
    output.show(true);
  }));
}

export function deactivate(): void {
  // nothing outlives the subscriptions disposed by VS Code
}
