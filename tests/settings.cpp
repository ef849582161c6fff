/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Settings given to any element of a call reach it, against the local
 * realtime server: on the src alone (the sink starts the call), on the sink
 * alone, and on both with different values (one warning, the call still
 * made); the session's settings and how the call behaves alike. */
#include "session.h"

#include <gst/check/gstcheck.h>

namespace {

const char *kQuietUser = "audiotestsrc is-live=true freq=440 volume=0";

const char *kTools =
    "[{\"type\":\"function\",\"name\":\"get_time\","
    "\"description\":\"The time now in a zone\",\"parameters\":{\"type\":"
    "\"object\",\"properties\":{\"zone\":{\"type\":\"string\"}}}}]";

/* The `session` member of the first session.update of the server's only
 * call (the caller unrefs *log). */
JsonObject *first_session_update (JsonNode **log)
{
  *log = server.log ();
  fail_unless (*log != nullptr);
  JsonArray *events = json_object_get_array_member (only_call (*log), "events");
  for (guint i = 0; i < json_array_get_length (events); i++) {
    JsonObject *e = json_array_get_object_element (events, i);
    if (g_strcmp0 (json_object_get_string_member_with_default (e, "type", ""),
            "session.update") == 0)
      return json_object_get_object_member (e, "session");
  }
  fail ("no session.update reached the server");
  return nullptr;
}

/* Which element reaches PAUSED first, so starts the call: a bin changes
 * its sinks first. Checked, so that the tests below really have the sink
 * start the call with what was set on the src. */
void expect_sink_starts (Session &s)
{
  GstElement *first = nullptr;
  GstIterator *it = gst_bin_iterate_sorted (GST_BIN (s.pipeline));
  GValue item = G_VALUE_INIT;
  while (!first && gst_iterator_next (it, &item) == GST_ITERATOR_OK) {
    auto *e = GST_ELEMENT (g_value_get_object (&item));
    if (e == s.sink || e == s.src)
      first = e;
    g_value_reset (&item);
  }
  g_value_unset (&item);
  gst_iterator_free (it);
  fail_unless (first == s.sink, "the src, not the sink, changes state first");
}

struct FunctionCalls {
  std::mutex m;
  std::vector<std::string> names;
  bool answered = false;

  static void on_call (GstElement *e, const char *id, const char *name,
      const char *args, gpointer data)
  {
    auto *self = static_cast<FunctionCalls *> (data);
    gboolean ok = FALSE;
    g_signal_emit_by_name (e, "function-result", id, "{\"time\":\"12:00\"}",
        &ok);
    std::lock_guard<std::mutex> l (self->m);
    self->names.emplace_back (name);
    self->answered = ok;
  }
};

}  // namespace

/* tools, tool-choice and instructions set on the src alone, while the sink
 * starts the call: the agent gets them, calls the function, and the
 * application receives the call. */
GST_START_TEST (test_src_alone_tools)
{
  fail_unless (server.control ("/control/reset", "{}"));
  Session s (key (), kQuietUser);
  expect_sink_starts (s);
  g_object_set (s.src, "tools", kTools, "tool-choice", "required",
      "instructions", "Set on the source only.", nullptr);
  FunctionCalls calls;
  g_signal_connect (s.src, "function-call", G_CALLBACK (FunctionCalls::on_call),
      &calls);

  s.play ();
  fail_unless (s.wait_event ("session.updated"), "no session.updated");
  gboolean ok = FALSE;
  g_signal_emit_by_name (s.src, "send-text", "What time is it in UTC?", TRUE,
      &ok);
  fail_unless (ok);
  fail_unless (s.wait_event ("response.function_call_arguments.done"),
      "the agent called no function");
  fail_unless (s.wait ([&] {
    std::lock_guard<std::mutex> l (calls.m);
    return !calls.names.empty ();
  }),
      "the application received no function call");
  {
    std::lock_guard<std::mutex> l (calls.m);
    fail_unless_equals_int (calls.names.size (), 1);
    fail_unless_equals_string (calls.names[0].c_str (), "get_time");
    fail_unless (calls.answered, "function-result was refused");
  }

  JsonNode *log = nullptr;
  JsonObject *session = first_session_update (&log);
  fail_unless_equals_string (
      json_object_get_string_member (session, "instructions"),
      "Set on the source only.");
  fail_unless_equals_string (
      json_object_get_string_member (session, "tool_choice"), "required");
  fail_unless_equals_int (
      json_array_get_length (json_object_get_array_member (session, "tools")),
      1);
  validate_client_events (log);
  json_node_unref (log);
  {
    std::lock_guard<std::mutex> l (s.m);
    fail_unless (s.warnings.empty (), "a warning: %s",
        s.warnings.empty () ? "" : s.warnings[0].c_str ());
  }
  expect_no_error (s);
  g_signal_handlers_disconnect_by_data (s.src, &calls);
}
GST_END_TEST;

