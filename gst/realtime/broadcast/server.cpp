/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "server.h"

#include "call.h"
#include "core/debug.h"
#include "core/worker.h"
#include "signalling/browser_websocket.h"
#include "webrtc/peer.h"

#include <gst/app/gstappsrc.h>

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

/* Packets stamped this much before a gap still belong to the utterance the
 * gap ended (what the encoder held); older ones start a new one. */
constexpr GstClockTime kTrailingWindow = 100 * GST_MSECOND;

}  // namespace

/* One browser: one Peer, in a pipeline of its own, so that a client's
 * failure is that client's only, never the user's pipeline's. */
struct Client {
  std::string id;
  bool own_stream = false; /* under Impl::m */

  /* Worker thread only. */
  std::unique_ptr<Peer> peer;
  bool starting = false; /* within Peer::start() */
  bool answered = false; /* the page's answer went to the peer */

  /* Under m: what the streaming threads use. */
  std::mutex m;
  std::string state = "signalling";
  bool open = false;
  Peer *media = nullptr; /* the peer, while it takes packets */
  std::shared_ptr<DataChannel> channel;
  GstElement *input = nullptr; /* the track's appsrc (a reference) */
  Watermarks marks;
  std::uint64_t utterance = 0; /* whose start this page has */
  std::uint64_t bytes = 0, chunks = 0, discontinuities = 0;
  /* bytes, for the receipts; and receipts that made no sense. */
  std::atomic<std::uint64_t> sent { 0 }, bad_receipts { 0 };
  /* Receipts from the page (the bundled player sends them): 0 until the
   * first, so a page that never sends any is judged on buffered-amount. */
  std::atomic<std::uint64_t> receipted { 0 };
  std::atomic<bool> receipts { false };
  GstClockTime track_base = GST_CLOCK_TIME_NONE, track_first = 0,
               track_next = 0;
  int caps_rate = 0, caps_channels = 0;

