#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Sets everything up like scripts/setup.sh does (dependencies, build in
# ./build), then runs a benchmark against a local gst-openai-realtime-server it starts
# itself:
#   connect   PLAYING to session.created and to the first agent audio, for
#             the project's elements, a bare webrtcbin client and an aiortc
#             client (Debian's python3-aiortc); by default each call in a
#             fresh process (cold), rounds rotated; --mode both adds warm
#             calls (N in one process), --plot FILE.svg the distribution
#   cpu       CPU per connected call: the same three clients, each call in a
#             fresh process, rounds rotated, held 10 s with a tone sent and
#             its echo received; medians and ratios; plots docs/img/cpu.svg
#   recovery  time from a dropped call to the agent's audio being back, with
#             the elements' supervisor and with an application restart
#   bargein   how soon the agent falls silent when the user barges in or
#             the application calls clear-audio
#   images    a still image of the screen, from the frame to the event
#             ready for the data channel (no server needed)
#   broadcast webrtcbroadcastsink heard by 1, 10 and 50 pages in headless
#             chromium: the sink's CPU and memory, time to first audio
#   phone     sipphone answering a JsSIP page through Kamailio (INVITE to
#             200 OK, first audio each way), against JsSIP answering
#   bridge    the phone-to-agent bridge (sipphone ! openairealtimesink,
#             openairealtimesrc ! sipphone): latency it adds each way, read
#             on the wire, and CPU per bridged call, against the same
#             bridge made of a Chromium page
#   latency   the latency the elements add each way (the engine's probes)
#             and the echo round trip against a bare webrtcbin client with
#             the same jitter buffer; plotted to docs/img/latency.svg
#   many      N concurrent calls in one process (N ramped 1, 8, 32, 64, 96,
#             128 until it breaks): CPU and memory per call, late or lost
#             agent audio, connect time; plots docs/img/many-calls.png
#   startup   from a process's spawn to the agent's first audio, for
#             gst-launch-1.0 with the elements, the C++ example (ask-agent),
#             the Python example (tool_agent.py), a bare webrtcbin client
#             and an aiortc client, each start a fresh process, rounds
#             rotated; the phases; plotted to docs/img/startup.svg
#   loads     what a fresh process pays to load what a call needs (gst_init,
#             each plugin, GIO's modules, libsrtp2's self-tests), and how
#             long a thread's creation waits while a plugin loads (no server)
#   all       all of them, one after the other
#
# Usage: scripts/bench.sh [connect|cpu|recovery|bargein|images|broadcast|phone|bridge|latency|many|startup|loads|all] [benchmark options...]
#   e.g. scripts/bench.sh --runs 30 --markdown /tmp/connect.md
#        scripts/bench.sh connect --mode both --plot docs/img/connect-cold.svg
#        scripts/bench.sh cpu --runs 10 --hold 10 --markdown /tmp/cpu.md
#        scripts/bench.sh recovery --runs 20
#        scripts/bench.sh broadcast --listeners 0,1,10,50 --window 10
#        scripts/bench.sh bridge --runs 10 --window 10
#        scripts/bench.sh latency --runs 10 --markdown /tmp/latency.md
#        scripts/bench.sh many --calls 1,8,32,64 --window 20
#        scripts/bench.sh startup --runs 15 --markdown /tmp/startup.md
#        scripts/bench.sh loads --runs 15 --markdown /tmp/loads.md
# See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh build

bench=build/benchmarks/connect-bench
server=build/tools/realtime-server/gst-openai-realtime-server
if [ ! -x "$server" ]; then
  echo "bench.sh: $server was not built (tools/realtime-server missing?)" >&2
  exit 1
fi

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "GStreamer: $(pkg-config --modversion gstreamer-1.0), libnice: $(pkg-config --modversion nice 2>/dev/null || dpkg-query -W -f='${Version}' libnice10 2>/dev/null || echo '?')"

what=connect
case "${1:-}" in
  connect|cpu|recovery|bargein|images|broadcast|phone|bridge|latency|many|startup|loads|all) what=$1; shift ;;
esac
if [ "$what" = connect ] || [ "$what" = all ]; then
  "$bench" --server-bin "$server" --plugin-dir build/plugins/openairealtime \
    --aiortc-script benchmarks/connect_aiortc.py "$@"
