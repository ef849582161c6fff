/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "callreport.h"

#include "callproperties.h"
#include "core/redact.h"

ElementReporter::ElementReporter (GstElement *element,
    GstOpenAIRealtimeMediaHooks hooks, StateChanged state_changed)
    : hooks_ (std::move (hooks)), state_changed_ (state_changed)
{
  g_weak_ref_init (&element_, element);
}

ElementReporter::~ElementReporter ()
{
  g_weak_ref_clear (&element_);
}

static void post_element_message (GstElement *e, GstStructure *s)
{
  gst_element_post_message (e, gst_message_new_element (GST_OBJECT (e), s));
}

void ElementReporter::on_transition (const rt::Transition &t, bool announce)
{
  GstElement *e = GST_ELEMENT (g_weak_ref_get (&element_));
  if (!e)
    return;
  state_changed_ (e, t.state);
  if (announce)
    post_element_message (e,
        gst_structure_new ("openai-realtime-connection", "state",
            GST_TYPE_OPENAI_REALTIME_CONNECTION_STATE, (gint) t.state,
            "attempt", G_TYPE_UINT, t.attempt, "reason", G_TYPE_STRING,
            rt::redact (t.reason).c_str (), "category", G_TYPE_STRING,
            t.category.c_str (), nullptr));
  gst_object_unref (e);
}

void ElementReporter::on_server_event (const std::string &type,
    const std::string &json, bool announce)
{
  GstElement *e = GST_ELEMENT (g_weak_ref_get (&element_));
  if (!e)
    return;
  g_signal_emit_by_name (e, "server-event", type.c_str (), json.c_str ());
  if (announce)
    post_element_message (e,
        gst_structure_new ("openai-realtime-event", "type", G_TYPE_STRING,
            type.c_str (), "json", G_TYPE_STRING, json.c_str (), nullptr));
  gst_object_unref (e);
}

void ElementReporter::on_error (const rt::ServiceError &error, bool announce)
{
  if (!announce)
    return;
  GstElement *e = GST_ELEMENT (g_weak_ref_get (&element_));
  if (!e)
    return;
  std::string text = rt::redact (error.describe ());
  const bool auth = error.http_status == 401 || error.http_status == 403;
  if (auth)
    GST_ELEMENT_ERROR (e, RESOURCE, NOT_AUTHORIZED,
        ("The realtime service refused the credentials: %s", text.c_str ()),
        (nullptr));
  else if (error.http_status == 0)
    GST_ELEMENT_ERROR (e, RESOURCE, OPEN_READ_WRITE,
        ("The realtime call could not be made: %s", text.c_str ()), (nullptr));
  else
    GST_ELEMENT_ERROR (e, RESOURCE, FAILED,
        ("The realtime service refused the call: %s", text.c_str ()),
        (nullptr));
  gst_object_unref (e);
}

void ElementReporter::on_audio (GstBuffer *buffer)
{
  if (hooks_.audio)
    hooks_.audio (buffer);
}

void ElementReporter::on_interrupt ()
{
  if (hooks_.interrupt)
    hooks_.interrupt ();
}

void ElementReporter::on_transcript (const rt::Transcript &t, bool announce)
{
  if (hooks_.transcript)
    hooks_.transcript (t);
  GstElement *e = GST_ELEMENT (g_weak_ref_get (&element_));
  if (!e)
    return;
  g_signal_emit_by_name (e, "transcript", t.role.c_str (), t.item_id.c_str (),
      t.text.c_str (), (gboolean) t.final);
  if (announce)
    post_element_message (e,
        gst_structure_new ("openai-realtime-transcript", "role", G_TYPE_STRING,
            t.role.c_str (), "item-id", G_TYPE_STRING, t.item_id.c_str (),
            "text", G_TYPE_STRING, t.text.c_str (), "final", G_TYPE_BOOLEAN,
            (gboolean) t.final, nullptr));
  gst_object_unref (e);
}

void ElementReporter::on_function_call (const rt::FunctionCall &c,
    bool announce)
{
  GstElement *e = GST_ELEMENT (g_weak_ref_get (&element_));
  if (!e)
    return;
  g_signal_emit_by_name (e, "function-call", c.call_id.c_str (),
      c.name.c_str (), c.arguments.c_str ());
  if (announce)
    post_element_message (e,
        gst_structure_new ("openai-realtime-function-call", "call-id",
            G_TYPE_STRING, c.call_id.c_str (), "name", G_TYPE_STRING,
            c.name.c_str (), "arguments", G_TYPE_STRING, c.arguments.c_str (),
            nullptr));
  gst_object_unref (e);
}

