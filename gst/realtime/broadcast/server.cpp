#include "server.h"

#include "../call.h"
#include "../debug.h"
#include "../worker.h"

#include <gst/app/gstappsrc.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>
#include <libsoup/soup.h>
#include <openssl/rand.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#define GST_CAT_DEFAULT rt_broadcast_debug

namespace rt::broadcast {
namespace {

/* A track's packets are paced by the clock upstream; more than this queued
 * for one client means its pipeline is stuck, and its packets are dropped. */
constexpr GstClockTime kTrackQueueLimit = 200 * GST_MSECOND;

/* Time for a page to answer and connect. */
constexpr unsigned kSetupTimeoutMs = 20000;

/* Candidates a page may send: more is no browser's doing. */
constexpr unsigned kMaxRemoteCandidates = 64;

/* Packets stamped this much before a gap still belong to the utterance the
 * gap ended (what the encoder held); older ones start a new one. */
constexpr GstClockTime kTrailingWindow = 100 * GST_MSECOND;

const char *const kTrackCaps =
    "application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,payload=111,"
    "encoding-params=(string)2";

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

}  // namespace

/* One browser. Its webrtcbin lives in a pipeline of its own, so that a
 * client's failure is that client's only, never the user's pipeline's. */
struct Client {
  std::string id;
  std::uint64_t serial = 0;
  bool own_stream = false;              /* under Impl::m */

  /* Worker thread only. */
  SoupWebsocketConnection *ws = nullptr;
  GstElement *pipeline = nullptr, *webrtc = nullptr;
  GstBus *bus = nullptr;
  GSource *bus_watch = nullptr;
  Negotiation negotiation;
  unsigned remote_candidates = 0;

  /* Under m: what the streaming threads use. */
  std::mutex m;
  std::string state = "signalling";
  bool open = false;
  GstWebRTCDataChannel *channel = nullptr;
  GstElement *appsrc = nullptr;
  Watermarks marks;
  std::uint64_t utterance = 0;          /* whose start this page has */
  std::uint64_t bytes = 0, chunks = 0, discontinuities = 0;
  /* bytes, for the receipts' thread; and receipts that made no sense. */
  std::atomic<std::uint64_t> sent { 0 }, bad_receipts { 0 };
  /* Receipts from the page (the bundled player sends them): 0 until the
   * first, so a page that never sends any is judged on buffered-amount. */
  std::atomic<std::uint64_t> receipted { 0 };
  std::atomic<bool> receipts { false };
  GstClockTime track_base = GST_CLOCK_TIME_NONE, track_first = 0, track_next = 0;
  int caps_rate = 0, caps_channels = 0;

  Client (std::uint64_t high, std::uint64_t low) : marks (high, low) {}
};

/* What a webrtcbin callback carries: never the client itself, which may be
 * gone by the time a signal from webrtcbin's threads is handled. */
struct ClientRef {
  std::weak_ptr<Server::Impl> impl;
  std::string id;
  std::uint64_t serial;
};

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  struct Stream {
    std::uint64_t utterance = 0;
    bool active = false;
    GstClockTime ended_at = GST_CLOCK_TIME_NONE;
  };

  Config cfg;
  Events events;
  std::vector<IceServer> ice_servers;
  SoupServer *soup = nullptr;       /* worker */
  bool stopped = false;             /* worker */
  int port = 0;

  mutable std::mutex m;
  std::map<std::string, std::shared_ptr<Client>> clients;
  std::set<std::string> own_streams;
  std::map<std::string, Stream> streams;
  std::uint64_t next_utterance = 0, next_serial = 0;
  Counters counters;
  /* Last, so that it is destroyed first: its thread may still be running
   * work that uses the members above. */
  Worker worker;

  Impl (Config c, Events e) : cfg (std::move (c)), events (std::move (e)),
      worker ("broadcast") {}

  std::shared_ptr<Client> find (const std::string &id, std::uint64_t serial) const
  {
    std::lock_guard<std::mutex> l (m);
    auto it = clients.find (id);
    return it != clients.end () && it->second->serial == serial ? it->second : nullptr;
  }

  ClientRef *ref (const Client &c) { return new ClientRef { weak_from_this (), c.id, c.serial }; }

  /* Runs fn on the worker with the client, if both still exist. */
  static void on_worker (const ClientRef &r,
      std::function<void (Impl &, const std::shared_ptr<Client> &)> fn)
  {
    auto self = r.impl.lock ();
    if (!self)
      return;
    std::string id = r.id;
    std::uint64_t serial = r.serial;
    std::weak_ptr<Impl> weak = self;
    self->worker.post ([weak, id, serial, fn = std::move (fn)] {
      if (auto s = weak.lock ())
        if (auto c = s->find (id, serial))
          fn (*s, c);
    });
  }

  /* ---- signalling (worker) ---- */

