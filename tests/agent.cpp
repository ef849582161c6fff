/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The whole agent from a pipeline, against the local realtime server: the
 * session as properties (at the start and mid-call), transcripts as signals,
 * messages and a text stream, barge-in, mute, text input and responses,
 * function calls, Azure OpenAI's endpoints and the stats structure. Every
 * client event sent is checked against the service's published shapes. */
#include "session.h"
#include "transcripts.h"

#include <gst/check/gstcheck.h>

#include <array>
#include <numeric>

namespace {

/* The object at a path of members, or nullptr. */
JsonObject *object_at (JsonObject *o, std::initializer_list<const char *> path)
{
  for (const char *name : path) {
    if (!o || !json_object_has_member (o, name))
      return nullptr;
    JsonNode *n = json_object_get_member (o, name);
    o = JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : nullptr;
  }
  return o;
}

JsonNode *parse (const std::string &json)
{
  JsonNode *n = json_from_string (json.c_str (), nullptr);
  fail_unless (n && JSON_NODE_HOLDS_OBJECT (n), "not a JSON object: %s",
      json.c_str ());
  return n;
}

/* The client events of type `type` the server received in its only call. */
std::vector<JsonObject *> client_events (JsonNode *log, const char *type)
{
  std::vector<JsonObject *> out;
  JsonArray *events = json_object_get_array_member (only_call (log), "events");
  for (guint i = 0; i < json_array_get_length (events); i++) {
    JsonNode *n = json_array_get_element (events, i);
    if (JSON_NODE_HOLDS_OBJECT (n) &&
        g_strcmp0 (json_object_get_string_member_with_default (
                       json_node_get_object (n), "type", ""),
            type) == 0)
      out.push_back (json_node_get_object (n));
  }
  return out;
}

/* Whether the 10 ms from sample i carry a tone at freq: most of the
 * block's energy is there (a pure tone puts N²·rms²/2 in its Goertzel bin;
 * 440 Hz, two bins away from 660, leaks a few percent). */
void set_user_volume (Session &s, double volume)
{
  GstElement *user = gst_bin_get_by_name (GST_BIN (s.pipeline), "user");
  fail_unless (user != nullptr);
  g_object_set (user, "volume", volume, nullptr);
  gst_object_unref (user);
}

size_t count_message (Session &s, const char *name)
{
  std::lock_guard<std::mutex> l (s.m);
  return std::count (s.messages.begin (), s.messages.end (), name);
}

const char *kQuietUser =
    "audiotestsrc name=user is-live=true freq=440 volume=0";

}  // namespace

/* Every session property reaches the service at the start; a change
 * mid-call sends exactly that field; the voice cannot change once the agent
 * has spoken. */
