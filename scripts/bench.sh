#!/usr/bin/env bash
# Sets everything up like scripts/setup.sh does (dependencies, build in
# ./build), then runs a benchmark against a local realtime-server it starts
# itself:
#   connect   PLAYING to session.created and to the first agent audio, for
#             the project's elements and for a bare webrtcbin client
#   recovery  time from a dropped call to the agent's audio being back, with
#             the elements' supervisor and with an application restart
#   bargein   how soon the agent falls silent when the user barges in or
#             the application calls clear-audio
#   images    a still image of the screen, from the frame to the event
#             ready for the data channel (no server needed)
#   broadcast webrtcbroadcastsink heard by 1, 10 and 50 pages in headless
#             chromium: the sink's CPU and memory, time to first audio
#   all       all of them, one after the other
#
# Usage: scripts/bench.sh [connect|recovery|bargein|images|broadcast|all] [benchmark options...]
#   e.g. scripts/bench.sh --runs 30 --markdown /tmp/connect.md
#        scripts/bench.sh recovery --runs 20
#        scripts/bench.sh broadcast --listeners 0,1,10,50 --window 10
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

what=connect
case "${1:-}" in
  connect|recovery|bargein|images|broadcast|all) what=$1; shift ;;
esac
if [ "$what" = connect ] || [ "$what" = all ]; then
  "$bench" --server-bin "$server" --plugin-dir build/plugins/openairealtime "$@"
fi
if [ "$what" = recovery ] || [ "$what" = all ]; then
  REALTIME_SERVER="$server" GST_PLUGIN_PATH_1_0=build/plugins/openairealtime \
    GST_REGISTRY_1_0=build/benchmarks/registry.bin build/benchmarks/recovery-bench "$@"
fi
if [ "$what" = bargein ] || [ "$what" = all ]; then
  REALTIME_SERVER="$server" GST_PLUGIN_PATH_1_0=build/plugins/openairealtime \
    GST_REGISTRY_1_0=build/benchmarks/registry.bin build/benchmarks/bargein-bench "$@"
fi
if [ "$what" = images ] || [ "$what" = all ]; then
  build/benchmarks/images-bench "$@"
fi
if [ "$what" = broadcast ] || [ "$what" = all ]; then
  # The pages, the sink and every connection between them live in the
  # network namespace that run.sh makes.
  if [ ! -f build/plugins/webrtcbroadcast/libgstwebrtcbroadcast.so ]; then
    echo "bench.sh: build/plugins/webrtcbroadcast was not built" >&2
    exit 1
  fi
  GST_PLUGIN_PATH_1_0="$PWD/build/plugins/webrtcbroadcast" \
    GST_REGISTRY_1_0="$PWD/build/benchmarks/broadcast-registry.bin" \
    tests/browser/run.sh benchmarks/broadcast.mjs "$@"
fi
