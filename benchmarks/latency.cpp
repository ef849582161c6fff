/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* latency-bench: the latency the elements add to the audio in each
 * direction, and the echo round trip through the local server against a
 * bare webrtcbin client with the same 40 ms jitter buffer, in the same run.
 *
 * Each round makes one fresh call of each client (the order alternates):
 *  - the elements: audiotestsrc ! openairealtimesink, openairealtimesrc !
 *    appsink sync=true, with GST_REALTIME_LATENCY=1, so that the engine's
 *    probes measure up (the sink's pad to the RTP packet handed to the ICE
 *    socket) and down (an RTP packet from the ICE socket to its audio
 *    leaving the src's pad); read from the elements' stats;
 *  - the bare client (latency_bare.cpp).
 * Both send the same tone bursts; the server echoes them (no turn
 * detection, so its agent never speaks) and each client times the echo,
 * onset to onset (latency_common.h).
 *
 * Usage: latency-bench [--runs 10] [--echoes 12] [--markdown FILE]
 *                      [--data FILE]
 * See docs/benchmarks/latency.md. */
#include "latency_bare.h"
#include "latency_common.h"
#include "recovery_config.h"

#include "../tests/local_server.h"

#include <cstdio>
#include <cstdlib>

using namespace latency_bench;

namespace {

/* Echoes at the start of a call (ICE, the first packets) are left out. */
constexpr std::size_t kSkip = 2;

struct Probed {
  double up_median = -1, up_p90 = -1, down_median = -1, down_p90 = -1;
  guint64 silence = 0; /* samples the src filled in */
};

bool run_elements (const test::LocalServer &server, Echo *echo,
    std::size_t echoes, gint64 deadline_us, Probed *probed, std::string *error)
{
  const std::string desc = "ephemeraltokenprovider api-base=" + server.base +
      " api-key=" + server.api_key + " " + input_description ("user") +
      " ! openairealtimesink name=sink turn-detection=none latency=40 "
      "openairealtimesrc name=src ! appsink name=out sync=true";
  GError *err = nullptr;
  GstElement *pipe = gst_parse_launch (desc.c_str (), &err);
  if (!pipe) {
    *error = err ? err->message : "cannot build the pipeline";
    g_clear_error (&err);
    return false;
  }
  GstElement *user = gst_bin_get_by_name (GST_BIN (pipe), "user");
  GstElement *out = gst_bin_get_by_name (GST_BIN (pipe), "out");
  echo->attach (user, out);
  gst_element_set_state (pipe, GST_STATE_PLAYING);
  const bool ok = echo->wait (echoes, deadline_us);
  if (!ok)
    *error = "too few echoes before the deadline";
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipe), "sink");
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipe), "src");
  GstStructure *stats = nullptr;
  g_object_get (sink, "stats", &stats, nullptr);
  const GstStructure *lat = nullptr;
  if (stats && gst_structure_has_field (stats, "latency"))
    lat = gst_value_get_structure (gst_structure_get_value (stats, "latency"));
  if (lat) {
    gst_structure_get_double (lat, "up-median-ms", &probed->up_median);
    gst_structure_get_double (lat, "up-p90-ms", &probed->up_p90);
    gst_structure_get_double (lat, "down-median-ms", &probed->down_median);
    gst_structure_get_double (lat, "down-p90-ms", &probed->down_p90);
  }
  if (stats)
    gst_structure_free (stats);
  g_object_get (src, "silence-inserted", &probed->silence, nullptr);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (src);
  gst_object_unref (sink);
  gst_object_unref (out);
  gst_object_unref (user);
  gst_object_unref (pipe);
  return ok;
}

std::string ms (double v)
{
  char b[32];
  snprintf (b, sizeof b, "%.1f ms", v);
  return b;
}

}  // namespace