GST_START_TEST (test_session_settings)
{
  server.control ("/control/reset", "{}");
  Session s (key (), kQuietUser, "",
      "instructions=\"Be brief.\" voice=cedar turn-detection=server-vad "
      "vad-threshold=0.6 vad-prefix-padding=200 vad-silence-duration=400 "
      "noise-reduction=far-field max-output-tokens=300 speed=1.25 "
      "transcription-model=gpt-4o-mini-transcribe language=en tool-choice=none");
  s.play ();
  fail_unless (s.wait_event ("session.updated"));

  JsonNode *log = server.log ();
  auto updates = client_events (log, "session.update");
  fail_unless_equals_int (updates.size (), 1);
  JsonObject *session = object_at (updates[0], { "session" });
  fail_unless_equals_string (
      json_object_get_string_member (session, "instructions"), "Be brief.");
  fail_unless_equals_int (
      json_object_get_int_member (session, "max_output_tokens"), 300);
  fail_unless_equals_string (
      json_object_get_string_member (session, "tool_choice"), "none");
  JsonObject *td = object_at (session, { "audio", "input", "turn_detection" });
  fail_unless_equals_string (json_object_get_string_member (td, "type"),
      "server_vad");
  fail_unless (
      std::abs (json_object_get_double_member (td, "threshold") - 0.6) < 1e-9);
  fail_unless_equals_int (json_object_get_int_member (td, "prefix_padding_ms"),
      200);
  fail_unless_equals_int (
      json_object_get_int_member (td, "silence_duration_ms"), 400);
  fail_unless_equals_string (
      json_object_get_string_member (
          object_at (session, { "audio", "input", "noise_reduction" }), "type"),
      "far_field");
  JsonObject *tr = object_at (session, { "audio", "input", "transcription" });
  fail_unless_equals_string (json_object_get_string_member (tr, "model"),
      "gpt-4o-mini-transcribe");
  fail_unless_equals_string (json_object_get_string_member (tr, "language"),
      "en");
  JsonObject *out = object_at (session, { "audio", "output" });
  fail_unless_equals_string (json_object_get_string_member (out, "voice"),
      "cedar");
  fail_unless (
      std::abs (json_object_get_double_member (out, "speed") - 1.25) < 1e-9);
  json_node_unref (log);

  /* The service's own view of the session agrees. */
  std::string updated;
  {
    std::lock_guard<std::mutex> l (s.m);
    for (size_t i = 0; i < s.signalled.size (); i++)
      if (s.signalled[i] == "session.updated")
        updated = s.signalled_json[i];
  }
  JsonNode *ev = parse (updated);
  fail_unless_equals_string (
      json_object_get_string_member (object_at (json_node_get_object (ev),
                                         { "session", "audio", "output" }),
          "voice"),
      "cedar");
  json_node_unref (ev);

  /* Mid-call: only the field that changed. */
  g_object_set (s.src, "instructions", "Be very brief.", nullptr);
  fail_unless (s.wait ([&] {
    return std::count (s.signalled.begin (), s.signalled.end (),
               "session.updated") == 2;
  }));
  log = server.log ();
  updates = client_events (log, "session.update");
  fail_unless_equals_int (updates.size (), 2);
  session = object_at (updates[1], { "session" });
  fail_unless_equals_int (json_object_get_size (session),
      2); /* type, instructions */
  fail_unless_equals_string (
      json_object_get_string_member (session, "instructions"),
      "Be very brief.");
  fail_unless_equals_string (
      json_object_get_string_member (only_call (log), "instructions"),
      "Be very brief.");
  json_node_unref (log);

  /* Once the agent has spoken, a new voice is refused here, with a warning,
   * and never sent. */
  fail_unless (send_text (s.src, "Hello there.", true));
  fail_unless (s.wait_event ("output_audio_buffer.started"));
  g_object_set (s.src, "voice", "ash", nullptr);
  fail_unless (s.wait ([&] { return !s.warnings.empty (); }));
  {
    std::lock_guard<std::mutex> l (s.m);
    fail_unless (s.warnings[0].find ("voice") != std::string::npos, "%s",
        s.warnings[0].c_str ());
  }
  fail_unless (s.wait_event ("response.done"));
  log = server.log ();
  fail_unless_equals_int (client_events (log, "session.update").size (), 2);
  validate_client_events (log);
  json_node_unref (log);
  expect_no_error (s);
}
GST_END_TEST;

/* The user's speech and the agent's reply as transcript signals, element
 * messages and text buffers on the text pad, stamped in running time, with
 * gap events in between. */
struct Captions {
  std::mutex m;
  std::vector<std::pair<std::string, GstClockTime>> buffers;
  int gaps = 0;

  static GstFlowReturn on_sample (GstAppSink *sink, gpointer data)
  {
    auto *self = static_cast<Captions *> (data);
    GstSample *sample = gst_app_sink_pull_sample (sink);
    GstBuffer *buf = gst_sample_get_buffer (sample);
    GstMapInfo map;
    gst_buffer_map (buf, &map, GST_MAP_READ);
    {
      std::lock_guard<std::mutex> l (self->m);
      self->buffers.emplace_back (
          std::string ((const char *) map.data, map.size),
          GST_BUFFER_PTS (buf));
    }
    gst_buffer_unmap (buf, &map);
    gst_sample_unref (sample);
    return GST_FLOW_OK;
  }

  static GstPadProbeReturn on_event (GstPad *, GstPadProbeInfo *info,
      gpointer data)
  {
    auto *self = static_cast<Captions *> (data);
    if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) == GST_EVENT_GAP) {
      std::lock_guard<std::mutex> l (self->m);
      self->gaps++;
    }
    return GST_PAD_PROBE_OK;
  }
};

