// connect-bench: how long a call takes to come up.
//
// For two kinds of client it measures, from just before the pipeline is set
// to PLAYING, the time to the `session.created` server event and to the
// first non-silent audio coming back (the local server echoes the caller's
// tone while its agent is quiet):
//
//   elements  ephemeraltokenprovider + openairealtimesink/openairealtimesrc
//   bare      a plain webrtcbin client with default settings, written the
//             way webrtcbin's examples teach (offer, wait for gathering,
//             POST the SDP, set the answer)
//
// The parent process starts one local realtime-server and re-executes
// itself once per kind (`--kind bare|elements`), so process-wide caches (the
// DTLS certificate above all) are not shared between the kinds. Each child
// prints one machine-readable line per call on stdout; the parent collects
// them, prints a table and can write it as Markdown.

#include "connect_config.h"

#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

extern char **environ;

namespace {

/* ------------------------------------------------------------------ */
/* Small helpers shared by both modes                                 */
/* ------------------------------------------------------------------ */

constexpr double kAudibleRms = 0.02;  // of full scale; the echoed tone is ~0.5

gint64 now_us ()
{
  return g_get_monotonic_time ();
}

double cpu_seconds (const struct rusage &ru)
{
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
      (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double self_cpu_seconds ()
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return cpu_seconds (ru);
}

/* Runs fn on the default main context (the child's main thread). */
void post_main (std::function<void ()> fn)
{
  auto *f = new std::function<void ()> (std::move (fn));
  GSource *s = g_idle_source_new ();
  g_source_set_priority (s, G_PRIORITY_DEFAULT);
  g_source_set_callback (s, [] (gpointer d) -> gboolean {
    (*static_cast<std::function<void ()> *> (d)) ();
    return G_SOURCE_REMOVE;
  }, f, [] (gpointer d) { delete static_cast<std::function<void ()> *> (d); });
  g_source_attach (s, nullptr);
  g_source_unref (s);
}

/* Iterates the default main context until done() or the deadline (µs,
 * monotonic). Other threads wake it with g_main_context_wakeup(). */
bool loop_until (const std::function<bool ()> &done, gint64 deadline)
{
  GMainContext *ctx = g_main_context_default ();
  while (!done ()) {
    gint64 left = deadline - now_us ();
    if (left <= 0)
      return false;
    GSource *wake = g_timeout_source_new (static_cast<guint> (left / 1000 + 1));
    g_source_set_callback (wake, [] (gpointer) -> gboolean {
      return G_SOURCE_REMOVE;
    }, nullptr, nullptr);
    g_source_attach (wake, ctx);
    g_main_context_iteration (ctx, TRUE);
    g_source_destroy (wake);
    g_source_unref (wake);
  }
  return true;
}

/* RMS of interleaved S16 samples, as a fraction of full scale. */
double rms_s16 (GstBuffer *buffer)
{
  GstMapInfo map;
  if (!gst_buffer_map (buffer, &map, GST_MAP_READ))
    return 0.0;
  const gsize n = map.size / 2;
  double sum = 0.0;
  for (gsize i = 0; i < n; i++) {
    gint16 v;
    memcpy (&v, map.data + 2 * i, 2);
    sum += static_cast<double> (v) * v;
  }
  gst_buffer_unmap (buffer, &map);
  return n ? std::sqrt (sum / n) / 32768.0 : 0.0;
}

/* The first time something happened, set once from any thread. */
struct Moment {
  std::atomic<gint64> at {0};
  bool set (gint64 t)
  {
    gint64 expected = 0;
    if (!at.compare_exchange_strong (expected, t))
      return false;
    g_main_context_wakeup (nullptr);
    return true;
  }
  bool happened () const { return at.load () != 0; }
};

/* Named moments of one call, relative to its t0, first occurrence wins. */
class PhaseLog {
 public:
  void reset ()
  {
    std::lock_guard<std::mutex> l (lock_);
    marks_.clear ();
  }
  void mark (const std::string &name, gint64 t = 0)
  {
    if (!t)
      t = now_us ();
    std::lock_guard<std::mutex> l (lock_);
    for (const auto &m : marks_)
      if (m.first == name)
        return;
    marks_.emplace_back (name, t);
  }
  std::vector<std::pair<std::string, gint64>> take ()
  {
    std::lock_guard<std::mutex> l (lock_);
    auto out = marks_;
    std::stable_sort (out.begin (), out.end (),
        [] (const auto &a, const auto &b) { return a.second < b.second; });
    return out;
  }

 private:
  std::mutex lock_;
  std::vector<std::pair<std::string, gint64>> marks_;
};

PhaseLog phases;

/* ------------------------------------------------------------------ */
/* Child side: one kind of client, N calls                            */
/* ------------------------------------------------------------------ */

struct ChildOptions {
  std::string kind;
  std::string server;  // base URL of the running server
  std::string key;
  int runs = 15;
  int timeout_s = 10;
  bool phases = true;
};

struct RunResult {
  double session_ms = -1;
  double audio_ms = -1;
  double cpu_ms = -1;
  std::vector<std::pair<std::string, double>> phases;
  std::string error;
};

void finish_result (RunResult *r, gint64 t0, const Moment &session,
    const Moment &audio, double cpu0)
{
  if (session.happened ()) {
    r->session_ms = (session.at.load () - t0) / 1000.0;
    phases.mark ("session.created", session.at.load ());
  }
  if (audio.happened ()) {
    r->audio_ms = (audio.at.load () - t0) / 1000.0;
    phases.mark ("first audio", audio.at.load ());
  }
  r->cpu_ms = (self_cpu_seconds () - cpu0) * 1000.0;
  for (const auto &m : phases.take ())
    if (m.second >= t0)
      r->phases.emplace_back (m.first, (m.second - t0) / 1000.0);
}

/* Phases of the elements' calls, read from their own debug log (categories
 * realtimecall, realtimecredentials, realtimesignalling) and webrtcbin's. */
void capture_log (GstDebugCategory *category, GstDebugLevel, const gchar *,
    const gchar *, gint, GObject *, GstDebugMessage *message, gpointer)
{
  const char *cat = gst_debug_category_get_name (category);
  const char *text = gst_debug_message_get (message);
  if (!cat || !text)
    return;
  const gint64 t = now_us ();
  if (strcmp (cat, "realtimecall") == 0) {
    if (strstr (text, ": connecting (attempt"))
      phases.mark ("call started", t);
    else if (strstr (text, ": answered"))
      phases.mark ("answer received", t);
    else if (strstr (text, ": connected (attempt"))
      phases.mark ("channel open", t);
  } else if (strcmp (cat, "realtimecredentials") == 0) {
    if (g_str_has_prefix (text, "minted "))
      phases.mark ("secret minted", t);
  } else if (strcmp (cat, "realtimesignalling") == 0) {
    if (g_str_has_prefix (text, "posting a"))
      phases.mark ("offer posted", t);
  } else if (strcmp (cat, "webrtcbin") == 0) {
    /* No "offer created" here: webrtcbin logs nothing when the offer is
     * ready, and the elements post it right away ("offer posted"). */
    if (g_str_has_prefix (text, "ICE connection state change") &&
        (strstr (text, "to connected") || strstr (text, "to completed")))
      phases.mark ("ICE connected", t);
    else if (g_str_has_prefix (text, "Peer connection state change") &&
        strstr (text, "to connected"))
      phases.mark ("DTLS connected", t);
  }
}

/* ---- kind: elements ---- */

struct ElementsRun {
  Moment session;
  Moment audio;
  std::string error;  // main thread
};

void on_elements_server_event (GstElement *, const char *type, const char *,
    gpointer data)
{
  auto *run = static_cast<ElementsRun *> (data);
  if (g_strcmp0 (type, "session.created") == 0)
    run->session.set (now_us ());
}

GstFlowReturn on_audio_sample (GstAppSink *sink, gpointer data)
{
  auto *first_audio = static_cast<Moment *> (data);
  GstSample *sample = gst_app_sink_pull_sample (sink);
  if (!sample)
    return GST_FLOW_EOS;
  const gint64 t = now_us ();
  if (!first_audio->happened ()) {
    GstBuffer *buffer = gst_sample_get_buffer (sample);
    if (buffer && rms_s16 (buffer) > kAudibleRms)
      first_audio->set (t);
  }
  gst_sample_unref (sample);
  return GST_FLOW_OK;
}

gboolean on_elements_bus (GstBus *, GstMessage *msg, gpointer data)
{
  auto *run = static_cast<ElementsRun *> (data);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR && run->error.empty ()) {
    GError *err = nullptr;
    gst_message_parse_error (msg, &err, nullptr);
    run->error = std::string (GST_OBJECT_NAME (GST_MESSAGE_SRC (msg))) + ": " +
        (err ? err->message : "error");
    g_clear_error (&err);
  }
  return G_SOURCE_CONTINUE;
}

RunResult run_elements (const ChildOptions &o)
{
  RunResult result;
  ElementsRun run;
  GError *err = nullptr;
  GstElement *pipe = gst_parse_launch (
      "ephemeraltokenprovider name=provider "
      "audiotestsrc is-live=true freq=440 ! openairealtimesink name=rtsink "
      "openairealtimesrc name=rtsrc ! appsink name=out sync=false", &err);
  if (!pipe) {
    result.error = std::string ("cannot build the pipeline: ") +
        (err ? err->message : "?");
    g_clear_error (&err);
    return result;
  }
  GstElement *provider = gst_bin_get_by_name (GST_BIN (pipe), "provider");
  g_object_set (provider, "api-base", o.server.c_str (), "api-key",
      o.key.c_str (), nullptr);
  gst_object_unref (provider);
  for (const char *name : { "rtsink", "rtsrc" }) {
    GstElement *e = gst_bin_get_by_name (GST_BIN (pipe), name);
    g_signal_connect (e, "server-event", G_CALLBACK (on_elements_server_event),
        &run);
    gst_object_unref (e);
  }
  GstElement *out = gst_bin_get_by_name (GST_BIN (pipe), "out");
  GstAppSinkCallbacks callbacks = {};
  callbacks.new_sample = on_audio_sample;
  gst_app_sink_set_callbacks (GST_APP_SINK (out), &callbacks, &run.audio,
      nullptr);
  gst_object_unref (out);
  GstBus *bus = gst_pipeline_get_bus (GST_PIPELINE (pipe));
  guint watch = gst_bus_add_watch (bus, on_elements_bus, &run);
  gst_object_unref (bus);

  phases.reset ();
  const double cpu0 = self_cpu_seconds ();
  const gint64 t0 = now_us ();
  if (gst_element_set_state (pipe, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE)
    run.error = "the pipeline did not go to PLAYING";
  const gint64 deadline = t0 + o.timeout_s * G_USEC_PER_SEC;
  loop_until ([&] {
    return !run.error.empty () ||
        (run.session.happened () && run.audio.happened ());
  }, deadline);
  /* The elements hang up on the way down. */
  gst_element_set_state (pipe, GST_STATE_NULL);
  g_source_remove (watch);
  /* run lives on this stack frame: nothing may call into it later. */
  for (const char *name : { "rtsink", "rtsrc" }) {
    GstElement *e = gst_bin_get_by_name (GST_BIN (pipe), name);
    g_signal_handlers_disconnect_by_data (e, &run);
    gst_object_unref (e);
  }
  gst_object_unref (pipe);
  finish_result (&result, t0, run.session, run.audio, cpu0);
  if (!run.error.empty ())
    result.error = run.error;
  else if (!run.session.happened ())
    result.error = "no session.created within " + std::to_string (o.timeout_s) + " s";
  else if (!run.audio.happened ())
    result.error = "no audible audio within " + std::to_string (o.timeout_s) + " s";
  return result;
}

/* ---- kind: bare webrtcbin ---- */

struct HttpReply {
  bool done = false;
  guint status = 0;
  std::string body;
  std::string location;
  std::string error;
};

/* POST on the default main context; *reply is filled in when it is done. */
void http_post (SoupSession *session, const std::string &url,
    const std::string &bearer, const char *content_type,
    const std::string &body, std::shared_ptr<HttpReply> reply)
{
  SoupMessage *msg = soup_message_new ("POST", url.c_str ());
  if (!msg) {
    reply->error = "bad URL " + url;
    reply->done = true;
    return;
  }
  soup_message_headers_replace (soup_message_get_request_headers (msg),
      "Authorization", ("Bearer " + bearer).c_str ());
  if (content_type) {
    GBytes *b = g_bytes_new (body.data (), body.size ());
    soup_message_set_request_body_from_bytes (msg, content_type, b);
    g_bytes_unref (b);
  }
  struct Pending {
    SoupMessage *msg;
    std::shared_ptr<HttpReply> reply;
  };
  soup_session_send_and_read_async (session, msg, G_PRIORITY_DEFAULT, nullptr,
      [] (GObject *source, GAsyncResult *res, gpointer data) {
        std::unique_ptr<Pending> p (static_cast<Pending *> (data));
        GError *error = nullptr;
        GBytes *bytes = soup_session_send_and_read_finish (SOUP_SESSION (source),
            res, &error);
        if (error) {
          p->reply->error = error->message;
          g_error_free (error);
        } else {
          p->reply->status = soup_message_get_status (p->msg);
          gsize n = 0;
          const char *d = static_cast<const char *> (g_bytes_get_data (bytes, &n));
          p->reply->body.assign (d ? d : "", n);
          g_bytes_unref (bytes);
          const char *loc = soup_message_headers_get_one (
              soup_message_get_response_headers (p->msg), "Location");
          p->reply->location = loc ? loc : "";
        }
        g_object_unref (p->msg);
        p->reply->done = true;
      }, new Pending { msg, reply });
}

std::string json_string_member (const std::string &json, const char *member)
{
  std::string out;
  JsonParser *parser = json_parser_new ();
  if (json_parser_load_from_data (parser, json.c_str (), json.size (), nullptr)) {
    JsonNode *root = json_parser_get_root (parser);
    if (root && JSON_NODE_HOLDS_OBJECT (root)) {
      JsonObject *obj = json_node_get_object (root);
      if (json_object_has_member (obj, member)) {
        JsonNode *n = json_object_get_member (obj, member);
        if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING)
          out = json_node_get_string (n);
      }
    }
  }
  g_object_unref (parser);
  return out;
}

struct BareRun {
  GstElement *pipe = nullptr;
  GstElement *webrtc = nullptr;
  GstWebRTCDataChannel *channel = nullptr;
  bool finished = false;  // main thread: webrtc may be gone
  bool negotiation_needed = false;
  GstWebRTCSessionDescription *offer = nullptr;
  bool offer_done = false;
  bool local_set = false;
  bool remote_set = false;
  bool gathering_complete = false;
  Moment session;
  Moment audio;
  std::string error;  // main thread

