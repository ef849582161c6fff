/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The supervision rules, the conversation history and the conversation's
 * items alone: no GStreamer, no network, no clock. */
#include "openai/conversation_items.h"
#include "openai/history.h"
#include "supervision.h"

#include <json-glib/json-glib.h>

using rt::ConnectionState;
using rt::FaultKind;

static rt::Fault http_fault (int status, const char *code = "",
    int retry_after = -1)
{
  rt::ServiceError e;
  e.http_status = status;
  e.code = code;
  e.message = "m";
  e.retry_after_s = retry_after;
  return rt::classify_http_failure (e);
}

static void test_classification ()
{
  g_assert_true (http_fault (401).kind == FaultKind::Unauthorized);
  g_assert_true (http_fault (403).kind == FaultKind::Unauthorized);
  g_assert_true (
      http_fault (400, "invalid_value").kind == FaultKind::BadRequest);
  g_assert_true (http_fault (404).kind == FaultKind::BadRequest);
  g_assert_true (http_fault (429).kind == FaultKind::RateLimited);
  g_assert_true (
      http_fault (429, "insufficient_quota").kind == FaultKind::QuotaExceeded);
  g_assert_true (
      http_fault (500, "invalid_api_key").kind == FaultKind::Unauthorized);
  /* No key at all: a configuration error, never retried. */
  g_assert_true (
      http_fault (0, "missing_api_key").kind == FaultKind::Unauthorized);
  g_assert_true (http_fault (503).kind == FaultKind::ServerError);
  g_assert_true (http_fault (408).kind == FaultKind::ServerError);
  g_assert_true (http_fault (0).kind == FaultKind::Network);
  rt::ServiceError tls;
  tls.tls_failure = true;
  g_assert_true (rt::classify_http_failure (tls).kind == FaultKind::Tls);
  for (auto k : { FaultKind::Unauthorized, FaultKind::BadRequest,
           FaultKind::QuotaExceeded, FaultKind::Tls, FaultKind::Unsupported })
    g_assert_true (rt::fault_is_fatal (k));
  for (auto k : { FaultKind::IceFailed, FaultKind::IceDisconnected,
           FaultKind::Dtls, FaultKind::ChannelClosed, FaultKind::PeerFailed,
           FaultKind::MediaTimeout, FaultKind::Network, FaultKind::ServerError,
           FaultKind::RateLimited, FaultKind::BadAnswer,
           FaultKind::SessionExpired, FaultKind::Pipeline })
    g_assert_false (rt::fault_is_fatal (k));
}

static void test_retry_after ()
{
  g_assert_cmpint (rt::parse_retry_after ("1"), ==, 1);
  g_assert_cmpint (rt::parse_retry_after (" 120 "), ==, 120);
  g_assert_cmpint (rt::parse_retry_after (""), ==, -1);
  g_assert_cmpint (rt::parse_retry_after ("-3"), ==, -1);
  g_assert_cmpint (rt::parse_retry_after ("99999999999999"), ==, -1);
  g_assert_cmpint (rt::parse_retry_after ("Wed, 21 Oct 2015 07:28:00 GMT"), ==,
      -1);
}

/* Full jitter: each wait lies in [0, min(cap, initial * 2^(n-1))). */
static void test_backoff ()
{
  rt::ReconnectPolicy p;
  p.initial_delay_ms = 500;
  p.max_delay_ms = 30000;
  rt::Supervisor s (p);
  g_assert_cmpuint (s.backoff_ms (1, 0.0), ==, 0);
  g_assert_cmpuint (s.backoff_ms (1, 0.999), ==, 499);
  g_assert_cmpuint (s.backoff_ms (2, 0.999), ==, 999);
  g_assert_cmpuint (s.backoff_ms (3, 0.5), ==, 1000);
  g_assert_cmpuint (s.backoff_ms (7, 0.999), ==, 29970);    /* capped */
  g_assert_cmpuint (s.backoff_ms (4000, 0.999), ==, 29970); /* no overflow */
  g_assert_cmpuint (s.backoff_ms (3, 7.0), ==,
      2000); /* out-of-range input clamped */
}