GST_START_TEST (test_transcripts_and_text_pad)
{
  server.control ("/control/reset", "{}");
  Session s (key (), kQuietUser, "",
      "transcription-model=gpt-4o-mini-transcribe",
      "src.text ! appsink name=captions sync=false emit-signals=false");
  Transcripts t (s);
  Captions captions;
  GstElement *appsink = gst_bin_get_by_name (GST_BIN (s.pipeline), "captions");
  GstAppSinkCallbacks cb = {};
  cb.new_sample = Captions::on_sample;
  gst_app_sink_set_callbacks (GST_APP_SINK (appsink), &cb, &captions, nullptr);
  GstPad *pad = gst_element_get_static_pad (appsink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
      Captions::on_event, &captions, nullptr);
  gst_object_unref (pad);
  gst_object_unref (appsink);

  s.play ();
  fail_unless (s.wait_event ("session.updated"));
  /* One second of speech, then quiet: the server's VAD ends the turn,
   * transcribes it and answers. */
  set_user_volume (s, 0.5);
  fail_unless (s.wait_event ("input_audio_buffer.speech_started"));
  size_t from = s.audio_size ();
  fail_unless (s.wait_audio (from, 48000));
  set_user_volume (s, 0);
  fail_unless (t.wait_final ("user"));
  fail_unless (t.wait_final ("assistant"));
  fail_unless (s.wait ([&] {
    std::lock_guard<std::mutex> l (captions.m);
    return captions.buffers.size () >= 2;
  }));

  auto user = t.finals ("user");
  auto agent = t.finals ("assistant");
  fail_unless_equals_int (user.size (), 1);
  fail_unless_equals_int (agent.size (), 1);
  /* The tests' server recognises no words (--recognition off): the
   * transcript and the default reply say how much it heard. */
  fail_unless (user[0].text.find ("seconds of speech") != std::string::npos,
      "%s", user[0].text.c_str ());
  fail_unless (agent[0].text.find ("Hello from the local realtime server") == 0,
      "%s", agent[0].text.c_str ());
  /* The deltas add up to the final text. */
  std::string d = t.deltas ("assistant", agent[0].item_id);
  fail_unless_equals_string (d.c_str (), agent[0].text.c_str ());
  /* Posted once per piece, by one element. */
  /* Each message follows its signal: wait for the last one. */
  fail_unless (s.wait ([&] {
    return (size_t) std::count (s.messages.begin (), s.messages.end (),
               "openai-realtime-transcript") == t.pieces.size ();
  }),
      "%zu transcript messages for %zu pieces",
      count_message (s, "openai-realtime-transcript"), t.count ());

  {
    std::lock_guard<std::mutex> l (captions.m);
    const std::string user_caption = "User: " + user[0].text;
    const std::string agent_caption = "Agent: " + agent[0].text;
    fail_unless_equals_string (captions.buffers[0].first.c_str (),
        user_caption.c_str ());
    fail_unless_equals_string (captions.buffers[1].first.c_str (),
        agent_caption.c_str ());
    /* Stamped when the text came, in the pipeline's running time. */
    for (int i = 0; i < 2; i++) {
      GstClockTime pts = captions.buffers[i].second;
      GstClockTime at = (i == 0 ? user[0] : agent[0]).running_time;
      fail_unless (GST_CLOCK_TIME_IS_VALID (pts));
      GstClockTimeDiff skew = GST_CLOCK_DIFF (at, pts);
      fail_unless (std::abs (skew) < 200 * GST_MSECOND,
          "caption %d is %" G_GINT64_FORMAT " ms off", i, skew / GST_MSECOND);
    }
    fail_unless (captions.buffers[1].second > captions.buffers[0].second);
    /* Gaps keep a sparse stream moving: one every 100 ms or so. */
    fail_unless (captions.gaps >= 10, "only %d gap events", captions.gaps);
  }
  expect_no_error (s);
  s.stop (); /* before captions, which the appsink calls, goes */
}
GST_END_TEST;

/* The user speaks over the agent: the agent's audio stops at the src within
 * a few blocks of the service saying so, the reply is cancelled. */
