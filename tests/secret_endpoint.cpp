/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The secret endpoint's decisions alone (origins, CORS, the rate limit:
 * no network, no clock), then the endpoint itself on loopback against a
 * stand-in for the service that lives in this process: replies, a service
 * that never answers, a client that leaves, stopping with a mint in
 * flight. */
#include "openai/credentials.h"
#include "core/debug.h"
#include "openai/secret_endpoint.h"
#include "core/worker.h"

#include <gio/gio.h>
#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

using rt::EndpointOutcome;
using rt::EndpointReply;
using rt::EndpointRequest;
using rt::OriginAllowList;
using rt::RateLimiter;
using rt::SecretPolicy;

static const char *header (const EndpointReply &r, const char *name)
{
  for (const auto &kv : r.headers)
    if (g_ascii_strcasecmp (kv.first.c_str (), name) == 0)
      return kv.second.c_str ();
  return nullptr;
}

/* (A std::string's text outlives the assertion only if the string does.) */
static void check_normalized (const char *origin, const char *expected)
{
  std::string got = OriginAllowList::normalize (origin);
  g_assert_cmpstr (got.c_str (), ==, expected);
}

static void test_normalize ()
{
  check_normalized ("http://127.0.0.1:8080", "http://127.0.0.1:8080");
  check_normalized ("HTTP://Example.COM", "http://example.com");
  check_normalized ("http://example.com:80", "http://example.com");
  check_normalized ("https://example.com:443/", "https://example.com");
  check_normalized ("https://example.com:80", "https://example.com:80");
  check_normalized ("http://example.com:08080", "http://example.com:8080");
  check_normalized ("  http://localhost:3000 ", "http://localhost:3000");
  check_normalized ("http://[::1]:8080", "http://[::1]:8080");
  check_normalized ("http://[::1]", "http://[::1]");
  check_normalized ("chrome-extension://abcdef", "chrome-extension://abcdef");
  /* Not origins. */
  for (const char *bad : { "", "null", "example.com", "://example.com",
           "http://", "http://example.com/app", "http://example.com?x",
           "http://example.com#x", "http://user@example.com",
           "http://example.com:", "http://example.com:0",
           "http://example.com:65536", "http://example.com:8x", "http://[::1",
           "http://[::1]x", "http://[]", "1http://x", "ht tp://x",
           "http://exa mple.com", "http://example.com//" })
    check_normalized (bad, "");
}

static void test_allow_list ()
{
  OriginAllowList none;
  g_assert_true (none.empty ());
  g_assert_false (none.allows ("http://127.0.0.1:8080"));

  OriginAllowList list (
      " http://127.0.0.1:8080, HTTPS://App.Example.com ,,"
      "http://localhost:8080/, not an origin, null, http://x/path");
  g_assert_false (list.empty ());
  g_assert_false (list.any ());
  g_assert_true (list.allows ("http://127.0.0.1:8080"));
  g_assert_true (list.allows ("https://app.example.com"));
  g_assert_true (list.allows ("https://app.example.com:443"));
  g_assert_true (list.allows ("http://localhost:8080"));
  g_assert_false (list.allows ("http://127.0.0.1:8081"));
  g_assert_false (list.allows ("https://127.0.0.1:8080"));
  g_assert_false (list.allows ("http://app.example.com"));
  g_assert_false (list.allows ("https://evil.app.example.com"));
  g_assert_false (list.allows ("https://app.example.com.evil.org"));
  g_assert_false (list.allows ("null"));
  g_assert_false (list.allows (""));
  g_assert_cmpuint (list.rejected ().size (), ==, 3);
  g_assert_cmpstr (list.rejected ()[0].c_str (), ==, "not an origin");
  g_assert_cmpstr (list.rejected ()[1].c_str (), ==, "null");
  g_assert_cmpstr (list.rejected ()[2].c_str (), ==, "http://x/path");

  OriginAllowList any ("*");
  g_assert_true (any.any ());
  g_assert_true (any.allows ("https://anything.example"));
  /* Even "*" does not let the opaque origin in. */
  g_assert_false (any.allows ("null"));
}

