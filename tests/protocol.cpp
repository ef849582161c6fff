/* The event codec alone: no GStreamer, no network. */
#include "protocol.h"
#include "signalling/openai_http.h"

#include <json-glib/json-glib.h>

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
  g_assert_cmpstr (json_object_get_string_member (exp, "anchor"), ==, "created_at");
  g_assert_cmpint (json_object_get_int_member (exp, "seconds"), ==, 90);
  JsonObject *s = json_object_get_object_member (o, "session");
  g_assert_cmpstr (json_object_get_string_member (s, "type"), ==, "realtime");
  g_assert_cmpstr (json_object_get_string_member (s, "model"), ==, "gpt-realtime");
  g_assert_cmpstr (json_object_get_string_member (s, "instructions"), ==, "Be \"terse\".");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (
              json_object_get_object_member (s, "audio"), "output"), "voice"), ==, "marin");
  json_node_unref (n);
}

static void test_session_update ()
{
  rt::SessionConfig c;
  c.instructions = "Hi";
  JsonNode *n;
  JsonObject *o = parse (rt::build_session_update (c), &n);
  g_assert_cmpstr (json_object_get_string_member (o, "type"), ==, "session.update");
  JsonObject *s = json_object_get_object_member (o, "session");
  /* The model cannot change mid-call; voice absent when not set. */
  g_assert_false (json_object_has_member (s, "model"));
  g_assert_false (json_object_has_member (s, "audio"));
  g_assert_cmpstr (json_object_get_string_member (s, "instructions"), ==, "Hi");
  json_node_unref (n);
}

static void test_error_bodies ()
{
  auto e = rt::parse_error_body (401, "{\"error\":{\"message\":\"Incorrect API key "
      "provided.\",\"type\":\"invalid_request_error\",\"code\":\"invalid_api_key\","
      "\"param\":null}}");
  g_assert_cmpint (e.http_status, ==, 401);
  g_assert_cmpstr (e.code.c_str (), ==, "invalid_api_key");
  g_assert_true (e.describe ().find ("Incorrect API key provided.") != std::string::npos);
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
  auto s = rt::parse_client_secret ("{\"value\":\"ek_abc\",\"expires_at\":1760000000,"
      "\"session\":{}}", &err);
  g_assert_true (s.has_value ());
  g_assert_cmpstr (s->value.c_str (), ==, "ek_abc");
  g_assert_cmpint (s->expires_at, ==, 1760000000);
  /* The beta shape (client_secret.value) is not the GA reply. */
  g_assert_false (rt::parse_client_secret ("{\"client_secret\":{\"value\":\"ek_x\"}}",
          &err).has_value ());
  g_assert_false (rt::parse_client_secret ("nope", &err).has_value ());
}

static void test_server_events ()
{
  std::string err;
  auto e = rt::parse_server_event ("{\"type\":\"error\",\"error\":{\"type\":"
      "\"invalid_request_error\",\"code\":\"session_expired\",\"message\":\"m\"}}", &err);
  g_assert_true (e.has_value ());
  g_assert_cmpstr (e->error_code.c_str (), ==, "session_expired");
  /* Unknown types are events like any other. */
  g_assert_true (rt::parse_server_event ("{\"type\":\"mcp.something.new\"}", &err));
  const char *bad[] = { "", "{", "[]", "42", "{\"type\":7}", "{\"x\":1}",
    "{\"type\":\"a\"", "\xff\xfe" };
  for (const char *b : bad)
    g_assert_false (rt::parse_server_event (b, &err).has_value ());
}

static void test_client_event_check ()
{
  std::string err;
  auto type = rt::check_client_event ("{\"type\":\"response.create\"}", &err);
  g_assert_true (type.has_value ());
  g_assert_cmpstr (type->c_str (), ==, "response.create");
  g_assert_false (rt::check_client_event ("{\"type\":", &err).has_value ());
  g_assert_false (rt::check_client_event ("\"response.create\"", &err).has_value ());
}

static void test_location ()
{
  g_assert_true (rt::call_id_from_location ("/v1/realtime/calls/rtc_123") == "rtc_123");
  g_assert_true (rt::call_id_from_location (
          "https://x/v1/realtime/calls/rtc_9/?a=b") == "rtc_9");
  g_assert_true (rt::call_id_from_location ("").empty ());
}

int main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/protocol/secret-request", test_secret_request);
  g_test_add_func ("/protocol/session-update", test_session_update);
  g_test_add_func ("/protocol/error-bodies", test_error_bodies);
  g_test_add_func ("/protocol/client-secret-reply", test_client_secret_reply);
  g_test_add_func ("/protocol/server-events", test_server_events);
  g_test_add_func ("/protocol/client-event-check", test_client_event_check);
  g_test_add_func ("/protocol/location", test_location);
  return g_test_run ();
}
