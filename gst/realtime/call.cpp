#include "call.h"

#include "debug.h"
#include "redact.h"
#include "signalling/openai_http.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>

#define GST_CAT_DEFAULT rt_call_debug

namespace rt {

namespace {

/* webrtcbin 1.22.0 puts no a=max-message-size in its offers, so 64 KiB is
 * the limit both ways unless the answer asks for less; larger strings are
 * silently dropped by send_string, so they are refused here. */
constexpr gsize kDefaultMaxMessage = 65536;

/* True for http://127.x.x.x, localhost and [::1] bases. */
bool is_loopback_base (const std::string &base)
{
  GUri *uri = g_uri_parse (base.c_str (), G_URI_FLAGS_NONE, nullptr);
  if (!uri)
    return false;
  std::string host = g_uri_get_host (uri) ? g_uri_get_host (uri) : "";
  g_uri_unref (uri);
  return host == "localhost" || host == "::1" || host.rfind ("127.", 0) == 0;
}

std::mutex registry_lock;
std::map<std::string, std::weak_ptr<Call>> registry;

gsize max_message_size_of (const std::string &sdp)
{
  const std::string attr = "a=max-message-size:";
  auto at = sdp.find (attr);
  if (at == std::string::npos)
    return kDefaultMaxMessage;
  guint64 v = g_ascii_strtoull (sdp.c_str () + at + attr.size (), nullptr, 10);
  return v > 0 && v < kDefaultMaxMessage ? v : kDefaultMaxMessage;
}

}  // namespace

void prewarm_dtls ()
{
  static std::once_flag once;
  std::call_once (once, [] {
    /* dtlsdec makes the process's certificate when it is created. */
    std::thread ([] {
      if (GstElement *dec = gst_element_factory_make ("dtlsdec", nullptr))
        gst_object_unref (dec);
    }).detach ();
  });
}

const char *call_state_name (CallState state)
{
  switch (state) {
    case CallState::Idle: return "idle";
    case CallState::Connecting: return "connecting";
    case CallState::Connected: return "connected";
    case CallState::Closed: return "closed";
    case CallState::Failed: return "failed";
  }
  return "unknown";
}

struct Call::Impl {
  Call *owner;
  std::string name;

  /* Worker-thread state. */
  std::unique_ptr<HttpClient> http;
  std::shared_ptr<CredentialSource> credential_source;
  std::shared_ptr<Signaller> signaller;
  CallSettings settings;
  Credentials credentials;
  bool have_credentials = false;
  std::string offer_sdp;
  bool offer_posted = false;
  bool closing = false;
  GstElement *pipeline = nullptr;
  GstElement *webrtc = nullptr;
  guint bus_watch = 0;
  guint offer_wait_timer = 0;

  /* Shared with other threads. */
  std::mutex lock;
  GstElement *appsrc = nullptr;            /* under lock */
  GstWebRTCDataChannel *channel = nullptr; /* under lock */
  bool channel_open = false;               /* under lock */
  gsize max_message = kDefaultMaxMessage;  /* under lock */
  std::vector<std::string> candidates;     /* under lock */
  bool gathering_done = false;             /* under lock */
  bool tearing_down = false;               /* under lock */
  std::vector<std::shared_ptr<CallObserver>> observers; /* under lock */
  std::shared_ptr<CallObserver> primary;   /* under lock */
  CallStats stats;                         /* under lock */

  /* Last, so it is destroyed first: work still queued on it may touch
   * every member above. */
  Worker worker;

  Impl (Call *c, std::string n) : owner (c), name (std::move (n)),
      worker (("rtcall-" + name).c_str ()) {}

  std::vector<std::shared_ptr<CallObserver>> observers_snapshot ()
  {
    std::lock_guard<std::mutex> l (lock);
    return observers;
  }

  /* Calls fn (observer, announce) for each observer; exactly one announces. */
  template <typename Fn> void each_observer (Fn fn)
  {
    std::shared_ptr<CallObserver> announcer;
    std::vector<std::shared_ptr<CallObserver>> all;
    {
      std::lock_guard<std::mutex> l (lock);
      all = observers;
      announcer = primary ? primary : (all.empty () ? nullptr : all.front ());
    }
    for (auto &o : all)
      fn (*o, o == announcer);
  }

