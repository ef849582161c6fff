/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Calls that survive: faults injected through the local server's control
 * interface, and what a user of the elements sees. Each test checks the
 * connection states, the time to recover, the secrets minted and offers
 * posted, that the user's pipeline never errored nor stalled, and that the
 * agent's audio (the echo of a 440 Hz tone) is back afterwards. */
#include "session.h"

#include <cmath>

namespace {

constexpr const char *kInput = "audiotestsrc is-live=true freq=440 volume=0.5";

gint64 now_ms ()
{
  return g_get_monotonic_time () / 1000;
}

std::string state_nick (GstElement *e)
{
  gint state = -1;
  g_object_get (e, "connection-state", &state, nullptr);
  GEnumClass *ec = G_ENUM_CLASS (
      g_type_class_ref (g_type_from_name ("GstOpenAIRealtimeConnectionState")));
  GEnumValue *v = g_enum_get_value (ec, state);
  std::string nick = v ? v->value_nick : "?";
  g_type_class_unref (ec);
  return nick;
}

/* Offers posted (POST /v1/realtime/calls exactly; hangups excluded). */
int count_offers (JsonNode *log)
{
  int n = 0;
  JsonArray *reqs = json_object_get_array_member (json_node_get_object (log),
      "requests");
  for (guint i = 0; i < json_array_get_length (reqs); i++) {
    JsonObject *r = json_array_get_object_element (reqs, i);
    n += g_strcmp0 (json_object_get_string_member (r, "method"), "POST") == 0 &&
        g_strcmp0 (json_object_get_string_member (r, "path"),
            "/v1/realtime/calls") == 0;
  }
  return n;
}

int count_secrets (JsonNode *log)
{
  return json_array_get_length (
      json_object_get_array_member (json_node_get_object (log), "secrets"));
}

/* The server logs a request when it has answered it, and a request whose
 * answer is held back only when the hold ends: the log is read until it
 * shows the expected offers, for a bounded time. */
void expect_counts (int secrets, int offers)
{
  int seen_secrets = -1, seen_offers = -1;
  const gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  for (;;) {
    JsonNode *log = server.log ();
    fail_unless (log != nullptr);
    seen_secrets = count_secrets (log);
    seen_offers = count_offers (log);
    json_node_unref (log);
    if (seen_offers >= offers || g_get_monotonic_time () > deadline)
      break;
    g_usleep (20000); /* between polls of another process's state */
  }
  fail_unless_equals_int (seen_secrets, secrets);
  fail_unless_equals_int (seen_offers, offers);
}

/* A call that is up and echoing, then fault: the call comes back within
 * max_ms of the injection, under the same user pipeline, which kept
 * playing: the src's output stayed continuous and the sink dropped (and
 * counted) the input it could not send. */
void mid_call_fault (const char *fault, const char *category,
    const std::string &call_props, gint64 max_ms)
{
  fail_unless (server.control ("/control/reset", "{}"));
  Session s ("api-key=" + server.api_key, kInput, "", call_props);
  s.play ();
  fail_unless (s.wait_event ("session.updated"), "no session.updated");
  fail_unless (echo_heard (s), "no echo before the fault");

  const size_t audio_at_fault = s.audio_size ();
  const guint64 dropped_before = uint64_prop (s.sink, "audio-dropped");
  const gint64 t0 = now_ms ();
  fail_unless (server.control ("/control/fault", fault));
  fail_unless (
      s.wait ([&] { return count_state (s, "reconnecting") == 1; }, 15s),
      "the fault was not noticed");
  const gint64 noticed_ms = now_ms () - t0;
  fail_unless (s.wait ([&] { return count_state (s, "connected") == 2; }, 15s),
      "no new call");
  fail_unless (echo_back (s, audio_at_fault),
      "the agent's audio did not come back");
  const gint64 recovered_ms = now_ms () - t0;
  g_print ("%s: noticed after %" G_GINT64_FORMAT
           " ms, audio back after %" G_GINT64_FORMAT " ms\n",
      category, noticed_ms, recovered_ms);
  /* The sanitizers slow every step of a new call (its certificate, ICE,
   * DTLS) down: the bound is the plain build's, stretched for them. */
#if defined(__SANITIZE_ADDRESS__)
  max_ms = max_ms * 3 / 2;
#endif
  fail_unless (recovered_ms < max_ms,
      "recovery took %" G_GINT64_FORMAT " ms "
      "(bound %" G_GINT64_FORMAT " ms)",
      recovered_ms, max_ms);

  /* The src never stalled: it kept giving audio (silence while the call
   * was down) at the real-time rate. */
  const size_t expected = size_t (recovered_ms) * 48;
  fail_unless (s.audio_size () - audio_at_fault >= expected * 8 / 10,
      "the src stalled: %zu samples in %" G_GINT64_FORMAT " ms",
      s.audio_size () - audio_at_fault, recovered_ms);
  fail_unless (uint64_prop (s.sink, "audio-dropped") > dropped_before,
      "the sink did not drop the input while the call was down");
  fail_unless_equals_uint64 (uint64_prop (s.src, "reconnects"), 1);

  std::string expected_states = std::string ("connecting/1 connected/1 "
                                             "reconnecting/2/") +
      category + " connected/2";
  expect_transitions (s, expected_states.c_str ());
  expect_no_error (s);
  /* Both elements of the call report it through their property too. */
  std::string sink_state = state_nick (s.sink), src_state = state_nick (s.src);
  fail_unless_equals_string (sink_state.c_str (), "connected");
  fail_unless_equals_string (src_state.c_str (), "connected");
  s.stop ();
  src_state = state_nick (s.src);
  fail_unless_equals_string (src_state.c_str (), "closed");
  expect_counts (2, 2);
}

/* The first attempts fail (fault injected before PLAYING), then a call
 * comes up: states, secrets and offers as expected, no error. */
Session *start_through (const char *fault, const std::string &call_props = "")
{
  fail_unless (server.control ("/control/reset", "{}"));
  fail_unless (server.control ("/control/fault", fault));
  auto *s = new Session ("api-key=" + server.api_key, kInput, "", call_props);
  s->play ();
  fail_unless (
      s->wait ([&] { return count_state (*s, "connected") == 1; }, 20s),
      "never connected: %s", s->transitions ().c_str ());
  fail_unless (echo_heard (*s), "no echo after recovering");
  expect_no_error (*s);
  return s;
}

gint64 at_of (Session &s, const std::string &state, size_t nth = 0)
{
  std::lock_guard<std::mutex> l (s.m);
  for (auto &c : s.changes)
    if (c.state == state && nth-- == 0)
      return c.at_us / 1000;
  return -1;
}

}  // namespace

