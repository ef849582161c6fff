/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "webrtc/peer.h"

#include "core/debug.h"
#include "webrtc/prewarm.h"
#include "webrtc/guard.h"
#include "webrtc/sdp.h"

#include <gst/app/gstappsink.h>
#include <gst/sdp/sdp.h>

#include <chrono>

#define GST_CAT_DEFAULT rt_peer_debug

namespace rt {

using namespace peer_internal;

namespace {

const char *type_name (GstWebRTCSDPType type)
{
  return type == GST_WEBRTC_SDP_TYPE_OFFER ? "offer" : "answer";
}

/* A stream's first packet passes the jitter buffer at once (see
 * PeerConfig::start_at_first_packet). */
void start_at_first_packet (GstBin *, GstBin *, GstElement *element, gpointer)
{
  GstElementFactory *factory = gst_element_get_factory (element);
  if (factory && g_str_equal (GST_OBJECT_NAME (factory), "rtpjitterbuffer") &&
      g_object_class_find_property (G_OBJECT_GET_CLASS (element),
          "faststart-min-packets"))
    g_object_set (element, "faststart-min-packets", 1u, nullptr);
}

}  // namespace

Peer::Peer (Worker &worker, PeerConfig config, Events events)
    : worker_ (worker), config_ (std::move (config)),
      events_ (std::move (events)), guard_ (std::make_shared<PeerGuard> ())
{
  guard_->worker = &worker_;
  guard_->peer = this;
}

Peer::~Peer ()
{
  stop ();
}

bool Peer::start ()
{
  auto fail = [this] (PeerError::Kind kind, const std::string &message) {
    GST_WARNING ("peer %s: %s", config_.name.c_str (), message.c_str ());
    if (events_.error)
      events_.error (PeerError { kind, message });
    return false;
  };
  /* The certificate is being made meanwhile (and OpenSSL told how to
   * exit); webrtcbin itself makes no DTLS element until it has a
   * transceiver. */
  prewarm_webrtc ();
  webrtc_ = gst_element_factory_make ("webrtcbin", "webrtc");
  if (!webrtc_)
    return fail (PeerError::Kind::Missing,
        "missing GStreamer element(s): webrtcbin");
  pipeline_ = gst_pipeline_new (config_.name.c_str ());
  gst_bin_add (GST_BIN (pipeline_), webrtc_);
  g_object_set (webrtc_, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE,
      "latency", config_.latency_ms, nullptr);
  if (config_.start_at_first_packet)
    g_signal_connect (webrtc_, "deep-element-added",
        G_CALLBACK (start_at_first_packet), nullptr);
  if (!config_.stun_server.empty ())
    g_object_set (webrtc_, "stun-server", config_.stun_server.c_str (),
        nullptr);
  if (!config_.turn_server.empty ())
    g_object_set (webrtc_, "turn-server", config_.turn_server.c_str (),
        nullptr);
  tune_ice ();
  /* Its first transport would make the process's certificate itself, on a
   * new key: the one on the kept key first. */
  await_dtls_certificate ();
  if (!build_sender ())
    return false;
  connect_signals ();

  GstBus *bus = gst_pipeline_get_bus (GST_PIPELINE (pipeline_));
  GSource *watch = gst_bus_create_watch (bus);
  g_source_set_callback (watch, (GSourceFunc) (void (*) ()) bus_cb,
      hold (guard_), release);
  bus_watch_ = g_source_attach (watch, worker_.context ());
  g_source_unref (watch);
  gst_object_unref (bus);

  if (!config_.channels.empty ()) {
    gst_element_set_state (pipeline_, GST_STATE_READY);
    for (const auto &label : config_.channels)
      if (!create_data_channel (label))
        return fail (PeerError::Kind::Missing,
            "webrtcbin refused to create the " + label + " data channel");
  }
  if (gst_element_set_state (pipeline_, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE)
    return fail (PeerError::Kind::Pipeline,
        "the peer's pipeline did not start");
  return true;
}

/* libnice's defaults cost a call hundreds of milliseconds: a 200 ms UPnP
 * wait while gathering and 20 ms pacing of the connectivity checks. */
void Peer::tune_ice ()
{
  GObject *ice = nullptr;
  g_object_get (webrtc_, "ice-agent", &ice, nullptr);
  if (!ice)
    return;
  if (!config_.ice_tcp &&
      g_object_class_find_property (G_OBJECT_GET_CLASS (ice), "ice-tcp"))
    g_object_set (ice, "ice-tcp", FALSE, nullptr);
  GObject *agent = nullptr;
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (ice), "agent"))
    g_object_get (ice, "agent", &agent, nullptr);
  if (agent) {
    if (g_object_class_find_property (G_OBJECT_GET_CLASS (agent), "upnp"))
      g_object_set (agent, "upnp", FALSE, nullptr);
    if (g_object_class_find_property (G_OBJECT_GET_CLASS (agent),
            "stun-pacing-timer"))
      g_object_set (agent, "stun-pacing-timer", 5u, nullptr);
    g_object_unref (agent);
  }
  for (const auto &address : config_.local_addresses) {
    gboolean added = FALSE;
    g_signal_emit_by_name (ice, "add-local-ip-address", address.c_str (),
        &added);
    if (!added)
      GST_WARNING ("peer %s: ICE cannot gather on %s", config_.name.c_str (),
          address.c_str ());
  }
  g_object_unref (ice);
}

