/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Two signallers joined in one process: what one end sends, the other
 * receives on its own worker. Two peers meet through it without any server,
 * as webrtcbin's own tests wire two webrtcbins together. It trickles and
 * takes offers from either end; the end whose start() is called offers. */
#pragma once

#include "core/worker.h"
#include "signalling/signaller.h"

#include <memory>
#include <utility>

namespace rt {

class DirectSignaller : public Signaller,
                        public std::enable_shared_from_this<DirectSignaller> {
 public:
  /* Two joined ends; each answers on its own worker. */
  static std::pair<std::shared_ptr<DirectSignaller>,
      std::shared_ptr<DirectSignaller>>
  pair (Worker &a, Worker &b);

  SignallerCapabilities capabilities () const override;
  void start () override;
  void stop (std::function<void ()> done) override;
  void send_description (const std::string &session,
      const SessionDescription &description) override;
  void send_candidate (const std::string &session, unsigned mline,
      const std::string &candidate) override;
  void end_session (const std::string &session) override;

  explicit DirectSignaller (Worker &worker) : worker_ (worker) {}

 private:
  struct Link;
  /* Runs fn on the other end's worker, if it still exists. */
  void to_peer (std::function<void (DirectSignaller &)> fn);

  Worker &worker_;
  std::shared_ptr<Link> link_;
  std::string session_; /* on the worker */
};

}  // namespace rt
