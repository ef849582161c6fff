#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs one browser test (node + Debian's chromium) in a network namespace of
# its own: loopback, plus a veth pair whose address gives ICE a host
# candidate (libnice and Janus leave loopback out of ICE). Every page,
# server and peer connection of the test lives and dies in that namespace.
#
# In the sanitizer build the runtime is preloaded for every test process;
# node and chromium are not the code under test, so only the GStreamer
# processes that a test starts get it back (GST_PRELOAD, see gstEnv() in
# browser.mjs).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ ! -d "$here/node_modules/playwright-core" ]; then
  echo "playwright-core is not installed: run scripts/setup.sh" >&2
  exit 1
fi
if [ -z "${BROWSER_TEST_NETNS:-}" ]; then
  # Before anything else runs: unshare and ip are not under test either.
  export GST_PRELOAD="${LD_PRELOAD:-}"
  unset LD_PRELOAD
  flags=(--net)
  [ "$(id -u)" -eq 0 ] || flags+=(--map-root-user)
  export BROWSER_TEST_NETNS=1
  exec unshare "${flags[@]}" "$0" "$@"
fi
ip link set lo up
ip link add bt0 type veth peer name bt1
ip addr add 10.77.0.1/24 dev bt0
ip link set bt1 up
ip link set bt0 up
exec node "$@"
