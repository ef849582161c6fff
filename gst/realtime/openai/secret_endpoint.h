/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fresh client secrets over HTTP, for web pages.
 *
 * A page that talks to the realtime service itself (WebRTC from the
 * browser) needs an ek_ secret for every call attempt, and must never see
 * the permanent key. SecretEndpoint serves POST /api/generate-client-secret:
 * each request mints a fresh secret through the provider's SecretMinter
 * (the same key, base and session settings its calls use) and answers
 * {"value":"ek_...","expires_at":N}.
 *
 * Who may ask is decided by SecretPolicy, which is pure (no network, no
 * clock of its own) so that it is tested alone: the Origin allow-list and
 * the CORS headers that go with it, and a token bucket per client address.
 * SecretEndpoint is the network around it: a SoupServer on a thread of its
 * own, so that it never depends on the application's main loop. */
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace rt {

class SecretMinter;

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

/* Web origins allowed to ask for secrets: a comma-separated list of
 * scheme://host[:port] (blanks around entries ignored), or "*" for any
 * origin. Comparison is on the normalised form (see normalize). */
class OriginAllowList {
 public:
  OriginAllowList () = default;
  explicit OriginAllowList (const std::string &list);

  bool allows (const std::string &origin) const;
  bool any () const { return any_; }
  bool empty () const { return !any_ && origins_.empty (); }
  /* Entries that are not origins (a path, a query, no scheme, "null"):
   * ignored, reported so that the element can warn. */
  const std::vector<std::string> &rejected () const { return rejected_; }

  /* "HTTP://Example.COM:80" → "http://example.com": scheme and host in
   * lower case, the scheme's default port (http 80, https 443) left out, a
   * single trailing "/" tolerated. "" when the text is not an origin
   * (including the opaque origin "null", which any sandboxed page or local
   * file sends and which therefore proves nothing). */
  static std::string normalize (const std::string &origin);

 private:
  std::vector<std::string> origins_;
  std::vector<std::string> rejected_;
  bool any_ = false;
};

/* A token bucket per client: `per_minute` secrets in a burst, refilled at
 * `per_minute` a minute. 0 means no limit. Not thread-safe (SecretPolicy
 * guards it). Buckets that are full again are forgotten once more than
 * kMaxClients are held, so memory stays bounded. */
class RateLimiter {
 public:
  static constexpr std::size_t kMaxClients = 1024;

  explicit RateLimiter (unsigned per_minute = 0) : per_minute_ (per_minute) {}
  void set_rate (unsigned per_minute);
  unsigned rate () const { return per_minute_; }

  /* Takes one token for client at now_us (a monotonic clock). True when it
   * may go ahead; otherwise false and *retry_after_s (at least 1) says when
   * the next token will be there. */
  bool take (const std::string &client, std::int64_t now_us,
      unsigned *retry_after_s);

  std::size_t clients () const { return buckets_.size (); }

 private:
  struct Bucket {
    double tokens;
    std::int64_t updated_us;
  };
  double refill (Bucket &bucket, std::int64_t now_us) const;
  void forget_full (std::int64_t now_us);

  unsigned per_minute_;
  std::unordered_map<std::string, Bucket> buckets_;
};

/* One request as far as the decision goes. */
struct EndpointRequest {
  std::string method;
  std::string path;
  std::optional<std::string> origin; /* the Origin header, if sent */
  std::string client;                /* the peer's address */
  bool private_network =
      false;               /* Access-Control-Request-Private-Network: true */
  std::int64_t now_us = 0; /* monotonic */
};

enum class EndpointOutcome {
  Mint,          /* go ahead: mint, then reply with minted() or mint_failed() */
  Preflight,     /* a CORS preflight from an allowed origin: answered */
  RefusedOrigin, /* 403, no CORS headers */
  RateLimited,   /* 429 with Retry-After */
  MethodNotAllowed, /* 405 */
  NotFound,         /* 404 */
};

struct EndpointReply {
  EndpointOutcome outcome = EndpointOutcome::NotFound;
  unsigned status = 404;
  HttpHeaders headers;
  std::string content_type; /* empty: no body */
  std::string body;
};

/* The decisions of the endpoint. Thread-safe: the element changes the
 * settings while the endpoint's thread decides. */
class SecretPolicy {
 public:
  static constexpr const char *kPath = "/api/generate-client-secret";
  static constexpr unsigned kDefaultRateLimit = 10;
  /* How long a browser may keep a preflight's answer. */
  static constexpr unsigned kPreflightMaxAge = 600;

  void set_allowed_origins (const std::string &list);
  std::string allowed_origins () const;
  /* The entries of the current list that are not origins. */
  std::vector<std::string> rejected_origins () const;
  void set_rate_limit (unsigned per_minute);
  unsigned rate_limit () const;

  /* What to answer. Requests without an Origin (curl, a server) are not
   * browsers' and are served like an allowed origin's, without CORS
   * headers: an Origin check cannot stop a client that is free to forge
   * one; the rate limit and the listening address do. Only a POST that
   * is let through takes a token. */
  EndpointReply decide (const EndpointRequest &request);

  /* The reply to a Mint decision, once the secret is there or not. */
  static EndpointReply minted (const EndpointReply &decision,
      const std::string &value, std::int64_t expires_at);
  /* The service refused or could not be reached: 502, or 503 with its
   * Retry-After when it gave one. The service's words stay in the log: a
   * page learns nothing about the upstream. */
  static EndpointReply mint_failed (const EndpointReply &decision,
      int retry_after_s);

 private:
  mutable std::mutex lock_;
  std::string origins_text_;
  OriginAllowList origins_;
  RateLimiter limiter_ { kDefaultRateLimit };
};

/* The CORS headers for a reply to an allowed origin. */
HttpHeaders cors_headers (const std::string &origin, bool preflight,
    bool private_network);

/* The HTTP server. start() and stop() from any thread but the endpoint's;
 * the rest from anywhere. */
class SecretEndpoint {
 public:
  struct Counters {
    unsigned served = 0;
    unsigned refused_origin = 0;
    unsigned rate_limited = 0;
  };

  explicit SecretEndpoint (std::shared_ptr<SecretMinter> minter);
  ~SecretEndpoint (); /* stops */

  SecretEndpoint (const SecretEndpoint &) = delete;
  SecretEndpoint &operator= (const SecretEndpoint &) = delete;

  /* Listens on address (an IP literal) and port (0: any free one). False,
   * with *error in words, when it cannot. */
  bool start (const std::string &address, int port, std::string *error);
  /* Closes the port and every connection; secrets being minted are
   * dropped. Idempotent. */
  void stop ();
  /* The port listened on, 0 when not listening. */
  int port () const { return port_.load (); }

  SecretPolicy &policy () { return policy_; }
  Counters counters () const;

 private:
  struct Server;
  std::shared_ptr<SecretMinter> minter_;
  SecretPolicy policy_;
  std::unique_ptr<Server> server_;
  std::atomic<int> port_ { 0 };
  std::atomic<unsigned> served_ { 0 };
  std::atomic<unsigned> refused_origin_ { 0 };
  std::atomic<unsigned> rate_limited_ { 0 };
};

}  // namespace rt
