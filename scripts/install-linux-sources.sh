#!/usr/bin/env bash
# Installs the Linux source tarballs the kernel-tree tests read where they are installed (never
# copied into the repository):
#   - linux-source-6.12 and linux-source-6.1 from the machine's own apt sources (Debian bookworm);
#     they leave /usr/src/linux-source-<ver>.tar.xz.
#   - linux-source-7.3 (current mainline) from Debian's trixie-backports, fetched through a private
#     sources list and private apt state, so the machine's own apt sources, lists and cache are left
#     as they are. Its tarball goes to $KVM_LENS_SOURCES_DIR (default /var/cache/kvm-lens/sources).
# Idempotent: whatever is already installed is skipped. Never fails: when something cannot be
# installed (no network, no apt, no root) it prints one line saying which tests will skip.
set -uo pipefail

SOURCES_DIR="${KVM_LENS_SOURCES_DIR:-/var/cache/kvm-lens/sources}"
BACKPORT_VERSION="${KVM_LENS_BACKPORT_VERSION:-7.3}"
BACKPORT_SUITE="${KVM_LENS_BACKPORT_SUITE:-trixie-backports}"
MIRROR="${KVM_LENS_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# The bookworm debian-archive-keyring package holds the trixie archive keys too (trixie's
# InRelease is signed by the bookworm and trixie automatic signing keys).
KEYRING="${KVM_LENS_DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}"

if [ "$(id -u)" = 0 ]; then SUDO=(); elif command -v sudo >/dev/null 2>&1; then SUDO=(sudo); else SUDO=(); fi
export DEBIAN_FRONTEND=noninteractive

# --- 6.12 and 6.1: ordinary packages from the machine's sources --------------------------------
install_debian_sources() {
  local missing=()
  for v in 6.12 6.1; do
    [ -f "/usr/src/linux-source-$v.tar.xz" ] || missing+=("linux-source-$v")
  done
  [ ${#missing[@]} -eq 0 ] && { echo "linux-source-6.12 and -6.1: already installed"; return 0; }
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "no apt-get: ${missing[*]} not installed; the 6.12/6.1 kernel-tree tests will skip"
    return 0
  fi
  "${SUDO[@]}" apt-get update -qq >/dev/null 2>&1 || true
  if "${SUDO[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; then
    echo "installed ${missing[*]}"
  else
    echo "${missing[*]} not installed (apt-get install failed); the 6.12/6.1 kernel-tree tests will skip"
  fi
}

# --- 7.3: apt-get download from trixie-backports with private apt state ------------------------
# Prints the reason and returns non-zero on failure.
fetch_backport_source() {
  local pkg="linux-source-$BACKPORT_VERSION"
  local tarball="$pkg.tar.xz"
  command -v apt-get >/dev/null 2>&1 || { echo "no apt-get"; return 1; }
  command -v dpkg-deb >/dev/null 2>&1 || { echo "no dpkg-deb"; return 1; }
  [ -f "$KEYRING" ] || { echo "no Debian archive keyring at $KEYRING"; return 1; }

  local work
  work="$(mktemp -d "${TMPDIR:-/tmp}/kvm-lens-apt.XXXXXX")" || { echo "cannot make a temporary directory"; return 1; }
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" RETURN
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/deb" "$work/x"
  # apt drops to the _apt user to download; let it write where it downloads.
  if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then
    chmod 755 "$work"
    chown _apt "$work/lists/partial" "$work/cache/archives/partial" "$work/deb"
  fi
  # Signed-By pins this source to the Debian archive keyring: apt rejects the InRelease unless it
  # verifies against it, and apt-get download checks the .deb against the signed Packages hashes.
  echo "deb [signed-by=$KEYRING] $MIRROR $BACKPORT_SUITE main" >"$work/sources.list"
  local opts=(
    -o "Dir::Etc::sourcelist=$work/sources.list"
    -o "Dir::Etc::sourceparts=-"
    -o "Dir::State::Lists=$work/lists"
    -o "Dir::Cache=$work/cache"
    -o "Acquire::Retries=1"
    -o "Acquire::http::Timeout=30"
    -o "APT::Get::List-Cleanup=0"
  )
  local log="$work/apt.log"
  if ! apt-get "${opts[@]}" update >"$log" 2>&1 || grep -qE '^(E|W): (Failed|GPG|The repository|Some index)' "$log"; then
    echo "apt-get update of $BACKPORT_SUITE failed: $(grep -E '^(E|W):' "$log" | head -1)"
    return 1
  fi
  # Belt and braces: check the signature of what apt fetched ourselves.
  local inrelease
  inrelease="$(ls "$work"/lists/*_dists_"${BACKPORT_SUITE}"_InRelease 2>/dev/null | head -1)"
  if [ -z "$inrelease" ] || ! gpgv --keyring "$KEYRING" "$inrelease" >/dev/null 2>&1; then
    echo "the $BACKPORT_SUITE InRelease does not verify against $KEYRING"
    return 1
  fi
  if ! (cd "$work/deb" && apt-get "${opts[@]}" download "$pkg" >"$log" 2>&1); then
    echo "apt-get download $pkg failed: $(grep -E '^(E|W):' "$log" | head -1)"
    return 1
  fi
  local deb
  deb="$(ls "$work"/deb/"${pkg}"_*.deb 2>/dev/null | head -1)"
  [ -n "$deb" ] || { echo "apt-get download left no $pkg .deb"; return 1; }
  dpkg-deb -x "$deb" "$work/x" || { echo "dpkg-deb -x failed on $deb"; return 1; }
  [ -f "$work/x/usr/src/$tarball" ] || { echo "$deb holds no usr/src/$tarball"; return 1; }
  "${SUDO[@]}" mkdir -p "$SOURCES_DIR" || { echo "cannot create $SOURCES_DIR"; return 1; }
  # Copy under a temporary name in the destination, then rename: no half-written tarball is ever
  # seen under the final name.
  "${SUDO[@]}" cp --preserve=timestamps "$work/x/usr/src/$tarball" "$SOURCES_DIR/.$tarball.part" &&
    "${SUDO[@]}" chmod 644 "$SOURCES_DIR/.$tarball.part" &&
    "${SUDO[@]}" mv -f "$SOURCES_DIR/.$tarball.part" "$SOURCES_DIR/$tarball" ||
    { "${SUDO[@]}" rm -f "$SOURCES_DIR/.$tarball.part"; echo "cannot write $SOURCES_DIR/$tarball"; return 1; }
  echo "installed $SOURCES_DIR/$tarball (from $(basename "$deb"))"
}

install_backport_source() {
  local tarball="linux-source-$BACKPORT_VERSION.tar.xz"
  for d in /usr/src "$SOURCES_DIR"; do
    if [ -f "$d/$tarball" ]; then echo "linux-source-$BACKPORT_VERSION: already installed ($d/$tarball)"; return 0; fi
  done
  local why
  if ! why="$(fetch_backport_source)"; then
    echo "linux-source-$BACKPORT_VERSION not installed (${why:-unknown failure}); the $BACKPORT_VERSION kernel-tree tests will skip"
    return 0
  fi
  echo "$why"
}

install_debian_sources
install_backport_source
exit 0
