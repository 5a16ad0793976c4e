// The simulation panel in a real VS Code: it opens beside the series, steps the default launch
// sequence through the series' code, and compares findings under a what-if assumption.
/// <reference types="mocha" />
import * as assert from 'node:assert';
import { join } from 'node:path';
import * as vscode from 'vscode';
import * as pkg from '../../package.json';
import { ROOT } from './support';

const PATCH_3 = join(ROOT, 'examples/sev-es-debug-rfc/0003-KVM-SVM-Refuse-LAUNCH_UPDATE_VMSA-while-guest-debug-.patch');

interface Api {
  simulation: { whatIf(a: Record<string, string>): Promise<{ appeared: { rule: string }[]; vanished: { rule: string }[] } | undefined> };
}

suite('KVM Lens simulation panel', () => {
  test('steps the launch sequence through the whole series and shows the state after each step', async () => {
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(PATCH_3));
    await vscode.window.showTextDocument(doc);
    const result = await vscode.commands.executeCommand<{ steps: { operation: string; outcome?: string; state: { vcpus: { encrypted: boolean; debugArmed: boolean }[] } }[] }>('kvmLens.openSimulation');
    assert.ok(result, 'the panel ran the default sequence');
    const names = result.steps.map((s) => s.operation);
    assert.deepStrictEqual(names.slice(0, 3), ['KVM_SEV_INIT2', 'KVM_CREATE_VCPU', 'KVM_SET_GUEST_DEBUG']);
    assert.strictEqual(result.steps[2].state.vcpus[0].debugArmed, true);
    const launch = result.steps[names.indexOf('KVM_SEV_LAUNCH_UPDATE_VMSA')];
    assert.strictEqual(launch.state.vcpus[0].encrypted, false, 'patch 3 makes LAUNCH_UPDATE_VMSA refuse while debug is armed');
    // the webview tab shows up once the workbench has laid it out
    let tabs: string[] = [];
    for (let i = 0; i < 40 && !tabs.some((l) => l.startsWith('KVM Lens: ')); i++) {
      await new Promise((r) => setTimeout(r, 250));
      tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs).map((t) => t.label);
    }
    assert.ok(tabs.some((l) => l.startsWith('KVM Lens: ')), tabs.join(' | '));
  });

  test('what-if: a legacy VM type changes which findings the series has', async () => {
    const api = vscode.extensions.getExtension<Api>(`${pkg.publisher}.${pkg.name}`)!.exports;
    const diff = await api.simulation.whatIf({ 'vm-type': 'legacy' });
    assert.ok(diff, 'the comparison ran');
    assert.ok(Array.isArray(diff.appeared) && Array.isArray(diff.vanished));
  });
});