  Client (std::uint64_t high, std::uint64_t low) : marks (high, low) {}
};

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  struct Stream {
    std::uint64_t utterance = 0;
    bool active = false;
    GstClockTime ended_at = GST_CLOCK_TIME_NONE;
  };

  Config cfg;
  Events events;
  std::unique_ptr<BrowserSignaller> signaller; /* worker */
  bool stopped = false;                        /* worker */

  mutable std::mutex m;
  std::map<std::string, std::shared_ptr<Client>> clients;
  std::set<std::string> own_streams;
  std::map<std::string, Stream> streams;
  std::uint64_t next_utterance = 0;
  std::uint64_t clients_total = 0;
  /* Last, so that it is destroyed first: its thread may still be running
   * work that uses the members above. */
  Worker worker;

  Impl (Config c, Events e)
      : cfg (std::move (c)), events (std::move (e)), worker ("broadcast")
  {
    BrowserSignallerConfig sc;
    sc.address = cfg.address;
    sc.port = cfg.port;
    sc.tls_certificate_file = cfg.tls_certificate_file;
    sc.tls_key_file = cfg.tls_key_file;
    sc.page = cfg.page;
    sc.stun_server = cfg.stun_server;
    sc.turn_server = cfg.turn_server;
    sc.max_sessions = cfg.max_clients;
    sc.name = cfg.name;
    signaller = std::make_unique<BrowserSignaller> (std::move (sc));
  }

  std::shared_ptr<Client> find (const std::string &id) const
  {
    std::lock_guard<std::mutex> l (m);
    auto it = clients.find (id);
    return it != clients.end () ? it->second : nullptr;
  }

  /* The client a peer's event is about, if it is still this server's. */
  std::shared_ptr<Client> still (const std::weak_ptr<Client> &weak) const
  {
    auto c = weak.lock ();
    return c && find (c->id) == c ? c : nullptr;
  }

  /* ---- signalling: the signaller's sessions are the pages (worker) ---- */

  void connect_signaller ()
  {
    Signaller::Handlers h;
    h.session_requested = [this] (const std::string &id,
                              const std::optional<SessionDescription> &) {
      add_client (id);
    };
    h.remote_description = [this] (const std::string &id,
                               const SessionDescription &answer,
                               const std::string &) {
      if (auto c = find (id)) {
        c->answered = true;
        if (c->peer)
          c->peer->set_remote_description (answer.type, answer.sdp);
      }
    };
    h.remote_candidate = [this] (const std::string &id, unsigned mline,
                             const std::string &candidate) {
      if (auto c = find (id))
        if (c->peer)
          c->peer->add_remote_candidate (mline, candidate);
    };
    h.session_ended = [this] (const std::string &id, const Fault &fault) {
      if (auto c = find (id))
        drop (c, fault.error.message);
    };
    signaller->set_handlers (std::move (h));
  }

  void add_client (const std::string &id)
  {
    auto c = std::make_shared<Client> (cfg.high_watermark, cfg.low_watermark);
    c->id = id;
    {
      std::lock_guard<std::mutex> l (m);
      c->own_stream = own_streams.count (c->id) > 0;
      clients[c->id] = c;
      clients_total++;
    }
    if (events.connected)
      events.connected (c->id);
    /* The handler may have stopped the element, or the page gone. */
    if (stopped || find (c->id) != c)
      return;
    /* A page that never completes the exchange (or a socket that only
     * occupies a slot) is let go. */
    std::weak_ptr<Client> weak = c;
    worker.post_after (kSetupTimeoutMs, [self = weak_from_this (), weak] {
      auto s = self.lock ();
      auto client = s ? s->still (weak) : nullptr;
      if (!client)
        return;
      std::unique_lock<std::mutex> l (client->m);
      if (client->state == "connected")
        return;
      l.unlock ();
      s->drop (client, "not connected in time");
    });
    if (!start_peer (c)) {
      signaller->report (c->id, "internal",
          "the server could not set up a peer connection");
      if (events.warning)
        events.warning (
            "could not set up a peer connection (webrtcbin, appsrc or "
            "rtpopuspay missing, or the data channel refused)");
      drop (c, "setup failed");
    }
  }

  /* ---- one Peer per page (worker) ---- */

  bool start_peer (const std::shared_ptr<Client> &c)
  {
    PeerConfig pc;
    pc.name = "broadcast-" + c->id;
    pc.role = PeerRole::Offerer;
    pc.stun_server = cfg.stun_server;
    pc.turn_server = cfg.turn_server;
    if (cfg.delivery == Delivery::Track) {
      pc.audio.direction = AudioDirection::SendOnly;
      pc.audio.codec = AudioCodec::Opus;
      /* The element's Opus packets, only payloaded; deliver_track() stamps
       * them on the peer's clock, so they keep their own timestamps. */
      pc.audio.input_caps = "audio/x-opus";
      pc.audio.stamp_input = false;
    } else {
      pc.audio.direction = AudioDirection::None;
      pc.channels = { cfg.channel_label };
    }
    std::weak_ptr<Client> weak = c;
    Peer::Events ev;
    ev.local_description = [this, weak] (GstWebRTCSDPType type,
                               const std::string &sdp) {
      if (auto c = still (weak))
        signaller->send_description (c->id, SessionDescription { type, sdp });
    };
    ev.local_candidate = [this, weak] (unsigned mline,
                             const std::string &candidate) {
      if (auto c = still (weak))
        signaller->send_candidate (c->id, mline, candidate);
    };
    ev.connection_state = [this, weak] (GstWebRTCPeerConnectionState state) {
      if (auto c = still (weak))
        peer_state (c, state);
    };
    ev.error = [this, weak] (const PeerError &error) {
      auto c = still (weak);
      /* A peer that cannot start says so to add_client(). */
      if (!c || c->starting)
        return;
      if (error.kind == PeerError::Kind::Negotiation && c->answered) {
        signaller->report (c->id, "invalid-sdp", "the answer was refused");
        drop (c, "answer refused");
      } else {
        drop (c, error.message);
      }
    };
    c->peer = std::make_unique<Peer> (worker, std::move (pc), std::move (ev));
    c->starting = true;
    bool started = c->peer->start ();
    c->starting = false;
    if (!started)
      return false;

    std::shared_ptr<DataChannel> channel;
    if (cfg.delivery == Delivery::DataChannel) {
      channel = c->peer->channel (cfg.channel_label);
      if (!channel)
        return false;
      channel->set_buffered_amount_low_threshold (cfg.low_watermark);
      channel->on_open = [this, weak] {
        if (auto c = still (weak)) {
          std::lock_guard<std::mutex> l (c->m);
          c->open = true;
          GST_INFO ("client %s: audio channel open", c->id.c_str ());
        }
      };
      channel->on_close = [this, weak] {
        if (auto c = still (weak))
          drop (c, "the audio channel closed");
      };
      channel->on_error = [this, weak] (const std::string &error) {
        if (auto c = still (weak))
          drop (c, "the audio channel failed: " + error);
      };
      channel->on_text = [weak] (const std::string &text) {
        if (auto c = weak.lock ())
          receipt (*c, text);
      };
    }
    GstElement *input = c->peer->ref_audio_input ();
    if (cfg.delivery == Delivery::Track && !input)
      return false;
    {
      std::lock_guard<std::mutex> l (c->m);
      c->media = c->peer.get ();
      c->channel = channel;
      c->input = input;
    }
    c->peer->create_offer ();
    return true;
  }

  /* A receipt for more than was sent (a page counting across reconnects,
   * say) says nothing: it is ignored, not clamped. */
  static void receipt (Client &c, const std::string &text)
  {
    auto bytes = parse_receipt (text.data (), text.size ());
    if (bytes && *bytes <= c.sent.load ()) {
      c.receipted.store (*bytes);
      c.receipts.store (true);
    } else {
      c.bad_receipts++;
    }
  }

  void peer_state (const std::shared_ptr<Client> &c,
      GstWebRTCPeerConnectionState state)
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
      default: break;
    }
  }

  void release_media (Client &c)
  {
    std::shared_ptr<DataChannel> channel;
    GstElement *input;
    {
      std::lock_guard<std::mutex> l (c.m);
      c.open = false;
      c.media = nullptr;
      channel = std::move (c.channel);
      input = c.input;
      c.input = nullptr;
    }
    if (channel)
      channel->close ();
    if (input)
      gst_object_unref (input);
    if (c.peer) {
      c.peer->stop ();
      /* Freed later: this may run inside one of the peer's own events. */
      worker.post ([peer = std::shared_ptr<Peer> (std::move (c.peer))] {});
    }
  }

  /* Ends a client: everything it held is released here, whatever ended it
   * (the page closed, its socket died, its peer connection failed). */
  void drop (const std::shared_ptr<Client> &c, const std::string &why,
      bool notify = true)
  {
    {
      std::lock_guard<std::mutex> l (m);
      auto it = clients.find (c->id);
      if (it == clients.end () || it->second != c)
        return;
      clients.erase (it);
    }
    GST_INFO ("client %s: gone (%s)", c->id.c_str (), why.c_str ());
    signaller->end_session (c->id);
    release_media (*c);
    if (notify && events.disconnected)
      events.disconnected (c->id);
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
    signaller->stop ([] {});
  }

  /* ---- media (streaming threads) ---- */

  std::vector<std::shared_ptr<Client>> listeners (
      const std::string &stream) const
  {
    std::vector<std::shared_ptr<Client>> out;
    for (auto &kv : clients)
      if ((kv.second->own_stream ? kv.first : std::string ()) == stream)
        out.push_back (kv.second);
    return out;
  }

  /* packet: the Opus packet as bytes, shared by every page it goes to. */
  void deliver_channel (Client &c, GBytes *packet, std::uint64_t utterance,
      int rate, int channels)
  {
    const gsize size = g_bytes_get_size (packet);
    std::lock_guard<std::mutex> l (c.m);
    /* A page that just went away: its channel closes before the worker
     * has let the client go. */
    if (!c.open || !c.channel || !c.channel->is_open ())
      return;
    /* What the page is behind: queued here, or sent and not receipted. */
    std::uint64_t behind = c.channel->buffered_amount ();
    if (c.receipts.load ())
      behind = std::max<std::uint64_t> (behind,
          c.bytes - std::min (c.receipted.load (), c.bytes));
    if (!c.marks.admit (behind, size))
      return;
    std::uint64_t dropped = c.marks.take_dropped_run ();
    /* Sent under the client's lock: the page sees start, chunks and end in
     * order even when the utterance ends on another thread. */
    if (c.utterance != utterance) {
      c.utterance = utterance;
      c.channel->send_text (build_utterance_start (utterance, "opus", rate,
          channels, g_get_real_time () / 1000));
    } else if (dropped) {
      c.discontinuities++;
      c.channel->send_text (build_discontinuity (utterance, dropped));
    }
    if (c.channel->send_bytes (packet)) {
      c.bytes += size;
      c.sent.store (c.bytes);
      c.chunks++;
    }
  }

  void deliver_track (Client &c, GstBuffer *packet, std::uint64_t utterance,
      int rate, int channels)
  {
    std::lock_guard<std::mutex> l (c.m);
    if (!c.open || !c.input || !c.media)
      return;
    GstAppSrc *src = GST_APP_SRC (c.input);
    if (gst_app_src_get_current_level_time (src) > kTrackQueueLimit) {
      c.marks.drop ();
      return;
    }
    if (c.caps_rate != rate || c.caps_channels != channels) {
      GstCaps *caps = gst_caps_new_simple ("audio/x-opus", "rate", G_TYPE_INT,
          rate, "channels", G_TYPE_INT, channels, "channel-mapping-family",
          G_TYPE_INT, 0, nullptr);
      gst_app_src_set_caps (src, caps);
      gst_caps_unref (caps);
      c.caps_rate = rate;
      c.caps_channels = channels;
    }
    /* The peer pipeline's own running time, advanced by the packets'
     * durations: RTP timestamps stay regular whatever the push jitter. */
    GstClockTime now = GST_CLOCK_TIME_NONE;
    if (GstClock *clock = gst_element_get_clock (c.input)) {
      now = gst_clock_get_time (clock) - gst_element_get_base_time (c.input);
      gst_object_unref (clock);
    }
    GstClockTime dur = GST_BUFFER_DURATION_IS_VALID (packet) ?
        GST_BUFFER_DURATION (packet) :
        20 * GST_MSECOND;
    if (!GST_CLOCK_TIME_IS_VALID (c.track_base) || c.utterance != utterance ||
        (GST_CLOCK_TIME_IS_VALID (now) &&
            now > c.track_next + 100 * GST_MSECOND)) {
      c.track_next = GST_CLOCK_TIME_IS_VALID (now) ?
          std::max (now, c.track_next) :
          c.track_next;
      c.track_base = c.track_next;
      c.utterance = utterance;
    }
    GstBuffer *out = gst_buffer_copy (packet);
    GST_BUFFER_PTS (out) = c.track_next;
    GST_BUFFER_DTS (out) = GST_CLOCK_TIME_NONE;
    GST_BUFFER_DURATION (out) = dur;
    c.track_next += dur;
    gsize size = gst_buffer_get_size (out);
    if (c.media->push_audio (out)) {
      c.bytes += size;
      c.chunks++;
    }
    gst_buffer_unref (out);
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
      if (!c->open || !c->channel || c->utterance != utterance ||
          !c->channel->is_open ())
        continue;
      c->channel->send_text (abort ? build_utterance_abort (utterance) :
                                     build_utterance_end (utterance));
    }
  }
};

