/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* many-calls-bench: how many concurrent calls one process holds.
 *
 * Each call is a user pipeline of its own,
 *   ephemeraltokenprovider audiotestsrc is-live=true freq=F !
 *     openairealtimesink  openairealtimesrc ! appsink
 * (a call is shared by the elements of one top-level pipeline, so N
 * pipelines are N calls), against the local realtime server run as its own
 * process with --media minimal (nothing decoded, a pre-encoded tone replayed
 * continuously), so that what it costs is not the client's. The number of
 * calls is ramped through --calls; the calls of each step are started one
 * after the other while the earlier ones run. Once all are connected (and
 * --settle seconds more, and up to --quiet-wait seconds for the other
 * processes on the machine to go quiet), each step holds for --window seconds and reports:
 *  - CPU per call: the process's utime+stime over the window / N / window,
 *    and the server's own, separately (both share this machine's cores);
 *  - memory per added call: VmRSS after this step's window minus after the
 *    previous one, over the calls added;
 *  - late or lost agent audio at each src: buffers reaching the appsink more
 *    than --late-ms after their running time plus the pipeline's latency,
 *    holes in their timestamps, silence the src inserted for want of audio
 *    (the server never stops sending) and RTP packets lost per webrtcbin;
 *  - connect time (PLAYING to session.created) of the calls of the step;
 *  - CPU and count of this process's threads, by thread name.
 * The ramp stops after the first step with a call that did not connect or
 * dropped, or with more than --max-late % late or lost audio.
 *
 * Usage: many-calls-bench [--calls 1,8,32,64,96,128] [--window 20]
 *          [--settle 3] [--late-ms 20] [--max-late 5] [--quiet-wait 60]
 *          [--timeout 1800]
 *          [--markdown FILE] [--csv FILE] [--server-args "..."]
 * See docs/benchmarks/many-calls.md. */
#include "../tests/local_server.h"
#include "many_calls_probe.h"
#include "recovery_config.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <sstream>
#include <thread>
#include <vector>

namespace {

test::LocalServer server;

struct Options {
  std::vector<unsigned> calls = { 1, 8, 32, 64, 96, 128 };
  unsigned window_s = 20;
  unsigned settle_s = 3;
  unsigned late_ms = 20;
  double max_late_pct = 5;
  unsigned timeout_s = 1800;
  unsigned connect_timeout_s = 20;
  unsigned quiet_wait_s = 60;
  std::string markdown, csv;
  std::string server_args = "--media minimal --no-echo";
};

/* One call: its pipeline and what it reported. */
struct Call {
  unsigned index;
  GstElement *pipeline = nullptr;
  GstElement *src = nullptr;
  GstElement *out = nullptr;
  many::AudioProbe probe;
  gint64 play_us = 0;

  std::mutex m;
  std::condition_variable cv;
  gint64 created_us = 0; /* session.created */
  std::string error;     /* the first error on its bus */

  Call (unsigned i, const std::string &desc, GstClockTime late_ns) : index (i)
  {
    GError *err = nullptr;
    pipeline = gst_parse_launch (desc.c_str (), &err);
    if (!pipeline) {
      fprintf (stderr, "call %u: cannot build its pipeline: %s\n", i,
          err ? err->message : "?");
      abort ();
    }
    g_clear_error (&err);
    src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
    out = gst_bin_get_by_name (GST_BIN (pipeline), "out");
    probe.late_ns = late_ns;
    GstAppSinkCallbacks cb = {};
    cb.new_sample = many::AudioProbe::new_sample;
    gst_app_sink_set_callbacks (GST_APP_SINK (out), &cb, &probe, nullptr);
    g_signal_connect (src, "server-event", G_CALLBACK (on_event), this);
    GstBus *bus = gst_element_get_bus (pipeline);
    gst_bus_set_sync_handler (bus, on_bus, this, nullptr);
    gst_object_unref (bus);
  }

  ~Call ()
  {
    gst_element_set_state (pipeline, GST_STATE_NULL);
    gst_object_unref (src);
    gst_object_unref (out);
    gst_object_unref (pipeline);
  }

