/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "startup_run.h"

#include "connect_report.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>

extern char **environ;

namespace startup_bench {

using connect_bench::now_us;

namespace {

std::atomic<pid_t> running { -1 };

constexpr size_t kWindowBytes = 960;  // 10 ms of S16 mono at 48 kHz
constexpr size_t kWavHeader = 44;     // wavenc's header for PCM

/* A line as the parent read it: which stream, when. */
struct Line {
  int fd;
  std::string text;
  gint64 at;
};

/* The first 10 ms window of S16 samples above connect-bench's threshold. */
class AudioWatch {
 public:
  explicit AudioWatch (size_t skip) : skip_ (skip) {}
  /* Feeds bytes read at t; true once the first audible window is in. */
  bool feed (const char *data, size_t n, gint64 t)
  {
    if (found_at_)
      return true;
    const size_t drop = std::min (skip_, n);
    skip_ -= drop;
    window_.append (data + drop, n - drop);
    while (window_.size () >= kWindowBytes) {
      if (rms (window_.data ()) > connect_bench::kAudibleRms) {
        found_at_ = t;
        return true;
      }
      window_.erase (0, kWindowBytes);
    }
    return false;
  }
  gint64 found_at () const { return found_at_; }

 private:
  static double rms (const char *p)
  {
    double sum = 0.0;
    for (size_t i = 0; i < kWindowBytes; i += 2) {
      gint16 v;
      memcpy (&v, p + i, 2);
      sum += static_cast<double> (GINT16_FROM_LE (v)) * GINT16_FROM_LE (v);
    }
    return std::sqrt (sum / (kWindowBytes / 2)) / 32768.0;
  }

