// The series view, "Explain this finding" and the guard quick fix in a real VS Code, on the
// example series: the view lists the series' patches with their findings and timeline, the
// DR7 diagnostic offers both code actions, and applying the fix clears the diagnostic.
/// <reference types="mocha" />
import * as assert from 'node:assert';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import * as pkg from '../../package.json';
import { ROOT, DR7_PATCH, poll, isDr7 } from './support';


interface Node { kind: string; doc?: { uri: vscode.Uri }; docs?: { uri: vscode.Uri }[] }
interface Api {
  seriesView: { getChildren(node?: Node): Node[]; getTreeItem(node: Node): vscode.TreeItem };
  explainPage(): { title: string; html: string; places: { label: string; uri: string; line: number }[] } | undefined;
}

const label = (item: vscode.TreeItem) => (typeof item.label === 'string' ? item.label : item.label?.label ?? '');

suite('KVM Lens series view, explain and quick fix', () => {
  let api: Api;
  let doc: vscode.TextDocument;
  let dr7: vscode.Diagnostic;

  suiteSetup(async () => {
    const ext = vscode.extensions.getExtension<Api>(`${pkg.publisher}.${pkg.name}`);
    assert.ok(ext);
    api = await ext.activate();
    doc = await vscode.workspace.openTextDocument(vscode.Uri.file(DR7_PATCH));
    await vscode.window.showTextDocument(doc);
    const found = await poll(() => vscode.languages.getDiagnostics(doc.uri).find(isDr7));
    assert.ok(found, 'the DR7 finding arrives');
    dr7 = found;
  });

  test('the series view lists the example series\' patches in order, with the DR7 finding under 02/03', async () => {
    const view = api.seriesView;
    // another patch file of the same series open too: still one root, named by the cover letter
    const sibling = await vscode.workspace.openTextDocument(vscode.Uri.file(DR7_PATCH.replace(/0002-[^/]*$/, '0001-KVM-SVM-Rely-on-guest_state_protected-alone-to-refus.patch')));
    const holds = (n: Node, d: vscode.TextDocument) => (n.docs ?? []).some((x) => x.uri.toString() === d.uri.toString());
    const root = await poll(() => view.getChildren().find((n) => holds(n, doc) && holds(n, sibling)));
    assert.ok(root, 'the opened patches share one root of the view');
    assert.strictEqual(view.getChildren().filter((n) => holds(n, doc) || holds(n, sibling)).length, 1, 'one root per series, not one per opened file');
    assert.strictEqual(label(view.getTreeItem(root)), 'KVM: SVM: SEV-ES debug and DR handling clean-ups');
    const patches = view.getChildren(root);
    const labels = patches.map((p) => label(view.getTreeItem(p)));
    assert.deepStrictEqual(labels.map((l) => l.slice(0, 6)), ['00/03 ', '01/03 ', '02/03 ', '03/03 '], labels.join(' | '));
    assert.strictEqual(labels[2], '02/03 KVM: SVM: Let DR7 writes through for SEV-ES guests');
    const second = view.getTreeItem(patches[2]);
    assert.match(String(second.description), /Ada Reviewer · v1/);
    const children = view.getChildren(patches[2]).map((c) => view.getTreeItem(c));
    const finding = children.find((c) => /vmsa-write-after-encryption/.test(String(c.description)));
    assert.ok(finding, children.map((c) => `${label(c)} ${c.description ?? ''}`).join(' | '));
    assert.strictEqual(finding.command?.command, 'vscode.open');
    assert.ok(children.some((c) => /^introduced here: [1-9]/.test(label(c))), 'the timeline says patch 2 introduced it');
    assert.ok(children.some((c) => /^fixed here: \d+$/.test(label(c))));
  });

  test('code actions at the DR7 diagnostic: Explain, and the quick fix that keeps the removed guard', async () => {
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', doc.uri, dr7.range);
    const titles = actions.map((a) => a.title);
    assert.ok(titles.includes('Explain this finding'), titles.join(' | '));
    assert.ok(titles.includes('Keep the guard this patch removes'), titles.join(' | '));
    assert.ok(!titles.includes('Insert a guest_state_protected guard'), 'not a second copy of the guard the patch removes');
    const explain = actions.find((a) => a.title === 'Explain this finding')!;
    assert.strictEqual(explain.command?.command, 'kvmLens.explainFinding');
    const title = await vscode.commands.executeCommand<string | undefined>('kvmLens.explainFinding', ...(explain.command?.arguments ?? []));
    assert.strictEqual(title, 'vmsa-write-after-encryption in svm_set_dr7()', 'a page was shown');
    const page = api.explainPage();
    assert.ok(page);
    assert.match(page.html, /<h2>The rule<\/h2>/);
    assert.ok(!/\]\(file:/.test(page.html), 'no markdown file: link left as raw text');
    // the trace's places open in the editor: the model's C for model steps
    const create = page.places.findIndex((p) => /^x86\.c:\d+$/.test(p.label));
    assert.ok(create >= 0, page.places.map((p) => p.label).join(' | '));
    assert.match(page.places[create]!.uri, /dist\/model\/builtin\/x86\.c$/);
    const opened = await vscode.commands.executeCommand<string>('kvmLens.explain.openPlace', create);
    assert.strictEqual(opened, page.places[create]!.uri);
    assert.strictEqual(vscode.window.activeTextEditor?.document.uri.toString(), page.places[create]!.uri, 'the place is open in the editor');
    assert.strictEqual(vscode.window.activeTextEditor?.selection.active.line, page.places[create]!.line - 1, 'at its line');
    // the finding's own place: the patch line
    assert.strictEqual(page.places[0]!.uri, doc.uri.toString());
    await vscode.window.showTextDocument(doc);
  });

  test('keeping the removed guard clears the DR7 diagnostic; revert brings the patch back', async () => {
    // on a copy of the series, so the example on disk stays as it is whatever the editor saves
    const dir = mkdtempSync(join(tmpdir(), 'kvm-lens-fix-'));
    try {
      cpSync(join(ROOT, 'examples/sev-es-debug-rfc'), dir, { recursive: true });
      const copy = await vscode.workspace.openTextDocument(vscode.Uri.file(join(dir, DR7_PATCH.split('/').pop()!)));
      await vscode.window.showTextDocument(copy);
      const diag = await poll(() => vscode.languages.getDiagnostics(copy.uri).find(isDr7));
      assert.ok(diag, 'the copy has the DR7 finding');
      const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', copy.uri, diag.range);
      const fix = actions.find((a) => a.title === 'Keep the guard this patch removes');
      assert.ok(fix?.edit);
      assert.ok(await vscode.workspace.applyEdit(fix.edit));
      assert.ok(copy.isDirty, 'the fix edits the buffer, it does not save');
      const lines = copy.getText().split('\n');
      const at = lines.indexOf(' \tif (vcpu->arch.guest_state_protected)');
      assert.ok(at > 0 && lines[at + 1] === ' \t\treturn;', 'the removed guard is context again');
      assert.ok(!lines.some((l) => /^[-+].*guest_state_protected/.test(l)), 'no copy of it added, none removed');
      assert.ok(lines.some((l) => l.startsWith('@@ -88,9 +88,9 @@')), 'the hunk header counts the kept lines');
      const cleared = await poll(() => (vscode.languages.getDiagnostics(copy.uri).some(isDr7) ? undefined : true));
      assert.ok(cleared, 'the finding goes once the guard is in the patch');
      assert.ok(!vscode.languages.getDiagnostics(copy.uri).some((d) => d.code === 'input'), 'and the patch still reads cleanly');
      await vscode.window.showTextDocument(copy);
      await vscode.commands.executeCommand('workbench.action.files.revert');
      assert.ok(!copy.isDirty);
      const back = await poll(() => vscode.languages.getDiagnostics(copy.uri).find(isDr7));
      assert.ok(back, 'and returns with the revert');
      await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