  ~BareRun ()
  {
    if (offer)
      gst_webrtc_session_description_free (offer);
  }
  void fail (const std::string &why)
  {
    if (error.empty ())
      error = why;
  }
};

using BareRef = std::shared_ptr<BareRun>;

gpointer new_ref (const BareRef &run)
{
  return new BareRef (run);
}

void free_ref (gpointer data)
{
  delete static_cast<BareRef *> (data);
}

void free_ref_closure (gpointer data, GClosure *)
{
  free_ref (data);
}

const BareRef &ref_of (gpointer data)
{
  return *static_cast<BareRef *> (data);
}

template <typename Callback>
void connect_ref (gpointer instance, const char *signal, Callback cb,
    const BareRef &run)
{
  g_signal_connect_data (instance, signal, G_CALLBACK (cb), new_ref (run),
      free_ref_closure, static_cast<GConnectFlags> (0));
}

void on_negotiation_needed (GstElement *, gpointer data)
{
  BareRef run = ref_of (data);
  post_main ([run] { run->negotiation_needed = true; });
}

/* webrtcbin notifies under its own lock: read the new state on the main
 * thread, never in the handler. */
void on_ice_gathering_state (GstElement *, GParamSpec *, gpointer data)
{
  BareRef run = ref_of (data);
  post_main ([run] {
    if (run->finished)
      return;
    GstWebRTCICEGatheringState state;
    g_object_get (run->webrtc, "ice-gathering-state", &state, nullptr);
    if (state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE) {
      run->gathering_complete = true;
      phases.mark ("gathering complete");
    }
  });
}

void on_ice_connection_state (GstElement *, GParamSpec *, gpointer data)
{
  BareRef run = ref_of (data);
  const gint64 t = now_us ();
  post_main ([run, t] {
    if (run->finished)
      return;
    GstWebRTCICEConnectionState state;
    g_object_get (run->webrtc, "ice-connection-state", &state, nullptr);
    if (state == GST_WEBRTC_ICE_CONNECTION_STATE_CONNECTED ||
        state == GST_WEBRTC_ICE_CONNECTION_STATE_COMPLETED)
      phases.mark ("ICE connected", t);
    else if (state == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED)
      run->fail ("ICE failed");
  });
}

void on_connection_state (GstElement *, GParamSpec *, gpointer data)
{
  BareRef run = ref_of (data);
  const gint64 t = now_us ();
  post_main ([run, t] {
    if (run->finished)
      return;
    GstWebRTCPeerConnectionState state;
    g_object_get (run->webrtc, "connection-state", &state, nullptr);
    if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED)
      phases.mark ("DTLS connected", t);
    else if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED)
      run->fail ("the peer connection failed");
  });
}

