// The extension in a real VS Code: it loads from the manifest, activates, registers its
// command, and publishes kvm-lens diagnostics for the example series.
// mocha's tdd globals are declared here, not in tsconfig, so unit tests cannot pick them up by mistake.
/// <reference types="mocha" />
import * as assert from 'node:assert';
import * as vscode from 'vscode';
import * as pkg from '../../package.json';
import { DR7_PATCH, poll, codeOf } from './support';

const EXTENSION_ID = `${pkg.publisher}.${pkg.name}`;

suite('KVM Lens in VS Code', () => {
  suiteSetup(() => {
    console.log(`  VS Code ${vscode.version} (${vscode.env.appName}), extension host Node ${process.version}`);
  });

  test(`${EXTENSION_ID} is present and activates`, async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} is not loaded`);
    await ext.activate();
    assert.ok(ext.isActive);
  });

  test('command kvmLens.checkActiveSeries is registered', async () => {
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes('kvmLens.checkActiveSeries'));
  });

  test('the DR7 patch gets a vmsa-write-after-encryption diagnostic', async () => {
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(DR7_PATCH));
    await vscode.window.showTextDocument(doc);
    const wanted = (d: vscode.Diagnostic) => d.source === 'kvm-lens' && codeOf(d) === 'vmsa-write-after-encryption';
    const found = await poll(() => vscode.languages.getDiagnostics(doc.uri).find(wanted), 30_000);
    const seen = vscode.languages.getDiagnostics(doc.uri).map((d) => `${d.source ?? '?'}:${codeOf(d) ?? '?'}`);
    assert.ok(found, `no kvm-lens vmsa-write-after-encryption diagnostic within 30 s; got [${seen.join(', ')}]`);
  });
});