  static void on_event (GstElement *, const char *type, const char *,
      gpointer data)
  {
    auto *self = static_cast<Call *> (data);
    if (g_strcmp0 (type, "session.created") != 0)
      return;
    std::lock_guard<std::mutex> l (self->m);
    if (!self->created_us)
      self->created_us = g_get_monotonic_time ();
    self->cv.notify_all ();
  }

  static GstBusSyncReply on_bus (GstBus *, GstMessage *msg, gpointer data)
  {
    auto *self = static_cast<Call *> (data);
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      GError *err = nullptr;
      gst_message_parse_error (msg, &err, nullptr);
      std::lock_guard<std::mutex> l (self->m);
      if (self->error.empty ())
        self->error = std::string (GST_OBJECT_NAME (GST_MESSAGE_SRC (msg))) +
            ": " + err->message;
      g_error_free (err);
      self->cv.notify_all ();
    }
    gst_message_unref (msg);
    return GST_BUS_DROP;
  }

  void play ()
  {
    play_us = g_get_monotonic_time ();
    gst_element_set_state (pipeline, GST_STATE_PLAYING);
  }

  /* session.created or an error, within t. */
  bool wait_created (std::chrono::seconds t)
  {
    std::unique_lock<std::mutex> l (m);
    cv.wait_for (l, t, [&] { return created_us || !error.empty (); });
    return created_us && error.empty ();
  }

  double connect_ms ()
  {
    std::lock_guard<std::mutex> l (m);
    return created_us ? (created_us - play_us) / 1000.0 : -1;
  }

  std::string state ()
  {
    gint v = 0;
    g_object_get (src, "connection-state", &v, nullptr);
    GParamSpec *ps = g_object_class_find_property (G_OBJECT_GET_CLASS (src),
        "connection-state");
    GEnumValue *ev = g_enum_get_value (G_PARAM_SPEC_ENUM (ps)->enum_class, v);
    std::string s = ev ? ev->value_nick : "?";
    std::lock_guard<std::mutex> l (m);
    return s + (error.empty () ? "" : " (" + error + ")");
  }

  /* The pipeline's latency upstream of the appsink (the src's). */
  void query_latency ()
  {
    GstQuery *q = gst_query_new_latency ();
    GstPad *pad = gst_element_get_static_pad (out, "sink");
    if (gst_pad_peer_query (pad, q)) {
      gboolean live = FALSE;
      GstClockTime min = 0, max = 0;
      gst_query_parse_latency (q, &live, &min, &max);
      probe.latency_ns.store (min);
    }
    gst_object_unref (pad);
    gst_query_unref (q);
  }

  guint64 uint64_prop (const char *name)
  {
    guint64 v = 0;
    g_object_get (src, name, &v, nullptr);
    return v;
  }

  gint64 packets_lost ()
  {
    GstStructure *st = nullptr;
    g_object_get (src, "stats", &st, nullptr);
    gint64 lost = 0;
    if (st) {
      gst_structure_get_int64 (st, "audio-packets-lost", &lost);
      gst_structure_free (st);
    }
    return lost;
  }
};

/* A call's counters at one moment. */
struct Counters {
  guint64 buffers, late, holes, hole_ns, silence;
  gint64 lost;
  static Counters of (Call &c)
  {
    return { c.probe.buffers.load (), c.probe.late.load (),
      c.probe.holes.load (), c.probe.hole_ns.load (),
      c.uint64_prop ("silence-inserted"), c.packets_lost () };
  }
};

struct Step {
  unsigned calls = 0, added = 0, connect_failures = 0, dropped = 0;
  double connect_median = -1, connect_p90 = -1, connect_max = -1;
  double client_cpu_pct = 0; /* of one core, the whole process */
  double server_cpu_pct = 0;
  double other_cpu_pct = 0;     /* every other process on the machine */
  double cpu_ms_per_call_s = 0; /* client CPU ms per call per second */
  double server_ms_per_call_s = 0;
  double rss_mib = 0, mib_per_added = 0;
  guint64 frames = 0, late = 0, holes = 0, silence_frames = 0;
  gint64 lost_packets = 0;
  double late_pct = 0, lost_pct = 0, worst_late_ms = 0;
  unsigned threads = 0;
  std::map<std::string, many::ThreadKind> kinds, server_kinds;
  bool broken = false;
  std::string why;
};

