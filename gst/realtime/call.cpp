#include "call.h"

#include "answer.h"
#include "assembler.h"
#include "debug.h"
#include "redact.h"
#include "signalling/openai_http.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <thread>

#include <openssl/crypto.h>
#include <unistd.h>

#define GST_CAT_DEFAULT rt_call_debug

namespace rt {

namespace {

/* Larger strings are silently dropped by webrtcbin's send_string, so they
 * are refused here. */
constexpr gsize kDefaultMaxMessage = kMaxDataChannelMessage;

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

}  // namespace

void prewarm_dtls ()
{
  /* Joined at exit rather than detached: a process that ends while the
   * certificate is still being made (a call refused at once, gst-inspect)
   * must not leave a thread running through its exit handlers. Exit
   * handlers run in reverse order of registration, and OpenSSL registers
   * its cleanup when it is first initialised: initialised here, before the
   * holder below registers its own, the join comes before OpenSSL's
   * cleanup. (No options at all would return before initialising.) */
  OPENSSL_init_crypto (OPENSSL_INIT_LOAD_CRYPTO_STRINGS, nullptr);
  struct Prewarm {
    std::thread *thread = nullptr;
    pid_t pid = 0;
    ~Prewarm ()
    {
      /* A forked child has the object but not the thread: it leaves it. */
      if (thread && pid == getpid ()) {
        thread->join ();
        delete thread;
      }
    }
  };
  static Prewarm prewarm;
  static std::once_flag once;
  std::call_once (once, [] {
    /* dtlsdec makes the process's certificate when it is created. */
    prewarm.pid = getpid ();
    prewarm.thread = new std::thread ([] {
      if (GstElement *dec = gst_element_factory_make ("dtlsdec", nullptr))
        gst_object_unref (dec);
    });
  });
}

struct Call::Impl {
  /* One try at the call: a fresh webrtcbin pipeline (webrtcbin is not meant
   * to be reused after a failure), a fresh secret, one offer and answer.
   * webrtcbin's callbacks get the Attempt as user data; they run only while
   * its pipeline runs, which stops before the Attempt is freed. What they
   * pass to the worker carries the attempt's generation, so news from an
   * attempt that has since ended is recognised and dropped. */
  struct Attempt {
    Impl *impl = nullptr;
    unsigned gen = 0;
    GstElement *pipeline = nullptr;
    GstElement *webrtc = nullptr;
    guint bus_watch = 0;
    Credentials credentials;
    bool have_credentials = false;
    std::string offer_sdp;
    bool offer_posted = false;
    std::string call_id;
    EventAssembler assembler;  /* this attempt's channel's messages */
    gint64 connected_us = 0;
    std::atomic<gint64> last_media_us { 0 };  /* any thread */
    /* Under impl->lock. */
    std::vector<std::string> candidates;
    bool gathering_done = false;
    bool tearing_down = false;
  };

  /* A callback's ticket back to the worker. */
  struct Ticket {
    Impl *impl;
    unsigned gen;
  };

  Call *owner;
  std::string name;

  /* Worker-thread state. */
  std::unique_ptr<HttpClient> http;
  std::shared_ptr<CredentialSource> credential_source;
  std::shared_ptr<Signaller> signaller;
  CallSettings settings;
  Supervisor supervisor;
  ConversationHistory history;
  std::unique_ptr<Attempt> attempt;
  unsigned generation = 0;
  bool closing = false;
  guint offer_wait_timer = 0;
  guint grace_timer = 0;
  guint media_timer = 0;
  guint stable_timer = 0;
  guint retry_timer = 0;
  guint connect_timer = 0;
  guint stats_timer = 0;

  /* Shared with other threads; they belong to the current attempt. */
  std::mutex lock;
  GstElement *appsrc = nullptr;            /* under lock */
  GstWebRTCDataChannel *channel = nullptr; /* under lock */
  bool channel_open = false;               /* under lock */
  gsize max_message = kDefaultMaxMessage;  /* under lock */
  std::vector<std::shared_ptr<CallObserver>> observers; /* under lock */
  std::shared_ptr<CallObserver> primary;   /* under lock */
  CallStats stats;                         /* under lock */
  bool agent_spoke = false;                /* under lock: this call's */
  /* get-stats requests webrtcbin has not answered: 1.22.0 races a
   * get-stats against the reset of going to NULL, so a teardown waits
   * (bounded) for them. */
  std::mutex stats_lock;
  std::condition_variable stats_cv;
  int stats_in_flight = 0;  /* under stats_lock */

  /* After a barge-in, agent audio still in the jitter buffer is dropped
   * as it comes out, until then (monotonic us). */
  std::atomic<gint64> discard_until_us { 0 };

  void interrupt ()
  {
    discard_until_us.store (g_get_monotonic_time () +
        (gint64) (settings.jitterbuffer_ms + 20) * 1000);
    for (auto &o : observers_snapshot ())
      o->on_interrupt ();
  }

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

  /* Calls fn (observer, announce) for each observer; exactly one announces.
   * An observer may end the call from here (the application stopping its
   * pipeline): callers check `closing` afterwards before going on. */
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

  Attempt *current (unsigned gen)
  {
    return !closing && attempt && attempt->gen == gen ? attempt.get () : nullptr;
  }

