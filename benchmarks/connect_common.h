/* SPDX-License-Identifier: LGPL-2.1-or-later */
// connect-bench: what the clients and the two sides of the benchmark share:
// the clock, CPU time, the child's main loop, the audio check, the moments of
// a call, the options and a call's result.

#pragma once

#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace connect_bench {

constexpr double kAudibleRms = 0.02;  // of full scale; the echoed tone is ~0.5

gint64 now_us ();
double cpu_seconds (const struct rusage &ru);
double self_cpu_seconds ();

/* Runs fn on the default main context (the child's main thread). */
void post_main (std::function<void ()> fn);

/* Iterates the default main context until done() or the deadline (µs,
 * monotonic). Other threads wake it with g_main_context_wakeup(). */
bool loop_until (const std::function<bool ()> &done, gint64 deadline);

/* RMS of interleaved S16 samples, as a fraction of full scale. */
double rms_s16 (GstBuffer *buffer);

/* The first time something happened, set once from any thread. */
struct Moment {
  std::atomic<gint64> at { 0 };
  bool set (gint64 t)
  {
    gint64 expected = 0;
    if (!at.compare_exchange_strong (expected, t))
      return false;
    g_main_context_wakeup (nullptr);
    return true;
  }
  bool happened () const { return at.load () != 0; }
};

/* The far end's audio as a client's appsink gets it: the first audible
 * buffer, and while counting (a held call's window), how much of it was
 * audible. */
struct Heard {
  Moment first;
  std::atomic<bool> counting { false };
  std::atomic<gint64> audible_us { 0 };
};

/* Named moments of one call, relative to its t0, first occurrence wins. */
class PhaseLog {
 public:
  void reset ()
  {
    std::lock_guard<std::mutex> l (lock_);
    marks_.clear ();
  }
  void mark (const std::string &name, gint64 t = 0)
  {
    if (!t)
      t = now_us ();
    std::lock_guard<std::mutex> l (lock_);
    for (const auto &m : marks_)
      if (m.first == name)
        return;
    marks_.emplace_back (name, t);
  }
  std::vector<std::pair<std::string, gint64>> take ()
  {
    std::lock_guard<std::mutex> l (lock_);
    auto out = marks_;
    std::stable_sort (out.begin (), out.end (),
        [] (const auto &a, const auto &b) { return a.second < b.second; });
    return out;
  }

 private:
  std::mutex lock_;
  std::vector<std::pair<std::string, gint64>> marks_;
};

/* The child's phases of the call being measured. */
extern PhaseLog phases;

struct ChildOptions {
  std::string kind;
  std::string server;  // base URL of the running server
  std::string key;
  int runs = 15;
  int timeout_s = 10;
  bool phases = true;
  /* Hold the call this long once it is up (0: hang up at once), measuring
   * over that window after settle_s more (see connect_hold.h). */
  int hold_s = 0;
  int settle_s = 2;
};

struct RunResult {
  double session_ms = -1;
  double audio_ms = -1;
  double cpu_ms = -1;
  /* A held call's window: the process's CPU per second of it, its length,
   * the audible far-end audio in it (s), the RTP packets each way. */
  double held_cpu = -1;
  double held_s = -1;
  double heard_s = -1;
  double sent = -1;
  double received = -1;
  std::vector<std::pair<std::string, double>> phases;
  std::string error;
};

/* cold: each call in a fresh process, one process per client per round,
 * the order of the clients rotated each round; warm: N calls in one process
 * per client; both: the cold rounds, then the warm processes. */
enum class Mode { kCold, kWarm, kBoth };

struct ParentOptions {
  int runs = 15;
  int timeout_s = 10;
  int warmup = 1;
  int hold_s = 0;
  int settle_s = 2;
  Mode mode = Mode::kCold;
  bool phases = true;
  bool verbose = false;
  std::string server_url;  // an already running server, instead of starting one
  std::string server_bin;
  std::string plugin_dir;
  std::string python;  // runs the aiortc client
  std::string aiortc_script;
  std::string address;
  std::string key = "connect-bench-key";
  std::string markdown;
  std::string plot;
  std::string cpu_plot;  // the held calls' CPU
  std::vector<std::string> kinds = { "elements", "elements-ready", "bare",
    "aiortc" };
};

struct KindResult {
  std::string kind;
  /* Cold: one call per fresh process (in warm mode only, the process's first
   * call). cold_process_cpu_s: each of those processes' whole CPU time. */
  std::vector<RunResult> cold;
  std::vector<double> cold_process_cpu_s;
  /* Warm: the calls after the first in one process. */
  std::vector<RunResult> warm;
  double warm_process_cpu_s = -1;
  int expected_cold = 0, expected_warm = 0;
  std::vector<std::string> failures;  // of the child processes themselves
};

void finish_result (RunResult *r, gint64 t0, const Moment &session,
    const Moment &audio, double cpu0);

/* An appsink's new-sample: data is the Heard of the call. */
GstFlowReturn on_audio_sample (GstAppSink *sink, gpointer data);

}  // namespace connect_bench