  void set_state (CallState s)
  {
    if (closing || owner->state_.exchange (s) == s)
      return;
    GST_INFO ("call %s: %s", name.c_str (), call_state_name (s));
    for (auto &o : observers_snapshot ())
      o->on_state (s);
  }

  void fail (const ServiceError &error)
  {
    if (closing || owner->state_.load () == CallState::Failed)
      return;
    GST_WARNING ("call %s failed: %s", name.c_str (),
        redact (error.describe ()).c_str ());
    {
      std::lock_guard<std::mutex> l (lock);
      channel_open = false;
    }
    set_state (CallState::Failed);
    each_observer ([&] (CallObserver &o, bool announce) {
      o.on_error (error, announce);
    });
  }

  void fail (const std::string &message)
  {
    ServiceError e;
    e.message = message;
    fail (e);
  }

  /* ---- setting up ---- */

  void start ()
  {
    http = std::make_unique<HttpClient> (worker, settings.http_timeout_s);
    set_state (CallState::Connecting);
    /* An observer may have ended the call from that notification. */
    if (closing || !build_pipeline ())
      return;
    /* Minting and offer creation run at the same time: both take a round
     * of work the other does not need. */
    credential_source->fetch (*http, [this] (CredentialsResult r) {
      if (closing)
        return;
      if (!r.ok) {
        fail (r.error);
        return;
      }
      credentials = r.credentials;
      have_credentials = true;
      maybe_post_offer ();
    });
    GstPromise *promise = gst_promise_new_with_change_func (on_offer_created,
        this, nullptr);
    g_signal_emit_by_name (webrtc, "create-offer", nullptr, promise);
  }

  GstElement *make (const char *factory, const char *element_name = nullptr)
  {
    GstElement *e = gst_element_factory_make (factory, element_name);
    if (!e)
      fail (std::string ("missing GStreamer element '") + factory + "'");
    return e;
  }

  bool build_pipeline ()
  {
    pipeline = gst_pipeline_new (("realtime-call-" + name).c_str ());
    webrtc = make ("webrtcbin", "webrtc");
    GstElement *src = make ("appsrc", "user-audio");
    GstElement *enc = make ("opusenc");
    GstElement *pay = make ("rtpopuspay");
    if (!webrtc || !src || !enc || !pay) {
      for (GstElement *e : { webrtc, src, enc, pay })
        if (e)
          gst_object_unref (e);
      webrtc = nullptr;
      return false;
    }
    g_object_set (webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE,
        "latency", settings.jitterbuffer_ms, nullptr);
    tune_ice ();

    GstCaps *caps = gst_caps_from_string (
        "audio/x-raw,format=S16LE,rate=48000,channels=1,layout=interleaved");
    g_object_set (src, "caps", caps, "is-live", TRUE, "format", GST_FORMAT_TIME,
        "do-timestamp", TRUE, "block", FALSE,
        "max-bytes", (guint64) (48000 * 2 / 5), nullptr);
    gst_util_set_object_arg (G_OBJECT (src), "leaky-type", "downstream");
    gst_caps_unref (caps);
    g_object_set (enc, "frame-size", 20, nullptr);
    gst_util_set_object_arg (G_OBJECT (enc), "audio-type", "voice");
    g_object_set (pay, "pt", 111, nullptr);

    gst_bin_add_many (GST_BIN (pipeline), src, enc, pay, webrtc, nullptr);
    if (!gst_element_link_many (src, enc, pay, nullptr) ||
        !gst_element_link_pads (pay, "src", webrtc, "sink_0")) {
      fail ("cannot link the audio encoder to webrtcbin");
      return false;
    }
    configure_transceiver ();

    g_signal_connect (webrtc, "pad-added", G_CALLBACK (on_pad_added), this);
    g_signal_connect (webrtc, "on-ice-candidate", G_CALLBACK (on_ice_candidate), this);
    g_signal_connect (webrtc, "notify::ice-gathering-state",
        G_CALLBACK (on_gathering_state), this);
    g_signal_connect (webrtc, "notify::connection-state",
        G_CALLBACK (on_connection_state), this);

    GstBus *bus = gst_pipeline_get_bus (GST_PIPELINE (pipeline));
    bus_watch = gst_bus_add_watch (bus, on_bus_message, this);
    gst_object_unref (bus);

    /* The channel must exist before the offer, and webrtcbin wants it made
     * in READY. */
    gst_element_set_state (pipeline, GST_STATE_READY);
    GstStructure *opts = gst_structure_new ("options", "ordered",
        G_TYPE_BOOLEAN, TRUE, nullptr);
    GstWebRTCDataChannel *ch = nullptr;
    g_signal_emit_by_name (webrtc, "create-data-channel", "oai-events", opts, &ch);
    gst_structure_free (opts);
    if (!ch) {
      fail ("webrtcbin refused to create the oai-events data channel");
      return false;
    }
    g_signal_connect (ch, "on-open", G_CALLBACK (on_channel_open), this);
    g_signal_connect (ch, "on-close", G_CALLBACK (on_channel_close), this);
    g_signal_connect (ch, "on-error", G_CALLBACK (on_channel_error), this);
    g_signal_connect (ch, "on-message-string", G_CALLBACK (on_channel_string), this);
    g_signal_connect (ch, "on-message-data", G_CALLBACK (on_channel_data), this);
    {
      std::lock_guard<std::mutex> l (lock);
      channel = ch;
      appsrc = GST_ELEMENT (gst_object_ref (src));
    }
    if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
        GST_STATE_CHANGE_FAILURE) {
      fail ("the call's internal pipeline did not start");
      return false;
    }
    return true;
  }