void Peer::connect_signals ()
{
  struct {
    const char *signal;
    GCallback cb;
  } const signals[] = {
    { "on-ice-candidate", G_CALLBACK (candidate_cb) },
    { "notify::ice-gathering-state", G_CALLBACK (gathering_cb) },
    { "notify::ice-connection-state", G_CALLBACK (ice_state_cb) },
    { "notify::connection-state", G_CALLBACK (connection_state_cb) },
    { "on-data-channel", G_CALLBACK (data_channel_cb) },
    { "pad-added", G_CALLBACK (pad_added_cb) },
  };
  for (const auto &s : signals)
    handlers_.push_back (g_signal_connect_data (webrtc_, s.signal, s.cb,
        hold (guard_), release_closure, GConnectFlags (0)));
}

void Peer::stop ()
{
  if (stopped_)
    return;
  stopped_ = true;
  if (te_stop_)
    worker_.cancel_timeout (te_stop_);
  te_stop_ = 0;
  te_queue_.clear ();
  {
    std::lock_guard<std::mutex> l (guard_->lock);
    guard_->peer = nullptr;
  }
  release_input ();
  {
    std::unique_lock<std::mutex> l (guard_->stats_lock);
    if (!guard_->stats_cv.wait_for (l, std::chrono::milliseconds (500),
            [this] { return guard_->stats_in_flight == 0; }))
      GST_WARNING ("peer %s: webrtcbin did not answer get-stats",
          config_.name.c_str ());
  }
  for (auto &c : channels_)
    c->disconnect ();
  channels_.clear ();
  if (pipeline_)
    gst_element_set_state (pipeline_, GST_STATE_NULL);
  if (bus_watch_) {
    if (GSource *s = g_main_context_find_source_by_id (worker_.context (),
            bus_watch_))
      g_source_destroy (s);
    bus_watch_ = 0;
  }
  for (gulong id : handlers_)
    g_signal_handler_disconnect (webrtc_, id);
  handlers_.clear ();
  if (pipeline_)
    gst_object_unref (pipeline_);
  pipeline_ = nullptr;
  webrtc_ = nullptr;
  te_src_ = nullptr;
}

std::shared_ptr<DataChannel> Peer::create_data_channel (
    const std::string &label, bool ordered)
{
  if (!webrtc_ || stopped_)
    return nullptr;
  GstStructure *opts = gst_structure_new ("options", "ordered", G_TYPE_BOOLEAN,
      ordered ? TRUE : FALSE, nullptr);
  GstWebRTCDataChannel *ch = nullptr;
  g_signal_emit_by_name (webrtc_, "create-data-channel", label.c_str (), opts,
      &ch);
  gst_structure_free (opts);
  if (!ch)
    return nullptr;
  std::shared_ptr<DataChannel> dc (new DataChannel (ch, guard_));
  g_object_unref (ch);
  dc->connect ();
  channels_.push_back (dc);
  return dc;
}

std::shared_ptr<DataChannel> Peer::channel (const std::string &label) const
{
  for (const auto &c : channels_)
    if (c->label () == label)
      return c;
  return nullptr;
}

void Peer::create_offer ()
{
  if (!webrtc_ || stopped_)
    return;
  GstPromise *promise = gst_promise_new_with_change_func (offer_created_cb,
      hold (guard_), release);
  g_signal_emit_by_name (webrtc_, "create-offer", nullptr, promise);
}

