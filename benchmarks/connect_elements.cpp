/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "connect_elements.h"

#include "connect_hold.h"

#include <cstring>

namespace connect_bench {

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

namespace {

struct ElementsRun {
  bool prepared = false; /* main thread */
  Moment session;
  Heard audio;
  std::string error;  // main thread
};

void on_elements_server_event (GstElement *, const char *type, const char *,
    gpointer data)
{
  auto *run = static_cast<ElementsRun *> (data);
  if (g_strcmp0 (type, "session.created") == 0)
    run->session.set (now_us ());
}

gboolean on_elements_bus (GstBus *, GstMessage *msg, gpointer data)
{
  auto *run = static_cast<ElementsRun *> (data);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT &&
      gst_message_has_name (msg, "openai-realtime-prepared"))
    run->prepared = true;
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR && run->error.empty ()) {
    GError *err = nullptr;
    gst_message_parse_error (msg, &err, nullptr);
    run->error = std::string (GST_OBJECT_NAME (GST_MESSAGE_SRC (msg))) + ": " +
        (err ? err->message : "error");
    g_clear_error (&err);
  }
  return G_SOURCE_CONTINUE;
}

}  // namespace

RunResult run_elements (const ChildOptions &o, bool from_ready)
{
  RunResult result;
  ElementsRun run;
  GError *err = nullptr;
  /* A held call has no turn detection: the tone never ends a turn, so the
   * agent never speaks over its echo. */
  const std::string description = std::string (
                                      "ephemeraltokenprovider name=provider "
                                      "audiotestsrc is-live=true freq=440 ! "
                                      "openairealtimesink name=rtsink ") +
      (o.hold_s > 0 ? "turn-detection=none " : "") +
      "openairealtimesrc name=rtsrc ! appsink name=out sync=false";
  GstElement *pipe = gst_parse_launch (description.c_str (), &err);
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

  /* Parked in READY, as an application waiting for its user would be:
   * the call is prepared (peer, offer, secret) before PLAYING. */
  if (from_ready &&
      gst_element_set_state (pipe, GST_STATE_READY) == GST_STATE_CHANGE_FAILURE)
    run.error = "the pipeline did not go to READY";
  if (from_ready && run.error.empty ()) {
    loop_until ([&] { return run.prepared || !run.error.empty (); },
        now_us () + o.timeout_s * G_USEC_PER_SEC);
    if (!run.prepared && run.error.empty ())
      run.error = "the call was not prepared in READY";
  }
  phases.reset ();
  const double cpu0 = self_cpu_seconds ();
  const gint64 t0 = now_us ();
  if (run.error.empty () &&
      gst_element_set_state (pipe, GST_STATE_PLAYING) ==
          GST_STATE_CHANGE_FAILURE)
    run.error = "the pipeline did not go to PLAYING";
  const gint64 deadline = t0 + o.timeout_s * G_USEC_PER_SEC;
  loop_until (
      [&] {
        return !run.error.empty () ||
            (run.session.happened () && run.audio.first.happened ());
      },
      deadline);
  if (o.hold_s > 0 && run.error.empty () && run.audio.first.happened ()) {
    GstElement *rtsink = gst_bin_get_by_name (GST_BIN (pipe), "rtsink");
    hold_call (
        o, &run.audio, [&] { return !run.error.empty (); },
        [rtsink] {
          /* Sampled from webrtcbin once a second by the elements. */
          Packets p;
          GstStructure *stats = nullptr;
          guint64 sent = 0, received = 0;
          g_object_get (rtsink, "stats", &stats, nullptr);
          if (stats &&
              gst_structure_get_uint64 (stats, "audio-packets-sent", &sent) &&
              gst_structure_get_uint64 (stats, "audio-packets-received",
                  &received)) {
            p.sent = sent;
            p.received = received;
          }
          if (stats)
            gst_structure_free (stats);
          return p;
        },
        &result);
    gst_object_unref (rtsink);
  }
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
  finish_result (&result, t0, run.session, run.audio.first, cpu0);
  if (!run.error.empty ())
    result.error = run.error;
  else if (!run.session.happened ())
    result.error = "no session.created within " + std::to_string (o.timeout_s) +
        " s";
  else if (!run.audio.first.happened ())
    result.error = "no audible audio within " + std::to_string (o.timeout_s) +
        " s";
  return result;
}

}  // namespace connect_bench