GST_START_TEST (test_abrupt_drop)
{
  /* The far end vanishes at once (its channel reset): noticed in
   * milliseconds, back within the default first backoff step. */
  mid_call_fault ("{\"drop_calls\":\"abrupt\"}", "channel-closed", "", 3000);
}
GST_END_TEST;

GST_START_TEST (test_silent_loss)
{
  /* Nothing at all comes back (no ICE answers, no media, no close): only
   * the media timeout can tell. */
  mid_call_fault ("{\"drop_calls\":\"silent\"}", "media-timeout",
      "media-timeout=1000", 1000 + 2000);
}
GST_END_TEST;

GST_START_TEST (test_server_errors_then_success)
{
  Session *s = start_through (
      "{\"reject_calls\":3,\"status\":503,\"body\":"
      "\"{\\\"error\\\":{\\\"message\\\":\\\"The server is overloaded.\\\","
      "\\\"type\\\":\\\"server_error\\\",\\\"code\\\":null}}\"}",
      "reconnect-delay=50");
  expect_transitions (*s,
      "connecting/1 reconnecting/2/server-error "
      "reconnecting/3/server-error reconnecting/4/server-error connected/4");
  s->stop ();
  delete s;
  /* A fresh secret for every attempt. */
  expect_counts (4, 4);
}
GST_END_TEST;