  /* Runs fn on the worker if the attempt is still the current one. */
  template <typename Fn> void on_worker (unsigned gen, Fn fn)
  {
    worker.post ([this, gen, fn] {
      if (Attempt *a = current (gen))
        fn (*a);
    });
  }

  void publish (const Transition &t)
  {
    owner->state_.store (t.state);
    {
      std::lock_guard<std::mutex> l (lock);
      stats.state = t.state;
    }
    GST_INFO ("call %s: %s (attempt %u)%s%s", name.c_str (),
        connection_state_name (t.state), t.attempt, t.reason.empty () ? "" : ": ",
        redact (t.reason).c_str ());
    each_observer ([&] (CallObserver &o, bool announce) {
      o.on_transition (t, announce);
    });
  }

  void cancel (guint *timer)
  {
    if (*timer)
      worker.cancel_timeout (*timer);
    *timer = 0;
  }

  /* ---- supervision ---- */

  void start ()
  {
    http = std::make_unique<HttpClient> (worker, settings.http_timeout_s);
    supervisor = Supervisor (settings.reconnect);
    history.set_limits (settings.history);
    {
      std::lock_guard<std::mutex> l (lock);
      stats.started_us = g_get_monotonic_time ();
    }
    publish (supervisor.start ());
    if (!closing)
      begin_attempt ();
  }

  void fault (FaultKind kind, const std::string &message)
  {
    Fault f;
    f.kind = kind;
    f.error.message = message;
    fault (f);
  }

  /* Every fault of the current attempt ends here: the attempt is torn
   * down and the supervisor says whether, and when, to try again. */
  void fault (const Fault &f)
  {
    if (closing || !attempt)
      return;
    Decision d = supervisor.fault (f, g_random_double ());
    const char *category = fault_category (f.kind);
    GST_WARNING ("call %s: %s fault: %s", name.c_str (), category,
        redact (f.error.describe ()).c_str ());
    {
      std::lock_guard<std::mutex> l (lock);
      stats.faults[category]++;
    }
    end_attempt (true);
    publish (d.transition);
    if (closing)
      return;
    if (!d.retry) {
      ServiceError error = f.error;
      if (!fault_is_fatal (f.kind)) {
        /* Attempts exhausted: say so, with the last fault. */
        error = ServiceError ();
        error.message = d.transition.reason;
      }
      each_observer ([&] (CallObserver &o, bool announce) {
        o.on_error (error, announce);
      });
      return;
    }
    GST_INFO ("call %s: attempt %u in %u ms", name.c_str (), d.transition.attempt,
        d.delay_ms);
    retry_timer = worker.post_after (d.delay_ms, [this] {
      retry_timer = 0;
      if (closing)
        return;
      supervisor.retrying ();
      {
        std::lock_guard<std::mutex> l (lock);
        stats.reconnects++;
      }
      begin_attempt ();
    });
  }

  void begin_attempt ()
  {
    attempt = std::make_unique<Attempt> ();
    attempt->impl = this;
    attempt->gen = ++generation;
    const unsigned gen = attempt->gen;
    {
      std::lock_guard<std::mutex> l (lock);
      stats.attempts++;
      stats.call_id.clear ();
    }
    if (!build_pipeline (*attempt))
      return;
    /* Whatever stalls (an answer that never comes is the HTTP timeout's; a
     * handshake that never ends is nobody else's), an attempt that is not
     * connected in time is a fault of its own. */
    connect_timer = worker.post_after (settings.connect_timeout_ms, [this, gen] {
      connect_timer = 0;
      if (current (gen))
        fault (FaultKind::ConnectTimeout, "the call was not connected within " +
            std::to_string (settings.connect_timeout_ms) + " ms");
    });
    /* Minting and offer creation run at the same time: both take a round
     * of work the other does not need. */
    credential_source->fetch (*http, [this, gen] (CredentialsResult r) {
      Attempt *a = current (gen);
      if (!a)
        return;
      if (!r.ok) {
        fault (classify_http_failure (r.error));
        return;
      }
      a->credentials = r.credentials;
      a->have_credentials = true;
      {
        std::lock_guard<std::mutex> l (lock);
        stats.secrets++;
      }
      maybe_post_offer (*a);
    });
    if (Attempt *a = current (gen)) {
      GstPromise *promise = gst_promise_new_with_change_func (on_offer_created,
          new Ticket { this, gen }, [] (gpointer t) { delete (Ticket *) t; });
      g_signal_emit_by_name (a->webrtc, "create-offer", nullptr, promise);
    }
  }

