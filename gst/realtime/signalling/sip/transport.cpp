/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "signalling/sip/transport.h"

#include "core/debug.h"
#include "core/redact.h"

#include <libsoup/soup.h>

#define GST_CAT_DEFAULT rt_signalling_debug

namespace rt::sip {

/* The connect in progress may finish after its transport went (cancelled
 * or not): it finds this flag down then. */
struct Transport::Flight {
  explicit Flight (Transport *t) : transport (t) {}
  ~Flight () { g_object_unref (cancellable); }
  Flight (const Flight &) = delete;
  Flight &operator= (const Flight &) = delete;
  Transport *transport;
  GCancellable *cancellable = g_cancellable_new ();
};

GTlsDatabase *load_ca_file (const std::string &path, std::string *why)
{
  GError *error = nullptr;
  GTlsDatabase *cas = g_tls_file_database_new (path.c_str (), &error);
  if (!cas) {
    *why = "the CA file " + path +
        " cannot be used: " + (error ? error->message : "unknown error");
    g_clear_error (&error);
  }
  return cas;
}

Transport::Transport (Worker &worker, std::string url, Events events,
    unsigned keepalive_s, std::string ca_file, std::string user_agent)
    : worker_ (worker), url_ (std::move (url)), events_ (std::move (events)),
      keepalive_s_ (keepalive_s), ca_file_ (std::move (ca_file)),
      user_agent_ (std::move (user_agent))
{
}

Transport::~Transport ()
{
  close ();
  if (session_) {
    soup_session_abort (session_);
    g_object_unref (session_);
  }
}

void Transport::open ()
{
  close ();
  if (!session_) {
    GTlsDatabase *cas = nullptr;
    std::string why;
    if (!ca_file_.empty () && !(cas = load_ca_file (ca_file_, &why))) {
      lost (why);
      return;
    }
    session_ = soup_session_new_with_options ("timeout", 10, "user-agent",
        user_agent_.empty () ? nullptr : user_agent_.c_str (),
        cas ? "tls-database" : nullptr, cas, nullptr);
    if (cas)
      g_object_unref (cas);
  }
  SoupMessage *msg = soup_message_new (SOUP_METHOD_GET, url_.c_str ());
  if (!msg) {
    lost ("the registrar URI " + url_ + " is not a ws:// or wss:// URI");
    return;
  }
  flight_ = std::make_shared<Flight> (this);
  const char *protocols[] = { "sip", nullptr };
  GST_INFO ("sip: connecting to %s", url_.c_str ());
  soup_session_websocket_connect_async (session_, msg, nullptr,
      (char **) protocols, G_PRIORITY_DEFAULT, flight_->cancellable,
      connected_cb, new std::shared_ptr<Flight> (flight_));
  g_object_unref (msg);
}

void Transport::connected_cb (GObject *source, GAsyncResult *result,
    gpointer data)
{
  auto *holder = static_cast<std::shared_ptr<Flight> *> (data);
  std::shared_ptr<Flight> flight = *holder;
  delete holder;
  GError *error = nullptr;
  SoupWebsocketConnection *ws = soup_session_websocket_connect_finish (
      SOUP_SESSION (source), result, &error);
  Transport *t = flight->transport;
  if (!t || t->flight_ != flight) {
    if (ws)
      g_object_unref (ws);
    g_clear_error (&error);
    return;
  }
  t->flight_.reset ();
  if (!ws) {
    std::string why = error ? error->message : "unknown error";
    g_clear_error (&error);
    t->lost ("cannot reach the registrar at " + t->url_ + ": " + why);
    return;
  }
  /* RFC 7118: a server that did not take "sip" does not speak it. */
  const char *protocol = soup_websocket_connection_get_protocol (ws);
  if (g_strcmp0 (protocol, "sip") != 0) {
    soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_PROTOCOL_ERROR,
        nullptr);
    g_object_unref (ws);
    t->lost ("the server at " + t->url_ +
        " did not accept the WebSocket subprotocol \"sip\"");
    return;
  }
  t->ws_ = ws;
  /* libsoup answers the server's WebSocket pings by itself (Kamailio
   * closes idle connections that never answer); this side's liveness check
   * is the CRLF keep-alive below. */
  soup_websocket_connection_set_keepalive_interval (ws, 0);
  soup_websocket_connection_set_max_incoming_payload_size (ws, 64 * 1024);
  g_signal_connect (ws, "message", G_CALLBACK (message_cb), t);
  g_signal_connect (ws, "closed", G_CALLBACK (closed_cb), t);
  t->heard_since_ping_ = true;
  if (t->keepalive_s_)
    t->keepalive_timer_ = t->worker_.post_after (t->keepalive_s_ * 1000,
        [t] { t->keepalive (); });
  GST_INFO ("sip: connected to %s", t->url_.c_str ());
  if (t->events_.opened)
    t->events_.opened ();
}

