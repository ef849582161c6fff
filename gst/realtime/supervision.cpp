/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "supervision.h"

#include <glib.h>

#include <algorithm>
#include <cmath>

namespace rt {

const char *connection_state_name (ConnectionState state)
{
  switch (state) {
    case ConnectionState::Idle: return "idle";
    case ConnectionState::Connecting: return "connecting";
    case ConnectionState::Connected: return "connected";
    case ConnectionState::Reconnecting: return "reconnecting";
    case ConnectionState::Failed: return "failed";
    case ConnectionState::Closed: return "closed";
  }
  return "unknown";
}

const char *fault_category (FaultKind kind)
{
  switch (kind) {
    case FaultKind::IceFailed: return "ice-failed";
    case FaultKind::IceDisconnected: return "ice-disconnected";
    case FaultKind::Dtls: return "dtls";
    case FaultKind::ChannelClosed: return "channel-closed";
    case FaultKind::PeerFailed: return "peer-failed";
    case FaultKind::MediaTimeout: return "media-timeout";
    case FaultKind::ConnectTimeout: return "connect-timeout";
    case FaultKind::Network: return "network";
    case FaultKind::ServerError: return "server-error";
    case FaultKind::RateLimited: return "rate-limited";
    case FaultKind::BadAnswer: return "bad-answer";
    case FaultKind::SessionExpired: return "session-expired";
    case FaultKind::Pipeline: return "pipeline";
    case FaultKind::Unauthorized: return "unauthorized";
    case FaultKind::BadRequest: return "bad-request";
    case FaultKind::QuotaExceeded: return "quota-exceeded";
    case FaultKind::Tls: return "tls";
    case FaultKind::Unsupported: return "unsupported";
  }
  return "unknown";
}

bool fault_is_fatal (FaultKind kind)
{
  switch (kind) {
    case FaultKind::Unauthorized:
    case FaultKind::BadRequest:
    case FaultKind::QuotaExceeded:
    case FaultKind::Tls:
    case FaultKind::Unsupported: return true;
    default: return false;
  }
}

Fault classify_http_failure (const ServiceError &error)
{
  Fault f;
  f.error = error;
  const int s = error.http_status;
  /* The code outranks the status: quota and key problems never heal by
   * retrying, whatever status carries them. */
  if (error.code == "insufficient_quota")
    f.kind = FaultKind::QuotaExceeded;
  else if (error.code == "invalid_api_key" || error.code == "missing_api_key" ||
      s == 401 || s == 403)
    f.kind = FaultKind::Unauthorized;
  else if (error.tls_failure)
    f.kind = FaultKind::Tls;
  else if (s == 0)
    f.kind = FaultKind::Network;
  else if (s == 429)
    f.kind = FaultKind::RateLimited;
  else if (s >= 500 || s == 408)
    f.kind = FaultKind::ServerError;
  else if (s >= 400)
    f.kind = FaultKind::BadRequest;
  else
    f.kind = FaultKind::BadAnswer; /* a 2xx or 3xx that was not an answer */
  return f;
}

int parse_retry_after (const std::string &value)
{
  std::string v = value;
  v.erase (0, v.find_first_not_of (" \t"));
  v.erase (v.find_last_not_of (" \t") + 1);
  if (v.empty () || v.size () > 9 ||
      !std::all_of (v.begin (), v.end (),
          [] (char c) { return c >= '0' && c <= '9'; }))
    return -1; /* an HTTP-date, or nonsense: the backoff alone decides */
  return std::stoi (v);
}

Transition Supervisor::make (ConnectionState s, std::string reason,
    std::string category)
{
  state_ = s;
  Transition t;
  t.state = s;
  t.attempt = attempt_;
  t.reason = std::move (reason);
  t.category = std::move (category);
  return t;
}

Transition Supervisor::start ()
{
  attempt_ = 1;
  failures_ = 0;
  return make (ConnectionState::Connecting);
}

Transition Supervisor::retrying ()
{
  attempt_++;
  reconnects_++;
  return make (ConnectionState::Reconnecting);
}

Transition Supervisor::connected ()
{
  return make (ConnectionState::Connected);
}

void Supervisor::stable ()
{
  failures_ = 0;
}

unsigned Supervisor::backoff_ms (unsigned reconnection, double uniform01) const
{
  if (reconnection == 0)
    return 0;
  /* initial * 2^(n-1), saturating at the cap without overflowing. */
  double ceiling = policy_.initial_delay_ms *
      std::pow (2.0, std::min (reconnection - 1, 40u));
  ceiling = std::min (ceiling, (double) policy_.max_delay_ms);
  double u = std::clamp (uniform01, 0.0, 1.0);
  return (unsigned) std::min (ceiling, std::floor (u * ceiling));
}

Decision Supervisor::fault (const Fault &fault, double uniform01)
{
  Decision d;
  if (state_ == ConnectionState::Idle || state_ == ConnectionState::Failed ||
      state_ == ConnectionState::Closed) {
    d.transition.state = state_;
    d.transition.attempt = attempt_;
    return d;
  }
  const std::string category = fault_category (fault.kind);
  std::string reason = fault.error.describe ();
  if (fault_is_fatal (fault.kind)) {
    d.transition = make (ConnectionState::Failed, reason, category);
    return d;
  }
  failures_++;
  if (failures_ > policy_.max_attempts) {
    std::string why = policy_.max_attempts == 0 ?
        "reconnection is off; " + reason :
        "gave up after " + std::to_string (policy_.max_attempts) +
            " reconnection attempts; last: " + reason;
    d.transition = make (ConnectionState::Failed, why, category);
    return d;
  }
  d.retry = true;
  /* The service ends every call after 60 minutes: that is expected and is
   * answered at once. */
  d.delay_ms = fault.kind == FaultKind::SessionExpired ?
      0 :
      backoff_ms (failures_, uniform01);
  if (fault.error.retry_after_s >= 0)
    d.delay_ms = std::max<unsigned> (d.delay_ms,
        (unsigned) std::min (fault.error.retry_after_s, 3600) * 1000u);
  d.transition = make (ConnectionState::Reconnecting, reason, category);
  d.transition.attempt = attempt_ + 1;
  return d;
}

Transition Supervisor::close ()
{
  return make (ConnectionState::Closed);
}

}  // namespace rt