double percentile (std::vector<double> v, double p)
{
  if (v.empty ())
    return -1;
  std::sort (v.begin (), v.end ());
  double at = p * (v.size () - 1);
  size_t lo = (size_t) at, hi = std::min (lo + 1, v.size () - 1);
  return v[lo] + (v[hi] - v[lo]) * (at - lo);
}

/* The global bound: whatever hangs, the benchmark ends, and so does the
 * server it started. */
void on_alarm (int)
{
  static const char msg[] =
      "many-calls-bench: global timeout reached, giving up\n";
  if (write (2, msg, sizeof msg - 1) < 0) {
  }
  if (server.pid > 0)
    kill (server.pid, SIGTERM);
  _exit (3);
}

bool parse_list (const char *arg, std::vector<unsigned> *out)
{
  out->clear ();
  std::stringstream in (arg);
  std::string item;
  while (std::getline (in, item, ','))
    if (int v = atoi (item.c_str ()); v > 0)
      out->push_back ((unsigned) v);
  std::sort (out->begin (), out->end ());
  return !out->empty ();
}

bool parse (int argc, char **argv, Options *o)
{
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (!v)
      return false;
    i++;
    if (a == "--calls") {
      if (!parse_list (v, &o->calls))
        return false;
    } else if (a == "--window")
      o->window_s = (unsigned) atoi (v);
    else if (a == "--settle")
      o->settle_s = (unsigned) atoi (v);
    else if (a == "--late-ms")
      o->late_ms = (unsigned) atoi (v);
    else if (a == "--max-late")
      o->max_late_pct = g_ascii_strtod (v, nullptr);
    else if (a == "--quiet-wait")
      o->quiet_wait_s = (unsigned) atoi (v);
    else if (a == "--timeout")
      o->timeout_s = (unsigned) atoi (v);
    else if (a == "--markdown")
      o->markdown = v;
    else if (a == "--csv")
      o->csv = v;
    else if (a == "--server-args")
      o->server_args = v;
    else
      return false;
  }
  return o->window_s > 0;
}

std::string call_description (unsigned i)
{
  /* A different tone per call: each call's audio is its own. */
  return "ephemeraltokenprovider api-base=" + server.base +
      " api-key=" + server.api_key +
      " audiotestsrc is-live=true volume=0.3 freq=" +
      std::to_string (300 + (i % 50) * 10) +
      " ! openairealtimesink openairealtimesrc name=src"
      " ! appsink name=out sync=false";
}

/* The machine is shared: before a window, up to --quiet-wait seconds for
 * the other processes to take less than a quarter of a core (sampled over
 * one second at a time), so that the window measures the calls, not a
 * build next door. The window's own "other" column says how that went. */
void wait_for_quiet (const Options &o)
{
  gint64 until = g_get_monotonic_time () + o.quiet_wait_s * G_USEC_PER_SEC;
  double other = 0;
  while (g_get_monotonic_time () < until) {
    double busy0 = many::machine_busy (), own0 = many::process_cpu (getpid ()),
           srv0 = many::process_cpu (server.pid);
    std::this_thread::sleep_for (std::chrono::seconds (1));
    other = many::machine_busy () - busy0 -
        (many::process_cpu (getpid ()) - own0) -
        (many::process_cpu (server.pid) - srv0);
    if (other < 0.25)
      return;
  }
  if (o.quiet_wait_s)
    printf ("  other processes still took %.0f %% of a core after %u s; "
            "measuring anyway\n",
        100 * other, o.quiet_wait_s);
}

