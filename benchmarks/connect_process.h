/* SPDX-License-Identifier: LGPL-2.1-or-later */
// connect-bench: the processes the parent runs (the local gst-openai-realtime-server and
// one child per kind of client): spawning them with their stdout on a pipe,
// reading their lines with a deadline, and ending them.

#pragma once

#include <glib.h>

#include <sys/types.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace connect_bench {

struct Spawned {
  pid_t pid = -1;
  int out = -1;  // the child's stdout
};

/* Runs args with env added to this process's environment, its stdout on a
 * pipe (child->out) and its stderr into stderr_path. The child is ended by
 * on_interrupt until forget_child. */
bool spawn (const std::vector<std::string> &args,
    const std::vector<std::pair<std::string, std::string>> &env,
    const std::string &stderr_path, Spawned *child, std::string *error);

void forget_child (pid_t pid);

/* For SIGINT and SIGTERM: ends the children still running, then dies of
 * sig. */
void on_interrupt (int sig);

/* Reads lines from fd until EOF, until on_line returns false, or until the
 * deadline. Returns false only on the deadline. */
bool read_lines (int fd, gint64 deadline,
    const std::function<bool (const std::string &)> &on_line);

/* The last lines of a file, for reporting a process's stderr. */
std::string tail_of_file (const std::string &path, int lines);

/* The local gst-openai-realtime-server the parent starts for itself. */
struct LocalServer {
  Spawned process;
  std::string log;
};

/* Starts server_bin on address and a free port, with key and the tone
 * speech; *url is then its base URL, read from its "listening on" line.
 * Says why on stderr when it does not start. */
bool start_server (const std::string &server_bin, const std::string &address,
    const std::string &key, LocalServer *server, std::string *url);

/* SIGTERM, SIGKILL after 3 s; removes its log. Nothing when none was
 * started. */
void stop_server (LocalServer *server);

}  // namespace connect_bench
