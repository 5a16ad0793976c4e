// What the integration tests share: where the examples are, and how to wait for the analysis
// (it runs in a worker after a debounce, so results arrive some time after an open or an edit).
import { join } from 'node:path';
import type * as vscode from 'vscode';

// compiled to dist/test/integration/, three levels below the repository
export const ROOT = join(__dirname, '../../..');
export const DR7_PATCH = join(ROOT, 'examples/sev-es-debug-rfc/0002-KVM-SVM-Let-DR7-writes-through-for-SEV-ES-guests.patch');

export async function poll<T>(probe: () => T | undefined, ms = 30_000): Promise<T | undefined> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function codeOf(d: vscode.Diagnostic): string | number | undefined {
  return typeof d.code === 'object' ? d.code.value : d.code;
}

export const isDr7 = (d: vscode.Diagnostic): boolean => d.source === 'kvm-lens' && codeOf(d) === 'vmsa-write-after-encryption';