void Peer::described (GstWebRTCSessionDescription *desc)
{
  if (!webrtc_)
    return;
  gchar *text = gst_sdp_message_as_text (desc->sdp);
  local_sdp_ = with_telephone_events (desc->type, text);
  local_type_ = desc->type;
  GstSDPMessage *edited = nullptr;
  if (local_sdp_ != text &&
      gst_sdp_message_new_from_text (local_sdp_.c_str (), &edited) ==
          GST_SDP_OK) {
    GstWebRTCSessionDescription *own = gst_webrtc_session_description_new (
        desc->type, edited);
    g_signal_emit_by_name (webrtc_, "set-local-description", own, nullptr);
    gst_webrtc_session_description_free (own);
  } else {
    if (edited)
      gst_sdp_message_free (edited);
    local_sdp_ = text;
    g_signal_emit_by_name (webrtc_, "set-local-description", desc, nullptr);
  }
  g_free (text);
  GST_DEBUG ("peer %s: local %s set", config_.name.c_str (),
      type_name (desc->type));
  if (events_.local_description)
    events_.local_description (desc->type, local_sdp_);
}

/* A promise that makes a description: its reply is read on webrtcbin's
 * thread, the description set on the worker. */
void Peer::take_description (GstPromise *promise, gpointer data,
    const char *field)
{
  GuardRef g = *static_cast<GuardRef *> (data);
  GstWebRTCSessionDescription *desc = nullptr;
  /* Interrupted (teardown) or expired promises have no reply to read. */
  if (gst_promise_wait (promise) == GST_PROMISE_RESULT_REPLIED) {
    if (const GstStructure *reply = gst_promise_get_reply (promise))
      gst_structure_get (reply, field, GST_TYPE_WEBRTC_SESSION_DESCRIPTION,
          &desc, nullptr);
  }
  /* The user data goes with the promise's last reference: copied first. */
  gst_promise_unref (promise);
  std::shared_ptr<GstWebRTCSessionDescription> holder (desc, [] (auto *d) {
    if (d)
      gst_webrtc_session_description_free (d);
  });
  std::string what = field;
  post (g, [holder, what] (Peer &p) {
    if (holder)
      p.described (holder.get ());
    else
      p.fail (PeerError { PeerError::Kind::Negotiation,
          "webrtcbin could not create an " + what });
  });
}

void Peer::offer_created_cb (GstPromise *promise, gpointer data)
{
  take_description (promise, data, "offer");
}

void Peer::answer_created_cb (GstPromise *promise, gpointer data)
{
  take_description (promise, data, "answer");
}

void Peer::set_remote_description (GstWebRTCSDPType type,
    const std::string &sdp)
{
  if (!webrtc_ || stopped_)
    return;
  GstSDPMessage *msg = nullptr;
  if (gst_sdp_message_new_from_text (sdp.c_str (), &msg) != GST_SDP_OK) {
    if (msg)
      gst_sdp_message_free (msg);
    fail (PeerError { PeerError::Kind::Negotiation,
        std::string ("the remote ") + type_name (type) +
            " could not be parsed as SDP" });
    return;
  }
  remote_telephone_events (type, sdp);
  GstWebRTCSessionDescription *desc = gst_webrtc_session_description_new (type,
      msg);
  auto *step = new std::pair<GuardRef, GstWebRTCSDPType> (guard_, type);
  GstPromise *promise = gst_promise_new_with_change_func (remote_set_cb, step,
      [] (gpointer d) {
        delete static_cast<std::pair<GuardRef, GstWebRTCSDPType> *> (d);
      });
  g_signal_emit_by_name (webrtc_, "set-remote-description", desc, promise);
  gst_webrtc_session_description_free (desc);
}

