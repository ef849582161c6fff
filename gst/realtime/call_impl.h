/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The call's state, private to call.cpp (the attempt machinery) and
 * call_api.cpp (the operations an application calls). */
#pragma once

#include "call.h"
#include "call_prepare.h"
#include "call_watch.h"

#include "openai/agent_session.h"
#include "webrtc/peer.h"

#include <atomic>
#include <mutex>
#include <optional>

namespace rt {

struct Call::Impl {
  Call *owner;
  std::string name;

  /* Worker-thread state. */
  Call::SignallerFactory make_signaller;
  /* Words to add to the call's error, e.g. that a stand-in was called. */
  std::function<std::string ()> error_context;
  std::shared_ptr<Signaller> signaller;
  CallSettings settings;
  Supervisor supervisor;
  std::string session;     /* the signalling session of this attempt */
  unsigned generation = 0; /* of the attempt */
  bool closing = false;
  bool running = false; /* start() has run */
  bool attempt_connected = false;

  /* What prepare() got ready ahead of start() (made with the worker). */
  std::unique_ptr<CallPreparation> prepared;
  /* The first attempt's offer, made before its session was: sent once the
   * session is requested. */
  std::optional<SessionDescription> early_offer;
  bool offer_pending = false; /* asked of the peer, not yet made */
  guint retry_timer = 0;

  /* Shared with other threads. */
  mutable std::mutex lock;
  std::shared_ptr<Peer> peer; /* under lock: the current attempt's */
  CallStats stats;            /* under lock */
  ObserverSet observers;

  /* After a barge-in, agent audio still in the jitter buffer is dropped
   * as it comes out, until then (monotonic us). */
  std::atomic<gint64> discard_until_us { 0 };

  /* Made with the call; its own lock guards what other threads read. */
  std::unique_ptr<AgentSession> agent;

  /* The current attempt's timers, on the worker (made once it is). */
  std::unique_ptr<AttemptWatch> watch;

  /* Last, so it is destroyed first: work still queued on it may touch
   * every member above. */
  Worker worker;

  Impl (Call *c, std::string n);

  std::shared_ptr<Peer> current_peer () const
  {
    std::lock_guard<std::mutex> l (lock);
    return peer;
  }

  void publish (const Transition &t);

  void interrupt ();

  /* ---- supervision ---- */

  void start ();

  void fault (FaultKind kind, const std::string &message);

  /* Every fault of the current attempt ends here: the attempt is torn
   * down and the supervisor says whether, and when, to try again. */
  void fault (const Fault &f);

  void begin_attempt ();

  PeerConfig peer_config (const CallSettings &s, Signaller &sig,
      unsigned gen) const;

  /* ---- preparing ahead of start() ---- */

  void prepare (std::shared_ptr<CredentialSource> source, CallSettings s,
      std::function<void (bool)> ready);

  /* Tears the current attempt down, on the worker. hangup: tell the far
   * end (without waiting) that this call is over, in case it is still up. */
  void end_attempt (bool hangup);

  void note_counters ();

  /* ---- signalling ---- */

  Signaller::Handlers signaller_handlers ();

  /* A description of ours goes out: at once when candidates trickle, else
   * with the candidates gathered so far (or all of them, within
   * offer_wait_ms). */
  void send_description (GstWebRTCSDPType type, const std::string &sdp);

  void send_gathered (GstWebRTCSDPType type);

  /* ---- the peer ---- */

  Peer::Events peer_events ();

  AttemptWatch::Events watch_events ();

  /* The attempt is up: the agent session is open (or, without one, the
   * peer connection is). */
  void connected ();

  /* ---- the agent session ---- */

  AgentSession::Events agent_events ();

  /* ---- teardown (on the worker) ---- */

  void shutdown ();
};

}  // namespace rt
