/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "vad.h"

#include <algorithm>
#include <cmath>

namespace rts {

void EnergyVad::configure (const TurnDetection &td)
{
  double dbfs = -50.0 + 40.0 * std::clamp (td.threshold, 0.0, 1.0);
  rms_threshold_ = std::pow (10.0, dbfs / 20.0);
  prefix_padding_ms_ = std::max (0, td.prefix_padding_ms);
  silence_duration_ms_ = std::max (0, td.silence_duration_ms);
}

void EnergyVad::reset ()
{
  speaking_ = false;
  candidate_start_ms_ = -1;
}

EnergyVad::Change EnergyVad::feed (double rms, double end_ms, double chunk_ms)
{
  bool loud = rms >= rms_threshold_;
  double start_ms = end_ms - chunk_ms;
  if (!speaking_) {
    if (!loud) {
      candidate_start_ms_ = -1;
      return Change::None;
    }
    if (candidate_start_ms_ < 0)
      candidate_start_ms_ = start_ms;
    if (end_ms - candidate_start_ms_ < kMinSpeechMs)
      return Change::None;
    speaking_ = true;
    onset_ms_ = candidate_start_ms_;
    last_voiced_ms_ = end_ms;
    candidate_start_ms_ = -1;
    return Change::Started;
  }
  if (loud) {
    last_voiced_ms_ = end_ms;
    return Change::None;
  }
  if (end_ms - last_voiced_ms_ < silence_duration_ms_)
    return Change::None;
  speaking_ = false;
  return Change::Stopped;
}

int EnergyVad::audio_start_ms () const
{
  return static_cast<int> (std::max (0.0, onset_ms_ - prefix_padding_ms_));
}

int EnergyVad::audio_end_ms () const
{
  return static_cast<int> (last_voiced_ms_ + silence_duration_ms_);
}

}  // namespace rts
