/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "openai/secret_endpoint.h"

#include "openai/credentials.h"
#include "core/http.h"
#include "core/http_server.h"
#include "core/json_util.h"
#include "core/redact.h"
#include "core/worker.h"

#include <gst/gst.h>
#include <libsoup/soup.h>

#include <algorithm>
#include <cmath>

GST_DEBUG_CATEGORY_STATIC (rt_endpoint_debug);
#define GST_CAT_DEFAULT rt_endpoint_debug

namespace rt {
namespace {

std::string trim (const std::string &s)
{
  const char *blank = " \t\r\n";
  auto start = s.find_first_not_of (blank);
  if (start == std::string::npos)
    return "";
  return s.substr (start, s.find_last_not_of (blank) - start + 1);
}

std::string lower (std::string s)
{
  for (char &c : s)
    c = g_ascii_tolower (c);
  return s;
}

/* Origin text from an untrusted client, fit for one log line. */
std::string loggable (const std::string &text)
{
  std::string out;
  for (char c : text.substr (0, 120))
    out += g_ascii_isprint (c) ? c : '?';
  return text.size () > 120 ? out + "…" : out;
}

std::string error_json (const char *code, const char *message)
{
  JsonBuilder *b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "error");
  json_builder_begin_object (b);
  json::set_string (b, "message", message);
  json::set_string (b, "code", code);
  json_builder_end_object (b);
  json_builder_end_object (b);
  return json::finish (b);
}

/* Every reply of the endpoint depends on the Origin and must not be cached
 * or sniffed: a secret is for one page, once. */
void add_common_headers (HttpHeaders &h)
{
  h.emplace_back ("Vary", "Origin");
  h.emplace_back ("Cache-Control", "no-store");
  h.emplace_back ("X-Content-Type-Options", "nosniff");
}

EndpointReply error_reply (EndpointOutcome outcome, unsigned status,
    const char *code, const char *message)
{
  EndpointReply r;
  r.outcome = outcome;
  r.status = status;
  add_common_headers (r.headers);
  r.content_type = "application/json";
  r.body = error_json (code, message);
  return r;
}

}  // namespace

/* ---- OriginAllowList ---- */

std::string OriginAllowList::normalize (const std::string &text)
{
  std::string s = trim (text);
  auto sep = s.find ("://");
  if (sep == std::string::npos || sep == 0)
    return "";
  std::string scheme = lower (s.substr (0, sep));
  if (!g_ascii_isalpha (scheme[0]))
    return "";
  for (char c : scheme)
    if (!g_ascii_isalnum (c) && c != '+' && c != '-' && c != '.')
      return "";
  std::string rest = s.substr (sep + 3);
  if (!rest.empty () && rest.back () == '/')
    rest.pop_back ();
  /* No path, query, fragment or user: an origin is scheme, host and port. */
  if (rest.empty () || rest.find_first_of ("/?#@ \t\\") != std::string::npos)
    return "";
  std::string host, port;
  if (rest[0] == '[') {
    auto close = rest.find (']');
    if (close == std::string::npos)
      return "";
    host = rest.substr (0, close + 1);
    std::string after = rest.substr (close + 1);
    if (!after.empty ()) {
      if (after[0] != ':')
        return "";
      port = after.substr (1);
    }
  } else {
    auto colon = rest.find (':');
    host = rest.substr (0, colon);
    if (colon != std::string::npos)
      port = rest.substr (colon + 1);
  }
  if (host.empty () || host == "[]")
    return "";
  host = lower (host);
  if (!port.empty () || rest.back () == ':') {
    if (port.empty () || port.size () > 5 ||
        !std::all_of (port.begin (), port.end (),
            [] (char c) { return g_ascii_isdigit (c); }))
      return "";
    unsigned n = (unsigned) std::stoul (port);
    if (n == 0 || n > 65535)
      return "";
    port = std::to_string (n);
    if ((scheme == "http" && n == 80) || (scheme == "https" && n == 443))
      port.clear ();
  }
  return scheme + "://" + host + (port.empty () ? "" : ":" + port);
}

