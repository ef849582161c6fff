/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pacer.h"

#include "main_thread.h"

#include <algorithm>

namespace rts {

void AudioPacer::play (Pcm pcm, Progress progress, Finished finished)
{
  stop ();
  pcm_ = std::move (pcm);
  progress_ = std::move (progress);
  finished_ = std::move (finished);
  position_ = 0;
  start_us_ = g_get_monotonic_time ();
  // 5 ms ticks keep each chunk within a few ms of its due time; appsrc stamps buffers with the
  // time they are pushed, so the push time is the timestamp.
  timer_ = add_timeout (5, on_tick, this, nullptr, G_PRIORITY_HIGH);
  tick ();
}

void AudioPacer::stop ()
{
  if (timer_)
    remove_timeout (timer_);
  timer_ = 0;
  progress_ = nullptr;
  finished_ = nullptr;
}

gboolean AudioPacer::on_tick (gpointer self)
{
  static_cast<AudioPacer *> (self)->tick ();
  return G_SOURCE_CONTINUE;
}

void AudioPacer::tick ()
{
  double elapsed_ms = (g_get_monotonic_time () - start_us_) / 1000.0;
  // Push every chunk whose start time has come (normally one per 20 ms).
  while (position_ < pcm_.size () &&
      position_ * 1000.0 / kSampleRate <= elapsed_ms) {
    size_t n = std::min (kChunk, pcm_.size () - position_);
    sink_ (pcm_.data () + position_, n);
    position_ += n;
  }
  // Callbacks may stop() or restart us: copy what is needed first.
  if (progress_) {
    Progress progress = progress_;
    progress (elapsed_ms);
    if (!timer_)
      return;
  }
  if (position_ >= pcm_.size () && elapsed_ms >= duration_ms ()) {
    Finished finished = std::move (finished_);
    stop ();
    if (finished)
      finished ();
  }
}

}  // namespace rts
