/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "signalling/browser_websocket.h"

#include "core/debug.h"
#include "core/http_server.h"

#include <gst/sdp/sdp.h>
#include <libsoup/soup.h>
#include <openssl/rand.h>

#include <cstring>

#define GST_CAT_DEFAULT rt_broadcast_debug

namespace rt {
namespace {

/* Candidates a page may send: more is no browser's doing. */
constexpr unsigned kMaxRemoteCandidates = 64;

/* 128 random bits: an id is what lets a page back onto its own stream, so
 * no other page may guess it. */
std::string new_client_id ()
{
  unsigned char raw[16];
  if (RAND_bytes (raw, sizeof raw) != 1)
    for (unsigned char &b : raw)
      b = (unsigned char) g_random_int ();
  char hex[33];
  for (size_t i = 0; i < sizeof raw; i++)
    g_snprintf (hex + 2 * i, 3, "%02x", raw[i]);
  return hex;
}

Fault page_gone (const std::string &why)
{
  Fault f;
  f.kind = FaultKind::ChannelClosed;
  f.error.message = why;
  return f;
}

}  // namespace

/* One page's WebSocket and where its exchange stands. Its signal handlers
 * carry the session itself: they are disconnected before it is let go. */
struct BrowserSignaller::Session {
  BrowserSignaller *owner;
  std::string id;
  SoupWebsocketConnection *ws;
  broadcast::Negotiation negotiation;
  unsigned remote_candidates = 0;
  bool ended = false;
};

BrowserSignaller::BrowserSignaller (BrowserSignallerConfig config)
    : config_ (std::move (config))
{
  for (const std::string &uri : { config_.stun_server, config_.turn_server })
    if (!uri.empty ())
      if (auto s = broadcast::ice_server_from_uri (uri))
        ice_servers_.push_back (*s);
}

BrowserSignaller::~BrowserSignaller ()
{
  stop ([] {});
}

SignallerCapabilities BrowserSignaller::capabilities () const
{
  SignallerCapabilities caps;
  caps.trickle = true;
  caps.remote_offers = false;
  return caps;
}

std::shared_ptr<BrowserSignaller::Session> BrowserSignaller::find (
    const std::string &id) const
{
  auto it = sessions_.find (id);
  return it != sessions_.end () ? it->second : nullptr;
}

/* ---- listening ---- */

void BrowserSignaller::http_cb (SoupServer *, SoupServerMessage *msg,
    const char *path, GHashTable *, gpointer data)
{
  auto *self = static_cast<BrowserSignaller *> (data);
  const char *method = soup_server_message_get_method (msg);
  bool index = !strcmp (path, "/") || !strcmp (path, "/index.html");
  if (!index || self->config_.page.empty ()) {
    soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, nullptr);
    return;
  }
  if (strcmp (method, "GET") != 0 && strcmp (method, "HEAD") != 0) {
    soup_server_message_set_status (msg, SOUP_STATUS_METHOD_NOT_ALLOWED,
        nullptr);
    return;
  }
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
      "Cache-Control", "no-cache");
  soup_server_message_set_response (msg, "text/html; charset=utf-8",
      SOUP_MEMORY_COPY, self->config_.page.data (), self->config_.page.size ());
  soup_server_message_set_status (msg, SOUP_STATUS_OK, nullptr);
}

void BrowserSignaller::ws_cb (SoupServer *, SoupServerMessage *msg,
    const char *, SoupWebsocketConnection *ws, gpointer data)
{
  static_cast<BrowserSignaller *> (data)->accept (msg, ws);
}