OriginAllowList::OriginAllowList (const std::string &list)
{
  std::string::size_type start = 0;
  while (start <= list.size ()) {
    auto comma = list.find (',', start);
    if (comma == std::string::npos)
      comma = list.size ();
    std::string entry = trim (list.substr (start, comma - start));
    start = comma + 1;
    if (entry.empty ())
      continue;
    if (entry == "*") {
      any_ = true;
      continue;
    }
    std::string origin = normalize (entry);
    if (origin.empty ())
      rejected_.push_back (entry);
    else if (std::find (origins_.begin (), origins_.end (), origin) ==
        origins_.end ())
      origins_.push_back (origin);
  }
}

bool OriginAllowList::allows (const std::string &origin) const
{
  std::string o = normalize (origin);
  if (o.empty ())
    return false;
  return any_ ||
      std::find (origins_.begin (), origins_.end (), o) != origins_.end ();
}

/* ---- RateLimiter ---- */

void RateLimiter::set_rate (unsigned per_minute)
{
  per_minute_ = per_minute;
  /* A smaller burst applies at once to what clients have saved up. */
  for (auto &kv : buckets_)
    kv.second.tokens = std::min (kv.second.tokens, (double) per_minute);
}

double RateLimiter::refill (Bucket &bucket, std::int64_t now_us) const
{
  if (now_us > bucket.updated_us) {
    double gained = (double) (now_us - bucket.updated_us) * per_minute_ / 60e6;
    bucket.tokens = std::min ((double) per_minute_, bucket.tokens + gained);
    bucket.updated_us = now_us;
  }
  return bucket.tokens;
}

void RateLimiter::forget_full (std::int64_t now_us)
{
  for (auto it = buckets_.begin (); it != buckets_.end ();) {
    if (refill (it->second, now_us) >= per_minute_)
      it = buckets_.erase (it);
    else
      ++it;
  }
}

bool RateLimiter::take (const std::string &client, std::int64_t now_us,
    unsigned *retry_after_s)
{
  if (per_minute_ == 0)
    return true;
  auto it = buckets_.find (client);
  if (it == buckets_.end ()) {
    if (buckets_.size () >= kMaxClients)
      forget_full (now_us);
    it = buckets_.emplace (client, Bucket { (double) per_minute_, now_us })
             .first;
  }
  Bucket &bucket = it->second;
  if (refill (bucket, now_us) >= 1.0) {
    bucket.tokens -= 1.0;
    return true;
  }
  if (retry_after_s) {
    double wait_s = (1.0 - bucket.tokens) * 60.0 / per_minute_;
    *retry_after_s = std::max (1u, (unsigned) std::ceil (wait_s));
  }
  return false;
}

/* ---- SecretPolicy ---- */

HttpHeaders cors_headers (const std::string &origin, bool preflight,
    bool private_network)
{
  HttpHeaders h;
  h.emplace_back ("Access-Control-Allow-Origin", origin);
  if (preflight) {
    h.emplace_back ("Access-Control-Allow-Methods", "POST, OPTIONS");
    h.emplace_back ("Access-Control-Allow-Headers", "Content-Type");
    h.emplace_back ("Access-Control-Max-Age",
        std::to_string (SecretPolicy::kPreflightMaxAge));
    /* Chromium asks before a public page may reach a loopback or private
     * address; an allowed origin is allowed that too. */
    if (private_network)
      h.emplace_back ("Access-Control-Allow-Private-Network", "true");
  } else {
    /* A 429's Retry-After is not among the headers a page may read. */
    h.emplace_back ("Access-Control-Expose-Headers", "Retry-After");
  }
  return h;
}

