/* SPDX-License-Identifier: LGPL-2.1-or-later */
// loads-bench: what a fresh process pays to load what a call needs, before
// any call: gst_init, each of a call's plugins in the order the elements
// load them (rt::kCallPlugins, dtls first: the certificate's), GIO's proxy
// resolver and TLS backend (the first HTTP request's), and libsrtp2's
// srtp_init() once more. Each round is a fresh process of this program.
//
// A second kind of round shows why loading them on more threads does not
// make a cold call sooner: while one thread loads the webrtc plugin (the
// dynamic linker mapping libnice and the 60 libraries it links), another
// creates threads back to back, and the longest creation is reported.
// glibc's pthread_create waits for the dynamic linker's lock, which dlopen
// holds throughout; GStreamer holds its own plugin-loading lock across a
// plugin's dlopen and its init as well.
//
//   loads-bench [--runs N] [--markdown FILE]

#include "webrtc/prewarm.h"

#include <gio/gio.h>
#include <gst/gst.h>

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace {

double ms_since (gint64 start)
{
  return (g_get_monotonic_time () - start) / 1000.0;
}

void step (const std::string &name, gint64 start)
{
  std::printf ("STEP %s %.3f\n", name.c_str (), ms_since (start));
}

void load (const char *name)
{
  if (GstPlugin *p = gst_plugin_load_by_name (name))
    gst_object_unref (p);
}

int child_serial (int argc, char **argv)
{
  gint64 t = g_get_monotonic_time ();
  gst_init (&argc, &argv);
  step ("gst_init", t);
  t = g_get_monotonic_time ();
  load ("dtls");
  step ("plugin dtls", t);
  for (const char *const *n = rt::kCallPlugins; *n; n++) {
    t = g_get_monotonic_time ();
    load (*n);
    step (std::string ("plugin ") + *n, t);
  }
  t = g_get_monotonic_time ();
  g_proxy_resolver_get_default ();
  step ("GIO proxy resolver", t);
  t = g_get_monotonic_time ();
  g_tls_backend_get_default ();
  step ("GIO TLS backend", t);
  /* The srtp plugin has called it once; GStreamer's lock is not held now. */
  if (void *srtp = dlopen ("libsrtp2.so.1", RTLD_NOW | RTLD_NOLOAD)) {
    if (auto init = reinterpret_cast<int (*) ()> (dlsym (srtp, "srtp_init"))) {
      t = g_get_monotonic_time ();
      init ();
      step ("srtp_init again", t);
    }
    dlclose (srtp);
  }
  return 0;
}

int child_contention (int argc, char **argv)
{
  gst_init (&argc, &argv);
  auto create_once = [] {
    gint64 t = g_get_monotonic_time ();
    std::thread ([] {}).join ();
    return ms_since (t);
  };
  double idle = 0;
  for (int i = 0; i < 20; i++)
    idle = std::max (idle, create_once ());
  std::atomic<bool> done { false };
  gint64 t = g_get_monotonic_time ();
  std::thread loader ([&done] {
    load ("webrtc");
    done = true;
  });
  double worst = 0;
  while (!done)
    worst = std::max (worst, create_once ());
  loader.join ();
  std::printf ("STEP plugin webrtc, on another thread %.3f\n", ms_since (t));
  std::printf ("STEP longest thread creation, idle %.3f\n", idle);
  std::printf ("STEP longest thread creation, meanwhile %.3f\n", worst);
  return 0;
}

double nearest_rank (std::vector<double> v, double q)
{
  std::sort (v.begin (), v.end ());
  size_t rank = static_cast<size_t> (std::ceil (q * v.size ()));
  return v[std::min (v.size () - 1, rank ? rank - 1 : 0)];
}

}  // namespace

int main (int argc, char **argv)
{
  if (argc > 1 && std::string (argv[1]) == "--child-serial")
    return child_serial (argc, argv);
  if (argc > 1 && std::string (argv[1]) == "--child-contention")
    return child_contention (argc, argv);

  gint runs = 15;
  gchar *markdown = nullptr;
  GOptionEntry entries[] = { { "runs", 'n', 0, G_OPTION_ARG_INT, &runs,
                                 "Fresh processes of each kind (15)", "N" },
    { "markdown", 'o', 0, G_OPTION_ARG_FILENAME, &markdown,
        "Also write the table as Markdown to FILE", "FILE" },
    { nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr } };
  GOptionContext *ctx = g_option_context_new (
      "- what a fresh process pays to load what a call needs");
  g_option_context_add_main_entries (ctx, entries, nullptr);
  GError *err = nullptr;
  if (!g_option_context_parse (ctx, &argc, &argv, &err) || runs < 1) {
    g_printerr ("%s\n", err ? err->message : "--runs must be at least 1");
    return 2;
  }
  g_option_context_free (ctx);

  std::vector<std::string> order;
  std::map<std::string, std::vector<double>> values;
  for (int r = 0; r < runs; r++) {
    for (const char *kind : { "--child-serial", "--child-contention" }) {
      gchar *out = nullptr;
      gint status = 0;
      const gchar *args[] = { argv[0], kind, nullptr };
      if (!g_spawn_sync (nullptr, const_cast<gchar **> (args), nullptr,
              G_SPAWN_DEFAULT, nullptr, nullptr, &out, nullptr, &status,
              &err) ||
          !g_spawn_check_wait_status (status, &err)) {
        g_printerr ("round %d, %s: %s\n", r + 1, kind, err->message);
        return 1;
      }
      gchar **lines = g_strsplit (out, "\n", -1);
      for (gchar **l = lines; *l; l++) {
        if (!g_str_has_prefix (*l, "STEP "))
          continue;
        const char *last = std::strrchr (*l, ' ');
        std::string name (static_cast<const char *> (*l) + 5, last);
        if (!values.count (name))
          order.push_back (name);
        values[name].push_back (g_ascii_strtod (last + 1, nullptr));
      }
      g_strfreev (lines);
      g_free (out);
    }
    g_printerr ("round %d/%d\n", r + 1, runs);
  }

  GString *md = g_string_new (nullptr);
  g_string_append_printf (md,
      "| step (%d fresh processes) | median (ms) | p90 (ms) |\n|---|---|---|\n",
      runs);
  std::printf ("%-44s %10s %10s\n", "step", "median ms", "p90 ms");
  for (const auto &name : order) {
    const auto &v = values[name];
    std::printf ("%-44s %10.2f %10.2f\n", name.c_str (), nearest_rank (v, 0.5),
        nearest_rank (v, 0.9));
    g_string_append_printf (md, "| %s | %.2f | %.2f |\n", name.c_str (),
        nearest_rank (v, 0.5), nearest_rank (v, 0.9));
  }
  if (markdown && !g_file_set_contents (markdown, md->str, md->len, &err)) {
    g_printerr ("%s\n", err->message);
    return 1;
  }
  g_string_free (md, TRUE);
  g_free (markdown);
  return 0;
}
