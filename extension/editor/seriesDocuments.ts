// Which open documents are patch series, and their latest analysis: analysed when opened and,
// debounced, as the user types; a result for an older version of the text is dropped. With a
// kernel tree (kernelWorkspace.ts) a series is checked against that tree, in the worker's tree
// session, else against the built-in model. "Open Series…" opens files that belong together.
import { readdirSync, statSync } from 'node:fs';
import { readRegularFileSync } from '../core/io/boundedRead';
import { basename, dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { isReviewReply } from '../core/series/reviewReply';
import { AnalysisClient } from '../worker/analysisClient';
import type { DocumentAnalysis } from '../translate/documentAnalysis';
import { companionNames, firstToOpen, mayHaveCompanions, seriesInDirectory } from '../translate/seriesFiles';
import type { KernelTreeTarget } from './kernelWorkspace';
import { readSettings } from './settings';

export interface AnalysedDocument {
  uri: vscode.Uri;
  version: number;
  analysis: DocumentAnalysis;
  ms: number;
}

export class SeriesDocuments implements vscode.Disposable {
  private readonly results = new Map<string, AnalysedDocument>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly emitter = new vscode.EventEmitter<AnalysedDocument>();
  private readonly busyEmitter = new vscode.EventEmitter<number>();
  private busy = 0;
  readonly onDidAnalyse = this.emitter.event;
  /** Number of analyses under way, for the status bar. */
  readonly onDidChangeBusy = this.busyEmitter.event;
  private readonly subscriptions: vscode.Disposable[] = [];
  /** Files opened together by "Open Series…": each file's path to all of them. */
  private readonly groups = new Map<string, string[]>();

  constructor(
    private readonly client: AnalysisClient,
    private readonly output: vscode.OutputChannel,
    /** The kernel tree to check series against, when there is one. */
    private readonly kernelTree: () => KernelTreeTarget | undefined = () => undefined,
  ) {
    this.subscriptions.push(
      vscode.workspace.onDidOpenTextDocument((d) => this.schedule(d, 0)),
      vscode.workspace.onDidChangeTextDocument((e) => this.schedule(e.document, readSettings().debounceMs)),
      vscode.workspace.onDidCloseTextDocument((d) => this.forget(d.uri)),
      vscode.workspace.onDidChangeConfiguration((e) => { if (e.affectsConfiguration('kvmLens')) this.reanalyseAll(); }),
    );
    for (const d of vscode.workspace.textDocuments) this.schedule(d, 0);
  }

  get(uri: vscode.Uri): AnalysedDocument | undefined {
    return this.results.get(uri.toString());
  }

  /** Every analysed document's latest result, in the order they were first analysed (the series view). */
  all(): AnalysedDocument[] {
    return [...this.results.values()];
  }

  isSeries(doc: vscode.TextDocument): boolean {
    if (doc.uri.scheme !== 'file' && doc.uri.scheme !== 'untitled' && doc.uri.scheme !== 'vscode-remote') return false;
    if (doc.languageId === 'diff') return true;
    if (!readSettings().seriesFiles.some((glob) => vscode.languages.match({ pattern: glob }, doc) > 0)) return false;
    // a reply (the ones Compose writes, one saved from a mail client) quotes a patch; it is not one
    return !this.isReply(doc);
  }

  /** Per document version: isSeries is asked on every keystroke, and the text need not be read again for each. */
  private readonly replies = new WeakMap<vscode.TextDocument, { version: number; reply: boolean }>();

  private isReply(doc: vscode.TextDocument): boolean {
    const known = this.replies.get(doc);
    if (known?.version === doc.version) return known.reply;
    const reply = isReviewReply(doc.getText());
    this.replies.set(doc, { version: doc.version, reply });
    return reply;
  }

  reanalyseAll(): void {
    for (const d of vscode.workspace.textDocuments) this.schedule(d, 0);
  }

  /**
   * Checks again the series checked against the kernel tree: the tree's C changed under them (an
   * edit, a save, a close). A series on a base-commit takes every file from git: no edit reaches it.
   */
  reanalyseTreeChecked(): void {
    for (const d of vscode.workspace.textDocuments) {
      const analysis = this.results.get(d.uri.toString())?.analysis;
      if (analysis?.tree && analysis.report.base?.source !== 'base-commit') this.schedule(d, 0);
    }
  }

  /** Analyses now and returns the result (the check command, tests). */
  async analyseNow(doc: vscode.TextDocument): Promise<AnalysedDocument | undefined> {
    // a re-analysis already scheduled would replace this one in the worker's queue
    const key = doc.uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    return this.run(doc);
  }

  private schedule(doc: vscode.TextDocument, delay: number): void {
    if (!this.isSeries(doc)) return;
    const key = doc.uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.set(key, setTimeout(() => { this.timers.delete(key); void this.run(doc); }, delay));
  }

  private async run(doc: vscode.TextDocument): Promise<AnalysedDocument | undefined> {
    const key = doc.uri.toString();
    const version = doc.version;
    const settings = readSettings();
    const started = performance.now();
    this.busyEmitter.fire(++this.busy);
    try {
      const file = doc.uri.fsPath || doc.uri.path;
      const request = { file, text: doc.getText(), settings: settings.analysis, siblings: siblingTexts(doc, file, this.groups.get(file)) };
      const tree = this.kernelTree();
      // git may run (to find the series' base) only in a trusted workspace
      const analysis = tree
        ? await this.client.analyzeOnTree(key, { ...request, root: tree.root, buffers: tree.buffers, git: vscode.workspace.isTrusted })
        : await this.client.analyze(key, request);
      if (!analysis || doc.isClosed || doc.version !== version) return undefined; // superseded
      const result: AnalysedDocument = { uri: doc.uri, version, analysis, ms: performance.now() - started };
      this.results.set(key, result);
      for (const p of analysis.settingsProblems) this.output.appendLine(`settings: ${p}`);
      const ms = analysis.report.stats.ms;
      const against = analysis.tree ? ` against the kernel tree ${analysis.tree.root}` : '';
      this.output.appendLine(`${doc.uri.fsPath}: ${analysis.report.findings.length} findings${against}, ${analysis.report.stats.statesExplored} states; read ${ms.read.toFixed(0)} parse ${ms.parse.toFixed(0)} summarise ${ms.summarize.toFixed(0)} simulate ${ms.simulate.toFixed(0)} ms; ${result.ms.toFixed(0)} ms in all`);
      if (analysis.tree) for (const l of [analysis.tree.baseLine, ...analysis.tree.notes]) this.output.appendLine(`  ${l}`);
      this.emitter.fire(result);
      return result;
    } catch (e) {
      this.output.appendLine(`${doc.uri.fsPath}: analysis failed: ${(e as Error).message}`);
      return undefined;
    } finally {
      this.busyEmitter.fire(--this.busy);
    }
  }

  /**
   * Opens a series: files (each may be an mbox), or the series files of a directory. Files that
   * came together are analysed together whichever of them is open; the first that is not a cover
   * letter is shown. Returns its URI, or undefined when there was nothing to open (said in a message).
   */
  async openSeries(picked: readonly vscode.Uri[]): Promise<vscode.Uri | undefined> {
    const files: string[] = [];
    for (const uri of picked) {
      const path = uri.fsPath;
      let isDir = false;
      try { isDir = statSync(path).isDirectory(); } catch { /* reading it says why */ }
      if (!isDir) { files.push(path); continue; }
      let names: string[] = [];
      try { names = readdirSync(path); } catch (e) {
        void vscode.window.showWarningMessage(`KVM Lens: cannot read the directory ${path}: ${(e as Error).message}`);
        continue;
      }
      const found = seriesInDirectory(names).files.map((n) => join(path, n)).filter((f) => { try { return statSync(f).isFile(); } catch { return false; } });
      if (!found.length) void vscode.window.showWarningMessage(`KVM Lens: ${path} holds no .patch, .diff, .mbox, .mbx, .eml or .cover file.`);
      files.push(...found);
    }
    if (!files.length) return undefined;
    const ordered = [...new Set(files)].sort();
    if (ordered.length > 1) for (const f of ordered) this.groups.set(f, ordered);
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(firstToOpen(ordered)));
    await vscode.window.showTextDocument(doc);
    return doc.uri;
  }

  private forget(uri: vscode.Uri): void {
    const key = uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    if (this.results.delete(key)) this.emitter.fire({ uri, version: -1, analysis: emptyAnalysis(), ms: 0 });
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    for (const s of this.subscriptions) s.dispose();
    this.emitter.dispose();
    this.busyEmitter.dispose();
  }
}

