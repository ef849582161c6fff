/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "connect_parent.h"

#include "connect_hold.h"
#include "connect_plot.h"
#include "connect_process.h"
#include "connect_report.h"

#include <glib/gstdio.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace connect_bench {

namespace {

/* What one child process reported. */
struct ChildResult {
  std::vector<RunResult> runs;
  double cpu_s = -1;
  std::string failure;  // the process itself failed
  std::string stderr_tail;
};

std::vector<std::string> child_args (const ParentOptions &o,
    const std::string &self, const std::string &kind, int runs)
{
  std::vector<std::string> args;
  if (kind == "aiortc")
    args = { o.python, o.aiortc_script };
  else
    args = { self, "--kind", kind };
  for (const auto &a : { std::string ("--runs"), std::to_string (runs),
           std::string ("--server"), o.server_url, std::string ("--key"), o.key,
           std::string ("--timeout"), std::to_string (o.timeout_s) })
    args.push_back (a);
  if (!o.phases)
    args.push_back ("--no-phases");
  if (o.hold_s > 0)
    for (const auto &a : { std::string ("--hold"), std::to_string (o.hold_s),
             std::string ("--settle"), std::to_string (o.settle_s) })
      args.push_back (a);
  return args;
}

/* Runs one client kind in a process of its own (fresh DTLS certificate,
 * fresh caches) for `runs` calls, and collects its lines. on_run sees each
 * call as it is reported. */
ChildResult run_child (const ParentOptions &o, const std::string &self,
    const std::string &kind, int runs,
    const std::function<void (const RunResult &)> &on_run)
{
  ChildResult c;
  gchar *tmp = nullptr;
  int fd = g_file_open_tmp ("connect-bench-XXXXXX.log", &tmp, nullptr);
  if (fd >= 0)
    close (fd);
  std::string log_path = tmp ? tmp : "/dev/null";
  g_free (tmp);

  std::vector<std::pair<std::string, std::string>> env;
  if (!o.plugin_dir.empty ())
    env.emplace_back ("GST_PLUGIN_PATH", o.plugin_dir);
  Spawned child;
  std::string error;
  if (!spawn (child_args (o, self, kind, runs), env, log_path, &child,
          &error)) {
    c.failure = error;
    g_unlink (log_path.c_str ());
    return c;
  }
  /* Python's imports and gst_init come on top of the calls. */
  const int held = o.hold_s > 0 ? o.settle_s + o.hold_s : 0;
  const gint64 deadline = now_us () +
      static_cast<gint64> (runs) * (o.timeout_s + held + 5) * G_USEC_PER_SEC +
      30 * G_USEC_PER_SEC;
  bool in_time = read_lines (child.out, deadline,
      [&] (const std::string &line) {
        RunResult r;
        if (parse_run_line (line, &r)) {
          /* A held call counts only if its audio flowed both ways. */
          if (o.hold_s > 0 && r.error.empty ())
            r.error = window_fault (r, o.hold_s);
          c.runs.push_back (r);
          on_run (r);
        } else if (line.rfind ("FATAL ", 0) == 0) {
          c.failure = line.substr (6);
        }
        return true;
      });
  close (child.out);
  if (!in_time) {
    kill (child.pid, SIGKILL);
    c.failure = "the child did not finish in time (killed)";
  }
  int status = 0;
  struct rusage ru;
  if (wait4 (child.pid, &status, 0, &ru) == child.pid) {
    c.cpu_s = cpu_seconds (ru);
    if (c.failure.empty () &&
        !(WIFEXITED (status) && WEXITSTATUS (status) == 0))
      c.failure = WIFSIGNALED (status) ?
          std::string ("the child died of signal ") +
              strsignal (WTERMSIG (status)) :
          "the child exited with status " +
              std::to_string (WEXITSTATUS (status));
  }
  forget_child (child.pid);
  if (c.failure.empty () && static_cast<int> (c.runs.size ()) < runs)
    c.failure = "only " + std::to_string (c.runs.size ()) + " of " +
        std::to_string (runs) + " calls reported";
  bool any_error = !c.failure.empty ();
  for (const auto &r : c.runs)
    any_error = any_error || !r.error.empty ();
  if (any_error || o.verbose)
    c.stderr_tail = tail_of_file (log_path, o.verbose ? 200 : 25);
  g_unlink (log_path.c_str ());
  return c;
}

/* Says what went wrong in a child, with the end of its stderr. */
void report_child (const ParentOptions &o, const std::string &what,
    const ChildResult &c)
{
  for (size_t i = 0; i < c.runs.size (); i++)
    if (!c.runs[i].error.empty ())
      fprintf (stderr, "  %s, call %zu: %s\n", what.c_str (), i + 1,
          c.runs[i].error.c_str ());
  if (!c.failure.empty ())
    fprintf (stderr, "  %s: %s\n", what.c_str (), c.failure.c_str ());
  if (!c.stderr_tail.empty () &&
      (o.verbose || !c.failure.empty () || c.runs.empty () ||
          !c.runs.back ().error.empty ()))
    fprintf (stderr, "  last lines of its stderr:\n%s\n",
        c.stderr_tail.c_str ());
}

void progress (const RunResult &r)
{
  fprintf (stderr, "%s", r.error.empty () ? "." : "x");
}

/* One fresh process per client per round, for one call; the order of the
 * clients rotated each round, so that none always comes first after the
 * server's idle time (or last, after the others' teardown). */
void run_cold (const ParentOptions &o, const std::string &self,
    std::vector<KindResult> *results)
{
  const size_t n = results->size ();
  for (int round = 0; round < o.runs; round++) {
    fprintf (stderr, "cold round %2d/%d:", round + 1, o.runs);
    for (size_t j = 0; j < n; j++) {
      KindResult &k = (*results)[(j + round) % n];
      fprintf (stderr, " %s ", k.kind.c_str ());
      k.expected_cold++;
      ChildResult c = run_child (o, self, k.kind, 1, progress);
      if (!c.runs.empty ())
        k.cold.push_back (c.runs.front ());
      if (c.cpu_s >= 0)
        k.cold_process_cpu_s.push_back (c.cpu_s);
      if (!c.failure.empty ())
        k.failures.push_back (
            "round " + std::to_string (round + 1) + ": " + c.failure);
      if (!c.failure.empty () || c.runs.empty () ||
          !c.runs.front ().error.empty () || o.verbose) {
        fprintf (stderr, "\n");
        report_child (o, k.kind + " round " + std::to_string (round + 1), c);
      }
    }
    fprintf (stderr, "\n");
  }
}

/* N calls in one process per client; in both modes the first call is left
 * out (the cold rounds measure it better), in warm mode it is the cold one. */
void run_warm (const ParentOptions &o, const std::string &self,
    std::vector<KindResult> *results)
{
  for (auto &k : *results) {
    fprintf (stderr, "warm, %d calls in one process: %-8s ", o.runs,
        k.kind.c_str ());
    ChildResult c = run_child (o, self, k.kind, o.runs, progress);
    fprintf (stderr, "\n");
    for (size_t i = 0; i < c.runs.size (); i++) {
      if (i > 0)
        k.warm.push_back (c.runs[i]);
      else if (o.mode == Mode::kWarm)
        k.cold.push_back (c.runs[i]);
    }
    k.expected_warm = o.runs - 1;
    if (o.mode == Mode::kWarm)
      k.expected_cold = 1;
    k.warm_process_cpu_s = c.cpu_s;
    if (!c.failure.empty ())
      k.failures.push_back ("warm process: " + c.failure);
    bool any_error = !c.failure.empty ();
    for (const auto &r : c.runs)
      any_error = any_error || !r.error.empty ();
    if (any_error || o.verbose)
      report_child (o, k.kind + " warm", c);
  }
}

}  // namespace