void Peer::remote_set_cb (GstPromise *promise, gpointer data)
{
  auto step = *static_cast<std::pair<GuardRef, GstWebRTCSDPType> *> (data);
  GError *error = nullptr;
  bool replied = gst_promise_wait (promise) == GST_PROMISE_RESULT_REPLIED;
  if (replied) {
    const GstStructure *reply = gst_promise_get_reply (promise);
    if (reply && gst_structure_has_field (reply, "error"))
      gst_structure_get (reply, "error", G_TYPE_ERROR, &error, nullptr);
  }
  gst_promise_unref (promise);
  if (!replied)
    return;
  std::string message;
  if (error) {
    message = std::string ("webrtcbin rejected the ") +
        type_name (step.second) + ": " + error->message;
    g_error_free (error);
  }
  const GstWebRTCSDPType type = step.second;
  post (step.first, [message, type] (Peer &p) {
    if (!message.empty ()) {
      p.fail (PeerError { PeerError::Kind::Negotiation, message });
      return;
    }
    if (p.events_.remote_description_set)
      p.events_.remote_description_set ();
    if (type == GST_WEBRTC_SDP_TYPE_OFFER && p.webrtc_) {
      GstPromise *answer = gst_promise_new_with_change_func (answer_created_cb,
          hold (p.guard_), release);
      g_signal_emit_by_name (p.webrtc_, "create-answer", nullptr, answer);
    }
  });
}

void Peer::add_remote_candidate (unsigned mline, const std::string &candidate)
{
  if (!webrtc_ || stopped_ || candidate.empty ())
    return;
  g_signal_emit_by_name (webrtc_, "add-ice-candidate", mline,
      candidate.c_str ());
}

std::string Peer::local_description_with_candidates () const
{
  std::lock_guard<std::mutex> l (guard_->lock);
  return sdp_with_candidates (local_sdp_, guard_->candidates);
}

bool Peer::gathering_done () const
{
  std::lock_guard<std::mutex> l (guard_->lock);
  return guard_->gathering_done;
}

void Peer::candidate_cb (GstElement *, guint mline, gchar *candidate,
    gpointer data)
{
  const GuardRef &g = *static_cast<GuardRef *> (data);
  std::string text (candidate ? candidate : "");
  {
    std::lock_guard<std::mutex> l (g->lock);
    g->candidates.push_back (text);
  }
  post (g, [mline, text] (Peer &p) {
    if (p.events_.local_candidate)
      p.events_.local_candidate (mline, text);
  });
}