/* The sink and the src disagree on instructions: one warning that names
 * the property and both values; the value set last is used, and the call is
 * made. The same value on both (tools) is no disagreement. */
GST_START_TEST (test_disagreement_warns_once)
{
  fail_unless (server.control ("/control/reset", "{}"));
  Session s (key (), kQuietUser);
  g_object_set (s.sink, "instructions", "Speak French.", "tools", kTools,
      nullptr);
  g_object_set (s.src, "instructions", "Speak German.", "tools", kTools,
      nullptr);

  s.play ();
  fail_unless (s.wait_event ("session.updated"), "no session.updated");
  fail_unless (s.wait ([&] {
    return std::any_of (s.changes.begin (), s.changes.end (),
        [] (const Session::Change &c) { return c.state == "connected"; });
  }),
      "the call did not connect");
  {
    std::lock_guard<std::mutex> l (s.m);
    fail_unless_equals_int (s.warnings.size (), 1);
    const std::string &w = s.warnings[0];
    for (const char *part : { "instructions", "\"Speak French.\"",
             "\"Speak German.\"", "'sink'", "'src'" })
      fail_unless (w.find (part) != std::string::npos,
          "the warning does not say %s: %s", part, w.c_str ());
    fail_unless (w.find ("tools") == std::string::npos, "%s", w.c_str ());
  }
  JsonNode *log = nullptr;
  JsonObject *session = first_session_update (&log);
  fail_unless_equals_string (
      json_object_get_string_member (session, "instructions"), "Speak German.");
  json_node_unref (log);

  /* Mid-call, a change on the sink is the latest value: it is sent. */
  g_object_set (s.sink, "instructions", "Speak Italian.", nullptr);
  fail_unless (s.wait ([&] {
    return std::count (s.signalled.begin (), s.signalled.end (),
               "session.updated") == 2;
  }),
      "the change was not sent");
  log = server.log ();
  fail_unless_equals_string (
      json_object_get_string_member (only_call (log), "instructions"),
      "Speak Italian.");
  json_node_unref (log);
  {
    std::lock_guard<std::mutex> l (s.m);
    fail_unless_equals_int (s.warnings.size (), 1);
  }
  expect_no_error (s);
}
GST_END_TEST;

/* Set on the sink alone, as before: it reaches the call, and so does a
 * change on the src mid-call, without undoing the sink's other settings. */
GST_START_TEST (test_sink_alone)
{
  fail_unless (server.control ("/control/reset", "{}"));
  Session s (key (), kQuietUser);
  g_object_set (s.sink, "instructions", "Set on the sink only.",
      "max-output-tokens", 123, nullptr);

  s.play ();
  fail_unless (s.wait_event ("session.updated"), "no session.updated");
  JsonNode *log = nullptr;
  JsonObject *session = first_session_update (&log);
  fail_unless_equals_string (
      json_object_get_string_member (session, "instructions"),
      "Set on the sink only.");
  fail_unless_equals_int (
      json_object_get_int_member (session, "max_output_tokens"), 123);
  json_node_unref (log);

  g_object_set (s.src, "tool-choice", "none", nullptr);
  fail_unless (s.wait ([&] {
    return std::count (s.signalled.begin (), s.signalled.end (),
               "session.updated") == 2;
  }),
      "the change was not sent");
  log = server.log ();
  JsonObject *call = only_call (log);
  fail_unless_equals_string (
      json_object_get_string_member (call, "instructions"),
      "Set on the sink only.");
  validate_client_events (log);
  json_node_unref (log);
  {
    std::lock_guard<std::mutex> l (s.m);
    fail_unless (s.warnings.empty (), "a warning: %s",
        s.warnings.empty () ? "" : s.warnings[0].c_str ());
  }
  expect_no_error (s);
}
GST_END_TEST;

