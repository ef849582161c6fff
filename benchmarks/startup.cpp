/* SPDX-License-Identifier: LGPL-2.1-or-later */
// startup-bench: from the moment a process is spawned to the agent's first
// audio, for what a user runs:
//
//   gst-launch   gst-launch-1.0 ephemeraltokenprovider audiotestsrc
//                is-live=true ! openairealtimesink openairealtimesrc !
//                fdsink fd=3
//   ask-agent    the C++ example, its question a WAV file, its answer on
//                stdout (build/examples/gst-openai-realtime-ask QUESTION.wav -)
//   tool_agent.py  the Python example, asking in text, its answer's audio
//                on fd 3 (examples/tool_agent.py --ask ... --audio-out)
//   bare         connect-bench's bare webrtcbin client, in a fresh process
//                of this program (--kind bare)
//   aiortc       connect-bench's aiortc client, in a fresh interpreter
//                (startup_aiortc.py)
//
// The clock is the parent's, taken just before posix_spawn. The first three
// write the agent's audio to a pipe that the parent reads: the first 10 ms
// block above 0.02 of full scale is the first audio, taken outside the
// process, so nothing is added to what it runs. The last two detect it
// themselves (as in connect-bench) and report their moments since the spawn
// time they are given. Every round starts each client once, in a fresh
// process, the order rotated each round. The phases come from the clients'
// own lines (gst-launch's "Setting pipeline to ...", the examples'
// messages), from the GStreamer debug log of gst_init and of the engine
// (--no-phases leaves it off) and from the bare and aiortc clients' marks.
//
// The files: startup_run (one fresh process, timed), startup_clients (the
// five command lines), startup_report (tables, plot) and this one (options,
// the rounds, the bare child). The local server, the bare client and the
// statistics are connect-bench's.

#include "startup_config.h"

#include "connect_bare.h"
#include "connect_process.h"
#include "connect_report.h"
#include "many_calls_probe.h"
#include "startup_clients.h"
#include "startup_report.h"

#include <gst/gst.h>

#include <glib/gstdio.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

using namespace startup_bench;

