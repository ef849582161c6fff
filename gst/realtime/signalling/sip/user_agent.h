/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A SIP phone's line: one WebSocket to the registrar, the registration kept
 * up over it (refreshed before it runs out, made again after the connection
 * comes back with jittered backoff, removed on stop), and every request the
 * line is not ready for answered. Calls build on it. Runs on the owner's
 * worker. */
#pragma once

#include "core/worker.h"
#include "signalling/sip/registration.h"
#include "signalling/sip/transport.h"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace rt::sip {

struct UserAgentConfig {
  std::string registrar_url; /* ws:// or wss:// */
  /* PEM certificate authorities a wss:// server must chain to; empty: the
   * system's. */
  std::string ca_file;
  Identity identity;
  unsigned keepalive_s = 30;
  unsigned backoff_min_ms = 2000; /* after a lost connection, doubling */
  unsigned backoff_max_ms = 30000;
  unsigned transaction_timeout_ms = 32000; /* RFC 3261 timer F */
};

class UserAgent {
 public:
  struct Events {
    /* The line's registration changed; status and reason of the response
     * that changed it, or why the connection went. From a dispatch of its
     * own on the worker. */
    std::function<void (Registration::State, int status,
        const std::string &reason)>
        registration;
    /* A request the registration does not take (calls, OPTIONS...): true
     * when the handler took it (and answered it); otherwise the line
     * answers what it can. On the worker, in the connection's dispatch. */
    std::function<bool (const Message &)> request;
    /* A response to a request the line did not make. */
    std::function<void (const Message &)> response;
  };

  UserAgent (Worker &worker, UserAgentConfig config, Events events);
  ~UserAgent (); /* on the worker */

  UserAgent (const UserAgent &) = delete;
  UserAgent &operator= (const UserAgent &) = delete;

  void start ();
  /* Removes the registration (waiting at most timeout_ms for the
   * registrar's answer, on the worker's loop), then closes. */
  void stop (unsigned timeout_ms = 2000);

  Registration::State state () const { return registration_.state (); }
  const Identity &identity () const { return config_.identity; }
  /* Sends a message made elsewhere (a call's); false when the line is
   * down. */
  bool send_message (const Message &m) { return transport_->send (m); }
  /* The transport's counters, "registrations", "reconnects". Any
   * thread. */
  std::map<std::string, guint64> counters () const;

 private:
  void connected ();
  void lost (const std::string &why);
  void on_message (const Message &m);
  void apply (const Registration::Step &step);
  void report (Registration::State state, int status,
      const std::string &reason);
  void send (const Message &m);
  void answer_unhandled (const Message &request);
  void cancel (guint *timer);

  Worker &worker_;
  UserAgentConfig config_;
  Events events_;
  Registration registration_;
  std::unique_ptr<Transport> transport_;
  unsigned backoff_ms_;
  guint retry_timer_ = 0;
  guint refresh_timer_ = 0;
  guint transaction_timer_ = 0;
  bool stopping_ = false;
  bool given_up_ = false; /* the credentials were refused: no retry */
  /* Down when the agent goes: its events still queued are dropped. */
  std::shared_ptr<bool> alive_ = std::make_shared<bool> (true);
  std::atomic<guint64> registrations_ { 0 };
  std::atomic<guint64> reconnects_ { 0 };
};

}  // namespace rt::sip