bool BrowserSignaller::listen (std::string *error)
{
  HttpServerConfig config;
  config.address = config_.address;
  config.port = config_.port;
  config.server_header = "gst-webrtcbroadcast";
  config.tls_certificate_file = config_.tls_certificate_file;
  config.tls_key_file = config_.tls_key_file;
  auto server = std::make_unique<HttpServer> (config, error);
  if (!server->soup ())
    return false;
  soup_server_add_handler (server->soup (), nullptr, http_cb, this, nullptr);
  soup_server_add_websocket_handler (server->soup (), "/ws", nullptr, nullptr,
      ws_cb, this, nullptr);
  if (!server->listen (error))
    return false;
  port_ = server->port ();
  http_ = std::move (server);
  GST_INFO ("%s: serving on %s:%d", config_.name.c_str (),
      config_.address.c_str (), port_.load ());
  return true;
}

void BrowserSignaller::start ()
{
  accepting_ = true;
}

void BrowserSignaller::stop (std::function<void ()> done)
{
  accepting_ = false;
  std::vector<std::shared_ptr<Session>> all;
  for (auto &kv : sessions_)
    all.push_back (kv.second);
  for (auto &s : all)
    close (s, true);
  http_.reset ();
  if (done)
    done ();
}

/* ---- sessions ---- */

void BrowserSignaller::accept (SoupServerMessage *msg,
    SoupWebsocketConnection *ws)
{
  std::string wanted;
  if (const char *query = g_uri_get_query (soup_server_message_get_uri (msg))) {
    GHashTable *params = g_uri_parse_params (query, -1, "&", G_URI_PARAMS_NONE,
        nullptr);
    if (params) {
      if (const char *v = static_cast<const char *> (
              g_hash_table_lookup (params, "clientId")))
        wanted = v;
      g_hash_table_unref (params);
    }
  }
  if (!accepting_ || sessions_.size () >= config_.max_sessions) {
    refused_++;
    soup_websocket_connection_send_text (ws,
        broadcast::build_error ("server-full", "too many clients").c_str ());
    soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_GOING_AWAY,
        nullptr);
    return;
  }
  /* A page that comes back keeps its id, and so its own stream. */
  auto s = std::make_shared<Session> ();
  s->owner = this;
  s->id = broadcast::valid_client_id (wanted) && !sessions_.count (wanted) ?
      wanted :
      new_client_id ();
  while (sessions_.count (s->id))
    s->id = new_client_id ();
  s->ws = SOUP_WEBSOCKET_CONNECTION (g_object_ref (ws));
  sessions_[s->id] = s;
  /* Dead pages without a close frame are noticed within two intervals. */
  soup_websocket_connection_set_keepalive_interval (ws, 10);
  g_signal_connect (ws, "message", G_CALLBACK (text_cb), s.get ());
  g_signal_connect (ws, "closed", G_CALLBACK (closed_cb), s.get ());
  GST_INFO ("client %s: connected from %s", s->id.c_str (),
      soup_server_message_get_remote_host (msg));
  emit_session_requested (s->id, std::nullopt);
}

void BrowserSignaller::text_cb (SoupWebsocketConnection *, gint type,
    GBytes *message, gpointer data)
{
  auto *raw = static_cast<Session *> (data);
  /* Held for the call: the owner may end the session from a handler. */
  if (auto s = raw->owner->find (raw->id))
    if (s.get () == raw)
      raw->owner->on_message (s, type, message);
}

void BrowserSignaller::closed_cb (SoupWebsocketConnection *, gpointer data)
{
  auto *raw = static_cast<Session *> (data);
  if (auto s = raw->owner->find (raw->id))
    if (s.get () == raw)
      raw->owner->on_closed (s);
}