  /* Tears the current attempt down, on the worker. hangup: tell the service
   * (without waiting) that this call is over, in case it is still up there. */
  void end_attempt (bool hangup)
  {
    if (!attempt)
      return;
    std::unique_ptr<Attempt> a = std::move (attempt);
    for (guint *t : { &offer_wait_timer, &grace_timer, &media_timer,
             &stable_timer, &connect_timer, &stats_timer })
      cancel (t);
    for (Assembled &piece : a->assembler.flush ()) {
      std::lock_guard<std::mutex> l (lock);
      stats.events_malformed++;
      GST_WARNING ("call %s: a server event was cut short by the end of the "
          "call (%zu bytes)", name.c_str (), piece.bytes);
    }
    GstWebRTCDataChannel *ch = nullptr;
    GstElement *src = nullptr;
    {
      std::lock_guard<std::mutex> l (lock);
      channel_open = false;
      a->tearing_down = true;
      ch = channel;
      channel = nullptr;
      src = appsrc;
      appsrc = nullptr;
      max_message = kDefaultMaxMessage;
      if (stats.connected_us) {
        stats.connected_total_us += g_get_monotonic_time () - stats.connected_us;
        stats.connected_us = 0;
      }
    }
    if (hangup && http && a->have_credentials && !a->call_id.empty ())
      signaller->hangup (*http, a->credentials, a->call_id, [] {});
    {
      std::unique_lock<std::mutex> l (stats_lock);
      if (!stats_cv.wait_for (l, std::chrono::milliseconds (500),
              [this] { return stats_in_flight == 0; }))
        GST_WARNING ("call %s: webrtcbin did not answer get-stats", name.c_str ());
    }
    if (a->pipeline)
      gst_element_set_state (a->pipeline, GST_STATE_NULL);
    if (ch) {
      g_signal_handlers_disconnect_by_data (ch, a.get ());
      g_object_unref (ch);
    }
    if (src)
      gst_object_unref (src);
    if (a->webrtc)
      g_signal_handlers_disconnect_by_data (a->webrtc, a.get ());
    if (a->bus_watch) {
      GstBus *bus = gst_pipeline_get_bus (GST_PIPELINE (a->pipeline));
      gst_bus_remove_watch (bus);
      gst_object_unref (bus);
    }
    if (a->pipeline)
      gst_object_unref (a->pipeline);
  }

  /* ---- building an attempt ---- */

  GstElement *make (const char *factory, const char *element_name = nullptr)
  {
    return gst_element_factory_make (factory, element_name);
  }

  bool build_pipeline (Attempt &a)
  {
    GstElement *webrtc = make ("webrtcbin", "webrtc");
    GstElement *src = make ("appsrc", "user-audio");
    GstElement *enc = make ("opusenc");
    GstElement *pay = make ("rtpopuspay");
    if (!webrtc || !src || !enc || !pay) {
      std::string missing;
      const char *names[] = { "webrtcbin", "appsrc", "opusenc", "rtpopuspay" };
      GstElement *all[] = { webrtc, src, enc, pay };
      for (int i = 0; i < 4; i++) {
        if (all[i])
          gst_object_unref (all[i]);
        else
          missing += std::string (missing.empty () ? "" : ", ") + names[i];
      }
      fault (FaultKind::Unsupported, "missing GStreamer element(s): " + missing);
      return false;
    }
    a.pipeline = gst_pipeline_new (("realtime-call-" + name + "-" +
            std::to_string (a.gen)).c_str ());
    a.webrtc = webrtc;
    g_object_set (webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE,
        "latency", settings.jitterbuffer_ms, nullptr);
    tune_ice (webrtc);

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

    gst_bin_add_many (GST_BIN (a.pipeline), src, enc, pay, webrtc, nullptr);
    {
      std::lock_guard<std::mutex> l (lock);
      appsrc = GST_ELEMENT (gst_object_ref (src));
    }
    if (!gst_element_link_many (src, enc, pay, nullptr) ||
        !gst_element_link_pads (pay, "src", webrtc, "sink_0")) {
      fault (FaultKind::Unsupported, "cannot link the audio encoder to webrtcbin");
      return false;
    }
    configure_transceiver (webrtc);

    g_signal_connect (webrtc, "pad-added", G_CALLBACK (on_pad_added), &a);
    g_signal_connect (webrtc, "on-ice-candidate", G_CALLBACK (on_ice_candidate), &a);
    g_signal_connect (webrtc, "notify::ice-gathering-state",
        G_CALLBACK (on_gathering_state), &a);
    g_signal_connect (webrtc, "notify::ice-connection-state",
        G_CALLBACK (on_ice_connection_state), &a);
    g_signal_connect (webrtc, "notify::connection-state",
        G_CALLBACK (on_connection_state), &a);

    GstBus *bus = gst_pipeline_get_bus (GST_PIPELINE (a.pipeline));
    a.bus_watch = gst_bus_add_watch (bus, on_bus_message, &a);
    gst_object_unref (bus);

    /* The channel must exist before the offer, and webrtcbin wants it made
     * in READY. */
    gst_element_set_state (a.pipeline, GST_STATE_READY);
    GstStructure *opts = gst_structure_new ("options", "ordered",
        G_TYPE_BOOLEAN, TRUE, nullptr);
    GstWebRTCDataChannel *ch = nullptr;
    g_signal_emit_by_name (webrtc, "create-data-channel", "oai-events", opts, &ch);
    gst_structure_free (opts);
    if (!ch) {
      fault (FaultKind::Unsupported,
          "webrtcbin refused to create the oai-events data channel");
      return false;
    }
    g_signal_connect (ch, "on-open", G_CALLBACK (on_channel_open), &a);
    g_signal_connect (ch, "on-close", G_CALLBACK (on_channel_close), &a);
    g_signal_connect (ch, "on-error", G_CALLBACK (on_channel_error), &a);
    g_signal_connect (ch, "on-message-string", G_CALLBACK (on_channel_string), &a);
    g_signal_connect (ch, "on-message-data", G_CALLBACK (on_channel_data), &a);
    {
      std::lock_guard<std::mutex> l (lock);
      channel = ch;
    }
    if (gst_element_set_state (a.pipeline, GST_STATE_PLAYING) ==
        GST_STATE_CHANGE_FAILURE) {
      fault (FaultKind::Pipeline, "the call's internal pipeline did not start");
      return false;
    }
    return true;
  }

