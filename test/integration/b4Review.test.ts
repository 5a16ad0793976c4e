// The review moved to and from b4 review in a real VS Code: a kernel-like checkout with a
// b4/review/<change-id> branch made here (test/unit/support/b4ReviewCheckout.ts), the series
// inside it, so the commands find the repository from the series' directory. A comment added
// in the editor goes to the branch's tracking commit ("Send Review to b4 review", the modal
// confirmation answered by the caller's option), and comes back into a copy of the series
// that has no review file yet ("Import Review from b4 review"), shown at once as a thread.
/// <reference types="mocha" />
import * as assert from 'node:assert';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import * as pkg from '../../package.json';
import { patchesOf, reviewOf } from '../../extension/core/review/b4Tracking';
import { BRANCH, REVIEWER, makeB4ReviewCheckout, tipOf, tipTracking, type B4ReviewCheckout } from '../unit/support/b4ReviewCheckout';
import { ROOT, poll } from './support';

interface Api { reviewThreads(uri: vscode.Uri): { line: number; bodies: string[] }[] }
interface Outcome { kind: string; message: string; branch?: string; tip?: string }

const PATCH_2 = '0002-KVM-SVM-Let-DR7-writes-through-for-SEV-ES-guests.patch';
const COMMENT = 'Without this return KVM writes DR7 into the encrypted VMSA once LAUNCH_UPDATE_VMSA has run.';
const flat = (s: string): string => s.replace(/\s+/g, ' ').trim();

suite('KVM Lens and b4 review', () => {
  let work: string;
  let made: B4ReviewCheckout;
  let api: Api;
  let guard: number;

  suiteSetup(async () => {
    work = mkdtempSync(join(tmpdir(), 'kvm-lens-b4-review-'));
    made = makeB4ReviewCheckout(work, join(ROOT, 'extension/core/model/builtin'), join(ROOT, 'examples/sev-es-debug-rfc'), join(work, 'linux/review'));
    // the same series once more, without a review file: where the import goes
    cpSync(made.seriesDir, join(made.repo, 'review-again'), { recursive: true });
    cpSync(made.seriesDir, join(made.repo, 'review-cli'), { recursive: true, filter: (src) => !src.endsWith('.kvm-lens-review.json') });
    const ext = vscode.extensions.getExtension<Api>(`${pkg.publisher}.${pkg.name}`);
    assert.ok(ext);
    api = await ext.activate();
  });
  suiteTeardown(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    rmSync(work, { recursive: true, force: true });
  });

  test('Send Review to b4 review: a comment made in the editor lands in the tracking commit at the branch\'s tip', async () => {
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(join(made.seriesDir, PATCH_2)));
    await vscode.window.showTextDocument(doc);
    guard = doc.getText().split('\n').findIndex((l) => /^-.*guest_state_protected/.test(l)) + 1;
    assert.ok(guard > 0, 'patch 2 removes the guard');
    const id = await vscode.commands.executeCommand<string>('kvmLens.review.addNote', doc.uri, guard, COMMENT);
    assert.ok(id, 'the comment was added');
    assert.ok(existsSync(join(made.seriesDir, '.kvm-lens-review.json')), 'the sidecar of the series');

    const sent = await vscode.commands.executeCommand<Outcome>('kvmLens.review.sendToB4', doc.uri, { confirmed: true });
    assert.strictEqual(sent.kind, 'done', sent.message);
    assert.match(sent.message, new RegExp(`^added 1 comment and 0 trailers to ${BRANCH} \\(`));
    assert.strictEqual(tipOf(made.repo), sent.tip);
    const mine = reviewOf(patchesOf(tipTracking(made.repo))[1]!, REVIEWER.email);
    const comments = (mine?.['comments'] ?? []) as { path: string; text: string; content?: string }[];
    assert.deepStrictEqual(comments.map((c) => [c.path, flat(c.text)]), [['a/arch/x86/kvm/svm/svm.c', COMMENT]]);
    assert.strictEqual(comments[0]!.content, doc.lineAt(guard - 1).text, 'the line as the diff shows it');
  });

  test('Import Review from b4 review: the comment comes back into a new review file and its thread shows at once', async () => {
    const dir = join(made.repo, 'review-again');
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(join(dir, PATCH_2)));
    await vscode.window.showTextDocument(doc);
    assert.deepStrictEqual(api.reviewThreads(doc.uri), [], 'no review here yet');
    const imported = await vscode.commands.executeCommand<Outcome>('kvmLens.review.importFromB4', doc.uri);
    assert.strictEqual(imported.kind, 'done', imported.message);
    assert.strictEqual(imported.message, `imported 1 comment and 0 trailers from ${BRANCH} into .kvm-lens-review.json`);
    const review = JSON.parse(readFileSync(join(dir, '.kvm-lens-review.json'), 'utf8')) as { reviewer: { email: string } };
    assert.strictEqual(review.reviewer.email, REVIEWER.email, 'the reviewer from git config in the checkout');
    const threads = await poll(() => { const t = api.reviewThreads(doc.uri); return t.length > 0 ? t : undefined; }, 5_000);
    assert.deepStrictEqual(threads?.map((t) => [t.line, t.bodies.map(flat)]), [[guard, [COMMENT]]]);
  });

  test('a review file another program writes (kvm-lens b4-review import in a terminal) is shown at once, and its removal too', async () => {
    const dir = join(made.repo, 'review-cli');
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(join(dir, PATCH_2)));
    await vscode.window.showTextDocument(doc);
    assert.deepStrictEqual(api.reviewThreads(doc.uri), [], 'no review here yet');
    const sidecar = join(dir, '.kvm-lens-review.json');
    writeFileSync(sidecar, readFileSync(join(made.repo, 'review-again', '.kvm-lens-review.json')));
    const shown = await poll(() => { const t = api.reviewThreads(doc.uri); return t.length > 0 ? t : undefined; }, 5_000);
    assert.deepStrictEqual(shown?.map((t) => [t.line, t.bodies.map(flat)]), [[guard, [COMMENT]]]);
    rmSync(sidecar);
    const gone = await poll(() => (api.reviewThreads(doc.uri).length === 0 ? true : undefined), 5_000);
    assert.ok(gone, 'the thread went with its review file');
  });
});
