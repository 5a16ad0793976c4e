// The same integration suite through @vscode/test-electron, the ecosystem's standard runner, for
// machines that can download VS Code (this project's CI machines cannot; they use the offline
// code-server host in run-vscode-tests.mjs). Usage: npm run test:electron [-- --version 1.90.0]
import { runTests } from '@vscode/test-electron';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const at = process.argv.indexOf('--version');
const version = at >= 0 ? process.argv[at + 1] : 'stable';

try {
  await runTests({
    version,
    extensionDevelopmentPath: root,
    extensionTestsPath: join(root, 'dist/test/integration/index.js'),
    // the workspace holds examples/ and test/fixtures/, as in the offline host
    launchArgs: [root, '--disable-extensions', '--disable-workspace-trust'],
  });
} catch (e) {
  console.error(`integration tests through @vscode/test-electron failed: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
}