int parent_main (ParentOptions o)
{
  gchar *self_path = g_file_read_link ("/proc/self/exe", nullptr);
  if (!self_path) {
    fprintf (stderr, "connect-bench: cannot find its own executable\n");
    return 2;
  }
  const std::string self = self_path;
  g_free (self_path);
  signal (SIGINT, on_interrupt);
  signal (SIGTERM, on_interrupt);
  signal (SIGPIPE, SIG_IGN);

  for (const auto &k : o.kinds)
    if (k == "aiortc" &&
        !g_file_test (o.aiortc_script.c_str (), G_FILE_TEST_IS_REGULAR)) {
      fprintf (stderr, "connect-bench: the aiortc client %s is missing\n",
          o.aiortc_script.c_str ());
      return 2;
    }

  LocalServer server;
  if (o.server_url.empty ()) {
    if (o.address.empty ())
      o.address = "127.0.0.1";
    if (!start_server (o.server_bin, o.address, o.key, &server, &o.server_url))
      return 1;
  }
  const char *mode = o.mode == Mode::kCold ? "cold" :
      o.mode == Mode::kWarm                ? "warm" :
                                             "cold and warm";
  fprintf (stderr,
      "server %s, %s, %d calls per client, timeout %d s per call\n",
      o.server_url.c_str (), mode, o.runs, o.timeout_s);
  if (o.hold_s > 0)
    fprintf (stderr,
        "each call held: %d s to settle, then %d s measured while connected\n",
        o.settle_s, o.hold_s);

  /* The server's own first call pays for its lazily loaded plugins: take
   * that out of the first measured client's numbers. */
  if (o.warmup > 0) {
    ParentOptions unheld = o;
    unheld.hold_s = 0;
    run_child (unheld, self, "bare", o.warmup, [] (const RunResult &) {});
  }

  std::vector<KindResult> results;
  for (const auto &kind : o.kinds) {
    results.emplace_back ();
    results.back ().kind = kind;
  }
  if (o.mode != Mode::kWarm)
    run_cold (o, self, &results);
  if (o.mode != Mode::kCold)
    run_warm (o, self, &results);

  stop_server (&server);

  printf ("%s", render (o, results, false).c_str ());
  int status = 0;
  if (!o.markdown.empty ()) {
    std::string md = render (o, results, true);
    GError *error = nullptr;
    if (!g_file_set_contents (o.markdown.c_str (), md.c_str (), -1, &error)) {
      fprintf (stderr, "connect-bench: cannot write %s: %s\n",
          o.markdown.c_str (), error->message);
      g_error_free (error);
      status = 1;
    }
  }
  if (!o.plot.empty () && !write_plot (o, results))
    status = 1;
  if (!o.cpu_plot.empty () && !write_cpu_plot (o, results))
    status = 1;
  for (const auto &k : results) {
    if (!k.failures.empty () ||
        static_cast<int> (k.cold.size ()) < k.expected_cold ||
        static_cast<int> (k.warm.size ()) < k.expected_warm)
      status = 1;
    for (const auto &r : k.cold)
      status = r.error.empty () ? status : 1;
    for (const auto &r : k.warm)
      status = r.error.empty () ? status : 1;
  }
  return status;
}

}  // namespace connect_bench