static void test_rate_limiter ()
{
  const std::int64_t s = G_USEC_PER_SEC;
  RateLimiter limiter (3);
  unsigned retry = 0;
  /* A burst of three, then refused until a token has come back (20 s). */
  for (int i = 0; i < 3; i++)
    g_assert_true (limiter.take ("10.0.0.1", 0, &retry));
  g_assert_false (limiter.take ("10.0.0.1", 0, &retry));
  g_assert_cmpuint (retry, ==, 20);
  g_assert_false (limiter.take ("10.0.0.1", 5 * s, &retry));
  g_assert_cmpuint (retry, ==, 15);
  g_assert_false (limiter.take ("10.0.0.1", 19 * s + s / 2, &retry));
  g_assert_cmpuint (retry, ==, 1);
  /* Another client has a bucket of its own. */
  g_assert_true (limiter.take ("10.0.0.2", 5 * s, &retry));
  g_assert_true (limiter.take ("10.0.0.1", 20 * s, &retry));
  g_assert_false (limiter.take ("10.0.0.1", 20 * s, &retry));
  /* A full minute refills the burst, no more. */
  for (int i = 0; i < 3; i++)
    g_assert_true (limiter.take ("10.0.0.1", 200 * s, &retry));
  g_assert_false (limiter.take ("10.0.0.1", 200 * s, &retry));

  /* A lower rate applies at once to what was saved up. */
  RateLimiter lower (10);
  g_assert_true (lower.take ("a", 0, &retry));
  lower.set_rate (1);
  g_assert_true (lower.take ("a", 0, &retry));
  g_assert_false (lower.take ("a", 0, &retry));
  g_assert_cmpuint (retry, ==, 60);

  /* 0: no limit. */
  RateLimiter unlimited (0);
  for (int i = 0; i < 1000; i++)
    g_assert_true (unlimited.take ("a", 0, &retry));
  g_assert_cmpuint (unlimited.clients (), ==, 0);

  /* Memory stays bounded: buckets full again are forgotten. */
  RateLimiter many (2);
  for (unsigned i = 0; i < RateLimiter::kMaxClients; i++)
    g_assert_true (many.take ("c" + std::to_string (i), 0, &retry));
  g_assert_cmpuint (many.clients (), ==, RateLimiter::kMaxClients);
  g_assert_true (many.take ("late", 60 * s, &retry));
  g_assert_cmpuint (many.clients (), ==, 1);
}

static EndpointRequest request (const char *method, const char *origin,
    const char *client = "127.0.0.1", std::int64_t now = 0)
{
  EndpointRequest r;
  r.method = method;
  r.path = SecretPolicy::kPath;
  if (origin)
    r.origin = origin;
  r.client = client;
  r.now_us = now;
  return r;
}

static void test_policy_origins ()
{
  SecretPolicy policy;
  g_assert_cmpuint (policy.rate_limit (), ==, SecretPolicy::kDefaultRateLimit);
  g_assert_true (policy.allowed_origins ().empty ());

  /* Nothing allowed yet: a page is refused, without any CORS header. */
  EndpointReply r = policy.decide (request ("POST", "http://127.0.0.1:8080"));
  g_assert_true (r.outcome == EndpointOutcome::RefusedOrigin);
  g_assert_cmpuint (r.status, ==, 403);
  g_assert_null (header (r, "Access-Control-Allow-Origin"));
  g_assert_cmpstr (header (r, "Vary"), ==, "Origin");
  g_assert_cmpstr (r.content_type.c_str (), ==, "application/json");
  g_assert_nonnull (strstr (r.body.c_str (), "origin_not_allowed"));

  policy.set_allowed_origins ("http://127.0.0.1:8080, https://app.example");
  g_assert_true (policy.allowed_origins () ==
      "http://127.0.0.1:8080, https://app.example");
  r = policy.decide (request ("POST", "http://127.0.0.1:8080"));
  g_assert_true (r.outcome == EndpointOutcome::Mint);
  g_assert_cmpstr (header (r, "Access-Control-Allow-Origin"), ==,
      "http://127.0.0.1:8080");
  g_assert_cmpstr (header (r, "Vary"), ==, "Origin");
  g_assert_cmpstr (header (r, "Cache-Control"), ==, "no-store");
  g_assert_cmpstr (header (r, "Access-Control-Expose-Headers"), ==,
      "Retry-After");
  /* Never credentials, never a wildcard. */
  g_assert_null (header (r, "Access-Control-Allow-Credentials"));

  /* The origin is echoed as the browser wrote it. */
  r = policy.decide (request ("POST", "https://app.example:443"));
  g_assert_true (r.outcome == EndpointOutcome::Mint);
  g_assert_cmpstr (header (r, "Access-Control-Allow-Origin"), ==,
      "https://app.example:443");

  for (const char *refused : { "http://127.0.0.1:8081", "http://localhost:8080",
           "null", "https://app.example.evil", "" }) {
    r = policy.decide (request ("POST", refused));
    g_assert_true (r.outcome == EndpointOutcome::RefusedOrigin);
    g_assert_null (header (r, "Access-Control-Allow-Origin"));
  }

  /* No Origin: not a browser; served, without CORS headers. */
  r = policy.decide (request ("POST", nullptr));
  g_assert_true (r.outcome == EndpointOutcome::Mint);
  g_assert_null (header (r, "Access-Control-Allow-Origin"));
  g_assert_cmpstr (header (r, "Cache-Control"), ==, "no-store");

  policy.set_allowed_origins ("*");
  r = policy.decide (request ("POST", "https://anywhere.example"));
  g_assert_true (r.outcome == EndpointOutcome::Mint);
  g_assert_cmpstr (header (r, "Access-Control-Allow-Origin"), ==,
      "https://anywhere.example");
  g_assert_true (policy.decide (request ("POST", "null")).outcome ==
      EndpointOutcome::RefusedOrigin);

  policy.set_allowed_origins ("http://ok.example, bad entry");
  auto rejected = policy.rejected_origins ();
  g_assert_cmpuint (rejected.size (), ==, 1);
  g_assert_cmpstr (rejected[0].c_str (), ==, "bad entry");
}

