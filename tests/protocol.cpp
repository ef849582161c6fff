/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The event codec alone: no GStreamer, no network. */
#include "openai/assembler.h"
#include "openai/conversation.h"
#include "openai/credentials.h"
#include "core/json_scan.h"
#include "openai/protocol.h"
#include "signalling/openai_http.h"

#include <json-glib/json-glib.h>

#include <cstring>
#include <string>
#include <vector>

static JsonObject *parse (const std::string &text, JsonNode **keep)
{
  *keep = json_from_string (text.c_str (), nullptr);
  g_assert_nonnull (*keep);
  return json_node_get_object (*keep);
}

static void test_secret_request ()
{
  rt::SessionConfig c;
  c.instructions = "Be \"terse\".";
  c.voice = "marin";
  JsonNode *n;
  JsonObject *o = parse (rt::build_client_secret_request (c, 90), &n);
  JsonObject *exp = json_object_get_object_member (o, "expires_after");
  g_assert_cmpstr (json_object_get_string_member (exp, "anchor"), ==,
      "created_at");
  g_assert_cmpint (json_object_get_int_member (exp, "seconds"), ==, 90);
  JsonObject *s = json_object_get_object_member (o, "session");
  g_assert_cmpstr (json_object_get_string_member (s, "type"), ==, "realtime");
  g_assert_cmpstr (json_object_get_string_member (s, "model"), ==,
      "gpt-realtime");
  g_assert_cmpstr (json_object_get_string_member (s, "instructions"), ==,
      "Be \"terse\".");
  g_assert_cmpstr (
      json_object_get_string_member (
          json_object_get_object_member (
              json_object_get_object_member (s, "audio"), "output"),
          "voice"),
      ==, "marin");
  json_node_unref (n);
}

static void test_session_update ()
{
  rt::SessionConfig c;
  c.instructions = "Hi";
  JsonNode *n;
  JsonObject *o = parse (rt::build_session_update (c), &n);
  g_assert_cmpstr (json_object_get_string_member (o, "type"), ==,
      "session.update");
  JsonObject *s = json_object_get_object_member (o, "session");
  /* The model cannot change mid-call; voice absent when not set. */
  g_assert_false (json_object_has_member (s, "model"));
  g_assert_false (json_object_has_member (s, "audio"));
  g_assert_cmpstr (json_object_get_string_member (s, "instructions"), ==, "Hi");
  json_node_unref (n);
}

/* Mid-call updates carry exactly the fields named; unset ones go back to
 * the service's default or off. */
static void test_session_update_fields ()
{
  rt::SessionConfig c;
  c.turn_detection = rt::TurnDetection::SemanticVad;
  c.vad_eagerness = "high";
  c.max_output_tokens = 0;
  c.tool_choice = "get_time";
  c.speed = 1.5;
  JsonNode *n;
  JsonObject *s = json_object_get_object_member (
      parse (rt::build_session_update (c), &n), "session");
  JsonObject *td = json_object_get_object_member (
      json_object_get_object_member (json_object_get_object_member (s, "audio"),
          "input"),
      "turn_detection");
  g_assert_cmpstr (json_object_get_string_member (td, "type"), ==,
      "semantic_vad");
  g_assert_cmpstr (json_object_get_string_member (td, "eagerness"), ==, "high");
  g_assert_cmpstr (json_object_get_string_member (s, "max_output_tokens"), ==,
      "inf");
  JsonObject *tc = json_object_get_object_member (s, "tool_choice");
  g_assert_cmpstr (json_object_get_string_member (tc, "name"), ==, "get_time");
  g_assert_false (json_object_has_member (s, "instructions"));
  json_node_unref (n);

  /* Only the transcription group, turned off. */
  rt::SessionConfig off;
  s = json_object_get_object_member (
      parse (rt::build_session_update (off,
                 rt::kSessionTranscription | rt::kSessionTurnDetection),
          &n),
      "session");
  g_assert_cmpint (json_object_get_size (s), ==, 2); /* type, audio */
  JsonObject *in = json_object_get_object_member (
      json_object_get_object_member (s, "audio"), "input");
  g_assert_true (json_object_get_null_member (in, "transcription"));
  g_assert_cmpstr (
      json_object_get_string_member (
          json_object_get_object_member (in, "turn_detection"), "type"),
      ==, "server_vad");
  json_node_unref (n);

  rt::SessionConfig none;
  none.turn_detection = rt::TurnDetection::None;
  s = json_object_get_object_member (
      parse (rt::build_session_update (none), &n), "session");
  g_assert_true (json_object_get_null_member (
      json_object_get_object_member (json_object_get_object_member (s, "audio"),
          "input"),
      "turn_detection"));
  json_node_unref (n);

  /* An element's settings over the provider's. */
  rt::SessionConfig base, over;
  base.instructions = "A";
  base.voice = "marin";
  base.model = "m1";
  over.instructions = "B";
  rt::SessionConfig m = rt::merge_session (base, over);
  g_assert_cmpstr (m.instructions.c_str (), ==, "B");
  g_assert_cmpstr (m.voice.c_str (), ==, "marin");
  g_assert_cmpstr (m.model.c_str (), ==, "m1");
}

