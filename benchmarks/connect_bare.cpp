/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "connect_bare.h"

#include "connect_hold.h"

#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include <memory>

namespace connect_bench {

namespace {

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
  soup_session_send_and_read_async (
      session, msg, G_PRIORITY_DEFAULT, nullptr,
      [] (GObject *source, GAsyncResult *res, gpointer data) {
        std::unique_ptr<Pending> p (static_cast<Pending *> (data));
        GError *error = nullptr;
        GBytes *bytes = soup_session_send_and_read_finish (
            SOUP_SESSION (source), res, &error);
        if (error) {
          p->reply->error = error->message;
          g_error_free (error);
        } else {
          p->reply->status = soup_message_get_status (p->msg);
          gsize n = 0;
          const char *d = static_cast<const char *> (
              g_bytes_get_data (bytes, &n));
          p->reply->body.assign (d ? d : "", n);
          g_bytes_unref (bytes);
          const char *loc = soup_message_headers_get_one (
              soup_message_get_response_headers (p->msg), "Location");
          p->reply->location = loc ? loc : "";
        }
        g_object_unref (p->msg);
        p->reply->done = true;
      },
      new Pending { msg, reply });
}

std::string json_string_member (const std::string &json, const char *member)
{
  std::string out;
  JsonParser *parser = json_parser_new ();
  if (json_parser_load_from_data (parser, json.c_str (), json.size (),
          nullptr)) {
    JsonNode *root = json_parser_get_root (parser);
    if (root && JSON_NODE_HOLDS_OBJECT (root)) {
      JsonObject *obj = json_node_get_object (root);
      if (json_object_has_member (obj, member)) {
        JsonNode *n = json_object_get_member (obj, member);
        if (JSON_NODE_HOLDS_VALUE (n) &&
            json_node_get_value_type (n) == G_TYPE_STRING)
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
  Heard audio;
  /* RTP packets into webrtcbin's sink pad (to send) and out of its src pad
   * (received, through the jitter buffer). */
  std::atomic<guint64> sent { 0 }, received { 0 };
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

GstPadProbeReturn count_packet (GstPad *, GstPadProbeInfo *, gpointer data)
{
  ++*static_cast<std::atomic<guint64> *> (data);
  return GST_PAD_PROBE_OK;
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
      "appsink name=agent sync=false",
      TRUE, &err);
  if (!bin) {
    std::string why = std::string ("cannot build the decoder: ") +
        (err ? err->message : "?");
    g_clear_error (&err);
    post_main ([run, why] { run->fail (why); });
    return;
  }
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_packet,
      &run->received, nullptr);
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
  return gst_promise_new_with_change_func (
      [] (GstPromise *promise, gpointer d) {
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
      },
      new Ctx { run, remote },
      [] (gpointer d) { delete static_cast<Ctx *> (d); });
}

}  // namespace

RunResult run_bare (const ChildOptions &o)
{
  RunResult result;
  auto run = std::make_shared<BareRun> ();
  GError *err = nullptr;
  /* A held call is compared with the elements while connected: the same
   * jitter buffer (40 ms) and Opus framing (20 ms, voice) as theirs, the
   * encoder's other settings at their defaults, as in latency-bench. */
  const std::string description = o.hold_s > 0 ?
      "webrtcbin name=webrtc bundle-policy=max-bundle latency=40 "
      "audiotestsrc is-live=true freq=440 ! audioconvert ! audioresample ! "
      "opusenc frame-size=20 audio-type=voice ! rtpopuspay pt=111 ! webrtc." :
      "webrtcbin name=webrtc bundle-policy=max-bundle "
      "audiotestsrc is-live=true freq=440 ! audioconvert ! audioresample ! "
      "opusenc ! rtpopuspay pt=111 ! webrtc.";
  run->pipe = gst_parse_launch (description.c_str (), &err);
  if (!run->pipe) {
    result.error = std::string ("cannot build the pipeline: ") +
        (err ? err->message : "?");
    g_clear_error (&err);
    return result;
  }
  run->webrtc = gst_bin_get_by_name (GST_BIN (run->pipe), "webrtc");
  if (GstPad *in = gst_element_get_static_pad (run->webrtc, "sink_0")) {
    gst_pad_add_probe (in, GST_PAD_PROBE_TYPE_BUFFER, count_packet, &run->sent,
        nullptr);
    gst_object_unref (in);
  }
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
  connect_ref (run->webrtc, "on-negotiation-needed", on_negotiation_needed,
      run);
  connect_ref (run->webrtc, "notify::ice-gathering-state",
      on_ice_gathering_state, run);
  connect_ref (run->webrtc, "notify::ice-connection-state",
      on_ice_connection_state, run);
  connect_ref (run->webrtc, "notify::connection-state", on_connection_state,
      run);
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
      for (size_t at = 0;
           (at = offer_sdp.find ("a=candidate:", at)) != std::string::npos;
           at++)
        candidates++;
      g_printerr (
          "bare: posting a %zu-byte offer with %d candidate(s), gathering %s\n",
          offer_sdp.size (), candidates,
          run->gathering_complete ? "complete" : "not complete after 1 s");
    }

    /* A fresh secret right before the POST. A held call has no turn
     * detection: the tone never ends a turn, the agent never speaks. */
    auto mint = std::make_shared<HttpReply> ();
    http_post (http, o.server + "/v1/realtime/client_secrets", o.key,
        "application/json",
        std::string (
            "{\"expires_after\":{\"anchor\":\"created_at\",\"seconds\":60},"
            "\"session\":{\"type\":\"realtime\",\"model\":\"gpt-realtime\"") +
            (o.hold_s > 0 ? ",\"audio\":{\"input\":{\"turn_detection\":null}}" :
                            "") +
            "}}",
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
    http_post (http, o.server + "/v1/realtime/calls", secret, "application/sdp",
        offer_sdp, answer);
    if (!wait_http (answer, "posting the offer", 201))
      break;
    phases.mark ("answer received");
    call_location = answer->location;
    GstSDPMessage *sdp = nullptr;
    if (gst_sdp_message_new_from_text (answer->body.c_str (), &sdp) !=
        GST_SDP_OK) {
      run->fail ("the answer is not SDP");
      break;
    }
    GstWebRTCSessionDescription *desc = gst_webrtc_session_description_new (
        GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
    g_signal_emit_by_name (run->webrtc, "set-remote-description", desc,
        description_promise (run, true));
    gst_webrtc_session_description_free (desc);
    if (!wait_for (run->remote_set, "set-remote-description"))
      break;

    loop_until (
        [&] {
          return !ok () ||
              (run->session.happened () && run->audio.first.happened ());
        },
        deadline);
    if (o.hold_s > 0 && ok () && run->audio.first.happened ())
      hold_call (
          o, &run->audio, [&] { return !ok (); },
          [&] {
            Packets packets;
            packets.sent = run->sent.load ();
            packets.received = run->received.load ();
            return packets;
          },
          &result);
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
  finish_result (&result, t0, run->session, run->audio.first, cpu0);
  if (!run->error.empty ())
    result.error = run->error;
  else if (!run->session.happened ())
    result.error = "no session.created within " + std::to_string (o.timeout_s) +
        " s";
  else if (!run->audio.first.happened ())
    result.error = "no audible audio within " + std::to_string (o.timeout_s) +
        " s";

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

}  // namespace connect_bench
