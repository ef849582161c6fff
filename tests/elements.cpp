/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The elements against the local realtime server, over real WebRTC on
 * loopback: what a user of openairealtimesink/src would notice. */
#include "session.h"

#include <libsoup/soup.h>

GST_START_TEST (test_echo_response_and_teardown)
{
  fail_unless (server.control ("/control/reset", "{}"));
  {
    Session s ("instructions=\"Answer in one short sentence.\" token-ttl=120 "
               "api-key=" +
        server.api_key);
    s.play ();
    fail_unless (s.wait_event ("session.created"), "no session.created");
    fail_unless (s.wait_event ("session.updated"), "no session.updated");

    /* The echo of our 440 Hz tone comes back through the src. */
    size_t mark = s.audio_size ();
    fail_unless (s.wait ([&] {
      return test::first_loud_window (s.audio, mark, 9600, 0.05) >= 0 &&
          s.audio.size () >
          size_t (test::first_loud_window (s.audio, mark, 9600, 0.05)) + 24000;
    }),
        "no echo came back");
    {
      std::lock_guard<std::mutex> l (s.m);
      long at = test::first_loud_window (s.audio, mark, 9600, 0.05);
      double f = test::dominant_frequency (s.audio, at + 4800, 19200);
      fail_unless (f > 430 && f < 450, "echo at %.0f Hz, not 440", f);
    }

    /* Asked to answer, the agent speaks (a 660 Hz tone) with a transcript. */
    mark = s.audio_size ();
    fail_unless (s.send ("{\"type\":\"response.create\"}"));
    fail_unless (s.wait_event ("response.created"));
    fail_unless (s.wait_event ("output_audio_buffer.started"));
    fail_unless (s.wait_event ("response.output_audio_transcript.done"));
    fail_unless (s.wait_event ("response.done"));
    fail_unless (s.wait_event ("output_audio_buffer.stopped"));
    fail_unless (s.count_event ("response.output_audio_transcript.delta") >= 2);
    {
      std::lock_guard<std::mutex> l (s.m);
      bool heard = false;
      for (size_t i = mark; i + 9600 <= s.audio.size () && !heard; i += 4800)
        heard = test::rms (s.audio, i, 9600) > 0.05 &&
            std::abs (test::dominant_frequency (s.audio, i, 9600) - 660) < 10;
      fail_unless (heard, "the agent's 660 Hz answer was not heard");
      /* Every event came as a signal and, once, as a bus message. */
      fail_unless (std::count (s.posted.begin (), s.posted.end (),
                       "response.done") == 1);
      fail_unless (std::count (s.posted.begin (), s.posted.end (),
                       "session.created") == 1);
      bool transcript = false;
      for (auto &j : s.signalled_json)
        transcript |= j.find ("\"transcript\"") != std::string::npos &&
            j.find ("response.output_audio_transcript.done") !=
                std::string::npos;
      fail_unless (transcript);
      fail_unless (s.errors.empty (), "%s",
          s.errors.empty () ? "" : s.errors[0].c_str ());
    }
  } /* the pipeline goes to NULL: the call must be hung up */

  JsonNode *log = server.log ();
  fail_unless (log != nullptr);
  std::string query;
  fail_unless_equals_int (
      test::count_requests (log, "/v1/realtime/client_secrets"), 1);
  fail_unless_equals_int (
      test::count_requests (log, "/v1/realtime/calls", &query), 2);
  fail_unless (query.find ("model") == std::string::npos, "query: %s",
      query.c_str ());
  JsonObject *secret = json_array_get_object_element (
      json_object_get_array_member (json_node_get_object (log), "secrets"), 0);
  fail_unless_equals_int (json_object_get_int_member (secret, "ttl"), 120);
  JsonObject *call = only_call (log);
  fail_unless (json_object_get_boolean_member (call, "hangup"), "not hung up");
  JsonObject *update = json_array_get_object_element (
      json_object_get_array_member (call, "events"), 0);
  fail_unless_equals_string (json_object_get_string_member (update, "type"),
      "session.update");
  fail_unless_equals_string (
      json_object_get_string_member (
          json_object_get_object_member (update, "session"), "instructions"),
      "Answer in one short sentence.");
  validate_client_events (log);
  json_node_unref (log);
}
GST_END_TEST;

