/* SPDX-License-Identifier: LGPL-2.1-or-later */
// The part of a call that its media threads touch (the peer's streaming thread, the relay's
// thread for the filler): shared with them so that it lives as long as either needs it.
#pragma once

#include "control.h"
#include "speech.h"
#include "webrtc/peer.h"

#include <gst/gst.h>

#include <atomic>
#include <mutex>
#include <vector>

namespace rts {

struct MediaTap {
  MediaTap (guint call_serial, bool allowed, bool keep)
      : serial (call_serial), echo_allowed (allowed), keep_samples (keep)
  {
  }
  MediaTap (const MediaTap &) = delete;
  MediaTap &operator= (const MediaTap &) = delete;

  // Any thread: audio to send (the buffer stays the caller's); false once the peer is let go.
  bool push (GstBuffer *buffer);
  // On the worker, before the peer goes: nothing is pushed into it any more.
  void set_peer (rt::Peer *p);

  // Outgoing audio of n samples was pushed now (echo, speech or filler). Echo and speech are
  // live: they play from now. Filler is pushed slightly ahead and queues after what it follows.
  void note_pushed (size_t n, bool filler);

  // Streaming thread: decoded caller audio. Echoed at once (so the round trip is measurable),
  // then measured; its level goes to the call on the worker.
  void on_audio (GstBuffer *buffer);

  // Streaming thread: add n samples of caller audio that arrived at now_us to the level
  // windows; completed windows go to *done. The timeline counts decoded samples from the first
  // one, except that a pause in the audio (nothing decoded while the clock ran on, e.g. a
  // client that stopped sending) moves it on to the clock, so t stays comparable to real time.
  void measure (const int16_t *s, size_t n, gint64 now_us,
      std::vector<CallRecord::LevelWindow> *done);

  const guint serial;
  const bool echo_allowed;          // --no-echo clears it
  const bool keep_samples;          // the agent recognises speech: it gets them
  std::atomic<bool> echo { true };  // false while the agent speaks
  // When the audio pushed so far runs out, and whether the last push was filler silence.
  std::atomic<gint64> supplied_until_us { 0 };
  std::atomic<bool> last_was_filler { false };
  std::atomic<bool> filling {
    false
  };  // the filler runs: the call is connected and not ending

  // Level measurement, on the streaming thread only.
  static constexpr size_t kLevelWindowSamples = kSampleRate / 10;  // 100 ms
  static constexpr gint64 kLevelGapSamples = kSampleRate / 5;      // 200 ms
  gint64 media_start_us = -1;  // the first decoded caller audio
  gint64 timeline_samples = 0;
  gint64 window_start = 0;
  double window_sum = 0;
  size_t window_count = 0;

 private:
  std::mutex lock_;
  rt::Peer *peer_ = nullptr;  // under lock_
};

}  // namespace rts