static void test_tools_check ()
{
  std::string why;
  auto ok = rt::check_tools (
      "[{\"type\":\"function\",\"name\":\"get_time\","
      "\"description\":\"d\",\"parameters\":{\"type\":\"object\"}}]",
      &why);
  g_assert_true (ok.has_value ());
  g_assert_true (rt::check_tools ("[]", &why).has_value ());
  const char *bad[] = {
    "{}",
    "[1]",
    "[{\"type\":\"function\"}]",
    "[{\"type\":\"mcp\",\"name\":\"x\"}]",
    "[{\"type\":\"function\",\"name\":\"has space\"}]",
    "[{\"type\":\"function\",\"name\":\"x\",\"description\":5}]",
    "[{\"type\":\"function\",\"name\":\"x\",\"parameters\":\"no\"}]",
    "[{\"type\":\"function\",\"name\":\"x\"},{\"type\":\"function\",\"name\":\"x\"}]",
    "[",
    "",
  };
  for (const char *b : bad) {
    why.clear ();
    g_assert_false (rt::check_tools (b, &why).has_value ());
    g_assert_false (why.empty ());
  }
}

static void test_event_meaning ()
{
  auto m = rt::interpret_server_event ("response.output_audio_transcript.delta",
      "{\"type\":\"response.output_audio_transcript.delta\",\"item_id\":\"i1\","
      "\"delta\":\"Hel\"}");
  g_assert_true (m.transcript.has_value ());
  g_assert_cmpstr (m.transcript->role.c_str (), ==, "assistant");
  g_assert_cmpstr (m.transcript->text.c_str (), ==, "Hel");
  g_assert_false (m.transcript->final);
  g_assert_true (m.agent_spoke);
  m = rt::interpret_server_event (
      "conversation.item.input_audio_transcription.completed",
      "{\"type\":\"x\",\"item_id\":\"u1\",\"transcript\":\"hi\"}");
  g_assert_cmpstr (m.transcript->role.c_str (), ==, "user");
  g_assert_true (m.transcript->final);
  m = rt::interpret_server_event ("response.function_call_arguments.done",
      "{\"call_id\":\"c1\",\"name\":\"f\",\"arguments\":\"{}\"}");
  g_assert_cmpstr (m.function_call->name.c_str (), ==, "f");
  /* No call id: nothing to answer, so no call. */
  m = rt::interpret_server_event ("response.function_call_arguments.done",
      "{\"name\":\"f\",\"arguments\":\"{}\"}");
  g_assert_false (m.function_call.has_value ());
  m = rt::interpret_server_event ("response.done",
      "{\"response\":{\"usage\":"
      "{\"total_tokens\":30,\"input_tokens\":10,\"output_tokens\":20,"
      "\"input_token_details\":{\"image_tokens\":4},"
      "\"output_token_details\":{\"audio_tokens\":15}}}}");
  g_assert_cmpint (m.usage->total, ==, 30);
  g_assert_cmpint (m.usage->input_image, ==, 4);
  g_assert_cmpint (m.usage->output_audio, ==, 15);
  /* Wrong types inside: nothing, never a crash. */
  m = rt::interpret_server_event ("response.done",
      "{\"response\":{\"usage\":{\"total_tokens\":\"many\"}}}");
  g_assert_cmpint (m.usage->total, ==, 0);
  m = rt::interpret_server_event ("response.output_text.done", "[1,2]");
  g_assert_false (m.transcript.has_value ());
}