  /* Opus at PT 111 as browsers offer it; sendrecv so the agent can answer. */
  static void configure_transceiver (GstElement *webrtc)
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
  void tune_ice (GstElement *webrtc)
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
    auto *t = static_cast<Ticket *> (data);
    GstWebRTCSessionDescription *offer = nullptr;
    /* Interrupted (teardown) or expired promises have no reply to read. */
    if (gst_promise_wait (promise) == GST_PROMISE_RESULT_REPLIED) {
      if (const GstStructure *reply = gst_promise_get_reply (promise))
        gst_structure_get (reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION,
            &offer, nullptr);
    }
    /* The ticket goes with the promise's last reference: read it first. */
    Impl *self = t->impl;
    const unsigned gen = t->gen;
    gst_promise_unref (promise);
    self->worker.post ([self, gen, offer] {
      Attempt *a = self->current (gen);
      if (!a || !offer) {
        if (offer)
          gst_webrtc_session_description_free (offer);
        else if (a)
          self->fault (FaultKind::Pipeline, "webrtcbin could not create an offer");
        return;
      }
      g_signal_emit_by_name (a->webrtc, "set-local-description", offer, nullptr);
      gchar *text = gst_sdp_message_as_text (offer->sdp);
      a->offer_sdp = text;
      g_free (text);
      gst_webrtc_session_description_free (offer);
      if (self->settings.offer_wait_ms > 0)
        self->offer_wait_timer = self->worker.post_after (
            self->settings.offer_wait_ms, [self, gen] {
              self->offer_wait_timer = 0;
              if (Attempt *a = self->current (gen))
                self->maybe_post_offer (*a);
            });
      self->maybe_post_offer (*a);
    });
  }

  /* The offer with the local candidates gathered so far: there is no
   * trickle ICE, the POST is the whole exchange. */
  std::string offer_with_candidates (Attempt &a)
  {
    std::lock_guard<std::mutex> l (lock);
    const std::string &sdp = a.offer_sdp;
    if (a.candidates.empty ())
      return sdp;
    auto first_m = sdp.find ("\r\nm=");
    if (first_m == std::string::npos)
      return sdp;
    auto next_m = sdp.find ("\r\nm=", first_m + 2);
    auto at = next_m == std::string::npos ? sdp.size () - 2 : next_m;
    std::string lines;
    for (const auto &c : a.candidates)
      lines += "\r\na=" + c;
    std::string out = sdp;
    out.insert (at, lines);
    return out;
  }

  void maybe_post_offer (Attempt &a)
  {
    if (a.offer_posted || !a.have_credentials || a.offer_sdp.empty ())
      return;
    if (settings.offer_wait_ms > 0 && offer_wait_timer) {
      std::lock_guard<std::mutex> l (lock);
      if (!a.gathering_done)
        return;
    }
    cancel (&offer_wait_timer);
    a.offer_posted = true;
    const unsigned gen = a.gen;
    signaller->exchange (*http, a.credentials, offer_with_candidates (a),
        [this, gen] (Answer answer) {
          if (Attempt *a = current (gen))
            on_answer (*a, std::move (answer));
        });
  }

  void on_answer (Attempt &a, Answer answer)
  {
    if (!answer.ok) {
      Fault f = classify_http_failure (answer.error);
      fault (f);
      return;
    }
    GstSDPMessage *sdp = nullptr;
    if (gst_sdp_message_new_from_text (answer.sdp.c_str (), &sdp) != GST_SDP_OK) {
      if (sdp)
        gst_sdp_message_free (sdp);
      fault (FaultKind::BadAnswer, "the answer could not be parsed as SDP");
      return;
    }
    a.call_id = answer.call_id;
    {
      std::lock_guard<std::mutex> l (lock);
      stats.call_id = answer.call_id;
      max_message = check_answer_sdp (answer.sdp).max_message_size;
    }
    GST_INFO ("call %s: answered, call id %s", name.c_str (),
        answer.call_id.c_str ());
    GstWebRTCSessionDescription *desc =
        gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
    GstPromise *promise = gst_promise_new_with_change_func (
        on_remote_description_set, new Ticket { this, a.gen },
        [] (gpointer t) { delete (Ticket *) t; });
    g_signal_emit_by_name (a.webrtc, "set-remote-description", desc, promise);
    gst_webrtc_session_description_free (desc);
  }

