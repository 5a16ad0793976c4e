// A kernel checkout as the workspace: the KVM C files are audited in place (kernel-tree mode),
// and an edit in an open C file is re-analysed as you type, with findings in those files. The
// tree is kvmLens.kernelTree, else a workspace folder that holds x86 KVM, else one picked by
// "Check Series Against Kernel Tree"; series documents are checked against the same tree.
import { existsSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import * as vscode from 'vscode';
import { inKvmScope } from '../core/tree/kernelTree';
import { diagnosticData } from '../translate/diagnosticData';
import type { TreeAnalysis } from '../translate/treeAnalysis';
import type { Finding, FunctionInfo } from '../core/findings';
import type { AnalysisClient } from '../worker/analysisClient';
import { DIAGNOSTIC_SOURCE, modelUri, toDiagnostic } from './diagnostics';
import { readSettings } from './settings';


/** The kernel tree to audit: the setting, else a workspace folder that holds x86 KVM. */
export function findKernelRoot(): string | undefined {
  const configured = vscode.workspace.getConfiguration('kvmLens').get<string>('kernelTree', '');
  if (configured) return configured;
  for (const f of vscode.workspace.workspaceFolders ?? []) {
    if (f.uri.scheme === 'file' && existsSync(join(f.uri.fsPath, 'arch/x86/kvm/x86.c'))) return f.uri.fsPath;
  }
  return undefined;
}

/** What a series is checked against: the tree and the open KVM C buffers that differ from disk. */
export interface KernelTreeTarget {
  root: string;
  buffers: Record<string, string>;
}

export class KernelWorkspace implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection(`${DIAGNOSTIC_SOURCE}-tree`);
  private readonly subscriptions: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  private readonly rootChanged = new vscode.EventEmitter<string | undefined>();
  /** Fires after each analysis (CodeLens refresh). */
  readonly onDidAnalyse = this.changed.event;
  private readonly busy = new vscode.EventEmitter<boolean>();
  /** Fires true when an audit starts and false when it ends (the status bar's spinner). */
  readonly onDidChangeBusy = this.busy.event;
  private running = 0;
  /** Fires when the tree changes (the setting, the workspace folders, a tree picked): series are checked again. */
  readonly onDidChangeRoot = this.rootChanged.event;
  /** The last analysis, for hovers and tests. */
  last: TreeAnalysis | undefined;
  private current: string | undefined;
  /** A tree picked by the check command, kept until kvmLens.kernelTree changes. */
  private picked: string | undefined;

  constructor(
    private readonly client: AnalysisClient,
    private readonly output: vscode.OutputChannel,
    private readonly extensionUri: vscode.Uri,
  ) {
    this.subscriptions.push(
      vscode.workspace.onDidChangeTextDocument((e) => { if (this.pathOf(e.document)) this.schedule(readSettings().debounceMs); }),
      vscode.workspace.onDidSaveTextDocument((d) => { if (this.pathOf(d)) this.schedule(0); }),
      // a closed file is the text on disk again (an unsaved edit in it is gone)
      vscode.workspace.onDidCloseTextDocument((d) => { if (this.pathOf(d)) this.schedule(0); }),
      // a newly opened KVM file needs its functions described for hovers and CodeLens
      vscode.workspace.onDidOpenTextDocument((d) => { if (this.pathOf(d) && !this.described(d)) this.schedule(0); }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!e.affectsConfiguration('kvmLens.kernelTree')) return;
        this.picked = undefined;
        this.findRoot();
      }),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.findRoot()),
    );
  }

  /** The kernel tree now, or undefined when there is none. */
  get root(): string | undefined {
    return this.current;
  }

  /** Looks for the tree again (activation, a setting or the folders changed) and audits it when it is another. */
  findRoot(): void {
    this.useRoot(this.picked ?? findKernelRoot());
  }

  /** A tree the user picked: audited, and series are checked against it until kvmLens.kernelTree changes. */
  pick(root: string): void {
    this.picked = root;
    this.useRoot(root);
  }

  private useRoot(root: string | undefined): void {
    if (root === this.current) return;
    clearTimeout(this.timer);
    this.current = root;
    this.last = undefined;
    this.collection.clear();
    this.changed.fire();
    this.rootChanged.fire(root);
    if (root) void this.run(true);
  }

  /** The tree and the open KVM buffers, for a series check; undefined without a tree. */
  target(): KernelTreeTarget | undefined {
    return this.current ? { root: this.current, buffers: this.buffers() } : undefined;
  }

  /**
   * Every open KVM source as the editor has it, saved or not: an edit undone back to the saved
   * text must reach the analysis too. A file no longer here (closed) is read from disk again by
   * the worker.
   */
  private buffers(): Record<string, string> {
    const buffers: Record<string, string> = {};
    for (const d of vscode.workspace.textDocuments) {
      const p = this.pathOf(d);
      if (p) buffers[p] = d.getText();
    }
    return buffers;
  }

  /** The functions of an open KVM file, as the last analysis described them. */
  functionsOf(doc: vscode.TextDocument): FunctionInfo[] {
    const path = this.pathOf(doc);
    return path ? (this.last?.functions ?? []).filter((f) => f.file === path) : [];
  }

  private described(doc: vscode.TextDocument): boolean {
    const path = this.pathOf(doc);
    return !!path && !!this.last?.functions.some((f) => f.file === path);
  }

  findingsIn(doc: vscode.TextDocument): Finding[] {
    const path = this.pathOf(doc);
    return path ? (this.last?.report.findings ?? []).filter((f) => f.location.file === path) : [];
  }

  /** Tree-relative path of a KVM source document, or undefined for anything else. */
  pathOf(doc: vscode.TextDocument): string | undefined {
    if (doc.uri.scheme !== 'file' || !this.current) return undefined;
    const rel = relative(this.current, doc.uri.fsPath).split(sep).join('/');
    return inKvmScope(rel) ? rel : undefined;
  }

  private schedule(delay: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.run(), delay);
  }

  /** Audits the tree with the open buffers; the first call parses it (a progress notification says so). */
  async run(first = false): Promise<TreeAnalysis | undefined> {
    const root = this.current;
    if (!root) return undefined;
    const describe = vscode.workspace.textDocuments.map((d) => this.pathOf(d)).filter((p): p is string => !!p);
    const request = { root, buffers: this.buffers(), settings: readSettings().analysis, describe };
    if (this.running++ === 0) this.busy.fire(true);
    let result: TreeAnalysis | undefined;
    try {
      result = first
        ? await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'KVM Lens: auditing the kernel tree' }, () => this.client.analyzeTree(request))
        : await this.client.analyzeTree(request);
    } finally {
      if (--this.running === 0) this.busy.fire(false);
    }
    if (!result || root !== this.current) return undefined; // superseded, or another tree since
    this.last = result;
    this.show(root, result);
    this.changed.fire();
    const ms = result.report.stats.ms;
    this.output.appendLine(`kernel tree ${root}: ${result.report.findings.length} findings; parse ${ms.parse.toFixed(0)} simulate ${ms.simulate.toFixed(0)} ms; ${result.ms.toFixed(0)} ms in all`);
    return result;
  }

  private show(root: string, result: TreeAnalysis): void {
    const severities = readSettings().severities;
    const byFile = new Map<string, vscode.Diagnostic[]>();
    for (const f of result.report.findings) {
      if (!inKvmScope(f.location.file)) continue;
      const shown = severities[f.rule] ?? f.severity;
      if (shown === 'off') continue;
      const uri = vscode.Uri.file(join(root, f.location.file));
      const doc = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === uri.fsPath);
      const lineText = doc && f.location.line - 1 < doc.lineCount ? doc.lineAt(f.location.line - 1).text : undefined;
      // tree paths are relative to the tree; model steps open the model C shipped in the extension
      const diag = toDiagnostic(diagnosticData(f, shown, lineText, f.location.file), this.extensionUri,
        (r) => (r.target.kind === 'model' ? modelUri(this.extensionUri, r.target.file) : vscode.Uri.file(join(root, r.target.path))));
      byFile.set(uri.fsPath, [...(byFile.get(uri.fsPath) ?? []), diag]);
    }
    this.collection.clear();
    for (const [path, diags] of byFile) this.collection.set(vscode.Uri.file(path), diags);
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const s of this.subscriptions) s.dispose();
    this.changed.dispose();
    this.busy.dispose();
    this.rootChanged.dispose();
    this.collection.dispose();
  }
}