GST_START_TEST (test_rate_limited_honours_retry_after)
{
  /* reconnect-delay=1 would retry at once without the header. */
  Session *s = start_through (
      "{\"reject_calls\":1,\"status\":429,\"retry_after\":1,"
      "\"body\":\"{\\\"error\\\":{\\\"message\\\":\\\"Rate limit reached.\\\","
      "\\\"type\\\":\\\"requests\\\",\\\"code\\\":\\\"rate_limit_exceeded\\\"}}\"}",
      "reconnect-delay=1");
  expect_transitions (*s,
      "connecting/1 reconnecting/2/rate-limited connected/2");
  gint64 waited = at_of (*s, "connected") - at_of (*s, "reconnecting");
  fail_unless (waited >= 1000, "retried after %" G_GINT64_FORMAT " ms", waited);
  s->stop ();
  delete s;
  expect_counts (2, 2);
}
GST_END_TEST;

GST_START_TEST (test_quota_is_fatal)
{
  fail_unless (server.control ("/control/reset", "{}"));
  fail_unless (server.control ("/control/fault",
      "{\"reject_calls\":1,\"status\":429,"
      "\"body\":\"{\\\"error\\\":{\\\"message\\\":\\\"You exceeded your current "
      "quota.\\\",\\\"type\\\":\\\"insufficient_quota\\\",\\\"code\\\":"
      "\\\"insufficient_quota\\\"}}\"}"));
  {
    Session s ("api-key=" + server.api_key, kInput, "", "reconnect-delay=1");
    s.play ();
    fail_unless (s.wait ([&] { return !s.errors.empty (); }), "no error");
    std::lock_guard<std::mutex> l (s.m);
    fail_unless (s.errors[0].find ("exceeded your current quota") !=
            std::string::npos,
        "%s", s.errors[0].c_str ());
  }
  expect_counts (1, 1);
}
GST_END_TEST;

GST_START_TEST (test_answer_not_sdp)
{
  Session *s = start_through ("{\"bad_answers\":1}", "reconnect-delay=50");
  expect_transitions (*s, "connecting/1 reconnecting/2/bad-answer connected/2");
  {
    std::lock_guard<std::mutex> l (s->m);
    fail_unless (s->changes[1].reason.find ("not SDP") != std::string::npos,
        "reason: %s", s->changes[1].reason.c_str ());
  }
  s->stop ();
  delete s;
  expect_counts (2, 2);
}
GST_END_TEST;

GST_START_TEST (test_slow_answer)
{
  /* The first answer comes long after the client has stopped waiting. */
  Session *s = start_through ("{\"delay_answers\":{\"count\":1,\"ms\":6000}}",
      "http-timeout=1 reconnect-delay=50");
  expect_transitions (*s, "connecting/1 reconnecting/2/network connected/2");
  gint64 gave_up = at_of (*s, "reconnecting") - at_of (*s, "connecting");
  /* At the HTTP timeout (plus minting and the offer, slow for a first call
   * under the sanitizers), well before the held answer. */
  fail_unless (gave_up >= 900 && gave_up < 5000,
      "gave up after %" G_GINT64_FORMAT " ms", gave_up);
  s->stop ();
  delete s;
  expect_counts (2, 2);
}
GST_END_TEST;

/* An attempt whose handshake never completes (the far end ignores every
 * ICE check) is abandoned at connect-timeout, and the next one connects. */
GST_START_TEST (test_connect_timeout)
{
  fail_unless (server.control ("/control/reset", "{}"));
  fail_unless (server.control ("/control/fault", "{\"strict_ice\":\"all\"}"));
  Session s ("api-key=" + server.api_key, kInput, "",
      "connect-timeout=2000 reconnect-delay=1");
  s.play ();
  fail_unless (
      s.wait ([&] { return count_state (s, "reconnecting") == 1; }, 15s),
      "the stalled attempt was not abandoned: %s", s.transitions ().c_str ());
  fail_unless (server.control ("/control/fault", "{\"strict_ice\":\"off\"}"));
  fail_unless (s.wait ([&] { return count_state (s, "connected") == 1; }, 15s));
  fail_unless (echo_heard (s), "no echo after recovering");
  expect_transitions (s,
      "connecting/1 reconnecting/2/connect-timeout connected/2");
  gint64 waited = at_of (s, "reconnecting") - at_of (s, "connecting");
  fail_unless (waited >= 1900 && waited < 6000,
      "abandoned after %" G_GINT64_FORMAT " ms", waited);
  expect_no_error (s);
}
GST_END_TEST;

