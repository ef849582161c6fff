/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/latency_probes.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace rt {

namespace {

/* A few hundred milliseconds of 20 ms packets: enough to bridge a jitter
 * buffer or a send queue, small enough to search linearly. */
constexpr std::size_t kPending = 64;
/* An hour of 20 ms packets per direction. */
constexpr std::size_t kKept = 180000;

GstCaps *stamp_caps ()
{
  static GstCaps *caps = gst_caps_new_empty_simple (
      "timestamp/x-realtime-latency");
  return caps;
}

void remember (std::deque<std::pair<guint32, GstClockTime>> &q, guint32 ts,
    GstClockTime t)
{
  q.emplace_back (ts, t);
  if (q.size () > kPending)
    q.pop_front ();
}

GstClockTime take (std::deque<std::pair<guint32, GstClockTime>> &q, guint32 ts)
{
  auto it = std::find_if (q.begin (), q.end (),
      [ts] (const auto &e) { return e.first == ts; });
  if (it == q.end ())
    return GST_CLOCK_TIME_NONE;
  GstClockTime t = it->second;
  /* Older entries were lost or resent: they never complete. */
  q.erase (q.begin (), it + 1);
  return t;
}

}  // namespace

bool LatencyProbes::enabled ()
{
  static const bool on = [] {
    const char *v = g_getenv ("GST_REALTIME_LATENCY");
    return v && *v && std::strcmp (v, "0") != 0;
  }();
  return on;
}

GstClockTime LatencyProbes::now ()
{
  return (GstClockTime) g_get_monotonic_time () * GST_USECOND;
}

GstBuffer *LatencyProbes::stamp (GstBuffer *buffer, GstClockTime t)
{
  if (GST_CLOCK_TIME_IS_VALID (stamp_of (buffer)))
    return buffer;
  buffer = gst_buffer_make_writable (buffer);
  gst_buffer_add_reference_timestamp_meta (buffer, stamp_caps (), t,
      GST_CLOCK_TIME_NONE);
  return buffer;
}

GstClockTime LatencyProbes::stamp_of (GstBuffer *buffer)
{
  GstReferenceTimestampMeta *m = gst_buffer_get_reference_timestamp_meta (
      buffer, stamp_caps ());
  return m ? m->timestamp : GST_CLOCK_TIME_NONE;
}

bool LatencyProbes::rtp_timestamp (GstBuffer *buffer, int pt, guint32 *ts)
{
  guint8 h[8];
  if (gst_buffer_extract (buffer, 0, h, sizeof h) != sizeof h ||
      (h[0] & 0xc0) != 0x80 || (h[1] & 0x7f) != pt)
    return false;
  *ts = ((guint32) h[4] << 24) | ((guint32) h[5] << 16) |
      ((guint32) h[6] << 8) | h[7];
  return true;
}

void LatencyProbes::payloaded (guint32 rtp_ts, GstClockTime stamped)
{
  std::lock_guard<std::mutex> l (lock_);
  remember (payloaded_, rtp_ts, stamped);
}

void LatencyProbes::sent (guint32 rtp_ts, GstClockTime t)
{
  GstClockTime stamped;
  {
    std::lock_guard<std::mutex> l (lock_);
    stamped = take (payloaded_, rtp_ts);
  }
  if (GST_CLOCK_TIME_IS_VALID (stamped))
    record (Direction::Up, GST_CLOCK_DIFF (stamped, t));
}

void LatencyProbes::arrived (guint32 rtp_ts, GstClockTime t)
{
  std::lock_guard<std::mutex> l (lock_);
  remember (arrived_, rtp_ts, t);
}

GstClockTime LatencyProbes::arrival_of (guint32 rtp_ts)
{
  std::lock_guard<std::mutex> l (lock_);
  return take (arrived_, rtp_ts);
}

void LatencyProbes::record (Direction d, GstClockTimeDiff delay)
{
  std::lock_guard<std::mutex> l (lock_);
  auto &v = d == Direction::Up ? up_ : down_;
  if (v.size () < kKept)
    v.push_back (delay);
}

LatencyProbes::Summary LatencyProbes::summary (Direction d) const
{
  std::vector<gint64> v;
  {
    std::lock_guard<std::mutex> l (lock_);
    v = d == Direction::Up ? up_ : down_;
  }
  Summary s;
  s.count = v.size ();
  if (v.empty ())
    return s;
  std::sort (v.begin (), v.end ());
  auto ms = [] (gint64 ns) { return ns / 1e6; };
  s.median_ms = ms (v[v.size () / 2]);
  s.p90_ms = ms (v[std::min (v.size () - 1, v.size () * 9 / 10)]);
  s.min_ms = ms (v.front ());
  s.max_ms = ms (v.back ());
  return s;
}

}  // namespace rt
