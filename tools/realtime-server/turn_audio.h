/* SPDX-License-Identifier: LGPL-2.1-or-later */
// The caller's recent audio, kept so that a turn can be recognised once it is committed.
#pragma once

#include "speech.h"

#include <glib.h>

#include <vector>

namespace rts {

class TurnAudio {
 public:
  // Only the last 30 s are kept (3 MB): of a longer turn, its end is recognised.
  static constexpr size_t kMaxSamples = 30 * kSampleRate;

  void append (const int16_t *samples, size_t count);
  // The audio between two points of the input timeline (samples since the first input
  // audio), as far as it is still kept.
  Pcm slice (gint64 from, gint64 to) const;
  // Where the timeline is: every sample so far.
  gint64 end () const { return total_; }

 private:
  std::vector<int16_t>
      ring_;  // grows to kMaxSamples, then sample t is at t % kMaxSamples
  gint64 total_ = 0;
};

}  // namespace rts
