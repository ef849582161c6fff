/* SPDX-License-Identifier: LGPL-2.1-or-later */
// startup-bench: one client in a fresh process, timed from the parent's
// clock just before posix_spawn: its output read on pipes as it comes, the
// first audible block of the agent's audio taken outside the process, its
// phases from its own lines and from the GStreamer debug log.

#pragma once

#include "connect_common.h"

#include <string>
#include <utility>
#include <vector>

namespace startup_bench {

using connect_bench::RunResult;

/* Where the agent's audio comes out. */
enum class AudioOut {
  kFd3,        // raw S16LE on the child's fd 3 (fdsink fd=3, /dev/fd/3)
  kStdoutWav,  // a WAV stream on the child's stdout (ask-agent ... -)
  kReported,   // detected by the child itself, reported in its RUN line
};

/* A line of the child's stdout (fd 1) or stderr (fd 2) starting with
 * prefix marks phase at the moment the parent reads it. */
struct LineMark {
  int fd;
  std::string prefix;
  std::string phase;
};

struct Client {
  std::string name;
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env;  // set in the child
  std::vector<std::string> unset;  // left out of the child's environment
  AudioOut audio = AudioOut::kFd3;
  bool pass_spawn_time = false;  // appends --spawned-at <µs> to argv
  bool interrupt = false;  // SIGINT once the first audio is in: runs until then
  bool gst_log = false;  // GST_DEBUG phases on stderr (GST_INIT, the engine's)
  std::vector<LineMark> marks;
};

/* The phases a table shows, in the order they happen. */
const std::vector<std::string> &phase_order ();

/* Runs c once. The result's times are ms since the spawn (session_ms,
 * audio_ms, phases); cpu_ms is the whole process's user+system CPU (wait4).
 * Every wait is bounded by timeout_s for the first audio and 15 s more for
 * the exit; a child that overruns is killed. *stderr_tail gets the last
 * lines of its stderr that are not debug log (all of them when verbose). */
RunResult run_client (const Client &c, int timeout_s, bool verbose,
    std::string *stderr_tail);

/* Ends the child being run, if any (for SIGINT and SIGTERM). */
void kill_running_child ();

}  // namespace startup_bench