static void test_policy_preflight ()
{
  SecretPolicy policy;
  policy.set_allowed_origins ("http://127.0.0.1:8080");
  policy.set_rate_limit (1);
  EndpointReply r = policy.decide (
      request ("OPTIONS", "http://127.0.0.1:8080"));
  g_assert_true (r.outcome == EndpointOutcome::Preflight);
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_cmpstr (r.content_type.c_str (), ==, "");
  g_assert_cmpstr (header (r, "Access-Control-Allow-Origin"), ==,
      "http://127.0.0.1:8080");
  g_assert_cmpstr (header (r, "Access-Control-Allow-Methods"), ==,
      "POST, OPTIONS");
  g_assert_cmpstr (header (r, "Access-Control-Allow-Headers"), ==,
      "Content-Type");
  g_assert_cmpstr (header (r, "Access-Control-Max-Age"), ==, "600");
  g_assert_cmpstr (header (r, "Vary"), ==, "Origin");
  g_assert_null (header (r, "Access-Control-Allow-Private-Network"));

  EndpointRequest pna = request ("OPTIONS", "http://127.0.0.1:8080");
  pna.private_network = true;
  r = policy.decide (pna);
  g_assert_cmpstr (header (r, "Access-Control-Allow-Private-Network"), ==,
      "true");

  r = policy.decide (request ("OPTIONS", "http://evil.example"));
  g_assert_true (r.outcome == EndpointOutcome::RefusedOrigin);
  g_assert_cmpuint (r.status, ==, 403);
  g_assert_null (header (r, "Access-Control-Allow-Origin"));
  g_assert_null (header (r, "Access-Control-Allow-Methods"));
  pna.origin = "http://evil.example";
  g_assert_null (
      header (policy.decide (pna), "Access-Control-Allow-Private-Network"));

  /* Preflights (many) and refused requests take no token: the one POST
   * allowed a minute is still there. */
  for (int i = 0; i < 5; i++) {
    policy.decide (request ("OPTIONS", "http://127.0.0.1:8080"));
    policy.decide (request ("POST", "http://evil.example"));
  }
  g_assert_true (
      policy.decide (request ("POST", "http://127.0.0.1:8080")).outcome ==
      EndpointOutcome::Mint);
}