/* Ramps up to o.calls[step] calls and measures them over the window. */
Step run_step (const Options &o, unsigned target,
    std::vector<std::unique_ptr<Call>> &calls, long *rss_before)
{
  Step s;
  s.calls = target;
  s.added = target - (unsigned) calls.size ();
  std::vector<double> connects;
  while (calls.size () < target) {
    unsigned i = (unsigned) calls.size ();
    calls.push_back (std::make_unique<Call> (i, call_description (i),
        o.late_ms * GST_MSECOND));
    Call &c = *calls.back ();
    c.play ();
    if (!c.wait_created (std::chrono::seconds (o.connect_timeout_s))) {
      s.connect_failures++;
      fprintf (stderr,
          "call %u of %u: no session.created within %u s; state %s\n", i + 1,
          target, o.connect_timeout_s, c.state ().c_str ());
      continue;
    }
    connects.push_back (c.connect_ms ());
  }
  s.connect_median = percentile (connects, 0.5);
  s.connect_p90 = percentile (connects, 0.9);
  s.connect_max = connects.empty () ?
      -1 :
      *std::max_element (connects.begin (), connects.end ());
  if (s.connect_failures) {
    s.broken = true;
    s.why = std::to_string (s.connect_failures) + " call(s) did not connect";
    return s;
  }
  /* The jitter buffers fill and the first-call costs settle before the
   * window opens. Timed, not a synchronisation: nothing waits on it. */
  std::this_thread::sleep_for (std::chrono::seconds (o.settle_s));
  wait_for_quiet (o);
  std::vector<Counters> before;
  for (auto &c : calls) {
    c->query_latency ();
    c->probe.reset_max ();
    before.push_back (Counters::of (*c));
  }
  auto threads_before = many::threads_now (getpid ());
  auto server_before = many::threads_now (server.pid);
  double cpu0 = many::process_cpu (getpid ());
  double srv0 = many::process_cpu (server.pid);
  double busy0 = many::machine_busy ();
  gint64 t0 = g_get_monotonic_time ();
  std::this_thread::sleep_for (std::chrono::seconds (o.window_s));
  double secs = (g_get_monotonic_time () - t0) / 1e6;
  double cpu = many::process_cpu (getpid ()) - cpu0;
  double srv = many::process_cpu (server.pid) - srv0;
  double busy = many::machine_busy () - busy0;
  s.other_cpu_pct = std::max (0.0, 100 * (busy - cpu - srv) / secs);
  auto threads_after = many::threads_now (getpid ());
  s.kinds = many::thread_cpu (threads_before, threads_after);
  s.server_kinds = many::thread_cpu (server_before,
      many::threads_now (server.pid));
  s.threads = (unsigned) threads_after.size ();
  s.client_cpu_pct = 100 * cpu / secs;
  s.server_cpu_pct = 100 * srv / secs;
  s.cpu_ms_per_call_s = 1000 * cpu / secs / target;
  s.server_ms_per_call_s = 1000 * srv / secs / target;
  long rss = many::rss_kib (getpid ());
  s.rss_mib = rss / 1024.0;
  s.mib_per_added = s.added ? (rss - *rss_before) / 1024.0 / s.added : 0;
  *rss_before = rss;
  for (size_t i = 0; i < calls.size (); i++) {
    Call &c = *calls[i];
    Counters a = Counters::of (c);
    const Counters &b = before[i];
    s.frames += a.buffers - b.buffers;
    s.late += a.late - b.late;
    s.holes += a.holes - b.holes;
    s.silence_frames += (a.silence - b.silence) / 480;
    s.lost_packets += a.lost - b.lost;
    s.worst_late_ms = std::max (s.worst_late_ms,
        c.probe.max_late_ns.load () / 1e6);
    std::lock_guard<std::mutex> l (c.m);
    if (!c.error.empty () || a.buffers == b.buffers) {
      s.dropped++;
      fprintf (stderr, "call %zu of %u: %s during the window\n", i + 1, target,
          a.buffers == b.buffers ? "no audio" : c.error.c_str ());
    }
  }
  /* What a 10 ms block the src gave late or not at all costs the listener:
   * holes count their missing blocks, inserted silence its blocks. */
  guint64 missing = 0;
  for (size_t i = 0; i < calls.size (); i++)
    missing += (calls[i]->probe.hole_ns.load () - before[i].hole_ns) /
        (10 * GST_MSECOND);
  guint64 expected = s.frames + missing;
  s.late_pct = expected ? 100.0 * s.late / expected : 0;
  s.lost_pct = expected ? 100.0 * (missing + s.silence_frames) / expected : 0;
  if (s.dropped) {
    s.broken = true;
    s.why = std::to_string (s.dropped) + " call(s) failed during the window";
  } else if (s.late_pct + s.lost_pct > o.max_late_pct) {
    s.broken = true;
    s.why = "late or lost audio above " +
        std::to_string ((int) o.max_late_pct) + " %";
  }
  return s;
}