  static void on_remote_description_set (GstPromise *promise, gpointer data)
  {
    auto *t = static_cast<Ticket *> (data);
    GError *error = nullptr;
    if (gst_promise_wait (promise) == GST_PROMISE_RESULT_REPLIED) {
      const GstStructure *reply = gst_promise_get_reply (promise);
      if (reply && gst_structure_has_field (reply, "error"))
        gst_structure_get (reply, "error", G_TYPE_ERROR, &error, nullptr);
    }
    /* The ticket goes with the promise's last reference: read it first. */
    Impl *self = t->impl;
    const unsigned gen = t->gen;
    gst_promise_unref (promise);
    if (error) {
      std::string message = std::string ("webrtcbin rejected the answer: ") +
          error->message;
      g_error_free (error);
      self->on_worker (gen, [self, message] (Attempt &) {
        self->fault (FaultKind::BadAnswer, message);
      });
    }
  }

  static void on_ice_candidate (GstElement *, guint, gchar *candidate,
      gpointer data)
  {
    auto *a = static_cast<Attempt *> (data);
    std::lock_guard<std::mutex> l (a->impl->lock);
    a->candidates.emplace_back (candidate);
  }

  static void on_gathering_state (GstElement *webrtc, GParamSpec *, gpointer data)
  {
    auto *a = static_cast<Attempt *> (data);
    GstWebRTCICEGatheringState state;
    g_object_get (webrtc, "ice-gathering-state", &state, nullptr);
    if (state != GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
      return;
    Impl *self = a->impl;
    {
      std::lock_guard<std::mutex> l (self->lock);
      a->gathering_done = true;
    }
    self->on_worker (a->gen, [self] (Attempt &a) { self->maybe_post_offer (a); });
  }

  /* ---- faults seen by webrtcbin ---- */

  static void on_connection_state (GstElement *webrtc, GParamSpec *,
      gpointer data)
  {
    auto *a = static_cast<Attempt *> (data);
    GstWebRTCPeerConnectionState state;
    g_object_get (webrtc, "connection-state", &state, nullptr);
    Impl *self = a->impl;
    GST_DEBUG ("call %s: peer connection state %d", self->name.c_str (), state);
    if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED)
      self->on_worker (a->gen, [self] (Attempt &) {
        self->fault (FaultKind::PeerFailed, "the peer connection failed");
      });
  }

  static void on_ice_connection_state (GstElement *webrtc, GParamSpec *,
      gpointer data)
  {
    auto *a = static_cast<Attempt *> (data);
    GstWebRTCICEConnectionState state;
    g_object_get (webrtc, "ice-connection-state", &state, nullptr);
    Impl *self = a->impl;
    self->on_worker (a->gen, [self, state] (Attempt &a) {
      self->ice_state_changed (a, state);
    });
  }

  /* A transient "disconnected" is normal on real networks: only one that
   * lasts longer than the grace period ends the attempt. */
  void ice_state_changed (Attempt &a, GstWebRTCICEConnectionState state)
  {
    GST_DEBUG ("call %s: ICE state %d", name.c_str (), state);
    switch (state) {
      case GST_WEBRTC_ICE_CONNECTION_STATE_FAILED:
        fault (FaultKind::IceFailed, "ICE failed: the far end cannot be reached");
        break;
      case GST_WEBRTC_ICE_CONNECTION_STATE_DISCONNECTED:
        if (!grace_timer) {
          const unsigned gen = a.gen;
          const unsigned grace = settings.ice_disconnect_grace_ms;
          grace_timer = worker.post_after (grace, [this, gen, grace] {
            grace_timer = 0;
            if (current (gen))
              fault (FaultKind::IceDisconnected, "ICE lost the far end for more "
                  "than " + std::to_string (grace) + " ms");
          });
        }
        break;
      case GST_WEBRTC_ICE_CONNECTION_STATE_CONNECTED:
      case GST_WEBRTC_ICE_CONNECTION_STATE_COMPLETED:
        cancel (&grace_timer);
        break;
      default:
        break;
    }
  }

  /* No RTP from the far end for media-timeout while connected: a network
   * that swallows packets silently (no ICE failure is ever reported then,
   * since libnice here does no consent checks). */
  void arm_media_check (unsigned gen)
  {
    if (settings.media_timeout_ms == 0)
      return;
    unsigned interval = std::clamp (settings.media_timeout_ms / 8, 10u, 250u);
    media_timer = worker.post_after (interval, [this, gen] {
      media_timer = 0;
      Attempt *a = current (gen);
      if (!a)
        return;
      gint64 last = std::max (a->last_media_us.load (), a->connected_us);
      gint64 silent_ms = (g_get_monotonic_time () - last) / 1000;
      if (silent_ms >= settings.media_timeout_ms) {
        fault (FaultKind::MediaTimeout, "no audio from the far end for " +
            std::to_string (silent_ms) + " ms");
        return;
      }
      arm_media_check (gen);
    });
  }

  /* webrtcbin's statistics, sampled each second while connected so that
   * reading them never waits on webrtcbin. */
  void arm_stats (unsigned gen)
  {
    stats_timer = worker.post_after (1000, [this, gen] {
      stats_timer = 0;
      Attempt *a = current (gen);
      if (!a)
        return;
      GstPromise *promise = gst_promise_new_with_change_func (on_stats,
          new Ticket { this, gen }, [] (gpointer t) { delete (Ticket *) t; });
      {
        std::lock_guard<std::mutex> l (stats_lock);
        stats_in_flight++;
      }
      g_signal_emit_by_name (a->webrtc, "get-stats", nullptr, promise);
      gst_promise_unref (promise);
      arm_stats (gen);
    });
  }

