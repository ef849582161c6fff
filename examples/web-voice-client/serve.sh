#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The web voice client, ready to open in a browser on this machine.
#
#   examples/web-voice-client/serve.sh        then open the URL it prints
#
# Starts, until Ctrl-C, each on a free port of 127.0.0.1 unless told which:
#   - the local realtime server (unless OPENAI_API_KEY is set: the page then
#     calls the OpenAI Realtime service);
#   - gst-launch-1.0 with ephemeraltokenprovider serving client secrets at
#     /api/generate-client-secret to this page only (allowed-origins), at
#     most 10 a minute;
#   - a static server for the page (python3 -m http.server).
#
# Options (or environment); a port named that is taken ends the script:
#   --page-port N     (PAGE_PORT) where the page is served
#   --secret-port N   (SECRET_PORT) the provider's endpoint
#   --server-port N   (SERVER_PORT) the local realtime server
#
# The permanent key, if any, stays in gst-launch-1.0's environment: the page
# only ever holds short-lived ek_ secrets. See docs/web-voice-client.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root="$here/../.."
. "$here/../ports.sh"
page_port=${PAGE_PORT:-}
secret_port=${SECRET_PORT:-}
server_port=${SERVER_PORT:-}

usage() { sed -n '3,21s/^# \{0,1\}//p' "$0"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --page-port) page_port=${2:?--page-port needs a port}; shift ;;
    --page-port=*) page_port=${1#--page-port=} ;;
    --secret-port) secret_port=${2:?--secret-port needs a port}; shift ;;
    --secret-port=*) secret_port=${1#--secret-port=} ;;
    --server-port) server_port=${2:?--server-port needs a port}; shift ;;
    --server-port=*) server_port=${1#--server-port=} ;;
    -h|--help) usage; exit 0 ;;
    *) echo "serve.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

# The plugin from this source tree's build, unless the environment names one.
if [ -z "${GST_PLUGIN_PATH:-}${GST_PLUGIN_PATH_1_0:-}" ] &&
   [ -d "$root/build/plugins/openairealtime" ]; then
  export GST_PLUGIN_PATH="$root/build/plugins/openairealtime"
fi

pids=()
cleanup() {
  # TERM: background children of a script ignore INT.
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Every port named is checked before anything starts; the others are free
# ones (the local server picks its own).
if [ -n "$page_port" ]; then need_port serve.sh "$page_port" "$(or_option --page-port)"; else page_port=$(free_port); fi
if [ -n "$secret_port" ]; then need_port serve.sh "$secret_port" "$(or_option --secret-port)"; else secret_port=$(free_port); fi
if [ -n "$server_port" ]; then need_port serve.sh "$server_port" "$(or_option --server-port)"; fi

# Polls until the last program started listens on 127.0.0.1:$1 (bounded:
# 30 s; GStreamer's first run builds its plugin registry), and says so if
# it ended instead.
wait_port() {
  local pid=${pids[-1]}
  for _ in $(seq 300); do
    kill -0 "$pid" 2>/dev/null || { echo "serve.sh: $2 exited" >&2; exit 1; }
    port_taken "$1" && return 0
    sleep 0.1
  done
  echo "serve.sh: nothing listens on 127.0.0.1:$1 ($2)" >&2
  exit 1
}

if [ -n "${OPENAI_API_KEY:-}" ]; then
  calls_url="https://api.openai.com/v1/realtime/calls"
  provider_args=()
  echo "OPENAI_API_KEY is set: the page calls the OpenAI Realtime service"
else
  server="$root/build/tools/realtime-server/gst-openai-realtime-server"
  [ -x "$server" ] || { echo "serve.sh: build first (ninja -C build): no $server" >&2; exit 1; }
  # Its one line of output says where it listens ("listening on URL"); port
  # 0 is a free one.
  out=$(mktemp)
  "$server" --address 127.0.0.1 --port "${server_port:-0}" >"$out" &
  pids+=($!)
  line=""
  for _ in $(seq 300); do
    kill -0 "${pids[-1]}" 2>/dev/null || break
    line=$(head -n 1 "$out")
    [ -z "$line" ] || break
    sleep 0.1
  done
  rm -f "$out"
  case "$line" in
    "listening on "*) server_port=${line##*:} ;;
    *) echo "serve.sh: the local realtime server did not start" >&2; exit 1 ;;
  esac
  calls_url="http://127.0.0.1:$server_port/v1/realtime/calls"
  # No key: the provider mints at the local server, with its development key.
  export OPENAI_REALTIME_LOCAL_URL="http://127.0.0.1:$server_port"
  provider_args=()
fi

page_origins="http://127.0.0.1:$page_port,http://localhost:$page_port"
gst-launch-1.0 -q ephemeraltokenprovider "${provider_args[@]}" \
  http-port="$secret_port" allowed-origins="$page_origins" &
pids+=($!)
wait_port "$secret_port" "the provider's secret endpoint"

python3 -m http.server "$page_port" --bind 127.0.0.1 --directory "$here" \
  >/dev/null 2>&1 &
pids+=($!)
wait_port "$page_port" "the page's server"

secret_url="http://127.0.0.1:$secret_port/api/generate-client-secret"
url="http://127.0.0.1:$page_port/"
# The page's defaults are the ports the local server and the provider's
# documented example use.
if [ "$secret_port" != 8788 ] || [ "$calls_url" != "http://127.0.0.1:8765/v1/realtime/calls" ]; then
  url="$url?secret=$secret_url&calls=$calls_url"
fi
echo "open $url  (Ctrl-C to stop)"
wait -n "${pids[@]}"
