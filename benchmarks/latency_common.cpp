/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "latency_common.h"

#include <algorithm>
#include <chrono>
#include <cstring>

namespace latency_bench {

namespace {

GstPadProbeReturn on_input (GstPad *, GstPadProbeInfo *info, gpointer data)
{
  auto *e = static_cast<Echo *> (data);
  const gint64 now = g_get_monotonic_time ();
  guint64 block;
  {
    std::lock_guard<std::mutex> l (e->m);
    block = e->blocks_in++;
    if (block % kPeriodBlocks == 0)
      e->bursts.push_back (now - 10000);
  }
  if (block % kPeriodBlocks < kBurstBlocks)
    return GST_PAD_PROBE_OK;
  GstBuffer *b = gst_buffer_make_writable (GST_PAD_PROBE_INFO_BUFFER (info));
  GstMapInfo map;
  if (gst_buffer_map (b, &map, GST_MAP_WRITE)) {
    memset (map.data, 0, map.size);
    gst_buffer_unmap (b, &map);
  }
  GST_PAD_PROBE_INFO_DATA (info) = b;
  return GST_PAD_PROBE_OK;
}

GstFlowReturn on_output (GstAppSink *sink, gpointer data)
{
  auto *e = static_cast<Echo *> (data);
  GstSample *sample = gst_app_sink_pull_sample (sink);
  if (!sample)
    return GST_FLOW_EOS;
  const gint64 now = g_get_monotonic_time ();
  GstBuffer *b = gst_sample_get_buffer (sample);
  GstMapInfo map;
  if (gst_buffer_map (b, &map, GST_MAP_READ)) {
    auto *s = reinterpret_cast<const gint16 *> (map.data);
    const gsize n = map.size / 2;
    std::lock_guard<std::mutex> l (e->m);
    for (gsize i = 0; i < n; i++) {
      if (std::abs (s[i]) < kLoud) {
        e->quiet++;
        continue;
      }
      if (e->quiet >= (guint64) kQuietSamples && !e->bursts.empty ()) {
        const gint64 onset = now + (gint64) i * 1000000 / kRate;
        const double rt = (onset - e->bursts.back ()) / 1000.0;
        /* An echo belongs to the latest burst; a stray one (the call
         * starting) does not count. */
        if (rt > 0 && rt < 450) {
          e->round_trips_ms.push_back (rt);
          e->cv.notify_all ();
        }
      }
      e->quiet = 0;
    }
    gst_buffer_unmap (b, &map);
  }
  gst_sample_unref (sample);
  return GST_FLOW_OK;
}

}  // namespace

void Echo::attach (GstElement *input, GstElement *out)
{
  GstPad *pad = gst_element_get_static_pad (input, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_input, this, nullptr);
  gst_object_unref (pad);
  GstAppSinkCallbacks callbacks = {};
  callbacks.new_sample = on_output;
  gst_app_sink_set_callbacks (GST_APP_SINK (out), &callbacks, this, nullptr);
}

bool Echo::wait (std::size_t n, gint64 deadline_us)
{
  std::unique_lock<std::mutex> l (m);
  const gint64 left = deadline_us - g_get_monotonic_time ();
  return cv.wait_for (l, std::chrono::microseconds (std::max<gint64> (left, 0)),
      [&] { return round_trips_ms.size () >= n; });
}

std::vector<double> Echo::measured (std::size_t skip)
{
  std::lock_guard<std::mutex> l (m);
  if (round_trips_ms.size () <= skip)
    return {};
  return std::vector<double> (round_trips_ms.begin () + skip,
      round_trips_ms.end ());
}

double percentile (std::vector<double> v, double p)
{
  if (v.empty ())
    return -1;
  std::sort (v.begin (), v.end ());
  double at = p * (v.size () - 1);
  std::size_t lo = (std::size_t) at;
  std::size_t hi = std::min (lo + 1, v.size () - 1);
  return v[lo] + (v[hi] - v[lo]) * (at - lo);
}

double median (std::vector<double> v)
{
  return percentile (std::move (v), 0.5);
}

}  // namespace latency_bench