  static gboolean take_stat (GQuark, const GValue *value, gpointer data)
  {
    auto *out = static_cast<CallStats *> (data);
    if (!GST_VALUE_HOLDS_STRUCTURE (value))
      return TRUE;
    const GstStructure *s = gst_value_get_structure (value);
    GstWebRTCStatsType type;
    if (!gst_structure_get (s, "type", GST_TYPE_WEBRTC_STATS_TYPE, &type, nullptr))
      return TRUE;
    guint64 u64;
    gint64 i64;
    double d;
    switch (type) {
      case GST_WEBRTC_STATS_OUTBOUND_RTP:
        /* webrtcbin may list a stream twice, once still empty: keep the
         * fuller entry. */
        if (gst_structure_get_uint64 (s, "packets-sent", &u64))
          out->audio_packets_sent = std::max (out->audio_packets_sent, u64);
        if (gst_structure_get_uint64 (s, "bytes-sent", &u64))
          out->audio_bytes_sent = std::max (out->audio_bytes_sent, u64);
        break;
      case GST_WEBRTC_STATS_INBOUND_RTP:
        if (gst_structure_get_uint64 (s, "packets-received", &u64))
          out->audio_packets_received = std::max (out->audio_packets_received, u64);
        if (gst_structure_get_uint64 (s, "bytes-received", &u64))
          out->audio_bytes_received = std::max (out->audio_bytes_received, u64);
        /* 1.22 reports it as an unsigned count, later versions signed. */
        if (gst_structure_get_int64 (s, "packets-lost", &i64))
          out->audio_packets_lost = i64;
        else if (gst_structure_get_uint64 (s, "packets-lost", &u64))
          out->audio_packets_lost = (gint64) u64;
        if (gst_structure_get_double (s, "jitter", &d))
          out->audio_jitter_s = d;
        break;
      case GST_WEBRTC_STATS_REMOTE_INBOUND_RTP:
        if (gst_structure_get_double (s, "round-trip-time", &d))
          out->round_trip_s = d;
        break;
      default:
        break;
    }
    return TRUE;
  }

  static void on_stats (GstPromise *promise, gpointer data)
  {
    auto *t = static_cast<Ticket *> (data);
    Impl *self = t->impl;
    CallStats sampled;
    const bool replied = gst_promise_wait (promise) == GST_PROMISE_RESULT_REPLIED;
    const GstStructure *reply = replied ? gst_promise_get_reply (promise) : nullptr;
    /* Interrupted by a teardown: nothing to read. */
    if (reply) {
      gst_structure_foreach (reply, take_stat, &sampled);
      self->on_worker (t->gen, [self, sampled] (Attempt &) {
        std::lock_guard<std::mutex> l (self->lock);
        CallStats &s = self->stats;
        s.audio_packets_sent = sampled.audio_packets_sent;
        s.audio_bytes_sent = sampled.audio_bytes_sent;
        s.audio_packets_received = sampled.audio_packets_received;
        s.audio_bytes_received = sampled.audio_bytes_received;
        s.audio_packets_lost = sampled.audio_packets_lost;
        s.audio_jitter_s = sampled.audio_jitter_s;
        if (sampled.round_trip_s >= 0)
          s.round_trip_s = sampled.round_trip_s;
      });
    }
    /* Last: once the count is down, a teardown may go on and the call be
     * freed. */
    std::lock_guard<std::mutex> l (self->stats_lock);
    self->stats_in_flight--;
    self->stats_cv.notify_all ();
  }

  /* ---- media in ---- */

  static GstPadProbeReturn on_media (GstPad *, GstPadProbeInfo *, gpointer data)
  {
    static_cast<Attempt *> (data)->last_media_us.store (g_get_monotonic_time ());
    return GST_PAD_PROBE_OK;
  }

  static void on_pad_added (GstElement *, GstPad *pad, gpointer data)
  {
    auto *a = static_cast<Attempt *> (data);
    Impl *self = a->impl;
    if (GST_PAD_DIRECTION (pad) != GST_PAD_SRC)
      return;
    {
      /* No new branch in a pipeline that is being torn down. */
      std::lock_guard<std::mutex> l (self->lock);
      if (a->tearing_down)
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
    gst_app_sink_set_callbacks (GST_APP_SINK (sink), &callbacks, a, nullptr);
    gst_object_unref (sink);
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_media, a, nullptr);
    gst_bin_add (GST_BIN (a->pipeline), bin);
    gst_element_sync_state_with_parent (bin);
    GstPad *sinkpad = gst_element_get_static_pad (bin, "sink");
    if (gst_pad_link (pad, sinkpad) != GST_PAD_LINK_OK)
      GST_ERROR ("cannot link the agent's audio to the decoder");
    gst_object_unref (sinkpad);
  }

  static GstFlowReturn on_agent_sample (GstAppSink *sink, gpointer data)
  {
    Impl *self = static_cast<Attempt *> (data)->impl;
    GstSample *sample = gst_app_sink_pull_sample (sink);
    if (!sample)
      return GST_FLOW_EOS;
    GstBuffer *buffer = gst_sample_get_buffer (sample);
    if (buffer && g_get_monotonic_time () < self->discard_until_us.load ()) {
      std::lock_guard<std::mutex> l (self->lock);
      self->stats.agent_audio_discarded++;
    } else if (buffer) {
      for (auto &o : self->observers_snapshot ())
        o->on_audio (buffer);
    }
    gst_sample_unref (sample);
    return GST_FLOW_OK;
  }

