#!/usr/bin/env bash
# Runs one browser test (node + Debian's chromium). In the sanitizer build
# the runtime is preloaded for every test process; node and chromium are not
# the code under test, so only the GStreamer processes that a test starts
# get it back (GST_PRELOAD, see gst_env() in browser.mjs).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export GST_PRELOAD="${LD_PRELOAD:-}"
unset LD_PRELOAD
if [ ! -d "$here/node_modules/playwright-core" ]; then
  echo "playwright-core is not installed: run scripts/setup.sh" >&2
  exit 1
fi
exec node "$@"
