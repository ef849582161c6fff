/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A new conversation on the same call (the new-conversation action, and
 * what openairealtimesink does when a phone call upstream ends): the
 * service's conversation is emptied without an error from the service, a
 * reply under way stops, and the agent goes on answering on the same call.
 * Against the local realtime server. */
#include "session.h"

#include <gst/check/gstcheck.h>

namespace {

const char *kQuietUser =
    "audiotestsrc name=user is-live=true freq=440 volume=0";

/* The number of items the server's conversation holds now. */
gint64 conversation_items ()
{
  JsonNode *log = server.log ();
  gint64 n = json_object_get_int_member (only_call (log), "conversation_items");
  json_node_unref (log);
  return n;
}

/* How many client events of this type the server received. */
size_t client_event_count (const char *type)
{
  JsonNode *log = server.log ();
  JsonArray *events = json_object_get_array_member (only_call (log), "events");
  size_t n = 0;
  for (guint i = 0; i < json_array_get_length (events); i++) {
    JsonNode *e = json_array_get_element (events, i);
    if (JSON_NODE_HOLDS_OBJECT (e) &&
        g_strcmp0 (json_object_get_string_member_with_default (
                       json_node_get_object (e), "type", ""),
            type) == 0)
      n++;
  }
  json_node_unref (log);
  return n;
}

guint64 conversations_cleared (GstElement *e)
{
  GstStructure *stats = nullptr;
  g_object_get (e, "stats", &stats, nullptr);
  guint64 n = 0;
  fail_unless (
      stats && gst_structure_get_uint64 (stats, "conversations-cleared", &n));
  gst_structure_free (stats);
  return n;
}

}  // namespace

/* A finished exchange: every item deleted, no response to cancel, then a
 * reply to the next user on the same call. */
GST_START_TEST (test_new_conversation)
{
  server.control ("/control/reset", "{}");
  Session s (key (), kQuietUser, "",
      "output-modalities=text turn-detection=none");
  s.play ();
  fail_unless (s.wait_event ("session.updated"));
  fail_unless (send_text (s.src, "Hi.", true));
  fail_unless (s.wait_event ("response.done"));
  const gint64 held = conversation_items ();
  fail_unless (held >= 2, "%" G_GINT64_FORMAT " items after an exchange", held);

  fail_unless (emit_bool (s.sink, "new-conversation"));
  fail_unless (s.wait ([&] {
    return std::count (s.signalled.begin (), s.signalled.end (),
               "conversation.item.deleted") == held;
  }),
      "the items were not all deleted");
  fail_unless_equals_int (conversation_items (), 0);
  fail_unless_equals_int (client_event_count ("conversation.item.delete"),
      held);
  /* Nothing was under way: a cancel would have been refused. */
  fail_unless_equals_int (client_event_count ("response.cancel"), 0);
  fail_unless_equals_int (conversations_cleared (s.src), 1);

  /* The same call goes on, with only the new exchange in it. */
  fail_unless (send_text (s.src, "Hello again.", true));
  fail_unless (s.wait ([&] {
    return std::count (s.signalled.begin (), s.signalled.end (),
               "response.done") == 2;
  }));
  fail_unless_equals_int (conversation_items (), 2);
  fail_unless_equals_int (s.count_event ("error"), 0);
  fail_unless_equals_int (s.count_event ("session.created"), 1);
  JsonNode *log = server.log ();
  validate_client_events (log);
  json_node_unref (log);
  expect_no_error (s);
}
GST_END_TEST;

/* While the agent speaks: the reply is cancelled and its audio cleared
 * (the service's order: cancel first), and the src falls silent. */
