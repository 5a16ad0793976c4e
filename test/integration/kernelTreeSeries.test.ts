// A series checked against a kernel tree in a real VS Code: a kernel-like tree made here with git
// from the built-in model's C (our own), checked out at the series' base and named by
// kvmLens.kernelTree; a two-patch series made with git format-patch, opened from an mbox with
// "Open Series…". The finding the tree analysis makes sits on the mbox line of the patch that
// brought it, its trace opens the tree's C files, the series view and the check command say
// which base was used, and the C files' own diagnostics are the same after the series was checked.
/// <reference types="mocha" />
import * as assert from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import * as pkg from '../../package.json';
import { DR7_GUARD, DR7_WRITE, git, makeKernelSeriesRepo, type KernelSeriesRepo } from '../unit/support/kernelSeriesRepo';
import { ROOT, poll, isDr7 } from './support';

interface Node { kind: string; doc?: { uri: vscode.Uri } }
interface Api {
  seriesView: { getChildren(node?: Node): Node[]; getTreeItem(node: Node): vscode.TreeItem };
  kernelTree(): string | undefined;
}

const C_FILES = ['arch/x86/kvm/x86.c', 'arch/x86/kvm/svm/svm.c', 'arch/x86/kvm/svm/sev.c'];

suite('KVM Lens: a series from an mbox checked against the kernel tree', function () {
  this.timeout(120_000);
  let api: Api;
  let work: string;
  let made: KernelSeriesRepo;
  let mbox: vscode.TextDocument;
  let dr7: vscode.Diagnostic;
  /** The C files' diagnostics after the first audit of the tree, as text. */
  let auditedBefore: string;

  const cDiagnostics = () => JSON.stringify(C_FILES.map((f) => vscode.languages.getDiagnostics(vscode.Uri.file(join(made.repo, f)))
    .map((d) => `${f}:${d.range.start.line + 1} ${String(typeof d.code === 'object' ? d.code.value : d.code)} ${d.message}`)));

  suiteSetup(async () => {
    work = mkdtempSync(join(tmpdir(), 'kvm-lens-tree-series-'));
    made = makeKernelSeriesRepo(work, join(ROOT, 'extension/core/model/builtin'));
    // the checkout at the base: the guard is still there, only the series brings the hazard
    git(made.repo, 'checkout', '-q', '--detach', made.base);
    const ext = vscode.extensions.getExtension<Api>(`${pkg.publisher}.${pkg.name}`);
    assert.ok(ext);
    api = await ext.activate();
    await vscode.workspace.getConfiguration('kvmLens').update('kernelTree', made.repo, vscode.ConfigurationTarget.Global);
    assert.ok(await poll(() => (api.kernelTree() === made.repo ? true : undefined)), 'kvmLens.kernelTree is taken up');
  });

  suiteTeardown(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.workspace.getConfiguration('kvmLens').update('kernelTree', undefined, vscode.ConfigurationTarget.Global);
    await poll(() => (api?.kernelTree() === undefined ? true : undefined));
    rmSync(work, { recursive: true, force: true });
  });

  // the series documents earlier suites left open are checked against this tree too, before and
  // between these tests: the C files' audit must not see any of them
  test('the tree\'s C files are audited first (the guard is there: no DR7 finding in svm.c)', async () => {
    const count = await vscode.commands.executeCommand<number>('kvmLens.auditKernelTree');
    assert.strictEqual(typeof count, 'number');
    auditedBefore = cDiagnostics();
    assert.doesNotMatch(auditedBefore, /svm_set_dr7/);
  });

  test('Open Series… opens the mbox, and the DR7 finding sits on patch 2\'s line of the write', async () => {
    const opened = await vscode.commands.executeCommand<vscode.Uri>('kvmLens.openSeries', [vscode.Uri.file(made.mbox)]);
    assert.ok(opened && opened.fsPath === made.mbox, String(opened));
    mbox = await vscode.workspace.openTextDocument(opened);
    assert.strictEqual(vscode.window.activeTextEditor?.document.uri.toString(), mbox.uri.toString(), 'the mbox is the active editor');
    const found = await poll(() => vscode.languages.getDiagnostics(mbox.uri).find(isDr7), 60_000);
    assert.ok(found, `no DR7 diagnostic on the mbox; got ${JSON.stringify(vscode.languages.getDiagnostics(mbox.uri).map((d) => d.message))}`);
    dr7 = found;
    assert.strictEqual(mbox.lineAt(dr7.range.start.line).text, ' ' + DR7_WRITE, 'the context line of the hunk that dropped the guard');
    const patch2 = mbox.getText().split('\n').findIndex((l) => /^Subject: \[PATCH 2\/2\]/.test(l));
    assert.ok(patch2 > 0 && dr7.range.start.line > patch2, 'in patch 2 of the mbox');
    assert.match(dr7.message, /svm_set_dr7\(\)/);
  });

  test('a hover on the patch\'s lines of svm_set_dr7() shows the tree\'s description of it, with the series applied', async () => {
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', mbox.uri, new vscode.Position(dr7.range.start.line, 2));
    const text = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
    assert.match(text, /\*\*svm_set_dr7\(\)\*\* — from this tree/);
    assert.match(text, /writes DR7/, 'what it does once the guard is gone');
    assert.match(text, /Reached by: .*`KVM_RUN`/);
  });

  test('its trace opens the tree\'s C files, the last step at the write on disk', async () => {
    const related = dr7.relatedInformation ?? [];
    assert.ok(related.length >= 4, `${related.length} trace steps`);
    for (const r of related) assert.ok(r.location.uri.fsPath.startsWith(join(made.repo, 'arch/x86/kvm') + '/'), `a step in the tree: ${r.location.uri.fsPath}`);
    assert.ok(!related.some((r) => /\/model\/builtin\//.test(r.location.uri.path)), 'nothing from the built-in model');
    const last = related[related.length - 1];
    assert.match(last.message, /KVM_RUN/);
    const c = await vscode.workspace.openTextDocument(last.location.uri);
    assert.strictEqual(c.lineAt(last.location.range.start.line).text, DR7_WRITE);
  });

  test('the series view and the check command say which base the series was applied to', async () => {
    const view = api.seriesView;
    const node = await poll(() => view.getChildren().find((n) => n.doc?.uri.toString() === mbox.uri.toString()));
    assert.ok(node);
    const item = view.getTreeItem(node);
    assert.match(String(item.description), new RegExp(`base-commit ${made.base.slice(0, 12)}`));
    assert.match(String(item.tooltip), /^base: base-commit [0-9a-f]{12} in /);
    const checked = await vscode.commands.executeCommand<{ root: string; baseLine: string; findings: number }>('kvmLens.checkSeriesAgainstTree');
    assert.ok(checked, 'the check ran');
    assert.strictEqual(checked.root, made.repo);
    assert.match(checked.baseLine, new RegExp(`^base: base-commit ${made.base.slice(0, 12)} in `));
    assert.ok(checked.findings >= 1);
  });

  test('the C files\' diagnostics are the same after the series was checked', async () => {
    await vscode.commands.executeCommand<number>('kvmLens.auditKernelTree');
    // the series dropped the guard in memory only: the tree's svm.c still has it
    assert.doesNotMatch(cDiagnostics(), /svm_set_dr7/);
    assert.strictEqual(cDiagnostics(), auditedBefore);
  });

  // issue 12: only dirty buffers were sent, so an undo back to the saved text left the edit in the analysis
  test('an edit in svm.c, its undo back to the saved text, and a close without saving each reach the analysis', async () => {
    const uri = vscode.Uri.file(join(made.repo, 'arch/x86/kvm/svm/svm.c'));
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    const dr7In = () => vscode.languages.getDiagnostics(uri).some((d) => /svm_set_dr7/.test(d.message));
    const dropGuard = async () => {
      const text = doc.getText();
      const at = text.indexOf(DR7_GUARD);
      assert.ok(at >= 0, 'svm.c has the guard');
      const edit = new vscode.WorkspaceEdit();
      edit.replace(uri, new vscode.Range(doc.positionAt(at), doc.positionAt(at + DR7_GUARD.length)), DR7_WRITE);
      assert.ok(await vscode.workspace.applyEdit(edit));
    };
    await dropGuard();
    assert.ok(await poll(() => (dr7In() ? true : undefined), 60_000), 'the guard deleted in the buffer: the DR7 write is found');
    await vscode.commands.executeCommand('undo');
    assert.strictEqual(doc.isDirty, false, 'undone back to the saved text');
    assert.ok(await poll(() => (dr7In() ? undefined : true), 60_000), 'the undone edit is gone from the analysis too');
    await dropGuard();
    assert.ok(await poll(() => (dr7In() ? true : undefined), 60_000));
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    await vscode.commands.executeCommand<number>('kvmLens.auditKernelTree');
    assert.ok(await poll(() => (dr7In() ? undefined : true), 60_000), 'closed without saving: the file on disk again');
  });

  test('a series on the working tree is checked again when the tree\'s C changes: patch 2 no longer applies, then applies again after the undo', async () => {
    // without base-commit and blob ids the series' base is the working tree as the editor has it
    // (with base-commit it is that commit, which no edit changes)
    const plain = join(work, 'no-base.mbx');
    writeFileSync(plain, mbox.getText().split('\n').filter((l) => !/^(base-commit: |index [0-9a-f]+\.\.[0-9a-f]+)/.test(l)).join('\n'));
    const series = await vscode.workspace.openTextDocument(vscode.Uri.file(plain));
    await vscode.window.showTextDocument(series);
    const dr7OnSeries = () => vscode.languages.getDiagnostics(series.uri).some(isDr7);
    assert.ok(await poll(() => (dr7OnSeries() ? true : undefined), 60_000), 'the DR7 finding, on the working tree');
    const uri = vscode.Uri.file(join(made.repo, 'arch/x86/kvm/svm/svm.c'));
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    // the guard patch 2 removes, reworded in the tree: its removed lines are no longer there
    const guard = 'if (vcpu->arch.guest_state_protected)';
    const at = doc.getText().indexOf(DR7_GUARD);
    assert.ok(at >= 0, 'svm.c has the guard');
    const edit = new vscode.WorkspaceEdit();
    edit.replace(uri, new vscode.Range(doc.positionAt(at + 1), doc.positionAt(at + 1 + guard.length)), 'if (vcpu->arch.guest_state_protected != 0)');
    assert.ok(await vscode.workspace.applyEdit(edit));
    assert.ok(await poll(() => (dr7OnSeries() ? undefined : true), 60_000), 'checked again on the edited svm.c: the hunk does not apply, no finding from it');
    await vscode.commands.executeCommand('undo');
    assert.ok(await poll(() => (dr7OnSeries() ? true : undefined), 60_000), 'the undo checks it again: the finding is back');
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });
});
