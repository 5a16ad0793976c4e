#!/usr/bin/env node
// Runs the integration suite inside a real VS Code, offline: code-server (VS Code server + web
// workbench, Node extension host) from .vscode-test/, opened by headless Debian Chromium through
// playwright-core. The workbench URL carries the payload extensionDevelopmentPath +
// extensionTestsPath, VS Code calls the suite's run() in the extension host, and the result comes
// back through window.codeAutomationExit, which becomes our exit code.
//
//   node scripts/run-vscode-tests.mjs [--screenshot FILE] [--demo FILE] [--verbose]
//   --demo FILE  no suite: open FILE (workspace-relative), show Problems, wait for a kvm-lens row
//                and screenshot (to --screenshot FILE, else into the kept temp folder)
// Env: EXT_DEV (extension folder, default repo root), EXT_TESTS (suite index.js, default
// dist/test/integration/index.js), TEST_WORKSPACE (default repo root), INSTALLED_EXTENSIONS_DIR
// (extensions installed with code-server --install-extension; then no development path is
// loaded), TEST_UNTRUSTED=1 (workspace trust on and the folder not trusted: restricted mode, no
// prompt), TEST_HOST_PATH (directories put first on the PATH of code-server and so of its
// extension host), TEST_TIMEOUT_MS, VERBOSE=1, KEEP_TEST_TMP=1, VSCODE_HOST_DIR, CHROMIUM.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { format } from 'node:util';
import { chromium } from 'playwright-core';
import { CHROMIUM, CODE_SERVER, NODE24, ROOT } from './vscodeHost.mjs';

const EXT_DEV = resolve(process.env.EXT_DEV || ROOT);
const EXT_TESTS = resolve(process.env.EXT_TESTS || join(ROOT, 'dist/test/integration/index.js'));
const WORKSPACE = resolve(process.env.TEST_WORKSPACE || ROOT);
const INSTALLED = process.env.INSTALLED_EXTENSIONS_DIR ? resolve(process.env.INSTALLED_EXTENSIONS_DIR) : undefined;
const TIMEOUT_MS = Number(process.env.TEST_TIMEOUT_MS || 180_000);
const UNTRUSTED = process.env.TEST_UNTRUSTED === '1';
const HOST_PATH = process.env.TEST_HOST_PATH;

const argv = process.argv.slice(2);
const option = (name) => {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  if (!argv[i + 1] || argv[i + 1].startsWith('--')) usage(`${name} needs a FILE`);
  return argv[i + 1];
};
function usage(msg) {
  console.error(`run-vscode-tests: ${msg}\nusage: node scripts/run-vscode-tests.mjs [--screenshot FILE] [--demo FILE] [--verbose]`);
  process.exit(64);
}
const SCREENSHOT = option('--screenshot') && resolve(option('--screenshot'));
const DEMO = option('--demo');
const VERBOSE = argv.includes('--verbose') || !!process.env.VERBOSE;
for (const a of argv) if (a.startsWith('--') && !['--screenshot', '--demo', '--verbose'].includes(a)) usage(`unknown option ${a}`);

// Offline the workbench keeps failing to reach open-vsx, GitHub auth and the like; its own
// messages are tagged "[Component] ...". Mocha's output is not, so it passes this filter.
const NOISE = /^(\[[A-Za-z][\w:. -]*\] |Creating a socket|Resolv(ing|ed) connection token|Updating additional builtin)|ENOTFOUND|ERR_NAME_NOT_RESOLVED|ERR_INTERNET_DISCONNECTED|authentication provider|open-vsx|marketplace/s;

const t0 = Date.now();
const ts = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
const say = (msg) => console.log(`[vscode-tests ${ts()}] ${msg}`);

const freePort = () => new Promise((res, rej) => {
  const s = createServer();
  s.on('error', rej);
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
});

// Everything the host and browser write goes under tmp, nothing into $HOME: code-server's logs
// and heartbeat (XDG_DATA_HOME), VS Code's machine id (XDG_CACHE_HOME), chromium's profile bits.
function childEnv(tmp) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    // Started from a VS Code terminal, VSCODE_IPC_HOOK_CLI would make code-server hand our
    // arguments to that editor instead of starting; ELECTRON_RUN_AS_NODE and friends likewise leak.
    if (!/^(VSCODE_|ELECTRON_)/.test(k)) env[k] = v;
  }
  for (const d of ['data', 'config', 'cache', 'state']) env[`XDG_${d.toUpperCase()}_HOME`] = join(tmp, 'xdg', d);
  return env;
}