/* Incoming media: decode it as webrtcbin's examples do, into an appsink. */
void on_pad_added (GstElement *, GstPad *pad, gpointer data)
{
  BareRef run = ref_of (data);
  if (GST_PAD_DIRECTION (pad) != GST_PAD_SRC)
    return;
  GError *err = nullptr;
  GstElement *bin = gst_parse_bin_from_description (
      "rtpopusdepay ! opusdec ! audioconvert ! audio/x-raw,format=S16LE ! "
      "appsink name=agent sync=false", TRUE, &err);
  if (!bin) {
    std::string why = std::string ("cannot build the decoder: ") +
        (err ? err->message : "?");
    g_clear_error (&err);
    post_main ([run, why] { run->fail (why); });
    return;
  }
  GstElement *sink = gst_bin_get_by_name (GST_BIN (bin), "agent");
  GstAppSinkCallbacks callbacks = {};
  callbacks.new_sample = [] (GstAppSink *s, gpointer d) {
    return on_audio_sample (s, &ref_of (d)->audio);
  };
  gst_app_sink_set_callbacks (GST_APP_SINK (sink), &callbacks, new_ref (run),
      free_ref);
  gst_object_unref (sink);
  gst_bin_add (GST_BIN (run->pipe), bin);
  gst_element_sync_state_with_parent (bin);
  GstPad *sinkpad = gst_element_get_static_pad (bin, "sink");
  if (gst_pad_link (pad, sinkpad) != GST_PAD_LINK_OK)
    post_main ([run] { run->fail ("cannot link the incoming audio"); });
  gst_object_unref (sinkpad);
}

void on_channel_open (GstWebRTCDataChannel *, gpointer)
{
  phases.mark ("channel open");
}

void on_channel_string (GstWebRTCDataChannel *, gchar *text, gpointer data)
{
  const gint64 t = now_us ();
  if (text && json_string_member (text, "type") == "session.created")
    ref_of (data)->session.set (t);
}

void on_channel_error (GstWebRTCDataChannel *, GError *error, gpointer data)
{
  BareRef run = ref_of (data);
  std::string why = std::string ("data channel error: ") +
      (error ? error->message : "?");
  post_main ([run, why] { run->fail (why); });
}

void on_channel_close (GstWebRTCDataChannel *, gpointer data)
{
  BareRef run = ref_of (data);
  post_main ([run] {
    if (!run->finished && !run->session.happened ())
      run->fail ("the data channel closed");
  });
}

void on_offer_created (GstPromise *promise, gpointer data)
{
  BareRef run = ref_of (data);
  GstWebRTCSessionDescription *offer = nullptr;
  const GstStructure *reply = gst_promise_get_reply (promise);
  if (reply)
    gst_structure_get (reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION,
        &offer, nullptr);
  gst_promise_unref (promise);
  phases.mark ("offer created");
  post_main ([run, offer] {
    run->offer = offer;
    run->offer_done = true;
    if (!offer)
      run->fail ("webrtcbin created no offer");
  });
}

/* Waits for a promise given to set-*-description; *flag becomes true. */
GstPromise *description_promise (const BareRef &run, bool remote)
{
  struct Ctx {
    BareRef run;
    bool remote;
  };
  return gst_promise_new_with_change_func ([] (GstPromise *promise, gpointer d) {
    auto *c = static_cast<Ctx *> (d);
    const GstStructure *reply = gst_promise_get_reply (promise);
    std::string why;
    if (reply && gst_structure_has_field (reply, "error")) {
      GError *error = nullptr;
      gst_structure_get (reply, "error", G_TYPE_ERROR, &error, nullptr);
      why = std::string ("webrtcbin refused the description: ") +
          (error ? error->message : "?");
      g_clear_error (&error);
    }
    BareRef run = c->run;
    const bool remote = c->remote;
    gst_promise_unref (promise);
    post_main ([run, remote, why] {
      if (!why.empty ())
        run->fail (why);
      (remote ? run->remote_set : run->local_set) = true;
    });
  }, new Ctx { run, remote }, [] (gpointer d) { delete static_cast<Ctx *> (d); });
}