static void test_policy_rate_limit ()
{
  SecretPolicy policy;
  policy.set_allowed_origins ("http://127.0.0.1:8080");
  policy.set_rate_limit (2);
  const char *page = "http://127.0.0.1:8080";
  g_assert_true (
      policy.decide (request ("POST", page)).outcome == EndpointOutcome::Mint);
  g_assert_true (policy.decide (request ("POST", nullptr)).outcome ==
      EndpointOutcome::Mint);
  EndpointReply r = policy.decide (request ("POST", page));
  g_assert_true (r.outcome == EndpointOutcome::RateLimited);
  g_assert_cmpuint (r.status, ==, 429);
  g_assert_cmpstr (header (r, "Retry-After"), ==, "30");
  /* The page may read the 429 and its Retry-After. */
  g_assert_cmpstr (header (r, "Access-Control-Allow-Origin"), ==, page);
  g_assert_cmpstr (header (r, "Access-Control-Expose-Headers"), ==,
      "Retry-After");
  g_assert_nonnull (strstr (r.body.c_str (), "rate_limited"));
  /* Per address. */
  g_assert_true (policy.decide (request ("POST", page, "127.0.0.2")).outcome ==
      EndpointOutcome::Mint);
  /* 30 s later one more. */
  g_assert_true (
      policy.decide (request ("POST", page, "127.0.0.1", 30 * G_USEC_PER_SEC))
          .outcome == EndpointOutcome::Mint);
  policy.set_rate_limit (0);
  for (int i = 0; i < 100; i++)
    g_assert_true (policy.decide (request ("POST", page)).outcome ==
        EndpointOutcome::Mint);
}

static void test_policy_routes ()
{
  SecretPolicy policy;
  policy.set_allowed_origins ("*");
  EndpointRequest r = request ("POST", "http://a.example");
  r.path = "/";
  g_assert_cmpuint (policy.decide (r).status, ==, 404);
  r.path = "/api/generate-client-secret/x";
  g_assert_cmpuint (policy.decide (r).status, ==, 404);
  for (const char *m : { "GET", "PUT", "DELETE", "HEAD" }) {
    EndpointReply reply = policy.decide (request (m, "http://a.example"));
    g_assert_true (reply.outcome == EndpointOutcome::MethodNotAllowed);
    g_assert_cmpuint (reply.status, ==, 405);
    g_assert_cmpstr (header (reply, "Allow"), ==, "POST, OPTIONS");
  }
}

static void test_replies ()
{
  SecretPolicy policy;
  policy.set_allowed_origins ("http://127.0.0.1:8080");
  EndpointReply decision = policy.decide (
      request ("POST", "http://127.0.0.1:8080"));
  EndpointReply ok = SecretPolicy::minted (decision, "ek_0123456789abcdef",
      1700000000);
  g_assert_cmpuint (ok.status, ==, 200);
  g_assert_cmpstr (ok.content_type.c_str (), ==, "application/json");
  g_assert_cmpstr (ok.body.c_str (), ==,
      "{\"value\":\"ek_0123456789abcdef\",\"expires_at\":1700000000}");
  g_assert_cmpstr (header (ok, "Cache-Control"), ==, "no-store");
  g_assert_cmpstr (header (ok, "Access-Control-Allow-Origin"), ==,
      "http://127.0.0.1:8080");

  EndpointReply bad = SecretPolicy::mint_failed (decision, -1);
  g_assert_cmpuint (bad.status, ==, 502);
  g_assert_null (header (bad, "Retry-After"));
  g_assert_nonnull (strstr (bad.body.c_str (), "upstream_error"));
  EndpointReply busy = SecretPolicy::mint_failed (decision, 7);
  g_assert_cmpuint (busy.status, ==, 503);
  g_assert_cmpstr (header (busy, "Retry-After"), ==, "7");
  g_assert_cmpstr (header (busy, "Access-Control-Allow-Origin"), ==,
      "http://127.0.0.1:8080");
  EndpointReply soon = SecretPolicy::mint_failed (decision, 0);
  g_assert_cmpstr (header (soon, "Retry-After"), ==, "1");
}

/* ---- The endpoint on loopback ---- */

static const char *const kKey = "sk-unit-PERMANENT-KEY-0f3a9c";

/* The service's client_secrets, in this process: answers at once, or
 * never (hang), and notes the Authorization and User-Agent it got. */
struct FakeService {
  rt::Worker worker { "fake-service" };
  SoupServer *soup = nullptr;
  int port = 0;
  std::atomic<bool> hang { false };
  std::atomic<int> mints { 0 };
  std::atomic<int> good_auth { 0 };
  std::mutex lock;
  std::string user_agent;                /* the last request's, under lock */
  std::vector<SoupServerMessage *> held; /* worker only */

