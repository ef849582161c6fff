/* SPDX-License-Identifier: LGPL-2.1-or-later */
// Turning the agent's reply text into audio: a test tone or espeak-ng.
#pragma once

#include "options.h"

#include <gio/gio.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace rts {

constexpr int kSampleRate =
    48000;  // everything the server handles is S16LE 48 kHz mono
using Pcm = std::vector<int16_t>;

class SpeechSynth {
 public:
  using Done = std::function<void (Pcm)>;

  static std::unique_ptr<SpeechSynth> create (const Options &options);
  virtual ~SpeechSynth () = default;

  // Produce audio for text. done runs later on the server's worker, never if cancel fired first.
  virtual void synthesize (const std::string &text, GCancellable *cancel,
      Done done) = 0;
};

// A sine at the configured frequency, ~0.3 s per word (at least 1 s): easy to recognise in tests.
Pcm make_tone (const std::string &text, double freq);

// Words of a reply, each with its trailing space, so that joining them gives back the text.
std::vector<std::string> split_words (const std::string &text);

}  // namespace rts