/* A refusal: one clear error that quotes the service, and no second try. */
static void expect_single_error (Session &s, const char *quote)
{
  s.play ();
  fail_unless (s.wait ([&] { return !s.errors.empty (); }), "no error");
  std::lock_guard<std::mutex> l (s.m);
  fail_unless_equals_int (s.errors.size (), 1);
  fail_unless (s.errors[0].find (quote) != std::string::npos,
      "error '%s' does not say '%s'", s.errors[0].c_str (), quote);
}

GST_START_TEST (test_mint_unauthorized)
{
  fail_unless (server.control ("/control/reset", "{}"));
  {
    Session s ("api-key=not-the-right-key-0000");
    expect_single_error (s, "Incorrect API key");
    s.stop ();
  }
  JsonNode *log = server.log ();
  fail_unless_equals_int (
      test::count_requests (log, "/v1/realtime/client_secrets"), 1);
  fail_unless_equals_int (test::count_requests (log, "/v1/realtime/calls"), 0);
  json_node_unref (log);
}
GST_END_TEST;

/* The service refuses the call (injected: the next POST to /calls gets
 * status and a JSON error body): a fatal fault, so one error quoting it,
 * one POST, no reconnection, and none of the user's audio handed to a call
 * that never came up. */
static void expect_call_refused (int status, const char *message,
    const char *code, const char *transitions)
{
  fail_unless (server.control ("/control/reset", "{}"));
  gchar *error_body = g_strdup_printf (
      "{\"error\":{\"message\":\"%s\","
      "\"type\":\"invalid_request_error\",\"code\":\"%s\",\"param\":null}}",
      message, code);
  JsonBuilder *b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "reject_calls");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "status");
  json_builder_add_int_value (b, status);
  json_builder_set_member_name (b, "body");
  json_builder_add_string_value (b, error_body);
  json_builder_end_object (b);
  JsonNode *fault = json_builder_get_root (b);
  gchar *fault_text = json_to_string (fault, FALSE);
  fail_unless (server.control ("/control/fault", fault_text));
  g_free (fault_text);
  json_node_unref (fault);
  g_object_unref (b);
  g_free (error_body);
  {
    Session s ("api-key=" + server.api_key);
    expect_single_error (s, message);
    guint64 sent = 0;
    g_object_get (s.sink, "audio-sent", &sent, nullptr);
    fail_unless_equals_uint64 (sent, 0);
    s.stop ();
    expect_transitions (s, transitions);
  }
  JsonNode *log = server.log ();
  fail_unless_equals_int (test::count_requests (log, "/v1/realtime/calls"), 1);
  json_node_unref (log);
}

GST_START_TEST (test_call_unauthorized)
{
  expect_call_refused (401, "The ephemeral key has been revoked.",
      "invalid_api_key", "connecting/1 failed/1/unauthorized");
}
GST_END_TEST;

GST_START_TEST (test_call_bad_request)
{
  expect_call_refused (400,
      "Invalid value: 'robot'. Supported values are: "
      "'alloy', 'marin'.",
      "invalid_value", "connecting/1 failed/1/bad-request");
}
GST_END_TEST;

/* Network failures say what happened, in words. */
static void expect_transport_error (const std::string &base, const char *words)
{
  Session s ("api-key=" + server.api_key + " api-base=" + base);
  expect_single_error (s, words);
}