static void test_endpoints ()
{
  auto e = rt::resolve_endpoint ("https://api.openai.com/",
      rt::ApiFlavor::Auto);
  g_assert_false (e.azure);
  g_assert_cmpstr (e.realtime.c_str (), ==,
      "https://api.openai.com/v1/realtime");
  e = rt::resolve_endpoint ("https://res.openai.azure.com",
      rt::ApiFlavor::Auto);
  g_assert_true (e.azure);
  g_assert_cmpstr (e.realtime.c_str (), ==,
      "https://res.openai.azure.com/openai/v1/realtime");
  e = rt::resolve_endpoint ("https://res.cognitiveservices.azure.com/openai/v1",
      rt::ApiFlavor::Auto);
  g_assert_true (e.azure);
  g_assert_cmpstr (e.base.c_str (), ==,
      "https://res.cognitiveservices.azure.com");
  e = rt::resolve_endpoint ("http://127.0.0.1:8765/openai",
      rt::ApiFlavor::Auto);
  g_assert_true (e.azure);
  e = rt::resolve_endpoint ("http://127.0.0.1:8765", rt::ApiFlavor::Azure);
  g_assert_cmpstr (e.realtime.c_str (), ==,
      "http://127.0.0.1:8765/openai/v1/realtime");
  e = rt::resolve_endpoint ("https://res.openai.azure.com",
      rt::ApiFlavor::OpenAI);
  g_assert_false (e.azure);
  /* An explicit OpenAI flavor keeps a gateway's path. */
  e = rt::resolve_endpoint ("https://gw.example.com/openai",
      rt::ApiFlavor::OpenAI);
  g_assert_cmpstr (e.realtime.c_str (), ==,
      "https://gw.example.com/openai/v1/realtime");
}

static void test_error_bodies ()
{
  auto e = rt::parse_error_body (401,
      "{\"error\":{\"message\":\"Incorrect API key "
      "provided.\",\"type\":\"invalid_request_error\",\"code\":\"invalid_api_key\","
      "\"param\":null}}");
  g_assert_cmpint (e.http_status, ==, 401);
  g_assert_cmpstr (e.code.c_str (), ==, "invalid_api_key");
  g_assert_true (
      e.describe ().find ("Incorrect API key provided.") != std::string::npos);
  g_assert_true (e.describe ().find ("401") != std::string::npos);
  /* The service's empty-bodied 400 and a stray HTML page still read clearly. */
  e = rt::parse_error_body (400, "");
  g_assert_true (e.describe ().find ("empty body") != std::string::npos);
  e = rt::parse_error_body (502, "<html>Bad gateway</html>");
  g_assert_true (e.describe ().find ("502") != std::string::npos);
  g_assert_true (e.describe ().find ("not a JSON error") != std::string::npos);
}

static void test_client_secret_reply ()
{
  std::string err;
  auto s = rt::parse_client_secret (
      "{\"value\":\"ek_abc\",\"expires_at\":1760000000,"
      "\"session\":{}}",
      &err);
  g_assert_true (s.has_value ());
  g_assert_cmpstr (s->value.c_str (), ==, "ek_abc");
  g_assert_cmpint (s->expires_at, ==, 1760000000);
  /* The beta shape (client_secret.value) is not the GA reply. */
  g_assert_false (
      rt::parse_client_secret ("{\"client_secret\":{\"value\":\"ek_x\"}}", &err)
          .has_value ());
  g_assert_false (rt::parse_client_secret ("nope", &err).has_value ());
}

static void test_server_events ()
{
  std::string err;
  auto e = rt::parse_server_event (
      "{\"type\":\"error\",\"error\":{\"type\":"
      "\"invalid_request_error\",\"code\":\"session_expired\",\"message\":\"m\"}}",
      &err);
  g_assert_true (e.has_value ());
  g_assert_cmpstr (e->error_code.c_str (), ==, "session_expired");
  /* Unknown types are events like any other. */
  g_assert_true (
      rt::parse_server_event ("{\"type\":\"mcp.something.new\"}", &err));
  const char *bad[] = { "", "{", "[]", "42", "{\"type\":7}", "{\"x\":1}",
    "{\"type\":\"a\"", "\xff\xfe" };
  for (const char *b : bad)
    g_assert_false (rt::parse_server_event (b, &err).has_value ());
}

/* Barge-in cuts the agent's reply, and only a reply: the events of the
 * service's order (response.created, output_audio_buffer.started,
 * response.done, output_audio_buffer.stopped) with the user speaking in
 * between, at times in microseconds. */