void BrowserSignaller::reject (Session &s, const char *code,
    const std::string &message)
{
  errors_++;
  GST_INFO ("client %s: %s (%s)", s.id.c_str (), message.c_str (), code);
  if (!s.ended &&
      soup_websocket_connection_get_state (s.ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_send_text (s.ws,
        broadcast::build_error (code, message).c_str ());
}

void BrowserSignaller::on_message (const std::shared_ptr<Session> &s, int type,
    GBytes *bytes)
{
  using Kind = broadcast::ClientMessage::Kind;
  if (type != SOUP_WEBSOCKET_DATA_TEXT) {
    reject (*s, "invalid-message",
        "binary messages are not part of the protocol");
    return;
  }
  gsize size = 0;
  const char *data = static_cast<const char *> (
      g_bytes_get_data (bytes, &size));
  broadcast::ClientMessage msg = broadcast::parse_client_message (data, size);
  if (msg.kind == Kind::Invalid) {
    reject (*s, "invalid-message", msg.error);
    return;
  }
  if (msg.kind == Kind::Answer) {
    /* An answer that does not parse leaves the offer open for another. */
    GstSDPMessage *sdp = nullptr;
    bool parsed = gst_sdp_message_new_from_text (msg.sdp.c_str (), &sdp) ==
        GST_SDP_OK;
    if (sdp)
      gst_sdp_message_free (sdp);
    if (!parsed) {
      reject (*s, "invalid-sdp", "the answer's SDP does not parse");
      return;
    }
  }
  if (const char *err = s->negotiation.accept (msg.kind)) {
    reject (*s, err, "message out of order");
    return;
  }
  if (msg.kind == Kind::Answer) {
    emit_remote_description (s->id,
        SessionDescription { GST_WEBRTC_SDP_TYPE_ANSWER, msg.sdp }, "");
  } else if (msg.kind == Kind::Ice) {
    if (++s->remote_candidates > kMaxRemoteCandidates) {
      reject (*s, "too-many-candidates", "candidate ignored: too many");
      return;
    }
    /* One bundled m-line: a candidate named only by its mid is for it. */
    unsigned mline = msg.candidate.mline_index >= 0 ?
        (unsigned) msg.candidate.mline_index :
        0;
    emit_remote_candidate (s->id, mline, msg.candidate.candidate);
  }
}

void BrowserSignaller::on_closed (const std::shared_ptr<Session> &s)
{
  close (s, false);
  emit_session_ended (s->id, page_gone ("the page went away"));
}

/* Lets the session go: its handlers first, then its socket. */
void BrowserSignaller::close (const std::shared_ptr<Session> &s, bool tell_page)
{
  auto it = sessions_.find (s->id);
  if (it == sessions_.end () || it->second != s)
    return;
  sessions_.erase (it);
  s->ended = true;
  g_signal_handlers_disconnect_matched (s->ws, G_SIGNAL_MATCH_DATA, 0, 0,
      nullptr, nullptr, s.get ());
  if (tell_page &&
      soup_websocket_connection_get_state (s->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (s->ws, SOUP_WEBSOCKET_CLOSE_NORMAL,
        nullptr);
  g_object_unref (s->ws);
  s->ws = nullptr;
}

void BrowserSignaller::send_description (const std::string &session,
    const SessionDescription &description)
{
  auto s = find (session);
  if (!s)
    return;
  if (description.type != GST_WEBRTC_SDP_TYPE_OFFER) {
    GST_WARNING ("client %s: pages take offers only", session.c_str ());
    return;
  }
  if (soup_websocket_connection_get_state (s->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_send_text (s->ws,
        broadcast::build_offer (description.sdp, s->id, ice_servers_).c_str ());
  s->negotiation.offer_sent ();
}

void BrowserSignaller::send_candidate (const std::string &session,
    unsigned mline, const std::string &candidate)
{
  auto s = find (session);
  if (!s ||
      soup_websocket_connection_get_state (s->ws) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  broadcast::IceCandidate ice { candidate, (int) mline, {} };
  soup_websocket_connection_send_text (s->ws,
      broadcast::build_ice (ice).c_str ());
}

void BrowserSignaller::end_session (const std::string &session)
{
  if (auto s = find (session))
    close (s, true);
}

void BrowserSignaller::report (const std::string &session,
    const std::string &code, const std::string &message)
{
  if (auto s = find (session))
    reject (*s, code.c_str (), message);
}

std::map<std::string, guint64> BrowserSignaller::counters () const
{
  return { { "refused", refused_.load () },
    { "signalling-errors", errors_.load () } };
}

}  // namespace rt
