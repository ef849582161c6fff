/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where the engine's own audio latency goes, measured with pad probes in
 * each direction: the user's audio from the sink's pad to its RTP packet
 * leaving webrtcbin (up), and an RTP packet arriving at webrtcbin to its
 * audio leaving the source's pad (down).
 *
 * Off unless GST_REALTIME_LATENCY is set (and not "0"): then the first
 * point of each direction stamps the audio with the monotonic time it was
 * seen (a GstReferenceTimestampMeta, which the audio converters, Opus and
 * its RTP (de)payloaders carry along), the RTP timestamp carries it across
 * webrtcbin, where buffers are remade, and the last point records the
 * difference. An Opus frame counts from its first sample: the encoder
 * gives a frame the stamps of the input buffers it came from, the first
 * one first. Nothing is added to any pad when it is off. */
#pragma once

#include <gst/gst.h>

#include <cstddef>
#include <deque>
#include <mutex>
#include <utility>
#include <vector>

namespace rt {

class LatencyProbes {
 public:
  enum class Direction { Up, Down };
  struct Summary {
    std::size_t count = 0;
    double median_ms = 0, p90_ms = 0, min_ms = 0, max_ms = 0;
  };

  /* GST_REALTIME_LATENCY, read once. */
  static bool enabled ();
  static GstClockTime now ();
  /* The buffer, made writable if it must be, stamped with t unless it
   * already carries a stamp (the first one stands for its first sample). */
  static GstBuffer *stamp (GstBuffer *buffer, GstClockTime t);
  /* The buffer's first stamp, or GST_CLOCK_TIME_NONE. */
  static GstClockTime stamp_of (GstBuffer *buffer);
  /* The RTP timestamp of a packet of payload type pt (SRTP too: its header
   * is in the clear); false for anything else (RTCP, DTLS, STUN). */
  static bool rtp_timestamp (GstBuffer *buffer, int pt, guint32 *ts);

  /* Up: the payloader's output is remembered by RTP timestamp with its
   * first sample's stamp, and completed when the packet is sent. */
  void payloaded (guint32 rtp_ts, GstClockTime stamped);
  void sent (guint32 rtp_ts, GstClockTime t);
  /* Down: a packet's arrival by RTP timestamp, looked up when it comes out
   * of the jitter buffer (GST_CLOCK_TIME_NONE: not seen). */
  void arrived (guint32 rtp_ts, GstClockTime t);
  GstClockTime arrival_of (guint32 rtp_ts);

  void record (Direction d, GstClockTimeDiff delay);
  Summary summary (Direction d) const;

 private:
  using Pending = std::deque<std::pair<guint32, GstClockTime>>;
  mutable std::mutex lock_;
  Pending payloaded_;        /* under lock_ */
  Pending arrived_;          /* under lock_ */
  std::vector<gint64> up_;   /* under lock_: ns */
  std::vector<gint64> down_; /* under lock_: ns */
};

}  // namespace rt
