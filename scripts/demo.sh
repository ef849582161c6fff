#!/usr/bin/env bash
# Sets everything up, then asks a realtime agent a spoken question through
# openairealtimesink and writes its spoken answer from openairealtimesrc to
# reply.wav, printing the transcript. Without OPENAI_API_KEY the agent is the
# bundled local realtime server; with it, the OpenAI service.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build

export GST_PLUGIN_PATH="$PWD/build/plugins/openairealtime${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
work=$(mktemp -d)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

question="${QUESTION:-What is the capital of France?}"
echo "question: $question"
# The trailing silence lets the agent's voice activity detection end the turn.
espeak-ng -w "$work/q.wav" "$question"
sox "$work/q.wav" -r 48000 "$work/question.wav" pad 0.3 1.5

if [ -z "${OPENAI_API_KEY:-}" ]; then
  port="${PORT:-8765}"
  build/tools/realtime-server/realtime-server --port "$port" --no-echo \
    > "$work/server.out" 2> "$work/server.log" &
  server_pid=$!
  for _ in $(seq 100); do
    grep -q "^listening on" "$work/server.out" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; exit 1; }
    sleep 0.05
  done
  export OPENAI_REALTIME_LOCAL_URL="http://127.0.0.1:$port"
fi

build/examples/ask-agent "$work/question.wav" reply.wav
echo "play it with: gst-launch-1.0 filesrc location=reply.wav ! wavparse ! audioconvert ! autoaudiosink"
