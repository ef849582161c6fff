/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "connect_common.h"

#include <cmath>
#include <cstring>

namespace connect_bench {

PhaseLog phases;

gint64 now_us ()
{
  return g_get_monotonic_time ();
}

double cpu_seconds (const struct rusage &ru)
{
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
      (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double self_cpu_seconds ()
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return cpu_seconds (ru);
}

void post_main (std::function<void ()> fn)
{
  auto *f = new std::function<void ()> (std::move (fn));
  GSource *s = g_idle_source_new ();
  g_source_set_priority (s, G_PRIORITY_DEFAULT);
  g_source_set_callback (
      s,
      [] (gpointer d) -> gboolean {
        (*static_cast<std::function<void ()> *> (d)) ();
        return G_SOURCE_REMOVE;
      },
      f, [] (gpointer d) { delete static_cast<std::function<void ()> *> (d); });
  g_source_attach (s, nullptr);
  g_source_unref (s);
}

bool loop_until (const std::function<bool ()> &done, gint64 deadline)
{
  GMainContext *ctx = g_main_context_default ();
  while (!done ()) {
    gint64 left = deadline - now_us ();
    if (left <= 0)
      return false;
    GSource *wake = g_timeout_source_new (static_cast<guint> (left / 1000 + 1));
    g_source_set_callback (
        wake, [] (gpointer) -> gboolean { return G_SOURCE_REMOVE; }, nullptr,
        nullptr);
    g_source_attach (wake, ctx);
    g_main_context_iteration (ctx, TRUE);
    g_source_destroy (wake);
    g_source_unref (wake);
  }
  return true;
}

double rms_s16 (GstBuffer *buffer)
{
  GstMapInfo map;
  if (!gst_buffer_map (buffer, &map, GST_MAP_READ))
    return 0.0;
  const gsize n = map.size / 2;
  double sum = 0.0;
  for (gsize i = 0; i < n; i++) {
    gint16 v;
    memcpy (&v, map.data + 2 * i, 2);
    sum += static_cast<double> (v) * v;
  }
  gst_buffer_unmap (buffer, &map);
  return n ? std::sqrt (sum / n) / 32768.0 : 0.0;
}

void finish_result (RunResult *r, gint64 t0, const Moment &session,
    const Moment &audio, double cpu0)
{
  if (session.happened ()) {
    r->session_ms = (session.at.load () - t0) / 1000.0;
    phases.mark ("session.created", session.at.load ());
  }
  if (audio.happened ()) {
    r->audio_ms = (audio.at.load () - t0) / 1000.0;
    phases.mark ("first audio", audio.at.load ());
  }
  r->cpu_ms = (self_cpu_seconds () - cpu0) * 1000.0;
  for (const auto &m : phases.take ())
    if (m.second >= t0)
      r->phases.emplace_back (m.first, (m.second - t0) / 1000.0);
}

GstFlowReturn on_audio_sample (GstAppSink *sink, gpointer data)
{
  auto *heard = static_cast<Heard *> (data);
  GstSample *sample = gst_app_sink_pull_sample (sink);
  if (!sample)
    return GST_FLOW_EOS;
  const gint64 t = now_us ();
  const bool counting = heard->counting.load ();
  if (!heard->first.happened () || counting) {
    GstBuffer *buffer = gst_sample_get_buffer (sample);
    const bool audible = buffer && rms_s16 (buffer) > kAudibleRms;
    if (audible)
      heard->first.set (t);
    GstCaps *caps = gst_sample_get_caps (sample);
    gint rate = 0, channels = 0;
    if (audible && counting && caps && gst_caps_get_size (caps) > 0) {
      const GstStructure *s = gst_caps_get_structure (caps, 0);
      if (gst_structure_get_int (s, "rate", &rate) &&
          gst_structure_get_int (s, "channels", &channels) && rate > 0 &&
          channels > 0)
        heard->audible_us += static_cast<gint64> (gst_buffer_get_size (buffer) /
            (2 * channels) * G_USEC_PER_SEC / rate);
    }
  }
  gst_sample_unref (sample);
  return GST_FLOW_OK;
}

}  // namespace connect_bench
