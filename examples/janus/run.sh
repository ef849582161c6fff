#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Many listeners through Janus: a GStreamer pipeline sends Opus RTP to the
# Janus streaming plugin, and every page that opens listen.html hears it.
#
#   examples/janus/run.sh                  a 440 Hz tone, until Ctrl-C
#   examples/janus/run.sh --agent          the voice of a realtime agent instead
#   examples/janus/run.sh --duration 60    stop after 60 s
#
# Then open the listen.html URL it prints and press Listen.
#
# Options (or environment):
#   --agent       (JANUS_AGENT=1) openairealtimesrc's audio goes to Janus; the
#                 user's audio comes from AGENT_INPUT (default autoaudiosrc).
#                 With OPENAI_API_KEY set it talks to the OpenAI Realtime
#                 service, without it to the local realtime server
#                 (build/tools/realtime-server/gst-openai-realtime-server)
#   --duration S  (JANUS_DURATION) stop after S seconds (default: never)
#   PAGE_PORT     port of the page server on 127.0.0.1 (default: a free one)
#   JANUS         the janus program (default: janus on PATH)
#
# Janus runs with the configuration in this folder (janus -F): HTTP API on
# 127.0.0.1:8488, the mountpoint's RTP on 127.0.0.1:5402; nothing under
# /etc/janus is read; if the API's port is taken, it says so and stops.
# Everything started here is stopped on exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../ports.sh"
agent=${JANUS_AGENT:-0}
duration=${JANUS_DURATION:-}
page_port=${PAGE_PORT:-}
janus=${JANUS:-janus}
# These two must match janus.transport.http.jcfg and janus.plugin.streaming.jcfg.
api_url=http://127.0.0.1:8488/janus
rtp_port=5402

usage() { sed -n '3,25s/^# \{0,1\}//p' "$0"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --agent) agent=1 ;;
    --duration) duration=${2:?--duration needs a number of seconds}; shift ;;
    --duration=*) duration=${1#--duration=} ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

for prog in "$janus" gst-launch-1.0 python3 curl; do
  if ! command -v "$prog" >/dev/null; then
    echo "run.sh: $prog is not installed (scripts/setup.sh installs what is needed)" >&2
    exit 1
  fi
done

# Before anything starts: Janus's API port is in its configuration.
need_port run.sh 8488 "Janus's HTTP API needs it (janus.transport.http.jcfg)"
if [ -n "$page_port" ]; then need_port run.sh "$page_port" "$(or_option PAGE_PORT)"; else page_port=$(free_port); fi

pids=()
cleanup() {
  trap - EXIT INT TERM
  # Newest first: the sender stops before Janus does.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[i]}" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Janus logs go to a file: its console output would drown the pipeline's.
log=$(mktemp -t janus-example-XXXXXX.log)
"$janus" -F "$here" -o >"$log" 2>&1 &
pids+=($!)
echo "janus: pid $!, log in $log"

# Ready once the HTTP API answers (usually well under a second).
for _ in $(seq 100); do
  curl -sf "$api_url/info" >/dev/null && break
  if ! kill -0 "${pids[0]}" 2>/dev/null; then
    echo "run.sh: janus exited; its log:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.1
done
curl -sf "$api_url/info" >/dev/null || { echo "run.sh: janus did not answer on $api_url" >&2; exit 1; }

python3 -m http.server --bind 127.0.0.1 --directory "$here" "$page_port" >/dev/null 2>&1 &
pids+=($!)

# Opus at 48 kHz in RTP with payload type 111, as the mountpoint expects.
# bind-address keeps the sending socket on loopback too.
send=(audioconvert ! audioresample ! "audio/x-raw,rate=48000"
      ! opusenc bitrate=64000 ! rtpopuspay pt=111
      ! udpsink host=127.0.0.1 "port=$rtp_port" bind-address=127.0.0.1)

if [ "$agent" = 1 ]; then
  # The plugin from this source tree's build, unless the environment names one.
  if [ -z "${GST_PLUGIN_PATH:-}${GST_PLUGIN_PATH_1_0:-}" ] &&
     [ -d "$here/../../build/plugins/openairealtime" ]; then
    export GST_PLUGIN_PATH="$here/../../build/plugins/openairealtime"
  fi
  # AGENT_INPUT is a gst-launch fragment: split into words on purpose.
  # shellcheck disable=SC2206
  input=(${AGENT_INPUT:-autoaudiosrc})
  pipeline=("${input[@]}" ! openairealtimesink
            openairealtimesrc name=agent agent.audio ! "${send[@]}")
else
  pipeline=(audiotestsrc is-live=true freq=440 volume=0.5 ! "${send[@]}")
fi

gst-launch-1.0 -e "${pipeline[@]}" &
pids+=($!)

echo
echo "listen: http://127.0.0.1:$page_port/listen.html"
echo "(Janus API $api_url, RTP to 127.0.0.1:$rtp_port; Ctrl-C stops everything)"

if [ -n "$duration" ]; then
  # Ends the wait below when the time is up, or sooner if gst-launch ends.
  sleep "$duration" &
  pids+=($!)
  wait -n "${pids[2]}" "${pids[3]}" || true
else
  wait "${pids[2]}"
fi