namespace {

/* The local server's own default key, so that the examples run with the
 * environment docs/examples.md gives them (no key at all). */
constexpr const char *kServerKey = "local-dev-key";

struct Options {
  int runs = 15;
  int warmup = 1;
  int quiet_wait_s = 20;
  bool verbose = false;
  std::string server_bin, markdown, plot;
  std::vector<std::string> clients = client_names ();
  Setup setup;
};

/* The bare client's process: gst_init, then connect-bench's call, its
 * moments moved from the call's t0 to the spawn. */
int bare_child (const connect_bench::ChildOptions &o, gint64 spawned)
{
  using connect_bench::phases;
  const gint64 init_start = connect_bench::now_us ();
  gst_init (nullptr, nullptr);
  const gint64 init_done = connect_bench::now_us ();
  for (const char *name : { "webrtcbin", "opusenc", "opusdec", "appsink" }) {
    GstElementFactory *f = gst_element_factory_find (name);
    if (!f) {
      printf ("FATAL element %s is missing\n", name);
      return 1;
    }
    gst_object_unref (f);
  }
  connect_bench::RunResult r = connect_bench::run_bare (o);
  /* run_bare gives its moments since its t0 (PLAYING); the phase log still
   * holds them on the monotonic clock, and so gives t0 itself. */
  gint64 t0 = 0;
  const auto marks = phases.take ();
  for (const auto &m : marks)
    if (!r.phases.empty () && m.first == r.phases.front ().first)
      t0 = m.second - std::llround (r.phases.front ().second * 1000.0);
  if (!t0) {
    if (r.error.empty ())
      r.error = "the call reported no moments";
    connect_bench::print_result (1, r);
    return 0;
  }
  const double shift = (t0 - spawned) / 1000.0;
  for (auto &p : r.phases)
    p.second += shift;
  r.phases.insert (r.phases.begin (),
      { { "GStreamer init start", (init_start - spawned) / 1000.0 },
          { "GStreamer init done", (init_done - spawned) / 1000.0 },
          { "call started", shift } });
  if (r.session_ms >= 0)
    r.session_ms += shift;
  if (r.audio_ms >= 0)
    r.audio_ms += shift;
  connect_bench::print_result (1, r);
  return 0;
}

void on_signal (int sig)
{
  kill_running_child ();
  connect_bench::on_interrupt (sig);  // the server, then dies of sig
}

void report_failure (const std::string &what, const RunResult &r,
    const std::string &tail)
{
  fprintf (stderr, "\n  %s: %s\n", what.c_str (), r.error.c_str ());
  if (!tail.empty ())
    fprintf (stderr, "  last lines of its stderr:\n%s", tail.c_str ());
}

/* The machine's CPU at a moment: all of it, this process's, the
 * server's (s). */
struct Load {
  double busy, self, server;
  gint64 at;
};

Load load_now (pid_t server)
{
  return { many::machine_busy (), many::process_cpu (getpid ()),
    many::process_cpu (server), connect_bench::now_us () };
}

/* What the rest of the machine used between a and b, in cores: its busy
 * time less this process's, the server's and the child's (child_s). */
double others (const Load &a, const Load &b, double child_s)
{
  const double wall = (b.at - a.at) / 1e6;
  const double cpu = (b.busy - a.busy) - (b.self - a.self) -
      (b.server - a.server) - child_s;
  return wall > 0 ? std::max (0.0, cpu) / wall : 0.0;
}

/* The machine is shared: up to quiet_s before a start for the other
 * processes to take less than a quarter of a core (sampled 0.3 s at a
 * time). False when they did not. */
bool wait_for_quiet (pid_t server, int quiet_s)
{
  const gint64 until = connect_bench::now_us () + quiet_s * G_USEC_PER_SEC;
  while (quiet_s > 0) {
    const Load before = load_now (server);
    g_usleep (300 * 1000);
    if (others (before, load_now (server), 0) < 0.25)
      return true;
    if (connect_bench::now_us () > until)
      return false;
  }
  return true;
}

bool missing (const std::string &path, const char *what)
{
  if (g_file_test (path.c_str (), G_FILE_TEST_EXISTS))
    return false;
  fprintf (stderr, "startup-bench: %s %s is missing\n", what, path.c_str ());
  return true;
}

int parent_main (Options o)
{
  gchar *self = g_file_read_link ("/proc/self/exe", nullptr);
  o.setup.self = self ? self : "";
  g_free (self);
  if (missing (o.setup.ask_agent, "the C++ example") ||
      missing (o.setup.tool_agent, "the Python example") ||
      missing (o.setup.aiortc_script, "the aiortc client") ||
      missing (o.setup.plugin_dir, "the plugin directory"))
    return 2;
  for (const auto &name : o.clients) {
    Client c;
    if (!make_client (o.setup, name, &c)) {
      fprintf (stderr, "startup-bench: no client called %s\n", name.c_str ());
      return 2;
    }
  }
  signal (SIGINT, on_signal);
  signal (SIGTERM, on_signal);
  signal (SIGPIPE, SIG_IGN);

  gchar *tmp = nullptr;
  int fd = g_file_open_tmp ("startup-question-XXXXXX.wav", &tmp, nullptr);
  if (fd >= 0)
    close (fd);
  o.setup.question_wav = tmp ? tmp : "";
  g_free (tmp);
  if (fd < 0 || !write_question (o.setup.question_wav)) {
    fprintf (stderr, "startup-bench: cannot write the question\n");
    return 1;
  }
  connect_bench::LocalServer server;
  std::string url;
  if (!connect_bench::start_server (o.server_bin, "127.0.0.1", kServerKey,
          &server, &url)) {
    g_unlink (o.setup.question_wav.c_str ());
    return 1;
  }
  o.setup.server = url;
  o.setup.key = kServerKey;
  std::vector<Client> clients (o.clients.size ());
  for (size_t i = 0; i < o.clients.size (); i++)
    make_client (o.setup, o.clients[i], &clients[i]);
  fprintf (stderr,
      "server %s; %d rounds of %zu clients, each a fresh process, after %d "
      "unreported round(s); timeout %d s to first audio\n",
      url.c_str (), o.runs, clients.size (), o.warmup, o.setup.timeout_s);

  std::vector<ClientResult> results (clients.size ());
  for (size_t i = 0; i < clients.size (); i++)
    results[i].name = clients[i].name;
  const size_t n = clients.size ();
  for (int round = -o.warmup; round < o.runs; round++) {
    const bool warm_up = round < 0;
    if (warm_up)
      fprintf (stderr, "warm-up round:");
    else
      fprintf (stderr, "round %2d/%d:", round + 1, o.runs);
    for (size_t j = 0; j < n; j++) {
      const size_t k = (j + static_cast<size_t> (round + o.warmup)) % n;
      std::string tail;
      const bool quiet = wait_for_quiet (server.process.pid, o.quiet_wait_s);
      const Load before = load_now (server.process.pid);
      RunResult r = run_client (clients[k], o.setup.timeout_s, o.verbose,
          &tail);
      const double load = others (before, load_now (server.process.pid),
          std::max (0.0, r.cpu_ms / 1000.0));
      if (r.error.empty ())
        fprintf (stderr, " %s %.0f", clients[k].name.c_str (), r.audio_ms);
      else
        fprintf (stderr, " %s FAILED", clients[k].name.c_str ());
      if (!r.error.empty () || o.verbose)
        report_failure (clients[k].name, r, tail);
      if (!warm_up) {
        results[k].runs.push_back (r);
        results[k].others.push_back (load);
        results[k].busy_starts += !quiet;
      }
    }
    fprintf (stderr, "\n");
  }
  connect_bench::stop_server (&server);
  g_unlink (o.setup.question_wav.c_str ());

  printf ("%s", render (results, false).c_str ());
  int status = 0;
  if (!o.markdown.empty ()) {
    GError *error = nullptr;
    if (!g_file_set_contents (o.markdown.c_str (),
            render (results, true).c_str (), -1, &error)) {
      fprintf (stderr, "startup-bench: cannot write %s: %s\n",
          o.markdown.c_str (), error->message);
      g_error_free (error);
      status = 1;
    }
  }
  if (!o.plot.empty () && !write_plot (o.plot, o.runs, results))
    status = 1;
  for (const auto &c : results)
    for (const auto &r : c.runs)
      if (!r.error.empty ())
        status = 1;
  return status;
}

}  // namespace

