/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "local_server.h"

#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace test {

bool LocalServer::start (const std::string &extra)
{
  const char *exe = g_getenv ("REALTIME_SERVER");
  if (!exe) {
    g_printerr ("REALTIME_SERVER is not set\n");
    return false;
  }
  api_key = "test-permanent-key-5e1f";
  std::string cmd = std::string (exe) +
      " --address 127.0.0.1 --port 0 --control "
      "--speech tone --tone-freq 660 --api-key " +
      api_key + " --recognition off " + extra;
  gchar **argv = nullptr;
  if (!g_shell_parse_argv (cmd.c_str (), nullptr, &argv, nullptr))
    return false;
  gint out_fd = -1;
  GError *error = nullptr;
  /* A sanitized build's server links the sanitizer runtime itself; the one
   * preloaded for the plugin's unsanitized hosts would reach the programs
   * it runs, and espeak-ng hangs under it. */
  gchar **envp = g_environ_unsetenv (g_get_environ (), "LD_PRELOAD");
  gboolean ok = g_spawn_async_with_pipes (nullptr, argv, envp,
      G_SPAWN_DO_NOT_REAP_CHILD, nullptr, nullptr, &pid, nullptr, &out_fd,
      nullptr, &error);
  g_strfreev (envp);
  g_strfreev (argv);
  if (!ok) {
    g_printerr ("cannot start %s: %s\n", exe, error->message);
    g_error_free (error);
    return false;
  }
  /* The server prints one line when it is ready: that is the handshake. */
  FILE *out = fdopen (out_fd, "r");
  char line[256] = "";
  bool ready = fgets (line, sizeof line, out) != nullptr;
  fclose (out);
  const char *prefix = "listening on ";
  if (!ready || g_ascii_strncasecmp (line, prefix, strlen (prefix)) != 0) {
    g_printerr ("the local server did not start (%s)\n", line);
    stop ();
    return false;
  }
  base = g_strstrip (line + strlen (prefix));
  return true;
}

void LocalServer::stop ()
{
  if (pid <= 0)
    return;
  kill (pid, SIGTERM);
  int status = 0;
  waitpid (pid, &status, 0);
  g_spawn_close_pid (pid);
  pid = 0;
}

static std::string http (const std::string &method, const std::string &url,
    const std::string &body, guint *status)
{
  SoupSession *session = soup_session_new ();
  SoupMessage *msg = soup_message_new (method.c_str (), url.c_str ());
  if (!body.empty ()) {
    GBytes *b = g_bytes_new (body.data (), body.size ());
    soup_message_set_request_body_from_bytes (msg, "application/json", b);
    g_bytes_unref (b);
  }
  GBytes *reply = soup_session_send_and_read (session, msg, nullptr, nullptr);
  *status = soup_message_get_status (msg);
  std::string out;
  if (reply) {
    gsize n = 0;
    const char *d = static_cast<const char *> (g_bytes_get_data (reply, &n));
    out.assign (d ? d : "", n);
    g_bytes_unref (reply);
  }
  g_object_unref (msg);
  g_object_unref (session);
  return out;
}

bool LocalServer::control (const std::string &path, const std::string &json)
{
  guint status = 0;
  http ("POST", base + path, json, &status);
  return status == 200;
}

JsonNode *LocalServer::log ()
{
  guint status = 0;
  std::string body = http ("GET", base + "/control/log", "", &status);
  if (status != 200)
    return nullptr;
  return json_from_string (body.c_str (), nullptr);
}

int count_requests (JsonNode *log, const std::string &path_prefix,
    std::string *query_seen)
{
  int n = 0;
  JsonArray *reqs = json_object_get_array_member (json_node_get_object (log),
      "requests");
  for (guint i = 0; reqs && i < json_array_get_length (reqs); i++) {
    JsonObject *r = json_array_get_object_element (reqs, i);
    const char *path = json_object_get_string_member_with_default (r, "path",
        "");
    if (g_str_has_prefix (path, path_prefix.c_str ())) {
      n++;
      const char *q = json_object_get_string_member_with_default (r, "query",
          "");
      if (query_seen && q && *q)
        *query_seen = q;
    }
  }
  return n;
}

}  // namespace test
