// Code actions on the findings of a series document: "Explain this finding" (the finding, its
// rule's paragraph and its trace on a page whose places open in the editor) and, for a write or debug finding
// on a patch line, a quick fix that keeps the guard the patch removes, or adds one to the patch.
import { randomBytes } from 'node:crypto';
import { isAbsolute, join } from 'node:path';
import * as vscode from 'vscode';
import type { Finding, RuleId } from '../core/findings';
import { explainPage, type ExplainPage } from '../translate/explainText';
import { findingsForFile } from '../translate/documentAnalysis';
import { planGuard, planRestore } from '../translate/guardQuickFix';
import { DIAGNOSTIC_SOURCE } from './diagnostics';
import type { SeriesDocuments } from './seriesDocuments';
import { locationUri } from './seriesView';
import { readSettings } from './settings';

export const EXPLAIN_COMMAND = 'kvmLens.explainFinding';
/** Opens a place of the explain page by its number (the page's links, and tests). */
const OPEN_PLACE_COMMAND = 'kvmLens.explain.openPlace';
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

/** What the explain page shows now, with each place as the editor opens it (tests read it through the API). */
export interface ShownExplanation {
  title: string;
  html: string;
  places: { label: string; uri: string; line: number }[];
}

/** The kvmLens.explainFinding command and the webview page it shows beside the patch. */
export class ExplainFinding implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private shown: { page: ExplainPage; uris: vscode.Uri[] } | undefined;
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly documents: SeriesDocuments, private readonly extensionUri: vscode.Uri) {
    this.subscriptions = [
      vscode.commands.registerCommand(EXPLAIN_COMMAND, (uri?: unknown, key?: unknown) => this.explain(uri, key)),
      vscode.commands.registerCommand(OPEN_PLACE_COMMAND, (index?: unknown) => this.openPlace(index)),
    ];
  }

  /** Shows the finding (given, or the one at the cursor) and returns its title, or undefined. */
  async explain(uriArg?: unknown, keyArg?: unknown): Promise<string | undefined> {
    const found = typeof uriArg === 'string' && typeof keyArg === 'string' ? this.byKey(uriArg, keyArg) : this.atCursor();
    if (!found) {
      void vscode.window.showInformationMessage('KVM Lens: no finding here to explain; put the cursor on a line with a KVM Lens diagnostic.');
      return undefined;
    }
    const { finding, documentUri } = found;
    const severity = readSettings().severities[finding.rule];
    const page = explainPage(finding, severity && severity !== 'off' && severity !== finding.severity ? { shownSeverity: severity } : {});
    const root = this.documents.get(documentUri)?.analysis.tree?.root;
    this.shown = { page, uris: page.places.map((p) => this.placeUri(p.file, documentUri, root)) };
    if (!this.panel) {
      this.panel = vscode.window.createWebviewPanel('kvmLens.explain', page.title, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, { enableScripts: true, localResourceRoots: [] });
      this.panel.onDidDispose(() => { this.panel = undefined; this.shown = undefined; });
      this.panel.webview.onDidReceiveMessage((m: { place?: unknown }) => { void this.openPlace(m.place); });
    }
    this.panel.title = page.title;
    this.panel.webview.html = pageHtml(page, this.panel.webview.cspSource);
    this.panel.reveal(vscode.ViewColumn.Beside, true);
    return page.title;
  }

  /** The page shown now (tests). */
  current(): ShownExplanation | undefined {
    const s = this.shown;
    return s && { title: s.page.title, html: s.page.html, places: s.page.places.map((p, i) => ({ label: p.label, uri: s.uris[i]!.toString(), line: p.line })) };
  }

  /** Opens place `index` of the page shown: a patch line, a C line of the kernel tree, or of the bundled model. */
  private async openPlace(index: unknown): Promise<string | undefined> {
    const s = this.shown;
    if (!s || typeof index !== 'number' || !s.page.places[index]) return undefined;
    const p = s.page.places[index]!;
    const uri = s.uris[index]!;
    const at = new vscode.Position(Math.max(0, p.line - 1), Math.max(0, (p.column ?? 1) - 1));
    try {
      await vscode.window.showTextDocument(uri, { selection: new vscode.Range(at, at), viewColumn: vscode.ViewColumn.One });
    } catch (e) {
      void vscode.window.showWarningMessage(`KVM Lens: cannot open ${p.label}: ${(e as Error).message}`);
      return undefined;
    }
    return uri.toString();
  }

  /** A tree-relative path of a series checked against a kernel tree opens in that tree; the rest as the series view opens it. */
  private placeUri(file: string, documentUri: vscode.Uri, treeRoot: string | undefined): vscode.Uri {
    if (treeRoot && !isAbsolute(file) && !file.startsWith('builtin-model/')) return vscode.Uri.file(join(treeRoot, file));
    return locationUri(file, documentUri, this.extensionUri);
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
    this.panel?.dispose();
  }
}

/** The page in a webview: its body, the editor's colours, and a click on a place asking the extension to open it. */
function pageHtml(page: ExplainPage, cspSource: string): string {
  const nonce = randomBytes(16).toString('base64');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'nonce-${nonce}' ${cspSource}; script-src 'nonce-${nonce}';">
<style nonce="${nonce}">
body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); padding: 0 1em; line-height: 1.5; }
code { font-family: var(--vscode-editor-font-family); }
a { color: var(--vscode-textLink-foreground); cursor: pointer; }
a:hover { color: var(--vscode-textLink-activeForeground); }
.message { white-space: pre-wrap; }
</style></head><body>
${page.html}
<script nonce="${nonce}">
const vscode = acquireVsCodeApi();
document.addEventListener('click', (e) => {
  const a = e.target instanceof Element ? e.target.closest('a[data-place]') : null;
  if (!a) return;
  e.preventDefault();
  vscode.postMessage({ place: Number(a.getAttribute('data-place')) });
});
</script></body></html>`;
}
