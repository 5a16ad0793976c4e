// Review prep in a real VS Code: a comment through the Comments API's command, kept in the
// sidecar next to the series, a trailer, and the composed reply in the trimmed interleaved style.
/// <reference types="mocha" />
import * as assert from 'node:assert';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { ROOT } from './support';

suite('KVM Lens review replies', () => {
  let dir: string;
  suiteSetup(() => {
    // a copy: the sidecar and the replies are written next to the series
    dir = mkdtempSync(join(tmpdir(), 'kvm-lens-review-'));
    cpSync(join(ROOT, 'examples/sev-es-debug-rfc'), dir, { recursive: true });
    // as the series arrives from the list (b4 am): each mail with its Message-Id, threaded to the cover letter
    for (const name of readdirSync(dir)) {
      const n = Number(name.slice(0, 4));
      const threading = n === 0 ? '' : 'In-Reply-To: <rfc-0@example.org>\nReferences: <rfc-0@example.org>\n';
      const text = readFileSync(join(dir, name), 'utf8').replace(/^(Subject: .*(?:\n .*)*\n)/m, `$1Message-Id: <rfc-${n}@example.org>\n${threading}`);
      writeFileSync(join(dir, name), text);
    }
  });
  suiteTeardown(() => rmSync(dir, { recursive: true, force: true }));

  test('a comment on the removed guard and a Reviewed-by become a threaded, trimmed reply', async () => {
    const file = join(dir, '0002-KVM-SVM-Let-DR7-writes-through-for-SEV-ES-guests.patch');
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
    await vscode.window.showTextDocument(doc);
    const lines = doc.getText().split('\n');
    const guard = lines.findIndex((l) => /^-.*guest_state_protected/.test(l)) + 1;
    const id = await vscode.commands.executeCommand<string>('kvmLens.review.addNote', doc.uri, guard,
      'This early return is what keeps KVM from writing DR7 of a protected guest; KVM_RUN reaches here after LAUNCH_UPDATE_VMSA.');
    assert.ok(id, 'the comment was added');
    const sidecar = join(dir, '.kvm-lens-review.json');
    assert.ok(existsSync(sidecar), 'kept in the sidecar next to the series');
    assert.strictEqual(JSON.parse(readFileSync(sidecar, 'utf8')).annotations.length, 1);

    // "Add to review" on the DR7 finding: a draft comment with the finding and its trace
    const dr7 = await new Promise<vscode.Diagnostic | undefined>((resolve) => {
      const end = Date.now() + 30_000;
      const look = () => {
        const d = vscode.languages.getDiagnostics(doc.uri).find((x) => x.source === 'kvm-lens' && (typeof x.code === 'object' ? x.code.value : x.code) === 'vmsa-write-after-encryption');
        if (d || Date.now() > end) resolve(d); else setTimeout(look, 250);
      };
      look();
    });
    assert.ok(dr7, 'the finding to add');
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', doc.uri, dr7.range);
    const add = actions.find((a) => a.title === 'Add to review');
    assert.ok(add?.command, actions.map((a) => a.title).join(' | '));
    await vscode.commands.executeCommand(add.command.command, ...(add.command.arguments ?? []));
    const annotations = JSON.parse(readFileSync(sidecar, 'utf8')).annotations as { id: string; body: string; state: string; fromFinding?: string }[];
    assert.strictEqual(annotations.length, 2);
    const fromFinding = annotations.find((a) => a.fromFinding);
    assert.ok(fromFinding && fromFinding.state === 'draft', 'the finding is a draft waiting for the reviewer');
    // unconfirmed, it is in no reply
    const early = await vscode.commands.executeCommand<string[]>('kvmLens.review.composeReplies', join(dir, 'replies-early'));
    assert.ok(!early.some((w) => readFileSync(w, 'utf8').includes('The ioctls that get there:')), 'an unconfirmed draft is not sent');
    await vscode.commands.executeCommand('kvmLens.review.confirmNote', fromFinding.id);
    assert.strictEqual(JSON.parse(readFileSync(sidecar, 'utf8')).annotations.find((a: { id: string }) => a.id === fromFinding.id).state, 'final');

    await vscode.commands.executeCommand('kvmLens.review.addTrailer', 'Reviewed-by', true);
    const out = join(dir, 'replies');
    const written = await vscode.commands.executeCommand<string[]>('kvmLens.review.composeReplies', out);
    assert.ok(written.length >= 1, 'at least the reply to patch 2');
    const reply = readFileSync(written.find((w) => /0002/.test(w)) ?? written[0], 'utf8');
    assert.match(reply, /^Subject: Re: \[RFC PATCH 2\/3\]/m);
    assert.match(reply, /^In-Reply-To: <rfc-2@example\.org>$/m);
    assert.match(reply, /^References: <rfc-0@example\.org> <rfc-2@example\.org>$/m);
    const body = reply.split('\n');
    const quoted = body.findIndex((l) => /^> -.*guest_state_protected/.test(l));
    assert.ok(quoted > 0, 'the commented line is quoted');
    assert.strictEqual(body[quoted + 1], '', 'a blank line, then the comment');
    assert.match(body[quoted + 2], /^This early return/);
    assert.ok(body.some((l) => l === '> [...]'), 'the rest is elided');
    // the confirmed finding: the reviewer's sentence and the ioctls as an indented list, no local paths
    const list = body.indexOf('The ioctls that get there:');
    assert.ok(list > 0, 'the confirmed finding is in the reply');
    assert.ok(body.slice(list).some((l) => /^    KVM_RUN on vcpu 0, svm_set_dr7\(\) \(arch\/x86\/kvm\/svm\/svm\.c:\d+\)$/.test(l)), body.slice(list).join('\n'));
    assert.ok(!body.some((l) => /builtin-model\/|\/tmp\/|\.patch:/.test(l)), 'no local paths in the reply');
    // the file and the hunk above the quoted guard
    assert.ok(body.slice(0, quoted).some((l) => l.startsWith('> diff --git a/arch/x86/kvm/svm/svm.c')));
    assert.ok(body.slice(0, quoted).some((l) => /^> @@ .* svm_set_dr7\(/.test(l)));
  });
});
