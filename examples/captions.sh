#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Live captions of a conversation with the agent, drawn over video.
#
#   examples/captions.sh                     talk (microphone, speakers); captions over a test picture
#   examples/captions.sh --screen            the same over your screen
#   examples/captions.sh --output talk.srt   also save the captions as SubRip subtitles
#   examples/captions.sh --test              headless: test sources, no devices, 15 s,
#                                            captions to captions.srt (or --output)
#
# Options (or environment):
#   --test        (CAPTIONS_TEST=1) a beep at 4 s, then every 8 s, instead of the microphone (the
#                 agent answers each one), fakesinks instead of the speakers and screen
#   --duration S  stop after S seconds (default: never, 15 with --test)
#   --output FILE write the captions to FILE as SRT (subparse reads it back)
#   --screen      caption the screen (ximagesrc; pipewiresrc under Wayland)
#   VIDEO_SOURCE  a gst-launch fragment for the video, e.g. "v4l2src" for a camera
#
# Each caption is one final transcript: "User: ..." (what you said, transcribed
# with transcription-model) or "Agent: ..." (what the agent said), timestamped
# in running time when it was complete, shown for its reading time.
#
# With OPENAI_API_KEY set it talks to the OpenAI Realtime service; without, to
# the local realtime server (build/tools/realtime-server/gst-openai-realtime-server, at
# $OPENAI_REALTIME_LOCAL_URL, default http://127.0.0.1:8765).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
test_mode=${CAPTIONS_TEST:-0}
duration=
output=
screen=0

usage() { sed -n '3,25s/^# \{0,1\}//p' "$0"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --test) test_mode=1 ;;
    --screen) screen=1 ;;
    --duration) duration=${2:?--duration needs a number of seconds}; shift ;;
    --duration=*) duration=${1#--duration=} ;;
    --output) output=${2:?--output needs a file name}; shift ;;
    --output=*) output=${1#--output=} ;;
    -h|--help) usage; exit 0 ;;
    *) echo "captions.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
if [ "$test_mode" = 1 ]; then
  duration=${duration:-15}
  output=${output:-captions.srt}
fi

# The plugin from this source tree's build, unless the environment names one.
if [ -z "${GST_PLUGIN_PATH:-}${GST_PLUGIN_PATH_1_0:-}" ] &&
   [ -d "$here/../build/plugins/openairealtime" ]; then
  export GST_PLUGIN_PATH="$here/../build/plugins/openairealtime"
fi

if [ -n "${VIDEO_SOURCE:-}" ]; then
  video_src=$VIDEO_SOURCE
elif [ "$screen" = 1 ] && [ -n "${WAYLAND_DISPLAY:-}" ]; then
  video_src="pipewiresrc do-timestamp=true"
elif [ "$screen" = 1 ]; then
  video_src="ximagesrc use-damage=false"
else
  video_src="videotestsrc is-live=true pattern=smpte"
fi

if [ "$test_mode" = 1 ]; then
  # A 0.5 s beep every 8 s stands in for the user's speech: the service's
  # voice activity detection takes each one as a turn and the agent answers.
  # Ticks every 4 s, every other one silent (a marker tick at volume 0), the
  # first among them: the first beep comes at 4 s, once the call is up (the
  # sink drops what comes before).
  audio_src="audiotestsrc is-live=true wave=ticks freq=600 sine-periods-per-tick=300
             tick-interval=4000000000 marker-tick-period=2 marker-tick-volume=0"
  audio_sink="fakesink sync=true"
  video_sink="fakesink sync=true"
else
  audio_src="autoaudiosrc"
  audio_sink="autoaudiosink"
  video_sink="autovideosink"
fi

# Session settings, on both media elements (the first to start gives the
# call its settings): transcribe the user too, so both sides are captioned.
session=(transcription-model=gpt-4o-mini-transcribe)

# $video_src, $audio_src and the sinks are split into words on purpose
# (gst-launch fragments); everything else is quoted.
# shellcheck disable=SC2206
pipeline=(
  # The user's voice to the agent, with the agent's voice from the speakers
  # cancelled out of it (webrtcdsp and the probe named speaker, both at
  # 48 kHz; docs/examples.md, *Echo cancellation*).
  $audio_src ! audioconvert ! audioresample ! audio/x-raw,rate=48000
    ! webrtcdsp probe=speaker noise-suppression=false gain-control=false
    ! queue ! openairealtimesink "${session[@]}"
  # The agent: its voice on the audio pad, the conversation's final
  # transcripts on the text pad (text/x-raw, "User: ..." / "Agent: ...").
  openairealtimesrc name=agent "${session[@]}" text-roles=user+assistant
    agent.audio ! queue ! webrtcechoprobe name=speaker ! $audio_sink
    agent.text ! tee name=captions
      captions. ! queue ! overlay.text_sink
  # The picture, with the captions drawn at the bottom.
  #
  # wait-text: by default (true) textoverlay holds each video frame until
  # the text stream has reached that frame's time, so a caption lands on
  # exactly the right frame. A conversation is silent most of the time; the
  # text pad covers the silence with a gap event at least every 100 ms
  # ("nothing until now"), so the default works and never stalls the
  # picture for more than that (a text source without gap events would
  # freeze it between captions). wait-text=false never holds a frame: a
  # caption appears on the first frame drawn after it arrived, which is
  # what a live picture wants. Both work here; this uses the latter.
  $video_src ! videoconvert
    ! textoverlay name=overlay wait-text=false valignment=bottom halignment=center
        shaded-background=true "font-desc=Sans 24"
    ! videoconvert ! queue ! $video_sink
)
if [ -n "$output" ]; then
  # The same captions as a SubRip file (numbered cues with start and end
  # times; subparse and most players read it). Written as each caption
  # comes.
  pipeline+=(captions. ! queue ! srtenc ! filesink "location=$output"
             buffer-mode=unbuffered)
fi

# No -e: Ctrl-C (or the end of --duration) sets the pipeline to NULL, which
# hangs up the call and closes the file; the captions were written as they
# came. -m would print every bus message (openai-realtime-transcript among
# them).
if [ -n "$duration" ]; then
  # SIGINT as Ctrl-C would, sent to gst-launch alone (--foreground), and a
  # kill if it has not finished 10 s later.
  exec timeout --foreground --preserve-status -s INT -k 10 "$duration" \
    gst-launch-1.0 "${pipeline[@]}"
fi
exec gst-launch-1.0 "${pipeline[@]}"
