/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "startup_report.h"

#include "connect_report.h"

#include <gio/gio.h>

#include <algorithm>
#include <cstdio>
#include <map>

namespace startup_bench {

using connect_bench::median_of;
using connect_bench::p90_of;

namespace {

using Row = std::vector<std::string>;

/* v with that many decimals; "-" for the -1 of "none". */
std::string fmt (double v, int decimals = 1)
{
  gchar *text = v < 0 ? nullptr : g_strdup_printf ("%.*f", decimals, v);
  std::string out = text ? text : "-";
  g_free (text);
  return out;
}

/* A table as Markdown, or as columns padded to their widest cell. */
std::string table (const std::vector<Row> &rows, bool markdown)
{
  std::string out;
  if (markdown) {
    for (size_t r = 0; r < rows.size (); r++) {
      for (const auto &cell : rows[r])
        out += "| " + cell + " ";
      out += "|\n";
      if (r == 0) {
        for (size_t i = 0; i < rows[0].size (); i++)
          out += "|---";
        out += "|\n";
      }
    }
    return out;
  }
  std::vector<size_t> width;
  for (const auto &row : rows)
    for (size_t i = 0; i < row.size (); i++) {
      width.resize (std::max (width.size (), row.size ()));
      width[i] = std::max (width[i], g_utf8_strlen (row[i].c_str (), -1) + 0ul);
    }
  for (const auto &row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size (); i++) {
      const size_t pad = width[i] - g_utf8_strlen (row[i].c_str (), -1);
      line += (i ? "  " : "") +
          (i ? std::string (pad, ' ') + row[i] :
               row[i] + std::string (pad, ' '));
    }
    out += line + "\n";
  }
  return out;
}

std::vector<RunResult> ok_runs (const ClientResult &c)
{
  std::vector<RunResult> ok;
  for (const auto &r : c.runs)
    if (r.error.empty ())
      ok.push_back (r);
  return ok;
}

std::vector<double> field (const ClientResult &c, double RunResult::*f)
{
  return connect_bench::values_of (ok_runs (c), f);
}

/* Each phase's median over a client's good runs. */
std::map<std::string, double> phase_medians (const ClientResult &c)
{
  std::map<std::string, std::vector<double>> seen;
  for (const auto &r : ok_runs (c))
    for (const auto &p : r.phases)
      seen[p.first].push_back (p.second);
  std::map<std::string, double> out;
  for (const auto &s : seen)
    out[s.first] = median_of (s.second);
  return out;
}

std::string ratio (const ClientResult &a, const ClientResult *b,
    double RunResult::*f)
{
  const double x = median_of (field (a, f));
  const double y = b ? median_of (field (*b, f)) : -1;
  return x > 0 && y > 0 ? fmt (x / y, 2) : "-";
}

}  // namespace

std::string render (const std::vector<ClientResult> &clients, bool markdown)
{
  std::string out;
  std::vector<Row> main = { { "client", "ok", "first audio median (ms)", "p90",
      "session.created median (ms)", "p90", "CPU of the process (ms)",
      "others' CPU (cores)", "busy starts" } };
  for (const auto &c : clients) {
    const auto audio = field (c, &RunResult::audio_ms);
    const auto session = field (c, &RunResult::session_ms);
    main.push_back ({ c.name,
        std::to_string (ok_runs (c).size ()) + "/" +
            std::to_string (c.runs.size ()),
        fmt (median_of (audio)), fmt (p90_of (audio)),
        fmt (median_of (session)), fmt (p90_of (session)),
        fmt (median_of (field (c, &RunResult::cpu_ms)), 0),
        fmt (median_of (c.others), 2), std::to_string (c.busy_starts) });
  }
  out += table (main, markdown);

  const ClientResult *bare = nullptr, *aiortc = nullptr;
  for (const auto &c : clients) {
    bare = c.name == "bare" ? &c : bare;
    aiortc = c.name == "aiortc" ? &c : aiortc;
  }
  std::vector<Row> ratios = { { "ratio of medians", "first audio / bare",
      "/ aiortc", "session.created / bare", "/ aiortc" } };
  for (const auto &c : clients)
    if (&c != bare && &c != aiortc)
      ratios.push_back ({ c.name, ratio (c, bare, &RunResult::audio_ms),
          ratio (c, aiortc, &RunResult::audio_ms),
          ratio (c, bare, &RunResult::session_ms),
          ratio (c, aiortc, &RunResult::session_ms) });
  if (ratios.size () > 1 && (bare || aiortc))
    out += "\n" + table (ratios, markdown);

  std::vector<Row> steps = { { "phase (median ms since spawn)" } };
  std::vector<std::map<std::string, double>> medians;
  for (const auto &c : clients) {
    steps[0].push_back (c.name);
    medians.push_back (phase_medians (c));
  }
  for (const auto &name : phase_order ()) {
    Row row = { name };
    for (const auto &m : medians) {
      auto at = m.find (name);
      row.push_back (fmt (at == m.end () ? -1 : at->second));
    }
    if (std::any_of (row.begin () + 1, row.end (),
            [] (const std::string &cell) { return cell != "-"; }))
      steps.push_back (row);
  }
  out += "\n" + table (steps, markdown);
  return out;
}