  size_t skip_;
  std::string window_;
  gint64 found_at_ = 0;
};

/* A child-side pipe end, moved above the standard descriptors so that the
 * dup2 onto 1, 2 and 3 cannot clobber one of the others. */
int high_fd (int fd)
{
  int moved = fcntl (fd, F_DUPFD_CLOEXEC, 10);
  close (fd);
  return moved;
}

struct Pipes {
  int read[3] = { -1, -1, -1 };   // parent: the child's fd 1, 2, 3
  int write[3] = { -1, -1, -1 };  // child side
  Pipes () = default;
  Pipes (const Pipes &) = delete;
  Pipes &operator= (const Pipes &) = delete;
  ~Pipes ()
  {
    close_write ();
    for (int i = 0; i < 3; i++)
      close_read (i);
  }
  bool open (bool with_fd3)
  {
    for (int i = 0; i < (with_fd3 ? 3 : 2); i++) {
      int fds[2];
      if (pipe2 (fds, O_CLOEXEC) != 0)
        return false;
      read[i] = fds[0];
      write[i] = high_fd (fds[1]);
      fcntl (read[i], F_SETFL, O_NONBLOCK);
    }
    return true;
  }
  void close_write ()
  {
    for (int &fd : write)
      if (fd >= 0) {
        close (fd);
        fd = -1;
      }
  }
  void close_read (int i)
  {
    if (read[i] >= 0)
      close (read[i]);
    read[i] = -1;
  }
};

std::vector<std::string> child_environment (const Client &c)
{
  std::vector<std::string> out;
  for (char **e = environ; *e; e++) {
    const char *eq = strchr (*e, '=');
    const std::string name (*e, eq ? static_cast<size_t> (eq - *e) : 0);
    bool drop = false;
    for (const auto &u : c.unset)
      drop = drop || u == name;
    for (const auto &kv : c.env)
      drop = drop || kv.first == name;
    if (!drop)
      out.emplace_back (*e);
  }
  for (const auto &kv : c.env)
    out.push_back (kv.first + "=" + kv.second);
  return out;
}

/* The GStreamer debug log's lines are "H:MM:SS.NNNNNNNNN PID 0xTHREAD LEVEL
 * CATEGORY file:line:function: message", the time counted from gst_init.
 * Returns false for any other line. */
bool parse_log_line (const std::string &line, gint64 *rel_us, long *pid,
    std::string *category, std::string *rest)
{
  unsigned h = 0, m = 0, s = 0, ns = 0;
  long p = 0;
  char level[16], cat[64];
  int used = 0;
  if (sscanf (line.c_str (), "%u:%2u:%2u.%9u %ld %*s %15s %63s %n", &h, &m, &s,
          &ns, &p, level, cat, &used) < 7 ||
      used <= 0)
    return false;
  *rel_us = ((static_cast<gint64> (h) * 60 + m) * 60 + s) * G_USEC_PER_SEC +
      ns / 1000;
  *pid = p;
  *category = cat;
  *rest = line.substr (static_cast<size_t> (used));
  return true;
}

/* The moments the engine and gst_init log. */
const char *log_phase (const std::string &category, const std::string &rest)
{
  struct Pattern {
    const char *category, *text, *phase;
  };
  static const Pattern patterns[] = {
    { "GST_INIT", "Initializing GStreamer Core Library",
        "GStreamer init start" },
    { "GST_INIT", "initialized GStreamer successfully", "GStreamer init done" },
    { "realtimecall", ": connecting (attempt", "call started" },
    { "realtimecredentials", "minted ", "secret minted" },
    { "realtimecall", ": answered", "answer received" },
    { "realtimecall", ": connected (attempt", "channel open" },
    { "realtimeagent", "server event session.created", "session.created" },
  };
  for (const auto &p : patterns)
    if (category == p.category && rest.find (p.text) != std::string::npos)
      return p.phase;
  return nullptr;
}

void mark (RunResult *r, const std::string &phase, double ms)
{
  for (const auto &p : r->phases)
    if (p.first == phase)
      return;
  r->phases.emplace_back (phase, ms);
}

/* The child's lines, turned into phases. The debug log's times count from
 * gst_init, not from the spawn: a line can only be read after it was
 * written, so the log's zero lies at or before every (read time - log time),
 * and the smallest of those is where it is, to within the parent's quickest
 * wake-up. */
void phases_from_lines (const Client &c, pid_t pid, gint64 spawned,
    const std::vector<Line> &lines, RunResult *r)
{
  auto ms = [&] (gint64 t) { return (t - spawned) / 1000.0; };
  for (const auto &l : lines)
    for (const auto &m : c.marks)
      if (m.fd == l.fd && l.text.rfind (m.prefix, 0) == 0)
        mark (r, m.phase, ms (l.at));
  if (!c.gst_log)
    return;
  gint64 zero = std::numeric_limits<gint64>::max ();
  struct Logged {
    const char *phase;
    gint64 rel;
  };
  std::vector<Logged> logged;
  for (const auto &l : lines) {
    gint64 rel;
    long line_pid;
    std::string category, rest;
    if (l.fd != 2 ||
        !parse_log_line (l.text, &rel, &line_pid, &category,
            &rest) ||
        line_pid != pid)  // gst-plugin-scanner logs from a zero of its own
      continue;
    zero = std::min (zero, l.at - rel);
    if (const char *phase = log_phase (category, rest))
      logged.push_back ({ phase, rel });
  }
  for (const auto &l : logged)
    mark (r, l.phase, ms (zero + l.rel));
}

void read_ready (Pipes *pipes, int i, AudioOut audio, AudioWatch *watch,
    std::string pending[3], std::vector<Line> *lines)
{
  char buf[16384];
  for (;;) {
    ssize_t n = read (pipes->read[i], buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return;  // EAGAIN: drained
    const gint64 t = now_us ();
    if (n == 0) {
      if (!pending[i].empty ())
        lines->push_back ({ i + 1, pending[i], t });
      pending[i].clear ();
      pipes->close_read (i);
      return;
    }
    const bool is_audio = (i == 2 && audio == AudioOut::kFd3) ||
        (i == 0 && audio == AudioOut::kStdoutWav);
    if (is_audio) {
      watch->feed (buf, static_cast<size_t> (n), t);
      continue;
    }
    pending[i].append (buf, static_cast<size_t> (n));
    size_t nl;
    while ((nl = pending[i].find ('\n')) != std::string::npos) {
      lines->push_back ({ i + 1, pending[i].substr (0, nl), t });
      pending[i].erase (0, nl + 1);
    }
  }
}

std::string exit_problem (int status, bool interrupted)
{
  if (WIFEXITED (status)) {
    const int code = WEXITSTATUS (status);
    if (code == 0 || (interrupted && code == 130))
      return "";
    return "exited with status " + std::to_string (code);
  }
  if (WIFSIGNALED (status)) {
    if (interrupted && WTERMSIG (status) == SIGINT)
      return "";
    return std::string ("died of signal ") + strsignal (WTERMSIG (status));
  }
  return "ended oddly";
}

bool is_log_line (const std::string &text)
{
  gint64 rel;
  long pid;
  std::string category, rest;
  return parse_log_line (text, &rel, &pid, &category, &rest);
}

std::string tail_of (const std::vector<Line> &lines, bool verbose)
{
  std::vector<const std::string *> kept;
  for (const auto &l : lines)
    if (l.fd == 2 && (verbose || !is_log_line (l.text)))
      kept.push_back (&l.text);
  const size_t keep = verbose ? kept.size () : 20;
  std::string out;
  for (size_t i = kept.size () > keep ? kept.size () - keep : 0;
       i < kept.size (); i++)
    out += "    " + *kept[i] + "\n";
  return out;
}

}  // namespace

const std::vector<std::string> &phase_order ()
{
  static const std::vector<std::string> order = { "interpreter up",
    "imports done", "GStreamer init start", "GStreamer init done",
    "pipeline built", "PLAYING", "call started", "secret minted",
    "answer received", "channel open", "session.created", "first audio" };
  return order;
}

void kill_running_child ()
{
  const pid_t pid = running.load ();
  if (pid > 0)
    kill (pid, SIGKILL);
}

RunResult run_client (const Client &c, int timeout_s, bool verbose,
    std::string *stderr_tail)
{
  RunResult r;
  Pipes pipes;
  if (!pipes.open (c.audio == AudioOut::kFd3)) {
    r.error = std::string ("pipe: ") + strerror (errno);
    return r;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init (&actions);
  for (int i = 0; i < 3; i++)
    if (pipes.write[i] >= 0)
      posix_spawn_file_actions_adddup2 (&actions, pipes.write[i], i + 1);
  /* The child has stdin, its three pipes and nothing else of the parent's. */
  posix_spawn_file_actions_addclosefrom_np (&actions, 4);
  const std::vector<std::string> env_strings = child_environment (c);
  std::vector<char *> envp;
  for (const auto &e : env_strings)
    envp.push_back (const_cast<char *> (e.c_str ()));
  envp.push_back (nullptr);
  std::vector<std::string> args = c.argv;
  std::vector<char *> argv;

  /* The clock starts here: building argv below takes microseconds. */
  const gint64 spawned = now_us ();
  if (c.pass_spawn_time) {
    args.emplace_back ("--spawned-at");
    args.push_back (std::to_string (spawned));
  }
  for (const auto &a : args)
    argv.push_back (const_cast<char *> (a.c_str ()));
  argv.push_back (nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp (&pid, argv[0], &actions, nullptr, argv.data (),
      envp.data ());
  posix_spawn_file_actions_destroy (&actions);
  pipes.close_write ();
  if (rc != 0) {
    r.error = "cannot run " + c.argv[0] + ": " + strerror (rc);
    return r;
  }
  running = pid;

  AudioWatch watch (c.audio == AudioOut::kStdoutWav ? kWavHeader : 0);
  std::string pending[3];
  std::vector<Line> lines;
  const gint64 audio_deadline = spawned + timeout_s * G_USEC_PER_SEC;
  const gint64 exit_deadline = audio_deadline + 15 * G_USEC_PER_SEC;
  bool interrupted = false, exited = false, gave_up = false;
  int status = 0;
  struct rusage ru = {};
  for (;;) {
    struct pollfd p[3];
    int idx[3], n = 0;
    for (int i = 0; i < 3; i++)
      if (pipes.read[i] >= 0) {
        p[n] = { pipes.read[i], POLLIN, 0 };
        idx[n++] = i;
      }
    /* A child that exited is done even if a grandchild holds its pipes. */
    if (!exited && wait4 (pid, &status, WNOHANG, &ru) == pid)
      exited = true;
    if (exited && (n == 0 || poll (p, n, 0) <= 0))
      break;
    const int got = poll (p, n, 50);  // with every pipe closed, a 50 ms wait
    if (got < 0 && errno != EINTR)
      break;
    for (int j = 0; j < n && got > 0; j++)
      if (p[j].revents)
        read_ready (&pipes, idx[j], c.audio, &watch, pending, &lines);
    const gint64 now = now_us ();
    if (watch.found_at () && c.interrupt && !interrupted) {
      kill (pid, SIGINT);
      interrupted = true;
    }
    if (!watch.found_at () && c.audio != AudioOut::kReported &&
        now > audio_deadline && !gave_up) {
      r.error = "no audible audio within " + std::to_string (timeout_s) + " s";
      kill (pid, SIGTERM);
      gave_up = true;
    }
    if (now > exit_deadline) {
      if (!exited) {
        r.error += (r.error.empty () ? "" : "; ") +
            std::string ("it did not exit in time (killed)");
        kill (pid, SIGKILL);
        wait4 (pid, &status, 0, &ru);  // bounded: SIGKILL cannot be caught
      }
      break;
    }
  }
  for (int i = 0; i < 3; i++)
    pipes.close_read (i);
  running = -1;
  r.cpu_ms = connect_bench::cpu_seconds (ru) * 1000.0;
  if (r.error.empty () && exited)
    r.error = exit_problem (status, interrupted);

  if (c.audio == AudioOut::kReported) {
    bool reported = false;
    for (const auto &l : lines) {
      RunResult child;
      if (l.fd == 1 && connect_bench::parse_run_line (l.text, &child)) {
        reported = true;
        r.session_ms = child.session_ms;
        r.audio_ms = child.audio_ms;
        r.phases = child.phases;
        if (r.error.empty ())
          r.error = child.error;
      } else if (l.fd == 1 && l.text.rfind ("FATAL ", 0) == 0 &&
          r.error.empty ()) {
        r.error = l.text.substr (6);
      }
    }
    if (!reported && r.error.empty ())
      r.error = "no RUN line";
  } else if (watch.found_at ()) {
    r.audio_ms = (watch.found_at () - spawned) / 1000.0;
  } else if (r.error.empty ()) {
    r.error = "exited without audible audio";
  }
  phases_from_lines (c, pid, spawned, lines, &r);
  for (const auto &p : r.phases)
    if (p.first == "session.created")
      r.session_ms = p.second;
  if (r.audio_ms >= 0)
    mark (&r, "first audio", r.audio_ms);
  std::stable_sort (r.phases.begin (), r.phases.end (),
      [] (const auto &a, const auto &b) { return a.second < b.second; });
  *stderr_tail = tail_of (lines, verbose);
  return r;
}

}  // namespace startup_bench