  /* ---- the data channel ----
   * Its callbacks run under webrtcbin's lock: they only copy and post. */

  static void on_channel_open (GstWebRTCDataChannel *, gpointer data)
  {
    auto *a = static_cast<Attempt *> (data);
    Impl *self = a->impl;
    self->on_worker (a->gen, [self] (Attempt &a) { self->channel_opened (a); });
  }

  void channel_opened (Attempt &a)
  {
    cancel (&connect_timer);
    gsize limit;
    {
      std::lock_guard<std::mutex> l (lock);
      channel_open = true;
      limit = max_message;
      agent_spoke = false;
      stats.connected_us = g_get_monotonic_time ();
      if (stats.connect_time_us < 0)
        stats.connect_time_us = stats.connected_us - stats.started_us;
    }
    std::string error;
    if (!send_now (build_session_update (settings.session), &error))
      GST_WARNING ("call %s: session.update not sent: %s", name.c_str (),
          error.c_str ());
    /* The conversation so far, so that the agent keeps its context. */
    guint64 replayed = 0;
    for (const auto &item : history.replay_events (limit))
      replayed += send_now (item, &error) ? 1 : 0;
    if (replayed)
      GST_INFO ("call %s: %" G_GUINT64_FORMAT " conversation items replayed",
          name.c_str (), replayed);
    {
      std::lock_guard<std::mutex> l (lock);
      stats.history_replayed += replayed;
    }
    a.connected_us = g_get_monotonic_time ();
    const unsigned gen = a.gen;
    stable_timer = worker.post_after (settings.reconnect.stable_after_ms,
        [this, gen] {
          stable_timer = 0;
          if (current (gen))
            supervisor.stable ();
        });
    arm_media_check (gen);
    arm_stats (gen);
    publish (supervisor.connected ());
  }

  static void on_channel_close (GstWebRTCDataChannel *, gpointer data)
  {
    auto *a = static_cast<Attempt *> (data);
    Impl *self = a->impl;
    self->on_worker (a->gen, [self] (Attempt &) {
      self->fault (FaultKind::ChannelClosed,
          "the far end closed the oai-events data channel");
    });
  }

  static void on_channel_error (GstWebRTCDataChannel *, GError *error,
      gpointer data)
  {
    auto *a = static_cast<Attempt *> (data);
    Impl *self = a->impl;
    std::string message = std::string ("data channel error: ") +
        (error ? error->message : "unknown");
    self->on_worker (a->gen, [self, message] (Attempt &) {
      self->fault (FaultKind::ChannelClosed, message);
    });
  }

  static void on_channel_string (GstWebRTCDataChannel *, gchar *str,
      gpointer data)
  {
    auto *a = static_cast<Attempt *> (data);
    Impl *self = a->impl;
    std::string text (str ? str : "");
    self->on_worker (a->gen, [self, text] (Attempt &a) {
      self->handle_message (a, text);
    });
  }

  static void on_channel_data (GstWebRTCDataChannel *, GBytes *bytes,
      gpointer data)
  {
    auto *a = static_cast<Attempt *> (data);
    Impl *self = a->impl;
    gsize size = 0;
    const char *p = bytes ?
        static_cast<const char *> (g_bytes_get_data (bytes, &size)) : nullptr;
    std::string text (p ? p : "", size);
    self->on_worker (a->gen, [self, text] (Attempt &a) {
      self->handle_message (a, text);
    });
  }

  /* One received message: an event, part of one (the transport splits
   * messages over its limit), or junk, which is counted and never fatal. */
  void handle_message (Attempt &a, const std::string &text)
  {
    const unsigned gen = a.gen;
    for (Assembled &piece : a.assembler.feed (text)) {
      handle_piece (piece);
      /* An event may end the attempt (session_expired) or the call. */
      if (!current (gen))
        return;
    }
  }

  void handle_piece (Assembled &piece)
  {
    if (piece.kind != Assembled::Kind::Event) {
      {
        std::lock_guard<std::mutex> l (lock);
        (piece.kind == Assembled::Kind::Oversized ? stats.events_oversized :
            stats.events_malformed)++;
      }
      GST_WARNING ("call %s: ignoring a %s server message (%zu bytes in %u "
          "piece(s)): %s", name.c_str (), assembled_kind_name (piece.kind),
          piece.bytes, piece.pieces, piece.why.c_str ());
      return;
    }
    const ServerEvent &event = *piece.event;
    const EventMeaning meaning = interpret_server_event (event.type, piece.text);
    {
      std::lock_guard<std::mutex> l (lock);
      stats.events_in++;
      stats.events_reassembled += piece.reassembled () ? 1 : 0;
      stats.events_unknown += is_known_server_event (event.type) ? 0 : 1;
      stats.events_in_by_type[event.type]++;
      if (meaning.usage)
        stats.tokens += *meaning.usage;
      agent_spoke = agent_spoke || meaning.agent_spoke;
    }
    GST_LOG ("call %s: server event %s", name.c_str (), event.type.c_str ());
    history.observe_server_event (event.type, piece.text);
    /* First: the audio of an interrupted reply must go before anything else
     * is done with the event. */
    if (meaning.interrupts_audio)
      interrupt ();
    each_observer ([&] (CallObserver &o, bool announce) {
      o.on_server_event (event.type, piece.text, announce);
      if (meaning.transcript)
        o.on_transcript (*meaning.transcript, announce);
      if (meaning.function_call)
        o.on_function_call (*meaning.function_call, announce);
    });
    if (closing)
      return;
    if (event.type == "error" && event.error_code == "session_expired")
      fault (FaultKind::SessionExpired, "the service ended the call at its "
          "time limit: " + event.error_message);
  }

