// The simulation panel: an ioctl sequence run over the series' code (up to one patch when
// opened from its CodeLens), stepped forward and back. It shows the state after the current
// step (per VM and per vCPU, ground truth beside the kernel's flags), marks the steps where a
// hazard happens as Problems shows it, and highlights the C lines the step ran in the editor,
// opening the model's or another patch's file when the step ran there. The what-if controls
// hold the values the shown result was computed with; changing one runs the sequence again
// and compares the series' findings. A webview with a strict Content-Security-Policy and a
// nonce, no remote content; it draws what the extension sends and reports what it shows.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { targetOf } from '../translate/diagnosticData';
import type { SequenceResult } from '../translate/sequenceSimulation';
import { type HazardMark, hazardMarks, sequenceForPatch } from '../translate/simulationTrace';
import { type PatchRef, sameWhatIf, whatIfFromSettings, type WhatIfValues } from '../translate/simulationWhatIf';
import type { WhatIfResult } from '../translate/whatIf';
import type { AnalysisClient } from '../worker/analysisClient';
import { modelUri } from './diagnostics';
import { type SeriesDocuments, siblingTexts } from './seriesDocuments';
import { readSettings } from './settings';

type Step = { operation: string; vcpu: number | null };

/** The launch the review thread is about, with debugging armed before encryption. */
const DEFAULT_SEQUENCE: Step[] = [
  { operation: 'KVM_SEV_INIT2', vcpu: null }, { operation: 'KVM_CREATE_VCPU', vcpu: null },
  { operation: 'KVM_SET_GUEST_DEBUG', vcpu: 0 }, { operation: 'KVM_SEV_LAUNCH_START', vcpu: null },
  { operation: 'KVM_SEV_LAUNCH_UPDATE_VMSA', vcpu: null }, { operation: 'KVM_RUN', vcpu: 0 },
];

/** What the page reports after drawing: read from its own DOM (tests read it through the extension's API). */
export interface ShownPanel {
  renderId: number;
  current: number;
  total: number;
  heading: string;
  /** The state table of the current step, a line per row, cells joined by " | ". */
  state: string;
  /** The hazard rows of the step list. */
  hazards: { step: number; rule: string; text: string }[];
  /** The what-if controls' values as the page shows them. */
  controls: WhatIfValues;
  guardOptions: string[];
  /** The page is no wider than the panel, and whether its tables collapsed to one column. */
  fitsWidth: boolean;
  collapsed: boolean;
  width: number;
  status: string;
}

/** One place the current step's lines are highlighted. */
export interface Highlight { uri: string; lines: number[] }