  /* Opus at PT 111 as browsers offer it; sendrecv so the agent can answer. */
  void configure_transceiver ()
  {
    GstPad *sinkpad = gst_element_get_static_pad (webrtc, "sink_0");
    GstWebRTCRTPTransceiver *trans = nullptr;
    g_object_get (sinkpad, "transceiver", &trans, nullptr);
    gst_object_unref (sinkpad);
    if (!trans)
      return;
    GstCaps *prefs = gst_caps_from_string ("application/x-rtp,media=audio,"
        "encoding-name=OPUS,payload=111,clock-rate=48000,"
        "encoding-params=(string)2,minptime=(string)10,"
        "useinbandfec=(string)1");
    g_object_set (trans, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDRECV,
        "codec-preferences", prefs, nullptr);
    gst_caps_unref (prefs);
    gst_object_unref (trans);
  }

  /* libnice's defaults cost a call hundreds of milliseconds: a 200 ms UPnP
   * wait while gathering and 20 ms pacing of the connectivity checks. */
  void tune_ice ()
  {
    GObject *ice = nullptr;
    g_object_get (webrtc, "ice-agent", &ice, nullptr);
    if (!ice)
      return;
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
    /* libnice leaves loopback out whenever another interface exists, so a
     * far end on this host (the local server) would be unreachable: gather
     * on loopback alone then, which also keeps that traffic on the host. */
    if (is_loopback_base (credential_source->api_base ())) {
      gboolean added = FALSE;
      g_signal_emit_by_name (ice, "add-local-ip-address", "127.0.0.1", &added);
      GST_DEBUG ("call %s: the far end is on this host: ICE on loopback (%d)",
          name.c_str (), added);
    }
    g_object_unref (ice);
  }

  /* ---- offer and answer ---- */

  static void on_offer_created (GstPromise *promise, gpointer data)
  {
    auto *self = static_cast<Impl *> (data);
    GstWebRTCSessionDescription *offer = nullptr;
    /* Interrupted (teardown) or expired promises have no reply to read. */
    if (gst_promise_wait (promise) == GST_PROMISE_RESULT_REPLIED) {
      if (const GstStructure *reply = gst_promise_get_reply (promise))
        gst_structure_get (reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION,
            &offer, nullptr);
    }
    gst_promise_unref (promise);
    self->worker.post ([self, offer] {
      if (!offer) {
        self->fail ("webrtcbin could not create an offer");
        return;
      }
      if (self->closing) {
        gst_webrtc_session_description_free (offer);
        return;
      }
      g_signal_emit_by_name (self->webrtc, "set-local-description", offer,
          nullptr);
      gchar *text = gst_sdp_message_as_text (offer->sdp);
      self->offer_sdp = text;
      g_free (text);
      gst_webrtc_session_description_free (offer);
      if (self->settings.offer_wait_ms > 0)
        self->offer_wait_timer = self->worker.post_after (
            self->settings.offer_wait_ms, [self] {
              self->offer_wait_timer = 0;
              self->maybe_post_offer ();
            });
      self->maybe_post_offer ();
    });
  }

