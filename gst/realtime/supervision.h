/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* How a call survives faults, as pure logic: which faults end it for good,
 * how long to wait before the next attempt, and the connection states an
 * application sees. No GStreamer, no clock, no randomness of its own (the
 * caller passes a uniform number), so every rule is unit-tested alone. */
#pragma once

#include "openai/protocol.h"

#include <optional>
#include <string>

namespace rt {

enum class ConnectionState {
  Idle,         /* not started */
  Connecting,   /* the first attempt is under way */
  Connected,    /* the events channel is open */
  Reconnecting, /* a fault ended an attempt; waiting or trying again */
  Failed,       /* ended for good (fatal fault or attempts exhausted) */
  Closed,       /* ended by the application */
};
const char *connection_state_name (ConnectionState state);

enum class FaultKind {
  IceFailed,       /* ICE reported failure */
  IceDisconnected, /* ICE disconnected for longer than the grace period */
  Dtls,            /* a DTLS error on the transport */
  ChannelClosed,   /* the events channel closed: the far end hung up */
  PeerFailed,      /* the peer connection reported failure */
  MediaTimeout,    /* no RTP from the far end for media-timeout */
  ConnectTimeout,  /* an attempt not connected within connect-timeout */
  Network,         /* no HTTP answer: refused, unreachable, timed out */
  ServerError,     /* HTTP 5xx, 408 */
  RateLimited,     /* HTTP 429 other than insufficient_quota */
  BadAnswer,       /* a 2xx reply that is not a usable SDP answer */
  SessionExpired,  /* `error` event session_expired: the 60-minute limit */
  Pipeline,        /* an error inside the call's own pipeline */
  Unauthorized,    /* 401, 403, invalid_api_key: fatal */
  BadRequest,      /* 400 and other 4xx: the configuration is wrong; fatal */
  QuotaExceeded,   /* insufficient_quota: fatal */
  Tls,             /* no TLS session with the service (certificate): fatal */
  Unsupported,     /* this machine cannot make calls (missing element); fatal */
};

/* A short stable name for messages and statistics, e.g. "media-timeout". */
const char *fault_category (FaultKind kind);
bool fault_is_fatal (FaultKind kind);

struct Fault {
  FaultKind kind = FaultKind::Pipeline;
  ServiceError error; /* what to tell the user; message always set */
};

/* Classifies a failed HTTP exchange (minting or the call POST). */
Fault classify_http_failure (const ServiceError &error);

/* Retry-After in delta-seconds; -1 when absent or in another form. */
int parse_retry_after (const std::string &value);

struct ReconnectPolicy {
  unsigned initial_delay_ms = 500;
  unsigned max_delay_ms = 30000;
  unsigned max_attempts = 10;       /* reconnection attempts; 0: never */
  unsigned stable_after_ms = 10000; /* connected this long resets the backoff */
};

/* One step of the supervisor, for the application: the new state, the
 * attempt it concerns (1 is the first call), and for faults why. */
struct Transition {
  ConnectionState state = ConnectionState::Idle;
  unsigned attempt = 0;
  std::string reason;
  std::string category; /* fault_category(), empty when no fault */
};

/* What to do about a fault. */
struct Decision {
  bool retry = false;    /* else the call has failed for good */
  unsigned delay_ms = 0; /* before the next attempt */
  Transition transition; /* to announce now */
};

/* The connection state machine with exponential backoff and full jitter:
 * the n-th reconnection waits uniform(0, min(max_delay, initial * 2^(n-1))),
 * and never less than a Retry-After the service gave. */
class Supervisor {
 public:
  explicit Supervisor (ReconnectPolicy policy = {}) : policy_ (policy) {}

  ConnectionState state () const { return state_; }
  unsigned attempt () const { return attempt_; }
  unsigned reconnects () const { return reconnects_; }

  Transition start ();
  /* A new attempt is starting after a decision's delay. */
  Transition retrying ();
  Transition connected ();
  /* The call stayed connected for stable_after_ms: backoff starts over. */
  void stable ();
  /* uniform01: a number in [0, 1) for the jitter. */
  Decision fault (const Fault &fault, double uniform01);
  Transition close ();

  /* The delay for the given reconnection (1-based), before Retry-After. */
  unsigned backoff_ms (unsigned reconnection, double uniform01) const;

 private:
  Transition make (ConnectionState s, std::string reason = {},
      std::string category = {});

  ReconnectPolicy policy_;
  ConnectionState state_ = ConnectionState::Idle;
  unsigned attempt_ = 0;    /* attempts made in all */
  unsigned failures_ = 0;   /* consecutive, since the last stable call */
  unsigned reconnects_ = 0; /* reconnections started in all */
};

}  // namespace rt
