#!/usr/bin/env bash
# The web voice client, ready to open in a browser on this machine.
#
#   examples/web-voice-client/serve.sh        then open http://127.0.0.1:8080/
#
# Starts, until Ctrl-C:
#   - the local realtime server on 127.0.0.1:8765 (unless OPENAI_API_KEY is
#     set: the page then calls the OpenAI Realtime service);
#   - gst-launch-1.0 with ephemeraltokenprovider serving client secrets at
#     http://127.0.0.1:8788/api/generate-client-secret to this page only
#     (allowed-origins), at most 10 a minute;
#   - a static server for the page on 127.0.0.1:8080 (python3 -m http.server).
#
# Options (or environment):
#   --page-port N     (PAGE_PORT, default 8080) where the page is served
#   --secret-port N   (SECRET_PORT, default 8788) the provider's endpoint
#   --server-port N   (SERVER_PORT, default 8765) the local realtime server
#
# The permanent key, if any, stays in gst-launch-1.0's environment: the page
# only ever holds short-lived ek_ secrets. See docs/web-voice-client.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root="$here/../.."
page_port=${PAGE_PORT:-8080}
secret_port=${SECRET_PORT:-8788}
server_port=${SERVER_PORT:-8765}

usage() { sed -n '2,22s/^# \{0,1\}//p' "$0"; }
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

# Polls until something listens on 127.0.0.1:$1 (bounded: 10 s).
wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
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
  server="$root/build/tools/realtime-server/realtime-server"
  [ -x "$server" ] || { echo "serve.sh: build first (ninja -C build): no $server" >&2; exit 1; }
  "$server" --address 127.0.0.1 --port "$server_port" >/dev/null &
  pids+=($!)
  wait_port "$server_port" "the local realtime server"
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
if [ "$secret_port" != 8788 ] || [ "$calls_url" != "http://127.0.0.1:8765/v1/realtime/calls" ]; then
  url="$url?secret=$secret_url&calls=$calls_url"
fi
echo "open $url  (Ctrl-C to stop)"
wait -n "${pids[@]}"
