// Bundles the CLI (and later the extension) into dist/ and copies the grammar .wasm files
// into grammars/ from the pinned packages, so nothing is looked up in node_modules at run time.
import { build } from 'esbuild';
import { copyFileSync, cpSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

mkdirSync(join(root, 'grammars'), { recursive: true });
copyFileSync(require.resolve('tree-sitter-c/tree-sitter-c.wasm'), join(root, 'grammars/tree-sitter-c.wasm'));
copyFileSync(require.resolve('web-tree-sitter/web-tree-sitter.wasm'), join(root, 'grammars/web-tree-sitter.wasm'));

// The built-in model is C text read at run time, next to the bundle.
cpSync(join(root, 'extension/core/model/builtin'), join(root, 'dist/model/builtin'), { recursive: true });

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  // esbuild would pick web-tree-sitter's ESM build (import.meta.url); the CJS build is what we run.
  alias: { 'web-tree-sitter': require.resolve('web-tree-sitter') },
};
await build({ ...common, entryPoints: [join(root, 'extension/cli/main.ts')], outfile: join(root, 'dist/cli.js') });
await build({ ...common, entryPoints: [join(root, 'extension/extension.ts')], outfile: join(root, 'dist/extension.js'), external: ['vscode'] });
await build({ ...common, entryPoints: [join(root, 'extension/worker/analysisWorker.ts')], outfile: join(root, 'dist/analysisWorker.js') });
// Integration suite (run inside VS Code by scripts/run-vscode-tests.mjs); mocha comes from node_modules.
await build({ ...common, entryPoints: [join(root, 'test/integration/*.ts')], outdir: join(root, 'dist/test/integration'), external: ['vscode', 'mocha'] });
// The restricted-mode suite, in its own folder so the main run does not pick it up (scripts/run-restricted-tests.mjs).
await build({ ...common, entryPoints: [join(root, 'test/integration/restricted/*.ts')], outdir: join(root, 'dist/test/integration/restricted'), external: ['vscode', 'mocha'] });