int main (int argc, char **argv)
{
  gchar *kind = nullptr, *server = nullptr, *key = nullptr,
        *server_bin = nullptr, *plugin_dir = nullptr, *markdown = nullptr,
        *plot = nullptr, *clients = nullptr, *python = nullptr,
        *aiortc_script = nullptr, *ask_agent = nullptr, *tool_agent = nullptr,
        *registry = nullptr;
  gint runs = 15, timeout_s = 20, warmup = 1, quiet_wait = 20;
  gint64 spawned_at = 0;
  gboolean no_phases = FALSE, verbose = FALSE;
  GOptionEntry entries[] = { { "runs", 'n', 0, G_OPTION_ARG_INT, &runs,
                                 "Rounds: fresh processes per client (15)",
                                 "N" },
    { "clients", 0, 0, G_OPTION_ARG_STRING, &clients,
        "Clients, comma-separated "
        "(gst-launch,ask-agent,tool_agent.py,bare,aiortc); NAME:nolog for "
        "NAME without the debug log",
        "LIST" },
    { "warmup", 0, 0, G_OPTION_ARG_INT, &warmup,
        "Unreported rounds first: the registry, the DTLS key, the page cache "
        "(1)",
        "N" },
    { "quiet-wait", 0, 0, G_OPTION_ARG_INT, &quiet_wait,
        "Before each start, up to S s for the other processes on the machine "
        "to take less than a quarter of a core; 0: no wait (20)",
        "S" },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout_s,
        "Seconds from the spawn to the first audio (20)", "S" },
    { "markdown", 'o', 0, G_OPTION_ARG_FILENAME, &markdown,
        "Also write the tables as Markdown to FILE", "FILE" },
    { "plot", 0, 0, G_OPTION_ARG_FILENAME, &plot,
        "Plot the distributions to FILE (.svg or .png; gnuplot)", "FILE" },
    { "no-phases", 0, 0, G_OPTION_ARG_NONE, &no_phases,
        "No GStreamer debug log in the clients (fewer phases)", nullptr },
    { "server-bin", 0, 0, G_OPTION_ARG_FILENAME, &server_bin,
        "gst-openai-realtime-server to start (env REALTIME_SERVER, else this build's)",
        "PATH" },
    { "plugin-dir", 0, 0, G_OPTION_ARG_FILENAME, &plugin_dir,
        "Where libgstopenairealtime.so is (this build's)", "DIR" },
    { "registry", 0, 0, G_OPTION_ARG_FILENAME, &registry,
        "The GStreamer clients' registry file (this build's own)", "FILE" },
    { "ask-agent", 0, 0, G_OPTION_ARG_FILENAME, &ask_agent,
        "The C++ example (this build's examples/gst-openai-realtime-ask)",
        "PATH" },
    { "tool-agent", 0, 0, G_OPTION_ARG_FILENAME, &tool_agent,
        "The Python example (this source tree's examples/tool_agent.py)",
        "PATH" },
    { "python", 0, 0, G_OPTION_ARG_FILENAME, &python,
        "Python with Debian's python3-aiortc (/usr/bin/python3)", "PATH" },
    { "aiortc-script", 0, 0, G_OPTION_ARG_FILENAME, &aiortc_script,
        "The aiortc client (benchmarks/startup_aiortc.py)", "PATH" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose,
        "Show every start's stderr", nullptr },
    { "kind", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &kind,
        "(internal) run the bare client once", "bare" },
    { "server", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &server,
        "(internal) the server's base URL", "URL" },
    { "key", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &key,
        "(internal) the server's API key", "KEY" },
    { "spawned-at", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT64, &spawned_at,
        "(internal) the parent's monotonic clock at the spawn, µs", "US" },
    {} };
  GOptionContext *ctx = g_option_context_new (
      "- time from a process's spawn to the agent's first audio");
  g_option_context_add_main_entries (ctx, entries, nullptr);
  GError *error = nullptr;
  int status = 2;
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    fprintf (stderr, "startup-bench: %s\n", error->message);
    g_error_free (error);
  } else if (runs < 1 || timeout_s < 1 || warmup < 0) {
    fprintf (stderr, "startup-bench: --runs and --timeout must be positive\n");
  } else if (kind) {
    connect_bench::ChildOptions o;
    o.kind = kind;
    o.server = server ? server : "";
    o.key = key ? key : "";
    o.runs = 1;
    o.timeout_s = timeout_s;
    if (o.kind != "bare" || o.server.empty () || spawned_at <= 0)
      fprintf (stderr,
          "startup-bench: --kind bare needs --server and --spawned-at\n");
    else
      status = bare_child (o, spawned_at);
  } else {
    Options o;
    o.runs = runs;
    o.warmup = warmup;
    o.quiet_wait_s = std::max (0, quiet_wait);
    o.verbose = verbose;
    o.markdown = markdown ? markdown : "";
    o.plot = plot ? plot : "";
    const char *env_server = g_getenv ("REALTIME_SERVER");
    o.server_bin = server_bin     ? server_bin :
        env_server && *env_server ? env_server :
                                    STARTUP_BENCH_SERVER_BIN;
    if (clients) {
      o.clients.clear ();
      gchar **list = g_strsplit (clients, ",", -1);
      for (gchar **c = list; *c; c++)
        if (**c)
          o.clients.emplace_back (*c);
      g_strfreev (list);
    }
    Setup &s = o.setup;
    s.plugin_dir = plugin_dir ? plugin_dir : STARTUP_BENCH_PLUGIN_DIR;
    s.registry = registry ? registry : STARTUP_BENCH_REGISTRY;
    s.ask_agent = ask_agent ? ask_agent : STARTUP_BENCH_ASK_AGENT;
    s.tool_agent = tool_agent ? tool_agent : STARTUP_BENCH_TOOL_AGENT;
    /* Debian's python3-aiortc is in the system Python's dist-packages. */
    s.python = python ? python : "/usr/bin/python3";
    s.aiortc_script = aiortc_script ? aiortc_script :
                                      STARTUP_BENCH_AIORTC_SCRIPT;
    s.timeout_s = timeout_s;
    s.phases = !no_phases;
    if (o.clients.empty ())
      fprintf (stderr, "startup-bench: --clients names none\n");
    else
      status = parent_main (o);
  }
  g_option_context_free (ctx);
  for (gchar *p : { kind, server, key, server_bin, plugin_dir, markdown, plot,
           clients, python, aiortc_script, ask_agent, tool_agent, registry })
    g_free (p);
  return status;
}