Server::Server (Config config, Events events)
    : impl_ (std::make_shared<Impl> (std::move (config), std::move (events)))
{
  rt::init_debug ();
}

Server::~Server ()
{
  if (impl_->worker.is_current ()) {
    /* The last reference went from a handler on the server's own thread
     * (an application stopping its pipeline from client-connected): tear
     * down here, join the thread from another one once this dispatch has
     * returned. */
    impl_->shutdown ();
    std::thread ([impl = std::move (impl_)] () mutable {
      impl.reset ();
    }).detach ();
    return;
  }
  impl_->worker.run_sync ([this] { impl_->shutdown (); });
  /* Work the peers posted before they stopped runs out before the last
   * reference goes: none of it may end the Impl on its own thread. */
  impl_->worker.run_sync ([] {});
}

bool Server::start (std::string *error)
{
  /* The first page should not wait for the certificate. */
  rt::prewarm_webrtc ();
  bool ok = false;
  impl_->worker.run_sync ([&] {
    impl_->connect_signaller ();
    ok = impl_->signaller->listen (error);
    if (ok)
      impl_->signaller->start ();
  });
  return ok;
}

int Server::bound_port () const
{
  return impl_->signaller->port ();
}
void Server::deliver (const std::string &stream, GstBuffer *packet, int rate,
    int channels)
{
  std::vector<std::shared_ptr<Client>> targets;
  std::uint64_t utterance;
  {
    std::lock_guard<std::mutex> l (impl_->m);
    Impl::Stream &s = impl_->streams[stream];
    GstClockTime pts = GST_BUFFER_PTS (packet);
    bool trailing = !s.active && s.utterance &&
        GST_CLOCK_TIME_IS_VALID (s.ended_at) && GST_CLOCK_TIME_IS_VALID (pts) &&
        pts < s.ended_at && pts + kTrailingWindow >= s.ended_at;
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
      s.buffered_amount = c->channel->buffered_amount ();
    else if (c->input)
      s.buffered_amount = gst_app_src_get_current_level_bytes (
          GST_APP_SRC (c->input));
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
  Counters n;
  {
    std::lock_guard<std::mutex> l (impl_->m);
    n.clients_total = impl_->clients_total;
  }
  auto signalling = impl_->signaller->counters ();
  n.clients_refused = signalling["refused"];
  n.signalling_errors = signalling["signalling-errors"];
  return n;
}

size_t Server::clients () const
{
  std::lock_guard<std::mutex> l (impl_->m);
  return impl_->clients.size ();
}

}  // namespace rt::broadcast
