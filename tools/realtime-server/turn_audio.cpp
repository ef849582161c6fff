/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "turn_audio.h"

#include <algorithm>

namespace rts {

void TurnAudio::append (const int16_t *samples, size_t count)
{
  for (size_t i = 0; i < count; i++, total_++) {
    if (ring_.size () < kMaxSamples)
      ring_.push_back (samples[i]);
    else
      ring_[total_ % kMaxSamples] = samples[i];
  }
}

Pcm TurnAudio::slice (gint64 from, gint64 to) const
{
  from = std::max (from, total_ - static_cast<gint64> (ring_.size ()));
  to = std::min (to, total_);
  Pcm out;
  if (to > from)
    out.reserve (static_cast<size_t> (to - from));
  for (gint64 t = from; t < to; t++)
    out.push_back (ring_[t % kMaxSamples]);
  return out;
}

}  // namespace rts
