/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A pipeline parked in READY prepares its call (the peer, its offer and the
 * secret) and says so with "openai-realtime-prepared"; nothing reaches the
 * service's calls endpoint before PAUSED, and PLAYING uses what was
 * prepared. Against the local server: settings changed in READY, a secret
 * past half its life and a pipeline that goes back to NULL. */
#include "session.h"

#include <gst/check/gstcheck.h>

namespace {

/* What the call's category says at INFO, for the lines that tell whether
 * the prepared peer was used. */
std::mutex said_lock;
std::vector<std::string> said;

void record (GstDebugCategory *category, GstDebugLevel level, const gchar *,
    const gchar *, gint, GObject *, GstDebugMessage *message, gpointer)
{
  if (level > GST_LEVEL_INFO ||
      g_strcmp0 (gst_debug_category_get_name (category), "realtimecall") != 0)
    return;
  std::lock_guard<std::mutex> l (said_lock);
  said.emplace_back (gst_debug_message_get (message));
}

void listen ()
{
  gst_debug_set_active (TRUE);
  gst_debug_set_threshold_for_name ("realtimecall", GST_LEVEL_INFO);
  gst_debug_add_log_function (record, nullptr, nullptr);
  std::lock_guard<std::mutex> l (said_lock);
  said.clear ();
}

bool call_said (const std::string &what)
{
  std::lock_guard<std::mutex> l (said_lock);
  return std::any_of (said.begin (), said.end (), [&] (const std::string &s) {
    return s.find (what) != std::string::npos;
  });
}

void unlisten ()
{
  gst_debug_remove_log_function (record);
}

/* Counts of the server's minting and call requests. */
struct Requests {
  int secrets, calls;
};

Requests requests ()
{
  JsonNode *log = server.log ();
  fail_unless (log != nullptr);
  Requests r { test::count_requests (log, "/v1/realtime/client_secrets"),
    test::count_requests (log, "/v1/realtime/calls") };
  json_node_unref (log);
  return r;
}

void park (Session &s)
{
  fail_unless (gst_element_set_state (s.pipeline, GST_STATE_READY) ==
      GST_STATE_CHANGE_SUCCESS);
  fail_unless (s.wait ([&] {
    return std::count (s.messages.begin (), s.messages.end (),
               "openai-realtime-prepared") > 0;
  }),
      "no openai-realtime-prepared in READY");
}

guint provider_minted (Session &s)
{
  GstElement *p = gst_bin_get_by_name (GST_BIN (s.pipeline), "p");
  guint n = 0;
  g_object_get (p, "secrets-minted", &n, nullptr);
  gst_object_unref (p);
  return n;
}

}  // namespace

/* Parked in READY: one secret minted, no call posted; PLAYING then uses
 * the prepared peer and that secret, and the agent answers. */
GST_START_TEST (test_prepared_in_ready)
{
  fail_unless (server.control ("/control/reset", "{}"));
  listen ();
  {
    Session s (key ());
    park (s);
    Requests r = requests ();
    fail_unless_equals_int (r.secrets, 1);
    fail_unless_equals_int (r.calls, 0);
    s.play ();
    fail_unless (s.wait_event ("session.created"), "no session.created");
    fail_unless (s.wait_audio (0, 4800), "no agent audio");
    r = requests ();
    fail_unless_equals_int (r.secrets, 1);
    fail_unless_equals_int (r.calls, 1);
    fail_unless_equals_int (provider_minted (s), 1);
    fail_unless (call_said ("using the peer prepared ahead"),
        "the call did not use the prepared peer");
    expect_no_error (s);
  }
  unlisten ();
}
GST_END_TEST;

/* A setting that changes the peer (the jitter buffer), set in READY after
 * the call was prepared: the prepared peer is let go and a new one made;
 * the secret, which does not depend on it, is still used. */
GST_START_TEST (test_prepared_peer_let_go)
{
  fail_unless (server.control ("/control/reset", "{}"));
  listen ();
  {
    Session s (key ());
    park (s);
    g_object_set (s.src, "latency", 60u, nullptr);
    s.play ();
    fail_unless (s.wait_event ("session.created"), "no session.created");
    fail_unless (!call_said ("using the peer prepared ahead"),
        "a peer prepared for other settings was used");
    Requests r = requests ();
    fail_unless_equals_int (r.secrets, 1);
    fail_unless_equals_int (r.calls, 1);
    expect_no_error (s);
  }
  unlisten ();
}
GST_END_TEST;

/* A secret past half its life (a 10 s one, parked for 6 s) is not used: a
 * fresh one is minted for the call. */
GST_START_TEST (test_stale_secret_minted_again)
{
  fail_unless (server.control ("/control/reset", "{}"));
  Session s (key () + " token-ttl=10");
  park (s);
  const gint64 until = g_get_monotonic_time () + 6 * G_USEC_PER_SEC;
  /* Time passing is what is tested: the secret ages. */
  s.wait ([&] { return g_get_monotonic_time () >= until; },
      std::chrono::milliseconds (7000));
  fail_unless (g_get_monotonic_time () >= until);
  s.play ();
  fail_unless (s.wait_event ("session.created"), "no session.created");
  Requests r = requests ();
  fail_unless_equals_int (r.secrets, 2);
  fail_unless_equals_int (r.calls, 1);
  expect_no_error (s);
}
GST_END_TEST;

/* READY and back to NULL: nothing posted; the same pipeline then calls as
 * usual, straight from NULL, with a secret of its own. */
GST_START_TEST (test_ready_then_null)
{
  fail_unless (server.control ("/control/reset", "{}"));
  Session s (key ());
  park (s);
  fail_unless (gst_element_set_state (s.pipeline, GST_STATE_NULL) ==
      GST_STATE_CHANGE_SUCCESS);
  Requests r = requests ();
  fail_unless_equals_int (r.secrets, 1);
  fail_unless_equals_int (r.calls, 0);
  s.play ();
  fail_unless (s.wait_event ("session.created"), "no session.created");
  /* The secret of the call let go went with it. */
  r = requests ();
  fail_unless_equals_int (r.secrets, 2);
  fail_unless_equals_int (r.calls, 1);
  expect_no_error (s);
}
GST_END_TEST;

/* PLAYING right after READY, the preparation still under way: the call
 * waits for the secret and the offer being made, and makes neither
 * twice. */
GST_START_TEST (test_playing_while_preparing)
{
  fail_unless (server.control ("/control/reset", "{}"));
  Session s (key ());
  fail_unless (gst_element_set_state (s.pipeline, GST_STATE_READY) ==
      GST_STATE_CHANGE_SUCCESS);
  s.play ();
  fail_unless (s.wait_event ("session.created"), "no session.created");
  fail_unless (s.wait_audio (0, 4800), "no agent audio");
  Requests r = requests ();
  fail_unless_equals_int (r.secrets, 1);
  fail_unless_equals_int (r.calls, 1);
  expect_no_error (s);
}
GST_END_TEST;

static Suite *prepare_suite (void)
{
  Suite *s = suite_create ("prepare");
  TCase *tc = tcase_create ("prepare");
  tcase_add_unchecked_fixture (tc, local_server_up, local_server_down);
  tcase_set_timeout (tc, 60);
  tcase_add_test (tc, test_prepared_in_ready);
  tcase_add_test (tc, test_prepared_peer_let_go);
  tcase_add_test (tc, test_stale_secret_minted_again);
  tcase_add_test (tc, test_ready_then_null);
  tcase_add_test (tc, test_playing_while_preparing);
  suite_add_tcase (s, tc);
  return s;
}

GST_CHECK_MAIN (prepare);