  void send (Client &c, const std::string &text)
  {
    if (c.ws && soup_websocket_connection_get_state (c.ws) == SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_send_text (c.ws, text.c_str ());
  }

  void reject (Client &c, const char *code, const std::string &message)
  {
    {
      std::lock_guard<std::mutex> l (m);
      counters.signalling_errors++;
    }
    GST_INFO ("client %s: %s (%s)", c.id.c_str (), message.c_str (), code);
    send (c, build_error (code, message));
  }

  void on_ws_message (const std::shared_ptr<Client> &c, GBytes *bytes)
  {
    gsize size = 0;
    const char *data = static_cast<const char *> (g_bytes_get_data (bytes, &size));
    ClientMessage msg = parse_client_message (data, size);
    if (msg.kind == ClientMessage::Kind::Invalid) {
      reject (*c, "invalid-message", msg.error);
      return;
    }
    GstSDPMessage *sdp = nullptr;
    if (msg.kind == ClientMessage::Kind::Answer) {
      /* An answer that does not parse leaves the offer open for another. */
      if (gst_sdp_message_new_from_text (msg.sdp.c_str (), &sdp) != GST_SDP_OK) {
        reject (*c, "invalid-sdp", "the answer's SDP does not parse");
        return;
      }
    }
    if (const char *err = c->negotiation.accept (msg.kind)) {
      if (sdp)
        gst_sdp_message_free (sdp);
      reject (*c, err, "message out of order");
      return;
    }
    if (msg.kind == ClientMessage::Kind::Answer) {
      GstWebRTCSessionDescription *answer =
          gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
      GstPromise *p = gst_promise_new_with_change_func (on_remote_set, ref (*c),
          [] (gpointer d) { delete static_cast<ClientRef *> (d); });
      g_signal_emit_by_name (c->webrtc, "set-remote-description", answer, p);
      gst_webrtc_session_description_free (answer);
    } else if (msg.kind == ClientMessage::Kind::Ice) {
      if (++c->remote_candidates > kMaxRemoteCandidates) {
        reject (*c, "too-many-candidates", "candidate ignored: too many");
        return;
      }
      /* One bundled m-line: a candidate named only by its mid is for it. */
      guint mline = msg.candidate.mline_index >= 0 ? (guint) msg.candidate.mline_index : 0;
      g_signal_emit_by_name (c->webrtc, "add-ice-candidate", mline,
          msg.candidate.candidate.c_str ());
    }
  }

  static void on_remote_set (GstPromise *p, gpointer data)
  {
    /* A copy: the promise's last unref below frees data. */
    const ClientRef r = *static_cast<ClientRef *> (data);
    bool ok = gst_promise_wait (p) == GST_PROMISE_RESULT_REPLIED;
    const GstStructure *reply = ok ? gst_promise_get_reply (p) : nullptr;
    bool failed = reply && gst_structure_has_field (reply, "error");
    gst_promise_unref (p);
    if (failed)
      on_worker (r, [] (Impl &s, const std::shared_ptr<Client> &c) {
        s.reject (*c, "invalid-sdp", "the answer was refused");
        s.drop (c, "answer refused");
      });
  }

  /* ---- negotiation (webrtcbin threads, then the worker) ---- */

  static void on_offer_created (GstPromise *p, gpointer data)
  {
    const ClientRef r = *static_cast<ClientRef *> (data);
    GstWebRTCSessionDescription *offer = nullptr;
    if (gst_promise_wait (p) == GST_PROMISE_RESULT_REPLIED)
      if (const GstStructure *reply = gst_promise_get_reply (p))
        gst_structure_get (reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION,
            &offer, nullptr);
    gst_promise_unref (p);
    auto holder = std::shared_ptr<GstWebRTCSessionDescription> (offer,
        [] (GstWebRTCSessionDescription *d) { if (d) gst_webrtc_session_description_free (d); });
    on_worker (r, [holder] (Impl &s, const std::shared_ptr<Client> &c) {
      if (!holder) {
        s.drop (c, "webrtcbin made no offer");
        return;
      }
      g_signal_emit_by_name (c->webrtc, "set-local-description", holder.get (), nullptr);
      gchar *text = gst_sdp_message_as_text (holder->sdp);
      s.send (*c, build_offer (text, c->id, s.ice_servers));
      g_free (text);
      c->negotiation.offer_sent ();
    });
  }

  static void on_ice_candidate (GstElement *, guint mline, gchar *candidate, gpointer data)
  {
    IceCandidate ice { candidate ? candidate : "", (int) mline, {} };
    on_worker (*static_cast<ClientRef *> (data),
        [ice] (Impl &s, const std::shared_ptr<Client> &c) { s.send (*c, build_ice (ice)); });
  }

  static void on_connection_state (GstElement *webrtc, GParamSpec *, gpointer data)
  {
    GstWebRTCPeerConnectionState state;
    g_object_get (webrtc, "connection-state", &state, nullptr);
    on_worker (*static_cast<ClientRef *> (data),
        [state] (Impl &s, const std::shared_ptr<Client> &c) { s.peer_state (c, state); });
  }

  void peer_state (const std::shared_ptr<Client> &c, GstWebRTCPeerConnectionState state)
  {
    switch (state) {
      case GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTING: {
        std::lock_guard<std::mutex> l (c->m);
        c->state = "connecting";
        break;
      }
      case GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED: {
        std::lock_guard<std::mutex> l (c->m);
        c->state = "connected";
        /* A track can carry media once DTLS is up; a channel when it opens. */
        if (cfg.delivery == Delivery::Track)
          c->open = true;
        GST_INFO ("client %s: connected", c->id.c_str ());
        break;
      }
      case GST_WEBRTC_PEER_CONNECTION_STATE_FAILED:
        drop (c, "the peer connection failed");
        break;
      case GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED:
        drop (c, "the peer connection closed");
        break;
      default:
        break;
    }
  }

  static void on_channel_open (GstWebRTCDataChannel *, gpointer data)
  {
    on_worker (*static_cast<ClientRef *> (data), [] (Impl &, const std::shared_ptr<Client> &c) {
      std::lock_guard<std::mutex> l (c->m);
      c->open = true;
      GST_INFO ("client %s: audio channel open", c->id.c_str ());
    });
  }

  /* webrtcbin's thread: only the client's atomics are touched. */
  static void on_channel_text (GstWebRTCDataChannel *, gchar *text, gpointer data)
  {
    const ClientRef &r = *static_cast<ClientRef *> (data);
    auto self = r.impl.lock ();
    auto c = self && text ? self->find (r.id, r.serial) : nullptr;
    if (!c)
      return;
    /* A receipt for more than was sent (a page counting across
     * reconnects, say) says nothing: it is ignored, not clamped. */
    auto bytes = parse_receipt (text, strlen (text));
    if (bytes && *bytes <= c->sent.load ()) {
      c->receipted.store (*bytes);
      c->receipts.store (true);
    } else {
      c->bad_receipts++;
    }
  }

  static void on_channel_closed (GstWebRTCDataChannel *, gpointer data)
  {
    on_worker (*static_cast<ClientRef *> (data), [] (Impl &s, const std::shared_ptr<Client> &c) {
      s.drop (c, "the audio channel closed");
    });
  }

  static void on_channel_error (GstWebRTCDataChannel *, GError *error, gpointer data)
  {
    std::string why = std::string ("the audio channel failed: ") +
        (error ? error->message : "unknown error");
    on_worker (*static_cast<ClientRef *> (data),
        [why] (Impl &s, const std::shared_ptr<Client> &c) { s.drop (c, why); });
  }

  static gboolean on_bus (GstBus *, GstMessage *msg, gpointer data)
  {
    if (GST_MESSAGE_TYPE (msg) != GST_MESSAGE_ERROR)
      return G_SOURCE_CONTINUE;
    GError *err = nullptr;
    gst_message_parse_error (msg, &err, nullptr);
    std::string why = std::string ("client pipeline error: ") + (err ? err->message : "?");
    g_clear_error (&err);
    /* The bus watch runs on the worker already. */
    const ClientRef &r = *static_cast<ClientRef *> (data);
    if (auto s = r.impl.lock ())
      if (auto c = s->find (r.id, r.serial))
        s->drop (c, why);
    return G_SOURCE_CONTINUE;
  }

  /* ---- clients (worker) ---- */

  bool build_pipeline (Client &c)
  {
    c.pipeline = gst_pipeline_new (("broadcast-" + c.id).c_str ());
    c.webrtc = gst_element_factory_make ("webrtcbin", nullptr);
    if (!c.webrtc)
      return false;
    g_object_set (c.webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, nullptr);
    if (!cfg.stun_server.empty ())
      g_object_set (c.webrtc, "stun-server", cfg.stun_server.c_str (), nullptr);
    if (!cfg.turn_server.empty ())
      g_object_set (c.webrtc, "turn-server", cfg.turn_server.c_str (), nullptr);
    gst_bin_add (GST_BIN (c.pipeline), c.webrtc);

    if (cfg.delivery == Delivery::Track) {
      GstElement *src = gst_element_factory_make ("appsrc", nullptr);
      GstElement *pay = gst_element_factory_make ("rtpopuspay", nullptr);
      if (!src || !pay) {
        if (src) gst_object_unref (src);
        if (pay) gst_object_unref (pay);
        return false;
      }
      g_object_set (src, "is-live", TRUE, "format", GST_FORMAT_TIME, nullptr);
      g_object_set (pay, "pt", 111, nullptr);
      gst_bin_add_many (GST_BIN (c.pipeline), src, pay, nullptr);
      GstPad *sink = gst_element_request_pad_simple (c.webrtc, "sink_%u");
      GstPad *out = gst_element_get_static_pad (pay, "src");
      bool linked = gst_element_link (src, pay) && gst_pad_link (out, sink) == GST_PAD_LINK_OK;
      GstWebRTCRTPTransceiver *trans = nullptr;
      g_object_get (sink, "transceiver", &trans, nullptr);
      if (trans) {
        GstCaps *caps = gst_caps_from_string (kTrackCaps);
        g_object_set (trans, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY,
            "codec-preferences", caps, nullptr);
        gst_caps_unref (caps);
        gst_object_unref (trans);
      }
      gst_object_unref (out);
      gst_object_unref (sink);
      if (!linked)
        return false;
      std::lock_guard<std::mutex> l (c.m);
      c.appsrc = GST_ELEMENT (gst_object_ref (src));
    }

    g_signal_connect_data (c.webrtc, "on-ice-candidate", G_CALLBACK (on_ice_candidate),
        ref (c), [] (gpointer d, GClosure *) { delete static_cast<ClientRef *> (d); },
        GConnectFlags (0));
    g_signal_connect_data (c.webrtc, "notify::connection-state",
        G_CALLBACK (on_connection_state), ref (c),
        [] (gpointer d, GClosure *) { delete static_cast<ClientRef *> (d); }, GConnectFlags (0));

    c.bus = gst_pipeline_get_bus (GST_PIPELINE (c.pipeline));
    c.bus_watch = gst_bus_create_watch (c.bus);
    g_source_set_callback (c.bus_watch, (GSourceFunc) (void (*) ()) on_bus, ref (c),
        [] (gpointer d) { delete static_cast<ClientRef *> (d); });
    g_source_attach (c.bus_watch, worker.context ());

    if (gst_element_set_state (c.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
      return false;

    if (cfg.delivery == Delivery::DataChannel) {
      GstStructure *opts = gst_structure_new ("options", "ordered", G_TYPE_BOOLEAN, TRUE,
          nullptr);
      GstWebRTCDataChannel *channel = nullptr;
      g_signal_emit_by_name (c.webrtc, "create-data-channel", cfg.channel_label.c_str (),
          opts, &channel);
      gst_structure_free (opts);
      if (!channel)
        return false;
      g_object_set (channel, "buffered-amount-low-threshold", cfg.low_watermark, nullptr);
      auto del = [] (gpointer d, GClosure *) { delete static_cast<ClientRef *> (d); };
      g_signal_connect_data (channel, "on-open", G_CALLBACK (on_channel_open), ref (c), del,
          GConnectFlags (0));
      g_signal_connect_data (channel, "on-close", G_CALLBACK (on_channel_closed), ref (c), del,
          GConnectFlags (0));
      g_signal_connect_data (channel, "on-error", G_CALLBACK (on_channel_error), ref (c), del,
          GConnectFlags (0));
      g_signal_connect_data (channel, "on-message-string", G_CALLBACK (on_channel_text), ref (c),
          del, GConnectFlags (0));
      std::lock_guard<std::mutex> l (c.m);
      c.channel = channel;
    }

    GstPromise *p = gst_promise_new_with_change_func (on_offer_created, ref (c),
        [] (gpointer d) { delete static_cast<ClientRef *> (d); });
    g_signal_emit_by_name (c.webrtc, "create-offer", nullptr, p);
    return true;
  }

  void release_media (Client &c)
  {
    GstWebRTCDataChannel *channel;
    GstElement *appsrc;
    {
      std::lock_guard<std::mutex> l (c.m);
      c.open = false;
      channel = c.channel;
      appsrc = c.appsrc;
      c.channel = nullptr;
      c.appsrc = nullptr;
    }
    if (channel) {
      g_signal_handlers_disconnect_matched (channel, G_SIGNAL_MATCH_FUNC, 0, 0, nullptr,
          (gpointer) on_channel_open, nullptr);
      g_signal_handlers_disconnect_matched (channel, G_SIGNAL_MATCH_FUNC, 0, 0, nullptr,
          (gpointer) on_channel_closed, nullptr);
      g_signal_handlers_disconnect_matched (channel, G_SIGNAL_MATCH_FUNC, 0, 0, nullptr,
          (gpointer) on_channel_error, nullptr);
      g_signal_handlers_disconnect_matched (channel, G_SIGNAL_MATCH_FUNC, 0, 0, nullptr,
          (gpointer) on_channel_text, nullptr);
      gst_webrtc_data_channel_close (channel);
      g_object_unref (channel);
    }
    if (appsrc)
      gst_object_unref (appsrc);
    if (c.webrtc) {
      g_signal_handlers_disconnect_matched (c.webrtc, G_SIGNAL_MATCH_FUNC, 0, 0, nullptr,
          (gpointer) on_ice_candidate, nullptr);
      g_signal_handlers_disconnect_matched (c.webrtc, G_SIGNAL_MATCH_FUNC, 0, 0, nullptr,
          (gpointer) on_connection_state, nullptr);
    }
    if (c.bus_watch) {
      g_source_destroy (c.bus_watch);
      g_source_unref (c.bus_watch);
      c.bus_watch = nullptr;
    }
    if (c.bus) {
      gst_object_unref (c.bus);
      c.bus = nullptr;
    }
    if (c.pipeline) {
      gst_element_set_state (c.pipeline, GST_STATE_NULL);
      gst_object_unref (c.pipeline);
      c.pipeline = nullptr;
      c.webrtc = nullptr;
    }
  }

  /* Ends a client: everything it held is released here, whatever ended it
   * (the page closed, its socket died, its peer connection failed). */
  void drop (const std::shared_ptr<Client> &c, const std::string &why, bool notify = true)
  {
    {
      std::lock_guard<std::mutex> l (m);
      auto it = clients.find (c->id);
      if (it == clients.end () || it->second != c)
        return;
      clients.erase (it);
    }
    GST_INFO ("client %s: gone (%s)", c->id.c_str (), why.c_str ());
    if (c->ws) {
      g_signal_handlers_disconnect_matched (c->ws, G_SIGNAL_MATCH_DATA, 0, 0, nullptr,
          nullptr, c.get ());
      if (soup_websocket_connection_get_state (c->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (c->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, nullptr);
      g_object_unref (c->ws);
      c->ws = nullptr;
    }
    release_media (*c);
    if (notify && events.disconnected)
      events.disconnected (c->id);
  }

  static void on_ws_text (SoupWebsocketConnection *, gint type, GBytes *message, gpointer data)
  {
    auto *c = static_cast<Client *> (data);
    auto *self = static_cast<Impl *> (g_object_get_data (G_OBJECT (c->ws), "broadcast-impl"));
    auto sp = self ? self->find (c->id, c->serial) : nullptr;
    if (!sp)
      return;
    if (type != SOUP_WEBSOCKET_DATA_TEXT) {
      self->reject (*sp, "invalid-message", "binary messages are not part of the protocol");
      return;
    }
    self->on_ws_message (sp, message);
  }

  static void on_ws_closed (SoupWebsocketConnection *ws, gpointer data)
  {
    auto *c = static_cast<Client *> (data);
    auto *self = static_cast<Impl *> (g_object_get_data (G_OBJECT (ws), "broadcast-impl"));
    if (auto sp = self ? self->find (c->id, c->serial) : nullptr)
      self->drop (sp, "the page went away");
  }

  void accept (SoupServerMessage *msg, SoupWebsocketConnection *ws)
  {
    std::string wanted;
    if (const char *query = g_uri_get_query (soup_server_message_get_uri (msg))) {
      GHashTable *params = g_uri_parse_params (query, -1, "&", G_URI_PARAMS_NONE, nullptr);
      if (params) {
        if (const char *v = static_cast<const char *> (g_hash_table_lookup (params, "clientId")))
          wanted = v;
        g_hash_table_unref (params);
      }
    }
    auto c = std::make_shared<Client> (cfg.high_watermark, cfg.low_watermark);
    {
      std::lock_guard<std::mutex> l (m);
      if (clients.size () >= cfg.max_clients) {
        counters.clients_refused++;
        soup_websocket_connection_send_text (ws,
            build_error ("server-full", "too many clients").c_str ());
        soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, nullptr);
        return;
      }
      /* A page that comes back keeps its id, and so its own stream. */
      c->id = valid_client_id (wanted) && !clients.count (wanted) ? wanted : new_client_id ();
      while (clients.count (c->id))
        c->id = new_client_id ();
      c->serial = ++next_serial;
      c->own_stream = own_streams.count (c->id) > 0;
      clients[c->id] = c;
      counters.clients_total++;
    }
    c->ws = SOUP_WEBSOCKET_CONNECTION (g_object_ref (ws));
    g_object_set_data (G_OBJECT (ws), "broadcast-impl", this);
    /* Dead pages without a close frame are noticed within two intervals. */
    soup_websocket_connection_set_keepalive_interval (ws, 10);
    g_signal_connect (ws, "message", G_CALLBACK (on_ws_text), c.get ());
    g_signal_connect (ws, "closed", G_CALLBACK (on_ws_closed), c.get ());
    GST_INFO ("client %s: connected from %s", c->id.c_str (),
        soup_server_message_get_remote_host (msg));
    if (events.connected)
      events.connected (c->id);
    /* The handler may have stopped the element, or the page gone. */
    if (stopped || !find (c->id, c->serial))
      return;
    /* A page that never completes the exchange (or a socket that only
     * occupies a slot) is let go. */
    std::weak_ptr<Impl> weak = weak_from_this ();
    worker.post_after (kSetupTimeoutMs, [weak, id = c->id, serial = c->serial] {
      auto self = weak.lock ();
      auto client = self ? self->find (id, serial) : nullptr;
      if (!client)
        return;
      std::unique_lock<std::mutex> l (client->m);
      if (client->state == "connected")
        return;
      l.unlock ();
      self->drop (client, "not connected in time");
    });
    if (!build_pipeline (*c)) {
      reject (*c, "internal", "the server could not set up a peer connection");
      if (events.warning)
        events.warning ("could not set up a peer connection (webrtcbin, appsrc or "
            "rtpopuspay missing, or the data channel refused)");
      drop (c, "setup failed");
    }
  }

  static void on_http (SoupServer *, SoupServerMessage *msg, const char *path,
      GHashTable *, gpointer data)
  {
    auto *self = static_cast<Impl *> (data);
    const char *method = soup_server_message_get_method (msg);
    bool index = !strcmp (path, "/") || !strcmp (path, "/index.html");
    if (!index || self->cfg.page.empty ()) {
      soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, nullptr);
      return;
    }
    if (strcmp (method, "GET") != 0 && strcmp (method, "HEAD") != 0) {
      soup_server_message_set_status (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, nullptr);
      return;
    }
    soup_message_headers_replace (soup_server_message_get_response_headers (msg),
        "Cache-Control", "no-cache");
    soup_server_message_set_response (msg, "text/html; charset=utf-8", SOUP_MEMORY_COPY,
        self->cfg.page.data (), self->cfg.page.size ());
    soup_server_message_set_status (msg, SOUP_STATUS_OK, nullptr);
  }

  static void on_ws (SoupServer *, SoupServerMessage *msg, const char *,
      SoupWebsocketConnection *ws, gpointer data)
  {
    static_cast<Impl *> (data)->accept (msg, ws);
  }

  bool listen (std::string *error)
  {
    GError *err = nullptr;
    GTlsCertificate *cert = nullptr;
    if (!cfg.tls_certificate_file.empty ()) {
      const std::string &key = cfg.tls_key_file.empty () ? cfg.tls_certificate_file
                                                          : cfg.tls_key_file;
      cert = g_tls_certificate_new_from_files (cfg.tls_certificate_file.c_str (),
          key.c_str (), &err);
      if (!cert) {
        *error = std::string ("TLS certificate: ") + err->message;
        g_error_free (err);
        return false;
      }
    }
    soup = soup_server_new ("server-header", "gst-webrtcbroadcast", cert ? "tls-certificate"
        : nullptr, cert, nullptr);
    if (cert)
      g_object_unref (cert);
    soup_server_add_handler (soup, nullptr, on_http, this, nullptr);
    soup_server_add_websocket_handler (soup, "/ws", nullptr, nullptr, on_ws, this, nullptr);

    GInetAddress *addr = g_inet_address_new_from_string (cfg.address.c_str ());
    if (!addr) {
      *error = "not an IP address: " + cfg.address;
      return false;
    }
    GSocketAddress *sa = g_inet_socket_address_new (addr, (guint16) cfg.port);
    g_object_unref (addr);
    bool ok = soup_server_listen (soup, sa, cert ? SOUP_SERVER_LISTEN_HTTPS
        : SoupServerListenOptions (0), &err);
    g_object_unref (sa);
    if (!ok) {
      *error = std::string ("cannot listen on ") + cfg.address + ":" +
          std::to_string (cfg.port) + ": " + err->message;
      g_error_free (err);
      return false;
    }
    GSList *listeners = soup_server_get_listeners (soup);
    if (listeners) {
      GSocketAddress *local = g_socket_get_local_address (G_SOCKET (listeners->data), nullptr);
      if (local) {
        port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
        g_object_unref (local);
      }
    }
    g_slist_free (listeners);
    GST_INFO ("%s: serving on %s:%d", cfg.name.c_str (), cfg.address.c_str (), port);
    return true;
  }

  void shutdown ()
  {
    stopped = true;
    std::vector<std::shared_ptr<Client>> all;
    {
      std::lock_guard<std::mutex> l (m);
      for (auto &kv : clients)
        all.push_back (kv.second);
    }
    for (auto &c : all)
      drop (c, "shutting down", false);
    if (soup) {
      soup_server_disconnect (soup);
      g_object_unref (soup);
      soup = nullptr;
    }
  }

  /* ---- media (streaming threads) ---- */

  std::vector<std::shared_ptr<Client>> listeners (const std::string &stream) const
  {
    std::vector<std::shared_ptr<Client>> out;
    for (auto &kv : clients)
      if ((kv.second->own_stream ? kv.first : std::string ()) == stream)
        out.push_back (kv.second);
    return out;
  }

  static bool channel_open (GstWebRTCDataChannel *ch)
  {
    GstWebRTCDataChannelState state;
    g_object_get (ch, "ready-state", &state, nullptr);
    return state == GST_WEBRTC_DATA_CHANNEL_STATE_OPEN;
  }

  static void send_text (GstWebRTCDataChannel *ch, const std::string &text)
  {
    gst_webrtc_data_channel_send_string_full (ch, text.c_str (), nullptr);
  }

  /* packet: the Opus packet as bytes, shared by every page it goes to. */
  void deliver_channel (Client &c, GBytes *packet, std::uint64_t utterance, int rate,
      int channels)
  {
    const gsize size = g_bytes_get_size (packet);
    std::lock_guard<std::mutex> l (c.m);
    GstWebRTCDataChannelState state = GST_WEBRTC_DATA_CHANNEL_STATE_CLOSED;
    guint64 buffered = 0;
    if (c.open && c.channel)
      g_object_get (c.channel, "ready-state", &state, "buffered-amount", &buffered, nullptr);
    /* A page that just went away: its channel closes before the worker
     * has let the client go. */
    if (state != GST_WEBRTC_DATA_CHANNEL_STATE_OPEN)
      return;
    /* What the page is behind: queued here, or sent and not receipted. */
    std::uint64_t behind = buffered;
    if (c.receipts.load ())
      behind = std::max<std::uint64_t> (behind, c.bytes - std::min (c.receipted.load (), c.bytes));
    if (!c.marks.admit (behind, size))
      return;
    std::uint64_t dropped = c.marks.take_dropped_run ();
    /* Sent under the client's lock: the page sees start, chunks and end in
     * order even when the utterance ends on another thread. */
    if (c.utterance != utterance) {
      c.utterance = utterance;
      send_text (c.channel, build_utterance_start (utterance, "opus", rate, channels,
          g_get_real_time () / 1000));
    } else if (dropped) {
      c.discontinuities++;
      send_text (c.channel, build_discontinuity (utterance, dropped));
    }
    if (gst_webrtc_data_channel_send_data_full (c.channel, packet, nullptr)) {
      c.bytes += size;
      c.sent.store (c.bytes);
      c.chunks++;
    }
  }

  void deliver_track (Client &c, GstBuffer *packet, std::uint64_t utterance, int rate,
      int channels)
  {
    std::lock_guard<std::mutex> l (c.m);
    if (!c.open || !c.appsrc)
      return;
    GstAppSrc *src = GST_APP_SRC (c.appsrc);
    if (gst_app_src_get_current_level_time (src) > kTrackQueueLimit) {
      c.marks.drop ();
      return;
    }
    if (c.caps_rate != rate || c.caps_channels != channels) {
      GstCaps *caps = gst_caps_new_simple ("audio/x-opus", "rate", G_TYPE_INT, rate,
          "channels", G_TYPE_INT, channels, "channel-mapping-family", G_TYPE_INT, 0, nullptr);
      gst_app_src_set_caps (src, caps);
      gst_caps_unref (caps);
      c.caps_rate = rate;
      c.caps_channels = channels;
    }
    /* The client pipeline's own running time, advanced by the packets'
     * durations: RTP timestamps stay regular whatever the push jitter. */
    GstClockTime now = GST_CLOCK_TIME_NONE;
    if (GstClock *clock = gst_element_get_clock (c.appsrc)) {
      now = gst_clock_get_time (clock) - gst_element_get_base_time (c.appsrc);
      gst_object_unref (clock);
    }
    GstClockTime dur = GST_BUFFER_DURATION_IS_VALID (packet) ? GST_BUFFER_DURATION (packet)
                                                            : 20 * GST_MSECOND;
    if (!GST_CLOCK_TIME_IS_VALID (c.track_base) || c.utterance != utterance ||
        (GST_CLOCK_TIME_IS_VALID (now) && now > c.track_next + 100 * GST_MSECOND)) {
      c.track_next = GST_CLOCK_TIME_IS_VALID (now) ? std::max (now, c.track_next) : c.track_next;
      c.track_base = c.track_next;
      c.utterance = utterance;
    }
    GstBuffer *out = gst_buffer_copy (packet);
    GST_BUFFER_PTS (out) = c.track_next;
    GST_BUFFER_DTS (out) = GST_CLOCK_TIME_NONE;
    GST_BUFFER_DURATION (out) = dur;
    c.track_next += dur;
    gsize size = gst_buffer_get_size (out);
    if (gst_app_src_push_buffer (src, out) == GST_FLOW_OK) {
      c.bytes += size;
      c.chunks++;
    }
  }

  void control (const std::string &stream, bool abort, GstClockTime at)
  {
    std::vector<std::shared_ptr<Client>> targets;
    std::uint64_t utterance;
    {
      std::lock_guard<std::mutex> l (m);
      auto it = streams.find (stream);
      if (it == streams.end () || !it->second.active)
        return;
      it->second.active = false;
      it->second.ended_at = at;
      utterance = it->second.utterance;
      targets = listeners (stream);
    }
    for (auto &c : targets) {
      std::lock_guard<std::mutex> l (c->m);
      if (!c->open || !c->channel || c->utterance != utterance || !channel_open (c->channel))
        continue;
      send_text (c->channel, abort ? build_utterance_abort (utterance)
                                   : build_utterance_end (utterance));
    }
  }
};

Server::Server (Config config, Events events)
    : impl_ (std::make_shared<Impl> (std::move (config), std::move (events)))
{
  rt::init_debug ();
  for (const std::string &uri : { impl_->cfg.stun_server, impl_->cfg.turn_server })
    if (!uri.empty ())
      if (auto s = ice_server_from_uri (uri))
        impl_->ice_servers.push_back (*s);
}

Server::~Server ()
{
  if (impl_->worker.is_current ()) {
    /* The last reference went from a handler on the server's own thread
     * (an application stopping its pipeline from client-connected): tear
     * down here, join the thread from another one once this dispatch has
     * returned. */
    impl_->shutdown ();
    std::thread ([impl = std::move (impl_)] () mutable { impl.reset (); }).detach ();
    return;
  }
  impl_->worker.run_sync ([this] { impl_->shutdown (); });
  /* Work posted by webrtcbin before its pipelines stopped runs out before
   * the last reference goes: none of it may end the Impl on its own thread. */
  impl_->worker.run_sync ([] {});
}

bool Server::start (std::string *error)
{
  /* The first page should not wait for the certificate. */
  rt::prewarm_dtls ();
  bool ok = false;
  impl_->worker.run_sync ([&] { ok = impl_->listen (error); });
  return ok;
}

int Server::bound_port () const
{
  return impl_->port;
}

void Server::deliver (const std::string &stream, GstBuffer *packet, int rate, int channels)
{
  std::vector<std::shared_ptr<Client>> targets;
  std::uint64_t utterance;
  {
    std::lock_guard<std::mutex> l (impl_->m);
    Impl::Stream &s = impl_->streams[stream];
    GstClockTime pts = GST_BUFFER_PTS (packet);
    bool trailing = !s.active && s.utterance && GST_CLOCK_TIME_IS_VALID (s.ended_at) &&
        GST_CLOCK_TIME_IS_VALID (pts) && pts < s.ended_at &&
        pts + kTrailingWindow >= s.ended_at;
    if (!s.active && !trailing) {
      s.active = true;
      s.utterance = ++impl_->next_utterance;
      s.ended_at = GST_CLOCK_TIME_NONE;
    }
    utterance = s.utterance;
    targets = impl_->listeners (stream);
  }
  if (targets.empty ())
    return;
  if (impl_->cfg.delivery == Delivery::Track) {
    for (auto &c : targets)
      impl_->deliver_track (*c, packet, utterance, rate, channels);
    return;
  }
  /* One copy of the packet for every page. */
  GstMapInfo map;
  if (!gst_buffer_map (packet, &map, GST_MAP_READ))
    return;
  GBytes *bytes = g_bytes_new (map.data, map.size);
  gst_buffer_unmap (packet, &map);
  for (auto &c : targets)
    impl_->deliver_channel (*c, bytes, utterance, rate, channels);
  g_bytes_unref (bytes);
}

void Server::end_utterance (const std::string &stream)
{
  impl_->control (stream, false, GST_CLOCK_TIME_NONE);
}

void Server::end_utterance_at (const std::string &stream, GstClockTime at)
{
  impl_->control (stream, false, at);
}

void Server::abort_utterance (const std::string &stream)
{
  impl_->control (stream, true, GST_CLOCK_TIME_NONE);
}

void Server::set_own_stream (const std::string &id, bool own)
{
  std::lock_guard<std::mutex> l (impl_->m);
  if (own)
    impl_->own_streams.insert (id);
  else
    impl_->own_streams.erase (id);
  auto it = impl_->clients.find (id);
  if (it != impl_->clients.end ())
    it->second->own_stream = own;
}

std::vector<ClientStats> Server::stats () const
{
  std::vector<std::shared_ptr<Client>> all;
  {
    std::lock_guard<std::mutex> l (impl_->m);
    for (auto &kv : impl_->clients)
      all.push_back (kv.second);
  }
  std::vector<ClientStats> out;
  for (auto &c : all) {
    ClientStats s;
    s.id = c->id;
    {
      std::lock_guard<std::mutex> l (impl_->m);
      s.own_stream = c->own_stream;
    }
    std::lock_guard<std::mutex> l (c->m);
    s.state = c->state;
    if (c->channel)
      g_object_get (c->channel, "buffered-amount", &s.buffered_amount, nullptr);
    else if (c->appsrc)
      s.buffered_amount = gst_app_src_get_current_level_bytes (GST_APP_SRC (c->appsrc));
    s.bytes_sent = c->bytes;
    s.receipts = c->receipts.load ();
    s.bad_receipts = c->bad_receipts.load ();
    if (s.receipts)
      s.unreceipted = c->bytes - std::min (c->receipted.load (), c->bytes);
    s.chunks_sent = c->chunks;
    s.drops = c->marks.dropped ();
    s.discontinuities = c->discontinuities;
    out.push_back (s);
  }
  return out;
}

Counters Server::counters () const
{
  std::lock_guard<std::mutex> l (impl_->m);
  return impl_->counters;
}

size_t Server::clients () const
{
  std::lock_guard<std::mutex> l (impl_->m);
  return impl_->clients.size ();
}

}  // namespace rt::broadcast
