// Command-line options of realtime-server.
#pragma once

#include <string>

namespace rts {

enum class SpeechKind { Tone, Espeak };

// Which ICE binding requests from the client the relay ignores: none; those without
// USE-CANDIDATE once the client has nominated a pair (consent checks, as the service is
// reported to do); or every one without USE-CANDIDATE, even before nomination.
enum class StrictIce { Off, Consent, All };

// Which service's URL shape a request came in on: OpenAI's /v1/realtime/... or Azure OpenAI's
// /openai/v1/realtime/... (api-key header, deployment names, the webrtcfilter query).
enum class Flavor { OpenAI, Azure };

inline const char *flavor_name(Flavor flavor) {
  return flavor == Flavor::Azure ? "azure" : "openai";
}

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
  // Binding requests the relay ignores; /control/fault can change it.
  StrictIce strict_ice = StrictIce::Off;
  // A call whose peer sends nothing for this long is ended and freed.
  int peer_timeout_seconds = 30;
};

}  // namespace rts
