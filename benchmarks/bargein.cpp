/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bargein-bench: how soon the agent falls silent when it is interrupted.
 *
 * A user pipeline talks to the local realtime server, whose agent speaks a
 * 660 Hz tone. While the agent speaks, it is interrupted, and the time from
 * the interruption reaching the element to the first 10 ms block at the
 * src's pad that no longer carries the tone is measured (the src is live, so
 * its output position is its clock; the figure is an upper bound at the
 * src's 10 ms block size). Two ways, --runs of each:
 *  - the user barges in: the input becomes loud, the server's VAD sends
 *    input_audio_buffer.speech_started; timed from that event's arrival;
 *  - the application calls clear-audio; timed from the call.
 * Compared in the same run: how much agent audio the element dropped at that
 * moment (audio-interrupted), i.e. how much longer the old reply would have
 * gone on playing without the drop.
 *
 * Usage: bargein-bench [--runs 20] [--markdown FILE]
 * See docs/benchmarks/recovery.md. */
#include "bench_session.h"

namespace {

enum class How { UserSpeaks, ClearAudio };

/* The local server's spoken tone. */
bool tone_at (const std::vector<int16_t> &a, size_t i)
{
  return test::tone_at (a, i, 660);
}

struct Sample {
  double silent_ms = -1; /* interruption to the first block without the tone */
  double dropped_ms = 0; /* agent audio the element dropped */
};

bool measure_once (How how, Sample *out)
{
  if (!server.control ("/control/reset", "{}"))
    return false;
  Session s ("api-key=" + server.api_key,
      "audiotestsrc name=user is-live=true freq=440 volume=0");
  s.play ();
  if (!s.wait_event ("session.updated", 15s))
    return false;
  gboolean ok = FALSE;
  g_signal_emit_by_name (s.src, "send-text", "Tell me something long.", TRUE,
      &ok);
  if (!ok || !s.wait_event ("output_audio_buffer.started"))
    return false;
  /* 300 ms into the reply. */
  if (!s.wait ([&] {
        size_t n = s.audio.size ();
        return n > 14400 && tone_at (s.audio, n - 14400) &&
            tone_at (s.audio, n - 960);
      }))
    return false;
  size_t at = 0;
  if (how == How::ClearAudio) {
    at = s.audio_size ();
    g_signal_emit_by_name (s.src, "clear-audio", &ok);
  } else {
    GstElement *user = gst_bin_get_by_name (GST_BIN (s.pipeline), "user");
    g_object_set (user, "volume", 0.5, nullptr);
    gst_object_unref (user);
    if (!s.wait_event ("input_audio_buffer.speech_started"))
      return false;
    std::lock_guard<std::mutex> l (s.m);
    auto it = std::find (s.signalled.begin (), s.signalled.end (),
        "input_audio_buffer.speech_started");
    at = s.event_at[it - s.signalled.begin ()];
  }
  if (!s.wait_audio (at, 24000))
    return false;
  std::lock_guard<std::mutex> l (s.m);
  size_t quiet = at;
  while (quiet < s.audio.size () && tone_at (s.audio, quiet))
    quiet += 480;
  /* The block holding sample `at` was handed out at most 10 ms after the
   * interruption: count it, an upper bound. */
  out->silent_ms = (quiet - at) / 48.0 + 10;
  out->dropped_ms = uint64_prop (s.src, "audio-interrupted") / 48.0;
  return quiet < s.audio.size ();
}

}  // namespace

int main (int argc, char **argv)
{
  unsigned runs = 20;
  const char *markdown = nullptr;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--runs" && i + 1 < argc)
      runs = (unsigned) atoi (argv[++i]);
    else if (a == "--markdown" && i + 1 < argc)
      markdown = argv[++i];
    else {
      fprintf (stderr, "usage: %s [--runs N] [--markdown FILE]\n", argv[0]);
      return 2;
    }
  }
  if (!bench::start (&argc, &argv))
    return 1;
  std::string table =
      "| interruption | runs | agent silent at the src, median | p90 | max "
      "| agent audio dropped, median |\n|---|---|---|---|---|---|\n";
  int failures = 0;
  for (How how : { How::UserSpeaks, How::ClearAudio }) {
    std::vector<double> silent, dropped;
    for (unsigned r = 0; r < runs; r++) {
      Sample smp;
      if (!measure_once (how, &smp)) {
        failures++;
        fprintf (stderr, "run %u failed\n", r);
        continue;
      }
      silent.push_back (smp.silent_ms);
      dropped.push_back (smp.dropped_ms);
    }
    char row[512];
    snprintf (row, sizeof row,
        "| %s | %zu | %.0f ms | %.0f ms | %.0f ms | %.0f ms |\n",
        how == How::UserSpeaks ? "user speaks (speech_started)" :
                                 "application calls clear-audio",
        silent.size (), bench::percentile (silent, 0.5),
        bench::percentile (silent, 0.9),
        silent.empty () ? -1 :
                          *std::max_element (silent.begin (), silent.end ()),
        bench::percentile (dropped, 0.5));
    table += row;
    fputs (row, stdout);
    fflush (stdout);
  }
  printf ("\n%s", table.c_str ());
  if (markdown)
    g_file_set_contents (markdown, table.c_str (), -1, nullptr);
  server.stop ();
  return failures ? 1 : 0;
}
