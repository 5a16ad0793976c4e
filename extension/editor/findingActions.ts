// Code actions on the findings of a series document: "Explain this finding" (the finding, its
// rule's paragraph and its trace as a read-only markdown page) and, for a write or debug finding
// on a patch line, a quick fix that keeps the guard the patch removes, or adds one to the patch.
import * as vscode from 'vscode';
import type { Finding, RuleId } from '../core/findings';
import { explainMarkdown, explainTitle } from '../translate/explainText';
import { findingsForFile } from '../translate/documentAnalysis';
import { planGuard, planRestore } from '../translate/guardQuickFix';
import { DIAGNOSTIC_SOURCE } from './diagnostics';
import type { SeriesDocuments } from './seriesDocuments';
import { locationUri } from './seriesView';
import { readSettings } from './settings';

export const EXPLAIN_COMMAND = 'kvmLens.explainFinding';
const EXPLAIN_SCHEME = 'kvm-lens-explain';
/** Rules whose fix is to refuse the path once the VMSA is encrypted. */
const GUARDED_RULES: ReadonlySet<RuleId> = new Set<RuleId>(['vmsa-write-after-encryption', 'debug-after-encryption']);

export class FindingActions implements vscode.CodeActionProvider {
  static readonly metadata: vscode.CodeActionProviderMetadata = { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] };

  constructor(private readonly documents: SeriesDocuments) {}

  provideCodeActions(doc: vscode.TextDocument, _range: vscode.Range | vscode.Selection, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const result = this.documents.get(doc.uri);
    if (!result) return [];
    const file = doc.uri.fsPath || doc.uri.path;
    const findings = result.analysis.report.findings.filter((f) => f.location.file === file);
    const actions: vscode.CodeAction[] = [];
    const seen = new Set<string>();
    for (const diag of context.diagnostics) {
      if (diag.source !== DIAGNOSTIC_SOURCE) continue;
      const rule = typeof diag.code === 'object' ? diag.code.value : diag.code;
      const finding = findings.find((f) => f.rule === rule && f.location.line - 1 === diag.range.start.line);
      if (!finding || seen.has(finding.key)) continue;
      seen.add(finding.key);
      const explain = new vscode.CodeAction('Explain this finding', vscode.CodeActionKind.QuickFix);
      explain.diagnostics = [diag];
      explain.command = { command: EXPLAIN_COMMAND, title: 'Explain this finding', arguments: [doc.uri.toString(), finding.key] };
      actions.push(explain);
      const review = new vscode.CodeAction('Add to review', vscode.CodeActionKind.QuickFix);
      review.diagnostics = [diag];
      review.command = { command: 'kvmLens.review.addFinding', title: 'Add to review', arguments: [doc.uri, finding.key] };
      actions.push(review);
      // only on the text the analysis saw: a stale result's lines may have moved
      if (GUARDED_RULES.has(finding.rule) && result.version === doc.version) {
        // on a guard the patch removes: keep it (its lines become context again), not a second copy
        const restore = planRestore(doc.getText(), finding.location.line);
        if (restore) {
          const fix = new vscode.CodeAction('Keep the guard this patch removes', vscode.CodeActionKind.QuickFix);
          fix.diagnostics = [diag];
          fix.isPreferred = true;
          fix.edit = new vscode.WorkspaceEdit();
          for (const e of [...restore.headers, ...restore.lines]) fix.edit.replace(doc.uri, doc.lineAt(e.line).range, e.text);
          actions.push(fix);
          continue;
        }
        const plan = planGuard(doc.getText(), finding.location.line, finding.location.function);
        if (!plan) continue;
        const fix = new vscode.CodeAction('Insert a guest_state_protected guard', vscode.CodeActionKind.QuickFix);
        fix.diagnostics = [diag];
        fix.isPreferred = true;
        fix.edit = new vscode.WorkspaceEdit();
        for (const h of plan.headers) fix.edit.replace(doc.uri, doc.lineAt(h.line).range, h.text);
        const eol = doc.eol === vscode.EndOfLine.CRLF ? '\r\n' : '\n';
        fix.edit.insert(doc.uri, new vscode.Position(plan.insertAt, 0), plan.inserted.map((l) => l + eol).join(''));
        actions.push(fix);
      }
    }
    return actions;
  }
}

/** The kvmLens.explainFinding command and the read-only documents it shows. */
export class ExplainFinding implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly pages = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly documents: SeriesDocuments, private readonly extensionUri: vscode.Uri) {
    this.subscriptions = [
      vscode.workspace.registerTextDocumentContentProvider(EXPLAIN_SCHEME, this),
      vscode.commands.registerCommand(EXPLAIN_COMMAND, (uri?: unknown, key?: unknown) => this.explain(uri, key)),
    ];
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.pages.get(uri.toString()) ?? '# KVM Lens\n\nThis finding is no longer reported; run the command again.\n';
  }

  /** Shows the finding (given, or the one at the cursor) and returns the page's URI, or undefined. */
  async explain(uriArg?: unknown, keyArg?: unknown): Promise<vscode.Uri | undefined> {
    const found = typeof uriArg === 'string' && typeof keyArg === 'string' ? this.byKey(uriArg, keyArg) : this.atCursor();
    if (!found) {
      void vscode.window.showInformationMessage('KVM Lens: no finding here to explain; put the cursor on a line with a KVM Lens diagnostic.');
      return undefined;
    }
    const { finding, documentUri } = found;
    const severity = readSettings().severities[finding.rule];
    const markdown = explainMarkdown(finding, {
      link: (file, line) => locationUri(file, documentUri, this.extensionUri).with({ fragment: `L${line}` }).toString(),
      ...(severity && severity !== 'off' && severity !== finding.severity ? { shownSeverity: severity } : {}),
    });
    const page = vscode.Uri.from({ scheme: EXPLAIN_SCHEME, path: `/${explainTitle(finding).replace(/[^\w.()-]+/g, ' ')}.md`, query: finding.key });
    this.pages.set(page.toString(), markdown);
    this.changed.fire(page);
    try {
      await vscode.commands.executeCommand('markdown.showPreviewToSide', page);
    } catch {
      // no markdown preview (a trimmed host): the markdown text, read-only, beside the patch
      const doc = await vscode.workspace.openTextDocument(page);
      await vscode.languages.setTextDocumentLanguage(doc, 'markdown');
      await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true });
    }
    return page;
  }

  /** The markdown of a page shown earlier (tests). */
  pageText(uri: vscode.Uri): string | undefined {
    return this.pages.get(uri.toString());
  }

  private byKey(uri: string, key: string): { finding: Finding; documentUri: vscode.Uri } | undefined {
    const documentUri = vscode.Uri.parse(uri);
    const result = this.documents.get(documentUri);
    const finding = result?.analysis.report.findings.find((f) => f.key === key);
    return finding ? { finding, documentUri } : undefined;
  }

  private atCursor(): { finding: Finding; documentUri: vscode.Uri } | undefined {
    const editor = vscode.window.activeTextEditor;
    if (!editor) return undefined;
    const result = this.documents.get(editor.document.uri);
    if (!result) return undefined;
    const file = editor.document.uri.fsPath || editor.document.uri.path;
    const line = editor.selection.active.line + 1;
    const shown = findingsForFile(result.analysis.report, file, readSettings().severities).filter((f) => f.location.line === line);
    const rank = { error: 0, warning: 1, info: 2 };
    const finding = shown.sort((a, b) => rank[a.shownSeverity] - rank[b.shownSeverity])[0];
    return finding ? { finding, documentUri: editor.document.uri } : undefined;
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.changed.dispose();
  }
}