  /* The offer with the local candidates gathered so far: there is no
   * trickle ICE, the POST is the whole exchange. */
  std::string offer_with_candidates ()
  {
    std::lock_guard<std::mutex> l (lock);
    if (candidates.empty ())
      return offer_sdp;
    auto first_m = offer_sdp.find ("\r\nm=");
    if (first_m == std::string::npos)
      return offer_sdp;
    auto next_m = offer_sdp.find ("\r\nm=", first_m + 2);
    auto at = next_m == std::string::npos ? offer_sdp.size () - 2 : next_m;
    std::string lines;
    for (const auto &c : candidates)
      lines += "\r\na=" + c;
    std::string out = offer_sdp;
    out.insert (at, lines);
    return out;
  }

  void maybe_post_offer ()
  {
    if (closing || offer_posted || !have_credentials || offer_sdp.empty ())
      return;
    if (settings.offer_wait_ms > 0 && offer_wait_timer) {
      std::lock_guard<std::mutex> l (lock);
      if (!gathering_done)
        return;
    }
    if (offer_wait_timer) {
      worker.cancel_timeout (offer_wait_timer);
      offer_wait_timer = 0;
    }
    offer_posted = true;
    signaller->exchange (*http, credentials, offer_with_candidates (),
        [this] (Answer a) { on_answer (std::move (a)); });
  }

  void on_answer (Answer a)
  {
    if (closing)
      return;
    if (!a.ok) {
      fail (a.error);
      return;
    }
    GstSDPMessage *sdp = nullptr;
    if (gst_sdp_message_new_from_text (a.sdp.c_str (), &sdp) != GST_SDP_OK) {
      if (sdp)
        gst_sdp_message_free (sdp);
      fail ("the answer could not be parsed as SDP");
      return;
    }
    {
      std::lock_guard<std::mutex> l (lock);
      stats.call_id = a.call_id;
      max_message = max_message_size_of (a.sdp);
    }
    GST_INFO ("call %s: answered, call id %s", name.c_str (), a.call_id.c_str ());
    GstWebRTCSessionDescription *answer =
        gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
    GstPromise *promise = gst_promise_new_with_change_func (
        on_remote_description_set, this, nullptr);
    g_signal_emit_by_name (webrtc, "set-remote-description", answer, promise);
    gst_webrtc_session_description_free (answer);
  }

  static void on_remote_description_set (GstPromise *promise, gpointer data)
  {
    auto *self = static_cast<Impl *> (data);
    GError *error = nullptr;
    if (gst_promise_wait (promise) == GST_PROMISE_RESULT_REPLIED) {
      const GstStructure *reply = gst_promise_get_reply (promise);
      if (reply && gst_structure_has_field (reply, "error"))
        gst_structure_get (reply, "error", G_TYPE_ERROR, &error, nullptr);
    }
    gst_promise_unref (promise);
    if (error) {
      std::string message = std::string ("webrtcbin rejected the answer: ") +
          error->message;
      g_error_free (error);
      self->worker.post ([self, message] { self->fail (message); });
    }
  }

  static void on_ice_candidate (GstElement *, guint, gchar *candidate,
      gpointer data)
  {
    auto *self = static_cast<Impl *> (data);
    std::lock_guard<std::mutex> l (self->lock);
    self->candidates.emplace_back (candidate);
  }

  static void on_gathering_state (GstElement *webrtc, GParamSpec *, gpointer data)
  {
    auto *self = static_cast<Impl *> (data);
    GstWebRTCICEGatheringState state;
    g_object_get (webrtc, "ice-gathering-state", &state, nullptr);
    if (state != GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
      return;
    {
      std::lock_guard<std::mutex> l (self->lock);
      self->gathering_done = true;
    }
    self->worker.post ([self] { self->maybe_post_offer (); });
  }

  static void on_connection_state (GstElement *webrtc, GParamSpec *,
      gpointer data)
  {
    auto *self = static_cast<Impl *> (data);
    GstWebRTCPeerConnectionState state;
    g_object_get (webrtc, "connection-state", &state, nullptr);
    GST_DEBUG ("call %s: peer connection state %d", self->name.c_str (), state);
    if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED)
      self->worker.post ([self] { self->fail ("the peer connection failed"); });
  }

