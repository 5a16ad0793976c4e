// The simulation panel: pick an ioctl sequence, step through it, see the state after each step
// (per VM and per vCPU, ground truth beside kernel flags) with the lines each step ran
// highlighted in the editor, and flip what-if assumptions to see which findings appear or
// vanish. A webview under a strict Content-Security-Policy with a nonce, no remote content.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { SequenceResult } from '../translate/sequenceSimulation';
import type { WhatIfResult } from '../translate/whatIf';
import type { AnalysisClient } from '../worker/analysisClient';
import { readSettings } from './settings';

type Step = { operation: string; vcpu: number | null };

/** The launch the review thread is about, with debugging armed before encryption. */
const DEFAULT_SEQUENCE: Step[] = [
  { operation: 'KVM_SEV_INIT2', vcpu: null }, { operation: 'KVM_CREATE_VCPU', vcpu: null },
  { operation: 'KVM_SET_GUEST_DEBUG', vcpu: 0 }, { operation: 'KVM_SEV_LAUNCH_START', vcpu: null },
  { operation: 'KVM_SEV_LAUNCH_UPDATE_VMSA', vcpu: null }, { operation: 'KVM_RUN', vcpu: 0 },
];

export class SimulationPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private document: vscode.TextDocument | undefined;
  private readonly highlight = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor('editor.rangeHighlightBackground'), isWholeLine: true,
  });
  /** The last results, for tests through the extension's API. */
  lastSequence: SequenceResult | undefined;
  lastWhatIf: WhatIfResult | undefined;

  constructor(private readonly extensionUri: vscode.Uri, private readonly client: AnalysisClient) {}

  /** Opens (or reveals) the panel for a series document and runs the default sequence. */
  async open(doc: vscode.TextDocument): Promise<SequenceResult | undefined> {
    this.document = doc;
    if (!this.panel) {
      this.panel = vscode.window.createWebviewPanel('kvmLens.simulation', 'KVM Lens: Simulation', vscode.ViewColumn.Beside, {
        enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'media')], retainContextWhenHidden: true,
      });
      this.panel.onDidDispose(() => { this.panel = undefined; this.clearHighlight(); });
      this.panel.webview.onDidReceiveMessage((m) => void this.onMessage(m));
      this.panel.webview.html = this.html(this.panel.webview);
    }
    this.panel.title = `KVM Lens: ${doc.uri.path.split('/').pop()}`;
    this.panel.reveal(vscode.ViewColumn.Beside, true);
    return this.simulate(DEFAULT_SEQUENCE);
  }

  async simulate(steps: Step[]): Promise<SequenceResult | undefined> {
    const doc = this.document;
    if (!doc) return undefined;
    const result = await this.client.simulateSequence({ file: doc.uri.fsPath || doc.uri.path, text: doc.getText(), settings: readSettings().analysis, steps });
    if (!result) return undefined;
    this.lastSequence = result;
    void this.panel?.webview.postMessage({ kind: 'sequence', steps, result });
    return result;
  }

  async whatIf(assumptions: Record<string, string>): Promise<WhatIfResult | undefined> {
    const doc = this.document;
    if (!doc) return undefined;
    const result = await this.client.whatIf({ file: doc.uri.fsPath || doc.uri.path, text: doc.getText(), settings: readSettings().analysis }, assumptions);
    if (!result) return undefined;
    this.lastWhatIf = result;
    void this.panel?.webview.postMessage({ kind: 'whatIf', assumptions, result });
    return result;
  }

  private async onMessage(m: { kind: string; steps?: Step[]; assumptions?: Record<string, string>; lines?: number[] }): Promise<void> {
    if (m.kind === 'simulate' && m.steps) await this.simulate(m.steps);
    else if (m.kind === 'whatIf' && m.assumptions) await this.whatIf(m.assumptions);
    else if (m.kind === 'showLines' && m.lines) this.showLines(m.lines);
  }

  /** Highlights the lines a step ran and scrolls to the first. */
  private showLines(lines: number[]): void {
    const doc = this.document;
    const editor = doc && vscode.window.visibleTextEditors.find((e) => e.document === doc);
    if (!editor) return;
    const ranges = lines.filter((l) => l >= 1 && l <= doc.lineCount).map((l) => new vscode.Range(l - 1, 0, l - 1, 0));
    editor.setDecorations(this.highlight, ranges);
    if (ranges[0]) editor.revealRange(ranges[0], vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  private clearHighlight(): void {
    for (const e of vscode.window.visibleTextEditors) e.setDecorations(this.highlight, []);
  }

  private html(webview: vscode.Webview): string {
    const nonce = randomBytes(16).toString('base64');
    const media = (f: string) => webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'media', f));
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${webview.cspSource}; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link href="${media('simulation.css')}" rel="stylesheet">
<title>KVM Lens: Simulation</title>
</head>
<body>
<section id="sequence" aria-label="ioctl sequence"></section>
<section id="whatif" aria-label="what-if assumptions"></section>
<section id="steps" aria-label="state after each step"></section>
<script nonce="${nonce}" src="${media('simulation.js')}"></script>
</body>
</html>`;
  }

  dispose(): void {
    this.panel?.dispose();
    this.highlight.dispose();
  }
}
