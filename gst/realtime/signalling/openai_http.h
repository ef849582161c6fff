/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The OpenAI Realtime (GA) WebRTC signalling: one POST of the SDP offer to
 * {api-base}/v1/realtime/calls with an ephemeral secret; 201 Created with the
 * SDP answer and the call id in Location; POST .../calls/{id}/hangup to end.
 *
 * Each session gets a fresh secret from the CredentialSource, minted while
 * the offer is made. HTTP failures become classified faults
 * (session_ended), so that a call never sees HTTP. The requests run on
 * the process's HTTP worker (shared_http_worker()); what they answer comes
 * back to the signaller's worker. */
#pragma once

#include "core/http.h"
#include "openai/credentials.h"
#include "signalling/signaller.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rt {

class OpenAIHttpSignaller : public Signaller {
 public:
  /* Lives on worker: made, used and destroyed there. */
  OpenAIHttpSignaller (Worker &worker,
      std::shared_ptr<CredentialSource> credentials, unsigned http_timeout_s);
  ~OpenAIHttpSignaller () override;

  SignallerCapabilities capabilities () const override;
  void start () override;
  /* Mints the next session's secret ahead; start() takes it while it is
   * fresh and fetched for the same settings (CredentialSource::fingerprint),
   * or waits for it while it is on its way. */
  void prepare (std::function<void ()> ready) override;
  void stop (std::function<void ()> done) override;
  void send_description (const std::string &session,
      const SessionDescription &description) override;
  void send_candidate (const std::string &session, unsigned mline,
      const std::string &candidate) override;
  void end_session (const std::string &session) override;
  std::map<std::string, guint64> counters () const override;

 private:
  struct Session;
  /* A secret minted ahead by prepare(), on worker_. */
  struct Spare {
    bool pending = false;
    std::optional<CredentialsResult> result;
    std::string fingerprint;
    gint64 fetched_us = 0;     /* monotonic */
    gint64 fetched_real_s = 0; /* against the secret's expiry */
    /* start() waiting for the pending one. */
    std::function<void (CredentialsResult)> waiter;
    std::vector<std::function<void ()>> ready;
  };
  /* Hands minted the spare, or makes it wait for the one on its way:
   * false when there is none fit for this session. */
  bool take_spare (const std::function<void (CredentialsResult)> &minted);
  void post_offer (const std::shared_ptr<Session> &s);
  void hangup (const std::shared_ptr<Session> &s, std::function<void ()> done);
  /* Posts req from the HTTP worker; answered runs there. */
  void in_http (HttpRequest req, std::function<void (HttpResponse)> answered);
  bool current (const std::shared_ptr<Session> &s) const
  {
    return s == session_;
  }
  /* fn, made to run on worker_ from the HTTP worker; dropped if this
   * signaller is gone by then, unless always. */
  template <typename Result>
  std::function<void (Result)> back_here (std::function<void (Result)> fn,
      bool always = false);

  Worker &worker_;
  std::shared_ptr<CredentialSource> credentials_;
  std::shared_ptr<Session> session_;
  unsigned next_id_ = 0;
  guint64 secrets_ = 0;
  Spare spare_;
  unsigned spare_generation_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool> (true);
  std::shared_ptr<Worker> http_worker_;
  /* Made, used and destroyed on http_worker_. */
  std::unique_ptr<HttpClient> http_;
};

/* The call id from a Location header: its last path segment. */
std::string call_id_from_location (const std::string &location);

}  // namespace rt