function writeSettings(userData) {
  mkdirSync(join(userData, 'User'), { recursive: true });
  // Quiet and offline: no welcome page, no chat/AI, no update or recommendation checks, no git scan.
  writeFileSync(join(userData, 'User/settings.json'), JSON.stringify({
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'chat.disableAIFeatures': true,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoUpdate': false,
    'extensions.autoCheckUpdates': false,
    'extensions.ignoreRecommendations': true,
    'git.enabled': false,
    'git.autoRepositoryDetection': false,
    // trusted unless the run is about restricted mode; then it opens restricted without asking
    ...(UNTRUSTED ? {
      'security.workspace.trust.enabled': true,
      'security.workspace.trust.startupPrompt': 'never',
      'security.workspace.trust.untrustedFiles': 'open',
      'security.workspace.trust.banner': 'never',
    } : { 'security.workspace.trust.enabled': false }),
    // tests edit documents in memory; nothing may reach the repository or a shared tree on disk
    'files.autoSave': 'off',
    'files.hotExit': 'off',
  }, null, 2));
}

async function startCodeServer(tmp, port) {
  const args = [
    CODE_SERVER,
    '--bind-addr', `127.0.0.1:${port}`,
    '--auth', 'none',
    '--disable-telemetry', '--disable-update-check', ...(UNTRUSTED ? [] : ['--disable-workspace-trust']),
    '--disable-getting-started-override',
    '--user-data-dir', join(tmp, 'user-data'),
    '--extensions-dir', INSTALLED ?? join(tmp, 'extensions'),
    '--config', join(tmp, 'config.yaml'),
    // A built VS Code ignores the test payload unless the smoke-test driver is on; code-server
    // refuses --enable-smoke-test-driver itself but passes it through this way.
    '--vscode-option', 'enable-smoke-test-driver',
    // the extension host takes a login shell's environment, whose profile may set PATH afresh;
    // a PATH given here must reach the host as it is
    ...(HOST_PATH ? ['--vscode-option', 'force-disable-user-env'] : []),
    WORKSPACE,
  ];
  // detached: its own process group, so cleanup ends the server and its extension host together
  const env = childEnv(tmp);
  if (HOST_PATH) env.PATH = `${HOST_PATH}:${env.PATH ?? ''}`;
  const cs = spawn(NODE24, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const log = createWriteStream(join(tmp, 'code-server.log'));
  await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error('code-server did not listen within 60 s')), 60_000);
    const onData = (d) => {
      log.write(d);
      if (VERBOSE) process.stderr.write(`[code-server] ${d}`);
      if (/HTTP server listening/.test(d.toString())) { clearTimeout(timer); res(); }
    };
    cs.stdout.on('data', onData);
    cs.stderr.on('data', onData);
    cs.on('error', (e) => { clearTimeout(timer); rej(e); });
    cs.on('exit', (code, sig) => { clearTimeout(timer); rej(new Error(`code-server exited with ${code ?? sig} before listening (see ${tmp}/code-server.log)`)); });
  });
  return cs;
}

function killGroup(cs) {
  if (!cs) return;
  // the group, not the pid: the extension host outlives a server that exited on its own
  try { process.kill(-cs.pid, 'SIGTERM'); } catch { /* already gone */ }
}

async function demo(page, shot) {
  await page.waitForSelector('.monaco-workbench .explorer-folders-view', { timeout: 60_000 });
  await page.keyboard.press('Control+P');
  await page.waitForSelector('.quick-input-widget input', { timeout: 10_000 });
  await page.keyboard.type(DEMO);
  await page.waitForSelector(`.quick-input-list .monaco-list-row[aria-label*="${basename(DEMO)}"]`, { timeout: 30_000 });
  await page.keyboard.press('Enter');
  await page.waitForSelector('.monaco-editor .view-lines', { timeout: 20_000 });
  await page.keyboard.press('Control+Shift+M');
  let ok = true;
  try {
    // the marker rows show "source(code)", so a row with kvm-lens is one of our diagnostics
    await page.locator('.markers-panel .monaco-list-row', { hasText: 'kvm-lens' }).first().waitFor({ timeout: 60_000 });
  } catch (e) {
    ok = false;
    console.error(`[vscode-tests] no kvm-lens row in Problems: ${e.message.split('\n')[0]}`);
  }
  await page.waitForTimeout(1500); // squiggles and CodeLens render after the markers
  await page.screenshot({ path: shot });
  const rows = await page.$$eval('.markers-panel .monaco-list-row', (els) => els.map((e) => e.innerText.replace(/\s+/g, ' ').trim()));
  say(`Problems panel:\n  ${rows.join('\n  ') || '(empty)'}`);
  say(`screenshot -> ${shot}`);
  return ok ? 0 : 1;
}