static void test_reply_audio ()
{
  rt::ReplyAudio r (40);
  const std::int64_t tail = r.tail_us ();
  /* The tail covers the jitter buffer, the src's most and a margin. */
  g_assert_cmpint (tail, >=, (40 + 200) * 1000);
  g_assert_cmpint (rt::ReplyAudio (1000).tail_us (), >=, (1000 + 200) * 1000);
  /* No reply yet: the user speaking cuts nothing (a far end's echo,
   * silence). */
  g_assert_false (r.interrupts ("input_audio_buffer.speech_started", 1000));
  /* A reply speaking: cut, however long after its start. */
  g_assert_false (r.interrupts ("response.created", 2000));
  g_assert_true (r.interrupts ("input_audio_buffer.speech_started", 2500));
  g_assert_false (r.interrupts ("output_audio_buffer.started", 3000));
  g_assert_false (r.interrupts ("response.done", 4000));
  g_assert_true (
      r.interrupts ("input_audio_buffer.speech_started", 4000 + 10 * tail));
  /* Sent: its end may still be held here for a while, then not. */
  const std::int64_t stopped = 5000 + 10 * tail;
  g_assert_false (r.interrupts ("output_audio_buffer.stopped", stopped));
  g_assert_true (
      r.interrupts ("input_audio_buffer.speech_started", stopped + tail - 1));
  g_assert_false (
      r.interrupts ("input_audio_buffer.speech_started", stopped + tail));
  /* The service clearing its output always cuts. */
  g_assert_true (
      r.interrupts ("output_audio_buffer.cleared", stopped + 2 * tail));
  g_assert_false (
      r.interrupts ("input_audio_buffer.speech_started", stopped + 4 * tail));
  /* A reply without audio (a function call) ends with response.done. */
  g_assert_false (r.interrupts ("response.created", stopped + 5 * tail));
  g_assert_false (r.interrupts ("response.done", stopped + 6 * tail));
  g_assert_false (
      r.interrupts ("input_audio_buffer.speech_started", stopped + 8 * tail));
  /* A service that never says its audio stopped: every speech_started
   * cuts, as if nothing tracked the reply. */
  rt::ReplyAudio silent;
  g_assert_false (silent.interrupts ("output_audio_buffer.started", 0));
  g_assert_false (silent.interrupts ("response.done", tail));
  g_assert_true (
      silent.interrupts ("input_audio_buffer.speech_started", 100 * tail));
  /* A new session (a reconnect) starts with no reply, the tail kept. */
  silent.reset ();
  g_assert_false (
      silent.interrupts ("input_audio_buffer.speech_started", 101 * tail));
  g_assert_cmpint (silent.tail_us (), ==, tail);
}

static void test_client_event_check ()
{
  std::string err;
  auto type = rt::check_client_event ("{\"type\":\"response.create\"}", &err);
  g_assert_true (type.has_value ());
  g_assert_cmpstr (type->c_str (), ==, "response.create");
  g_assert_false (rt::check_client_event ("{\"type\":", &err).has_value ());
  g_assert_false (
      rt::check_client_event ("\"response.create\"", &err).has_value ());
}

static void test_location ()
{
  g_assert_true (
      rt::call_id_from_location ("/v1/realtime/calls/rtc_123") == "rtc_123");
  g_assert_true (rt::call_id_from_location (
                     "https://x/v1/realtime/calls/rtc_9/?a=b") == "rtc_9");
  g_assert_true (rt::call_id_from_location ("").empty ());
  g_assert_true (rt::call_id_from_location ("rtc_a-b.c~d") == "rtc_a-b.c~d");
  /* The id is put back into the hangup URL: nothing that would move it. */
  const char *unsafe[] = { "/v1/realtime/calls/..", "/v1/realtime/calls/.",
    "/v1/realtime/calls/a%2F..", "/v1/realtime/calls/a b", "/calls/a:b",
    "/calls/a;b", "/calls/a@b", "/calls/caf\xc3\xa9", "/calls/a\\b" };
  for (const char *u : unsafe)
    g_assert_true (rt::call_id_from_location (u).empty ());
}

static void test_known_server_events ()
{
  g_assert_true (rt::is_known_server_event ("session.created"));
  g_assert_true (
      rt::is_known_server_event ("response.output_audio_transcript.delta"));
  g_assert_true (rt::is_known_server_event (
      "conversation.item.input_audio_transcription.completed"));
  g_assert_true (rt::is_known_server_event ("error"));
  g_assert_false (rt::is_known_server_event ("mcp.something.new"));
  g_assert_false (rt::is_known_server_event ("session"));
  g_assert_false (rt::is_known_server_event (""));
  /* Unknown types still parse as events; callers only count them. */
  std::string err;
  auto e = rt::parse_server_event ("{\"type\":\"mcp.something.new\"}", &err);
  g_assert_true (e && !rt::is_known_server_event (e->type));
}

using State = rt::JsonScanner::State;

