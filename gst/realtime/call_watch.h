/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The watchdogs of one call attempt: what turns a stall, a lost network or
 * silence into a fault of the attempt, and what samples it while it is up.
 * Everything here runs on the call's worker; end() switches it all off, so
 * nothing of an attempt fires into the next. */
#pragma once

#include "core/worker.h"
#include "supervision.h"
#include "webrtc/peer.h"

#include <functional>
#include <memory>
#include <string>

namespace rt {

class AttemptWatch {
 public:
  struct Limits {
    unsigned connect_timeout_ms = 10000;     /* to connected() */
    unsigned ice_disconnect_grace_ms = 2000; /* a transient loss forgiven */
    unsigned media_timeout_ms = 3000;        /* no RTP while up; 0: never */
    unsigned stable_after_ms = 0;            /* up this long: stable */
  };
  struct Events {
    std::function<void (FaultKind, const std::string &)> fault;
    std::function<void ()> stable;
    std::function<void (const PeerStats &)> sampled; /* each second */
  };

  /* end() before the worker goes: the destructor leaves its timers to the
   * worker's context. */
  AttemptWatch (Worker &worker, Events events);

  AttemptWatch (const AttemptWatch &) = delete;
  AttemptWatch &operator= (const AttemptWatch &) = delete;

  /* An attempt on peer begins: its connect deadline runs. */
  void begin (std::shared_ptr<Peer> peer, const Limits &limits);
  /* It is up: the deadline stops; media checks, stats and the stability
   * timer start. */
  void connected ();
  void ice_state (GstWebRTCICEConnectionState state);
  /* fn after delay_ms, unless the attempt ends first (one at a time). */
  void deadline (unsigned delay_ms, std::function<void ()> fn);
  void cancel_deadline () { cancel (&deadline_timer_); }
  bool deadline_pending () const { return deadline_timer_ != 0; }
  /* The attempt is over: every timer off. Idempotent. */
  void end ();

 private:
  template <typename Fn> void after (unsigned delay_ms, guint *timer, Fn fn);
  void cancel (guint *timer);
  void arm_media_check ();
  void arm_stats ();
  void fault (FaultKind kind, const std::string &message);

  Worker &worker_;
  Events events_;
  Limits limits_;
  std::shared_ptr<Peer> peer_; /* while an attempt runs */
  gint64 connected_us_ = 0;
  guint connect_timer_ = 0;
  guint grace_timer_ = 0;
  guint media_timer_ = 0;
  guint stable_timer_ = 0;
  guint stats_timer_ = 0;
  guint deadline_timer_ = 0;
};

}  // namespace rt