GST_START_TEST (test_barge_in)
{
  server.control ("/control/reset", "{}");
  Session s (key (), kQuietUser);
  s.play ();
  fail_unless (s.wait_event ("session.updated"));
  /* Whether an event came at or after index from (under s.m: in a wait's
   * predicate, or locked). */
  auto came = [&] (size_t from, const char *type) {
    return std::find (s.signalled.begin () + from, s.signalled.end (), type) !=
        s.signalled.end ();
  };
  auto events = [&] {
    std::lock_guard<std::mutex> l (s.m);
    return s.signalled.size ();
  };
  /* The reply lasts about 4 s. A loaded machine can take longer than that
   * to hear the user: the reply then ends on its own (stopped, not
   * cleared) and nobody talked over it. The user falls quiet, and the
   * agent's answer to that turn is the next chance, three at most. */
  size_t from = 0;
  bool over = false;
  for (int attempt = 1; attempt <= 3 && !over; attempt++) {
    from = events ();
    if (attempt == 1)
      fail_unless (send_text (s.src, "Tell me something long.", true));
    fail_unless (
        s.wait ([&] { return came (from, "output_audio_buffer.started"); }),
        "the agent did not start speaking (attempt %d)", attempt);
    /* The agent's tone is playing out. */
    fail_unless (s.wait ([&] {
      size_t n = s.audio.size ();
      return n > 4800 && test::tone_at (s.audio, n - 960, 660);
    }));
    set_user_volume (s, 0.5);
    fail_unless (s.wait ([&] {
      return came (from, "input_audio_buffer.speech_started");
    }),
        "the user was not heard (attempt %d)", attempt);
    fail_unless (s.wait ([&] { return came (from, "response.done"); }));
    {
      std::lock_guard<std::mutex> l (s.m);
      over = came (from, "output_audio_buffer.cleared");
    }
    if (!over) {
      g_print ("barge-in: the reply ended before the user was heard "
               "(attempt %d)\n",
          attempt);
      set_user_volume (s, 0);
      const size_t quiet_from = events ();
      fail_unless (s.wait ([&] {
        return came (quiet_from, "input_audio_buffer.speech_stopped");
      }),
          "the user's turn did not end");
    }
  }
  fail_unless (over, "the user never talked over the agent in 3 replies");
  size_t at;
  {
    std::lock_guard<std::mutex> l (s.m);
    auto it = std::find (s.signalled.begin () + from, s.signalled.end (),
        "input_audio_buffer.speech_started");
    at = s.event_at[it - s.signalled.begin ()];
  }
  fail_unless (s.wait_audio (at, 48000));
  std::lock_guard<std::mutex> l (s.m);
  /* Where the agent's tone ends for good (a block without it amid the
   * tone is a dropout of a loaded machine, not the cut): the end of the
   * last block after the event that carries it, over the whole second
   * that follows, so a voice that comes back counts too. */
  size_t quiet = at;
  for (size_t i = at; i + 480 <= s.audio.size (); i += 480)
    if (test::tone_at (s.audio, i, 660))
      quiet = i + 480;
  double ms = (quiet - at) / 48.0;
  g_print ("barge-in: agent audio gone %.0f ms after speech_started reached "
           "the element\n",
      ms);
  fail_unless (ms < 100,
      "the agent was still heard %.0f ms after the user "
      "barged in",
      ms);
  guint64 dropped = uint64_prop (s.src, "audio-interrupted");
  JsonNode *done = nullptr;
  for (size_t i = from; i < s.signalled.size (); i++)
    if (s.signalled[i] == "response.done" && !done)
      done = parse (s.signalled_json[i]);
  fail_unless_equals_string (
      json_object_get_string_member (
          object_at (json_node_get_object (done), { "response" }), "status"),
      "cancelled");
  json_node_unref (done);
  g_print ("barge-in: %" G_GUINT64_FORMAT " samples of agent audio dropped\n",
      dropped);
  /* The element itself dropped what it held (the server's own stop alone
   * would leave that to play out). */
  fail_unless (dropped > 0);
}
GST_END_TEST;

/* While muted nothing of the user's audio leaves: the server measures
 * digital silence, and the user's voice comes back when unmuted. */