bool write_plot (const std::string &path, int rounds,
    const std::vector<ClientResult> &clients)
{
  /* One data block on gnuplot's stdin: per client, an empirical CDF of the
   * first audio (index 2i), then of session.created (2i+1), each as steps
   * from 0 at its first value; NaN where a client has none. */
  std::string data = "$data << EOD\n", labels;
  for (size_t i = 0; i < clients.size (); i++) {
    for (auto f : { &RunResult::audio_ms, &RunResult::session_ms }) {
      auto v = field (clients[i], f);
      std::sort (v.begin (), v.end ());
      if (v.empty ())
        data += "NaN NaN\n";
      for (size_t j = 0; j < v.size (); j++)
        data += (j ? "" : fmt (v[j], 2) + " 0\n") + fmt (v[j], 2) + " " +
            fmt (static_cast<double> (j + 1) / v.size (), 4) + "\n";
      data += "\n\n";
    }
    labels += (i ? ", \"" : "\"") + clients[i].name + " (median " +
        fmt (median_of (field (clients[i], &RunResult::audio_ms)), 0) +
        " ms)\"";
  }
  const bool png = g_str_has_suffix (path.c_str (), ".png");
  const std::string n = std::to_string (clients.size ());
  const std::string script = data + "EOD\n" + "array label[" + n + "] = [" +
      labels + "]\n" +
      "array colour[5] = [\"#1b6ac9\", \"#d1495b\", \"#2e933c\", "
      "\"#8e44ad\", \"#e08e0b\"]\n" +
      "set terminal " + (png ? "png" : "svg dynamic background '#ffffff'") +
      " size 900,520 noenhanced\nset output '" + path + "'\n" +
      "set title 'Start-up, " + std::to_string (rounds) +
      " fresh processes per client: spawn → first agent audio (solid), "
      "→ session.created (dashed)'\n"
      "set xlabel 'ms since the process was spawned'\n"
      "set ylabel 'fraction of starts'\n"
      "set xrange [0:*]\nset yrange [0:1.02]\nset grid\nset key below\n"
      "plot for [i=1:" +
      n +
      "] $data index 2*(i-1) using 1:2 with steps "
      "lw 2 lc rgb colour[(i-1)%5+1] title label[i], "
      "for [i=1:" +
      n +
      "] $data index 2*i-1 using 1:2 with steps "
      "lw 1 dt 2 lc rgb colour[(i-1)%5+1] notitle\n";

  GError *error = nullptr;
  GSubprocess *gnuplot = g_subprocess_new (
      static_cast<GSubprocessFlags> (
          G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE),
      &error, "gnuplot", nullptr);
  GBytes *in = g_bytes_new (script.data (), script.size ());
  GBytes *err = nullptr;
  const bool ok = gnuplot &&
      g_subprocess_communicate (gnuplot, in, nullptr, nullptr, &err, &error) &&
      g_subprocess_get_successful (gnuplot);
  if (ok) {
    fprintf (stderr, "plot written to %s\n", path.c_str ());
  } else {
    gsize n = 0;
    const char *text = err ?
        static_cast<const char *> (g_bytes_get_data (err, &n)) :
        nullptr;
    fprintf (stderr, "startup-bench: gnuplot could not draw %s: %s%.*s\n",
        path.c_str (), error ? error->message : "", static_cast<int> (n),
        text ? text : "");
  }
  g_bytes_unref (in);
  if (err)
    g_bytes_unref (err);
  g_clear_error (&error);
  g_clear_object (&gnuplot);
  return ok;
}

}  // namespace startup_bench
