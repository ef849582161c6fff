/* SPDX-License-Identifier: LGPL-2.1-or-later */
// Plays a block of PCM out in real time, 20 ms at a time, on the server's worker.
//
// The client must receive the reply as live speech: pushing it all at once would arrive as one
// burst and defeat the latency and barge-in behaviour the tests measure.
#pragma once

#include "speech.h"

#include <glib.h>

#include <functional>

namespace rts {

class AudioPacer {
 public:
  using Sink = std::function<void (const int16_t *samples, size_t count)>;
  using Progress = std::function<void (double played_ms)>;
  using Finished = std::function<void ()>;

  explicit AudioPacer (Sink sink) : sink_ (std::move (sink)) {}
  ~AudioPacer () { stop (); }
  AudioPacer (const AudioPacer &) = delete;
  AudioPacer &operator= (const AudioPacer &) = delete;

  // Start playing pcm, replacing anything playing. progress runs on every tick; finished runs
  // once the last sample has been pushed and its time has passed.
  void play (Pcm pcm, Progress progress, Finished finished);
  // Stop at once; neither callback runs afterwards.
  void stop ();
  bool playing () const { return timer_ != 0; }
  double duration_ms () const { return pcm_.size () * 1000.0 / kSampleRate; }

 private:
  static constexpr size_t kChunk = kSampleRate / 50;  // 20 ms
  static gboolean on_tick (gpointer self);
  void tick ();

  Sink sink_;
  Pcm pcm_;
  Progress progress_;
  Finished finished_;
  size_t position_ = 0;
  gint64 start_us_ = 0;
  guint timer_ = 0;
};

}  // namespace rts
