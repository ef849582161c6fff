/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "call_watch.h"

#include <algorithm>

namespace rt {

AttemptWatch::AttemptWatch (Worker &worker, Events events)
    : worker_ (worker), events_ (std::move (events))
{
}

template <typename Fn>
void AttemptWatch::after (unsigned delay_ms, guint *timer, Fn fn)
{
  cancel (timer);
  *timer = worker_.post_after (delay_ms, [this, timer, fn] {
    *timer = 0;
    if (peer_)
      fn ();
  });
}

void AttemptWatch::cancel (guint *timer)
{
  if (*timer)
    worker_.cancel_timeout (*timer);
  *timer = 0;
}

/* A fault ends the attempt (end() runs from inside it): nothing of this
 * watch is touched after the call. */
void AttemptWatch::fault (FaultKind kind, const std::string &message)
{
  if (events_.fault)
    events_.fault (kind, message);
}

void AttemptWatch::begin (std::shared_ptr<Peer> peer, const Limits &limits)
{
  end ();
  peer_ = std::move (peer);
  limits_ = limits;
  /* Whatever stalls (an answer that never comes is the HTTP timeout's; a
   * handshake that never ends is nobody else's), an attempt that is not
   * connected in time is a fault of its own. */
  after (limits_.connect_timeout_ms, &connect_timer_, [this] {
    fault (FaultKind::ConnectTimeout,
        "the call was not connected within " +
            std::to_string (limits_.connect_timeout_ms) + " ms");
  });
}

void AttemptWatch::connected ()
{
  if (!peer_)
    return;
  cancel (&connect_timer_);
  connected_us_ = g_get_monotonic_time ();
  after (limits_.stable_after_ms, &stable_timer_, [this] {
    if (events_.stable)
      events_.stable ();
  });
  arm_media_check ();
  arm_stats ();
}

/* A transient "disconnected" is normal on real networks: only one that
 * lasts longer than the grace period ends the attempt. */
void AttemptWatch::ice_state (GstWebRTCICEConnectionState state)
{
  switch (state) {
    case GST_WEBRTC_ICE_CONNECTION_STATE_FAILED:
      fault (FaultKind::IceFailed, "ICE failed: the far end cannot be reached");
      break;
    case GST_WEBRTC_ICE_CONNECTION_STATE_DISCONNECTED:
      if (!grace_timer_) {
        const unsigned grace = limits_.ice_disconnect_grace_ms;
        after (grace, &grace_timer_, [this, grace] {
          fault (FaultKind::IceDisconnected,
              "ICE lost the far end for more than " + std::to_string (grace) +
                  " ms");
        });
      }
      break;
    case GST_WEBRTC_ICE_CONNECTION_STATE_CONNECTED:
    case GST_WEBRTC_ICE_CONNECTION_STATE_COMPLETED:
      cancel (&grace_timer_);
      break;
    default: break;
  }
}

/* No RTP from the far end for media-timeout while connected: a network
 * that swallows packets silently (no ICE failure is ever reported then,
 * since libnice here does no consent checks). */
void AttemptWatch::arm_media_check ()
{
  if (limits_.media_timeout_ms == 0)
    return;
  unsigned interval = std::clamp (limits_.media_timeout_ms / 8, 10u, 250u);
  after (interval, &media_timer_, [this] {
    gint64 last = std::max (peer_->last_media_us (), connected_us_);
    gint64 silent_ms = (g_get_monotonic_time () - last) / 1000;
    if (silent_ms >= limits_.media_timeout_ms) {
      fault (FaultKind::MediaTimeout,
          "no audio from the far end for " + std::to_string (silent_ms) +
              " ms");
      return;
    }
    arm_media_check ();
  });
}

/* webrtcbin's statistics, sampled each second while connected so that
 * reading them never waits on webrtcbin. */
void AttemptWatch::arm_stats ()
{
  after (1000, &stats_timer_, [this] {
    auto sampled = events_.sampled;
    peer_->request_stats ([sampled] (const PeerStats &s) {
      if (sampled)
        sampled (s);
    });
    arm_stats ();
  });
}

void AttemptWatch::deadline (unsigned delay_ms, std::function<void ()> fn)
{
  after (delay_ms, &deadline_timer_, std::move (fn));
}

void AttemptWatch::end ()
{
  for (guint *t : { &connect_timer_, &grace_timer_, &media_timer_,
           &stable_timer_, &stats_timer_, &deadline_timer_ })
    cancel (t);
  peer_.reset ();
  connected_us_ = 0;
}

}  // namespace rt
