/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The local server's --media minimal, what the many-calls benchmark runs
 * against: the call is a real one (ICE, DTLS, the data channel, RTCP), the
 * client hears the server's tone loop, and the client's RTP ends at the
 * server's relay instead of costing the server a receiver per call. */
#include "session.h"

/* One call: the loop heard, the client's RTP counted at the relay. */
static void minimal_call ()
{
  fail_unless (server.control ("/control/reset", "{}"));
  Session s ("api-key=" + server.api_key,
      "audiotestsrc is-live=true freq=440 volume=0.5", "",
      "turn-detection=none");
  s.play ();
  fail_unless (s.wait_event ("session.updated"), "no session.updated");
  /* A second of the server's 660 Hz loop, from its first sound on. */
  fail_unless (s.wait ([&] {
    long at = test::first_loud_window (s.audio, 0, 4800, 0.05);
    return at >= 0 && s.audio.size () > size_t (at) + 48000;
  }),
      "the server's tone never came");
  {
    std::lock_guard<std::mutex> l (s.m);
    long at = test::first_loud_window (s.audio, 0, 4800, 0.05);
    double f = test::dominant_frequency (s.audio, at + 9600, 19200);
    fail_unless (f > 650 && f < 670, "heard %.0f Hz, not the 660 Hz loop", f);
  }
  /* The client's audio reached the relay and went no further; STUN, DTLS
   * and RTCP did. */
  JsonNode *log = server.log ();
  JsonObject *relay = json_object_get_object_member (only_call (log), "relay");
  fail_unless (relay != nullptr, "the server log has no relay counters");
  const gint64 discarded = json_object_get_int_member (relay, "rtp_discarded");
  const gint64 in = json_object_get_int_member (relay, "packets_in");
  fail_unless (discarded >= 25, "%" G_GINT64_FORMAT " client RTP discarded",
      discarded);
  fail_unless (in > discarded, "nothing but RTP came from the client");
  json_node_unref (log);
  fail_unless_equals_uint64 (uint64_prop (s.src, "reconnects"), 0);
}

/* Calls one after another: each handshake ends at another moment of the
 * server's sender, which pushes on the thread that forwards the handshake
 * (a push before DTLS is done would hold that thread, and the call). */
GST_START_TEST (test_minimal_calls)
{
  for (int i = 0; i < 6; i++)
    minimal_call ();
}
GST_END_TEST;

static Suite *minimal_media_suite ()
{
  Suite *s = suite_create ("minimal-media");
  TCase *tc = tcase_create ("call");
  tcase_set_timeout (tc, 60);
  tcase_add_unchecked_fixture (
      tc, [] { local_server_up_with ("--media minimal"); }, local_server_down);
  tcase_add_test (tc, test_minimal_calls);
  suite_add_tcase (s, tc);
  return s;
}

GST_CHECK_MAIN (minimal_media);