  /* ---- media in ---- */

  static void on_pad_added (GstElement *, GstPad *pad, gpointer data)
  {
    auto *self = static_cast<Impl *> (data);
    if (GST_PAD_DIRECTION (pad) != GST_PAD_SRC)
      return;
    {
      /* No new branch in a pipeline that is being torn down. */
      std::lock_guard<std::mutex> l (self->lock);
      if (self->tearing_down)
        return;
    }
    GError *error = nullptr;
    GstElement *bin = gst_parse_bin_from_description (
        "rtpopusdepay ! opusdec plc=true ! audioconvert ! audioresample ! "
        "audio/x-raw,format=S16LE,rate=48000,channels=1,layout=interleaved ! "
        "appsink name=agent-audio sync=false max-buffers=50 drop=true",
        TRUE, &error);
    if (!bin) {
      GST_ERROR ("cannot build the audio receiver: %s", error->message);
      g_error_free (error);
      return;
    }
    g_clear_error (&error);
    GstElement *sink = gst_bin_get_by_name (GST_BIN (bin), "agent-audio");
    GstAppSinkCallbacks callbacks = {};
    callbacks.new_sample = on_agent_sample;
    gst_app_sink_set_callbacks (GST_APP_SINK (sink), &callbacks, self, nullptr);
    gst_object_unref (sink);
    gst_bin_add (GST_BIN (self->pipeline), bin);
    gst_element_sync_state_with_parent (bin);
    GstPad *sinkpad = gst_element_get_static_pad (bin, "sink");
    if (gst_pad_link (pad, sinkpad) != GST_PAD_LINK_OK)
      GST_ERROR ("cannot link the agent's audio to the decoder");
    gst_object_unref (sinkpad);
  }

  static GstFlowReturn on_agent_sample (GstAppSink *sink, gpointer data)
  {
    auto *self = static_cast<Impl *> (data);
    GstSample *sample = gst_app_sink_pull_sample (sink);
    if (!sample)
      return GST_FLOW_EOS;
    if (GstBuffer *buffer = gst_sample_get_buffer (sample))
      for (auto &o : self->observers_snapshot ())
        o->on_audio (buffer);
    gst_sample_unref (sample);
    return GST_FLOW_OK;
  }

  /* ---- the data channel ----
   * Its callbacks run under webrtcbin's lock: they only copy and post. */

  static void on_channel_open (GstWebRTCDataChannel *, gpointer data)
  {
    auto *self = static_cast<Impl *> (data);
    self->worker.post ([self] { self->channel_opened (); });
  }

  void channel_opened ()
  {
    if (closing)
      return;
    {
      std::lock_guard<std::mutex> l (lock);
      channel_open = true;
    }
    std::string error;
    if (!send_now (build_session_update (settings.session), &error))
      GST_WARNING ("call %s: session.update not sent: %s", name.c_str (),
          error.c_str ());
    set_state (CallState::Connected);
  }

  static void on_channel_close (GstWebRTCDataChannel *, gpointer data)
  {
    auto *self = static_cast<Impl *> (data);
    self->worker.post ([self] {
      bool was_open;
      {
        std::lock_guard<std::mutex> l (self->lock);
        was_open = self->channel_open;
        self->channel_open = false;
      }
      if (was_open && !self->closing)
        self->fail ("the oai-events data channel closed");
    });
  }

  static void on_channel_error (GstWebRTCDataChannel *, GError *error,
      gpointer data)
  {
    auto *self = static_cast<Impl *> (data);
    std::string message = std::string ("data channel error: ") +
        (error ? error->message : "unknown");
    self->worker.post ([self, message] { self->fail (message); });
  }

  static void on_channel_string (GstWebRTCDataChannel *, gchar *str,
      gpointer data)
  {
    auto *self = static_cast<Impl *> (data);
    std::string text (str ? str : "");
    self->worker.post ([self, text] { self->handle_event (text); });
  }