void SecretPolicy::set_allowed_origins (const std::string &list)
{
  OriginAllowList parsed (list);
  std::lock_guard<std::mutex> lock (lock_);
  origins_text_ = list;
  origins_ = std::move (parsed);
}

std::string SecretPolicy::allowed_origins () const
{
  std::lock_guard<std::mutex> lock (lock_);
  return origins_text_;
}

std::vector<std::string> SecretPolicy::rejected_origins () const
{
  std::lock_guard<std::mutex> lock (lock_);
  return origins_.rejected ();
}

void SecretPolicy::set_rate_limit (unsigned per_minute)
{
  std::lock_guard<std::mutex> lock (lock_);
  limiter_.set_rate (per_minute);
}

unsigned SecretPolicy::rate_limit () const
{
  std::lock_guard<std::mutex> lock (lock_);
  return limiter_.rate ();
}

EndpointReply SecretPolicy::decide (const EndpointRequest &req)
{
  if (req.path != kPath)
    return error_reply (EndpointOutcome::NotFound, 404, "not_found",
        "Not found: secrets are at /api/generate-client-secret.");
  const bool preflight = req.method == "OPTIONS";
  if (!preflight && req.method != "POST") {
    EndpointReply r = error_reply (EndpointOutcome::MethodNotAllowed, 405,
        "method_not_allowed", "Use POST.");
    r.headers.emplace_back ("Allow", "POST, OPTIONS");
    return r;
  }
  std::lock_guard<std::mutex> lock (lock_);
  if (req.origin && !origins_.allows (*req.origin))
    return error_reply (EndpointOutcome::RefusedOrigin, 403,
        "origin_not_allowed",
        "This origin may not ask for client secrets (see the provider's "
        "allowed-origins).");
  if (preflight) {
    EndpointReply r;
    r.outcome = EndpointOutcome::Preflight;
    /* 200 with an empty body rather than 204: libsoup 3.2 ends the
     * connection after a 204 without saying so, and a client that reuses
     * it for the POST that follows gets a reset. */
    r.status = 200;
    if (req.origin)
      r.headers = cors_headers (*req.origin, true, req.private_network);
    else
      r.headers.emplace_back ("Allow", "POST, OPTIONS");
    add_common_headers (r.headers);
    return r;
  }
  unsigned retry_after = 0;
  if (!limiter_.take (req.client, req.now_us, &retry_after)) {
    EndpointReply r = error_reply (EndpointOutcome::RateLimited, 429,
        "rate_limited",
        "Too many client secrets asked for: wait and try again.");
    r.headers.emplace_back ("Retry-After", std::to_string (retry_after));
    if (req.origin) {
      HttpHeaders cors = cors_headers (*req.origin, false, false);
      r.headers.insert (r.headers.begin (), cors.begin (), cors.end ());
    }
    return r;
  }
  EndpointReply r;
  r.outcome = EndpointOutcome::Mint;
  r.status = 200;
  if (req.origin)
    r.headers = cors_headers (*req.origin, false, false);
  add_common_headers (r.headers);
  return r;
}

EndpointReply SecretPolicy::minted (const EndpointReply &decision,
    const std::string &value, std::int64_t expires_at)
{
  EndpointReply r = decision;
  r.status = 200;
  r.content_type = "application/json";
  JsonBuilder *b = json_builder_new ();
  json_builder_begin_object (b);
  json::set_string (b, "value", value);
  json_builder_set_member_name (b, "expires_at");
  json_builder_add_int_value (b, expires_at);
  json_builder_end_object (b);
  r.body = json::finish (b);
  return r;
}

EndpointReply SecretPolicy::mint_failed (const EndpointReply &decision,
    int retry_after_s)
{
  EndpointReply r = decision;
  r.content_type = "application/json";
  if (retry_after_s >= 0) {
    r.status = 503;
    r.headers.emplace_back ("Retry-After",
        std::to_string (std::max (1, retry_after_s)));
    r.body = error_json ("service_unavailable",
        "The realtime service cannot mint a secret now: try again later.");
  } else {
    r.status = 502;
    r.body = error_json ("upstream_error",
        "The realtime service did not mint a secret.");
  }
  return r;
}

