/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What Call::prepare() gets ready before a call is wanted: a signaller that
 * mints the next session's secret ahead, and a peer that makes its offer
 * and gathers. The call keeps that offer itself (it may come after start());
 * this keeps the rest, says when all of it is in hand, and hands each piece
 * to start() only where it fits. Made, used and destroyed on the call's
 * worker. */
#pragma once

#include "call.h"
#include "core/worker.h"
#include "openai/credentials.h"
#include "signalling/signaller.h"
#include "webrtc/peer.h"

#include <functional>
#include <memory>
#include <vector>

namespace rt {

/* The label of the channel the agent session owns. */
constexpr const char *kCallEventsChannel = "oai-events";

/* The peer a call's attempt makes. far_end_local: the signaller's far end
 * is on this host. */
PeerConfig attempt_peer_config (const std::string &name, const CallSettings &s,
    bool far_end_local, std::shared_ptr<LatencyProbes> latency);

/* Whether a peer made for a would do for b: all but its name. */
bool same_media (const PeerConfig &a, const PeerConfig &b);

/* Whether secrets from b would be those of a (each element may hold its
 * own source for the same service, key and session). */
bool same_source (const std::shared_ptr<CredentialSource> &a,
    const std::shared_ptr<CredentialSource> &b);

class CallPreparation {
 public:
  struct Hooks {
    /* The call's handlers and events, for what is made here. */
    std::function<Signaller::Handlers ()> signaller_handlers;
    std::function<Peer::Events ()> peer_events;
    /* The peer the call's first attempt would make with this signaller. */
    std::function<PeerConfig (const CallSettings &, Signaller &)> peer_config;
    /* Whether the prepared peer's offer has been made (the call keeps it). */
    std::function<bool ()> offer_made;
    /* A new peer is being made: an offer kept from an earlier one is stale. */
    std::function<void ()> new_peer;
  };
  /* A prepared peer older than this is not used: the network may have
   * changed under its candidates. */
  static constexpr unsigned kPeerMaxAgeS = 300;

  CallPreparation (Worker &worker, Hooks hooks)
      : worker_ (worker), hooks_ (std::move (hooks))
  {
  }

  /* Gets ready for these credentials and settings, keeping what still
   * fits; ready runs with true once all is in hand, with false if the peer
   * failed, not at all if this is let go first. */
  void prepare (std::shared_ptr<CredentialSource> source,
      const CallSettings &settings, std::function<void (bool)> ready);
  /* The signaller prepared for these credentials, or nullptr. */
  std::shared_ptr<Signaller> signaller_for (
      const std::shared_ptr<CredentialSource> &source) const;
  /* The prepared peer if it fits config and signaller (no trickle: its
   * candidates went nowhere), or nullptr; the rest is let go either way. */
  std::shared_ptr<Peer> take_peer (const PeerConfig &config,
      const Signaller &signaller);
  /* Says ready once all of it is in hand. */
  void progress ();
  /* The prepared peer failed: let go, and said. */
  void failed ();
  /* Let go, with no word to those waiting. */
  void drop ();

 private:
  Worker &worker_;
  Hooks hooks_;
  std::shared_ptr<CredentialSource> source_;
  std::shared_ptr<Signaller> signaller_;
  std::shared_ptr<Peer> peer_;
  PeerConfig config_;
  bool secret_ = false; /* the signaller has what it could get ahead */
  gint64 made_us_ = 0;  /* monotonic */
  std::vector<std::function<void (bool)>> ready_;
};

}  // namespace rt
