// The integration half of `npm test`: installs the offline VS Code host when missing, then runs
// the suite in it and exits with the suite's code. A host that cannot be installed (no npm or
// Debian network, no root for apt-get) is one "skipped" line and exit 0: CI must not go red
// because a download failed. KVM_LENS_SKIP_INTEGRATION=1 skips on purpose.
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const skip = (reason) => {
  console.log(`integration tests skipped: ${reason}`);
  process.exit(0);
};

if (process.env.KVM_LENS_SKIP_INTEGRATION === '1') skip('KVM_LENS_SKIP_INTEGRATION=1');

// Progress goes to the terminal (the first install takes minutes); the failure reason is the
// setup script's last stderr line, so it is captured.
const setup = spawnSync('bash', [join(root, 'scripts/setup-vscode-host.sh')], {
  cwd: root,
  stdio: ['ignore', 'inherit', 'pipe'],
  encoding: 'utf8',
});
if (setup.error) skip(`cannot run scripts/setup-vscode-host.sh (${setup.error.message})`);
if (setup.status !== 0) {
  const last = setup.stderr.trim().split('\n').pop() || `setup exited with ${setup.status ?? setup.signal}`;
  skip(`VS Code host not installed: ${last.replace(/^setup-vscode-host: /, '')}`);
}
if (setup.stderr.trim()) process.stderr.write(setup.stderr);

// The suite against the repository, then (each when the one before passed) the restricted-mode
// suite in an untrusted workspace (scripts/run-restricted-tests.mjs, one more host launch) and
// the packed .vsix installed in the host (scripts/run-vsix-test.mjs, about 20 s more;
// KVM_LENS_SKIP_VSIX=1 leaves it out).
const verbose = process.argv.slice(2).filter((a) => a === '--verbose');
const steps = [[join(root, 'scripts/run-vscode-tests.mjs'), ...process.argv.slice(2)], [join(root, 'scripts/run-restricted-tests.mjs'), ...verbose]];
if (process.env.KVM_LENS_SKIP_VSIX === '1') console.log('vsix test skipped: KVM_LENS_SKIP_VSIX=1');
else steps.push([join(root, 'scripts/run-vsix-test.mjs'), ...verbose]);
let current;
// Pass a cancel on so the runner can end code-server's process group itself.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => current?.kill(sig));
const next = () => {
  const args = steps.shift();
  if (!args) process.exit(0);
  current = spawn(process.execPath, args, { cwd: root, stdio: 'inherit' });
  current.on('exit', (code, signal) => {
    const rc = code ?? (signal ? 1 : 0);
    if (rc !== 0) process.exit(rc);
    next();
  });
};
next();