RunResult run_bare (const ChildOptions &o)
{
  RunResult result;
  auto run = std::make_shared<BareRun> ();
  GError *err = nullptr;
  run->pipe = gst_parse_launch (
      "webrtcbin name=webrtc bundle-policy=max-bundle "
      "audiotestsrc is-live=true freq=440 ! audioconvert ! audioresample ! "
      "opusenc ! rtpopuspay pt=111 ! webrtc.", &err);
  if (!run->pipe) {
    result.error = std::string ("cannot build the pipeline: ") +
        (err ? err->message : "?");
    g_clear_error (&err);
    return result;
  }
  run->webrtc = gst_bin_get_by_name (GST_BIN (run->pipe), "webrtc");
  /* The one change from defaults any client of a server on this host needs
   * (the elements make it too): libnice leaves loopback out whenever another
   * interface exists. */
  if (o.server.find ("://127.") != std::string::npos) {
    GObject *ice = nullptr;
    gboolean added = FALSE;
    g_object_get (run->webrtc, "ice-agent", &ice, nullptr);
    g_signal_emit_by_name (ice, "add-local-ip-address", "127.0.0.1", &added);
    g_object_unref (ice);
  }
  connect_ref (run->webrtc, "on-negotiation-needed", on_negotiation_needed, run);
  connect_ref (run->webrtc, "notify::ice-gathering-state", on_ice_gathering_state, run);
  connect_ref (run->webrtc, "notify::ice-connection-state", on_ice_connection_state, run);
  connect_ref (run->webrtc, "notify::connection-state", on_connection_state, run);
  connect_ref (run->webrtc, "pad-added", on_pad_added, run);
  SoupSession *http = soup_session_new_with_options ("timeout", 5u, nullptr);
  std::string call_location;

  phases.reset ();
  const double cpu0 = self_cpu_seconds ();
  const gint64 t0 = now_us ();
  const gint64 deadline = t0 + o.timeout_s * G_USEC_PER_SEC;
  auto ok = [&] { return run->error.empty (); };
  auto wait_for = [&] (const bool &flag, const char *what) {
    if (!loop_until ([&] { return flag || !ok (); }, deadline))
      run->fail (std::string ("timed out waiting for ") + what);
    return ok ();
  };
  auto wait_http = [&] (const std::shared_ptr<HttpReply> &r, const char *what,
                       guint expect) {
    if (!wait_for (r->done, what))
      return false;
    if (!r->error.empty ())
      run->fail (std::string (what) + ": " + r->error);
    else if (r->status != expect)
      run->fail (std::string (what) + ": HTTP " + std::to_string (r->status) +
          " " + r->body.substr (0, 200));
    return ok ();
  };

  do {
    /* The channel must exist before the offer; webrtcbin wants READY. */
    gst_element_set_state (run->pipe, GST_STATE_READY);
    g_signal_emit_by_name (run->webrtc, "create-data-channel", "oai-events",
        nullptr, &run->channel);
    if (!run->channel) {
      run->fail ("webrtcbin created no data channel");
      break;
    }
    connect_ref (run->channel, "on-open", on_channel_open, run);
    connect_ref (run->channel, "on-message-string", on_channel_string, run);
    connect_ref (run->channel, "on-error", on_channel_error, run);
    connect_ref (run->channel, "on-close", on_channel_close, run);
    if (gst_element_set_state (run->pipe, GST_STATE_PLAYING) ==
        GST_STATE_CHANGE_FAILURE) {
      run->fail ("the pipeline did not go to PLAYING");
      break;
    }

    if (!wait_for (run->negotiation_needed, "on-negotiation-needed"))
      break;
    g_signal_emit_by_name (run->webrtc, "create-offer", nullptr,
        gst_promise_new_with_change_func (on_offer_created, new_ref (run),
            free_ref));
    if (!wait_for (run->offer_done, "the offer") || !run->offer)
      break;
    g_signal_emit_by_name (run->webrtc, "set-local-description", run->offer,
        description_promise (run, false));
    if (!wait_for (run->local_set, "set-local-description"))
      break;

    /* No trickle ICE: wait for the candidates, but 1.22.0 may never say
     * gathering is complete. */
    loop_until ([&] { return run->gathering_complete || !ok (); },
        std::min (deadline, now_us () + G_USEC_PER_SEC));
    if (!ok ())
      break;
    GstWebRTCSessionDescription *local = nullptr;
    g_object_get (run->webrtc, "local-description", &local, nullptr);
    if (!local) {
      run->fail ("no local description");
      break;
    }
    gchar *offer_text = gst_sdp_message_as_text (local->sdp);
    std::string offer_sdp = offer_text;
    g_free (offer_text);
    gst_webrtc_session_description_free (local);
    {
      int candidates = 0;
      for (size_t at = 0; (at = offer_sdp.find ("a=candidate:", at)) != std::string::npos; at++)
        candidates++;
      g_printerr ("bare: posting a %zu-byte offer with %d candidate(s), gathering %s\n",
          offer_sdp.size (), candidates,
          run->gathering_complete ? "complete" : "not complete after 1 s");
    }

    /* A fresh secret right before the POST. */
    auto mint = std::make_shared<HttpReply> ();
    http_post (http, o.server + "/v1/realtime/client_secrets", o.key,
        "application/json",
        "{\"expires_after\":{\"anchor\":\"created_at\",\"seconds\":60},"
        "\"session\":{\"type\":\"realtime\",\"model\":\"gpt-realtime\"}}",
        mint);
    if (!wait_http (mint, "minting a secret", 200))
      break;
    const std::string secret = json_string_member (mint->body, "value");
    if (secret.empty ()) {
      run->fail ("the mint reply has no value");
      break;
    }
    phases.mark ("secret minted");

    auto answer = std::make_shared<HttpReply> ();
    phases.mark ("offer posted");
    http_post (http, o.server + "/v1/realtime/calls", secret,
        "application/sdp", offer_sdp, answer);
    if (!wait_http (answer, "posting the offer", 201))
      break;
    phases.mark ("answer received");
    call_location = answer->location;
    GstSDPMessage *sdp = nullptr;
    if (gst_sdp_message_new_from_text (answer->body.c_str (), &sdp) != GST_SDP_OK) {
      run->fail ("the answer is not SDP");
      break;
    }
    GstWebRTCSessionDescription *desc =
        gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
    g_signal_emit_by_name (run->webrtc, "set-remote-description", desc,
        description_promise (run, true));
    gst_webrtc_session_description_free (desc);
    if (!wait_for (run->remote_set, "set-remote-description"))
      break;

    loop_until ([&] {
      return !ok () || (run->session.happened () && run->audio.happened ());
    }, deadline);
  } while (false);

  /* Hang up (bounded), then tear the pipeline down. */
  if (!call_location.empty ()) {
    std::string url = call_location;
    if (url.rfind ("http", 0) != 0)
      url = o.server + url;
    auto hangup = std::make_shared<HttpReply> ();
    http_post (http, url + "/hangup", o.key, nullptr, "", hangup);
    loop_until ([&] { return hangup->done; }, now_us () + 2 * G_USEC_PER_SEC);
  }
  run->finished = true;
  gst_element_set_state (run->pipe, GST_STATE_NULL);
  finish_result (&result, t0, run->session, run->audio, cpu0);
  if (!run->error.empty ())
    result.error = run->error;
  else if (!run->session.happened ())
    result.error = "no session.created within " + std::to_string (o.timeout_s) + " s";
  else if (!run->audio.happened ())
    result.error = "no audible audio within " + std::to_string (o.timeout_s) + " s";

  if (run->channel) {
    g_signal_handlers_disconnect_matched (run->channel, G_SIGNAL_MATCH_FUNC, 0,
        0, nullptr, reinterpret_cast<gpointer> (on_channel_close), nullptr);
    g_object_unref (run->channel);
    run->channel = nullptr;
  }
  gst_object_unref (run->webrtc);
  gst_object_unref (run->pipe);
  soup_session_abort (http);
  g_object_unref (http);
  /* Let late callbacks (already posted) run while run is still alive. */
  while (g_main_context_iteration (nullptr, FALSE)) {
  }
  return result;
}

