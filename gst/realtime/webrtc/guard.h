/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What every callback of a Peer and of its data channels holds: the way
 * back to the owner's worker, closed by Peer::stop(). Internal to webrtc/. */
#pragma once

#include "core/worker.h"

#include <gst/gst.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace rt {

class Peer;

/* What every webrtcbin callback holds: the way back to the owner's worker,
 * closed by Peer::stop(). `peer` is written only on the worker, under
 * `lock`; other threads post under `lock` (or, on a streaming thread of the
 * peer's pipeline, which stops first, read it as it is). */
struct PeerGuard {
  std::mutex lock;
  Worker *worker = nullptr;
  std::atomic<Peer *> peer { nullptr };
  GstElement *appsrc = nullptr;        /* under lock */
  GstPad *input = nullptr;             /* under lock: direct_input's pad */
  std::mutex push_lock;                /* one direct push at a time */
  std::vector<std::string> candidates; /* under lock */
  bool gathering_done = false;         /* under lock */
  /* get-stats requests not answered yet (teardown waits for them). */
  std::mutex stats_lock;
  std::condition_variable stats_cv;
  int stats_in_flight = 0;
};

namespace peer_internal {

using GuardRef = std::shared_ptr<PeerGuard>;

inline GuardRef *hold (const GuardRef &g)
{
  return new GuardRef (g);
}

inline void release (gpointer data)
{
  delete static_cast<GuardRef *> (data);
}

inline void release_closure (gpointer data, GClosure *)
{
  release (data);
}

/* Runs fn (Peer &) on the worker unless the peer is stopped by then. */
template <typename Fn> void post (const GuardRef &g, Fn fn)
{
  std::lock_guard<std::mutex> l (g->lock);
  if (!g->peer)
    return;
  g->worker->post ([g, fn] () mutable {
    if (g->peer)
      fn (*g->peer.load ());
  });
}

}  // namespace peer_internal

}  // namespace rt