  FakeService ()
  {
    worker.run_sync ([this] {
      soup = soup_server_new (nullptr, nullptr);
      soup_server_add_handler (
          soup, "/v1/realtime/client_secrets",
          [] (SoupServer *, SoupServerMessage *msg, const char *, GHashTable *,
              gpointer data) {
            auto *self = static_cast<FakeService *> (data);
            self->mints++;
            const char *auth = soup_message_headers_get_one (
                soup_server_message_get_request_headers (msg), "Authorization");
            if (auth && std::string (auth) == std::string ("Bearer ") + kKey)
              self->good_auth++;
            const char *agent = soup_message_headers_get_one (
                soup_server_message_get_request_headers (msg), "User-Agent");
            {
              std::lock_guard<std::mutex> hold (self->lock);
              self->user_agent = agent ? agent : "";
            }
            if (self->hang) {
              soup_server_message_pause (msg);
              self->held.push_back (SOUP_SERVER_MESSAGE (g_object_ref (msg)));
              return;
            }
            const char *body = "{\"value\":\"ek_unit0123456789abcdef\","
                               "\"expires_at\":1800000000,\"session\":{}}";
            soup_server_message_set_status (msg, 200, nullptr);
            soup_server_message_set_response (msg, "application/json",
                SOUP_MEMORY_COPY, body, strlen (body));
          },
          this, nullptr);
      /* (listen_local() and get_uris() leak an address in libsoup 3.2.) */
      GInetAddress *loopback = g_inet_address_new_loopback (
          G_SOCKET_FAMILY_IPV4);
      GSocketAddress *address = g_inet_socket_address_new (loopback, 0);
      g_object_unref (loopback);
      g_assert_true (soup_server_listen (soup, address,
          (SoupServerListenOptions) 0, nullptr));
      g_object_unref (address);
      GSList *listeners = soup_server_get_listeners (soup);
      GSocketAddress *local = g_socket_get_local_address (
          G_SOCKET (listeners->data), nullptr);
      port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
      g_object_unref (local);
      g_slist_free (listeners);
    });
  }
  ~FakeService ()
  {
    worker.run_sync ([this] {
      soup_server_disconnect (soup);
      for (auto *msg : held)
        g_object_unref (msg);
      g_object_unref (soup);
    });
  }
  std::string base () const
  {
    return "http://127.0.0.1:" + std::to_string (port);
  }
};

static std::shared_ptr<rt::SecretMinter> minter_for (const FakeService &service)
{
  auto minter = std::make_shared<rt::SecretMinter> ();
  minter->configure ([&] (rt::SecretMinter::Settings &s) {
    s.api_base = service.base ();
    s.api_key = kKey;
    s.flavor = rt::ApiFlavor::OpenAI;
  });
  return minter;
}

struct Reply {
  guint status = 0;
  std::string body;
  std::string all_headers;
};

/* One request; with a session, on its kept-alive connection if it has one. */
static Reply send (int port, const char *origin, const char *method = "POST",
    SoupSession *shared = nullptr)
{
  SoupSession *session = shared ? SOUP_SESSION (g_object_ref (shared)) :
                                  soup_session_new ();
  std::string url = "http://127.0.0.1:" + std::to_string (port) +
      SecretPolicy::kPath;
  SoupMessage *msg = soup_message_new (method, url.c_str ());
  if (origin)
    soup_message_headers_replace (soup_message_get_request_headers (msg),
        "Origin", origin);
  GBytes *bytes = soup_session_send_and_read (session, msg, nullptr, nullptr);
  Reply r;
  r.status = soup_message_get_status (msg);
  if (bytes) {
    gsize n = 0;
    const char *d = static_cast<const char *> (g_bytes_get_data (bytes, &n));
    r.body.assign (d ? d : "", n);
    g_bytes_unref (bytes);
  }
  SoupMessageHeadersIter iter;
  const char *name, *value;
  soup_message_headers_iter_init (&iter,
      soup_message_get_response_headers (msg));
  while (soup_message_headers_iter_next (&iter, &name, &value))
    r.all_headers += std::string (name) + ": " + value + "\n";
  g_object_unref (msg);
  g_object_unref (session);
  return r;
}

static Reply post (int port, const char *origin)
{
  return send (port, origin);
}

