/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The engine's latency probes (GST_REALTIME_LATENCY) in a call of the
 * elements against the local server: both directions are measured, from
 * the sink's pad to the wire and from the wire to the src's pad, and the
 * figures are sane. The benchmark (benchmarks/latency.cpp) reads the same
 * figures. */
#include "session.h"

static const GstStructure *latency_of (GstStructure *stats)
{
  if (!stats || !gst_structure_has_field (stats, "latency"))
    return nullptr;
  return gst_value_get_structure (gst_structure_get_value (stats, "latency"));
}

GST_START_TEST (test_both_directions_measured)
{
  Session s ("api-key=" + server.api_key,
      "audiotestsrc is-live=true freq=440 volume=0.5 samplesperbuffer=480", "",
      "turn-detection=none");
  s.play ();
  /* The echo of our tone: audio went up and came back down. */
  fail_unless (s.wait ([&] {
    return test::first_loud_window (s.audio, 0, 4800, 0.05) >= 0 &&
        s.audio.size () >
        size_t (test::first_loud_window (s.audio, 0, 4800, 0.05)) + 144000;
  }),
      "no echo came back");
  GstStructure *stats = nullptr;
  g_object_get (s.sink, "stats", &stats, nullptr);
  const GstStructure *lat = latency_of (stats);
  fail_unless (lat != nullptr, "no latency in the stats");
  guint64 up = 0, down = 0;
  double up_ms = -1, down_ms = -1;
  gst_structure_get_uint64 (lat, "up-count", &up);
  gst_structure_get_uint64 (lat, "down-count", &down);
  gst_structure_get_double (lat, "up-median-ms", &up_ms);
  gst_structure_get_double (lat, "down-median-ms", &down_ms);
  GST_INFO ("up %.1f ms (%" G_GUINT64_FORMAT
            "), down %.1f ms (%" G_GUINT64_FORMAT ")",
      up_ms, up, down_ms, down);
  g_printerr ("latency: up %.1f ms (%" G_GUINT64_FORMAT " packets), down %.1f "
              "ms (%" G_GUINT64_FORMAT " packets)\n",
      up_ms, up, down_ms, down);
  /* Three seconds of 20 ms packets each way, each within what a 20 ms frame, a
   * 10 ms block and scheduling on a loaded machine can take. */
  fail_unless (up >= 40 && down >= 40,
      "too few measured: %" G_GUINT64_FORMAT " up, %" G_GUINT64_FORMAT " down",
      up, down);
  fail_unless (up_ms > 0 && up_ms < 200, "up %.1f ms", up_ms);
  fail_unless (down_ms >= 0 && down_ms < 200, "down %.1f ms", down_ms);
  gst_structure_free (stats);
}
GST_END_TEST;

static Suite *latency_probes_suite ()
{
  /* Read once, by the first call. */
  g_setenv ("GST_REALTIME_LATENCY", "1", TRUE);
  Suite *s = suite_create ("latency-probes");
  TCase *tc = tcase_create ("call");
  tcase_set_timeout (tc, 60);
  tcase_add_unchecked_fixture (tc, local_server_up, local_server_down);
  tcase_add_test (tc, test_both_directions_measured);
  suite_add_tcase (s, tc);
  return s;
}

GST_CHECK_MAIN (latency_probes);