GST_START_TEST (test_mute)
{
  server.control ("/control/reset", "{}");
  Session s (key ());
  s.play ();
  fail_unless (echo_heard (s));
  /* A second of the user heard, then muted for a second and a half. */
  fail_unless (s.wait_audio (s.audio_size (), 48000));
  g_object_set (s.sink, "mute", TRUE, nullptr);
  size_t from = s.audio_size ();
  fail_unless (s.wait_audio (from, 48000 * 3 / 2));
  JsonNode *log = server.log ();
  JsonArray *windows = json_object_get_array_member (
      json_object_get_object_member (only_call (log), "input_audio"),
      "windows");
  guint n = json_array_get_length (windows);
  fail_unless (n > 20);
  double loudest_before = -200;
  for (guint i = 0; i + 10 < n; i++)
    loudest_before = std::max (loudest_before,
        json_object_get_double_member (
            json_array_get_object_element (windows, i), "rms_dbfs"));
  fail_unless (loudest_before > -20, "the user was never heard (%.1f dBFS)",
      loudest_before);
  /* The last second, well after the mute took effect: silence. */
  for (guint i = n - 10; i < n; i++) {
    double level = json_object_get_double_member (
        json_array_get_object_element (windows, i), "rms_dbfs");
    fail_unless (level < -70,
        "window %u reached the server at %.1f dBFS while "
        "muted",
        i, level);
  }
  json_node_unref (log);
  fail_unless (uint64_prop (s.sink, "audio-muted") > 0);
  fail_unless (
      uint64_prop (s.sink, "audio-sent") > uint64_prop (s.sink, "audio-muted"));

  g_object_set (s.sink, "mute", FALSE, nullptr);
  fail_unless (echo_back (s, s.audio_size ()));
  expect_no_error (s);
}
GST_END_TEST;

/* The model calls a tool; the application answers from the signal
 * handler; the agent goes on with the result. An invalid tools value is
 * refused when set. */
struct ToolCalls {
  GstElement *src = nullptr;
  std::mutex m;
  std::vector<std::array<std::string, 3>> calls;
  bool answered = false;

  static void on_call (GstElement *e, const char *id, const char *name,
      const char *args, gpointer data)
  {
    auto *self = static_cast<ToolCalls *> (data);
    gboolean ok = FALSE;
    g_signal_emit_by_name (e, "function-result", id, "{\"time\":\"12:00\"}",
        &ok);
    std::lock_guard<std::mutex> l (self->m);
    self->calls.push_back (
        { std::string (id), std::string (name), std::string (args) });
    self->answered = ok;
  }
};

GST_START_TEST (test_function_call)
{
  server.control ("/control/reset", "{}");
  Session s (key (), kQuietUser);
  g_object_set (s.src, "tools", "[{\"type\":\"function\"}]", nullptr);
  {
    std::lock_guard<std::mutex> l (s.m);
    fail_unless_equals_int (s.warnings.size (), 1);
    fail_unless (s.warnings[0].find ("name") != std::string::npos, "%s",
        s.warnings[0].c_str ());
  }
  gchar *tools = nullptr;
  g_object_get (s.src, "tools", &tools, nullptr);
  fail_unless (tools == nullptr, "an invalid value was kept: %s", tools);
  const char *valid =
      "[{\"type\":\"function\",\"name\":\"get_time\","
      "\"description\":\"The time now in a zone\",\"parameters\":{\"type\":"
      "\"object\",\"properties\":{\"zone\":{\"type\":\"string\"}}}}]";
  g_object_set (s.src, "tools", valid, nullptr);
  g_object_set (s.sink, "tools", valid, nullptr);
  ToolCalls calls;
  g_signal_connect (s.src, "function-call", G_CALLBACK (ToolCalls::on_call),
      &calls);
  Transcripts t (s);

  s.play ();
  fail_unless (s.wait_event ("session.updated"));
  fail_unless (send_text (s.src,
      "What time is it? Use get_time {\"zone\":\"UTC\"}", true));
  fail_unless (s.wait_event ("response.function_call_arguments.done"));
  fail_unless (t.wait_final ("assistant"));
  {
    std::lock_guard<std::mutex> l (calls.m);
    fail_unless_equals_int (calls.calls.size (), 1);
    fail_unless_equals_string (calls.calls[0][1].c_str (), "get_time");
    fail_unless_equals_string (calls.calls[0][2].c_str (),
        "{\"zone\":\"UTC\"}");
    fail_unless (calls.answered);
  }
  auto agent = t.finals ("assistant");
  fail_unless_equals_int (agent.size (), 1);
  fail_unless (agent[0].text.find (
                   "The tool get_time returned: {\"time\":\"12:00\"}") == 0,
      "%s", agent[0].text.c_str ());
  fail_unless_equals_int (count_message (s, "openai-realtime-function-call"),
      1);

  JsonNode *log = server.log ();
  JsonArray *fc = json_object_get_array_member (only_call (log),
      "function_calls");
  fail_unless_equals_int (json_array_get_length (fc), 1);
  JsonObject *c = json_array_get_object_element (fc, 0);
  fail_unless_equals_string (json_object_get_string_member (c, "name"),
      "get_time");
  fail_unless_equals_string (json_object_get_string_member (c, "output"),
      "{\"time\":\"12:00\"}");
  auto updates = client_events (log, "session.update");
  JsonArray *sent = json_object_get_array_member (
      object_at (updates[0], { "session" }), "tools");
  fail_unless_equals_int (json_array_get_length (sent), 1);
  validate_client_events (log);
  json_node_unref (log);
  expect_no_error (s);
  g_signal_handlers_disconnect_by_data (s.src, &calls);
}
GST_END_TEST;