  /* Sends on the worker thread; the caller has checked the text. */
  bool send_now (const std::string &json, std::string *error,
      const std::string &type = std::string ())
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
    std::string t = type;
    if (t.empty ())
      t = check_client_event (json, nullptr).value_or ("unknown");
    stats.events_out_by_type[t]++;
    return true;
  }

  /* ---- bus ---- */

  static gboolean on_bus_message (GstBus *, GstMessage *msg, gpointer data)
  {
    auto *a = static_cast<Attempt *> (data);
    Impl *self = a->impl;
    if (GST_MESSAGE_TYPE (msg) != GST_MESSAGE_ERROR)
      return G_SOURCE_CONTINUE;
    GError *err = nullptr;
    gchar *dbg = nullptr;
    gst_message_parse_error (msg, &err, &dbg);
    const char *source = GST_OBJECT_NAME (GST_MESSAGE_SRC (msg));
    GST_WARNING ("call %s: internal error from %s: %s (%s)", self->name.c_str (),
        source, err->message, dbg ? dbg : "");
    const bool dtls = g_str_has_prefix (source, "dtls");
    std::string message = std::string (dtls ? "DTLS error: " :
        "internal pipeline error: ") + err->message;
    g_error_free (err);
    g_free (dbg);
    if (self->current (a->gen))
      self->fault (dtls ? FaultKind::Dtls : FaultKind::Pipeline, message);
    return G_SOURCE_CONTINUE;
  }

  /* ---- teardown (on the worker) ---- */

  void shutdown ()
  {
    ConnectionState before = owner->state_.load ();
    closing = true;
    cancel (&retry_timer);
    if (attempt && attempt->have_credentials && !attempt->call_id.empty () &&
        http && signaller) {
      {
        std::lock_guard<std::mutex> l (lock);
        channel_open = false;
      }
      /* Shared: the answer may come after this wait has given up. */
      auto done = std::make_shared<bool> (false);
      signaller->hangup (*http, attempt->credentials, attempt->call_id,
          [done] { *done = true; });
      /* Bounded: a dead network must not hold up the user's state change. */
      worker.iterate_until ([done] { return *done; }, 2000);
    }
    end_attempt (false);
    if (before != ConnectionState::Failed && before != ConnectionState::Idle) {
      owner->state_.store (ConnectionState::Closed);
      std::lock_guard<std::mutex> l (lock);
      stats.state = ConnectionState::Closed;
    }
    http.reset ();
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
  std::string t = *type;
  impl_->worker.post ([impl, json, t] {
    if (impl->closing)
      return;
    std::string err;
    if (impl->send_now (json, &err, t))
      impl->history.observe_client_event (json);
    else
      GST_WARNING ("call %s: event not sent: %s", impl->name.c_str (),
          err.c_str ());
  });
  return true;
}

bool Call::update_session (const SessionConfig &full, unsigned changed,
    std::string *error)
{
  {
    std::lock_guard<std::mutex> l (impl_->lock);
    if ((changed & kSessionVoice) && impl_->agent_spoke && impl_->channel_open) {
      if (error)
        *error = "the voice cannot change once the agent has spoken in a call";
      return false;
    }
  }
  Impl *impl = impl_.get ();
  impl_->worker.post ([impl, full, changed] {
    if (impl->closing)
      return;
    impl->settings.session = full;
    bool open;
    {
      std::lock_guard<std::mutex> l (impl->lock);
      open = impl->channel_open;
    }
    /* Not open: the next call starts with the whole session anyway. */
    std::string err;
    if (open && !impl->send_now (build_session_update (full, changed), &err,
            "session.update"))
      GST_WARNING ("call %s: session.update not sent: %s", impl->name.c_str (),
          err.c_str ());
  });
  return true;
}

void Call::interrupt ()
{
  Impl *impl = impl_.get ();
  impl_->worker.post ([impl] {
    if (!impl->closing)
      impl->interrupt ();
  });
}

bool Call::send_function_output (const std::string &call_id,
    const std::string &output, std::string *error)
{
  if (call_id.empty ()) {
    if (error)
      *error = "no call_id given";
    return false;
  }
  return send_event (build_function_call_output (call_id, output), error) &&
      send_event (build_simple_event ("response.create"), error);
}

gsize Call::max_message_size () const
{
  std::lock_guard<std::mutex> l (impl_->lock);
  return impl_->max_message;
}

CallStats Call::stats () const
{
  std::lock_guard<std::mutex> l (impl_->lock);
  return impl_->stats;
}

}  // namespace rt
