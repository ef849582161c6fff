/* SPDX-License-Identifier: LGPL-2.1-or-later */
// connect-bench: how long a call takes to come up.
//
// For three kinds of client it measures, from just before the call starts
// (the pipeline set to PLAYING), the time to the `session.created` server
// event and to the first non-silent audio coming back (the local server
// echoes the caller's tone while its agent is quiet):
//
//   elements  ephemeraltokenprovider + openairealtimesink/openairealtimesrc
//   bare      a plain webrtcbin client with default settings, written the
//             way webrtcbin's examples teach (offer, wait for gathering,
//             POST the SDP, set the answer)
//   aiortc    the same call with Python's aiortc (connect_aiortc.py)
//
// The parent process starts one local gst-openai-realtime-server. Cold (the default):
// every round, one fresh child process per kind for exactly one call, the
// kinds' order rotated each round, so a call pays for everything a
// newcomer's first call pays for (process-wide caches, the DTLS certificate
// above all). Warm: N calls in one child process per kind. The C++ children
// are this program re-executed (`--kind bare|elements`). Each child prints
// one machine-readable line per call on stdout; the parent collects them,
// prints a table and can write it as Markdown and plot the cold calls.
//
// --hold S keeps each call up once its first audio is back and measures what
// it costs while connected: after --settle more seconds, the client
// process's CPU over S seconds of the tone sent and its echo received and
// decoded, checked to have flowed both ways (connect_hold). --cpu-plot draws
// those figures.
//
// The files: connect_common (the clock, the moments of a call, options and
// results), connect_elements and connect_bare (the C++ clients),
// connect_report (a call's line), connect_table (the statistics and the
// tables), connect_plot (gnuplot), connect_process (spawning, the server),
// connect_parent (the parent side) and this one (the child side and the
// options).

#include "connect_config.h"

#include "connect_bare.h"
#include "connect_common.h"
#include "connect_elements.h"
#include "connect_parent.h"
#include "connect_report.h"

#include <gst/gst.h>

#include <cstdio>
#include <string>

using namespace connect_bench;

namespace {

int child_main (const ChildOptions &o)
{
  gst_init (nullptr, nullptr);
  if (o.phases) {
    gst_debug_set_active (TRUE);
    if (!g_getenv ("GST_DEBUG"))
      gst_debug_remove_log_function (gst_debug_log_default);
    gst_debug_add_log_function (capture_log, &phases, nullptr);
    if (o.kind != "bare") {
      gst_debug_set_threshold_for_name ("realtimecall", GST_LEVEL_INFO);
      gst_debug_set_threshold_for_name ("realtimecredentials", GST_LEVEL_INFO);
      gst_debug_set_threshold_for_name ("realtimesignalling", GST_LEVEL_DEBUG);
      gst_debug_set_threshold_for_name ("webrtcbin", GST_LEVEL_INFO);
    }
  }
  const char *needed_bare[] = { "webrtcbin", "opusenc", "opusdec", "rtpopuspay",
    "rtpopusdepay", "audiotestsrc", "appsink", nullptr };
  const char *needed_elements[] = { "ephemeraltokenprovider",
    "openairealtimesink", "openairealtimesrc", "audiotestsrc", "appsink",
    nullptr };
  for (const char **n = o.kind == "bare" ? needed_bare : needed_elements; *n;
       n++) {
    GstElementFactory *f = gst_element_factory_find (*n);
    if (!f) {
      g_printerr ("connect-bench: element %s is missing (GST_PLUGIN_PATH=%s)\n",
          *n, g_getenv ("GST_PLUGIN_PATH") ? g_getenv ("GST_PLUGIN_PATH") : "");
      printf ("FATAL element %s is missing\n", *n);
      return 1;
    }
    gst_object_unref (f);
  }
  for (int i = 1; i <= o.runs; i++) {
    RunResult r = o.kind == "bare" ?
        run_bare (o) :
        run_elements (o, o.kind == "elements-ready");
    print_result (i, r);
  }
  return 0;
}

std::string env_or (const char *name, const char *fallback)
{
  const char *v = g_getenv (name);
  return v && *v ? v : fallback;
}

}  // namespace