export class SimulationPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private document: vscode.TextDocument | undefined;
  /** The editor column the series is in: files a step ran are opened there. */
  private column = vscode.ViewColumn.One;
  private through: PatchRef | undefined;
  private steps: Step[] = DEFAULT_SEQUENCE;
  private values: WhatIfValues | undefined;
  /** Values a run is under way with, shown until its result comes. */
  private pending: WhatIfValues | undefined;
  private current = 0;
  private generation = 0;
  private error: string | undefined;
  private diff: WhatIfResult | 'computing' | undefined;
  private renderId = 0;
  private readonly highlight = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor('editor.rangeHighlightBackground'), isWholeLine: true,
    after: { color: new vscode.ThemeColor('editorCodeLens.foreground'), margin: '0 0 0 2em' },
  });
  private readonly subscriptions: vscode.Disposable[] = [];
  /** The last results and what the page last showed (tests, through the extension's API). */
  lastSequence: SequenceResult | undefined;
  lastWhatIf: WhatIfResult | undefined;
  shown: ShownPanel | undefined;
  highlighted: Highlight[] = [];

  constructor(private readonly extensionUri: vscode.Uri, private readonly client: AnalysisClient, private readonly documents: SeriesDocuments) {
    this.subscriptions.push(
      vscode.window.onDidChangeVisibleTextEditors(() => this.decorate()),
      // the series was analysed again: an edit runs the steps again (same steps, same values), else the marks follow Problems
      documents.onDidAnalyse((d) => {
        if (!this.panel || !this.document || d.uri.toString() !== this.document.uri.toString()) return;
        if (this.document.version !== this.ranVersion) void this.run();
        else this.render();
      }),
    );
  }

  /** The document's version the last run read. */
  private ranVersion = -1;

  /**
   * Opens (or reveals) the panel on a series document and runs its sequence: on the patch that
   * starts at `patchLine`, the series up to that patch and the trace of a finding in it (else the
   * launch with debugging armed); without it, the whole series and that launch. The what-if
   * values start as the settings give them.
   */
  async open(doc: vscode.TextDocument, patchLine?: number): Promise<SequenceResult | undefined> {
    this.document = doc;
    const file = docFile(doc);
    const editor = vscode.window.visibleTextEditors.find((e) => e.document === doc);
    this.column = editor?.viewColumn ?? vscode.ViewColumn.One;
    const analysed = this.documents.get(doc.uri);
    const findings = analysed ? [...analysed.analysis.report.findings, ...analysed.analysis.report.fixed] : [];
    this.through = undefined;
    this.steps = DEFAULT_SEQUENCE;
    if (patchLine !== undefined) {
      this.through = { file, startLine: patchLine };
      const starts = (analysed?.analysis.patches ?? []).filter((p) => p.file === file).map((p) => p.startLine);
      const end = Math.min(...starts.filter((l) => l > patchLine), Number.MAX_SAFE_INTEGER);
      this.steps = sequenceForPatch(findings, file, patchLine, end) ?? DEFAULT_SEQUENCE;
    }
    this.values = whatIfFromSettings(readSettings().analysis);
    this.current = -1;
    this.diff = undefined;
    this.lastWhatIf = undefined;
    if (!this.panel) {
      this.panel = vscode.window.createWebviewPanel('kvmLens.simulation', 'KVM Lens: Simulation', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
        enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'media')], retainContextWhenHidden: true,
      });
      this.panel.onDidDispose(() => { this.panel = undefined; this.shown = undefined; this.clearHighlight(); });
      this.panel.webview.onDidReceiveMessage((m) => void this.onMessage(m));
      this.panel.webview.html = this.html(this.panel.webview);
    }
    this.panel.title = `KVM Lens: ${doc.uri.path.split('/').pop()}`;
    this.panel.reveal(undefined, true);
    return this.run();
  }

  /** Runs the current sequence under `values` (the ones not given stay), then compares the series' findings with the settings'. */
  async setWhatIf(values: Partial<WhatIfValues>): Promise<SequenceResult | undefined> {
    if (!this.values) return undefined;
    this.values = { ...this.values, ...values, guardAbsent: [...(values.guardAbsent ?? this.values.guardAbsent)] };
    return this.run();
  }

  /** Runs another sequence under the same values. */
  async setSequence(steps: Step[]): Promise<SequenceResult | undefined> {
    this.steps = steps.map((s) => ({ operation: s.operation, vcpu: s.vcpu }));
    return this.run();
  }

  /** Shows the state after step `index` (0: the VM before the first step) and highlights its lines. */
  async goto(index: number): Promise<void> {
    const total = this.lastSequence?.steps.length ?? 0;
    this.current = Math.max(0, Math.min(total, Math.round(index)));
    this.render();
    await this.showLines();
  }

  stepForward(): Promise<void> { return this.goto(this.current + 1); }
  stepBack(): Promise<void> { return this.goto(this.current - 1); }

  /** Acts on the page as a user would: clicks an element or sets a control, by CSS selector (tests). */
  automate(action: { click: string } | { set: string; value: string | boolean }): void {
    void this.panel?.webview.postMessage({ kind: 'automate', ...action });
  }

  private async run(): Promise<SequenceResult | undefined> {
    const doc = this.document;
    const values = this.values;
    if (!doc || !values) return undefined;
    const gen = ++this.generation;
    this.pending = values;
    this.error = undefined;
    this.render();
    const settings = readSettings().analysis;
    const file = docFile(doc);
    this.ranVersion = doc.version;
    const request = { file, text: doc.getText(), settings, siblings: siblingTexts(doc, file), ...(this.through ? { through: this.through } : {}) };
    let result: SequenceResult | undefined;
    try {
      result = await this.client.simulateSequence({ ...request, steps: this.steps, whatIf: values });
    } catch (e) {
      if (gen === this.generation) { this.pending = undefined; this.error = `the simulation failed: ${(e as Error).message.split('\n')[0]}`; this.render(); }
      return undefined;
    }
    if (!result || gen !== this.generation) return undefined; // a newer run replaced this one
    this.lastSequence = result;
    this.pending = undefined;
    const firstHazard = result.steps.findIndex((s) => s.hazards.length > 0);
    this.current = this.current < 0 ? (firstHazard >= 0 ? firstHazard + 1 : Math.min(1, result.steps.length)) : Math.min(this.current, result.steps.length);
    const configured = whatIfFromSettings(settings);
    this.diff = sameWhatIf(values, configured) ? undefined : 'computing';
    this.render();
    await this.showLines();
    if (this.diff === 'computing') {
      try {
        const diff = await this.client.whatIf(request, values);
        if (diff && gen === this.generation) { this.diff = diff; this.lastWhatIf = diff; this.render(); }
      } catch (e) {
        if (gen === this.generation) { this.diff = undefined; this.error = `comparing the findings failed: ${(e as Error).message.split('\n')[0]}`; this.render(); }
      }
    }
    return result;
  }

  private async onMessage(m: { kind: string; index?: number; delta?: number; steps?: Step[]; values?: WhatIfValues; shown?: ShownPanel }): Promise<void> {
    switch (m.kind) {
      case 'ready': this.render(); break;
      case 'goto': if (typeof m.index === 'number') await this.goto(m.index); break;
      case 'step': if (typeof m.delta === 'number') await this.goto(this.current + m.delta); break;
      case 'sequence': if (Array.isArray(m.steps)) await this.setSequence(m.steps); break;
      case 'whatIf': if (m.values) await this.setWhatIf(m.values); break;
      case 'shown': if (m.shown) this.shown = m.shown; break;
    }
  }

  /** Everything the page draws, in one message: it keeps no state of its own but the add-step picks. */
  private render(): void {
    if (!this.panel || !this.document) return;
    const result = this.lastSequence;
    const analysed = this.documents.get(this.document.uri);
    const marks: HazardMark[] = result ? hazardMarks(result.steps, analysed?.analysis.report.findings ?? [], readSettings().severities) : [];
    const name = this.document.uri.path.split('/').pop() ?? '';
    const applied = result?.applied;
    const scope = !applied ? '' : this.through ? `patches 1–${applied.patches} of ${applied.total} (up to ${applied.last ?? 'the first'})` : `all ${applied.total} patch${applied.total === 1 ? '' : 'es'}`;
    void this.panel.webview.postMessage({
      kind: 'render',
      model: {
        renderId: ++this.renderId,
        title: `${name}: ${scope || 'simulating…'}, on the built-in model`,
        steps: this.steps,
        result,
        current: Math.max(0, this.current),
        marks,
        pending: this.pending,
        configured: whatIfFromSettings(readSettings().analysis),
        diff: this.diff === 'computing' ? { computing: true } : this.diff && {
          appeared: this.diff.appeared.map(brief), vanished: this.diff.vanished.map(brief), unchanged: this.diff.unchanged,
        },
        error: this.error,
      },
    });
  }

  /** Highlights the lines the current step ran, revealing the first file's (opening it beside the panel when it is not shown). */
  private async showLines(): Promise<void> {
    const result = this.lastSequence;
    const doc = this.document;
    const step = result && this.current > 0 ? result.steps[this.current - 1] : undefined;
    if (!doc || !step) { this.highlighted = []; this.decorate(); return; }
    const label = `← step ${this.current}: ${step.operation}${step.vcpu === null ? '' : ` (vcpu ${step.vcpu})`}`;
    this.highlighted = step.places.map((p) => ({ uri: this.uriOf(p.file).toString(), lines: p.lines }));
    this.label = label;
    const first = step.places[0];
    if (first) {
      const uri = this.uriOf(first.file);
      let editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri.toString());
      if (!editor) {
        try {
          editor = await vscode.window.showTextDocument(uri, { viewColumn: this.column, preserveFocus: true, preview: true });
        } catch (e) {
          this.error = `cannot open ${first.file}: ${(e as Error).message}`;
          this.render();
        }
      }
      const line = Math.max(0, Math.min(first.lines[0] - 1, (editor?.document.lineCount ?? 1) - 1));
      editor?.revealRange(new vscode.Range(line, 0, line, 0), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    }
    this.decorate();
  }

  private label = '';

  /** The current step's lines in every visible editor of a file it ran (and none elsewhere). */
  private decorate(): void {
    for (const e of vscode.window.visibleTextEditors) {
      const mine = this.highlighted.find((h) => h.uri === e.document.uri.toString());
      const lines = (mine?.lines ?? []).filter((l) => l >= 1 && l <= e.document.lineCount);
      e.setDecorations(this.highlight, lines.map((l, i) => ({
        range: new vscode.Range(l - 1, 0, l - 1, 0),
        ...(i === 0 ? { renderOptions: { after: { contentText: this.label } } } : {}),
      })));
    }
  }

  private uriOf(file: string): vscode.Uri {
    const doc = this.document!;
    const target = targetOf(file, docFile(doc));
    switch (target.kind) {
      case 'file': return target.path === docFile(doc) ? doc.uri : vscode.Uri.file(target.path);
      case 'model': return modelUri(this.extensionUri, target.file);
      case 'workspace': {
        const folder = vscode.workspace.workspaceFolders?.[0];
        return folder ? vscode.Uri.joinPath(folder.uri, target.path) : vscode.Uri.file(target.path);
      }
    }
  }

  private clearHighlight(): void {
    this.highlighted = [];
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
<header id="title" aria-live="polite"></header>
<section id="stepper" aria-label="state after the current step"></section>
<section id="steps" aria-label="steps"></section>
<section id="whatif" aria-label="what-if assumptions"></section>
<section id="sequence" aria-label="ioctl sequence"></section>
<script nonce="${nonce}" src="${media('simulation.js')}"></script>
</body>
</html>`;
  }

  dispose(): void {
    this.panel?.dispose();
    this.highlight.dispose();
    for (const s of this.subscriptions) s.dispose();
  }
}

function docFile(doc: vscode.TextDocument): string {
  return doc.uri.fsPath || doc.uri.path;
}

function brief(f: { rule: string; message: string; location: { function?: string } }): { rule: string; message: string; fn: string } {
  return { rule: f.rule, message: f.message, fn: f.location.function ?? '' };
}