GST_START_TEST (test_unreachable_host)
{
  /* Nothing listens on port 1 of loopback. A refusal may be passing (a
   * service restarting): it is retried, up to the attempt limit, and then
   * reported once, quoting the last failure. */
  Session s ("api-key=" + server.api_key + " api-base=http://127.0.0.1:1",
      "audiotestsrc is-live=true", "",
      "max-reconnect-attempts=2 reconnect-delay=20");
  expect_single_error (s,
      "gave up after 2 reconnection attempts; last: "
      "connection refused by 127.0.0.1");
  std::string seen = s.transitions ();
  fail_unless_equals_string (seen.c_str (),
      "connecting/1 "
      "reconnecting/2/network reconnecting/3/network failed/3/network");
}
GST_END_TEST;

/* A TLS server on loopback with a self-signed certificate made for the
 * test: what a user behind an intercepting proxy would meet. */
struct UntrustedTlsServer {
  GSocketService *service = nullptr;
  GTlsCertificate *cert = nullptr;
  guint16 port = 0;
  GMainContext *context = g_main_context_new ();
  GMainLoop *loop = g_main_loop_new (context, FALSE);
  GThread *thread = nullptr;

  bool start (const std::string &dir)
  {
    std::string key = dir + "/key.pem", crt = dir + "/cert.pem";
    const gchar *argv[] = { "openssl", "req", "-x509", "-newkey", "rsa:2048",
      "-nodes", "-keyout", key.c_str (), "-out", crt.c_str (), "-subj",
      "/CN=127.0.0.1", "-days", "1", nullptr };
    gint status = 0;
    if (!g_spawn_sync (nullptr, (gchar **) argv, nullptr,
            (GSpawnFlags) (G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL |
                G_SPAWN_STDERR_TO_DEV_NULL),
            nullptr, nullptr, nullptr, nullptr, &status, nullptr) ||
        !g_spawn_check_wait_status (status, nullptr))
      return false;
    cert = g_tls_certificate_new_from_files (crt.c_str (), key.c_str (),
        nullptr);
    if (!cert)
      return false;
    g_main_context_push_thread_default (context);
    service = g_socket_service_new ();
    GInetAddress *lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
    GSocketAddress *addr = g_inet_socket_address_new (lo, 0);
    GSocketAddress *bound = nullptr;
    g_socket_listener_add_address (G_SOCKET_LISTENER (service), addr,
        G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, nullptr, &bound, nullptr);
    port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
    g_object_unref (bound);
    g_object_unref (addr);
    g_object_unref (lo);
    g_signal_connect (service, "incoming", G_CALLBACK (on_incoming), this);
    g_main_context_pop_thread_default (context);
    thread = g_thread_new (
        "tls-server",
        [] (gpointer d) -> gpointer {
          auto *self = static_cast<UntrustedTlsServer *> (d);
          g_main_context_push_thread_default (self->context);
          g_main_loop_run (self->loop);
          g_main_context_pop_thread_default (self->context);
          return nullptr;
        },
        this);
    return true;
  }

  static gboolean on_incoming (GSocketService *, GSocketConnection *conn,
      GObject *, gpointer d)
  {
    auto *self = static_cast<UntrustedTlsServer *> (d);
    GIOStream *tls = g_tls_server_connection_new (G_IO_STREAM (conn),
        self->cert, nullptr);
    if (tls)
      g_tls_connection_handshake_async (
          G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT, nullptr,
          [] (GObject *s, GAsyncResult *r, gpointer) {
            g_tls_connection_handshake_finish (G_TLS_CONNECTION (s), r,
                nullptr);
            g_object_unref (s);
          },
          nullptr);
    return TRUE;
  }

  ~UntrustedTlsServer ()
  {
    g_main_loop_quit (loop);
    if (thread)
      g_thread_join (thread);
    if (service) {
      g_socket_service_stop (service);
      g_socket_listener_close (G_SOCKET_LISTENER (service));
      g_object_unref (service);
    }
    if (cert)
      g_object_unref (cert);
    g_main_loop_unref (loop);
    g_main_context_unref (context);
  }
};