int main (int argc, char **argv)
{
  gchar *kind = nullptr, *server = nullptr, *key = nullptr,
        *server_bin = nullptr, *plugin_dir = nullptr, *address = nullptr,
        *markdown = nullptr, *kinds = nullptr, *mode = nullptr,
        *python = nullptr, *aiortc_script = nullptr, *plot = nullptr,
        *cpu_plot = nullptr;
  gint runs = 15, timeout_s = 10, warmup = 1, hold_s = 0, settle_s = 2;
  gboolean no_phases = FALSE, verbose = FALSE;
  GOptionEntry entries[] = {
    { "runs", 'n', 0, G_OPTION_ARG_INT, &runs,
        "Calls per client: rounds when cold, calls in the process when warm (15)",
        "N" },
    { "mode", 0, 0, G_OPTION_ARG_STRING, &mode,
        "cold: each call in a fresh process, rounds rotated; warm: N calls in "
        "one process; both: cold, then warm (cold)",
        "cold|warm|both" },
    { "kinds", 0, 0, G_OPTION_ARG_STRING, &kinds,
        "Clients to measure, comma-separated (elements,elements-ready,bare,aiortc)",
        "LIST" },
    { "markdown", 'o', 0, G_OPTION_ARG_FILENAME, &markdown,
        "Also write the tables as Markdown to FILE", "FILE" },
    { "plot", 0, 0, G_OPTION_ARG_FILENAME, &plot,
        "Plot the cold calls' connect times to FILE (.svg or .png; gnuplot)",
        "FILE" },
    { "hold", 0, 0, G_OPTION_ARG_INT, &hold_s,
        "Hold each call once it is up and measure its CPU while connected "
        "over S seconds (0: hang up at once)",
        "S" },
    { "settle", 0, 0, G_OPTION_ARG_INT, &settle_s,
        "Seconds between the first audio and a held call's window (2)", "S" },
    { "cpu-plot", 0, 0, G_OPTION_ARG_FILENAME, &cpu_plot,
        "Plot the held calls' CPU while connected to FILE (.svg or .png; "
        "gnuplot)",
        "FILE" },
    { "python", 0, 0, G_OPTION_ARG_FILENAME, &python,
        "Python with Debian's python3-aiortc (/usr/bin/python3)", "PATH" },
    { "aiortc-script", 0, 0, G_OPTION_ARG_FILENAME, &aiortc_script,
        "The aiortc client (this source tree's benchmarks/connect_aiortc.py)",
        "PATH" },
    { "server-bin", 0, 0, G_OPTION_ARG_FILENAME, &server_bin,
        "gst-openai-realtime-server to start (env REALTIME_SERVER, else this build's)",
        "PATH" },
    { "plugin-dir", 0, 0, G_OPTION_ARG_FILENAME, &plugin_dir,
        "Where libgstopenairealtime.so is (env CONNECT_BENCH_PLUGIN_DIR, else this build's)",
        "DIR" },
    { "address", 0, 0, G_OPTION_ARG_STRING, &address,
        "Address for the server (default: 127.0.0.1)", "IP" },
    { "server", 0, 0, G_OPTION_ARG_STRING, &server,
        "Base URL of a running server (then none is started)", "URL" },
    { "key", 0, 0, G_OPTION_ARG_STRING, &key, "API key for the server", "KEY" },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout_s,
        "Seconds a call may take to deliver audio (10)", "S" },
    { "warmup", 0, 0, G_OPTION_ARG_INT, &warmup,
        "Unreported bare calls to warm the server up first (1)", "N" },
    { "no-phases", 0, 0, G_OPTION_ARG_NONE, &no_phases,
        "Do not record the steps of each call", nullptr },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose,
        "Show the children's stderr", nullptr },
    { "kind", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &kind,
        "(internal) run one client kind", "bare|elements|elements-ready" },
    {}
  };
  GOptionContext *ctx = g_option_context_new (
      "- time from PLAYING to session.created and to the first agent audio");
  g_option_context_add_main_entries (ctx, entries, nullptr);
  GError *error = nullptr;
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    fprintf (stderr, "connect-bench: %s\n", error->message);
    g_error_free (error);
    g_option_context_free (ctx);
    return 2;
  }
  g_option_context_free (ctx);
  if (runs < 1 || timeout_s < 1 || warmup < 0 || hold_s < 0 || settle_s < 0) {
    fprintf (stderr,
        "connect-bench: --runs and --timeout must be positive, "
        "--warmup, --hold and --settle not negative\n");
    return 2;
  }

  int status;
  if (kind) {
    ChildOptions o;
    o.kind = kind;
    o.server = server ? server : "";
    o.key = key ? key : "";
    o.runs = runs;
    o.timeout_s = timeout_s;
    o.phases = !no_phases;
    o.hold_s = hold_s;
    o.settle_s = settle_s;
    if (plugin_dir)
      g_setenv ("GST_PLUGIN_PATH", plugin_dir, TRUE);
    if ((o.kind != "bare" && o.kind != "elements" &&
            o.kind != "elements-ready") ||
        o.server.empty ()) {
      fprintf (stderr,
          "connect-bench: --kind bare|elements|elements-ready "
          "needs --server URL\n");
      status = 2;
    } else {
      status = child_main (o);
    }
  } else {
    ParentOptions o;
    o.runs = runs;
    o.timeout_s = timeout_s;
    o.warmup = warmup;
    o.hold_s = hold_s;
    o.settle_s = settle_s;
    o.phases = !no_phases;
    o.verbose = verbose;
    if (server)
      o.server_url = server;
    if (key)
      o.key = key;
    o.server_bin = server_bin ?
        server_bin :
        env_or ("REALTIME_SERVER", CONNECT_BENCH_SERVER_BIN);
    o.plugin_dir = plugin_dir ?
        plugin_dir :
        env_or ("CONNECT_BENCH_PLUGIN_DIR", CONNECT_BENCH_PLUGIN_DIR);
    if (address)
      o.address = address;
    if (markdown)
      o.markdown = markdown;
    if (plot)
      o.plot = plot;
    if (cpu_plot)
      o.cpu_plot = cpu_plot;
    /* Debian's python3-aiortc is in the system Python's dist-packages,
     * which another python3 first on PATH would not see. */
    o.python = python ? python : "/usr/bin/python3";
    o.aiortc_script = aiortc_script ? aiortc_script :
                                      CONNECT_BENCH_AIORTC_SCRIPT;
    const std::string m = mode ? mode : "cold";
    o.mode = m == "warm" ? Mode::kWarm :
        m == "both"      ? Mode::kBoth :
                           Mode::kCold;
    if (kinds) {
      o.kinds.clear ();
      gchar **list = g_strsplit (kinds, ",", -1);
      for (gchar **k = list; *k; k++)
        if (**k)
          o.kinds.emplace_back (*k);
      g_strfreev (list);
    }
    bool valid = !o.kinds.empty ();
    for (const auto &k : o.kinds)
      valid = valid &&
          (k == "bare" || k == "elements" || k == "elements-ready" ||
              k == "aiortc");
    if (!valid) {
      fprintf (stderr,
          "connect-bench: --kinds takes elements, "
          "elements-ready, bare and/or aiortc\n");
      status = 2;
    } else if (m != "cold" && m != "warm" && m != "both") {
      fprintf (stderr, "connect-bench: --mode takes cold, warm or both\n");
      status = 2;
    } else {
      status = parent_main (o);
    }
  }
  g_free (kind);
  g_free (server);
  g_free (key);
  g_free (server_bin);
  g_free (plugin_dir);
  g_free (address);
  g_free (markdown);
  g_free (kinds);
  g_free (mode);
  g_free (python);
  g_free (aiortc_script);
  g_free (plot);
  g_free (cpu_plot);
  return status;
}