/* Text in, text out, and the response actions. */
GST_START_TEST (test_text_and_actions)
{
  server.control ("/control/reset", "{}");
  Session s (key (), kQuietUser, "",
      "output-modalities=text turn-detection=none");
  Transcripts t (s);
  s.play ();
  fail_unless (s.wait_event ("session.updated"));
  fail_unless (send_text (s.src, "Hi.", true));
  fail_unless (t.wait_final ("assistant"));
  fail_unless (s.wait_event ("response.done"));
  auto agent = t.finals ("assistant");
  fail_unless_equals_int (agent.size (), 1);
  const std::string deltas = t.deltas ("assistant", agent[0].item_id);
  fail_unless_equals_string (deltas.c_str (), agent[0].text.c_str ());
  fail_unless_equals_int (s.count_event ("output_audio_buffer.started"), 0);

  /* create-response, then cancel-response while it runs: a spoken reply
   * (seconds long), so that the cancel surely arrives in time. */
  g_object_set (s.src, "output-modalities", 1 /* audio */, nullptr);
  fail_unless (s.wait ([&] {
    return std::count (s.signalled.begin (), s.signalled.end (),
               "session.updated") == 2;
  }));
  fail_unless (emit_bool (s.src, "create-response"));
  fail_unless (s.wait ([&] {
    return std::count (s.signalled.begin (), s.signalled.end (),
               "response.created") == 2;
  }));
  fail_unless (emit_bool (s.sink, "cancel-response"));
  fail_unless (s.wait ([&] {
    return std::count (s.signalled.begin (), s.signalled.end (),
               "response.done") == 2;
  }));
  {
    std::lock_guard<std::mutex> l (s.m);
    JsonNode *done = nullptr;
    for (size_t i = 0; i < s.signalled.size (); i++)
      if (s.signalled[i] == "response.done") {
        if (done)
          json_node_unref (done);
        done = parse (s.signalled_json[i]);
      }
    fail_unless_equals_string (
        json_object_get_string_member (
            object_at (json_node_get_object (done), { "response" }), "status"),
        "cancelled");
    json_node_unref (done);
  }
  /* Refused, with FALSE, when there is no text. */
  fail_if (send_text (s.src, "", true));
  JsonNode *log = server.log ();
  auto items = client_events (log, "conversation.item.create");
  fail_unless_equals_int (items.size (), 1);
  validate_client_events (log);
  json_node_unref (log);
  expect_no_error (s);
}
GST_END_TEST;

/* Azure OpenAI's shape: endpoints under /openai/v1/realtime, the permanent
 * key in an api-key header, a deployment name as the model. */
GST_START_TEST (test_azure)
{
  server.control ("/control/reset", "{}");
  Session s (key () + " api-flavor=azure model=my-realtime-deployment");
  s.play ();
  fail_unless (echo_heard (s));
  JsonNode *log = server.log ();
  fail_unless_equals_int (
      test::count_requests (log, "/openai/v1/realtime/client_secrets"), 1);
  fail_unless_equals_int (
      test::count_requests (log, "/openai/v1/realtime/calls"), 1);
  fail_unless_equals_int (test::count_requests (log, "/v1/realtime"), 0);
  JsonObject *root = json_node_get_object (log);
  JsonObject *secret = json_array_get_object_element (
      json_object_get_array_member (root, "secrets"), 0);
  fail_unless_equals_string (json_object_get_string_member (secret, "auth"),
      "api-key");
  fail_unless_equals_string (json_object_get_string_member (secret, "flavor"),
      "azure");
  fail_unless_equals_string (
      json_object_get_string_member (only_call (log), "flavor"), "azure");
  json_node_unref (log);
  s.stop ();
  /* The hangup went the same way. */
  log = server.log ();
  fail_unless (test::count_requests (log, "/openai/v1/realtime/calls/") >= 1);
  json_node_unref (log);
  expect_no_error (s);
}
GST_END_TEST;

