/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A long call against a strict far end: the service is reported to ignore
 * ICE binding requests that lack USE-CANDIDATE (consent checks, RFC 7675),
 * which loses stacks that check consent that way after about 30 s. The
 * local server runs with --strict-ice, dropping such requests, and a call of
 * STRICT_CALL_SECONDS (default 300) must keep audio flowing both ways (the
 * echo of the tone) without a single reconnection. */
#include "session.h"

namespace {

/* The relay counters the server keeps for the (only) call. */
void relay_counters (gint64 *binding_requests, gint64 *ignored)
{
  JsonNode *log = server.log ();
  fail_unless (log != nullptr);
  JsonObject *call = only_call (log);
  JsonObject *relay = json_object_get_object_member (call, "relay");
  fail_unless (relay != nullptr, "the server log has no relay counters");
  *binding_requests = json_object_get_int_member_with_default (relay,
      "binding_requests", -1);
  *ignored = json_object_get_int_member_with_default (relay, "ignored_checks",
      -1);
  json_node_unref (log);
}

}  // namespace

GST_START_TEST (test_long_call_strict_peer)
{
  /* The full five minutes in the plain build; one under the sanitizers,
   * whose run is about leaks and memory errors, not duration. */
  const bool sanitized = g_getenv ("LD_PRELOAD") &&
      strstr (g_getenv ("LD_PRELOAD"), "asan");
  const unsigned seconds = test::env_uint ("STRICT_CALL_SECONDS",
      sanitized ? 60 : 300);
  fail_unless (server.control ("/control/reset", "{}"));
  /* No turn detection (as in soak): a stall of the tone under load would
   * read as the end of a turn, and the agent's answer suspends the echo. */
  Session s ("api-key=" + server.api_key,
      "audiotestsrc is-live=true freq=440 volume=0.5", "",
      "turn-detection=none");
  s.play ();
  fail_unless (s.wait_event ("session.updated"));
  fail_unless (echo_heard (s));

  /* Every 10 s of the call, the last second must hold the echo. A peer
   * that loses the call to the strict checks loses the echo for good; a
   * loaded machine can stall one second of it: two checks in a row must
   * not miss it. */
  const gint64 end = g_get_monotonic_time () +
      gint64 (seconds) * G_USEC_PER_SEC;
  unsigned checks = 0, misses = 0;
  bool missed_last = false;
  while (g_get_monotonic_time () < end) {
    size_t mark = s.audio_size ();
    fail_unless (s.wait_audio (mark, 48000 * 10, 20s), "the src stalled");
    std::lock_guard<std::mutex> l (s.m);
    size_t last = s.audio.size () - 48000;
    double level = test::rms (s.audio, last, 48000);
    double f = test::dominant_frequency (s.audio, last, 48000);
    const bool heard = level > 0.05 && std::abs (f - 440) < 15;
    fail_unless (heard || !missed_last,
        "no echo %u s into the call, nor 10 s before (level %.3f, %.0f Hz)",
        checks * 10, level, f);
    if (!heard)
      g_print ("no echo %u s into the call (level %.3f, %.0f Hz)\n",
          checks * 10, level, f);
    misses += heard ? 0 : 1;
    missed_last = !heard;
    checks++;
  }
  fail_unless (misses * 10 <= checks, "the echo was missing at %u of %u checks",
      misses, checks);
  gint64 requests = 0, ignored = 0;
  relay_counters (&requests, &ignored);
  g_print ("%u s call against a strict peer: echo heard at %u of %u checks; "
           "binding requests from the client %" G_GINT64_FORMAT
           ", ignored %" G_GINT64_FORMAT "\n",
      seconds, checks - misses, checks, requests, ignored);
  fail_unless_equals_uint64 (uint64_prop (s.src, "reconnects"), 0);
  expect_transitions (s, "connecting/1 connected/1");
  expect_no_error (s);
}
GST_END_TEST;

static void strict_server_up ()
{
  local_server_up_with ("--strict-ice");
}

static Suite *strict_suite ()
{
  Suite *s = suite_create ("strict");
  TCase *tc = tcase_create ("strict");
  tcase_set_timeout (tc, 900);
  tcase_add_unchecked_fixture (tc, strict_server_up, local_server_down);
  tcase_add_test (tc, test_long_call_strict_peer);
  suite_add_tcase (s, tc);
  return s;
}

GST_CHECK_MAIN (strict);
