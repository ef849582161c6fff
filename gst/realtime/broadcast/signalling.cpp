/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "signalling.h"

#include "core/json_util.h"

#include <cstring>

namespace rt::broadcast {
namespace {

using rt::json::finish;
using rt::json::set_string;

JsonBuilder *typed (const char *type)
{
  JsonBuilder *b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, type);
  return b;
}

std::string close_object (JsonBuilder *b)
{
  json_builder_end_object (b);
  return finish (b);
}

void set_int (JsonBuilder *b, const char *name, std::int64_t v)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, v);
}

ClientMessage invalid (const char *why)
{
  ClientMessage m;
  m.error = why;
  return m;
}

/* sdpMLineIndex may come as an integer or be absent (then sdpMid names the
 * m-line); browsers send both. */
bool read_candidate (JsonObject *c, IceCandidate &out)
{
  JsonNode *cand = json_object_get_member (c, "candidate");
  if (!cand || !JSON_NODE_HOLDS_VALUE (cand) ||
      json_node_get_value_type (cand) != G_TYPE_STRING)
    return false;
  out.candidate = json_node_get_string (cand);
  out.mid = rt::json::string_member (c, "sdpMid");
  JsonNode *idx = json_object_get_member (c, "sdpMLineIndex");
  if (idx && JSON_NODE_HOLDS_VALUE (idx) &&
      json_node_get_value_type (idx) == G_TYPE_INT64) {
    std::int64_t v = json_node_get_int (idx);
    if (v < 0 || v > 64)
      return false;
    out.mline_index = (int) v;
  }
  return out.mline_index >= 0 || !out.mid.empty ();
}

}  // namespace

ClientMessage parse_client_message (const char *text, size_t length)
{
  if (!text || length == 0)
    return invalid ("empty message");
  if (length > 256 * 1024)
    return invalid ("message too large");
  JsonParser *parser = json_parser_new ();
  ClientMessage m;
  if (!json_parser_load_from_data (parser, text, (gssize) length, nullptr)) {
    g_object_unref (parser);
    return invalid ("not JSON");
  }
  JsonNode *root = json_parser_get_root (parser);
  JsonObject *o = root && JSON_NODE_HOLDS_OBJECT (root) ?
      json_node_get_object (root) :
      nullptr;
  std::string type = rt::json::string_member (o, "type");
  if (!o) {
    m = invalid ("not a JSON object");
  } else if (type == "webrtc-answer") {
    m.sdp = rt::json::string_member (o, "sdp");
    if (m.sdp.compare (0, 4, "v=0\r") != 0 &&
        m.sdp.compare (0, 4, "v=0\n") != 0)
      m = invalid ("webrtc-answer without an SDP");
    else
      m.kind = ClientMessage::Kind::Answer;
  } else if (type == "webrtc-ice") {
    JsonNode *c = json_object_get_member (o, "candidate");
    if (!c || JSON_NODE_HOLDS_NULL (c)) {
      m.kind = ClientMessage::Kind::EndOfCandidates;
    } else if (!JSON_NODE_HOLDS_OBJECT (c)) {
      m = invalid ("webrtc-ice: candidate is not an object");
    } else if (!read_candidate (json_node_get_object (c), m.candidate)) {
      m = invalid (
          "webrtc-ice: candidate, sdpMLineIndex or sdpMid missing or wrong");
    } else if (m.candidate.candidate.empty ()) {
      /* An empty candidate string is how browsers end gathering. */
      m.kind = ClientMessage::Kind::EndOfCandidates;
    } else {
      m.kind = ClientMessage::Kind::Ice;
    }
  } else if (type.empty ()) {
    m = invalid ("message without a type");
  } else {
    m = invalid ("unknown message type");
  }
  g_object_unref (parser);
  return m;
}

std::optional<std::uint64_t> parse_receipt (const char *text, size_t length)
{
  if (!text || length == 0 || length > 1024)
    return std::nullopt;
  JsonParser *parser = json_parser_new ();
  std::optional<std::uint64_t> out;
  if (json_parser_load_from_data (parser, text, (gssize) length, nullptr)) {
    JsonNode *root = json_parser_get_root (parser);
    JsonObject *o = root && JSON_NODE_HOLDS_OBJECT (root) ?
        json_node_get_object (root) :
        nullptr;
    JsonNode *n = o ? json_object_get_member (o, "bytes") : nullptr;
    if (rt::json::string_member (o, "type") == "received" && n &&
        JSON_NODE_HOLDS_VALUE (n) &&
        json_node_get_value_type (n) == G_TYPE_INT64 &&
        json_node_get_int (n) >= 0)
      out = (std::uint64_t) json_node_get_int (n);
  }
  g_object_unref (parser);
  return out;
}

