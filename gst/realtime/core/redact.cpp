/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/redact.h"

#include <gst/gst.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <vector>

namespace rt {
namespace {

std::mutex secrets_lock;
std::vector<std::string> secrets;

/* Properties whose values GStreamer core may log while setting them. */
const char *const kSecretProperties[] = { "api-key", "client-secret",
  "password" };

std::string mask (const std::string &secret)
{
  /* The prefix tells a permanent key from an ephemeral one, nothing more. */
  if (secret.rfind ("sk-", 0) == 0 || secret.rfind ("ek_", 0) == 0)
    return secret.substr (0, 3) + "…[redacted]";
  return "[redacted]";
}

/* GStreamer logs "setting value '<v>' for property '<p>'" and
 * "could not set property "<p>" in element "<e>" to "<v>"" before the element
 * can register <v>; learn the value from the line itself. */
void learn_from_property_lines (const std::string &line)
{
  for (const char *prop : kSecretProperties) {
    std::string p (prop);
    std::string marker = "' for property '" + p + "'";
    auto at = line.find (marker);
    if (at != std::string::npos) {
      auto start = line.rfind ("setting value '", at);
      if (start != std::string::npos) {
        start += sizeof ("setting value '") - 1;
        register_secret (line.substr (start, at - start));
      }
    }
    std::string head = "could not set property \"" + p + "\"";
    at = line.find (head);
    if (at != std::string::npos) {
      auto to = line.find ("\" to \"", at);
      auto end = line.rfind ('"');
      if (to != std::string::npos && end > to + 6)
        register_secret (line.substr (to + 6, end - (to + 6)));
    }
  }
}

FILE *log_output ()
{
  static FILE *out = [] {
    const char *path = g_getenv ("GST_DEBUG_FILE");
    FILE *f = nullptr;
    if (path && *path && g_strcmp0 (path, "-") != 0)
      f = fopen (path, "a");
    else if (g_strcmp0 (path, "-") == 0)
      f = stdout;
    return f ? f : stderr;
  }();
  return out;
}

void redacting_log (GstDebugCategory *category, GstDebugLevel level,
    const gchar *file, const gchar *function, gint line, GObject *object,
    GstDebugMessage *message, gpointer)
{
  gchar *formatted = gst_debug_log_get_line (category, level, file, function,
      line, object, message);
  std::string text (formatted);
  g_free (formatted);
  learn_from_property_lines (text);
  text = redact (text);
  FILE *out = log_output ();
  fputs (text.c_str (), out);
  fflush (out);
}

}  // namespace

void register_secret (const std::string &secret)
{
  if (secret.size () < 6)
    return;
  std::lock_guard<std::mutex> lock (secrets_lock);
  for (const auto &s : secrets)
    if (s == secret)
      return;
  /* Longest first, so that a secret containing another is masked whole. */
  auto at = std::find_if (secrets.begin (), secrets.end (),
      [&] (const std::string &s) { return s.size () < secret.size (); });
  secrets.insert (at, secret);
}

std::string redact (const std::string &text)
{
  std::lock_guard<std::mutex> lock (secrets_lock);
  std::string out = text;
  for (const auto &s : secrets) {
    for (auto at = out.find (s); at != std::string::npos;
         at = out.find (s, at)) {
      std::string m = mask (s);
      out.replace (at, s.size (), m);
      at += m.size ();
    }
  }
  return out;
}

std::string describe_secret (const std::string &secret)
{
  if (secret.empty ())
    return "(none)";
  return mask (secret) + " (" + std::to_string (secret.size ()) + " chars)";
}

void install_log_redaction ()
{
  static std::once_flag once;
  std::call_once (once, [] {
    if (const char *key = g_getenv ("OPENAI_API_KEY"))
      register_secret (key);
    /* Stand in for the default output only: an application that replaced
     * it with its own log function keeps it (and must not log secrets). */
    if (gst_debug_remove_log_function (gst_debug_log_default) > 0)
      gst_debug_add_log_function (redacting_log, nullptr, nullptr);
  });
}

}  // namespace rt
