#!/usr/bin/env bash
# Sets everything up like scripts/setup.sh does (dependencies, build in
# ./build), then runs the connect benchmark: PLAYING to session.created and
# to the first agent audio, for the project's elements and for a bare
# webrtcbin client, against a local realtime-server it starts itself.
#
# Usage: scripts/bench.sh [connect-bench options...]
#   e.g. scripts/bench.sh --runs 30 --markdown /tmp/connect.md
# See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh build

bench=build/benchmarks/connect-bench
server=build/tools/realtime-server/realtime-server
if [ ! -x "$server" ]; then
  echo "bench.sh: $server was not built (tools/realtime-server missing?)" >&2
  exit 1
fi

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "GStreamer: $(pkg-config --modversion gstreamer-1.0), libnice: $(pkg-config --modversion nice 2>/dev/null || dpkg-query -W -f='${Version}' libnice10 2>/dev/null || echo '?')"

exec "$bench" --server-bin "$server" --plugin-dir build/plugins/openairealtime "$@"
