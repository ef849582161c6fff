#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Sets everything up, then asks a realtime agent a spoken question through
# openairealtimesink and writes its spoken answer from openairealtimesrc to
# reply.wav, printing what the agent heard ("you: ...") and its answer
# ("agent: ..."). Without OPENAI_API_KEY the agent is the bundled local
# realtime server, which recognises the question offline; with it, the
# OpenAI service.
set -euo pipefail
cd "$(dirname "$0")/.."
# Only what the demo needs (scripts/setup.sh --demo); scripts/test.sh adds the rest.
scripts/setup.sh --demo build

export GST_PLUGIN_PATH="$PWD/build/plugins/openairealtime${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
work=$(mktemp -d)
server_pid=""
# The server is gone, its port free, when the script ends.
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

question="${QUESTION:-What is the capital of France?}"
echo "question: $question"
# The trailing silence lets the agent's voice activity detection end the turn.
# An American voice a little slower than espeak-ng's default: the local
# server's recogniser (pocketsphinx) gets its words right far more often.
espeak-ng -v en-us -s 150 -w "$work/q.wav" "$question"
sox "$work/q.wav" -r 48000 "$work/question.wav" pad 0.3 1.5

if [ -z "${OPENAI_API_KEY:-}" ]; then
  # A free port (--port 0), unless PORT names one; the server prints the one
  # it took, or says that PORT is taken. eager: the recogniser's model is
  # loaded before the server says it is listening, so that the question's
  # words are heard.
  build/tools/realtime-server/gst-openai-realtime-server --port "${PORT:-0}" --no-echo \
    --recognition eager > "$work/server.out" 2> "$work/server.log" &
  server_pid=$!
  url=""
  for _ in $(seq 3000); do
    url=$(sed -n 's/^listening on //p' "$work/server.out" 2>/dev/null)
    [ -z "$url" ] || break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.05
  done
  [ -n "$url" ] || { echo "demo.sh: the local server did not start" >&2; cat "$work/server.log" >&2; exit 1; }
  echo "local realtime server: $url"
  export OPENAI_REALTIME_LOCAL_URL="$url"
fi

build/examples/gst-openai-realtime-ask "$work/question.wav" reply.wav
echo "play it with: gst-launch-1.0 filesrc location=reply.wav ! wavparse ! audioconvert ! autoaudiosink"