GstStructure *make_call_stats (const std::shared_ptr<rt::Call> &call)
{
  rt::CallStats st = call ? call->stats () : rt::CallStats ();
  const gint64 now = g_get_monotonic_time ();
  const guint64 connected_ms = (guint64) (st.connected_total_us +
                                   (st.connected_us ? now - st.connected_us :
                                                      0)) /
      1000;
  GEnumClass *states = G_ENUM_CLASS (
      g_type_class_ref (GST_TYPE_OPENAI_REALTIME_CONNECTION_STATE));
  GEnumValue *state = g_enum_get_value (states, (gint) st.state);
  GstStructure *s = gst_structure_new ("openai-realtime-stats", "state",
      G_TYPE_STRING, state ? state->value_nick : "idle", "call-id",
      G_TYPE_STRING, st.call_id.c_str (), "time-to-connect-ms", G_TYPE_INT64,
      st.connect_time_us < 0 ? (gint64) -1 : st.connect_time_us / 1000,
      "connected-ms", G_TYPE_UINT64, connected_ms, "attempts", G_TYPE_UINT64,
      st.attempts, "reconnects", G_TYPE_UINT64, st.reconnects, "secrets",
      G_TYPE_UINT64, st.secrets, "audio-packets-sent", G_TYPE_UINT64,
      st.audio_packets_sent, "audio-bytes-sent", G_TYPE_UINT64,
      st.audio_bytes_sent, "audio-packets-received", G_TYPE_UINT64,
      st.audio_packets_received, "audio-bytes-received", G_TYPE_UINT64,
      st.audio_bytes_received, "audio-packets-lost", G_TYPE_INT64,
      st.audio_packets_lost, "audio-jitter-ms", G_TYPE_DOUBLE,
      st.audio_jitter_s * 1000, "round-trip-ms", G_TYPE_DOUBLE,
      st.round_trip_s < 0 ? -1.0 : st.round_trip_s * 1000, "events-received",
      G_TYPE_UINT64, st.events_in, "events-sent", G_TYPE_UINT64, st.events_out,
      "events-refused", G_TYPE_UINT64, st.events_refused, "history-replayed",
      G_TYPE_UINT64, st.history_replayed, "conversations-cleared",
      G_TYPE_UINT64, st.conversations_cleared, nullptr);
  g_type_class_unref (states);
  auto counts = [s] (const char *field, const char *name,
                    const std::map<std::string, guint64> &m) {
    GstStructure *sub = gst_structure_new_empty (name);
    for (const auto &[k, v] : m)
      gst_structure_set (sub, k.c_str (), G_TYPE_UINT64, v, nullptr);
    gst_structure_set (s, field, GST_TYPE_STRUCTURE, sub, nullptr);
    gst_structure_free (sub);
  };
  counts ("faults", "faults", st.faults);
  counts ("events-in", "events-in", st.events_in_by_type);
  counts ("events-out", "events-out", st.events_out_by_type);
  GstStructure *tokens = gst_structure_new ("tokens", "input", G_TYPE_INT64,
      (gint64) st.tokens.input, "output", G_TYPE_INT64,
      (gint64) st.tokens.output, "total", G_TYPE_INT64,
      (gint64) st.tokens.total, "input-text", G_TYPE_INT64,
      (gint64) st.tokens.input_text, "input-audio", G_TYPE_INT64,
      (gint64) st.tokens.input_audio, "input-image", G_TYPE_INT64,
      (gint64) st.tokens.input_image, "input-cached", G_TYPE_INT64,
      (gint64) st.tokens.input_cached, "output-text", G_TYPE_INT64,
      (gint64) st.tokens.output_text, "output-audio", G_TYPE_INT64,
      (gint64) st.tokens.output_audio, nullptr);
  gst_structure_set (s, "tokens", GST_TYPE_STRUCTURE, tokens, nullptr);
  gst_structure_free (tokens);
  if (call && call->latency ()) {
    /* Only with GST_REALTIME_LATENCY: the engine's own latency each way. */
    GstStructure *lat = gst_structure_new_empty ("latency");
    for (auto d : { rt::LatencyProbes::Direction::Up,
             rt::LatencyProbes::Direction::Down }) {
      rt::LatencyProbes::Summary m = call->latency ()->summary (d);
      const std::string p = d == rt::LatencyProbes::Direction::Up ? "up-" :
                                                                    "down-";
      gst_structure_set (lat, (p + "count").c_str (), G_TYPE_UINT64,
          (guint64) m.count, (p + "median-ms").c_str (), G_TYPE_DOUBLE,
          m.median_ms, (p + "p90-ms").c_str (), G_TYPE_DOUBLE, m.p90_ms,
          (p + "min-ms").c_str (), G_TYPE_DOUBLE, m.min_ms,
          (p + "max-ms").c_str (), G_TYPE_DOUBLE, m.max_ms, nullptr);
    }
    gst_structure_set (s, "latency", GST_TYPE_STRUCTURE, lat, nullptr);
    gst_structure_free (lat);
  }
  return s;
}