static void test_state_machine ()
{
  rt::ReconnectPolicy p;
  p.max_attempts = 2;
  rt::Supervisor s (p);
  auto t = s.start ();
  g_assert_true (t.state == ConnectionState::Connecting);
  g_assert_cmpuint (t.attempt, ==, 1);

  /* 503 twice, then the limit. */
  auto d = s.fault (http_fault (503), 0.5);
  g_assert_true (d.retry);
  g_assert_true (d.transition.state == ConnectionState::Reconnecting);
  g_assert_cmpuint (d.transition.attempt, ==, 2);
  g_assert_cmpstr (d.transition.category.c_str (), ==, "server-error");
  g_assert_cmpuint (d.delay_ms, ==, 250);
  s.retrying ();
  d = s.fault (http_fault (503), 0.5);
  g_assert_true (d.retry);
  g_assert_cmpuint (d.delay_ms, ==, 500);
  g_assert_cmpuint (d.transition.attempt, ==, 3);
  s.retrying ();
  d = s.fault (http_fault (503), 0.5);
  g_assert_false (d.retry);
  g_assert_true (s.state () == ConnectionState::Failed);
  g_assert_nonnull (strstr (d.transition.reason.c_str (), "gave up after 2"));
  /* Nothing moves a failed call. */
  d = s.fault (http_fault (503), 0.5);
  g_assert_false (d.retry);
  g_assert_true (s.state () == ConnectionState::Failed);
}

static void test_stable_resets_backoff ()
{
  rt::ReconnectPolicy p;
  p.max_attempts = 1;
  rt::Supervisor s (p);
  s.start ();
  rt::Fault drop;
  drop.kind = FaultKind::ChannelClosed;
  drop.error.message = "closed";
  for (int i = 0; i < 5; i++) {
    s.connected ();
    s.stable ();
    auto d = s.fault (drop, 0.999);
    g_assert_true (d.retry);
    g_assert_cmpuint (d.delay_ms, ==, 499); /* always the first step */
    s.retrying ();
  }
  g_assert_cmpuint (s.reconnects (), ==, 5);
  /* Without a stable period, the second fault in a row exceeds the limit. */
  s.connected ();
  g_assert_false (s.fault (drop, 0.5).retry);
}

static void test_fatal_and_special_faults ()
{
  rt::Supervisor s;
  s.start ();
  auto d = s.fault (http_fault (401), 0.5);
  g_assert_false (d.retry);
  g_assert_true (d.transition.state == ConnectionState::Failed);
  g_assert_cmpstr (d.transition.category.c_str (), ==, "unauthorized");

  rt::Supervisor s2;
  s2.start ();
  s2.connected ();
  rt::Fault expired;
  expired.kind = FaultKind::SessionExpired;
  expired.error.message = "expired";
  d = s2.fault (expired, 0.999);
  g_assert_true (d.retry);
  g_assert_cmpuint (d.delay_ms, ==, 0); /* expected: at once */

  /* Retry-After is a floor over the jitter, above the cap too. */
  rt::ReconnectPolicy p;
  p.max_delay_ms = 100;
  rt::Supervisor s3 (p);
  s3.start ();
  d = s3.fault (http_fault (429, "rate_limit_exceeded", 1), 0.0);
  g_assert_true (d.retry);
  g_assert_cmpuint (d.delay_ms, ==, 1000);
  s3.retrying ();
  d = s3.fault (http_fault (429, "rate_limit_exceeded", 2), 0.0);
  g_assert_cmpuint (d.delay_ms, ==, 2000);

  rt::ReconnectPolicy never;
  never.max_attempts = 0;
  rt::Supervisor s4 (never);
  s4.start ();
  d = s4.fault (http_fault (503), 0.5);
  g_assert_false (d.retry);
  g_assert_nonnull (
      strstr (d.transition.reason.c_str (), "reconnection is off"));
}

static std::string text_of (const std::string &event, const char **role)
{
  JsonNode *n = json_from_string (event.c_str (), nullptr);
  g_assert_nonnull (n);
  JsonObject *o = json_node_get_object (n);
  g_assert_cmpstr (json_object_get_string_member (o, "type"), ==,
      "conversation.item.create");
  JsonObject *item = json_object_get_object_member (o, "item");
  static std::string r;
  r = json_object_get_string_member (item, "role");
  *role = r.c_str ();
  JsonObject *part = json_array_get_object_element (
      json_object_get_array_member (item, "content"), 0);
  std::string type = json_object_get_string_member (part, "type");
  g_assert_cmpstr (type.c_str (), ==,
      r == "assistant" ? "output_text" : "input_text");
  std::string text = json_object_get_string_member (part, "text");
  json_node_unref (n);
  return text;
}

