/* SPDX-License-Identifier: LGPL-2.1-or-later */
// Energy-based voice activity detection standing in for the service's server VAD.
#pragma once

#include "session.h"

namespace rts {

class EnergyVad {
 public:
  enum class Change { None, Started, Stopped };

  void configure (const TurnDetection &td);
  void reset ();

  // Feed one chunk of input: its RMS (0..1 of full scale) and where it ends on the call's
  // input timeline, in ms since the first input audio.
  Change feed (double rms, double end_ms, double chunk_ms);

  bool speaking () const { return speaking_; }
  // Valid after Started: where the turn starts, including prefix padding (service semantics).
  int audio_start_ms () const;
  // Valid after Stopped: end of the turn including the silence that ended it.
  int audio_end_ms () const;
  // Valid after Stopped: how long the caller actually spoke.
  double speech_seconds () const
  {
    return (last_voiced_ms_ - onset_ms_) / 1000.0;
  }

 private:
  // threshold 0..1 maps linearly in dB onto -50..-10 dBFS RMS (0.5 -> -30 dBFS), so the default
  // ignores line noise but any real voice or test tone opens it.
  double rms_threshold_ = 0.0316;
  int prefix_padding_ms_ = 300;
  int silence_duration_ms_ = 500;
  // Speech must last this long before it counts: one loud packet is a click, not a turn.
  static constexpr double kMinSpeechMs = 60;

  bool speaking_ = false;
  double candidate_start_ms_ =
      -1;  // start of the current loud run, before it is confirmed
  double onset_ms_ = 0;
  double last_voiced_ms_ = 0;
};

}  // namespace rts
