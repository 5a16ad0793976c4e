// What a reviewer sees on the example series in a real VS Code: the trace as related
// information, a hover summary on the patched function, CodeLens above each patch, and
// diagnostics that follow the text as it is edited.
/// <reference types="mocha" />
import * as assert from 'node:assert';
import * as vscode from 'vscode';
import { DR7_PATCH, poll, isDr7 } from './support';



suite('KVM Lens features on the example series', () => {
  let doc: vscode.TextDocument;
  let dr7: vscode.Diagnostic;

  suiteSetup(async () => {
    doc = await vscode.workspace.openTextDocument(vscode.Uri.file(DR7_PATCH));
    await vscode.window.showTextDocument(doc);
    const found = await poll(() => vscode.languages.getDiagnostics(doc.uri).find(isDr7));
    assert.ok(found, 'the DR7 finding arrives');
    dr7 = found;
  });

  test('the diagnostic sits on the patch line, links its rule, and carries the trace', () => {
    assert.strictEqual(dr7.severity, vscode.DiagnosticSeverity.Error);
    assert.match(doc.lineAt(dr7.range.start.line).text, /^[-+ ]/, 'a line of the hunk');
    assert.ok(typeof dr7.code === 'object' && dr7.code.target.fragment === 'rule-vmsa-write-after-encryption');
    const related = dr7.relatedInformation ?? [];
    assert.ok(related.length >= 4, `${related.length} trace steps`);
    assert.match(related[related.length - 1].message, /KVM_RUN/);
    assert.ok(related.some((r) => /dist\/model\/builtin\/[a-z0-9]+\.c$/.test(r.location.uri.path)), 'model steps open the bundled model C');
  });

  test('hover on the removed guard shows svm_set_dr7()\'s summary and the ioctls that reach it', async () => {
    const line = doc.getText().split('\n').findIndex((l) => /^-.*guest_state_protected/.test(l));
    assert.ok(line >= 0);
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, new vscode.Position(line, 3));
    const text = hovers.flatMap((h) => h.contents).map((c) => (typeof c === 'string' ? c : c.value)).join('\n');
    assert.match(text, /svm_set_dr7\(\)/);
    assert.match(text, /Reached by: .*KVM_RUN/);
    // and on the hunk header that names the function, and on the write itself
    const lines = doc.getText().split('\n');
    for (const re of [/^@@ .* svm_set_dr7\(/, /^ \tsvm->vmcb->save\.dr7 = value;/]) {
      const at = lines.findIndex((l) => re.test(l));
      assert.ok(at >= 0, String(re));
      const more = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, new vscode.Position(at, 2));
      assert.match(more.flatMap((h) => h.contents).map((c) => (typeof c === 'string' ? c : c.value)).join('\n'), /writes DR7 in the VMCB save area/, `hover at ${lines[at]}`);
    }
  });

  test('CodeLens above the patch counts its findings and offers Simulate', async () => {
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri, 10);
    const titles = lenses.map((l) => l.command?.title ?? '');
    assert.ok(titles.some((t) => /^KVM Lens .*finding/.test(t)), titles.join(' | '));
    assert.ok(titles.includes('Simulate'));
  });

  test('diagnostics follow the text: putting the guard back clears the finding, undoing brings it back', async () => {
    const editor = await vscode.window.showTextDocument(doc);
    const lines = doc.getText().split('\n');
    const guard = lines.findIndex((l) => /^-.*guest_state_protected/.test(l));
    // the two removed lines become context again: the patch no longer drops the guard
    const ok = await editor.edit((b) => {
      b.replace(new vscode.Range(guard, 0, guard, 1), ' ');
      b.replace(new vscode.Range(guard + 1, 0, guard + 1, 1), ' ');
    });
    assert.ok(ok);
    const cleared = await poll(() => (vscode.languages.getDiagnostics(doc.uri).some(isDr7) ? undefined : true));
    assert.ok(cleared, 'the finding goes once the guard is back');
    await vscode.commands.executeCommand('undo');
    await vscode.commands.executeCommand('undo');
    const back = await poll(() => vscode.languages.getDiagnostics(doc.uri).find(isDr7));
    assert.ok(back, 'and returns with the undo');
  });
});
