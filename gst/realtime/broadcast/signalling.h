/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The browser signalling protocol of the broadcast sink, and the rules a
 * client's negotiation follows. Pure: json-glib only, no sockets, so each
 * malformed or out-of-order message is tested alone (tests/broadcast.cpp).
 *
 * Server to page:  {"type":"webrtc-offer","sdp":...,"clientId":...,"iceServers":[...]}
 *                  {"type":"webrtc-ice","candidate":{"candidate","sdpMLineIndex","sdpMid"}}
 *                  {"type":"error","code":...,"message":...}
 * Page to server:  {"type":"webrtc-answer","sdp":...}
 *                  {"type":"webrtc-ice","candidate":{...}}   (a null candidate ends gathering)
 */
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rt::broadcast {

struct IceCandidate {
  std::string candidate;
  int mline_index = -1;
  std::string mid;
};

struct ClientMessage {
  enum class Kind { Answer, Ice, EndOfCandidates, Invalid };
  Kind kind = Kind::Invalid;
  std::string sdp;        /* Answer */
  IceCandidate candidate; /* Ice */
  std::string error;      /* Invalid: why, for the error reply */
};

/* Never throws, never warns: the text is untrusted. */
ClientMessage parse_client_message (const char *text, size_t length);

/* An RTCIceServer for the page, from a webrtcbin-style URI:
 * stun://host:port, turn://user:password@host:port, turns://... */
struct IceServer {
  std::string url, username, credential;
};
std::optional<IceServer> ice_server_from_uri (const std::string &uri);

std::string build_offer (const std::string &sdp, const std::string &client_id,
    const std::vector<IceServer> &servers);
std::string build_ice (const IceCandidate &c);
std::string build_error (const std::string &code, const std::string &message);

/* A page's receipt on the audio data channel, {"type":"received","bytes":N}:
 * the binary bytes it has received so far. The bytes sent and not yet
 * receipted are what the page is behind; GStreamer 1.22's SCTP stack hides
 * that from the channel's buffered amount until about 1 MiB is queued.
 * nullopt for anything else. */
std::optional<std::uint64_t> parse_receipt (const char *text, size_t length);

/* Control messages on the audio data channel, around the binary chunks of
 * one utterance. t_ms is the server's wall clock, for latency measurement. */
std::string build_utterance_start (std::uint64_t id, const char *codec,
    int rate, int channels, std::int64_t t_ms);
std::string build_utterance_end (std::uint64_t id);
std::string build_utterance_abort (std::uint64_t id);
/* Chunks were dropped for a slow client: the page restarts its timeline. */
std::string build_discontinuity (std::uint64_t id, std::uint64_t dropped);

/* One client's offer/answer exchange. The server offers once per
 * connection; an answer before the offer, a second answer, or a candidate
 * before the offer is out of order. */
class Negotiation {
 public:
  enum class State { Idle, OfferSent, Answered };
  State state () const { return state_; }
  void offer_sent () { state_ = State::OfferSent; }
  /* nullptr when the message is acceptable now, else the error code. */
  const char *accept (ClientMessage::Kind kind);

 private:
  State state_ = State::Idle;
};

/* Per-client high/low watermarks on the data channel's buffered amount:
 * above high the client's chunks are dropped until the amount falls to low,
 * so one slow page never holds the pipeline or the other pages. */
class Watermarks {
 public:
  Watermarks (std::uint64_t high, std::uint64_t low) : high_ (high), low_ (low)
  {
  }
  /* Whether a chunk of `size` bytes may be queued behind `buffered`. */
  bool admit (std::uint64_t buffered, std::uint64_t size);
  /* A chunk lost for another reason (a track's queue full): counted alike. */
  void drop ()
  {
    dropped_++;
    run_++;
  }
  /* A discontinuity is owed to the page: chunks were dropped since the
   * last admitted one. Reading it clears it. */
  std::uint64_t take_dropped_run ();
  bool throttled () const { return throttled_; }
  std::uint64_t dropped () const { return dropped_; }

 private:
  std::uint64_t high_, low_;
  bool throttled_ = false;
  std::uint64_t dropped_ = 0, run_ = 0;
};

/* A client id the page may ask to keep across a reconnect: short, and only
 * letters, digits, '-' and '_', since it also names a pad. */
bool valid_client_id (const std::string &id);

}  // namespace rt::broadcast