/* A raw connection that sends a request and does not wait for the reply. */
static GSocketConnection *send_raw (int port)
{
  GSocketClient *client = g_socket_client_new ();
  GSocketConnection *conn = g_socket_client_connect_to_host (client,
      "127.0.0.1", (guint16) port, nullptr, nullptr);
  g_object_unref (client);
  g_assert_nonnull (conn);
  const char *req = "POST /api/generate-client-secret HTTP/1.1\r\n"
                    "Host: 127.0.0.1\r\nContent-Length: 0\r\n\r\n";
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (conn));
  g_assert_true (g_output_stream_write_all (out, req, strlen (req), nullptr,
      nullptr, nullptr));
  return conn;
}

static bool wait_for (const std::function<bool ()> &done, unsigned ms)
{
  gint64 deadline = g_get_monotonic_time () + ms * 1000;
  while (!done () && g_get_monotonic_time () < deadline)
    g_usleep (5000);
  return done ();
}

static void test_endpoint_serves ()
{
  FakeService service;
  auto minter = minter_for (service);
  rt::SecretEndpoint endpoint (minter);
  std::string error;
  g_assert_cmpint (endpoint.port (), ==, 0);
  g_assert_true (endpoint.start ("127.0.0.1", 0, &error));
  int port = endpoint.port ();
  g_assert_cmpint (port, >, 0);
  endpoint.policy ().set_allowed_origins ("http://127.0.0.1:8080");
  endpoint.policy ().set_rate_limit (3);

  Reply r = post (port, "http://127.0.0.1:8080");
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_cmpstr (r.body.c_str (), ==,
      "{\"value\":\"ek_unit0123456789abcdef\",\"expires_at\":1800000000}");
  g_assert_nonnull (strstr (r.all_headers.c_str (),
      "Access-Control-Allow-Origin: http://127.0.0.1:8080"));
  g_assert_nonnull (strstr (r.all_headers.c_str (), "Cache-Control: no-store"));
  g_assert_cmpint (service.good_auth, ==, 1);
  {
    /* The project's name and meson's version of it. */
    std::lock_guard<std::mutex> hold (service.lock);
    g_assert_cmpstr (service.user_agent.c_str (), ==,
        "gst-openai-realtime/" PROJECT_VERSION);
  }

  /* A preflight, then the POST on the same connection, as browsers do. */
  SoupSession *session = soup_session_new ();
  r = send (port, "http://127.0.0.1:8080", "OPTIONS", session);
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_nonnull (strstr (r.all_headers.c_str (), "Content-Length: 0"));
  g_assert_nonnull (strstr (r.all_headers.c_str (),
      "Access-Control-Allow-Methods: POST, OPTIONS"));
  r = send (port, "http://127.0.0.1:8080", "POST", session);
  g_assert_cmpuint (r.status, ==, 200);
  g_object_unref (session);
  g_assert_cmpint (service.mints, ==, 2);

  r = post (port, "http://evil.example");
  g_assert_cmpuint (r.status, ==, 403);
  g_assert_null (
      strstr (r.all_headers.c_str (), "Access-Control-Allow-Origin"));
  g_assert_cmpint (service.mints, ==, 2);

  g_assert_cmpuint (post (port, nullptr).status, ==, 200);
  r = post (port, "http://127.0.0.1:8080");
  g_assert_cmpuint (r.status, ==, 429);
  g_assert_nonnull (strstr (r.all_headers.c_str (), "Retry-After: 20"));

  auto c = endpoint.counters ();
  g_assert_cmpuint (c.served, ==, 3);
  g_assert_cmpuint (c.refused_origin, ==, 1);
  g_assert_cmpuint (c.rate_limited, ==, 1);
  g_assert_cmpuint (minter->minted (), ==, 3);

  /* Stopped, the port is closed; started again, it serves again. */
  endpoint.stop ();
  g_assert_cmpint (endpoint.port (), ==, 0);
  g_assert_cmpuint (post (port, nullptr).status, !=, 200);
  endpoint.policy ().set_rate_limit (0);
  g_assert_true (endpoint.start ("127.0.0.1", 0, &error));
  g_assert_cmpuint (post (endpoint.port (), nullptr).status, ==, 200);
}

