/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "webrtc/stats.h"

#include <gst/webrtc/webrtc.h>

#include <algorithm>

namespace rt {

namespace {

gboolean take_stat (GQuark, const GValue *value, gpointer data)
{
  auto *out = static_cast<PeerStats *> (data);
  if (!GST_VALUE_HOLDS_STRUCTURE (value))
    return TRUE;
  const GstStructure *s = gst_value_get_structure (value);
  GstWebRTCStatsType type;
  if (!gst_structure_get (s, "type", GST_TYPE_WEBRTC_STATS_TYPE, &type,
          nullptr))
    return TRUE;
  guint64 u64;
  gint64 i64;
  double d;
  switch (type) {
    case GST_WEBRTC_STATS_OUTBOUND_RTP:
      /* webrtcbin may list a stream twice, once still empty: keep the
       * fuller entry. */
      if (gst_structure_get_uint64 (s, "packets-sent", &u64))
        out->packets_sent = std::max (out->packets_sent, u64);
      if (gst_structure_get_uint64 (s, "bytes-sent", &u64))
        out->bytes_sent = std::max (out->bytes_sent, u64);
      break;
    case GST_WEBRTC_STATS_INBOUND_RTP:
      if (gst_structure_get_uint64 (s, "packets-received", &u64))
        out->packets_received = std::max (out->packets_received, u64);
      if (gst_structure_get_uint64 (s, "bytes-received", &u64))
        out->bytes_received = std::max (out->bytes_received, u64);
      /* 1.22 reports it as an unsigned count, later versions signed. */
      if (gst_structure_get_int64 (s, "packets-lost", &i64))
        out->packets_lost = i64;
      else if (gst_structure_get_uint64 (s, "packets-lost", &u64))
        out->packets_lost = (gint64) u64;
      if (gst_structure_get_double (s, "jitter", &d))
        out->jitter_s = d;
      break;
    case GST_WEBRTC_STATS_REMOTE_INBOUND_RTP:
      if (gst_structure_get_double (s, "round-trip-time", &d))
        out->round_trip_s = d;
      break;
    default: break;
  }
  return TRUE;
}

}  // namespace

PeerStats read_peer_stats (const GstStructure *reply)
{
  PeerStats out;
  if (reply)
    gst_structure_foreach (reply, take_stat, &out);
  return out;
}

}  // namespace rt