void print_result (int index, const RunResult &r)
{
  auto num = [] (double v) {
    char buf[32];
    if (v < 0)
      return std::string ("-");
    g_ascii_formatd (buf, sizeof buf, "%.2f", v);
    return std::string (buf);
  };
  std::string line = "RUN " + std::to_string (index) + " session=" +
      num (r.session_ms) + " audio=" + num (r.audio_ms) + " cpu=" +
      num (r.cpu_ms) + " phases=";
  for (size_t i = 0; i < r.phases.size (); i++) {
    std::string name = r.phases[i].first;
    std::replace (name.begin (), name.end (), ' ', '_');
    line += (i ? "," : "") + name + ":" + num (r.phases[i].second);
  }
  if (r.phases.empty ())
    line += "-";
  if (!r.error.empty ()) {
    std::string e = r.error;
    std::replace (e.begin (), e.end (), '\n', ' ');
    line += " error=" + e;
  }
  printf ("%s\n", line.c_str ());
  fflush (stdout);
}

int child_main (const ChildOptions &o)
{
  gst_init (nullptr, nullptr);
  if (o.phases) {
    gst_debug_set_active (TRUE);
    if (!g_getenv ("GST_DEBUG"))
      gst_debug_remove_log_function (gst_debug_log_default);
    gst_debug_add_log_function (capture_log, &phases, nullptr);
    if (o.kind == "elements") {
      gst_debug_set_threshold_for_name ("realtimecall", GST_LEVEL_INFO);
      gst_debug_set_threshold_for_name ("realtimecredentials", GST_LEVEL_INFO);
      gst_debug_set_threshold_for_name ("realtimesignalling", GST_LEVEL_DEBUG);
      gst_debug_set_threshold_for_name ("webrtcbin", GST_LEVEL_INFO);
    }
  }
  const char *needed_bare[] = { "webrtcbin", "opusenc", "opusdec",
      "rtpopuspay", "rtpopusdepay", "audiotestsrc", "appsink", nullptr };
  const char *needed_elements[] = { "ephemeraltokenprovider",
      "openairealtimesink", "openairealtimesrc", "audiotestsrc", "appsink",
      nullptr };
  for (const char **n = o.kind == "bare" ? needed_bare : needed_elements; *n; n++) {
    GstElementFactory *f = gst_element_factory_find (*n);
    if (!f) {
      g_printerr ("connect-bench: element %s is missing (GST_PLUGIN_PATH=%s)\n",
          *n, g_getenv ("GST_PLUGIN_PATH") ? g_getenv ("GST_PLUGIN_PATH") : "");
      printf ("FATAL element %s is missing\n", *n);
      return 1;
    }
    gst_object_unref (f);
  }
  for (int i = 1; i <= o.runs; i++) {
    RunResult r = o.kind == "bare" ? run_bare (o) : run_elements (o);
    print_result (i, r);
  }
  return 0;
}

/* ------------------------------------------------------------------ */
/* Parent side: the server, the children, the table                   */
/* ------------------------------------------------------------------ */

std::vector<pid_t> live_children;

void on_interrupt (int sig)
{
  for (pid_t p : live_children)
    if (p > 0)
      kill (p, SIGTERM);
  signal (sig, SIG_DFL);
  raise (sig);
}

struct Spawned {
  pid_t pid = -1;
  int out = -1;  // the child's stdout
};