static void test_history_learns_and_replays ()
{
  rt::ConversationHistory h;
  h.observe_server_event (
      "conversation.item.input_audio_transcription.completed",
      "{\"type\":\"conversation.item.input_audio_transcription.completed\","
      "\"item_id\":\"i1\",\"content_index\":0,\"transcript\":\"What time is it?\"}");
  h.observe_server_event ("response.output_audio_transcript.done",
      "{\"type\":\"response.output_audio_transcript.done\",\"transcript\":\"Noon.\"}");
  h.observe_server_event ("response.output_audio_transcript.delta",
      "{\"type\":\"response.output_audio_transcript.delta\",\"delta\":\"No\"}");
  h.observe_client_event (
      "{\"type\":\"conversation.item.create\",\"item\":{"
      "\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":"
      "\"input_text\",\"text\":\"Thanks \\\"bot\\\"\"}]}}");
  h.observe_client_event ("{\"type\":\"response.create\"}");
  h.observe_server_event ("response.output_text.done", "not json");
  auto events = h.replay_events (65536);
  g_assert_cmpuint (events.size (), ==, 3);
  const char *role;
  std::string text = text_of (events[0], &role);
  g_assert_cmpstr (text.c_str (), ==, "What time is it?");
  g_assert_cmpstr (role, ==, "user");
  text = text_of (events[1], &role);
  g_assert_cmpstr (text.c_str (), ==, "Noon.");
  g_assert_cmpstr (role, ==, "assistant");
  text = text_of (events[2], &role);
  g_assert_cmpstr (text.c_str (), ==, "Thanks \"bot\"");
}

static void test_history_bounds ()
{
  rt::HistoryLimits limits;
  limits.max_items = 3;
  limits.max_chars = 10;
  rt::ConversationHistory h (limits);
  h.add ("user", "aaaa");
  h.add ("assistant", "bbbb");
  h.add ("user", "cccc"); /* 12 characters: the oldest goes */
  g_assert_cmpuint (h.entries ().size (), ==, 2);
  g_assert_cmpstr (h.entries ().front ().text.c_str (), ==, "bbbb");
  h.add ("user", "é"); /* characters, not bytes */
  h.add ("user", "d");
  g_assert_cmpuint (h.entries ().size (), ==, 3);
  g_assert_cmpuint (h.chars (), ==, 6);
  h.add ("user", "\xff\xfe"); /* not UTF-8: ignored */
  g_assert_cmpuint (h.entries ().size (), ==, 3);

  /* A long item is cut, at a character boundary, to fit a message. */
  rt::HistoryLimits big;
  big.max_chars = 100000;
  rt::ConversationHistory long_h (big);
  std::string text;
  for (int i = 0; i < 30000; i++)
    text += "ü";
  long_h.add ("user", text);
  auto events = long_h.replay_events (16384);
  g_assert_cmpuint (events.size (), ==, 1);
  g_assert_cmpuint (events[0].size (), <=, 16384);
  const char *role;
  std::string cut = text_of (events[0], &role);
  g_assert_true (g_utf8_validate (cut.c_str (), cut.size (), nullptr));
  g_assert_cmpuint (cut.size (), >, 1000);

  rt::HistoryLimits off;
  off.enabled = false;
  rt::ConversationHistory none (off);
  none.add ("user", "hello");
  g_assert_cmpuint (none.replay_events (65536).size (), ==, 0);
}

/* Feeds one server event, given as JSON text; what it asks to send, each
 * as "type[ item_id]". */
static std::vector<std::string> observe (rt::ConversationItems &items,
    const char *json);

static std::string type_and_item (const std::string &json)
{
  JsonNode *n = json_from_string (json.c_str (), nullptr);
  JsonObject *o = json_node_get_object (n);
  std::string out = json_object_get_string_member (o, "type");
  if (json_object_has_member (o, "item_id"))
    out += std::string (" ") + json_object_get_string_member (o, "item_id");
  json_node_unref (n);
  return out;
}

static std::vector<std::string> described (
    const std::vector<std::string> &events)
{
  std::vector<std::string> out;
  for (const auto &e : events)
    out.push_back (type_and_item (e));
  return out;
}

static std::vector<std::string> observe (rt::ConversationItems &items,
    const char *json)
{
  JsonNode *n = json_from_string (json, nullptr);
  g_assert_nonnull (n);
  JsonObject *o = json_node_get_object (n);
  auto follow = items.observe_server_event (
      json_object_get_string_member (o, "type"), o);
  json_node_unref (n);
  return described (follow);
}

static bool answers_stale (rt::ConversationItems &items, const char *json)
{
  JsonNode *n = json_from_string (json, nullptr);
  const bool stale = items.answers_stale_call (json_node_get_object (n));
  json_node_unref (n);
  return stale;
}

using Seen = std::vector<std::string>;

