#!/usr/bin/env bash
# The agent's voice for every web page that opens http://127.0.0.1:8080/.
#
#   examples/broadcast-agent.sh              talk to the agent with the microphone
#   examples/broadcast-agent.sh --port 9000  another port
#   examples/broadcast-agent.sh --track      an RTP track instead of the data channel
#
# The agent hears the microphone (openairealtimesink) and its voice goes to
# webrtcbroadcastsink, which serves the player page and streams to every page.
# With OPENAI_API_KEY set it talks to the OpenAI Realtime service; without, to
# the local realtime server (build/tools/realtime-server/realtime-server, at
# $OPENAI_REALTIME_LOCAL_URL, default http://127.0.0.1:8765).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
port=8080
delivery=data-channel
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port=${2:?--port needs a number}; shift ;;
    --track) delivery=track ;;
    -h|--help) sed -n '2,12s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "broadcast-agent.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if [ -z "${GST_PLUGIN_PATH:-}${GST_PLUGIN_PATH_1_0:-}" ] &&
   [ -d "$here/../build/plugins/webrtcbroadcast" ]; then
  export GST_PLUGIN_PATH="$here/../build/plugins/openairealtime:$here/../build/plugins/webrtcbroadcast"
fi
echo "open http://127.0.0.1:$port/"
exec gst-launch-1.0 -m autoaudiosrc ! queue ! openairealtimesink \
  openairealtimesrc ! queue ! webrtcbroadcastsink port="$port" delivery="$delivery"
