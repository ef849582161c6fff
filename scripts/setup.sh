#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks, then configures and builds.
# Usage: scripts/setup.sh [BUILDDIR [meson options...]]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  meson ninja-build pkg-config g++
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-nice gstreamer1.0-x
  libsoup-3.0-dev libjson-glib-dev libjpeg-dev libssl-dev glib-networking
  espeak-ng sox python3-jsonschema python3-gi gir1.2-gstreamer-1.0
  clang libclang-rt-14-dev
  chromium janus openssl
)
# node and npm: Debian's, unless the machine has its own already.
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The browser tests drive chromium with playwright-core (tests/browser).
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi

builddir="${1:-build}"
shift || true
if [ ! -f "$builddir/build.ninja" ]; then
  meson setup "$builddir" "$@"
fi
ninja -C "$builddir"