int main (int argc, char **argv)
{
  unsigned runs = 10;
  std::size_t echoes = 12;
  const char *markdown = nullptr, *data = nullptr;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--runs" && i + 1 < argc)
      runs = (unsigned) atoi (argv[++i]);
    else if (a == "--echoes" && i + 1 < argc)
      echoes = (std::size_t) atoi (argv[++i]);
    else if (a == "--markdown" && i + 1 < argc)
      markdown = argv[++i];
    else if (a == "--data" && i + 1 < argc)
      data = argv[++i];
    else {
      fprintf (stderr,
          "usage: %s [--runs N] [--echoes N] [--markdown FILE] [--data "
          "FILE]\n",
          argv[0]);
      return 2;
    }
  }
  if (!g_getenv ("REALTIME_SERVER"))
    g_setenv ("REALTIME_SERVER", RECOVERY_BENCH_SERVER_BIN, TRUE);
  if (!g_getenv ("GST_PLUGIN_PATH_1_0"))
    g_setenv ("GST_PLUGIN_PATH_1_0", RECOVERY_BENCH_PLUGIN_DIR, TRUE);
  g_setenv ("OPENAI_API_KEY", "", TRUE);
  g_setenv ("GST_REALTIME_LATENCY", "1", TRUE);
  gst_init (&argc, &argv);
  test::LocalServer server;
  if (!server.start ()) {
    fprintf (stderr, "the local realtime server did not start\n");
    return 1;
  }

  std::vector<double> el_rt, bare_rt, up, up90, down, down90;
  std::string rows = "# round client echo_median_ms up_median_ms "
                     "down_median_ms\n";
  int failures = 0;
  for (unsigned r = 0; r < runs; r++) {
    for (int k = 0; k < 2; k++) {
      const bool elements = (r + k) % 2 == 0;
      Echo echo;
      std::string error;
      Probed p;
      const gint64 deadline = g_get_monotonic_time () +
          (gint64) (echoes + kSkip + 10) * 500000;
      const bool ok = elements ?
          run_elements (server, &echo, echoes + kSkip, deadline, &p, &error) :
          run_bare (server.base, server.api_key, &echo, echoes + kSkip,
              deadline, &error);
      std::vector<double> rt = echo.measured (kSkip);
      if (!ok || rt.empty ()) {
        failures++;
        fprintf (stderr, "round %u, %s: %s\n", r,
            elements ? "elements" : "bare", error.c_str ());
        continue;
      }
      const double m = median (rt);
      (elements ? el_rt : bare_rt).push_back (m);
      char row[256];
      if (elements) {
        up.push_back (p.up_median);
        up90.push_back (p.up_p90);
        down.push_back (p.down_median);
        down90.push_back (p.down_p90);
        printf ("round %u elements: echo %.1f ms (%zu), up %.1f (p90 %.1f), "
                "down %.1f (p90 %.1f) ms, silence filled %.0f ms\n",
            r, m, rt.size (), p.up_median, p.up_p90, p.down_median, p.down_p90,
            p.silence / 48.0);
        snprintf (row, sizeof row, "%u elements %.2f %.2f %.2f\n", r, m,
            p.up_median, p.down_median);
      } else {
        printf ("round %u bare: echo %.1f ms (%zu)\n", r, m, rt.size ());
        snprintf (row, sizeof row, "%u bare %.2f - -\n", r, m);
      }
      rows += row;
      fflush (stdout);
    }
  }
  server.stop ();

  const double e = median (el_rt), b = median (bare_rt);
  std::string table =
      "| | median of the rounds' medians | p90 (median of the rounds') |\n"
      "|---|---|---|\n"
      "| up: the sink's pad to the RTP packet sent | " +
      ms (median (up)) + " | " + ms (median (up90)) +
      " |\n"
      "| down: an RTP packet received to its audio leaving the src | " +
      ms (median (down)) + " | " + ms (median (down90)) +
      " |\n"
      "| echo round trip, the elements | " +
      ms (e) + " | " + ms (percentile (el_rt, 0.9)) +
      " |\n"
      "| echo round trip, bare webrtcbin (latency=40) | " +
      ms (b) + " | " + ms (percentile (bare_rt, 0.9)) +
      " |\n"
      "| the elements minus bare webrtcbin | " +
      ms (e - b) + " | |\n";
  printf ("\n%zu + %zu calls\n%s", el_rt.size (), bare_rt.size (),
      table.c_str ());
  if (markdown)
    g_file_set_contents (markdown, table.c_str (), -1, nullptr);
  if (data)
    g_file_set_contents (data, rows.c_str (), -1, nullptr);
  return failures ? 1 : 0;
}