/* The stats structure: what a dashboard needs, never the content. */
GST_START_TEST (test_stats)
{
  server.control ("/control/reset", "{}");
  Session s (key ());
  s.play ();
  fail_unless (echo_heard (s));
  fail_unless (send_text (s.src, "Hi.", true));
  fail_unless (s.wait_event ("response.done", 20s));
  /* webrtcbin's statistics are sampled each second. */
  size_t from = s.audio_size ();
  fail_unless (s.wait_audio (from, 48000 * 3 / 2));
  GstStructure *st = nullptr;
  g_object_get (s.src, "stats", &st, nullptr);
  fail_unless (st != nullptr);
  gchar *text = gst_structure_to_string (st);
  g_print ("stats: %s\n", text);
  fail_unless (strstr (text, "Hi.") == nullptr, "content in the stats");
  g_free (text);
  fail_unless_equals_string (gst_structure_get_string (st, "state"),
      "connected");
  fail_unless (
      g_str_has_prefix (gst_structure_get_string (st, "call-id"), "rtc_"));
  gint64 connect_ms = -1;
  fail_unless (gst_structure_get_int64 (st, "time-to-connect-ms", &connect_ms));
  fail_unless (connect_ms > 0 && connect_ms < 10000);
  guint64 u = 0;
  fail_unless (gst_structure_get_uint64 (st, "connected-ms", &u) && u > 1000);
  fail_unless (gst_structure_get_uint64 (st, "secrets", &u) && u == 1);
  fail_unless (
      gst_structure_get_uint64 (st, "audio-packets-received", &u) && u > 50);
  fail_unless (
      gst_structure_get_uint64 (st, "audio-packets-sent", &u) && u > 50);
  fail_unless (
      gst_structure_get_uint64 (st, "audio-bytes-received", &u) && u > 1000);
  const GstStructure *in = nullptr, *out = nullptr, *tokens = nullptr;
  fail_unless (
      gst_structure_get (st, "events-in", GST_TYPE_STRUCTURE, &in, nullptr));
  fail_unless (gst_structure_get_uint64 (in, "session.created", &u) && u == 1);
  fail_unless (gst_structure_get_uint64 (in, "response.done", &u) && u == 1);
  fail_unless (
      gst_structure_get (st, "events-out", GST_TYPE_STRUCTURE, &out, nullptr));
  fail_unless (gst_structure_get_uint64 (out, "session.update", &u) && u == 1);
  fail_unless (
      gst_structure_get_uint64 (out, "conversation.item.create", &u) && u == 1);
  fail_unless (
      gst_structure_get (st, "tokens", GST_TYPE_STRUCTURE, &tokens, nullptr));
  gint64 total = 0;
  fail_unless (gst_structure_get_int64 (tokens, "total", &total) && total > 0);
  gst_structure_free ((GstStructure *) in);
  gst_structure_free ((GstStructure *) out);
  gst_structure_free ((GstStructure *) tokens);
  gst_structure_free (st);
  expect_no_error (s);
}
GST_END_TEST;

static Suite *agent_suite (void)
{
  Suite *s = suite_create ("agent");
  TCase *tc = tcase_create ("agent");
  tcase_add_unchecked_fixture (tc, local_server_up, local_server_down);
  tcase_set_timeout (tc, 60);
  tcase_add_test (tc, test_session_settings);
  tcase_add_test (tc, test_transcripts_and_text_pad);
  tcase_add_test (tc, test_barge_in);
  tcase_add_test (tc, test_mute);
  tcase_add_test (tc, test_function_call);
  tcase_add_test (tc, test_text_and_actions);
  tcase_add_test (tc, test_azure);
  tcase_add_test (tc, test_stats);
  suite_add_tcase (s, tc);
  return s;
}

GST_CHECK_MAIN (agent);
