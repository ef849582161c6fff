/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "connect_process.h"

#include "connect_common.h"

#include <glib/gstdio.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

extern char **environ;

namespace connect_bench {

namespace {

std::vector<pid_t> live_children;

}  // namespace

void on_interrupt (int sig)
{
  for (pid_t p : live_children)
    if (p > 0)
      kill (p, SIGTERM);
  signal (sig, SIG_DFL);
  raise (sig);
}

bool spawn (const std::vector<std::string> &args,
    const std::vector<std::pair<std::string, std::string>> &env,
    const std::string &stderr_path, Spawned *child, std::string *error)
{
  int fds[2];
  if (pipe2 (fds, O_CLOEXEC) != 0) {
    *error = strerror (errno);
    return false;
  }
  std::vector<std::string> env_strings;
  for (char **e = environ; *e; e++) {
    bool replaced = false;
    for (const auto &kv : env)
      if (g_str_has_prefix (*e, (kv.first + "=").c_str ()))
        replaced = true;
    if (!replaced)
      env_strings.emplace_back (*e);
  }
  for (const auto &kv : env)
    env_strings.push_back (kv.first + "=" + kv.second);
  std::vector<char *> argv, envp;
  for (const auto &a : args)
    argv.push_back (const_cast<char *> (a.c_str ()));
  argv.push_back (nullptr);
  for (const auto &e : env_strings)
    envp.push_back (const_cast<char *> (e.c_str ()));
  envp.push_back (nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init (&actions);
  posix_spawn_file_actions_adddup2 (&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen (&actions, STDERR_FILENO,
      stderr_path.c_str (), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  /* Nothing else of ours: a server left running by a parent that died
   * would otherwise hold what the parent had open (a caller's flock). */
  posix_spawn_file_actions_addclosefrom_np (&actions, STDERR_FILENO + 1);
  pid_t pid = -1;
  int rc = posix_spawnp (&pid, argv[0], &actions, nullptr, argv.data (),
      envp.data ());
  posix_spawn_file_actions_destroy (&actions);
  close (fds[1]);
  if (rc != 0) {
    close (fds[0]);
    *error = std::string ("cannot run ") + args[0] + ": " + strerror (rc);
    return false;
  }
  child->pid = pid;
  child->out = fds[0];
  live_children.push_back (pid);
  return true;
}

void forget_child (pid_t pid)
{
  live_children.erase (
      std::remove (live_children.begin (), live_children.end (), pid),
      live_children.end ());
}

bool read_lines (int fd, gint64 deadline,
    const std::function<bool (const std::string &)> &on_line)
{
  std::string pending;
  char buf[4096];
  for (;;) {
    gint64 left = deadline - now_us ();
    if (left <= 0)
      return false;
    struct pollfd p = { fd, POLLIN, 0 };
    int n = poll (&p, 1,
        static_cast<int> (std::min<gint64> (left / 1000 + 1, 1000)));
    if (n < 0 && errno != EINTR)
      return true;
    if (n <= 0)
      continue;
    ssize_t got = read (fd, buf, sizeof buf);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0) {
      if (!pending.empty ())
        on_line (pending);
      return true;
    }
    pending.append (buf, static_cast<size_t> (got));
    size_t nl;
    while ((nl = pending.find ('\n')) != std::string::npos) {
      std::string line = pending.substr (0, nl);
      pending.erase (0, nl + 1);
      if (!on_line (line))
        return true;
    }
  }
}

std::string tail_of_file (const std::string &path, int lines)
{
  gchar *text = nullptr;
  if (!g_file_get_contents (path.c_str (), &text, nullptr, nullptr))
    return "";
  std::string s = text;
  g_free (text);
  if (s.empty ())
    return s;
  size_t at = s.size ();
  for (int i = 0; i <= lines && at != std::string::npos && at > 0; i++)
    at = s.rfind ('\n', at - 1);
  return at == std::string::npos || (at == 0 && s[0] != '\n') ?
      s :
      s.substr (at + 1);
}

bool start_server (const std::string &server_bin, const std::string &address,
    const std::string &key, LocalServer *server, std::string *url)
{
  gchar *tmp = nullptr;
  int fd = g_file_open_tmp ("connect-bench-server-XXXXXX.log", &tmp, nullptr);
  if (fd >= 0)
    close (fd);
  server->log = tmp ? tmp : "/dev/null";
  g_free (tmp);
  std::string error;
  /* No speech recogniser: its model would load on the server's cores while
   * the clients are measured. */
  if (!spawn ({ server_bin, "--address", address, "--port", "0", "--api-key",
                  key, "--speech", "tone", "--recognition", "off" },
          {}, server->log, &server->process, &error)) {
    fprintf (stderr, "connect-bench: %s\n", error.c_str ());
    return false;
  }
  read_lines (server->process.out, now_us () + 10 * G_USEC_PER_SEC,
      [&] (const std::string &line) {
        const std::string prefix = "listening on ";
        if (line.rfind (prefix, 0) == 0) {
          *url = line.substr (prefix.size ());
          return false;
        }
        return true;
      });
  if (url->empty ()) {
    fprintf (stderr, "connect-bench: the server %s did not start:\n%s\n",
        server_bin.c_str (), tail_of_file (server->log, 20).c_str ());
    kill (server->process.pid, SIGKILL);
    waitpid (server->process.pid, nullptr, 0);
    g_unlink (server->log.c_str ());
    return false;
  }
  return true;
}

void stop_server (LocalServer *server)
{
  const pid_t pid = server->process.pid;
  if (pid <= 0)
    return;
  kill (pid, SIGTERM);
  gint64 until = now_us () + 3 * G_USEC_PER_SEC;
  while (waitpid (pid, nullptr, WNOHANG) == 0) {
    if (now_us () > until) {
      kill (pid, SIGKILL);
      waitpid (pid, nullptr, 0);
      break;
    }
    g_usleep (20000);
  }
  forget_child (pid);
  close (server->process.out);
  g_unlink (server->log.c_str ());
}

}  // namespace connect_bench