/**
 * A format-patch file is one patch of a series, and a b4 `.mbx` has its cover letter in the
 * `.cover` beside it: the other files (from open buffers when they are open, else `group`, the
 * files "Open Series…" opened with it) let the timeline say which patch introduced what.
 */
export function siblingTexts(doc: vscode.TextDocument, file: string, group?: readonly string[]): { file: string; text: string }[] {
  if (doc.uri.scheme !== 'file') return [];
  let paths: string[];
  if (group) paths = group.filter((f) => f !== file).slice(0, MAX_SIBLINGS);
  else if (!mayHaveCompanions(basename(file))) return [];
  else {
    try {
      paths = companionNames(basename(file), readdirSync(dirname(file))).slice(0, MAX_SIBLINGS).map((n) => join(dirname(file), n));
    } catch {
      return [];
    }
  }
  const out: { file: string; text: string }[] = [];
  for (const path of paths) {
    const open = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === path);
    if (open) { out.push({ file: path, text: open.getText() }); continue; }
    // only a regular file of bounded size: a FIFO named like a patch must not hang the editor
    const read = readRegularFileSync(path);
    if (read.ok) out.push({ file: path, text: read.bytes.toString('utf8') }); // else analysed without it
  }
  return out;
}

const MAX_SIBLINGS = 200;

function emptyAnalysis(): DocumentAnalysis {
  return {
    report: { findings: [], fixed: [], origins: [], stats: { patches: 0, functions: 0, statesExplored: 0, boundReached: false, ms: { read: 0, parse: 0, summarize: 0, simulate: 0 } } },
    problems: [], patches: [], settingsProblems: [],
  };
}