/* How the call behaves, set on the src alone while the sink starts the
 * call: with one reconnection allowed, refused calls end in an error after
 * two attempts (the default would retry until the fourth one connects). */
GST_START_TEST (test_src_alone_tuning)
{
  fail_unless (server.control ("/control/reset", "{}"));
  fail_unless (server.control ("/control/fault",
      "{\"reject_calls\":3,"
      "\"status\":503,\"body\":\"{\\\"error\\\":{\\\"message\\\":"
      "\\\"The server is overloaded.\\\",\\\"type\\\":"
      "\\\"server_error\\\",\\\"code\\\":null}}\"}"));
  Session s (key (), kQuietUser, "max-reconnect-attempts=1 reconnect-delay=20");
  expect_sink_starts (s);
  s.play ();
  fail_unless (s.wait ([&] { return !s.errors.empty (); }),
      "no error: max-reconnect-attempts set on the src was not applied");
  fail_unless (s.wait ([&] { return count_state (s, "failed") == 1; }));
  s.stop ();
  JsonNode *log = server.log ();
  fail_unless_equals_int (test::count_requests (log, "/v1/realtime/calls"), 2);
  json_node_unref (log);
}
GST_END_TEST;

/* The user's audio goes out at the Opus bitrate set on the sink: 20 ms
 * frames of 12 kbit/s are 30 bytes (constrained VBR keeps the average), the
 * default 64 kbit/s would be 160. */
GST_START_TEST (test_opus_bitrate)
{
  fail_unless (server.control ("/control/reset", "{}"));
  Session s (key (), "audiotestsrc is-live=true freq=440 volume=0.5", "",
      "opus-bitrate=12000");
  s.play ();
  fail_unless (s.wait_event ("session.created"), "no session.created");
  guint64 packets = 0, bytes = 0;
  /* webrtcbin's statistics are sampled once a second. */
  for (int i = 0; i < 100 && packets < 100; i++) {
    GstStructure *stats = nullptr;
    g_object_get (s.sink, "stats", &stats, nullptr);
    gst_structure_get_uint64 (stats, "audio-packets-sent", &packets);
    gst_structure_get_uint64 (stats, "audio-bytes-sent", &bytes);
    gst_structure_free (stats);
    if (packets < 100)
      s.wait ([] { return false; }, 100ms);
  }
  fail_unless (packets >= 100, "only %" G_GUINT64_FORMAT " packets sent",
      packets);
  const double per_packet = (double) bytes / packets;
  fail_unless (per_packet > 15 && per_packet < 50,
      "%.0f bytes a packet: not 12 kbit/s", per_packet);
  expect_no_error (s);
}
GST_END_TEST;

static Suite *settings_suite (void)
{
  Suite *s = suite_create ("settings");
  TCase *tc = tcase_create ("settings");
  tcase_add_unchecked_fixture (tc, local_server_up, local_server_down);
  tcase_set_timeout (tc, 60);
  tcase_add_test (tc, test_src_alone_tools);
  tcase_add_test (tc, test_disagreement_warns_once);
  tcase_add_test (tc, test_sink_alone);
  tcase_add_test (tc, test_src_alone_tuning);
  tcase_add_test (tc, test_opus_bitrate);
  suite_add_tcase (s, tc);
  return s;
}

GST_CHECK_MAIN (settings);
