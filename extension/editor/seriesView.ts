// The "Series" view in the KVM Lens activity-bar container: each analysed series document, its
// patches in series order, and under each patch its findings and what the timeline says it
// introduced and fixed. Clicking a patch or a finding opens its place.
import { isPatchAt } from '../core/report/patchName';
import { basename } from 'node:path';
import * as vscode from 'vscode';
import type { Finding, Severity } from '../core/findings';
import { relatedStep } from '../translate/diagnosticData';
import { findingsForFile, type PatchOutline } from '../translate/documentAnalysis';
import { baseLabel } from '../translate/treeSeriesAnalysis';
import type { AnalysedDocument, SeriesDocuments } from './seriesDocuments';
import { readSettings } from './settings';

export type SeriesNode =
  /** One series, however many of its files are open: `doc` is the one whose analysis is shown, `docs` all of them. */
  | { kind: 'document'; doc: AnalysedDocument; docs: AnalysedDocument[] }
  | { kind: 'patch'; doc: AnalysedDocument; patch: PatchOutline; end: number }
  | { kind: 'finding'; doc: AnalysedDocument; finding: Finding; severity: Severity }
  | { kind: 'timeline'; doc: AnalysedDocument; what: 'introduced' | 'fixed'; findings: Finding[] };

const ICON: Record<Severity, vscode.ThemeIcon> = {
  error: new vscode.ThemeIcon('error', new vscode.ThemeColor('problemsErrorIcon.foreground')),
  warning: new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground')),
  info: new vscode.ThemeIcon('info', new vscode.ThemeColor('problemsInfoIcon.foreground')),
};

export class SeriesView implements vscode.TreeDataProvider<SeriesNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<SeriesNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly documents: SeriesDocuments, private readonly extensionUri: vscode.Uri) {
    this.subscription = documents.onDidAnalyse(() => this.changed.fire(undefined));
  }

  getChildren(node?: SeriesNode): SeriesNode[] {
    if (!node) {
      // the patch files of one series each hold the whole series: one root for them all
      const bySeries = new Map<string, AnalysedDocument[]>();
      const byName = (a: AnalysedDocument, b: AnalysedDocument) => basename(a.uri.fsPath || a.uri.path).localeCompare(basename(b.uri.fsPath || b.uri.path));
      for (const doc of this.documents.all().filter((d) => d.version >= 0).sort(byName)) {
        const key = seriesKey(doc);
        bySeries.set(key, [...(bySeries.get(key) ?? []), doc]);
      }
      return [...bySeries.values()]
        .sort((a, b) => seriesTitle(a[0]!).localeCompare(seriesTitle(b[0]!)))
        .map((docs) => ({ kind: 'document', doc: docs[0]!, docs }));
    }
    switch (node.kind) {
      case 'document': return patchesInOrder(node.doc.analysis.patches).map(({ patch, end }) => ({ kind: 'patch', doc: node.doc, patch, end }));
      case 'patch': {
        const { report } = node.doc.analysis;
        const { patch: p } = node;
        const inPatch = (f: Finding) => f.location.file === p.file && f.location.line >= p.startLine && f.location.line < node.end;
        const severities = readSettings().severities;
        const findings: SeriesNode[] = findingsForFile(report, p.file, severities).filter(inPatch)
          .sort((a, b) => a.location.line - b.location.line || a.location.column - b.location.column)
          .map((f) => ({ kind: 'finding', doc: node.doc, finding: f, severity: f.shownSeverity }));
        if (p.index === 0) return findings; // a cover letter changes no code
        // by the patch itself, not its file: an mbox holds every patch in one file
        const introduced = report.findings.filter((f) => isPatchAt(f.introducedByPatch, p.file, p.startLine));
        const fixed = report.fixed.filter((f) => isPatchAt(f.fixedByPatch, p.file, p.startLine));
        return [...findings, { kind: 'timeline', doc: node.doc, what: 'introduced', findings: introduced }, { kind: 'timeline', doc: node.doc, what: 'fixed', findings: fixed }];
      }
      case 'timeline': return node.findings.map((f) => ({ kind: 'finding', doc: node.doc, finding: f, severity: (readSettings().severities[f.rule] as Severity | undefined) ?? f.severity }));
      case 'finding': return [];
    }
  }

  getTreeItem(node: SeriesNode): vscode.TreeItem {
    switch (node.kind) {
      case 'document': {
        const item = new vscode.TreeItem(seriesTitle(node.doc), vscode.TreeItemCollapsibleState.Expanded);
        const n = node.doc.analysis.patches.filter((p) => p.index !== 0).length;
        const severities = readSettings().severities;
        const files = new Set(node.doc.analysis.patches.map((p) => p.file));
        const errors = [...files].flatMap((f) => findingsForFile(node.doc.analysis.report, f, severities)).filter((f) => f.shownSeverity === 'error').length;
        const tree = node.doc.analysis.tree;
        const base = tree ? baseLabel(node.doc.analysis.report.base) : undefined;
        item.description = `${n} patch${n === 1 ? '' : 'es'} · ${errors} error${errors === 1 ? '' : 's'}${base ? ` · ${base}` : ''}`;
        // against a kernel tree: what the series was applied to, in the line kvm-lens check prints first
        const where = [...files].map((f) => basename(f)).join(', ');
        item.tooltip = tree ? [tree.baseLine, tree.scope, ...tree.notes, where].join('\n') : where;
        item.iconPath = new vscode.ThemeIcon('git-pull-request');
        item.contextValue = 'kvmLens.seriesDocument';
        item.command = { command: 'vscode.open', title: 'Open', arguments: [node.doc.uri] };
        return item;
      }
      case 'patch': {
        const p = node.patch;
        const item = new vscode.TreeItem(patchLabel(p), vscode.TreeItemCollapsibleState.Collapsed);
        item.description = [p.from ? authorName(p.from) : undefined, `v${p.version}`].filter(Boolean).join(' · ');
        item.tooltip = new vscode.MarkdownString().appendText(p.subject).appendMarkdown('\n\n').appendText(`${p.from ?? ''}\n${basename(p.file)}:${p.startLine}`);
        item.iconPath = new vscode.ThemeIcon(p.index === 0 ? 'mail' : 'git-commit');
        item.contextValue = 'kvmLens.patch';
        item.command = openAt(this.uriFor(p.file, node.doc.uri), p.firstHunkLine, 'Open the patch');
        return item;
      }
      case 'finding': {
        const f = node.finding;
        const item = new vscode.TreeItem(f.message.split(/: /)[0] ?? f.message, vscode.TreeItemCollapsibleState.None);
        item.description = `${f.rule} · ${basename(f.location.file)}:${f.location.line}`;
        item.tooltip = new vscode.MarkdownString().appendMarkdown(`**${node.severity}** \`${f.rule}\`\n\n`).appendText(f.message);
        item.iconPath = ICON[node.severity];
        item.contextValue = 'kvmLens.finding';
        item.command = openAt(this.uriFor(f.location.file, node.doc.uri), f.location.line, 'Open the finding', f.location.column);
        return item;
      }
      case 'timeline': {
        const n = node.findings.length;
        const item = new vscode.TreeItem(`${node.what} here: ${n}`, n ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon(node.what === 'introduced' ? 'diff-added' : 'pass');
        item.tooltip = node.what === 'introduced' ? 'Findings the series timeline first sees after this patch' : 'Findings that no longer appear after this patch';
        return item;
      }
    }
  }

  /** Where a finding's or a patch's file opens: the document itself, a sibling patch, the bundled model, a workspace file. */
  uriFor(file: string, documentUri: vscode.Uri): vscode.Uri {
    return locationUri(file, documentUri, this.extensionUri);
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}

export function locationUri(file: string, documentUri: vscode.Uri, extensionUri: vscode.Uri): vscode.Uri {
  const documentFile = documentUri.fsPath || documentUri.path;
  const target = relatedStep({ operation: '', vcpu: null, location: { file, line: 1 }, note: '' }, 0, documentFile).target;
  switch (target.kind) {
    case 'file': return target.path === documentFile ? documentUri : vscode.Uri.file(target.path);
    case 'model': return vscode.Uri.joinPath(extensionUri, 'dist', 'model', 'builtin', target.file);
    case 'workspace': {
      const folder = vscode.workspace.workspaceFolders?.[0];
      return folder ? vscode.Uri.joinPath(folder.uri, target.path) : vscode.Uri.file(target.path);
    }
  }
}

/** What makes a series one: the files its patches come from and their subjects. */
function seriesKey(doc: AnalysedDocument): string {
  const patches = doc.analysis.patches;
  if (patches.length === 0) return doc.uri.toString();
  return patches.map((p) => `${p.file}\0${p.startLine}\0${p.subject}`).join('\n');
}

/** A series is named by its cover letter's subject, else its first patch's, without the tags. */
function seriesTitle(doc: AnalysedDocument): string {
  const patches = doc.analysis.patches;
  const first = patches.find((p) => p.index === 0) ?? patches[0];
  if (!first) return basename(doc.uri.fsPath || doc.uri.path);
  return first.subject.replace(/^(\s*\[[^\]]*\]\s*)+/, '').trim() || first.subject;
}