/* ---- SecretEndpoint ---- */

/* Lives on the endpoint's worker thread: the SoupServer and the HTTP client
 * belong to its context. */
struct SecretEndpoint::Server {
  SecretEndpoint &owner;
  Worker worker { "rt-secrets" };
  std::unique_ptr<HttpServer> http_server;
  std::unique_ptr<HttpClient> http;
  bool stopping = false; /* mints cancelled by stop() answer no one */

  explicit Server (SecretEndpoint &o) : owner (o) {}

  static void on_request (SoupServer *, SoupServerMessage *msg,
      const char *path, GHashTable *, gpointer data)
  {
    static_cast<Server *> (data)->handle (msg, path);
  }

  void handle (SoupServerMessage *msg, const char *path);
};

namespace {

/* A request waiting for its secret. The client may go away meanwhile, and
 * the endpoint may stop: its message is then left alone. */
struct PendingMint : HeldMessage {
  PendingMint (SoupServerMessage *message, EndpointReply d, std::string who)
      : HeldMessage (message), decision (std::move (d)),
        client (std::move (who))
  {
  }

  EndpointReply decision;
  std::string client;
};

void send_reply (SoupServerMessage *msg, const EndpointReply &r)
{
  soup_server_message_set_status (msg, r.status,
      r.status == 429 ? "Too Many Requests" : nullptr);
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);
  for (const auto &kv : r.headers)
    soup_message_headers_replace (h, kv.first.c_str (), kv.second.c_str ());
  if (!r.content_type.empty ())
    soup_server_message_set_response (msg, r.content_type.c_str (),
        SOUP_MEMORY_COPY, r.body.data (), r.body.size ());
}

const char *outcome_name (EndpointOutcome o)
{
  switch (o) {
    case EndpointOutcome::Mint: return "minting";
    case EndpointOutcome::Preflight: return "preflight";
    case EndpointOutcome::RefusedOrigin: return "origin refused";
    case EndpointOutcome::RateLimited: return "rate limited";
    case EndpointOutcome::MethodNotAllowed: return "method not allowed";
    case EndpointOutcome::NotFound: return "not found";
  }
  return "?";
}

}  // namespace

