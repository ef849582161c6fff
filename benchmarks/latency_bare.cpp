/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* latency-bench: the baseline, a plain webrtcbin client (written directly on
 * webrtcbin, none of the engine's code) with the elements' jitter buffer
 * (40 ms) and Opus settings (20 ms frames, voice), playing the far end out
 * with sync=true as a player does. */
#include "latency_bare.h"

#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

namespace latency_bench {

namespace {

struct Gathering {
  std::mutex m;
  std::condition_variable cv;
  bool complete = false;
  bool negotiation_needed = false; /* the audio's caps reached webrtcbin */
};

void on_negotiation_needed (GstElement *, gpointer data)
{
  auto *g = static_cast<Gathering *> (data);
  std::lock_guard<std::mutex> l (g->m);
  g->negotiation_needed = true;
  g->cv.notify_all ();
}

void on_gathering (GstElement *webrtc, GParamSpec *, gpointer data)
{
  auto *g = static_cast<Gathering *> (data);
  GstWebRTCICEGatheringState state;
  g_object_get (webrtc, "ice-gathering-state", &state, nullptr);
  if (state != GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
    return;
  std::lock_guard<std::mutex> l (g->m);
  g->complete = true;
  g->cv.notify_all ();
}

struct Receiver {
  GstElement *pipe;
  Echo *echo;
};

void on_pad_added (GstElement *, GstPad *pad, gpointer data)
{
  auto *r = static_cast<Receiver *> (data);
  if (GST_PAD_DIRECTION (pad) != GST_PAD_SRC)
    return;
  GstElement *bin = gst_parse_bin_from_description (
      "rtpopusdepay ! opusdec ! audioconvert ! audioresample ! "
      "audio/x-raw,format=S16LE,rate=48000,channels=1 ! "
      "appsink name=out sync=true",
      TRUE, nullptr);
  if (!bin)
    return;
  GstElement *out = gst_bin_get_by_name (GST_BIN (bin), "out");
  GstElement *input = gst_bin_get_by_name (GST_BIN (r->pipe), "user");
  r->echo->attach (input, out);
  gst_object_unref (input);
  gst_object_unref (out);
  gst_bin_add (GST_BIN (r->pipe), bin);
  gst_element_sync_state_with_parent (bin);
  GstPad *sink = gst_element_get_static_pad (bin, "sink");
  gst_pad_link (pad, sink);
  gst_object_unref (sink);
}

/* A promise's reply, waited for: webrtcbin answers on its own thread. */
const GstStructure *wait_promise (GstPromise *p)
{
  return gst_promise_wait (p) == GST_PROMISE_RESULT_REPLIED ?
      gst_promise_get_reply (p) :
      nullptr;
}

std::string post (SoupSession *http, const std::string &url,
    const std::string &bearer, const char *type, const std::string &body,
    guint *status, std::string *location = nullptr)
{
  SoupMessage *msg = soup_message_new ("POST", url.c_str ());
  soup_message_headers_replace (soup_message_get_request_headers (msg),
      "Authorization", ("Bearer " + bearer).c_str ());
  GBytes *b = g_bytes_new (body.data (), body.size ());
  soup_message_set_request_body_from_bytes (msg, type, b);
  g_bytes_unref (b);
  GBytes *reply = soup_session_send_and_read (http, msg, nullptr, nullptr);
  *status = soup_message_get_status (msg);
  if (location) {
    const char *l = soup_message_headers_get_one (
        soup_message_get_response_headers (msg), "Location");
    *location = l ? l : "";
  }
  std::string out;
  if (reply) {
    gsize n = 0;
    const char *d = static_cast<const char *> (g_bytes_get_data (reply, &n));
    out.assign (d ? d : "", n);
    g_bytes_unref (reply);
  }
  g_object_unref (msg);
  return out;
}

std::string secret_of (const std::string &json)
{
  std::string out;
  JsonParser *p = json_parser_new ();
  if (json_parser_load_from_data (p, json.c_str (), json.size (), nullptr) &&
      JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p))) {
    JsonObject *o = json_node_get_object (json_parser_get_root (p));
    if (json_object_has_member (o, "value"))
      out = json_object_get_string_member (o, "value");
  }
  g_object_unref (p);
  return out;
}

}  // namespace

bool run_bare (const std::string &base, const std::string &key, Echo *echo,
    std::size_t echoes, gint64 deadline_us, std::string *error)
{
  const std::string desc =
      "webrtcbin name=webrtc bundle-policy=max-bundle latency=40 " +
      input_description ("user") +
      " ! audioconvert ! audioresample ! opusenc frame-size=20 "
      "audio-type=voice ! rtpopuspay pt=111 ! webrtc.";
  GstElement *pipe = gst_parse_launch (desc.c_str (), nullptr);
  if (!pipe) {
    *error = "cannot build the bare pipeline";
    return false;
  }
  GstElement *webrtc = gst_bin_get_by_name (GST_BIN (pipe), "webrtc");
  GObject *ice = nullptr;
  gboolean added = FALSE;
  g_object_get (webrtc, "ice-agent", &ice, nullptr);
  g_signal_emit_by_name (ice, "add-local-ip-address", "127.0.0.1", &added);
  g_object_unref (ice);
  Gathering gathering;
  Receiver receiver { pipe, echo };
  g_signal_connect (webrtc, "notify::ice-gathering-state",
      G_CALLBACK (on_gathering), &gathering);
  g_signal_connect (webrtc, "pad-added", G_CALLBACK (on_pad_added), &receiver);
  g_signal_connect (webrtc, "on-negotiation-needed",
      G_CALLBACK (on_negotiation_needed), &gathering);
  SoupSession *http = soup_session_new_with_options ("timeout", 5u, nullptr);
  std::string location;
  bool ok = false;

  do {
    gst_element_set_state (pipe, GST_STATE_READY);
    GstWebRTCDataChannel *channel = nullptr;
    g_signal_emit_by_name (webrtc, "create-data-channel", "oai-events", nullptr,
        &channel);
    if (channel)
      g_object_unref (channel);
    gst_element_set_state (pipe, GST_STATE_PLAYING);
    {
      /* An offer made before the encoder's caps has no audio section. */
      std::unique_lock<std::mutex> l (gathering.m);
      if (!gathering.cv.wait_for (l, std::chrono::seconds (5),
              [&] { return gathering.negotiation_needed; })) {
        *error = "no on-negotiation-needed";
        break;
      }
    }

    GstPromise *p = gst_promise_new ();
    g_signal_emit_by_name (webrtc, "create-offer", nullptr, p);
    GstWebRTCSessionDescription *offer = nullptr;
    if (const GstStructure *r = wait_promise (p))
      gst_structure_get (r, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION,
          &offer, nullptr);
    gst_promise_unref (p);
    if (!offer) {
      *error = "no offer";
      break;
    }
    p = gst_promise_new ();
    g_signal_emit_by_name (webrtc, "set-local-description", offer, p);
    wait_promise (p);
    gst_promise_unref (p);
    gst_webrtc_session_description_free (offer);
    {
      /* 1.22.0 may never say that gathering is complete. */
      std::unique_lock<std::mutex> l (gathering.m);
      gathering.cv.wait_for (l, std::chrono::seconds (1),
          [&] { return gathering.complete; });
    }
    GstWebRTCSessionDescription *local = nullptr;
    g_object_get (webrtc, "local-description", &local, nullptr);
    gchar *text = gst_sdp_message_as_text (local->sdp);
    const std::string sdp = text;
    g_free (text);
    gst_webrtc_session_description_free (local);

    guint status = 0;
    /* No turn detection: the agent never speaks, the echo never stops. */
    const std::string secret = secret_of (post (http,
        base + "/v1/realtime/client_secrets", key, "application/json",
        "{\"session\":{\"type\":\"realtime\",\"model\":\"gpt-realtime\","
        "\"audio\":{\"input\":{\"turn_detection\":null}}}}",
        &status));
    if (status != 200 || secret.empty ()) {
      *error = "minting: HTTP " + std::to_string (status);
      break;
    }
    const std::string answer = post (http, base + "/v1/realtime/calls", secret,
        "application/sdp", sdp, &status, &location);
    GstSDPMessage *msg = nullptr;
    if (status != 201 ||
        gst_sdp_message_new_from_text (answer.c_str (), &msg) != GST_SDP_OK) {
      *error = "posting the offer: HTTP " + std::to_string (status) + " " +
          answer.substr (0, 200);
      break;
    }
    GstWebRTCSessionDescription *remote = gst_webrtc_session_description_new (
        GST_WEBRTC_SDP_TYPE_ANSWER, msg);
    p = gst_promise_new ();
    g_signal_emit_by_name (webrtc, "set-remote-description", remote, p);
    wait_promise (p);
    gst_promise_unref (p);
    gst_webrtc_session_description_free (remote);
    ok = echo->wait (echoes, deadline_us);
    if (!ok)
      *error = "too few echoes before the deadline";
  } while (false);

  if (!location.empty ()) {
    guint status = 0;
    post (http,
        (location.rfind ("http", 0) == 0 ? "" : base) + location + "/hangup",
        key, "application/json", "", &status);
  }
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (webrtc);
  gst_object_unref (pipe);
  g_object_unref (http);
  return ok;
}

}  // namespace latency_bench