GST_START_TEST (test_new_conversation_while_speaking)
{
  server.control ("/control/reset", "{}");
  Session s (key (), kQuietUser, "", "turn-detection=none");
  s.play ();
  fail_unless (s.wait_event ("session.updated"));
  fail_unless (send_text (s.src, "Tell me a long story.", true));
  fail_unless (s.wait_event ("output_audio_buffer.started"));
  /* A spoken reply lasts seconds: the action surely comes while it runs. */
  fail_unless (emit_bool (s.sink, "new-conversation"));
  fail_unless (s.wait_event ("response.done"));
  fail_unless (s.wait_event ("output_audio_buffer.cleared"));
  {
    std::lock_guard<std::mutex> l (s.m);
    auto at = std::find (s.signalled.begin (), s.signalled.end (),
        "response.done");
    JsonNode *done = json_from_string (
        s.signalled_json[at - s.signalled.begin ()].c_str (), nullptr);
    JsonObject *response = json_object_get_object_member (
        json_node_get_object (done), "response");
    fail_unless_equals_string (
        json_object_get_string_member (response, "status"), "cancelled");
    json_node_unref (done);
  }
  fail_unless (s.wait ([&] {
    return std::count (s.signalled.begin (), s.signalled.end (),
               "conversation.item.deleted") >= 2;
  }));
  fail_unless_equals_int (conversation_items (), 0);
  fail_unless_equals_int (client_event_count ("response.cancel"), 1);
  fail_unless_equals_int (client_event_count ("output_audio_buffer.clear"), 1);
  fail_unless_equals_int (s.count_event ("error"), 0);

  /* The agent's voice is gone from the src: the second half of the next
   * second of output is silent (the first may still hold packets that were
   * on the wire). */
  const size_t from = s.audio_size ();
  fail_unless (s.wait_audio (from, 48000));
  {
    std::lock_guard<std::mutex> l (s.m);
    double sum = 0;
    for (size_t i = from + 24000; i < from + 48000; i++)
      sum += (double) s.audio[i] * s.audio[i];
    const double rms = std::sqrt (sum / 24000);
    fail_unless (rms < 30,
        "the agent still speaks after new-conversation "
        "(rms %.0f)",
        rms);
  }
  expect_no_error (s);
}
GST_END_TEST;

/* The application's request crosses the new conversation (a hang-up tool
 * answered as the call ends, as examples/phone_agent.py does): the reply
 * the service starts for it, and its items, still go. */
GST_START_TEST (test_new_conversation_crossing)
{
  server.control ("/control/reset", "{}");
  Session s (key (), kQuietUser, "", "turn-detection=none");
  s.play ();
  fail_unless (s.wait_event ("session.updated"));
  fail_unless (send_text (s.src, "Goodbye.", true));
  fail_unless (emit_bool (s.sink, "new-conversation"));
  /* The message, and the reply's item if it got that far, added after the
   * snapshot: each deleted, the reply cancelled. */
  fail_unless (s.wait ([&] {
    auto count = [&] (const char *type) {
      return std::count (s.signalled.begin (), s.signalled.end (), type);
    };
    return count ("response.done") >= 1 &&
        count ("conversation.item.added") >= 1 &&
        count ("conversation.item.deleted") ==
        count ("conversation.item.added");
  }),
      "the crossing reply was not cancelled and removed: %s",
      s.event_types ().c_str ());
  fail_unless_equals_int (conversation_items (), 0);
  fail_unless_equals_int (client_event_count ("response.cancel"), 1);
  fail_unless_equals_int (s.count_event ("error"), 0);
  expect_no_error (s);
}
GST_END_TEST;

static Suite *conversation_suite (void)
{
  Suite *s = suite_create ("conversation");
  TCase *tc = tcase_create ("conversation");
  tcase_add_unchecked_fixture (tc, local_server_up, local_server_down);
  tcase_set_timeout (tc, 60);
  tcase_add_test (tc, test_new_conversation);
  tcase_add_test (tc, test_new_conversation_while_speaking);
  tcase_add_test (tc, test_new_conversation_crossing);
  suite_add_tcase (s, tc);
  return s;
}

GST_CHECK_MAIN (conversation);