bool spawn (const std::vector<std::string> &args,
    const std::vector<std::pair<std::string, std::string>> &env,
    const std::string &stderr_path, Spawned *child, std::string *error)
{
  int fds[2];
  if (pipe2 (fds, O_CLOEXEC) != 0) {
    *error = strerror (errno);
    return false;
  }
  std::vector<std::string> env_strings;
  for (char **e = environ; *e; e++) {
    bool replaced = false;
    for (const auto &kv : env)
      if (g_str_has_prefix (*e, (kv.first + "=").c_str ()))
        replaced = true;
    if (!replaced)
      env_strings.emplace_back (*e);
  }
  for (const auto &kv : env)
    env_strings.push_back (kv.first + "=" + kv.second);
  std::vector<char *> argv, envp;
  for (const auto &a : args)
    argv.push_back (const_cast<char *> (a.c_str ()));
  argv.push_back (nullptr);
  for (const auto &e : env_strings)
    envp.push_back (const_cast<char *> (e.c_str ()));
  envp.push_back (nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init (&actions);
  posix_spawn_file_actions_adddup2 (&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen (&actions, STDERR_FILENO,
      stderr_path.c_str (), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = -1;
  int rc = posix_spawnp (&pid, argv[0], &actions, nullptr, argv.data (),
      envp.data ());
  posix_spawn_file_actions_destroy (&actions);
  close (fds[1]);
  if (rc != 0) {
    close (fds[0]);
    *error = std::string ("cannot run ") + args[0] + ": " + strerror (rc);
    return false;
  }
  child->pid = pid;
  child->out = fds[0];
  live_children.push_back (pid);
  return true;
}

void forget_child (pid_t pid)
{
  live_children.erase (std::remove (live_children.begin (), live_children.end (),
      pid), live_children.end ());
}

/* Reads lines from fd until EOF, until on_line returns false, or until the
 * deadline. Returns false only on the deadline. */
bool read_lines (int fd, gint64 deadline,
    const std::function<bool (const std::string &)> &on_line)
{
  std::string pending;
  char buf[4096];
  for (;;) {
    gint64 left = deadline - now_us ();
    if (left <= 0)
      return false;
    struct pollfd p = { fd, POLLIN, 0 };
    int n = poll (&p, 1, static_cast<int> (std::min<gint64> (left / 1000 + 1, 1000)));
    if (n < 0 && errno != EINTR)
      return true;
    if (n <= 0)
      continue;
    ssize_t got = read (fd, buf, sizeof buf);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0) {
      if (!pending.empty ())
        on_line (pending);
      return true;
    }
    pending.append (buf, static_cast<size_t> (got));
    size_t nl;
    while ((nl = pending.find ('\n')) != std::string::npos) {
      std::string line = pending.substr (0, nl);
      pending.erase (0, nl + 1);
      if (!on_line (line))
        return true;
    }
  }
}

std::string tail_of_file (const std::string &path, int lines)
{
  gchar *text = nullptr;
  if (!g_file_get_contents (path.c_str (), &text, nullptr, nullptr))
    return "";
  std::string s = text;
  g_free (text);
  size_t at = s.size ();
  for (int i = 0; i <= lines && at != std::string::npos && at > 0; i++)
    at = s.rfind ('\n', at - 1);
  return at == std::string::npos ? s : s.substr (at + 1);
}

struct ParentOptions {
  int runs = 15;
  int timeout_s = 10;
  int warmup = 1;
  bool phases = true;
  bool verbose = false;
  std::string server_url;  // an already running server, instead of starting one
  std::string server_bin;
  std::string plugin_dir;
  std::string address;
  std::string key = "connect-bench-key";
  std::string markdown;
  std::vector<std::string> kinds = { "bare", "elements" };
};

struct KindResult {
  std::string kind;
  std::vector<RunResult> runs;
  double child_cpu_s = -1;
  std::string failure;  // the child itself failed
};

double parse_num (const std::string &s)
{
  if (s == "-" || s.empty ())
    return -1;
  return g_ascii_strtod (s.c_str (), nullptr);
}

bool parse_run_line (const std::string &line, RunResult *r)
{
  if (line.rfind ("RUN ", 0) != 0)
    return false;
  std::string rest = line;
  auto err = rest.find (" error=");
  if (err != std::string::npos) {
    r->error = rest.substr (err + 7);
    rest = rest.substr (0, err);
  }
  gchar **tokens = g_strsplit (rest.c_str (), " ", -1);
  for (gchar **t = tokens; *t; t++) {
    std::string tok = *t;
    auto eq = tok.find ('=');
    if (eq == std::string::npos)
      continue;
    std::string k = tok.substr (0, eq), v = tok.substr (eq + 1);
    if (k == "session")
      r->session_ms = parse_num (v);
    else if (k == "audio")
      r->audio_ms = parse_num (v);
    else if (k == "cpu")
      r->cpu_ms = parse_num (v);
    else if (k == "phases" && v != "-") {
      gchar **items = g_strsplit (v.c_str (), ",", -1);
      for (gchar **it = items; *it; it++) {
        std::string item = *it;
        auto colon = item.rfind (':');
        if (colon == std::string::npos)
          continue;
        std::string name = item.substr (0, colon);
        std::replace (name.begin (), name.end (), '_', ' ');
        r->phases.emplace_back (name, parse_num (item.substr (colon + 1)));
      }
      g_strfreev (items);
    }
  }
  g_strfreev (tokens);
  return true;
}

KindResult run_kind (const ParentOptions &o, const std::string &self,
    const std::string &kind, int runs, bool quiet)
{
  KindResult k;
  k.kind = kind;
  gchar *tmp = nullptr;
  int fd = g_file_open_tmp ("connect-bench-XXXXXX.log", &tmp, nullptr);
  if (fd >= 0)
    close (fd);
  std::string log_path = tmp ? tmp : "/dev/null";
  g_free (tmp);

  std::vector<std::string> args = { self, "--kind", kind, "--runs",
      std::to_string (runs), "--server", o.server_url, "--key", o.key,
      "--timeout", std::to_string (o.timeout_s) };
  if (!o.phases)
    args.push_back ("--no-phases");
  std::vector<std::pair<std::string, std::string>> env;
  if (!o.plugin_dir.empty ())
    env.emplace_back ("GST_PLUGIN_PATH", o.plugin_dir);
  Spawned child;
  std::string error;
  if (!spawn (args, env, log_path, &child, &error)) {
    k.failure = error;
    return k;
  }
  if (!quiet)
    fprintf (stderr, "%-8s ", kind.c_str ());
  const gint64 deadline = now_us () +
      static_cast<gint64> (runs) * (o.timeout_s + 5) * G_USEC_PER_SEC +
      30 * G_USEC_PER_SEC;
  bool in_time = read_lines (child.out, deadline, [&] (const std::string &line) {
    RunResult r;
    if (parse_run_line (line, &r)) {
      k.runs.push_back (r);
      if (!quiet)
        fprintf (stderr, "%s", r.error.empty () ? "." : "x");
    } else if (line.rfind ("FATAL ", 0) == 0) {
      k.failure = line.substr (6);
    }
    return true;
  });
  if (!quiet)
    fprintf (stderr, "\n");
  close (child.out);
  if (!in_time) {
    kill (child.pid, SIGKILL);
    k.failure = "the child did not finish in time (killed)";
  }
  int status = 0;
  struct rusage ru;
  if (wait4 (child.pid, &status, 0, &ru) == child.pid) {
    k.child_cpu_s = cpu_seconds (ru);
    if (k.failure.empty () && !(WIFEXITED (status) && WEXITSTATUS (status) == 0))
      k.failure = WIFSIGNALED (status) ?
          std::string ("the child died of signal ") + strsignal (WTERMSIG (status)) :
          "the child exited with status " + std::to_string (WEXITSTATUS (status));
  }
  forget_child (child.pid);
  if (k.failure.empty () && static_cast<int> (k.runs.size ()) < runs)
    k.failure = "only " + std::to_string (k.runs.size ()) + " of " +
        std::to_string (runs) + " calls reported";

  bool any_error = !k.failure.empty ();
  for (const auto &r : k.runs)
    any_error = any_error || !r.error.empty ();
  if (!quiet && (any_error || o.verbose)) {
    for (size_t i = 0; i < k.runs.size (); i++)
      if (!k.runs[i].error.empty ())
        fprintf (stderr, "  %s call %zu: %s\n", kind.c_str (), i + 1,
            k.runs[i].error.c_str ());
    if (!k.failure.empty ())
      fprintf (stderr, "  %s: %s\n", kind.c_str (), k.failure.c_str ());
    std::string tail = tail_of_file (log_path, o.verbose ? 200 : 25);
    if (!tail.empty ())
      fprintf (stderr, "  last lines of the %s child's stderr:\n%s\n",
          kind.c_str (), tail.c_str ());
  }
  g_unlink (log_path.c_str ());
  return k;
}

struct Summary {
  double cold = -1, median = -1, p90 = -1;
  int ok = 0, total = 0;
};

Summary summarize (const std::vector<RunResult> &runs,
    double RunResult::*field)
{
  Summary s;
  s.total = static_cast<int> (runs.size ());
  std::vector<double> warm;
  for (size_t i = 0; i < runs.size (); i++) {
    const double v = runs[i].*field;
    if (v < 0)
      continue;
    s.ok++;
    if (i == 0)
      s.cold = v;
    else
      warm.push_back (v);
  }
  if (!warm.empty ()) {
    std::sort (warm.begin (), warm.end ());
    const size_t n = warm.size ();
    s.median = n % 2 ? warm[n / 2] : (warm[n / 2 - 1] + warm[n / 2]) / 2;
    size_t rank = static_cast<size_t> (std::ceil (0.9 * n));
    s.p90 = warm[std::max<size_t> (rank, 1) - 1];
  }
  return s;
}

/* Each step's time since PLAYING: the cold call's, and the median over the
 * warm calls. */
struct PhaseRow {
  std::string name;
  double cold = -1;
  double warm = -1;
};

std::vector<PhaseRow> phase_rows (const KindResult &k)
{
  std::vector<PhaseRow> rows;
  std::vector<std::vector<double>> values;
  auto row_of = [&] (const std::string &name) {
    for (size_t i = 0; i < rows.size (); i++)
      if (rows[i].name == name)
        return i;
    rows.push_back ({ name, -1, -1 });
    values.emplace_back ();
    return rows.size () - 1;
  };
  for (size_t i = 0; i < k.runs.size (); i++)
    for (const auto &p : k.runs[i].phases) {
      size_t at = row_of (p.first);
      if (i == 0)
        rows[at].cold = p.second;
      else
        values[at].push_back (p.second);
    }
  for (size_t i = 0; i < rows.size (); i++) {
    auto &v = values[i];
    std::sort (v.begin (), v.end ());
    const size_t n = v.size ();
    if (n)
      rows[i].warm = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }
  return rows;
}

std::string fmt (double v, const char *format = "%.1f")
{
  if (v < 0)
    return "-";
  char buf[32];
  g_snprintf (buf, sizeof buf, format, v);
  return buf;
}

std::string render (const ParentOptions &o, const std::vector<KindResult> &kinds,
    bool markdown)
{
  std::string out;
  char line[512];
  if (markdown) {
    out += "| client | calls ok | session.created cold | median | p90 | "
        "first audio cold | median | p90 | CPU per call, median (ms) | "
        "CPU of the child process (s) |\n";
    out += "|---|---|---|---|---|---|---|---|---|---|\n";
  } else {
    g_snprintf (line, sizeof line, "%-17s | %-24s | %-24s | %s\n", "",
        "PLAYING -> session.created", "PLAYING -> first audio", "CPU");
    out += line;
    g_snprintf (line, sizeof line, "%-9s %-7s | %7s %7s %8s | %7s %7s %8s | %8s %8s\n",
        "client", "ok", "cold", "median", "p90", "cold", "median", "p90",
        "ms/call", "s total");
    out += line;
  }
  for (const auto &k : kinds) {
    Summary s = summarize (k.runs, &RunResult::session_ms);
    Summary a = summarize (k.runs, &RunResult::audio_ms);
    int fully_ok = 0;
    std::vector<double> cpu;
    for (size_t i = 0; i < k.runs.size (); i++) {
      fully_ok += k.runs[i].error.empty ();
      if (i > 0 && k.runs[i].cpu_ms >= 0)
        cpu.push_back (k.runs[i].cpu_ms);
    }
    double cpu_median = -1;
    if (!cpu.empty ()) {
      std::sort (cpu.begin (), cpu.end ());
      cpu_median = cpu[cpu.size () / 2];
    }
    std::string okcol = std::to_string (fully_ok) + "/" + std::to_string (o.runs);
    if (markdown)
      g_snprintf (line, sizeof line,
          "| %s | %s | %s | **%s** | %s | %s | **%s** | %s | %s | %s |\n",
          k.kind.c_str (), okcol.c_str (), fmt (s.cold).c_str (),
          fmt (s.median).c_str (), fmt (s.p90).c_str (), fmt (a.cold).c_str (),
          fmt (a.median).c_str (), fmt (a.p90).c_str (),
          fmt (cpu_median).c_str (), fmt (k.child_cpu_s, "%.2f").c_str ());
    else
      g_snprintf (line, sizeof line,
          "%-9s %-7s | %7s %7s %8s | %7s %7s %8s | %8s %8s\n",
          k.kind.c_str (), okcol.c_str (), fmt (s.cold).c_str (),
          fmt (s.median).c_str (), fmt (s.p90).c_str (), fmt (a.cold).c_str (),
          fmt (a.median).c_str (), fmt (a.p90).c_str (),
          fmt (cpu_median).c_str (), fmt (k.child_cpu_s, "%.2f").c_str ());
    out += line;
  }
  if (!o.phases)
    return out;

  /* Step table: one row per step, a cold and a warm column per kind. */
  std::vector<std::vector<PhaseRow>> per_kind;
  std::vector<std::string> names;
  for (const auto &k : kinds) {
    per_kind.push_back (phase_rows (k));
    for (const auto &p : per_kind.back ())
      if (std::find (names.begin (), names.end (), p.name) == names.end ())
        names.push_back (p.name);
  }
  /* The steps in the order a call goes through them; others after. */
  static const char *const order[] = { "call started", "offer created",
      "gathering complete", "secret minted", "offer posted", "answer received",
      "ICE connected", "DTLS connected", "channel open", "session.created",
      "first audio" };
  auto rank = [&] (const std::string &name) {
    for (size_t i = 0; i < G_N_ELEMENTS (order); i++)
      if (name == order[i])
        return i;
    return G_N_ELEMENTS (order);
  };
  std::stable_sort (names.begin (), names.end (),
      [&] (const std::string &a, const std::string &b) { return rank (a) < rank (b); });
  auto lookup = [&] (size_t kind, const std::string &name) {
    for (const auto &p : per_kind[kind])
      if (p.name == name)
        return p;
    return PhaseRow { name, -1, -1 };
  };
  if (markdown) {
    out += "\nEach step's time since PLAYING (ms): the cold call, and the median of "
        "the warm calls.\n\n| step |";
    for (const auto &k : kinds)
      out += " " + k.kind + " cold | " + k.kind + " median |";
    out += "\n|---|";
    for (size_t i = 0; i < kinds.size (); i++)
      out += "---|---|";
    out += "\n";
  } else {
    g_snprintf (line, sizeof line, "\n%-22s", "ms since PLAYING");
    out += line;
    for (const auto &k : kinds) {
      g_snprintf (line, sizeof line, " | %-17s", k.kind.c_str ());
      out += line;
    }
    g_snprintf (line, sizeof line, "\n%-22s", "step");
    out += line;
    for (size_t i = 0; i < kinds.size (); i++) {
      g_snprintf (line, sizeof line, " | %8s %8s", "cold", "median");
      out += line;
    }
    out += "\n";
  }
  for (const auto &name : names) {
    if (markdown) {
      out += "| " + name + " |";
    } else {
      g_snprintf (line, sizeof line, "%-22s", name.c_str ());
      out += line;
    }
    for (size_t i = 0; i < kinds.size (); i++) {
      PhaseRow p = lookup (i, name);
      if (markdown) {
        out += " " + fmt (p.cold) + " | " + fmt (p.warm) + " |";
      } else {
        g_snprintf (line, sizeof line, " | %8s %8s", fmt (p.cold).c_str (),
            fmt (p.warm).c_str ());
        out += line;
      }
    }
    out += "\n";
  }
  return out;
}

int parent_main (ParentOptions o)
{
  gchar *self_path = g_file_read_link ("/proc/self/exe", nullptr);
  if (!self_path) {
    fprintf (stderr, "connect-bench: cannot find its own executable\n");
    return 2;
  }
  const std::string self = self_path;
  g_free (self_path);
  signal (SIGINT, on_interrupt);
  signal (SIGTERM, on_interrupt);
  signal (SIGPIPE, SIG_IGN);

  Spawned server;
  std::string server_log;
  if (o.server_url.empty ()) {
    if (o.address.empty ())
      o.address = "127.0.0.1";
    gchar *tmp = nullptr;
    int fd = g_file_open_tmp ("connect-bench-server-XXXXXX.log", &tmp, nullptr);
    if (fd >= 0)
      close (fd);
    server_log = tmp ? tmp : "/dev/null";
    g_free (tmp);
    std::string error;
    if (!spawn ({ o.server_bin, "--address", o.address, "--port", "0",
                  "--api-key", o.key, "--speech", "tone" },
            {}, server_log, &server, &error)) {
      fprintf (stderr, "connect-bench: %s\n", error.c_str ());
      return 1;
    }
    read_lines (server.out, now_us () + 10 * G_USEC_PER_SEC,
        [&] (const std::string &line) {
          const std::string prefix = "listening on ";
          if (line.rfind (prefix, 0) == 0) {
            o.server_url = line.substr (prefix.size ());
            return false;
          }
          return true;
        });
    if (o.server_url.empty ()) {
      fprintf (stderr, "connect-bench: the server %s did not start:\n%s\n",
          o.server_bin.c_str (), tail_of_file (server_log, 20).c_str ());
      kill (server.pid, SIGKILL);
      waitpid (server.pid, nullptr, 0);
      g_unlink (server_log.c_str ());
      return 1;
    }
  }
  fprintf (stderr, "server %s, %d calls per client, timeout %d s per call\n",
      o.server_url.c_str (), o.runs, o.timeout_s);

  /* The server's own first call pays for its lazily loaded plugins: take
   * that out of the first measured client's cold number. */
  if (o.warmup > 0)
    run_kind (o, self, "bare", o.warmup, true);

  std::vector<KindResult> results;
  for (const auto &kind : o.kinds)
    results.push_back (run_kind (o, self, kind, o.runs, false));

  if (server.pid > 0) {
    kill (server.pid, SIGTERM);
    gint64 until = now_us () + 3 * G_USEC_PER_SEC;
    while (waitpid (server.pid, nullptr, WNOHANG) == 0) {
      if (now_us () > until) {
        kill (server.pid, SIGKILL);
        waitpid (server.pid, nullptr, 0);
        break;
      }
      g_usleep (20000);
    }
    forget_child (server.pid);
    close (server.out);
    g_unlink (server_log.c_str ());
  }

  printf ("%s", render (o, results, false).c_str ());
  if (!o.markdown.empty ()) {
    std::string md = "Calls per client: " + std::to_string (o.runs) +
        " (the first is reported as cold; median and p90 are over the others). "
        "Times in ms from just before `gst_element_set_state(PLAYING)`.\n\n" +
        render (o, results, true);
    GError *error = nullptr;
    if (!g_file_set_contents (o.markdown.c_str (), md.c_str (), -1, &error)) {
      fprintf (stderr, "connect-bench: cannot write %s: %s\n",
          o.markdown.c_str (), error->message);
      g_error_free (error);
      return 1;
    }
  }
  bool all_ok = true;
  for (const auto &k : results) {
    all_ok = all_ok && k.failure.empty ();
    for (const auto &r : k.runs)
      all_ok = all_ok && r.error.empty ();
  }
  return all_ok ? 0 : 1;
}

std::string env_or (const char *name, const char *fallback)
{
  const char *v = g_getenv (name);
  return v && *v ? v : fallback;
}

}  // namespace

int main (int argc, char **argv)
{
  gchar *kind = nullptr, *server = nullptr, *key = nullptr, *server_bin = nullptr,
        *plugin_dir = nullptr, *address = nullptr, *markdown = nullptr,
        *kinds = nullptr;
  gint runs = 15, timeout_s = 10, warmup = 1;
  gboolean no_phases = FALSE, verbose = FALSE;
  GOptionEntry entries[] = {
      { "runs", 'n', 0, G_OPTION_ARG_INT, &runs, "Calls per client (15)", "N" },
      { "kinds", 0, 0, G_OPTION_ARG_STRING, &kinds,
        "Clients to measure, comma-separated (bare,elements)", "LIST" },
      { "markdown", 'o', 0, G_OPTION_ARG_FILENAME, &markdown,
        "Also write the tables as Markdown to FILE", "FILE" },
      { "server-bin", 0, 0, G_OPTION_ARG_FILENAME, &server_bin,
        "realtime-server to start (env REALTIME_SERVER, else this build's)", "PATH" },
      { "plugin-dir", 0, 0, G_OPTION_ARG_FILENAME, &plugin_dir,
        "Where libgstopenairealtime.so is (env CONNECT_BENCH_PLUGIN_DIR, else this build's)",
        "DIR" },
      { "address", 0, 0, G_OPTION_ARG_STRING, &address,
        "Address for the server (default: 127.0.0.1)",
        "IP" },
      { "server", 0, 0, G_OPTION_ARG_STRING, &server,
        "Base URL of a running server (then none is started)", "URL" },
      { "key", 0, 0, G_OPTION_ARG_STRING, &key, "API key for the server", "KEY" },
      { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout_s,
        "Seconds a call may take to deliver audio (10)", "S" },
      { "warmup", 0, 0, G_OPTION_ARG_INT, &warmup,
        "Unreported bare calls to warm the server up first (1)", "N" },
      { "no-phases", 0, 0, G_OPTION_ARG_NONE, &no_phases,
        "Do not record the steps of each call", nullptr },
      { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose,
        "Show the children's stderr", nullptr },
      { "kind", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &kind,
        "(internal) run one client kind", "bare|elements" },
      {} };
  GOptionContext *ctx = g_option_context_new (
      "- time from PLAYING to session.created and to the first agent audio");
  g_option_context_add_main_entries (ctx, entries, nullptr);
  GError *error = nullptr;
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    fprintf (stderr, "connect-bench: %s\n", error->message);
    g_error_free (error);
    g_option_context_free (ctx);
    return 2;
  }
  g_option_context_free (ctx);
  if (runs < 1 || timeout_s < 1 || warmup < 0) {
    fprintf (stderr, "connect-bench: --runs and --timeout must be positive\n");
    return 2;
  }

  int status;
  if (kind) {
    ChildOptions o;
    o.kind = kind;
    o.server = server ? server : "";
    o.key = key ? key : "";
    o.runs = runs;
    o.timeout_s = timeout_s;
    o.phases = !no_phases;
    if (plugin_dir)
      g_setenv ("GST_PLUGIN_PATH", plugin_dir, TRUE);
    if ((o.kind != "bare" && o.kind != "elements") || o.server.empty ()) {
      fprintf (stderr, "connect-bench: --kind bare|elements needs --server URL\n");
      status = 2;
    } else {
      status = child_main (o);
    }
  } else {
    ParentOptions o;
    o.runs = runs;
    o.timeout_s = timeout_s;
    o.warmup = warmup;
    o.phases = !no_phases;
    o.verbose = verbose;
    if (server)
      o.server_url = server;
    if (key)
      o.key = key;
    o.server_bin = server_bin ? server_bin :
        env_or ("REALTIME_SERVER", CONNECT_BENCH_SERVER_BIN);
    o.plugin_dir = plugin_dir ? plugin_dir :
        env_or ("CONNECT_BENCH_PLUGIN_DIR", CONNECT_BENCH_PLUGIN_DIR);
    if (address)
      o.address = address;
    if (markdown)
      o.markdown = markdown;
    if (kinds) {
      o.kinds.clear ();
      gchar **list = g_strsplit (kinds, ",", -1);
      for (gchar **k = list; *k; k++)
        if (**k)
          o.kinds.emplace_back (*k);
      g_strfreev (list);
    }
    bool valid = !o.kinds.empty ();
    for (const auto &k : o.kinds)
      valid = valid && (k == "bare" || k == "elements");
    if (!valid) {
      fprintf (stderr, "connect-bench: --kinds takes bare and/or elements\n");
      status = 2;
    } else {
      status = parent_main (o);
    }
  }
  g_free (kind);
  g_free (server);
  g_free (key);
  g_free (server_bin);
  g_free (plugin_dir);
  g_free (address);
  g_free (markdown);
  g_free (kinds);
  return status;
}