static State scan_all (const std::string &text)
{
  rt::JsonScanner s;
  s.feed (text);
  return s.finish ();
}

static void test_json_scan ()
{
  const char *good[] = { "{}", "[]", "0", "-0.5e+3", "1E9", "\"\"", "true",
    "null", " {\"a\":[1,2,{\"b\":null}],\"c\":\"\\u00e9\\n\\\"\"} \r\n",
    "{\"t\":\"caf\xc3\xa9 \xf0\x9f\x8e\xa7 \xe2\x82\xac\"}", "[-0,0.0,1e-7]" };
  for (const char *g : good)
    g_assert_true (scan_all (g) == State::Complete);
  /* What json-glib 1.6 would let through, and other non-JSON. */
  const char *bad[] = { "{'a':1}", "{\"a\":01}", "{\"a\":1}{}",
    "{\"a\":1 /* c */}", "{\"a\":0x10}", "{\"a\":.5}", "{\"a\":1.}",
    "{\"a\":\"x\ty\"}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12g4\"}", "{\"a\":1,}",
    "[1,]", "{a:1}", "{\"a\" 1}", "{\"a\":tru}", "{\"a\":+1}", "{\"a\":NaN}",
    "{\"a\":1} x", "\xef\xbb\xbf{}", "{\"a\":\"\xc0\x80\"}",
    "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xf4\x90\x80\x80\"}",
    "{\"a\":\"\x80\"}", "{\"a\":\"\xc3(\"}", "{\"a\":1]", "[1}", "\x01",
    /* Unpaired surrogate escapes; json-glib leaks on the second. */
    "[\"\\udfa7\"]", "[\"\\ud83c\\uffa7\"]", "[\"\\ud83c\\ud83c\"]",
    "[\"\\ud83cx\"]", "[\"\\ud83c\"]", "[\"\\ud83c\\n\"]" };
  for (const char *b : bad) {
    rt::JsonScanner s;
    s.feed (b);
    g_assert_true (s.finish () == State::Error);
    g_assert_false (s.error ().empty ());
  }
  const char *open[] = { "", "  ", "{", "{\"a\"", "{\"a\":", "{\"a\":\"x\\",
    "{\"a\":\"x\\u00", "{\"a\":\"\xc3", "{\"a\":\"\xf0\x9f\x8e", "[1,",
    "{\"a\":t", "{\"a\":-", "{\"a\":1e", "{\"a\":12", "[\"\\ud83c",
    "[\"\\ud83c\\", "[\"\\ud83c\\u", "[\"\\ud83c\\udf" };
  for (const char *o : open) {
    rt::JsonScanner s;
    g_assert_true (s.feed (o) == State::Incomplete);
    g_assert_true (s.finish () == State::Incomplete);
    g_assert_false (s.error ().empty ());
  }
  /* Byte by byte gives the verdict of the whole. */
  const std::string text =
      "{\"type\":\"x\",\"n\":[1.5e3,-2,{\"k\":\"\\ud83c\\udfa7 \xf0\x9f\x8e\xa7\"}]}";
  rt::JsonScanner s;
  for (std::size_t i = 0; i < text.size (); i++) {
    g_assert_true (s.state () == State::Incomplete);
    s.feed (text.data () + i, 1);
  }
  g_assert_true (s.state () == State::Complete);
  g_assert_cmpint (s.root (), ==, '{');
  g_assert_cmpuint (s.scanned (), ==, text.size ());
}

static void test_json_depth ()
{
  std::string ok (rt::kMaxJsonDepth, '[');
  ok += std::string (rt::kMaxJsonDepth, ']');
  g_assert_true (scan_all (ok) == State::Complete);
  std::string deep = "[" + ok + "]";
  rt::JsonScanner s;
  s.feed (deep);
  g_assert_true (s.state () == State::Error);
  g_assert_nonnull (strstr (s.error ().c_str (), "nested deeper"));
  /* json-glib recurses per level and overflows the stack on a few hundred
   * thousand; every parser here refuses the text before it gets there. */
  std::string bomb = "{\"type\":\"x\",\"a\":" + std::string (400000, '[');
  std::string err;
  g_assert_false (
      rt::parse_server_event (bomb + std::string (400000, ']') + "}", &err)
          .has_value ());
  g_assert_nonnull (strstr (err.c_str (), "nested deeper"));
  g_assert_false (rt::check_client_event (bomb, &err).has_value ());
  g_assert_false (rt::parse_client_secret (bomb, &err).has_value ());
  g_assert_true (rt::parse_error_body (500, bomb).message.find (
                     "not a JSON error") != std::string::npos);
}

