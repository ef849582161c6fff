#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The agent's voice for every web page that opens the URL it prints.
#
#   examples/broadcast-agent.sh              talk to the agent with the microphone
#   examples/broadcast-agent.sh --port 9000  that port (default: a free one)
#   examples/broadcast-agent.sh --track      an RTP track instead of the data channel
#
# The agent hears the microphone (openairealtimesink) and its voice goes to
# webrtcbroadcastsink, which serves the player page and streams to every page.
# With OPENAI_API_KEY set it talks to the OpenAI Realtime service; without, to
# the local realtime server (build/tools/realtime-server/gst-openai-realtime-server, at
# $OPENAI_REALTIME_LOCAL_URL, default http://127.0.0.1:8765).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/ports.sh"
port=
delivery=data-channel
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port=${2:?--port needs a number}; shift ;;
    --track) delivery=track ;;
    -h|--help) sed -n '3,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "broadcast-agent.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if [ -z "${GST_PLUGIN_PATH:-}${GST_PLUGIN_PATH_1_0:-}" ] &&
   [ -d "$here/../build/plugins/webrtcbroadcast" ]; then
  export GST_PLUGIN_PATH="$here/../build/plugins/openairealtime:$here/../build/plugins/webrtcbroadcast"
fi
if [ -n "$port" ]; then
  need_port broadcast-agent.sh "$port" "$(or_option --port)"
else
  port=$(free_port)
fi
echo "open http://127.0.0.1:$port/"
exec gst-launch-1.0 -m autoaudiosrc ! queue ! openairealtimesink \
  openairealtimesrc ! queue ! webrtcbroadcastsink port="$port" delivery="$delivery"
