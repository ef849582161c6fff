/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a peer's statistics say about its audio, read from webrtcbin's
 * get-stats reply. */
#pragma once

#include <gst/gst.h>

namespace rt {

struct PeerStats {
  guint64 packets_sent = 0, bytes_sent = 0;
  guint64 packets_received = 0, bytes_received = 0;
  gint64 packets_lost = 0;
  double jitter_s = 0;
  double round_trip_s = -1; /* -1: not known yet */
};

/* Reads a get-stats reply (a structure of structures). */
PeerStats read_peer_stats (const GstStructure *reply);

}  // namespace rt
