// Restricted mode, in a real VS Code with workspace trust on and this folder not trusted (run by
// scripts/run-restricted-tests.mjs, which made the folder: see workspace.ts). What the README's
// "Restricted mode" bullet promises, each point checked: no process is spawned (a fake git first
// on the host's PATH would leave a marker), nothing is written into the workspace until the user
// adds a review comment, and the workspace's kvmLens.kernelTree, which points outside the folder,
// is ignored while the user's own setting is honoured.
/// <reference types="mocha" />
import * as assert from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import * as pkg from '../../../package.json';
import { DR7_WRITE } from '../../unit/support/kernelSeriesRepo';
import { isDr7, poll } from '../support';
import { fileList, restrictedLayout, type RestrictedLayout } from './workspace';

interface Api { kernelTree(): string | undefined }

suite('KVM Lens in restricted mode (an untrusted workspace)', function () {
  this.timeout(120_000);
  let api: Api;
  let at: RestrictedLayout;
  let filesAtStart: string[];

  const noProcess = (when: string): void => {
    assert.ok(!existsSync(at.marker), `${when}, a process was spawned: ${existsSync(at.marker) ? readFileSync(at.marker, 'utf8').trim() : ''}`);
  };
  const kernelTreeIs = async (want: string): Promise<void> => {
    assert.ok(await poll(() => (api.kernelTree() === want ? true : undefined)), `the kernel tree should be ${want}; it is ${api.kernelTree()}`);
  };

  suiteSetup(async () => {
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder, 'the run opened a folder');
    at = restrictedLayout(dirname(folder.uri.fsPath));
    assert.strictEqual(folder.uri.fsPath, at.workspace, 'the folder scripts/run-restricted-tests.mjs made');
    filesAtStart = JSON.parse(readFileSync(at.filesAtStart, 'utf8')) as string[];
    const ext = vscode.extensions.getExtension<Api>(`${pkg.publisher}.${pkg.name}`);
    assert.ok(ext);
    api = await ext.activate();
  });

  suiteTeardown(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.workspace.getConfiguration('kvmLens').update('kernelTree', undefined, vscode.ConfigurationTarget.Global);
  });

  test('the run is restricted: the workspace is not trusted, and the fake git is first on the host\'s PATH', () => {
    assert.strictEqual(vscode.workspace.isTrusted, false);
    // VS Code puts its remote-cli folder first; the git found on PATH must be the fake one
    const gitDir = (process.env.PATH ?? '').split(':').find((d) => d && existsSync(join(d, 'git')));
    assert.strictEqual(gitDir, at.bin, `git on the host's PATH comes from ${gitDir}`);
  });

  test('the workspace\'s kvmLens.kernelTree, pointing outside the folder, is ignored: the tree is the folder itself', async () => {
    assert.match(readFileSync(`${at.workspace}/.vscode/settings.json`, 'utf8'), /"kvmLens\.kernelTree"/, 'the workspace does set it');
    assert.strictEqual(vscode.workspace.getConfiguration('kvmLens').get<string>('kernelTree', ''), '');
    await kernelTreeIs(at.workspace);
  });

  test('opening and analysing the series runs no process, and its base line says git was not run', async () => {
    const opened = await vscode.commands.executeCommand<vscode.Uri>('kvmLens.openSeries', [vscode.Uri.file(at.series)]);
    assert.ok(opened && opened.fsPath === at.series, String(opened));
    const mbox = await vscode.workspace.openTextDocument(opened);
    const dr7 = await poll(() => vscode.languages.getDiagnostics(mbox.uri).find(isDr7), 60_000);
    assert.ok(dr7, `no DR7 diagnostic on the series; got ${JSON.stringify(vscode.languages.getDiagnostics(mbox.uri).map((d) => d.message))}`);
    assert.strictEqual(mbox.lineAt(dr7.range.start.line).text, ' ' + DR7_WRITE, 'checked against the tree at its base: patch 2 brings the finding');
    const checked = await vscode.commands.executeCommand<{ root: string; baseLine: string }>('kvmLens.checkSeriesAgainstTree');
    assert.ok(checked, 'the check ran');
    const audited = await vscode.commands.executeCommand<number>('kvmLens.auditKernelTree');
    noProcess('opening, analysing and checking the series and auditing the tree');
    assert.strictEqual(typeof audited, 'number', 'the tree was audited');
    assert.strictEqual(checked.root, at.workspace);
    assert.match(checked.baseLine, /^base: the working tree of .*\(git not run: the workspace is not trusted\)$/);
  });

  test('nothing was written into the workspace by opening, analysing and auditing', () => {
    assert.deepStrictEqual(fileList(at.workspace), filesAtStart);
  });

  test('adding a review comment (the user\'s action) writes the sidecar, and only it; no git config is run for the reviewer', async () => {
    const mbox = await vscode.workspace.openTextDocument(vscode.Uri.file(at.series));
    const guard = mbox.getText().split('\n').findIndex((l) => /^-.*guest_state_protected/.test(l)) + 1;
    assert.ok(guard > 0, 'patch 2 removes the guard');
    const id = await vscode.commands.executeCommand<string>('kvmLens.review.addNote', mbox.uri, guard, 'This return keeps KVM from writing DR7 of a protected guest.');
    assert.ok(id, 'the comment was added');
    const sidecar = `${at.series}.kvm-lens-review.json`;
    assert.ok(existsSync(sidecar), 'the sidecar next to the series');
    const added = fileList(at.workspace).filter((f) => !filesAtStart.includes(f));
    assert.deepStrictEqual(added.map((f) => f.split(' ')[0]), ['series.mbox.kvm-lens-review.json']);
    assert.deepStrictEqual(filesAtStart.filter((f) => !fileList(at.workspace).includes(f)), [], 'nothing else changed');
    noProcess('adding a review comment');
  });

  test('Send and Import Review to/from b4 review say they need a trusted workspace, and run no git', async () => {
    const uri = vscode.Uri.file(at.series);
    for (const command of ['kvmLens.review.sendToB4', 'kvmLens.review.importFromB4']) {
      const out = await vscode.commands.executeCommand<{ kind: string; message: string }>(command, uri, { confirmed: true });
      assert.strictEqual(out.kind, 'failed', command);
      assert.match(out.message, /runs git in the kernel checkout, which KVM Lens does only in a trusted workspace/, command);
    }
    noProcess('running the b4 review commands');
  });

  test('a user-level kvmLens.kernelTree is honoured (and the workspace folder is the tree again without it)', async () => {
    const config = () => vscode.workspace.getConfiguration('kvmLens');
    await config().update('kernelTree', at.outside, vscode.ConfigurationTarget.Global);
    await kernelTreeIs(at.outside);
    assert.strictEqual(typeof await vscode.commands.executeCommand<number>('kvmLens.auditKernelTree'), 'number', 'the outside tree is audited');
    await config().update('kernelTree', undefined, vscode.ConfigurationTarget.Global);
    await kernelTreeIs(at.workspace);
    noProcess('changing the kernel tree (the open series is checked again)');
  });

  // last: it runs the fake git itself, to show the checks above could see a process
  test('control: anything that runs git on the host\'s PATH leaves the marker', () => {
    noProcess('before the control');
    assert.throws(() => execFileSync('git', ['--version'], { stdio: 'ignore' }), 'the fake git exits 1');
    assert.match(readFileSync(at.marker, 'utf8'), /^git --version \(parent: /);
    rmSync(at.marker);
  });
});
