/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* recovery-bench: how long the agent's audio is gone after a fault.
 *
 * A user pipeline (440 Hz tone into openairealtimesink, openairealtimesrc
 * into an appsink) talks to the local realtime server, which echoes the
 * tone. The server drops the call, abruptly (its channel reset) or silently
 * (nothing comes back at all), and the time from the drop to the echo being
 * heard again is measured, over --runs drops of each kind.
 *
 * Compared in the same run: the elements' own supervisor, and what an
 * application would do without it: max-reconnect-attempts=0, and on the
 * element error, the whole pipeline set to NULL and back to PLAYING.
 *
 * Usage: recovery-bench [--runs 20] [--media-timeout 3000] [--markdown FILE]
 * See docs/benchmarks/recovery.md. */
#include "bench_session.h"

namespace {

struct Sample {
  double noticed_ms = -1; /* to the reconnecting message (supervisor only) */
  double back_ms = -1;    /* to the echo heard again */
};

enum class Kind { Abrupt, Silent };
enum class Recovery { Supervisor, AppRestart };

const char *fault_json (Kind k)
{
  return k == Kind::Abrupt ? "{\"drop_calls\":\"abrupt\"}" :
                             "{\"drop_calls\":\"silent\"}";
}

bool measure_once (Kind kind, Recovery how, unsigned media_timeout, Sample *out)
{
  if (!server.control ("/control/reset", "{}"))
    return false;
  std::string props = "media-timeout=" + std::to_string (media_timeout);
  if (how == Recovery::AppRestart)
    props += " max-reconnect-attempts=0";
  Session s ("api-key=" + server.api_key,
      "audiotestsrc is-live=true freq=440 volume=0.5", "", props);
  s.play ();
  if (!s.wait_event ("session.updated", 15s) || !echo_heard (s))
    return false;
  const size_t mark = s.audio_size ();
  const gint64 t0 = g_get_monotonic_time ();
  if (!server.control ("/control/fault", fault_json (kind)))
    return false;
  if (how == Recovery::Supervisor) {
    if (!s.wait ([&] { return count_state (s, "reconnecting") >= 1; }, 15s))
      return false;
    out->noticed_ms = (g_get_monotonic_time () - t0) / 1000.0;
    if (!echo_back (s, mark, 15s))
      return false;
  } else {
    if (!s.wait ([&] { return !s.errors.empty (); }, 15s))
      return false;
    out->noticed_ms = (g_get_monotonic_time () - t0) / 1000.0;
    /* The application's restart: from the bus handler's point of view,
     * as soon as the error is seen. */
    s.stop ();
    {
      std::lock_guard<std::mutex> l (s.m);
      s.audio.clear ();
    }
    s.play ();
    if (!echo_heard (s))
      return false;
  }
  out->back_ms = (g_get_monotonic_time () - t0) / 1000.0;
  s.stop ();
  return true;
}

}  // namespace

int main (int argc, char **argv)
{
  unsigned runs = 20;
  unsigned media_timeout = 3000;
  const char *markdown = nullptr;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--runs" && i + 1 < argc)
      runs = (unsigned) atoi (argv[++i]);
    else if (a == "--media-timeout" && i + 1 < argc)
      media_timeout = (unsigned) atoi (argv[++i]);
    else if (a == "--markdown" && i + 1 < argc)
      markdown = argv[++i];
    else {
      fprintf (stderr,
          "usage: %s [--runs N] [--media-timeout MS] [--markdown FILE]\n",
          argv[0]);
      return 2;
    }
  }
  if (!bench::start (&argc, &argv))
    return 1;

  std::string table =
      "| fault | recovery | runs | noticed, median | audio back, median | p90 | min | max |\n"
      "|---|---|---|---|---|---|---|---|\n";
  int failures = 0;
  for (Kind kind : { Kind::Abrupt, Kind::Silent }) {
    for (Recovery how : { Recovery::Supervisor, Recovery::AppRestart }) {
      std::vector<double> noticed, back;
      for (unsigned r = 0; r < runs; r++) {
        Sample s;
        if (!measure_once (kind, how, media_timeout, &s)) {
          failures++;
          fprintf (stderr, "run %u failed\n", r);
          continue;
        }
        noticed.push_back (s.noticed_ms);
        back.push_back (s.back_ms);
      }
      char row[512];
      snprintf (row, sizeof row,
          "| %s | %s | %zu | %.0f ms | %.0f ms | %.0f ms | "
          "%.0f ms | %.0f ms |\n",
          kind == Kind::Abrupt ? "abrupt drop" : "silent loss",
          how == Recovery::Supervisor ? "elements' supervisor" :
                                        "application restarts the pipeline",
          back.size (), bench::percentile (noticed, 0.5),
          bench::percentile (back, 0.5), bench::percentile (back, 0.9),
          back.empty () ? -1 : *std::min_element (back.begin (), back.end ()),
          back.empty () ? -1 : *std::max_element (back.begin (), back.end ()));
      table += row;
      fputs (row, stdout);
      fflush (stdout);
    }
  }
  printf (
      "\nmedia-timeout %u ms, reconnect-delay default (500 ms, full jitter)\n\n%s",
      media_timeout, table.c_str ());
  if (markdown)
    g_file_set_contents (markdown, table.c_str (), -1, nullptr);
  server.stop ();
  return failures ? 1 : 0;
}