/* Junk on the events channel is ignored and counted, never fatal. */
GST_START_TEST (test_bad_server_events)
{
  fail_unless (server.control ("/control/reset", "{}"));
  Session s ("api-key=" + server.api_key, kInput);
  s.play ();
  fail_unless (s.wait_event ("session.updated"));
  fail_unless (echo_heard (s));
  const guint64 received = uint64_prop (s.src, "events-received");

  /* A big transcript, sent as the transport delivers a message over its
   * limit: in two pieces. It must arrive whole, once. */
  std::string big (100000, 'x');
  std::string event =
      "{\"type\":\"response.output_audio_transcript.done\","
      "\"event_id\":\"e1\",\"response_id\":\"r1\",\"item_id\":\"i1\","
      "\"output_index\":0,\"content_index\":0,\"transcript\":\"" +
      big + "\"}";
  auto control = [] (const std::string &raw, const std::string &extra) {
    JsonBuilder *b = json_builder_new ();
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "send_event");
    json_builder_add_string_value (b, raw.c_str ());
    json_builder_end_object (b);
    JsonNode *n = json_builder_get_root (b);
    gchar *text = json_to_string (n, FALSE);
    std::string out (text);
    g_free (text);
    json_node_unref (n);
    g_object_unref (b);
    if (!extra.empty ())
      out = out.substr (0, out.size () - 1) + "," + extra + "}";
    fail_unless (server.control ("/control/fault", out), "control refused %s",
        out.substr (0, 80).c_str ());
  };
  control ("not json at all", "");
  control ("{\"no\":\"type\"}", "");
  control ("{\"type\":\"response.future_event\",\"x\":1}", "");
  control ("{\"type\":\"response.done\",\"response\":{\"id\":\"cut", "");
  control (event, "\"split_at\":[50000,65000]");
  /* Over the 1 MiB any event may be: 17 pieces of 64000 bytes. */
  std::string huge = "{\"type\":\"x\",\"pad\":\"" +
      std::string (17 * 64000, 'y') + "\"}";
  std::string offsets;
  for (int i = 1; i * 64000 < (int) huge.size (); i++)
    offsets += (offsets.empty () ? "" : ",") + std::to_string (i * 64000);
  control (huge, "\"split_at\":[" + offsets + "]");
  control ("{\"type\":\"rate_limits.updated\",\"rate_limits\":[]}", "");

  fail_unless (s.wait_event ("rate_limits.updated"),
      "the channel stopped working");
  fail_unless (s.wait_event ("response.future_event"),
      "unknown events are passed on");
  {
    std::lock_guard<std::mutex> l (s.m);
    size_t whole = 0;
    for (auto &j : s.signalled_json)
      whole += j.size () == event.size () && j == event;
    fail_unless_equals_int (whole, 1);
  }
  fail_unless_equals_uint64 (uint64_prop (s.src, "events-malformed"), 3);
  fail_unless_equals_uint64 (uint64_prop (s.src, "events-unknown"), 1);
  fail_unless_equals_uint64 (uint64_prop (s.src, "events-reassembled"), 1);
  fail_unless_equals_uint64 (uint64_prop (s.src, "events-oversized"), 1);
  fail_unless (uint64_prop (s.src, "events-received") >= received + 3);
  /* Still the same call, still echoing. */
  size_t mark = s.audio_size ();
  fail_unless (s.wait_audio (mark, 48000));
  {
    std::lock_guard<std::mutex> l (s.m);
    long at = test::first_loud_window (s.audio, mark, 4800, 0.05);
    fail_unless (at >= 0, "the echo stopped");
  }
  expect_transitions (s, "connecting/1 connected/1");
  expect_no_error (s);
}
GST_END_TEST;

/* The service's 60-minute limit: a new call, the conversation replayed into
 * it, and nothing the user has to handle. */