/* LeakSanitizer's exit check, in the sanitizer build, intermittently
 * crashes in its own tracer ("Tracer caught signal 11") on a thread's
 * dynamic TLS block once glib-networking's TLS module is loaded, as it is
 * by this test alone. This test's process (check forks one per test)
 * skips that check; every other test's is leak-checked. */
static bool skip_exit_leak_check = false;
extern "C" int __lsan_is_turned_off ()
{
  return skip_exit_leak_check;
}

GST_START_TEST (test_tls_failure)
{
  skip_exit_leak_check = true;
  gchar *dir = g_dir_make_tmp ("tls-XXXXXX", nullptr);
  {
    UntrustedTlsServer tls;
    fail_unless (tls.start (dir), "cannot run a TLS server (openssl missing?)");
    expect_transport_error ("https://127.0.0.1:" + std::to_string (tls.port),
        "TLS failure talking to 127.0.0.1");
  }
  g_unlink ((std::string (dir) + "/key.pem").c_str ());
  g_unlink ((std::string (dir) + "/cert.pem").c_str ());
  g_rmdir (dir);
  g_free (dir);
}
GST_END_TEST;

GST_START_TEST (test_send_event_refusals)
{
  fail_unless (server.control ("/control/reset", "{}"));
  Session s ("api-key=" + server.api_key);
  /* Not in a call yet: refused, not queued. */
  fail_if (s.send ("{\"type\":\"response.create\"}"));
  s.play ();
  fail_unless (s.wait_event ("session.created"));
  fail_if (s.send ("{\"type\": "));
  fail_if (s.send ("[1, 2]"));
  fail_if (s.send ("{\"no_type\": 1}"));
  std::string huge = "{\"type\":\"conversation.item.create\",\"pad\":\"" +
      std::string (70000, 'x') + "\"}";
  fail_if (s.send (huge.c_str ()), "over 64 KiB must be refused, not dropped");
  /* The src is a live source and says so, with its block as latency. */
  GstQuery *latency = gst_query_new_latency ();
  GstPad *audio = gst_element_get_static_pad (s.src, "audio");
  fail_unless (gst_pad_query (audio, latency));
  gst_object_unref (audio);
  gboolean live = FALSE;
  GstClockTime min = 0;
  gst_query_parse_latency (latency, &live, &min, nullptr);
  gst_query_unref (latency);
  fail_unless (live);
  fail_unless_equals_uint64 (min, 10 * GST_MSECOND);
  fail_unless (s.send ("{\"type\":\"input_audio_buffer.clear\"}"));
  fail_unless (s.wait_event ("input_audio_buffer.cleared"));
  std::lock_guard<std::mutex> l (s.m);
  fail_unless (s.errors.empty ());
}
GST_END_TEST;