static void test_endpoint_service_down ()
{
  /* A refused connection: 502, and nothing of the service in the reply. */
  auto minter = std::make_shared<rt::SecretMinter> ();
  GSocketListener *probe = g_socket_listener_new ();
  guint16 closed_port = g_socket_listener_add_any_inet_port (probe, nullptr,
      nullptr);
  g_socket_listener_close (probe);
  g_object_unref (probe);
  minter->configure ([&] (rt::SecretMinter::Settings &s) {
    s.api_base = "http://127.0.0.1:" + std::to_string (closed_port);
    s.api_key = kKey;
  });
  rt::SecretEndpoint endpoint (minter);
  std::string error;
  g_assert_true (endpoint.start ("127.0.0.1", 0, &error));
  Reply r = post (endpoint.port (), nullptr);
  g_assert_cmpuint (r.status, ==, 502);
  g_assert_null (strstr (r.body.c_str (), "127.0.0.1"));
  g_assert_null (strstr (r.body.c_str (), kKey));
  g_assert_cmpuint (endpoint.counters ().served, ==, 0);
}

static void test_endpoint_bad_address ()
{
  FakeService service;
  rt::SecretEndpoint endpoint (minter_for (service));
  std::string error;
  g_assert_false (endpoint.start ("localhost", 0, &error));
  g_assert_nonnull (strstr (error.c_str (), "not an IP address"));
  g_assert_false (endpoint.start ("127.0.0.1", 70000, &error));
  /* A port in use. */
  g_assert_false (endpoint.start ("127.0.0.1", service.port, &error));
  g_assert_nonnull (strstr (error.c_str (), "cannot listen"));
  const std::string taken = "port " + std::to_string (service.port) +
      " is taken";
  g_assert_nonnull (strstr (error.c_str (), taken.c_str ()));
  g_assert_cmpint (endpoint.port (), ==, 0);
}

static void test_endpoint_stop_in_flight ()
{
  FakeService service;
  service.hang = true;
  rt::SecretEndpoint endpoint (minter_for (service));
  std::string error;
  g_assert_true (endpoint.start ("127.0.0.1", 0, &error));

  /* One client leaves while its secret is being minted, one stays. */
  GSocketConnection *leaving = send_raw (endpoint.port ());
  GSocketConnection *staying = send_raw (endpoint.port ());
  g_assert_true (wait_for ([&] { return service.mints == 2; }, 5000));
  g_io_stream_close (G_IO_STREAM (leaving), nullptr, nullptr);
  g_object_unref (leaving);

  /* Stopping does not wait for the service; the client's connection ends. */
  gint64 t0 = g_get_monotonic_time ();
  endpoint.stop ();
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 3 * G_USEC_PER_SEC);
  char buf[256];
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (staying));
  gssize n = g_input_stream_read (in, buf, sizeof buf, nullptr, nullptr);
  g_assert_cmpint (n, <=, 0);
  g_object_unref (staying);
  g_assert_cmpuint (endpoint.counters ().served, ==, 0);
}

int main (int argc, char **argv)
{
  /* No plugin is needed here, and loading the plugin (a registry scan in
   * this process) would bring a second copy of the engine's globals into a
   * process that links the engine itself. */
  g_setenv ("GST_REGISTRY_DISABLE", "yes", TRUE);
  gst_init (&argc, &argv);
  rt::init_debug ();
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/secret-endpoint/normalize", test_normalize);
  g_test_add_func ("/secret-endpoint/allow-list", test_allow_list);
  g_test_add_func ("/secret-endpoint/rate-limiter", test_rate_limiter);
  g_test_add_func ("/secret-endpoint/policy-origins", test_policy_origins);
  g_test_add_func ("/secret-endpoint/policy-preflight", test_policy_preflight);
  g_test_add_func ("/secret-endpoint/policy-rate-limit",
      test_policy_rate_limit);
  g_test_add_func ("/secret-endpoint/policy-routes", test_policy_routes);
  g_test_add_func ("/secret-endpoint/replies", test_replies);
  g_test_add_func ("/secret-endpoint/serves", test_endpoint_serves);
  g_test_add_func ("/secret-endpoint/service-down", test_endpoint_service_down);
  g_test_add_func ("/secret-endpoint/bad-address", test_endpoint_bad_address);
  g_test_add_func ("/secret-endpoint/stop-in-flight",
      test_endpoint_stop_in_flight);
  return g_test_run ();
}