  static void on_channel_data (GstWebRTCDataChannel *, GBytes *bytes,
      gpointer data)
  {
    auto *self = static_cast<Impl *> (data);
    gsize size = 0;
    const char *p = bytes ?
        static_cast<const char *> (g_bytes_get_data (bytes, &size)) : nullptr;
    std::string text (p ? p : "", size);
    self->worker.post ([self, text] { self->handle_event (text); });
  }

  void handle_event (const std::string &text)
  {
    if (closing)
      return;
    std::string why;
    auto event = parse_server_event (text, &why);
    {
      std::lock_guard<std::mutex> l (lock);
      (event ? stats.events_in : stats.events_malformed)++;
    }
    if (!event) {
      GST_WARNING ("call %s: ignoring a malformed server event (%zu bytes): %s",
          name.c_str (), text.size (), why.c_str ());
      return;
    }
    GST_LOG ("call %s: server event %s", name.c_str (), event->type.c_str ());
    each_observer ([&] (CallObserver &o, bool announce) {
      o.on_server_event (event->type, text, announce);
    });
  }

  /* Sends on the worker thread; the caller has checked the text. */
  bool send_now (const std::string &json, std::string *error)
  {
    GstWebRTCDataChannel *ch = nullptr;
    {
      std::lock_guard<std::mutex> l (lock);
      if (!channel_open || !channel) {
        if (error)
          *error = "the oai-events data channel is not open";
        stats.events_refused++;
        return false;
      }
      ch = GST_WEBRTC_DATA_CHANNEL (g_object_ref (channel));
    }
    GError *err = nullptr;
    gboolean ok = gst_webrtc_data_channel_send_string_full (ch, json.c_str (), &err);
    g_object_unref (ch);
    std::lock_guard<std::mutex> l (lock);
    if (!ok) {
      if (error)
        *error = err ? err->message : "send failed";
      g_clear_error (&err);
      stats.events_refused++;
      return false;
    }
    stats.events_out++;
    return true;
  }

  /* ---- bus ---- */

  static gboolean on_bus_message (GstBus *, GstMessage *msg, gpointer data)
  {
    auto *self = static_cast<Impl *> (data);
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      GError *err = nullptr;
      gchar *dbg = nullptr;
      gst_message_parse_error (msg, &err, &dbg);
      GST_WARNING ("call %s: internal error from %s: %s (%s)",
          self->name.c_str (), GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)),
          err->message, dbg ? dbg : "");
      std::string message = std::string ("internal pipeline error: ") +
          err->message;
      g_error_free (err);
      g_free (dbg);
      self->fail (message);
    }
    return G_SOURCE_CONTINUE;
  }

  /* ---- teardown (on the worker) ---- */

  void shutdown ()
  {
    if (owner->state_.load () != CallState::Failed)
      set_state (CallState::Closed);
    closing = true;
    if (offer_wait_timer)
      worker.cancel_timeout (offer_wait_timer);
    {
      std::lock_guard<std::mutex> l (lock);
      channel_open = false;
      tearing_down = true;
    }
    std::string call_id = stats_call_id ();
    if (http && signaller && have_credentials && !call_id.empty ()) {
      /* Shared: the answer may come after this wait has given up. */
      auto done = std::make_shared<bool> (false);
      signaller->hangup (*http, credentials, call_id, [done] { *done = true; });
      /* Bounded: a dead network must not hold up the user's state change. */
      worker.iterate_until ([done] { return *done; }, 2000);
    }
    GstWebRTCDataChannel *ch = nullptr;
    GstElement *src = nullptr;
    {
      std::lock_guard<std::mutex> l (lock);
      ch = channel;
      channel = nullptr;
      src = appsrc;
      appsrc = nullptr;
    }
    if (pipeline)
      gst_element_set_state (pipeline, GST_STATE_NULL);
    if (ch) {
      g_signal_handlers_disconnect_by_data (ch, this);
      g_object_unref (ch);
    }
    if (src)
      gst_object_unref (src);
    if (bus_watch) {
      GstBus *bus = gst_pipeline_get_bus (GST_PIPELINE (pipeline));
      gst_bus_remove_watch (bus);
      gst_object_unref (bus);
    }
    if (pipeline)
      gst_object_unref (pipeline);
    pipeline = webrtc = nullptr;
    http.reset ();
  }

  std::string stats_call_id ()
  {
    std::lock_guard<std::mutex> l (lock);
    return stats.call_id;
  }
};

