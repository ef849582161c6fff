/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "connect_plot.h"

#include "connect_report.h"

#include <glib/gstdio.h>

#include <unistd.h>

#include <cstdio>

namespace connect_bench {

namespace {

/* An empirical CDF as gnuplot steps: a point at 0 before the first value,
 * then the fraction of calls at or below each value. */
std::string ecdf_block (std::vector<double> v)
{
  std::sort (v.begin (), v.end ());
  std::string out;
  char line[64];
  if (v.empty ()) {
    out += "NaN NaN\n";
  } else {
    g_snprintf (line, sizeof line, "%.2f 0\n", v.front ());
    out += line;
    for (size_t i = 0; i < v.size (); i++) {
      g_snprintf (line, sizeof line, "%.2f %.4f\n", v[i],
          static_cast<double> (i + 1) / v.size ());
      out += line;
    }
  }
  return out + "\n\n";
}

std::string temp_file (const char *pattern, const std::string &contents)
{
  gchar *path = nullptr;
  int fd = g_file_open_tmp (pattern, &path, nullptr);
  if (fd < 0)
    return "";
  close (fd);
  std::string p = path;
  g_free (path);
  if (!g_file_set_contents (p.c_str (), contents.c_str (), -1, nullptr)) {
    g_unlink (p.c_str ());
    return "";
  }
  return p;
}

/* Runs gnuplot on script (in which DATA stands for the data file) into
 * out; says why on stderr when it cannot. */
bool draw (const std::string &out, const std::string &data, std::string script)
{
  const std::string data_path = temp_file ("connect-plot-XXXXXX.dat", data);
  if (data_path.empty ()) {
    fprintf (stderr, "connect-bench: cannot write the plot's data\n");
    return false;
  }
  for (size_t at; (at = script.find ("DATA")) != std::string::npos;)
    script.replace (at, 4, data_path);
  const bool png = g_str_has_suffix (out.c_str (), ".png");
  script = std::string ("set terminal ") +
      (png ? "png size 900,520" :
             "svg size 900,520 dynamic background '#ffffff'") +
      "\nset output '" + out + "'\n" + script;
  const std::string script_path = temp_file ("connect-plot-XXXXXX.gp", script);
  gchar *argv[] = { const_cast<gchar *> ("gnuplot"),
    const_cast<gchar *> (script_path.c_str ()), nullptr };
  gchar *err_text = nullptr;
  gint status = 0;
  GError *error = nullptr;
  bool ok = !script_path.empty () &&
      g_spawn_sync (nullptr, argv, nullptr, G_SPAWN_SEARCH_PATH, nullptr,
          nullptr, nullptr, &err_text, &status, &error) &&
      g_spawn_check_wait_status (status, nullptr);
  if (!ok)
    fprintf (stderr, "connect-bench: gnuplot could not draw %s: %s%s\n",
        out.c_str (), error ? error->message : "", err_text ? err_text : "");
  else
    fprintf (stderr, "plot written to %s\n", out.c_str ());
  g_clear_error (&error);
  g_free (err_text);
  g_unlink (data_path.c_str ());
  if (!script_path.empty ())
    g_unlink (script_path.c_str ());
  return ok;
}

const char *const colours[] = { "#1b6ac9", "#d1495b", "#2e933c", "#8e44ad",
  "#e08e0b" };

}  // namespace

bool write_plot (const ParentOptions &o, const std::vector<KindResult> &kinds)
{
  std::string data;
  for (const auto &k : kinds) {
    data += ecdf_block (values_of (k.cold, &RunResult::session_ms));
    data += ecdf_block (values_of (k.cold, &RunResult::audio_ms));
  }
  std::string title = o.mode == Mode::kWarm ?
      "First call of a process" :
      "Cold calls, each in a fresh process (" + std::to_string (o.runs) +
          " rounds)";
  std::string script = "set title '" + title +
      ": PLAYING → session.created (solid), → first audio (dashed)'\n"
      "set xlabel 'ms since t0 (log scale)'\n"
      "set ylabel 'fraction of calls'\n"
      "set logscale x\nset grid xtics mxtics ytics\n"
      "set yrange [0:1.02]\nset key top left\n"
      "plot ";
  for (size_t i = 0; i < kinds.size (); i++) {
    const char *colour = colours[i % G_N_ELEMENTS (colours)];
    char part[512];
    const double median = median_of (
        values_of (kinds[i].cold, &RunResult::session_ms));
    g_snprintf (part, sizeof part,
        "%s'DATA' index %zu using 1:2 with steps lw 2 lc rgb '%s' "
        "title '%s (median %.0f ms)', "
        "'DATA' index %zu using 1:2 with steps lw 2 dt 2 lc rgb '%s' notitle",
        i ? ", " : "", 2 * i, colour, kinds[i].kind.c_str (), median, 2 * i + 1,
        colour);
    script += part;
  }
  return draw (o.plot, data, script + "\n");
}

bool write_cpu_plot (const ParentOptions &o,
    const std::vector<KindResult> &kinds)
{
  /* One block of calls per client (x: the client, spread by round), then
   * one of the medians. */
  std::string data, medians, xtics;
  char line[128];
  for (size_t i = 0; i < kinds.size (); i++) {
    const auto &runs = o.mode == Mode::kWarm ? kinds[i].warm : kinds[i].cold;
    std::vector<double> held;
    for (size_t r = 0; r < runs.size (); r++) {
      if (!runs[r].error.empty () || runs[r].held_cpu < 0)
        continue;
      held.push_back (runs[r].held_cpu);
      const double spread = runs.size () > 1 ?
          0.3 * (static_cast<double> (r) / (runs.size () - 1) - 0.5) :
          0;
      g_snprintf (line, sizeof line, "%.3f %.2f\n", i + spread,
          runs[r].held_cpu);
      data += line;
    }
    data += held.empty () ? "NaN NaN\n\n\n" : "\n\n";
    const double m = median_of (held);
    g_snprintf (line, sizeof line, "%zu %.2f\n", i, m < 0 ? 0 : m);
    medians += line;
    xtics += (i ? ", '" : "'") + kinds[i].kind + "' " + std::to_string (i);
  }
  data += medians;
  const std::string title = "CPU while connected, each call in a fresh "
                            "process, " +
      std::to_string (o.hold_s) + " s measured after " +
      std::to_string (o.settle_s) + " s";
  std::string script = "set title '" + title +
      "'\n"
      "set ylabel 'ms of CPU per s of call (client process)'\n"
      "set xtics (" +
      xtics + ")\nset xrange [-0.6:" + std::to_string (kinds.size ()) +
      "-0.4]\nset yrange [0:*]\nset grid ytics\n"
      "set boxwidth 0.55\nset style fill solid 0.2 border\n"
      "set key top right\n"
      "plot 'DATA' index " +
      std::to_string (kinds.size ()) +
      " using 1:2 with boxes lc rgb '#888888' title 'median', "
      "'' index " +
      std::to_string (kinds.size ()) +
      " using 1:2:(sprintf('%.1f', $2)) with labels offset 0,0.8 notitle";
  for (size_t i = 0; i < kinds.size (); i++)
    script += ", 'DATA' index " + std::to_string (i) +
        " using 1:2 with points pt 7 ps 0.9 lc rgb '" +
        colours[i % G_N_ELEMENTS (colours)] + "' notitle";
  return draw (o.cpu_plot, data, script + "\n");
}

}  // namespace connect_bench
