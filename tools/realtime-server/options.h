/* SPDX-License-Identifier: LGPL-2.1-or-later */
// Command-line options of gst-openai-realtime-server.
#pragma once

#include <string>

namespace rts {

enum class SpeechKind { Tone, Espeak };

// What a call does with audio. Full: the caller's audio decoded (echo, VAD, levels) and the
// agent's encoded live. Minimal: nothing decoded, a pre-encoded tone replayed (see
// minimal_media.h), so that a benchmark of many calls measures the client, not the server.
enum class MediaMode { Full, Minimal };

// When the recogniser's model loads (it takes a second, and tens of seconds in a sanitizer
// build). Lazy: when a caller first speaks; a turn that ends before it is ready is answered
// without its words. Eager: before the server says it is listening, so every turn has its
// words. Off: never; transcripts and replies give each turn's length.
enum class Recognition { Lazy, Eager, Off };

// Which ICE binding requests from the client the relay ignores: none; those without
// USE-CANDIDATE once the client has nominated a pair (consent checks, as the service is
// reported to do); or every one without USE-CANDIDATE, even before nomination.
enum class StrictIce { Off, Consent, All };

// Which service's URL shape a request came in on: OpenAI's /v1/realtime/... or Azure OpenAI's
// /openai/v1/realtime/... (api-key header, deployment names, the webrtcfilter query).
enum class Flavor { OpenAI, Azure };

inline const char *flavor_name (Flavor flavor)
{
  return flavor == Flavor::Azure ? "azure" : "openai";
}

struct Options {
  std::string address = "127.0.0.1";
  int port = 8765;
  // The permanent key accepted for minting. Never printed.
  std::string api_key;
  SpeechKind speech = SpeechKind::Tone;
  double tone_freq = 660.0;
  // Empty: the default reply, which quotes the words heard in the last turn (or says how much
  // caller audio there was).
  std::string reply;
  bool echo = true;
  bool control = false;
  int max_call_seconds = 3600;
  // Binding requests the relay ignores; /control/fault can change it.
  StrictIce strict_ice = StrictIce::Off;
  // A call whose peer sends nothing for this long is ended and freed.
  int peer_timeout_seconds = 30;
  MediaMode media = MediaMode::Full;
  Recognition recognition = Recognition::Lazy;
};

}  // namespace rts