std::shared_ptr<Call> Call::obtain (const std::string &key)
{
  std::lock_guard<std::mutex> l (registry_lock);
  auto &slot = registry[key];
  if (auto existing = slot.lock ())
    return existing;
  auto call = std::make_shared<Call> (key);
  slot = call;
  for (auto it = registry.begin (); it != registry.end ();)
    it = it->second.expired () ? registry.erase (it) : std::next (it);
  return call;
}

Call::Call (std::string name) : impl_ (std::make_unique<Impl> (this, std::move (name)))
{
  init_debug ();
  prewarm_dtls ();
}

Call::~Call ()
{
  if (impl_->worker.is_current ()) {
    /* The last reference went from a callback on the call's own thread
     * (e.g. an application stopping its pipeline from a server-event
     * handler): tear down here, join the thread from another one once this
     * dispatch has returned. */
    impl_->shutdown ();
    std::thread ([impl = std::move (impl_)] () mutable { impl.reset (); }).detach ();
    return;
  }
  impl_->worker.run_sync ([this] { impl_->shutdown (); });
}

void Call::add_observer (std::shared_ptr<CallObserver> observer, bool primary)
{
  std::lock_guard<std::mutex> l (impl_->lock);
  if (primary && !impl_->primary)
    impl_->primary = observer;
  impl_->observers.push_back (std::move (observer));
}

void Call::remove_observer (const std::shared_ptr<CallObserver> &observer)
{
  std::lock_guard<std::mutex> l (impl_->lock);
  auto &v = impl_->observers;
  v.erase (std::remove (v.begin (), v.end (), observer), v.end ());
  if (impl_->primary == observer)
    impl_->primary = nullptr;
}

void Call::start (std::shared_ptr<CredentialSource> credentials,
    CallSettings settings, std::shared_ptr<Signaller> signaller)
{
  if (started_.exchange (true))
    return;
  if (!signaller)
    signaller = std::make_shared<OpenAIHttpSignaller> ();
  impl_->worker.post ([this, credentials, settings, signaller] {
    impl_->credential_source = credentials;
    impl_->settings = settings;
    impl_->signaller = signaller;
    impl_->start ();
  });
}

void Call::push_audio (GstBuffer *buffer)
{
  GstElement *src = nullptr;
  {
    std::lock_guard<std::mutex> l (impl_->lock);
    if (!impl_->channel_open || !impl_->appsrc) {
      impl_->stats.audio_in_dropped++;
      return;
    }
    src = GST_ELEMENT (gst_object_ref (impl_->appsrc));
    impl_->stats.audio_in_sent++;
  }
  /* appsrc stamps it with the call pipeline's running time. */
  GstBuffer *copy = gst_buffer_copy (buffer);
  GST_BUFFER_PTS (copy) = GST_BUFFER_DTS (copy) = GST_CLOCK_TIME_NONE;
  gst_app_src_push_buffer (GST_APP_SRC (src), copy);
  gst_object_unref (src);
}

bool Call::send_event (const std::string &json, std::string *error)
{
  std::string why;
  auto type = check_client_event (json, &why);
  if (!type) {
    if (error)
      *error = "not a client event: " + why;
    std::lock_guard<std::mutex> l (impl_->lock);
    impl_->stats.events_refused++;
    return false;
  }
  {
    std::lock_guard<std::mutex> l (impl_->lock);
    std::string problem;
    if (!impl_->channel_open)
      problem = "the oai-events data channel is not open";
    else if (json.size () > impl_->max_message)
      problem = "the event is " + std::to_string (json.size ()) +
          " bytes, over the channel's limit of " +
          std::to_string (impl_->max_message);
    if (!problem.empty ()) {
      if (error)
        *error = problem;
      impl_->stats.events_refused++;
      return false;
    }
  }
  Impl *impl = impl_.get ();
  impl_->worker.post ([impl, json] {
    std::string err;
    if (!impl->closing && !impl->send_now (json, &err))
      GST_WARNING ("call %s: event not sent: %s", impl->name.c_str (),
          err.c_str ());
  });
  return true;
}

CallStats Call::stats () const
{
  std::lock_guard<std::mutex> l (impl_->lock);
  return impl_->stats;
}

}  // namespace rt