fi
if [ "$what" = cpu ] || [ "$what" = all ]; then
  mkdir -p docs/img
  "$bench" --server-bin "$server" --plugin-dir build/plugins/openairealtime \
    --aiortc-script benchmarks/connect_aiortc.py --runs 10 --hold 10 \
    --kinds elements,bare,aiortc --no-phases --cpu-plot docs/img/cpu.svg "$@"
fi
if [ "$what" = recovery ] || [ "$what" = all ]; then
  REALTIME_SERVER="$server" GST_PLUGIN_PATH_1_0=build/plugins/openairealtime \
    GST_REGISTRY_1_0=build/benchmarks/registry.bin build/benchmarks/recovery-bench "$@"
fi
if [ "$what" = bargein ] || [ "$what" = all ]; then
  REALTIME_SERVER="$server" GST_PLUGIN_PATH_1_0=build/plugins/openairealtime \
    GST_REGISTRY_1_0=build/benchmarks/registry.bin build/benchmarks/bargein-bench "$@"
fi
if [ "$what" = latency ] || [ "$what" = all ]; then
  data=$(mktemp)
  REALTIME_SERVER="$server" GST_PLUGIN_PATH_1_0=build/plugins/openairealtime \
    GST_REGISTRY_1_0=build/benchmarks/registry.bin build/benchmarks/latency-bench \
    --data "$data" "$@"
  mkdir -p docs/img
  gnuplot -e "data='$data'; out='docs/img/latency.svg'" benchmarks/latency.gp
  rm -f "$data"
  echo "plot: docs/img/latency.svg"
fi
if [ "$what" = images ] || [ "$what" = all ]; then
  build/benchmarks/images-bench "$@"
fi
if [ "$what" = loads ] || [ "$what" = all ]; then
  build/benchmarks/loads-bench "$@"
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
if [ "$what" = phone ] || [ "$what" = all ]; then
  if [ ! -f build/plugins/sipphone/libgstsipphone.so ]; then
    echo "bench.sh: build/plugins/sipphone was not built" >&2
    exit 1
  fi
  GST_PLUGIN_PATH_1_0="$PWD/build/plugins/sipphone" \
    GST_REGISTRY_1_0="$PWD/build/benchmarks/phone-registry.bin" \
    tests/browser/run.sh benchmarks/phone.mjs "$@"
fi
if [ "$what" = bridge ] || [ "$what" = all ]; then
  # The capture's raw socket needs the namespace's CAP_NET_RAW.
  for p in sipphone/libgstsipphone.so openairealtime/libgstopenairealtime.so; do
    if [ ! -f "build/plugins/$p" ]; then
      echo "bench.sh: build/plugins/$p was not built" >&2
      exit 1
    fi
  done
  REALTIME_SERVER="$PWD/$server" OPENAI_API_KEY= \
    GST_PLUGIN_PATH_1_0="$PWD/build/plugins/sipphone:$PWD/build/plugins/openairealtime" \
    GST_REGISTRY_1_0="$PWD/build/benchmarks/bridge-registry.bin" \
    tests/browser/run.sh benchmarks/bridge.mjs "$@"
fi
if [ "$what" = many ] || [ "$what" = all ]; then
  # The server runs as a process of its own (--media minimal), so that its
  # CPU is counted apart from the elements'.
  csv=build/benchmarks/many-calls.csv
  status=0
  REALTIME_SERVER="$server" GST_PLUGIN_PATH_1_0=build/plugins/openairealtime \
    GST_REGISTRY_1_0=build/benchmarks/registry.bin \
    build/benchmarks/many-calls-bench --csv "$csv" "$@" || status=$?
  if [ -s "$csv" ] && command -v gnuplot >/dev/null; then
    mkdir -p docs/img
    gnuplot -e "csv='$csv'; out='docs/img/many-calls.png'" benchmarks/many_calls.gp
    echo "plot: docs/img/many-calls.png"
  fi
  [ "$status" -eq 0 ] || exit "$status"
fi
if [ "$what" = startup ] || [ "$what" = all ]; then
  # Each client as a user runs it: gst-launch-1.0 from PATH, the examples
  # from this build and source tree, with the plugin of this build.
  mkdir -p docs/img
  build/benchmarks/startup-bench --server-bin "$server" \
    --plugin-dir "$PWD/build/plugins/openairealtime" \
    --plot docs/img/startup.svg "$@"
fi
