#!/usr/bin/env node
// The restricted-mode suite (test/integration/restricted/) in the same offline VS Code: makes its
// workspace in a temp folder (a kernel-like git repository with a series in it, whose
// .vscode/settings.json points kvmLens.kernelTree outside, and a fake git; see
// test/integration/restricted/workspace.ts), then runs scripts/run-vscode-tests.mjs on it with
// workspace trust on and the folder not trusted (TEST_UNTRUSTED=1) and the fake git first on the
// host's PATH (TEST_HOST_PATH).
//
//   node scripts/run-restricted-tests.mjs [--verbose]
// Needs npm run build; a missing host is one "skipped" line, exit 0, as in run-vsix-test.mjs.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM, CODE_SERVER, NODE24, ROOT } from './vscodeHost.mjs';

const SUITE = join(ROOT, 'dist/test/integration/restricted');
const say = (msg) => console.log(`[restricted-tests] ${msg}`);

if (process.env.KVM_LENS_SKIP_INTEGRATION === '1') { console.log('restricted-mode tests skipped: KVM_LENS_SKIP_INTEGRATION=1'); process.exit(0); }
for (const f of [NODE24, CODE_SERVER, CHROMIUM]) {
  if (!existsSync(f)) { console.log(`restricted-mode tests skipped: VS Code host not installed (missing ${f}; run scripts/setup-vscode-host.sh)`); process.exit(0); }
}
if (!existsSync(join(SUITE, 'index.js'))) { console.error(`[restricted-tests] missing ${SUITE}/index.js; run npm run build first`); process.exit(1); }

const tmp = mkdtempSync(join(tmpdir(), 'kvm-lens-restricted-'));
const { makeRestrictedWorkspace } = createRequire(import.meta.url)(join(SUITE, 'workspace.js'));
const at = makeRestrictedWorkspace(tmp, join(ROOT, 'extension/core/model/builtin'));
say(`workspace ${at.workspace}`);

const runner = spawn(process.execPath, [join(ROOT, 'scripts/run-vscode-tests.mjs'), ...process.argv.slice(2)], {
  cwd: ROOT,
  stdio: 'inherit',
  env: { ...process.env, TEST_WORKSPACE: at.workspace, EXT_TESTS: join(SUITE, 'index.js'), TEST_UNTRUSTED: '1', TEST_HOST_PATH: at.bin, TEST_TIMEOUT_MS: process.env.TEST_TIMEOUT_MS || '150000' },
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => runner.kill(sig));
runner.on('exit', (code, signal) => {
  const rc = code ?? (signal ? 1 : 0);
  if (rc === 0 && !process.env.KEEP_TEST_TMP) rmSync(tmp, { recursive: true, force: true });
  else say(`kept ${tmp}`);
  process.exit(rc);
});