async function main() {
  for (const f of [NODE24, CODE_SERVER, CHROMIUM]) {
    if (!existsSync(f)) throw new Error(`missing ${f}; run scripts/setup-vscode-host.sh first`);
  }
  if (!DEMO && !existsSync(EXT_TESTS)) throw new Error(`missing ${EXT_TESTS}; run npm run build first`);

  const tmp = mkdtempSync(join(tmpdir(), 'kvm-lens-vscode-'));
  writeSettings(join(tmp, 'user-data'));
  const port = await freePort();
  let cs;
  let browser;
  // Ctrl+C or a CI cancel must not leave the server and its extension host behind.
  for (const [sig, n] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) {
    process.on(sig, () => { killGroup(cs); process.exit(128 + n); });
  }
  let exitCode = 1;
  try {
    cs = await startCodeServer(tmp, port);
    say(`code-server on 127.0.0.1:${port}, logs in ${tmp}`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      env: childEnv(tmp),
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--disable-dev-shm-usage'],
    });
    const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
    const wbLog = createWriteStream(join(tmp, 'workbench.log'));
    let finish;
    const finished = new Promise((r) => { finish = r; });
    // The workbench relays the extension host's console (mocha's reporter) through these two.
    await page.exposeFunction('codeAutomationLog', (type, args) => {
      const line = Array.isArray(args) ? format(...args) : String(args);
      wbLog.write(`[${type}] ${line}\n`);
      if (VERBOSE || !NOISE.test(line)) console.log(line);
    });
    await page.exposeFunction('codeAutomationExit', (code) => finish(Number(code)));
    page.on('pageerror', (e) => wbLog.write(`[pageerror] ${e.message}\n`));
    if (VERBOSE) page.on('console', (m) => console.log(`[browser ${m.type()}] ${m.text()}`));

    const authority = `127.0.0.1:${port}`;
    const payload = [];
    // VS Code needs a development path to run tests at all; for an installed extension an empty
    // one keeps the installed copy from being overridden by the repo.
    const devPath = INSTALLED ? join(tmp, 'no-development-extension') : EXT_DEV;
    if (INSTALLED) mkdirSync(devPath);
    if (!(INSTALLED && DEMO)) payload.push(['extensionDevelopmentPath', `vscode-remote://${authority}${devPath}`]);
    if (!DEMO) payload.push(['extensionTestsPath', `vscode-remote://${authority}${EXT_TESTS}`]);
    const query = payload.length ? `&payload=${encodeURIComponent(JSON.stringify(payload))}` : '';
    await page.goto(`http://${authority}/?folder=${encodeURIComponent(WORKSPACE)}${query}`);
    say(DEMO ? `workbench open, demo of ${DEMO}` : `workbench open, suite ${EXT_TESTS}`);

    if (DEMO) {
      const shot = SCREENSHOT ?? join(tmp, 'demo.png');
      exitCode = await demo(page, shot).catch(async (e) => {
        await page.screenshot({ path: shot }).catch(() => {});
        console.error(`[vscode-tests] demo failed: ${e.message.split('\n')[0]} (screenshot ${shot})`);
        return 1;
      });
    } else {
      const code = await Promise.race([finished, new Promise((r) => setTimeout(() => r('timeout'), TIMEOUT_MS))]);
      if (code === 'timeout') {
        await page.screenshot({ path: join(tmp, 'timeout.png') }).catch(() => {});
        console.error(`[vscode-tests] no result from the suite within ${TIMEOUT_MS} ms (screenshot ${tmp}/timeout.png)`);
        exitCode = 2;
      } else {
        exitCode = code;
        say(`suite finished with exit code ${code}`);
      }
      if (SCREENSHOT) {
        await page.screenshot({ path: SCREENSHOT });
        say(`screenshot -> ${SCREENSHOT}`);
      }
    }
  } finally {
    await browser?.close().catch(() => {});
    killGroup(cs);
    // the extension host may ignore SIGTERM while busy; make sure nothing is left
    await new Promise((r) => setTimeout(r, 500));
    try { if (cs) process.kill(-cs.pid, 'SIGKILL'); } catch { /* gone */ }
  }
  if (exitCode === 0 && !process.env.KEEP_TEST_TMP) rmSync(tmp, { recursive: true, force: true });
  else say(`kept ${tmp} (code-server.log, workbench.log, user-data/logs/)`);
  return exitCode;
}

main().then(
  (code) => process.exit(code),
  (e) => { console.error(`[vscode-tests] ${e.message}`); process.exit(1); },
);