/** "02/03 KVM: SVM: Let DR7 writes through…": the place in the series, then the subject without its tags. */
export function patchLabel(p: PatchOutline): string {
  const title = p.subject.replace(/^(\s*\[[^\]]*\]\s*)+/, '').trim() || p.subject;
  if (p.index === undefined || p.total === undefined) return title;
  const width = Math.max(2, String(p.total).length);
  return `${String(p.index).padStart(width, '0')}/${String(p.total).padStart(width, '0')} ${title}`;
}

/** Patches in series order (cover letter first), each with the line where the next patch of its file starts. */
function patchesInOrder(patches: PatchOutline[]): { patch: PatchOutline; end: number }[] {
  const withEnd = patches.map((patch) => {
    const next = patches.filter((x) => x.file === patch.file && x.startLine > patch.startLine).map((x) => x.startLine).sort((a, b) => a - b)[0];
    return { patch, end: next ?? Number.MAX_SAFE_INTEGER };
  });
  return withEnd.sort((a, b) => (a.patch.index ?? Number.MAX_SAFE_INTEGER) - (b.patch.index ?? Number.MAX_SAFE_INTEGER)
    || a.patch.file.localeCompare(b.patch.file) || a.patch.startLine - b.patch.startLine);
}

function authorName(from: string): string {
  return from.replace(/\s*<[^>]*>\s*$/, '').replace(/^"(.*)"$/, '$1').trim() || from;
}

function openAt(uri: vscode.Uri, line: number, title: string, column = 1): vscode.Command {
  const pos = new vscode.Position(Math.max(0, line - 1), Math.max(0, column - 1));
  return { command: 'vscode.open', title, arguments: [uri, { selection: new vscode.Range(pos, pos), preserveFocus: false }] };
}