/* A transcript delta with escapes and multibyte UTF-8, as the service
 * sends them. */
static const std::string kDelta =
    "{\"type\":\"response.output_audio_transcript.delta\",\"event_id\":"
    "\"event_CK3n2mJ5gR\",\"response_id\":\"resp_CK3n1x\",\"item_id\":"
    "\"item_CK3n1y\",\"output_index\":0,\"content_index\":0,\"delta\":"
    "\"Caf\xc3\xa9 \\\"ol\\u00e9\\\" \xf0\x9f\x8e\xa7\\n\\\\ \xe2\x82\xac"
    "5\"}";

using Kind = rt::Assembled::Kind;

static std::vector<rt::Assembled> feed_all (rt::EventAssembler &a,
    const std::vector<std::string> &pieces)
{
  std::vector<rt::Assembled> out;
  for (const std::string &p : pieces) {
    for (auto &r : a.feed (p))
      out.push_back (std::move (r));
    g_assert_cmpuint (a.held_bytes (), <=, a.max_bytes ());
  }
  return out;
}

static void test_assembler_whole ()
{
  rt::EventAssembler a;
  auto out = a.feed (kDelta);
  g_assert_cmpuint (out.size (), ==, 1);
  g_assert_true (out[0].kind == Kind::Event);
  g_assert_false (out[0].reassembled ());
  g_assert_cmpuint (out[0].pieces, ==, 1);
  g_assert_cmpstr (out[0].event->type.c_str (), ==,
      "response.output_audio_transcript.delta");
  g_assert_true (out[0].text == kDelta);
  g_assert_false (a.holding ());
  g_assert_true (a.flush ().empty ());
  g_assert_cmpstr (rt::assembled_kind_name (Kind::Event), ==, "event");
  g_assert_cmpstr (rt::assembled_kind_name (Kind::Oversized), ==, "oversized");
}

static void test_assembler_split_anywhere ()
{
  /* The cuts that matter most: inside an escape and inside a multibyte
   * character; every other offset is tried too. */
  const std::size_t in_escape = kDelta.find ("\\u00e9") + 2;
  const std::size_t in_utf8 = kDelta.find ("\xf0\x9f") + 1;
  const std::size_t in_utf8_2 = kDelta.find ("\xc3\xa9") + 1;
  const std::size_t after_backslash = kDelta.find ("\\\\") + 1;
  g_assert_cmpuint (in_escape, >, 2);
  g_assert_cmpuint (in_utf8, >, 1);
  for (std::size_t cut : { in_escape, in_utf8, in_utf8_2, after_backslash }) {
    rt::EventAssembler a;
    g_assert_true (a.feed (kDelta.substr (0, cut)).empty ());
    g_assert_true (a.holding ());
    auto out = a.feed (kDelta.substr (cut));
    g_assert_cmpuint (out.size (), ==, 1);
    g_assert_true (out[0].kind == Kind::Event);
    g_assert_true (out[0].reassembled ());
    g_assert_cmpuint (out[0].pieces, ==, 2);
    g_assert_true (out[0].text == kDelta);
  }
  /* A surrogate pair escape, cut at each byte. */
  const std::string pair = "{\"type\":\"response.output_text.delta\","
                           "\"delta\":\"\\ud83c\\udfa7\"}";
  for (std::size_t i = 1; i < pair.size (); i++) {
    rt::EventAssembler a;
    auto out = feed_all (a, { pair.substr (0, i), pair.substr (i) });
    g_assert_true (out.size () == 1 && out[0].kind == Kind::Event);
    g_assert_true (out[0].text == pair);
  }
  for (std::size_t i = 1; i < kDelta.size (); i++) {
    for (std::size_t j = i; j < kDelta.size (); j += 7) {
      rt::EventAssembler a;
      auto out = feed_all (a,
          { kDelta.substr (0, i), kDelta.substr (i, j - i),
              kDelta.substr (j) });
      g_assert_cmpuint (out.size (), ==, 1);
      g_assert_true (out[0].kind == Kind::Event);
      g_assert_cmpuint (out[0].pieces, ==, 3);
      g_assert_cmpuint (out[0].bytes, ==, kDelta.size ());
      g_assert_true (out[0].text == kDelta);
    }
  }
}

/* An event of `size` bytes: a delta whose text is padding. */
static std::string big_event (std::size_t size)
{
  std::string head = "{\"type\":\"response.output_text.delta\",\"delta\":\"";
  std::string tail = "\"}";
  return head + std::string (size - head.size () - tail.size (), 'x') + tail;
}