void SecretEndpoint::Server::handle (SoupServerMessage *msg, const char *path)
{
  SoupMessageHeaders *in = soup_server_message_get_request_headers (msg);
  EndpointRequest req;
  req.method = soup_server_message_get_method (msg);
  req.path = path ? path : "";
  if (const char *origin = soup_message_headers_get_one (in, "Origin"))
    req.origin = origin;
  const char *pna = soup_message_headers_get_one (in,
      "Access-Control-Request-Private-Network");
  req.private_network = pna && g_ascii_strcasecmp (pna, "true") == 0;
  const char *host = soup_server_message_get_remote_host (msg);
  req.client = host ? host : "";
  req.now_us = g_get_monotonic_time ();

  EndpointReply decision = owner.policy_.decide (req);
  const std::string origin = req.origin ? loggable (*req.origin) : "(none)";
  switch (decision.outcome) {
    case EndpointOutcome::RefusedOrigin: owner.refused_origin_++; break;
    case EndpointOutcome::RateLimited: owner.rate_limited_++; break;
    default: break;
  }
  if (decision.outcome != EndpointOutcome::Mint) {
    if (decision.outcome == EndpointOutcome::RefusedOrigin)
      GST_WARNING ("%s %s from %s, Origin %s: %s", req.method.c_str (),
          loggable (req.path).c_str (), req.client.c_str (), origin.c_str (),
          outcome_name (decision.outcome));
    else
      GST_INFO ("%s %s from %s, Origin %s: %u (%s)", req.method.c_str (),
          loggable (req.path).c_str (), req.client.c_str (), origin.c_str (),
          decision.status, outcome_name (decision.outcome));
    send_reply (msg, decision);
    return;
  }

  GST_DEBUG ("a client secret for %s, Origin %s", req.client.c_str (),
      origin.c_str ());
  auto pending = std::make_shared<PendingMint> (msg, std::move (decision),
      req.client);
  SecretEndpoint *endpoint = &owner;
  Server *server = this;
  owner.minter_->fetch (*http,
      [endpoint, server, pending] (CredentialsResult r) {
        if (server->stopping)
          return;
        if (pending->gone ()) {
          GST_INFO ("%s went away before its secret was minted",
              pending->client.c_str ());
          return;
        }
        EndpointReply reply;
        if (r.ok) {
          reply = SecretPolicy::minted (pending->decision, r.credentials.secret,
              r.credentials.expires_at);
          endpoint->served_++;
          GST_INFO ("served %s to %s",
              describe_secret (r.credentials.secret).c_str (),
              pending->client.c_str ());
        } else {
          reply = SecretPolicy::mint_failed (pending->decision,
              r.error.http_status > 0 ? r.error.retry_after_s : -1);
          /* The service's words, for the application's log; redacted like
       * every line, and never sent to the page. */
          GST_WARNING ("no secret for %s: %s", pending->client.c_str (),
              redact (r.error.describe ()).c_str ());
        }
        send_reply (pending->msg, reply);
        soup_server_message_unpause (pending->msg);
      });
}

SecretEndpoint::SecretEndpoint (std::shared_ptr<SecretMinter> minter)
    : minter_ (std::move (minter))
{
  static std::once_flag once;
  std::call_once (once, [] {
    GST_DEBUG_CATEGORY_INIT (rt_endpoint_debug, "realtimesecretendpoint", 0,
        "Client secrets served to web pages over HTTP");
  });
}

SecretEndpoint::~SecretEndpoint ()
{
  stop ();
}

bool SecretEndpoint::start (const std::string &address, int port,
    std::string *error)
{
  stop ();
  auto server = std::make_unique<Server> (*this);
  bool ok = false;
  /* The server's sources go to the context that is the thread default
   * when it starts listening: the worker's. */
  server->worker.run_sync ([&] {
    HttpServerConfig config;
    config.address = address;
    config.port = port;
    config.server_header = "gst-openai-realtime";
    server->http_server = std::make_unique<HttpServer> (config, error);
    if (server->http_server->soup ()) {
      soup_server_add_handler (server->http_server->soup (), nullptr,
          Server::on_request, server.get (), nullptr);
      server->http = std::make_unique<HttpClient> (server->worker, 10);
      ok = server->http_server->listen (error);
    }
    if (!ok) {
      server->http.reset ();
      server->http_server.reset ();
    }
  });
  if (!ok)
    return false;
  const int bound = server->http_server->port ();
  server_ = std::move (server);
  port_ = bound;
  GST_INFO ("serving client secrets on http://%s:%d%s", address.c_str (), bound,
      SecretPolicy::kPath);
  return true;
}

void SecretEndpoint::stop ()
{
  if (!server_)
    return;
  Server *server = server_.get ();
  server->worker.run_sync ([server] {
    /* Connections first: a mint still running then finds its client gone. */
    server->stopping = true;
    server->http_server->disconnect ();
    server->http.reset ();
    server->http_server.reset ();
  });
  server_.reset ();
  port_ = 0;
  GST_INFO ("stopped serving client secrets");
}

SecretEndpoint::Counters SecretEndpoint::counters () const
{
  Counters c;
  c.served = served_.load ();
  c.refused_origin = refused_origin_.load ();
  c.rate_limited = rate_limited_.load ();
  return c;
}

}  // namespace rt