GST_START_TEST (test_client_secret_listen_only)
{
  fail_unless (server.control ("/control/reset", "{}"));
  /* An application that minted its own secret hands it to a lone src. */
  SoupSession *session = soup_session_new ();
  SoupMessage *msg = soup_message_new ("POST",
      (server.base + "/v1/realtime/client_secrets").c_str ());
  soup_message_headers_replace (soup_message_get_request_headers (msg),
      "Authorization", ("Bearer " + server.api_key).c_str ());
  const char *body = "{\"session\":{\"type\":\"realtime\"}}";
  GBytes *b = g_bytes_new_static (body, strlen (body));
  soup_message_set_request_body_from_bytes (msg, "application/json", b);
  g_bytes_unref (b);
  GBytes *reply = soup_session_send_and_read (session, msg, nullptr, nullptr);
  fail_unless_equals_int (soup_message_get_status (msg), 200);
  JsonNode *node = json_from_string (
      (const char *) g_bytes_get_data (reply, nullptr), nullptr);
  std::string secret = json_object_get_string_member (
      json_node_get_object (node), "value");
  json_node_unref (node);
  g_bytes_unref (reply);
  g_object_unref (msg);
  g_object_unref (session);

  std::string desc = "openairealtimesrc name=src client-secret=" + secret +
      " api-base=" + server.base + " ! fakesink";
  GstElement *pipeline = gst_parse_launch (desc.c_str (), nullptr);
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  std::mutex m;
  std::condition_variable cv;
  bool created = false;
  struct Ctx {
    std::mutex *m;
    std::condition_variable *cv;
    bool *created;
  } ctx { &m, &cv, &created };
  g_signal_connect (src, "server-event",
      G_CALLBACK (
          +[] (GstElement *, const char *type, const char *, gpointer d) {
            auto *c = static_cast<Ctx *> (d);
            std::lock_guard<std::mutex> l (*c->m);
            if (g_str_equal (type, "session.created"))
              *c->created = true;
            c->cv->notify_all ();
          }),
      &ctx);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  {
    std::unique_lock<std::mutex> l (m);
    fail_unless (cv.wait_for (l, 10s, [&] { return created; }));
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (src);
  gst_object_unref (pipeline);
  JsonNode *log = server.log ();
  fail_unless_equals_int (
      test::count_requests (log, "/v1/realtime/client_secrets"), 1);
  json_node_unref (log);
}
GST_END_TEST;

/* No provider and no key: the elements make their own provider, which falls
 * back to the local server. */
/* Warnings of the provider's category, as GST_DEBUG=2 would show them. */
static std::mutex provider_warnings_lock;
static std::vector<std::string> provider_warnings;

static void record_provider_warning (GstDebugCategory *category,
    GstDebugLevel level, const gchar *, const gchar *, gint, GObject *,
    GstDebugMessage *message, gpointer)
{
  if (level != GST_LEVEL_WARNING ||
      g_strcmp0 (gst_debug_category_get_name (category),
          "ephemeraltokenprovider") != 0)
    return;
  std::lock_guard<std::mutex> l (provider_warnings_lock);
  provider_warnings.emplace_back (gst_debug_message_get (message));
}

static void watch_provider_warnings ()
{
  gst_debug_set_threshold_for_name ("ephemeraltokenprovider",
      GST_LEVEL_WARNING);
  gst_debug_add_log_function (record_provider_warning, nullptr, nullptr);
  std::lock_guard<std::mutex> l (provider_warnings_lock);
  provider_warnings.clear ();
}

static std::vector<std::string> unwatch_provider_warnings ()
{
  gst_debug_remove_log_function (record_provider_warning);
  std::lock_guard<std::mutex> l (provider_warnings_lock);
  return provider_warnings;
}

/* No key anywhere: the local server stands in, and the error of a call
 * that cannot reach it says so, with where it went. */
GST_START_TEST (test_no_key_error_names_stand_in)
{
  g_setenv ("OPENAI_REALTIME_LOCAL_URL", "http://127.0.0.1:1", TRUE);
  watch_provider_warnings ();
  {
    /* The default base: only then does the local server stand in. */
    Session s ("api-base=https://api.openai.com", "audiotestsrc is-live=true",
        "", "max-reconnect-attempts=0");
    expect_single_error (s,
        "connection refused by 127.0.0.1 (no API key is set, so the local "
        "realtime server at http://127.0.0.1:1 stands in for the service; "
        "set api-key, api-key-file or OPENAI_API_KEY");
    s.stop ();
  }
  auto warnings = unwatch_provider_warnings ();
  fail_unless_equals_int (warnings.size (), 1);
  fail_unless (warnings[0].find ("no API key is set") != std::string::npos,
      "warning: %s", warnings[0].c_str ());
  g_unsetenv ("OPENAI_REALTIME_LOCAL_URL");
}
GST_END_TEST;

/* The key from a file (systemd's LoadCredential=): read at each mint, its
 * newline ignored; an unreadable one is an error naming the file. */
GST_START_TEST (test_api_key_file)
{
  fail_unless (server.control ("/control/reset", "{}"));
  gchar *dir = g_dir_make_tmp ("key-file-XXXXXX", nullptr);
  const std::string path = std::string (dir) + "/openai-key";
  fail_unless (g_file_set_contents (path.c_str (),
      (server.api_key + "\n").c_str (), -1, nullptr));
  {
    Session s ("api-key-file=" + path);
    s.play ();
    fail_unless (s.wait_event ("session.created"), "no session.created");
    s.stop ();
  }
  g_remove (path.c_str ());
  {
    Session s ("api-key-file=" + path, "audiotestsrc is-live=true", "",
        "max-reconnect-attempts=0");
    expect_single_error (s, ("no API key could be read from " + path).c_str ());
    s.stop ();
  }
  g_rmdir (dir);
  g_free (dir);
}
GST_END_TEST;

/* What documentation tools and gst-inspect-1.0 read: every element of the
 * project's plugins has a klass in one style (its role, Network, what it
 * carries) and its enum and flags types marked as plugin API. */
GST_START_TEST (test_element_conventions)
{
  guint checked = 0;
  for (const char *plugin :
      { "openairealtime", "webrtcbroadcast", "sipphone" }) {
    GList *features = gst_registry_get_feature_list_by_plugin (
        gst_registry_get (), plugin);
    for (GList *l = features; l; l = l->next) {
      if (!GST_IS_ELEMENT_FACTORY (l->data))
        continue;
      auto *factory = GST_ELEMENT_FACTORY (l->data);
      const char *name = GST_OBJECT_NAME (factory);
      const char *klass = gst_element_factory_get_metadata (factory,
          GST_ELEMENT_METADATA_KLASS);
      fail_unless (g_str_has_prefix (klass, "Sink/") ||
              g_str_has_prefix (klass, "Source/") ||
              g_str_has_prefix (klass, "Generic/"),
          "%s: klass %s", name, klass);
      fail_unless (strstr (klass, "/Network") != nullptr, "%s: klass %s", name,
          klass);
      GstElement *e = gst_element_factory_create (factory, nullptr);
      fail_unless (e != nullptr, "%s cannot be made", name);
      guint n = 0;
      GParamSpec **specs = g_object_class_list_properties (
          G_OBJECT_GET_CLASS (e), &n);
      for (guint i = 0; i < n; i++) {
        GType t = G_PARAM_SPEC_VALUE_TYPE (specs[i]);
        if ((G_TYPE_IS_ENUM (t) || G_TYPE_IS_FLAGS (t)) &&
            !gst_type_is_plugin_api (t, nullptr)) {
          /* GStreamer's own types (GstFormat...) are not ours to mark. */
          const char *tn = g_type_name (t);
          fail_if (g_str_has_prefix (tn, "GstOpenAIRealtime") ||
                  g_str_has_prefix (tn, "GstWebRTCBroadcast") ||
                  g_str_has_prefix (tn, "GstSipPhone"),
              "%s.%s: %s is not marked as plugin API", name, specs[i]->name,
              tn);
        }
      }
      g_free (specs);
      gst_object_unref (e);
      checked++;
    }
    gst_plugin_feature_list_free (features);
  }
  fail_unless (checked >= 5, "only %u elements found", checked);
}
GST_END_TEST;

GST_START_TEST (test_implicit_provider_local_fallback)
{
  fail_unless (server.control ("/control/reset", "{}"));
  g_setenv ("OPENAI_API_KEY", "", TRUE);
  g_setenv ("OPENAI_REALTIME_LOCAL_URL", server.base.c_str (), TRUE);
  g_setenv ("REALTIME_SERVER_API_KEY", server.api_key.c_str (), TRUE);
  GstElement *pipeline = gst_parse_launch (
      "audiotestsrc is-live=true ! "
      "openairealtimesink openairealtimesrc name=src ! fakesink",
      nullptr);
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  GstBus *bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  bool created = false;
  while (!created) {
    GstMessage *msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND,
        (GstMessageType) (GST_MESSAGE_ELEMENT | GST_MESSAGE_ERROR));
    fail_unless (msg != nullptr, "no session.created");
    fail_if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR);
    created = gst_message_has_name (msg, "openai-realtime-event") &&
        g_str_equal (
            gst_structure_get_string (gst_message_get_structure (msg), "type"),
            "session.created");
    gst_message_unref (msg);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (src);
  gst_object_unref (pipeline);
  g_unsetenv ("OPENAI_REALTIME_LOCAL_URL");
  g_unsetenv ("REALTIME_SERVER_API_KEY");
}
GST_END_TEST;