std::vector<std::pair<std::string, many::ThreadKind>> by_cpu (
    const std::map<std::string, many::ThreadKind> &m)
{
  std::vector<std::pair<std::string, many::ThreadKind>> v (m.begin (),
      m.end ());
  std::sort (v.begin (), v.end (),
      [] (auto &a, auto &b) { return a.second.cpu_s > b.second.cpu_s; });
  return v;
}

void print_step (const Step &s)
{
  printf (
      "%u calls (+%u): connect median %.0f ms p90 %.0f max %.0f; client "
      "CPU %.0f %% of a core (%.1f ms/s per call), server %.0f %% "
      "(%.1f ms/s per call), other processes %.0f %%; RSS %.1f MiB (%.2f MiB per added call); "
      "late %.3f %%, lost %.3f %% (%llu holes, %llu silent blocks, %lld "
      "RTP packets lost), worst %.1f ms beyond latency; %u threads\n",
      s.calls, s.added, s.connect_median, s.connect_p90, s.connect_max,
      s.client_cpu_pct, s.cpu_ms_per_call_s, s.server_cpu_pct,
      s.server_ms_per_call_s, s.other_cpu_pct, s.rss_mib, s.mib_per_added,
      s.late_pct, s.lost_pct, (unsigned long long) s.holes,
      (unsigned long long) s.silence_frames, (long long) s.lost_packets,
      s.worst_late_ms, s.threads);
  for (auto *which : { &s.kinds, &s.server_kinds }) {
    printf ("  %s threads by name (count, CPU s over the window):",
        which == &s.kinds ? "client" : "server");
    auto kinds = by_cpu (*which);
    for (size_t i = 0; i < kinds.size () && i < 10; i++)
      printf (" %s×%u %.2f;", kinds[i].first.c_str (), kinds[i].second.threads,
          kinds[i].second.cpu_s);
    printf ("\n");
  }
  if (s.broken)
    printf ("  ramp stops: %s\n", s.why.c_str ());
  fflush (stdout);
}

std::string tables (const std::vector<Step> &steps, const Options &o)
{
  char row[1024];
  std::string t =
      "| calls | connect median / p90 / max (ms) | client CPU per call "
      "(ms/s) | client CPU (% of a core) | server CPU (% of a core) | other "
      "processes (% of a core) | RSS (MiB) | per added call (MiB) | late (%) "
      "| lost (%) | worst beyond latency (ms) | threads "
      "|\n|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const Step &s : steps) {
    snprintf (row, sizeof row,
        "| %u | %.0f / %.0f / %.0f | %.1f | %.0f | %.0f | %.0f | %.1f | %.2f "
        "| %.3f | %.3f | %.1f | %u |\n",
        s.calls, s.connect_median, s.connect_p90, s.connect_max,
        s.cpu_ms_per_call_s, s.client_cpu_pct, s.server_cpu_pct,
        s.other_cpu_pct, s.rss_mib, s.mib_per_added, s.late_pct, s.lost_pct,
        s.worst_late_ms, s.threads);
    t += row;
  }
  /* Where the CPU goes at the largest step that ran its window. */
  for (auto it = steps.rbegin (); it != steps.rend (); ++it) {
    if (it->kinds.empty ())
      continue;
    auto kinds = by_cpu (it->kinds);
    snprintf (row, sizeof row,
        "\nThreads at %u calls (%u in all), by name, over the %u s window:\n\n"
        "| thread | count | per call | CPU (%% of a core) |\n|---|---|---|---|\n",
        it->calls, it->threads, o.window_s);
    t += row;
    for (size_t i = 0; i < kinds.size () && i < 12; i++) {
      snprintf (row, sizeof row, "| `%s` | %u | %.1f | %.1f |\n",
          kinds[i].first.c_str (), kinds[i].second.threads,
          double (kinds[i].second.threads) / it->calls,
          100 * kinds[i].second.cpu_s / o.window_s);
      t += row;
    }
    break;
  }
  return t;
}

}  // namespace

