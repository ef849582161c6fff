#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs what a fresh Debian 12 machine lacks, then configures and builds.
# Usage: scripts/setup.sh [--demo] [BUILDDIR [meson options...]]
#        scripts/setup.sh [--demo] --packages   (only installs what is missing)
# --demo: only what the build and scripts/demo.sh need (a compiler, meson,
# GStreamer, espeak-ng, sox, pocketsphinx); without it, also what the test
# suite needs (chromium, node, Janus, Kamailio, clang, ...).
set -euo pipefail
cd "$(dirname "$0")/.."

profile=test
if [ "${1:-}" = "--demo" ]; then
  profile=demo
  shift
fi

# The build, the plugins the elements and the README's pipelines use
# (gstreamer1.0-x: ximagesrc, textoverlay), and the demo: espeak-ng and sox
# make its question, pocketsphinx is the local server's offline recogniser.
packages=(
  meson ninja-build pkg-config g++
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-nice gstreamer1.0-x
  libsoup-3.0-dev libjson-glib-dev libjpeg-dev libssl-dev glib-networking
  espeak-ng sox gstreamer1.0-pocketsphinx pocketsphinx-en-us
)
# Programs that listen on the network as soon as their package is in:
# installed so that they neither start nor start at boot (below).
daemons=(janus kamailio)
if [ "$profile" = test ]; then
  packages+=(
    python3-jsonschema python3-gi gir1.2-gstreamer-1.0
    python3-aiortc gnuplot-nox
    clang libclang-rt-14-dev clang-format
    chromium janus openssl
    kamailio kamailio-websocket-modules kamailio-tls-modules
    debhelper dpkg-dev
  )
  # node and npm: Debian's, unless the machine has its own already.
  command -v node >/dev/null || packages+=(nodejs)
  command -v npm >/dev/null || packages+=(npm)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  # Debian's janus and kamailio packages enable their services and start
  # them on install: Janus's HTTP API on port 8088 and Kamailio's example
  # configuration on port 5060, of every interface. The tests and examples
  # start their own instances on loopback with configurations of their own
  # (examples/janus, tests/sip). Under systemd the units are masked while the
  # packages install, so they never start, then left disabled, so they do not
  # start at boot either; without systemd a policy-rc.d refusing every start
  # does the same for the init scripts, unless the machine has one already.
  quiet=()
  for d in "${daemons[@]}"; do
    [[ " ${missing[*]} " == *" $d "* ]] && quiet+=("$d")
  done
  policy=""
  if [ ${#quiet[@]} -gt 0 ]; then
    if [ -d /run/systemd/system ]; then
      for d in "${quiet[@]}"; do $sudo systemctl mask "$d.service"; done
    elif [ ! -e /usr/sbin/policy-rc.d ]; then
      policy=/usr/sbin/policy-rc.d
      printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
      $sudo chmod 755 "$policy"
    fi
  fi
  # An install cut short must not leave every service start refused, or
  # the daemons masked.
  release_daemons() {
    [ -z "$policy" ] || $sudo rm -f "$policy"
    if [ -d /run/systemd/system ]; then
      for d in "${quiet[@]}"; do $sudo systemctl unmask "$d.service"; done
    fi
  }
  trap release_daemons EXIT
  trap 'exit 130' INT TERM
  rc=0
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
    "${missing[@]}" || rc=$?
  release_daemons
  trap - EXIT INT TERM
  for d in "${quiet[@]}"; do
    if [ ! -d /run/systemd/system ] && [ -z "$policy" ] &&
       command -v service >/dev/null; then
      # The machine's own policy-rc.d may have let it start.
      $sudo service "$d" stop >/dev/null 2>&1 || true
    fi
    # Offline too: systemctl edits the links, update-rc.d the init scripts'.
    if command -v systemctl >/dev/null; then
      $sudo systemctl disable "$d.service" 2>/dev/null || true
    elif command -v update-rc.d >/dev/null; then
      $sudo update-rc.d "$d" disable 2>/dev/null || true
    fi
  done
  [ "$rc" -eq 0 ] || exit "$rc"
fi
[ "${1:-}" != "--packages" ] || exit 0

# The browser tests drive chromium with playwright-core; the SIP tests use
# JsSIP, and ws for it in Node (tests/browser/package.json). npm ls fails
# when any of them is missing or not the locked version.
if [ "$profile" = test ] && ! (cd tests/browser && npm ls --depth=0 >/dev/null 2>&1); then
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi

builddir="${1:-build}"
shift || true
if [ ! -f "$builddir/build.ninja" ]; then
  meson setup "$builddir" "$@"
fi
ninja -C "$builddir"