/* An application that stops its pipeline from the server-event handler: the
 * last reference to the call goes on the call's own thread. */
GST_START_TEST (test_stop_from_event_handler)
{
  fail_unless (server.control ("/control/reset", "{}"));
  Session s ("api-key=" + server.api_key);
  g_signal_connect (s.src, "server-event",
      G_CALLBACK (
          +[] (GstElement *, const char *type, const char *, gpointer data) {
            auto *session = static_cast<Session *> (data);
            if (!g_str_equal (type, "session.created"))
              return;
            gst_element_set_state (session->pipeline, GST_STATE_NULL);
            std::lock_guard<std::mutex> l (session->m);
            session->signalled.emplace_back ("test.stopped");
            session->cv.notify_all ();
          }),
      &s);
  s.play ();
  fail_unless (s.wait_event ("test.stopped"));
  /* Stopping hung the call up, although the call's own thread dropped it. */
  JsonNode *log = server.log ();
  fail_unless (json_object_get_boolean_member (only_call (log), "hangup"));
  json_node_unref (log);
  GstState state;
  gst_element_get_state (s.pipeline, &state, nullptr, GST_CLOCK_TIME_NONE);
  fail_unless_equals_int (state, GST_STATE_NULL);
}
GST_END_TEST;

/* A non-live input (a file) goes out at real time, not as fast as it can
 * be read: the service hears a conversation, not a burst. */
