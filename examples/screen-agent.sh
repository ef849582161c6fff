#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A voice agent that sees your screen: talk to it about what is on it.
#
#   examples/screen-agent.sh                   screen + microphone + speakers, until Ctrl-C
#   examples/screen-agent.sh --duration 60     the same, stopped after 60 s
#   examples/screen-agent.sh --test            headless: test sources, no devices, 30 s
#
# Options (or environment):
#   --test        (SCREEN_AGENT_TEST=1) videotestsrc and audiotestsrc instead of
#                 the screen and the microphone, fakesink instead of the speakers
#   --duration S  (SCREEN_AGENT_DURATION) stop after S seconds (default: never,
#                 30 with --test)
#   VIDEO_SOURCE  a gst-launch fragment to capture the screen with, e.g.
#                 "ximagesrc display-name=:1 use-damage=false"
#
# With OPENAI_API_KEY set it talks to the OpenAI Realtime service; without, to
# the local realtime server (build/tools/realtime-server/gst-openai-realtime-server, at
# $OPENAI_REALTIME_LOCAL_URL, default http://127.0.0.1:8765). The agent's voice
# is cancelled out of the microphone (webrtcdsp), so speakers work as well as
# headphones.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
test_mode=${SCREEN_AGENT_TEST:-0}
duration=${SCREEN_AGENT_DURATION:-}

usage() { sed -n '3,21s/^# \{0,1\}//p' "$0"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --test) test_mode=1 ;;
    --duration) duration=${2:?--duration needs a number of seconds}; shift ;;
    --duration=*) duration=${1#--duration=} ;;
    -h|--help) usage; exit 0 ;;
    *) echo "screen-agent.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
if [ "$test_mode" = 1 ]; then
  duration=${duration:-30}
fi

# The plugin from this source tree's build, unless the environment names one.
if [ -z "${GST_PLUGIN_PATH:-}${GST_PLUGIN_PATH_1_0:-}" ] &&
   [ -d "$here/../build/plugins/openairealtime" ]; then
  export GST_PLUGIN_PATH="$here/../build/plugins/openairealtime"
fi

instructions="You can see the user's screen: it comes to you as images every \
few seconds, only when it changes. Answer questions about it briefly."

if [ "$test_mode" = 1 ]; then
  # A moving ball: every frame differs, so an image goes out every 2 s.
  video_src="videotestsrc is-live=true pattern=ball"
  # A 0.5 s beep stands in for the user's speech: the service's voice
  # activity detection takes each beep as a turn, and the agent answers (the
  # local server's answer says how many images it saw). A tick every 7 s,
  # every other one silent (a marker tick at volume 0), the first among
  # them: the first beep comes at 7 s, once the call is up (the sink drops
  # what comes before), and each answer has 14 s to be heard out.
  audio_src="audiotestsrc is-live=true wave=ticks freq=600 sine-periods-per-tick=300
             tick-interval=7000000000 marker-tick-period=2 marker-tick-volume=0"
  audio_sink="fakesink sync=true"
else
  if [ -n "${VIDEO_SOURCE:-}" ]; then
    video_src=$VIDEO_SOURCE
  elif [ -n "${WAYLAND_DISPLAY:-}" ]; then
    # Wayland: the screen comes through PipeWire (which stream is shared is
    # up to the desktop's screen-cast portal; VIDEO_SOURCE picks another).
    video_src="pipewiresrc do-timestamp=true"
  else
    # X11: the whole screen; use-damage=false grabs whole frames.
    video_src="ximagesrc use-damage=false"
  fi
  audio_src="autoaudiosrc"
  audio_sink="autoaudiosink"
fi

# $video_src and $audio_src are split into words on purpose (gst-launch
# fragments); everything else is quoted.
# shellcheck disable=SC2206
pipeline=(
  # The screen, at most 2 frames a second (the agent gets one every 2 s at
  # most, and only when it changed), converted to a raw format the video pad
  # takes; the leaky queue keeps the capture running while a frame is being
  # encoded as JPEG.
  $video_src ! videorate drop-only=true max-rate=2 ! videoconvert
    ! queue max-size-buffers=2 leaky=downstream ! agent.video
  # The microphone to the agent, with the agent's voice from the speakers
  # cancelled out of it: webrtcdsp takes what the probe named speaker saw
  # going out (both at 48 kHz). The service does its own noise reduction
  # and levels, so the canceller does neither (docs/examples.md, *Echo
  # cancellation*).
  $audio_src ! audioconvert ! audioresample ! audio/x-raw,rate=48000
    ! webrtcdsp probe=speaker noise-suppression=false gain-control=false
    ! queue ! agent.audio
  # The sink: the user's side of the call. image-interval: ms between frames
  # offered to the agent; image-max-size: longest side of each JPEG. When the
  # first frame arrives the agent is told that sharing started, at the end
  # (EOS on the video pad) that it stopped.
  openairealtimesink name=agent image-interval=2000 image-max-size=1024
    "instructions=$instructions"
  # The src: the agent's voice to the speakers, through the canceller's
  # probe. It shares the sink's call.
  openairealtimesrc "instructions=$instructions" ! queue
    ! webrtcechoprobe name=speaker ! $audio_sink
)

# -m prints every bus message: the agent's words are the
# openai-realtime-transcript messages with final=(boolean)true (the
# openai-realtime-event ones are every server event, for debugging);
# openai-realtime-connection says how the call is doing.
# -e: on Ctrl-C (or at the end of --duration) the pipeline ends with EOS,
# so the agent is told that sharing stopped before the call is hung up.
if [ -n "$duration" ]; then
  # SIGINT as Ctrl-C would, sent to gst-launch alone (--foreground), and a
  # kill if it has not finished 10 s later.
  exec timeout --foreground --preserve-status -s INT -k 10 "$duration" \
    gst-launch-1.0 -e -m "${pipeline[@]}"
fi
exec gst-launch-1.0 -e -m "${pipeline[@]}"