GST_START_TEST (test_session_expired_replays_history)
{
  fail_unless (server.control ("/control/reset", "{}"));
  /* No turn detection: the user's steady tone would otherwise be a turn
   * that cuts the reply, before a word of it when the machine is slow
   * (then there is no transcript at all). The echo needs none. */
  Session s ("api-key=" + server.api_key, kInput, "", "turn-detection=none");
  s.play ();
  fail_unless (s.wait_event ("session.updated"));
  fail_unless (s.send (
      "{\"type\":\"conversation.item.create\",\"item\":{\"type\":"
      "\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\","
      "\"text\":\"My name is Ada.\"}]}}"));
  fail_unless (s.send ("{\"type\":\"response.create\"}"));
  /* The transcript is done when the spoken reply is (real time, seconds
   * of it): a sanitized build on a loaded machine needs the room. */
  fail_unless (s.wait_event ("response.output_audio_transcript.done", 30s),
      "no transcript of the reply: %s", s.transitions ().c_str ());
  std::string said;
  {
    std::lock_guard<std::mutex> l (s.m);
    for (auto &j : s.signalled_json)
      if (j.find ("response.output_audio_transcript.done") !=
          std::string::npos) {
        JsonNode *n = json_from_string (j.c_str (), nullptr);
        said = json_object_get_string_member (json_node_get_object (n),
            "transcript");
        json_node_unref (n);
      }
  }
  fail_unless (!said.empty ());

  /* The agent's reply is over, played out: its pauses between words would
   * pass for the gap before the echo. */
  fail_unless (s.wait ([&] {
    return std::count (s.signalled.begin (), s.signalled.end (),
               "output_audio_buffer.stopped") +
        std::count (s.signalled.begin (), s.signalled.end (),
            "output_audio_buffer.cleared") >
        0;
  }));
  fail_unless (s.wait_audio (s.audio_size (), 9600));
  const size_t mark = s.audio_size ();
  fail_unless (server.control ("/control/fault", "{\"expire_calls\":true}"));
  fail_unless (s.wait ([&] { return count_state (s, "connected") == 2; }, 15s),
      "no new call after expiry: %s", s.transitions ().c_str ());
  fail_unless (echo_back (s, mark));
  expect_transitions (s,
      "connecting/1 connected/1 reconnecting/2/session-expired "
      "connected/2");
  expect_no_error (s);
  s.stop ();

  /* The second call was given the conversation, in order. */
  JsonNode *log = server.log ();
  JsonArray *calls = json_object_get_array_member (json_node_get_object (log),
      "calls");
  fail_unless_equals_int (json_array_get_length (calls), 2);
  JsonArray *items = json_object_get_array_member (
      json_array_get_object_element (calls, 1), "messages");
  fail_unless (items != nullptr, "the log has no messages");
  fail_unless_equals_int (json_array_get_length (items), 2);
  JsonObject *user_item = json_array_get_object_element (items, 0);
  JsonObject *agent_item = json_array_get_object_element (items, 1);
  fail_unless_equals_string (json_object_get_string_member (user_item, "role"),
      "user");
  fail_unless_equals_string (json_object_get_string_member (user_item, "text"),
      "My name is Ada.");
  fail_unless_equals_string (json_object_get_string_member (agent_item, "role"),
      "assistant");
  fail_unless_equals_string (json_object_get_string_member (agent_item, "text"),
      said.c_str ());
  validate_client_events (log);
  json_node_unref (log);
  expect_counts (2, 2);
}
GST_END_TEST;

static Suite *faults_suite ()
{
  Suite *s = suite_create ("faults");
  TCase *tc = tcase_create ("faults");
  tcase_set_timeout (tc, 90);
  tcase_add_unchecked_fixture (tc, local_server_up, local_server_down);
  tcase_add_test (tc, test_abrupt_drop);
  tcase_add_test (tc, test_silent_loss);
  tcase_add_test (tc, test_server_errors_then_success);
  tcase_add_test (tc, test_rate_limited_honours_retry_after);
  tcase_add_test (tc, test_quota_is_fatal);
  tcase_add_test (tc, test_answer_not_sdp);
  tcase_add_test (tc, test_slow_answer);
  tcase_add_test (tc, test_connect_timeout);
  tcase_add_test (tc, test_bad_server_events);
  tcase_add_test (tc, test_session_expired_replays_history);
  suite_add_tcase (s, tc);
  return s;
}

GST_CHECK_MAIN (faults);