int main (int argc, char **argv)
{
  Options o;
  if (!parse (argc, argv, &o)) {
    fprintf (stderr,
        "usage: %s [--calls 1,8,32,64] [--window S] [--settle S] "
        "[--late-ms MS] [--max-late PCT] [--quiet-wait S] [--timeout S] "
        "[--markdown FILE] "
        "[--csv FILE] [--server-args ARGS]\n",
        argv[0]);
    return 2;
  }
  signal (SIGALRM, on_alarm);
  alarm (o.timeout_s);
  if (!g_getenv ("REALTIME_SERVER"))
    g_setenv ("REALTIME_SERVER", RECOVERY_BENCH_SERVER_BIN, TRUE);
  if (!g_getenv ("GST_PLUGIN_PATH_1_0"))
    g_setenv ("GST_PLUGIN_PATH_1_0", RECOVERY_BENCH_PLUGIN_DIR, TRUE);
  gst_init (&argc, &argv);
  if (!server.start (o.server_args)) {
    fprintf (stderr, "the local realtime server did not start\n");
    return 1;
  }
  printf ("server: %s (pid %d), its own process\n", o.server_args.c_str (),
      (int) server.pid);
  std::vector<std::unique_ptr<Call>> calls;
  std::vector<Step> steps;
  long rss = many::rss_kib (getpid ());
  printf ("RSS before the first call: %.1f MiB\n", rss / 1024.0);
  for (unsigned n : o.calls) {
    if (n <= calls.size ())
      continue;
    steps.push_back (run_step (o, n, calls, &rss));
    print_step (steps.back ());
    if (steps.back ().broken)
      break;
  }
  std::string t = tables (steps, o);
  printf ("\n%s", t.c_str ());
  if (!o.markdown.empty ())
    g_file_set_contents (o.markdown.c_str (), t.c_str (), -1, nullptr);
  if (!o.csv.empty ()) {
    std::string csv = "# calls client_ms_per_call_s server_ms_per_call_s "
                      "late_pct lost_pct mib_per_added rss_mib connect_median "
                      "client_pct server_pct other_pct\n";
    for (const Step &s : steps) {
      if (s.kinds.empty ())
        continue; /* broken before its window */
      char row[256];
      snprintf (row, sizeof row,
          "%u %.2f %.2f %.4f %.4f %.3f %.1f %.1f %.1f %.1f %.1f\n", s.calls,
          s.cpu_ms_per_call_s, s.server_ms_per_call_s, s.late_pct, s.lost_pct,
          s.mib_per_added, s.rss_mib, s.connect_median, s.client_cpu_pct,
          s.server_cpu_pct, s.other_cpu_pct);
      csv += row;
    }
    g_file_set_contents (o.csv.c_str (), csv.c_str (), -1, nullptr);
  }
  gint64 t0 = g_get_monotonic_time ();
  calls.clear ();
  printf ("%zu calls hung up in %.1f s\n",
      steps.empty () ? 0 : (size_t) steps.back ().calls,
      (g_get_monotonic_time () - t0) / 1e6);
  server.stop ();
  /* Breaking is what the ramp looks for; failing at the first step is not. */
  return steps.empty () || (steps.size () == 1 && steps[0].broken) ? 1 : 0;
}
