// The editor entry point: each feature is a small class built from the analysed series
// documents; everything it creates is pushed to the context and disposed with it.
import * as vscode from 'vscode';
import { formatText } from './core/report/textReport';
import { FindingDiagnostics } from './editor/diagnostics';
import { ExplainFinding, type ShownExplanation, FindingActions } from './editor/findingActions';
import { FunctionHover } from './editor/functionHover';
import { KernelWorkspace } from './editor/kernelWorkspace';
import { KernelSourceFeatures } from './editor/kernelSourceFeatures';
import { PatchCodeLens } from './editor/patchCodeLens';
import { SeriesCommands } from './editor/seriesCommands';
import { SeriesDocuments } from './editor/seriesDocuments';
import { SeriesView } from './editor/seriesView';
import { SimulationPanel } from './editor/simulationPanel';
import { ReviewComments } from './editor/reviewComments';
import { B4ReviewCommands } from './editor/b4ReviewCommands';
import { LensStatusBar } from './editor/statusBar';
import { AnalysisClient } from './worker/analysisClient';

const SERIES_SELECTOR: vscode.DocumentSelector = [{ language: 'diff' }, { pattern: '**/*.{patch,diff,mbox,mbx,eml,cover}' }];

export interface KvmLensApi {
  /** Analyses a document now and returns the number of findings located in it (tests, other extensions). */
  analyse(uri: vscode.Uri): Promise<number | undefined>;
  /** The simulation panel, to drive it from tests. */
  simulation: SimulationPanel;
  /** The "Series" view's data (tests). */
  seriesView: SeriesView;
  /** kvmLens.explainFinding's page as shown now, with the places its links open (tests). */
  explainPage(): ShownExplanation | undefined;
  /** The kernel tree series are checked against and whose C files are audited, if any (tests). */
  kernelTree(): string | undefined;
  /** The review comment threads shown on a series document: line and comment texts (tests). */
  reviewThreads(uri: vscode.Uri): { line: number; bodies: string[] }[];
}

export function activate(context: vscode.ExtensionContext): KvmLensApi {
  const output = vscode.window.createOutputChannel('KVM Lens');
  const client = new AnalysisClient();
  // the kernel tree (when there is one) first: its audit opens the worker's tree session, which series checks then share
  const kernel = new KernelWorkspace(client, output, context.extensionUri);
  kernel.findRoot();
  const documents = new SeriesDocuments(client, output, () => kernel.target());
  kernel.onDidChangeRoot(() => documents.reanalyseAll(), undefined, context.subscriptions);
  // each audit follows a change to the tree's C as the editor has it: a series checked against
  // the tree is checked again on that C (the worker answers an unchanged one from its session)
  kernel.onDidAnalyse(() => documents.reanalyseTreeChecked(), undefined, context.subscriptions);
  // trusted now: git may look for the exact base of the series already checked without it
  vscode.workspace.onDidGrantWorkspaceTrust(() => documents.reanalyseAll(), undefined, context.subscriptions);
  const codeLens = new PatchCodeLens(documents);
  const seriesView = new SeriesView(documents, context.extensionUri);
  const explain = new ExplainFinding(documents, context.extensionUri);
  context.subscriptions.push(
    output,
    { dispose: () => client.dispose() },
    documents,
    new FindingDiagnostics(documents, context.extensionUri),
    new LensStatusBar(documents, kernel),
    codeLens,
    vscode.languages.registerCodeLensProvider(SERIES_SELECTOR, codeLens),
    vscode.languages.registerHoverProvider(SERIES_SELECTOR, new FunctionHover(documents)),
    seriesView,
    vscode.window.registerTreeDataProvider('kvmLens.series', seriesView),
    explain,
    vscode.languages.registerCodeActionsProvider(SERIES_SELECTOR, new FindingActions(documents), FindingActions.metadata),
    vscode.commands.registerCommand('kvmLens.checkActiveSeries', async () => {
      const doc = vscode.window.activeTextEditor?.document;
      if (!doc || !documents.isSeries(doc)) {
        void vscode.window.showInformationMessage('KVM Lens: open a .patch, .diff, .mbox, .mbx or .eml file first.');
        return;
      }
      const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'KVM Lens: simulating the SEV-ES lifecycle' }, () => documents.analyseNow(doc));
      if (!result) return;
      output.clear();
      if (result.analysis.tree) output.appendLine(result.analysis.tree.baseLine);
      for (const p of result.analysis.problems) output.appendLine(`${p.file}${p.line ? ':' + p.line : ''}: ${p.severity}: ${p.message}`);
      output.append(formatText(result.analysis.report));
      output.show(true);
    }),
    vscode.commands.registerCommand('kvmLens.showOutput', () => output.show()),
  );
  const review = new ReviewComments(documents, output);
  context.subscriptions.push(review, new B4ReviewCommands(documents, review, output));

  const simulation = new SimulationPanel(context.extensionUri, client, documents);
  // from a patch's CodeLens: the document and the line the patch starts on
  context.subscriptions.push(simulation, vscode.commands.registerCommand('kvmLens.openSimulation', async (uri?: vscode.Uri, patchLine?: number) => {
    const doc = uri instanceof vscode.Uri ? await vscode.workspace.openTextDocument(uri) : vscode.window.activeTextEditor?.document;
    if (!doc || !documents.isSeries(doc)) {
      void vscode.window.showInformationMessage('KVM Lens: open a patch series to simulate it.');
      return undefined;
    }
    return simulation.open(doc, typeof patchLine === 'number' ? patchLine : undefined);
  }));

  // C files of the kernel tree: hovers and CodeLens (nothing while there is no tree)
  const sourceFeatures = new KernelSourceFeatures(kernel);
  const cFiles: vscode.DocumentSelector = [{ language: 'c', scheme: 'file' }];
  context.subscriptions.push(kernel, sourceFeatures,
    vscode.languages.registerHoverProvider(cFiles, sourceFeatures),
    vscode.languages.registerCodeLensProvider(cFiles, sourceFeatures),
    new SeriesCommands(documents, kernel, output));
  context.subscriptions.push(vscode.commands.registerCommand('kvmLens.auditKernelTree', async () => {
    if (!kernel.root) {
      void vscode.window.showInformationMessage('KVM Lens: this workspace is not a kernel tree with arch/x86/kvm; set kvmLens.kernelTree to one.');
      return undefined;
    }
    return (await kernel.run(true))?.report.findings.length;
  }));
  return {
    simulation,
    async analyse(uri) {
      const doc = await vscode.workspace.openTextDocument(uri);
      const result = await documents.analyseNow(doc);
      return result?.analysis.report.findings.filter((f) => f.location.file === (uri.fsPath || uri.path)).length;
    },
    seriesView,
    explainPage: () => explain.current(),
    kernelTree: () => kernel.root,
    reviewThreads: (uri) => review.shownThreads(uri),
  };
}

export function deactivate(): void {
  // everything is disposed through context.subscriptions
}