static void test_assembler_webrtcbin_split ()
{
  /* What webrtcbin 1.22.0 made of a 70000-byte message. */
  const std::string ev = big_event (70000);
  rt::EventAssembler a;
  auto out = feed_all (a, { ev.substr (0, 66304), ev.substr (66304) });
  g_assert_cmpuint (out.size (), ==, 1);
  g_assert_true (out[0].kind == Kind::Event);
  g_assert_cmpuint (out[0].pieces, ==, 2);
  g_assert_cmpuint (out[0].bytes, ==, 70000);
  g_assert_cmpstr (out[0].event->type.c_str (), ==,
      "response.output_text.delta");
}

static void test_assembler_truncated ()
{
  const std::string other = "{\"type\":\"session.updated\"}";
  /* A start, then a whole event: the start lost its rest. */
  rt::EventAssembler a;
  auto out = feed_all (a, { kDelta.substr (0, 60), other });
  g_assert_cmpuint (out.size (), ==, 2);
  g_assert_true (out[0].kind == Kind::Truncated);
  g_assert_true (out[0].text == kDelta.substr (0, 60));
  g_assert_cmpuint (out[0].pieces, ==, 1);
  g_assert_false (out[0].why.empty ());
  g_assert_true (out[1].kind == Kind::Event);
  g_assert_cmpstr (out[1].event->type.c_str (), ==, "session.updated");
  g_assert_false (a.holding ());

  /* A start, then the start of another, then that one's rest. */
  out = feed_all (a,
      { kDelta.substr (0, 30), kDelta.substr (0, 100), kDelta.substr (100) });
  g_assert_cmpuint (out.size (), ==, 2);
  g_assert_true (out[0].kind == Kind::Truncated);
  g_assert_true (out[1].kind == Kind::Event);
  g_assert_cmpuint (out[1].pieces, ==, 2);
  g_assert_true (out[1].text == kDelta);

  /* A start in two pieces, then the channel closes. */
  out = feed_all (a, { kDelta.substr (0, 10), kDelta.substr (10, 20) });
  g_assert_true (out.empty ());
  g_assert_cmpuint (a.held_bytes (), ==, 30);
  out = a.flush ();
  g_assert_cmpuint (out.size (), ==, 1);
  g_assert_true (out[0].kind == Kind::Truncated);
  g_assert_cmpuint (out[0].pieces, ==, 2);
  g_assert_cmpuint (out[0].bytes, ==, 30);
  g_assert_nonnull (strstr (out[0].why.c_str (), "inside a string"));
  g_assert_false (a.holding ());
  g_assert_true (a.flush ().empty ());
  /* And the assembler is as new. */
  out = a.feed (other);
  g_assert_true (out.size () == 1 && out[0].kind == Kind::Event);
}

static void test_assembler_garbage ()
{
  const char *bad[] = { "", " \n", "hello", "[1,2]", "42", "\"text\"",
    "{\"x\":1}", "{\"type\":7}", "{\"type\":\"a\"} trailing", "\xff\xfe",
    "{\"type\":\"a\"}{\"type\":\"b\"}", "{'type':'a'}", "{\"type\":\"a\",}",
    "[{\"type\":\"a\"" };
  for (const char *b : bad) {
    rt::EventAssembler a;
    auto out = a.feed (b);
    g_assert_cmpuint (out.size (), ==, 1);
    g_assert_true (out[0].kind == Kind::Malformed);
    g_assert_false (out[0].event.has_value ());
    g_assert_false (out[0].why.empty ());
    g_assert_false (a.holding ());
  }
  /* A start followed by something that cannot continue it. */
  rt::EventAssembler a;
  auto out = feed_all (a, { "{\"type\":\"a\",\"b\":", "]]]" });
  g_assert_cmpuint (out.size (), ==, 1);
  g_assert_true (out[0].kind == Kind::Malformed);
  g_assert_cmpuint (out[0].pieces, ==, 2);
  g_assert_true (out[0].text == "{\"type\":\"a\",\"b\":]]]");
  /* A start that cannot be the start of anything is not held. */
  out = a.feed (std::string ("{\"type\":\"a\",\"b\":\"\x01"));
  g_assert_true (out.size () == 1 && out[0].kind == Kind::Malformed);
  out = a.feed ("{\"a\":" + std::string (500, '['));
  g_assert_true (out.size () == 1 && out[0].kind == Kind::Malformed);
  g_assert_nonnull (strstr (out[0].why.c_str (), "nested deeper"));
  g_assert_false (a.holding ());
}

