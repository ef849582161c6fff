// Command-line options of realtime-server.
#pragma once

#include <string>

namespace rts {

enum class SpeechKind { Tone, Espeak };

struct Options {
  std::string address = "127.0.0.1";
  int port = 8765;
  // The permanent key accepted for minting. Never printed.
  std::string api_key;
  SpeechKind speech = SpeechKind::Tone;
  double tone_freq = 660.0;
  // Empty: the default reply that reports how much caller audio was heard.
  std::string reply;
  bool echo = true;
  bool control = false;
  int max_call_seconds = 3600;
};

}  // namespace rts