void Transport::keepalive ()
{
  keepalive_timer_ = 0;
  /* Closing already: its closed signal ends the connection. */
  if (!ws_ ||
      soup_websocket_connection_get_state (ws_) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  /* Silence counts as a dead server only from one that has answered a
   * keep-alive before: RFC 7118 does not oblige a server to answer. */
  if (!heard_since_ping_ && answers_keepalives_) {
    lost ("the registrar at " + url_ + " stopped answering keep-alives");
    return;
  }
  heard_since_ping_ = false;
  soup_websocket_connection_send_text (ws_, "\r\n\r\n");
  keepalives_.fetch_add (1);
  keepalive_timer_ = worker_.post_after (keepalive_s_ * 1000,
      [this] { keepalive (); });
}

void Transport::message_cb (SoupWebsocketConnection *, gint, GBytes *bytes,
    gpointer data)
{
  auto *t = static_cast<Transport *> (data);
  gsize size = 0;
  const char *bytes_data = static_cast<const char *> (
      g_bytes_get_data (bytes, &size));
  t->heard_since_ping_ = true;
  ParseResult r = parse (std::string_view (bytes_data, size));
  if (r.keepalive) {
    t->answers_keepalives_ = true;
    return;
  }
  if (!r.message) {
    t->malformed_.fetch_add (1);
    GST_WARNING ("sip: dropped a malformed message from %s (%s)",
        t->url_.c_str (), r.error.c_str ());
    return;
  }
  t->messages_in_.fetch_add (1);
  GST_LOG ("sip: in: %s", redact (r.message->serialize ()).c_str ());
  if (t->events_.message)
    t->events_.message (*r.message);
}

void Transport::closed_cb (SoupWebsocketConnection *ws, gpointer data)
{
  auto *t = static_cast<Transport *> (data);
  if (t->ws_ != ws)
    return;
  gushort code = soup_websocket_connection_get_close_code (ws);
  t->lost ("the registrar at " + t->url_ + " closed the connection (" +
      std::to_string (code) + ")");
}

bool Transport::send (const Message &m)
{
  if (!ws_ ||
      soup_websocket_connection_get_state (ws_) != SOUP_WEBSOCKET_STATE_OPEN)
    return false;
  const std::string text = m.serialize ();
  GST_LOG ("sip: out: %s", redact (text).c_str ());
  /* A text frame must be UTF-8; anything else (echoed from a peer's
   * binary frame) goes as binary, as RFC 7118 allows. */
  if (g_utf8_validate (text.data (), (gssize) text.size (), nullptr))
    soup_websocket_connection_send_text (ws_, text.c_str ());
  else
    soup_websocket_connection_send_binary (ws_, text.data (), text.size ());
  messages_out_.fetch_add (1);
  return true;
}

void Transport::drop_connection ()
{
  if (keepalive_timer_)
    worker_.cancel_timeout (keepalive_timer_);
  keepalive_timer_ = 0;
  if (flight_) {
    flight_->transport = nullptr;
    g_cancellable_cancel (flight_->cancellable);
    flight_.reset ();
  }
  if (ws_) {
    g_signal_handlers_disconnect_by_data (ws_, this);
    if (soup_websocket_connection_get_state (ws_) == SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_close (ws_, SOUP_WEBSOCKET_CLOSE_NORMAL,
          nullptr);
    g_object_unref (ws_);
    ws_ = nullptr;
  }
}

void Transport::lost (const std::string &why)
{
  GST_WARNING ("sip: %s", why.c_str ());
  drop_connection ();
  if (events_.closed)
    events_.closed (why);
}

void Transport::close ()
{
  drop_connection ();
}

}  // namespace rt::sip