std::optional<IceServer> ice_server_from_uri (const std::string &uri)
{
  const char *schemes[] = { "stun://", "turn://", "turns://" };
  for (const char *s : schemes) {
    size_t n = strlen (s);
    if (uri.compare (0, n, s) != 0)
      continue;
    std::string rest = uri.substr (n);
    IceServer out;
    size_t at = rest.rfind ('@');
    if (at != std::string::npos) {
      std::string userinfo = rest.substr (0, at);
      rest = rest.substr (at + 1);
      size_t colon = userinfo.find (':');
      gchar *user = g_uri_unescape_string (userinfo.substr (0, colon).c_str (),
          nullptr);
      gchar *pass = colon == std::string::npos ?
          nullptr :
          g_uri_unescape_string (userinfo.substr (colon + 1).c_str (), nullptr);
      out.username = user ? user : "";
      out.credential = pass ? pass : "";
      g_free (user);
      g_free (pass);
    }
    if (rest.empty () || rest.find_first_of (" /?#") != std::string::npos)
      return std::nullopt;
    /* stun:host:port, turn:host:port, turns:host:port (RFC 7064/7065). */
    out.url = std::string (s, n - 2) + rest;
    if (out.url.compare (0, 4, "stun") != 0 && out.username.empty ())
      return std::nullopt;
    return out;
  }
  return std::nullopt;
}

std::string build_offer (const std::string &sdp, const std::string &client_id,
    const std::vector<IceServer> &servers)
{
  JsonBuilder *b = typed ("webrtc-offer");
  set_string (b, "sdp", sdp);
  set_string (b, "clientId", client_id);
  json_builder_set_member_name (b, "iceServers");
  json_builder_begin_array (b);
  for (const IceServer &s : servers) {
    json_builder_begin_object (b);
    set_string (b, "urls", s.url);
    if (!s.username.empty ()) {
      set_string (b, "username", s.username);
      set_string (b, "credential", s.credential);
    }
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  return close_object (b);
}

std::string build_ice (const IceCandidate &c)
{
  JsonBuilder *b = typed ("webrtc-ice");
  json_builder_set_member_name (b, "candidate");
  json_builder_begin_object (b);
  set_string (b, "candidate", c.candidate);
  set_int (b, "sdpMLineIndex", c.mline_index);
  if (!c.mid.empty ())
    set_string (b, "sdpMid", c.mid);
  json_builder_end_object (b);
  return close_object (b);
}

std::string build_error (const std::string &code, const std::string &message)
{
  JsonBuilder *b = typed ("error");
  set_string (b, "code", code);
  set_string (b, "message", message);
  return close_object (b);
}

std::string build_utterance_start (std::uint64_t id, const char *codec,
    int rate, int channels, std::int64_t t_ms)
{
  JsonBuilder *b = typed ("utterance-start");
  set_int (b, "id", (std::int64_t) id);
  set_string (b, "codec", codec);
  set_int (b, "sampleRate", rate);
  set_int (b, "channels", channels);
  set_int (b, "t", t_ms);
  return close_object (b);
}

std::string build_utterance_end (std::uint64_t id)
{
  JsonBuilder *b = typed ("utterance-end");
  set_int (b, "id", (std::int64_t) id);
  return close_object (b);
}

std::string build_utterance_abort (std::uint64_t id)
{
  JsonBuilder *b = typed ("utterance-abort");
  set_int (b, "id", (std::int64_t) id);
  return close_object (b);
}

std::string build_discontinuity (std::uint64_t id, std::uint64_t dropped)
{
  JsonBuilder *b = typed ("discontinuity");
  set_int (b, "id", (std::int64_t) id);
  set_int (b, "dropped", (std::int64_t) dropped);
  return close_object (b);
}

const char *Negotiation::accept (ClientMessage::Kind kind)
{
  switch (kind) {
    case ClientMessage::Kind::Answer:
      if (state_ != State::OfferSent)
        return state_ == State::Idle ? "answer-before-offer" :
                                       "answer-repeated";
      state_ = State::Answered;
      return nullptr;
    case ClientMessage::Kind::Ice:
    case ClientMessage::Kind::EndOfCandidates:
      return state_ == State::Idle ? "candidate-before-offer" : nullptr;
    case ClientMessage::Kind::Invalid: break;
  }
  return "invalid-message";
}

bool Watermarks::admit (std::uint64_t buffered, std::uint64_t size)
{
  if (throttled_ && buffered <= low_)
    throttled_ = false;
  if (!throttled_ && buffered + size > high_)
    throttled_ = true;
  if (throttled_) {
    dropped_++;
    run_++;
  }
  return !throttled_;
}

std::uint64_t Watermarks::take_dropped_run ()
{
  std::uint64_t r = run_;
  run_ = 0;
  return r;
}

bool valid_client_id (const std::string &id)
{
  if (id.empty () || id.size () > 32)
    return false;
  for (char c : id)
    if (!g_ascii_isalnum (c) && c != '-' && c != '_')
      return false;
  return true;
}

}  // namespace rt::broadcast