GST_START_TEST (test_file_input_at_real_time)
{
  Session s ("api-key=" + server.api_key,
      "audiotestsrc is-live=false freq=440 volume=0.5 samplesperbuffer=960");
  s.play ();
  auto sent = [&] {
    guint64 n = 0;
    g_object_get (s.sink, "audio-sent", &n, nullptr);
    return n;
  };
  fail_unless (s.wait ([&] { return sent () >= 25; }), "no audio went out");
  const guint64 first = sent ();
  const gint64 start = g_get_monotonic_time ();
  /* 50 buffers of 20 ms: a second of audio takes a second to send. */
  fail_unless (s.wait ([&] { return sent () >= first + 50; }),
      "audio stopped going out");
  const gint64 took_ms = (g_get_monotonic_time () - start) / 1000;
  fail_unless (took_ms >= 900,
      "1 s of file audio went out in %" G_GINT64_FORMAT " ms", took_ms);
}
GST_END_TEST;

static Suite *elements_suite ()
{
  Suite *s = suite_create ("openairealtime");
  TCase *tc = tcase_create ("call");
  tcase_set_timeout (tc, 60);
  tcase_add_unchecked_fixture (tc, local_server_up, local_server_down);
  tcase_add_test (tc, test_echo_response_and_teardown);
  tcase_add_test (tc, test_mint_unauthorized);
  tcase_add_test (tc, test_call_unauthorized);
  tcase_add_test (tc, test_call_bad_request);
  tcase_add_test (tc, test_unreachable_host);
  tcase_add_test (tc, test_tls_failure);
  tcase_add_test (tc, test_send_event_refusals);
  tcase_add_test (tc, test_client_secret_listen_only);
  tcase_add_test (tc, test_stop_from_event_handler);
  tcase_add_test (tc, test_implicit_provider_local_fallback);
  tcase_add_test (tc, test_element_conventions);
  tcase_add_test (tc, test_no_key_error_names_stand_in);
  tcase_add_test (tc, test_api_key_file);
  tcase_add_test (tc, test_file_input_at_real_time);
  suite_add_tcase (s, tc);
  return s;
}

GST_CHECK_MAIN (elements);