static void test_assembler_oversized ()
{
  rt::EventAssembler a (1000);
  /* One message over the limit. */
  auto out = a.feed (big_event (1500));
  g_assert_cmpuint (out.size (), ==, 1);
  g_assert_true (out[0].kind == Kind::Oversized);
  g_assert_cmpuint (out[0].bytes, ==, 1500);
  g_assert_cmpuint (out[0].text.size (), ==, rt::Assembled::kOversizedHead);

  /* Pieces that pass the limit together: one report, the rest dropped
   * quietly, and the next event comes through. */
  const std::string ev = big_event (3000);
  out = feed_all (a,
      { ev.substr (0, 900), ev.substr (900, 900), ev.substr (1800, 900),
          ev.substr (2700) });
  g_assert_cmpuint (out.size (), ==, 1);
  g_assert_true (out[0].kind == Kind::Oversized);
  g_assert_cmpuint (out[0].pieces, ==, 2);
  g_assert_cmpuint (out[0].bytes, ==, 1800);
  g_assert_nonnull (strstr (out[0].why.c_str (), "limit of 1000 bytes"));
  g_assert_false (a.holding ());
  g_assert_true (a.flush ().empty ());
  out = a.feed ("{\"type\":\"response.done\"}");
  g_assert_true (out.size () == 1 && out[0].kind == Kind::Event);

  /* An oversized event cut short by a whole one. */
  out = feed_all (a,
      { ev.substr (0, 900), ev.substr (900, 900),
          "{\"type\":\"response.done\"}" });
  g_assert_cmpuint (out.size (), ==, 2);
  g_assert_true (out[0].kind == Kind::Oversized);
  g_assert_true (out[1].kind == Kind::Event);

  /* The default limit is 1 MiB. */
  rt::EventAssembler big;
  g_assert_cmpuint (big.max_bytes (), ==, 1024 * 1024);
  const std::string huge = big_event (1024 * 1024 + 1);
  out = feed_all (big, { huge.substr (0, 65536), huge.substr (65536) });
  g_assert_true (out.size () == 1 && out[0].kind == Kind::Oversized);
}

static void test_assembler_one_byte_pieces ()
{
  /* Held text is scanned once, not once per piece: a 200 KB event in
   * one-byte pieces takes milliseconds, not minutes. */
  const std::string ev = big_event (200000);
  rt::EventAssembler a;
  std::vector<rt::Assembled> out;
  for (char c : ev)
    for (auto &r : a.feed (std::string (1, c)))
      out.push_back (std::move (r));
  g_assert_cmpuint (out.size (), ==, 1);
  g_assert_true (out[0].kind == Kind::Event);
  g_assert_cmpuint (out[0].pieces, ==, ev.size ());
}

int main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/protocol/secret-request", test_secret_request);
  g_test_add_func ("/protocol/session-update", test_session_update);
  g_test_add_func ("/protocol/session-update-fields",
      test_session_update_fields);
  g_test_add_func ("/protocol/tools", test_tools_check);
  g_test_add_func ("/protocol/event-meaning", test_event_meaning);
  g_test_add_func ("/protocol/endpoints", test_endpoints);
  g_test_add_func ("/protocol/error-bodies", test_error_bodies);
  g_test_add_func ("/protocol/client-secret-reply", test_client_secret_reply);
  g_test_add_func ("/protocol/server-events", test_server_events);
  g_test_add_func ("/protocol/reply-audio", test_reply_audio);
  g_test_add_func ("/protocol/client-event-check", test_client_event_check);
  g_test_add_func ("/protocol/location", test_location);
  g_test_add_func ("/protocol/known-server-events", test_known_server_events);
  g_test_add_func ("/protocol/json-scan", test_json_scan);
  g_test_add_func ("/protocol/json-depth", test_json_depth);
  g_test_add_func ("/assembler/whole", test_assembler_whole);
  g_test_add_func ("/assembler/split-anywhere", test_assembler_split_anywhere);
  g_test_add_func ("/assembler/webrtcbin-split",
      test_assembler_webrtcbin_split);
  g_test_add_func ("/assembler/truncated", test_assembler_truncated);
  g_test_add_func ("/assembler/garbage", test_assembler_garbage);
  g_test_add_func ("/assembler/oversized", test_assembler_oversized);
  g_test_add_func ("/assembler/one-byte-pieces",
      test_assembler_one_byte_pieces);
  return g_test_run ();
}
