/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the benchmarks that drive a user pipeline against the local server
 * share: tests/session.h outside a check run, the server and plugin of this
 * build tree, and percentiles. */
#pragma once

#include <cstdlib>

/* Outside a check run: a broken setup ends the benchmark with a message. */
#define SESSION_REQUIRE(expr, ...)                                             \
  do {                                                                         \
    if (!(expr)) {                                                             \
      g_printerr (__VA_ARGS__);                                                \
      abort ();                                                                \
    }                                                                          \
  } while (0)

#include "../tests/session.h"

#include "recovery_config.h"

#include <algorithm>
#include <cstdio>
#include <vector>

namespace bench {

/* GStreamer and the local server, from this build tree unless the
 * environment says otherwise; false (with a message) if the server did not
 * start. */
inline bool start (int *argc, char ***argv)
{
  if (!g_getenv ("REALTIME_SERVER"))
    g_setenv ("REALTIME_SERVER", RECOVERY_BENCH_SERVER_BIN, TRUE);
  if (!g_getenv ("GST_PLUGIN_PATH_1_0"))
    g_setenv ("GST_PLUGIN_PATH_1_0", RECOVERY_BENCH_PLUGIN_DIR, TRUE);
  g_setenv ("OPENAI_API_KEY", "", TRUE);
  gst_init (argc, argv);
  if (!server.start ()) {
    fprintf (stderr, "the local realtime server did not start\n");
    return false;
  }
  return true;
}

inline double percentile (std::vector<double> v, double p)
{
  if (v.empty ())
    return -1;
  std::sort (v.begin (), v.end ());
  double at = p * (v.size () - 1);
  size_t lo = (size_t) at;
  size_t hi = std::min (lo + 1, v.size () - 1);
  return v[lo] + (v[hi] - v[lo]) * (at - lo);
}

}  // namespace bench