void Peer::gathering_cb (GstElement *webrtc, GParamSpec *, gpointer data)
{
  const GuardRef &g = *static_cast<GuardRef *> (data);
  GstWebRTCICEGatheringState state;
  g_object_get (webrtc, "ice-gathering-state", &state, nullptr);
  if (state != GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
    return;
  {
    std::lock_guard<std::mutex> l (g->lock);
    g->gathering_done = true;
  }
  post (g, [] (Peer &p) {
    if (p.events_.gathering_done)
      p.events_.gathering_done ();
  });
}

void Peer::ice_state_cb (GstElement *webrtc, GParamSpec *, gpointer data)
{
  GstWebRTCICEConnectionState state;
  g_object_get (webrtc, "ice-connection-state", &state, nullptr);
  post (*static_cast<GuardRef *> (data), [state] (Peer &p) {
    GST_DEBUG ("peer %s: ICE state %d", p.config_.name.c_str (), state);
    if (p.events_.ice_state)
      p.events_.ice_state (state);
  });
}

void Peer::connection_state_cb (GstElement *webrtc, GParamSpec *, gpointer data)
{
  GstWebRTCPeerConnectionState state;
  g_object_get (webrtc, "connection-state", &state, nullptr);
  post (*static_cast<GuardRef *> (data), [state] (Peer &p) {
    GST_DEBUG ("peer %s: connection state %d", p.config_.name.c_str (), state);
    GEnumClass *states = G_ENUM_CLASS (
        g_type_class_ref (GST_TYPE_WEBRTC_PEER_CONNECTION_STATE));
    GEnumValue *v = g_enum_get_value (states, state);
    p.dump_dot (v ? v->value_nick : "connection-state");
    g_type_class_unref (states);
    if (p.events_.connection_state)
      p.events_.connection_state (state);
  });
}

void Peer::data_channel_cb (GstElement *, GstWebRTCDataChannel *channel,
    gpointer data)
{
  const GuardRef &g = *static_cast<GuardRef *> (data);
  std::shared_ptr<DataChannel> dc (new DataChannel (channel, g));
  /* Announced before its own events, which are connected at once so that
   * none is lost: a channel the far end opened may be open already. */
  post (g, [dc] (Peer &p) {
    p.channels_.push_back (dc);
    if (p.events_.data_channel)
      p.events_.data_channel (dc);
  });
  dc->connect ();
  dc->announce_if_open ();
}

void Peer::pad_added_cb (GstElement *, GstPad *pad, gpointer data)
{
  if (GST_PAD_DIRECTION (pad) != GST_PAD_SRC)
    return;
  const GuardRef &g = *static_cast<GuardRef *> (data);
  /* Under the lock: no new branch in a pipeline that is being stopped. */
  {
    std::lock_guard<std::mutex> l (g->lock);
    if (!g->peer)
      return;
    g->peer.load ()->add_receiver (pad);
  }
  /* post() takes the guard's lock itself. */
  post (g, [] (Peer &p) { p.dump_dot ("receiving"); });
}

void Peer::dump_dot (const char *what) const
{
  if (!pipeline_ || !g_getenv ("GST_DEBUG_DUMP_DOT_DIR"))
    return;
  /* The name goes into a file name: a call's peer is named after its call
   * ("realtime-call-1/default-1"). */
  std::string name = config_.name + "." + what;
  for (char &c : name)
    if (!g_ascii_isalnum (c) && c != '-' && c != '.' && c != '_')
      c = '_';
  GST_DEBUG_BIN_TO_DOT_FILE_WITH_TS (GST_BIN (pipeline_),
      GST_DEBUG_GRAPH_SHOW_ALL, name.c_str ());
}

gboolean Peer::bus_cb (GstBus *, GstMessage *msg, gpointer data)
{
  const GuardRef &g = *static_cast<GuardRef *> (data);
  if (!g->peer)
    return G_SOURCE_CONTINUE;
  Peer &p = *g->peer.load ();
  /* rtpdtmfdepay's word for an event that starts. */
  int event = -1;
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT &&
      gst_message_has_name (msg, "dtmf-event") &&
      gst_structure_get_int (gst_message_get_structure (msg), "number",
          &event)) {
    if (p.events_.telephone_event)
      p.events_.telephone_event (event);
    return G_SOURCE_CONTINUE;
  }
  if (GST_MESSAGE_TYPE (msg) != GST_MESSAGE_ERROR)
    return G_SOURCE_CONTINUE;
  GError *err = nullptr;
  gchar *dbg = nullptr;
  gst_message_parse_error (msg, &err, &dbg);
  const char *source = GST_OBJECT_NAME (GST_MESSAGE_SRC (msg));
  GST_WARNING ("peer %s: internal error from %s: %s (%s)",
      p.config_.name.c_str (), source, err->message, dbg ? dbg : "");
  const bool dtls = g_str_has_prefix (source, "dtls");
  std::string message = std::string (dtls ? "DTLS error: " :
                                            "internal pipeline error: ") +
      err->message;
  g_error_free (err);
  g_free (dbg);
  p.fail (PeerError { dtls ? PeerError::Kind::Dtls : PeerError::Kind::Pipeline,
      message });
  return G_SOURCE_CONTINUE;
}

void Peer::fail (const PeerError &error)
{
  if (events_.error)
    events_.error (error);
}

void Peer::request_stats (std::function<void (const PeerStats &)> done)
{
  if (!webrtc_ || stopped_)
    return;
  {
    std::lock_guard<std::mutex> l (guard_->stats_lock);
    guard_->stats_in_flight++;
  }
  auto *step =
      new std::pair<GuardRef, std::function<void (const PeerStats &)>> (guard_,
          std::move (done));
  GstPromise *promise = gst_promise_new_with_change_func (stats_cb, step,
      [] (gpointer d) {
        delete static_cast<
            std::pair<GuardRef, std::function<void (const PeerStats &)>> *> (d);
      });
  g_signal_emit_by_name (webrtc_, "get-stats", nullptr, promise);
  gst_promise_unref (promise);
}

void Peer::stats_cb (GstPromise *promise, gpointer data)
{
  auto &step = *static_cast<
      std::pair<GuardRef, std::function<void (const PeerStats &)>> *> (data);
  GuardRef g = step.first;
  const bool replied = gst_promise_wait (promise) == GST_PROMISE_RESULT_REPLIED;
  const GstStructure *reply = replied ? gst_promise_get_reply (promise) :
                                        nullptr;
  /* Interrupted by a teardown: nothing to read. */
  if (reply) {
    PeerStats sampled = read_peer_stats (reply);
    auto done = step.second;
    post (g, [done, sampled] (Peer &) { done (sampled); });
  }
  /* Last: once the count is down, a teardown may go on and the peer be
   * freed. */
  std::lock_guard<std::mutex> l (g->stats_lock);
  g->stats_in_flight--;
  g->stats_cv.notify_all ();
}

}  // namespace rt