static void test_items_cleared ()
{
  rt::ConversationItems items;
  /* GA's .added and beta's .created both name items; the same id twice is
   * one item; an item without an id is none. */
  observe (items,
      "{\"type\":\"conversation.item.added\",\"item\":{\"id\":\"u1\"}}");
  observe (items,
      "{\"type\":\"conversation.item.created\",\"item\":{\"id\":\"u1\"}}");
  observe (items, "{\"type\":\"response.created\",\"response\":{}}");
  observe (items,
      "{\"type\":\"conversation.item.added\",\"item\":{\"id\":\"f1\","
      "\"type\":\"function_call\",\"call_id\":\"call_1\"}}");
  observe (items, "{\"type\":\"conversation.item.added\",\"item\":{}}");
  observe (items,
      "{\"type\":\"conversation.item.added\",\"item\":{\"id\":\"x\"}}");
  observe (items, "{\"type\":\"conversation.item.deleted\",\"item_id\":\"x\"}");
  g_assert_cmpuint (items.size (), ==, 2);
  g_assert_true (items.responding ());

  /* A reply under way: cancelled, then its audio cleared (the service's
   * order), each item deleted, and last the user's audio cleared. */
  g_assert_true (described (items.clear_events ()) ==
      (Seen { "response.cancel", "output_audio_buffer.clear",
          "conversation.item.delete u1", "conversation.item.delete f1",
          "input_audio_buffer.clear" }));
  g_assert_cmpuint (items.size (), ==, 0);
  g_assert_true (items.clearing ());

  /* What was already on its way goes too: a reply the service began (the
   * application's response.create crossed ours) and the item it added. */
  g_assert_true (
      observe (items, "{\"type\":\"response.created\",\"response\":{}}") ==
      (Seen { "response.cancel", "output_audio_buffer.clear" }));
  g_assert_true (
      observe (items,
          "{\"type\":\"conversation.item.added\",\"item\":{"
          "\"id\":\"late\"}}") == (Seen { "conversation.item.delete late" }));
  g_assert_cmpuint (items.size (), ==, 0);
  /* The old conversation's function call is answered no more. */
  g_assert_true (answers_stale (items,
      "{\"type\":\"conversation.item.create\",\"item\":{\"type\":"
      "\"function_call_output\",\"call_id\":\"call_1\",\"output\":\"{}\"}}"));
  g_assert_false (answers_stale (items,
      "{\"type\":\"conversation.item.create\",\"item\":{\"type\":"
      "\"function_call_output\",\"call_id\":\"call_2\",\"output\":\"{}\"}}"));

  /* The boundary comes before the late reply is done (a reply goes on
   * after later client events are handled): what it adds still goes. */
  observe (items, "{\"type\":\"response.done\",\"response\":{}}");
  g_assert_true (
      observe (items, "{\"type\":\"input_audio_buffer.cleared\"}").empty ());
  g_assert_true (items.clearing ());
  g_assert_true (
      observe (items,
          "{\"type\":\"conversation.item.added\",\"item\":{"
          "\"id\":\"later\"}}") == (Seen { "conversation.item.delete later" }));
  /* Both cancelled replies done: the next conversation is the next
   * caller's. */
  observe (items, "{\"type\":\"response.done\",\"response\":{}}");
  g_assert_false (items.clearing ());
  g_assert_true (observe (items,
      "{\"type\":\"conversation.item.added\",\"item\":{"
      "\"id\":\"u2\"}}")
                     .empty ());
  g_assert_cmpuint (items.size (), ==, 1);

  /* A reply done but its audio still playing (over WebRTC the service
   * plays on after response.done): cleared, not cancelled. */
  observe (items, "{\"type\":\"output_audio_buffer.started\"}");
  g_assert_true (described (items.clear_events ()) ==
      (Seen { "output_audio_buffer.clear", "conversation.item.delete u2",
          "input_audio_buffer.clear" }));
  observe (items, "{\"type\":\"output_audio_buffer.cleared\"}");
  observe (items, "{\"type\":\"input_audio_buffer.cleared\"}");

  /* Nothing under way, nothing held: the boundary alone. */
  g_assert_true (described (items.clear_events ()) ==
      (Seen { "input_audio_buffer.clear" }));

  /* A new call forgets everything. */
  items.forget ();
  g_assert_false (items.clearing ());
  g_assert_cmpuint (items.size (), ==, 0);
}

int main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/supervision/classification", test_classification);
  g_test_add_func ("/supervision/retry-after", test_retry_after);
  g_test_add_func ("/supervision/backoff", test_backoff);
  g_test_add_func ("/supervision/state-machine", test_state_machine);
  g_test_add_func ("/supervision/stable-resets-backoff",
      test_stable_resets_backoff);
  g_test_add_func ("/supervision/fatal-and-special",
      test_fatal_and_special_faults);
  g_test_add_func ("/history/learns-and-replays",
      test_history_learns_and_replays);
  g_test_add_func ("/history/bounds", test_history_bounds);
  g_test_add_func ("/conversation/items-cleared", test_items_cleared);
  return g_test_run ();
}
