/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "connect_report.h"

#include <cmath>
#include <cstdio>

namespace connect_bench {

double median_of (std::vector<double> v)
{
  v.erase (
      std::remove_if (v.begin (), v.end (), [] (double x) { return x < 0; }),
      v.end ());
  if (v.empty ())
    return -1;
  std::sort (v.begin (), v.end ());
  const size_t n = v.size ();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double p90_of (std::vector<double> v)
{
  v.erase (
      std::remove_if (v.begin (), v.end (), [] (double x) { return x < 0; }),
      v.end ());
  if (v.empty ())
    return -1;
  std::sort (v.begin (), v.end ());
  size_t rank = static_cast<size_t> (std::ceil (0.9 * v.size ()));
  return v[std::max<size_t> (rank, 1) - 1];
}

std::vector<double> values_of (const std::vector<RunResult> &runs,
    double RunResult::*field)
{
  std::vector<double> out;
  for (const auto &r : runs)
    if (r.*field >= 0)
      out.push_back (r.*field);
  return out;
}

namespace {

std::string fmt (double v, const char *format = "%.1f")
{
  if (v < 0)
    return "-";
  char buf[32];
  g_snprintf (buf, sizeof buf, format, v);
  return buf;
}

int fully_ok (const std::vector<RunResult> &runs)
{
  int n = 0;
  for (const auto &r : runs)
    n += r.error.empty ();
  return n;
}

std::string ok_column (const std::vector<RunResult> &runs, int expected)
{
  if (!expected)
    return "-";
  return std::to_string (fully_ok (runs)) + "/" + std::to_string (expected);
}

/* A step's median time since t0 over some calls. */
double phase_median (const std::vector<RunResult> &runs,
    const std::string &name)
{
  std::vector<double> v;
  for (const auto &r : runs)
    for (const auto &p : r.phases)
      if (p.first == name)
        v.push_back (p.second);
  return median_of (v);
}

std::string ratio (double a, double b)
{
  return a > 0 && b > 0 ? fmt (a / b, "%.2f") : "-";
}

std::string main_table (const std::vector<KindResult> &kinds, bool markdown)
{
  std::string out;
  char line[512];
  const char *row_format =
      "%-14s %6s %6s | %7s %7s %7s %7s | %7s %7s %7s %7s | %6s %6s | %7s\n";
  if (markdown) {
    out += "| client | cold calls ok | warm calls ok | session.created cold "
           "median | cold p90 | warm median | warm p90 | first audio cold "
           "median | cold p90 | warm median | warm p90 | CPU per call cold "
           "(ms) | warm (ms) | CPU of a cold process (s) |\n";
    out += "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  } else {
    g_snprintf (line, sizeof line, "%-28s | %-31s | %-31s | %-13s | %s\n", "",
        "PLAYING -> session.created (ms)", "PLAYING -> first audio (ms)",
        "CPU/call (ms)", "process");
    out += line;
    g_snprintf (line, sizeof line,
        "%-14s %6s %6s | %-15s %-15s | %-15s %-15s "
        "| %6s %6s | %7s\n",
        "", "ok", "ok", "cold", "warm", "cold", "warm", "", "", "CPU (s)");
    out += line;
    g_snprintf (line, sizeof line, row_format, "client", "cold", "warm",
        "median", "p90", "median", "p90", "median", "p90", "median", "p90",
        "cold", "warm", "cold");
    out += line;
  }
  for (const auto &k : kinds) {
    const auto sc = values_of (k.cold, &RunResult::session_ms);
    const auto sw = values_of (k.warm, &RunResult::session_ms);
    const auto ac = values_of (k.cold, &RunResult::audio_ms);
    const auto aw = values_of (k.warm, &RunResult::audio_ms);
    const std::string cols[] = { k.kind, ok_column (k.cold, k.expected_cold),
      ok_column (k.warm, k.expected_warm), fmt (median_of (sc)),
      fmt (p90_of (sc)), fmt (median_of (sw)), fmt (p90_of (sw)),
      fmt (median_of (ac)), fmt (p90_of (ac)), fmt (median_of (aw)),
      fmt (p90_of (aw)),
      fmt (median_of (values_of (k.cold, &RunResult::cpu_ms)), "%.0f"),
      fmt (median_of (values_of (k.warm, &RunResult::cpu_ms)), "%.0f"),
      fmt (median_of (k.cold_process_cpu_s), "%.2f") };
    if (markdown) {
      out += "|";
      for (size_t i = 0; i < G_N_ELEMENTS (cols); i++) {
        const bool bold = i == 3 || i == 5 || i == 7 || i == 9;
        out += " " +
            (bold && cols[i] != "-" ? "**" + cols[i] + "**" : cols[i]) + " |";
      }
      out += "\n";
    } else {
      g_snprintf (line, sizeof line, row_format, cols[0].c_str (),
          cols[1].c_str (), cols[2].c_str (), cols[3].c_str (),
          cols[4].c_str (), cols[5].c_str (), cols[6].c_str (),
          cols[7].c_str (), cols[8].c_str (), cols[9].c_str (),
          cols[10].c_str (), cols[11].c_str (), cols[12].c_str (),
          cols[13].c_str ());
      out += line;
    }
  }
  return out;
}

/* Each of the elements' kinds' medians over each other client's: below 1
 * is faster. */
std::string ratio_table (const std::vector<KindResult> &kinds, bool markdown)
{
  auto ours = [] (const KindResult &k) {
    return g_str_has_prefix (k.kind.c_str (), "elements");
  };
  std::string out;
  char line[256];
  auto med = [] (const std::vector<RunResult> &runs, double RunResult::*f) {
    return median_of (values_of (runs, f));
  };
  bool any = false;
  for (const auto &e : kinds) {
    if (!ours (e))
      continue;
    for (const auto &k : kinds) {
      if (ours (k))
        continue;
      if (!any) {
        out += markdown ?
            "\n| ratio of medians | session.created cold | warm | first audio "
            "cold | warm |\n|---|---|---|---|---|\n" :
            "\nratio of medians       session.created     first audio\n"
            "                         cold    warm       cold    warm\n";
        any = true;
      }
      const std::string name = e.kind + "/" + k.kind;
      const std::string r[] = { ratio (med (e.cold, &RunResult::session_ms),
                                    med (k.cold, &RunResult::session_ms)),
        ratio (med (e.warm, &RunResult::session_ms),
            med (k.warm, &RunResult::session_ms)),
        ratio (med (e.cold, &RunResult::audio_ms),
            med (k.cold, &RunResult::audio_ms)),
        ratio (med (e.warm, &RunResult::audio_ms),
            med (k.warm, &RunResult::audio_ms)) };
      if (markdown)
        g_snprintf (line, sizeof line, "| %s | %s | %s | %s | %s |\n",
            name.c_str (), r[0].c_str (), r[1].c_str (), r[2].c_str (),
            r[3].c_str ());
      else
        g_snprintf (line, sizeof line, "%-20s %8s %7s %10s %7s\n",
            name.c_str (), r[0].c_str (), r[1].c_str (), r[2].c_str (),
            r[3].c_str ());
      out += line;
    }
  }
  return out;
}

/* The calls a held table is over: the cold ones, unless only warm ran. */
const std::vector<RunResult> &held_runs (const ParentOptions &o,
    const KindResult &k)
{
  return o.mode == Mode::kWarm ? k.warm : k.cold;
}

/* CPU while connected: per client, the held calls' medians, then the
 * elements' median over each other client's. */
std::string held_table (const ParentOptions &o,
    const std::vector<KindResult> &kinds, bool markdown)
{
  std::string out;
  char line[512];
  const char *row_format = "%-9s %6s | %7s %7s %7s %7s | %8s | %6s %6s\n";
  if (markdown) {
    out += "| client | held calls ok | CPU while connected, median (ms per s "
           "of call) | p90 | min | max | audible audio heard (s of the "
           "window), median | RTP packets sent per s, median | received per "
           "s, median |\n|---|---|---|---|---|---|---|---|---|\n";
  } else {
    g_snprintf (line, sizeof line, "%-16s | %-31s | %-8s | %s\n", "",
        "CPU while connected (ms per s)", "heard", "packets per s");
    out += line;
    g_snprintf (line, sizeof line, row_format, "client", "ok", "median", "p90",
        "min", "max", "(s)", "sent", "recv");
    out += line;
  }
  for (const auto &k : kinds) {
    const auto &runs = held_runs (o, k);
    std::vector<RunResult> ok;
    for (const auto &r : runs)
      if (r.error.empty ())
        ok.push_back (r);
    std::vector<double> cpu = values_of (ok, &RunResult::held_cpu), sent,
                        received;
    for (const auto &r : ok) {
      sent.push_back (r.sent / r.held_s);
      received.push_back (r.received / r.held_s);
    }
    const auto range = std::minmax_element (cpu.begin (), cpu.end ());
    const std::string cols[] = { k.kind,
      std::to_string (ok.size ()) + "/" + std::to_string (runs.size ()),
      fmt (median_of (cpu)), fmt (p90_of (cpu)),
      cpu.empty () ? "-" : fmt (*range.first),
      cpu.empty () ? "-" : fmt (*range.second),
      fmt (median_of (values_of (ok, &RunResult::heard_s)), "%.2f"),
      fmt (median_of (sent)), fmt (median_of (received)) };
    if (markdown) {
      out += "|";
      for (size_t i = 0; i < G_N_ELEMENTS (cols); i++)
        out += " " +
            (i == 2 && cols[i] != "-" ? "**" + cols[i] + "**" : cols[i]) + " |";
      out += "\n";
    } else {
      g_snprintf (line, sizeof line, row_format, cols[0].c_str (),
          cols[1].c_str (), cols[2].c_str (), cols[3].c_str (),
          cols[4].c_str (), cols[5].c_str (), cols[6].c_str (),
          cols[7].c_str (), cols[8].c_str ());
      out += line;
    }
  }
  auto held_median = [&] (const KindResult &k) {
    std::vector<double> v;
    for (const auto &r : held_runs (o, k))
      if (r.error.empty ())
        v.push_back (r.held_cpu);
    return median_of (v);
  };
  /* Each of the elements' kinds over each other client. */
  auto ours = [] (const KindResult &k) {
    return g_str_has_prefix (k.kind.c_str (), "elements");
  };
  std::string ratios;
  for (const auto &e : kinds)
    for (const auto &k : kinds) {
      if (!ours (e) || ours (k))
        continue;
      const std::string name = e.kind + "/" + k.kind;
      const std::string r = ratio (held_median (e), held_median (k));
      ratios += markdown ? "| " + name + " | **" + r + "** |\n" :
                           "ratio " + name + " of the medians: " + r + "\n";
    }
  if (!ratios.empty ())
    out += markdown ?
        "\n| ratio of medians | CPU while connected |\n|---|---|\n" + ratios :
        ratios;
  return out + "\n";
}

/* One row per step, a cold and a warm median per kind. */
std::string phase_table (const std::vector<KindResult> &kinds, bool markdown)
{
  std::vector<std::string> names;
  for (const auto &k : kinds)
    for (const auto *runs : { &k.cold, &k.warm })
      for (const auto &r : *runs)
        for (const auto &p : r.phases)
          if (std::find (names.begin (), names.end (), p.first) == names.end ())
            names.push_back (p.first);
  /* The steps in the order a call goes through them; others after. */
  static const char *const order[] = { "call started", "secret minted",
    "offer created", "gathering complete", "offer posted", "answer received",
    "ICE connected", "DTLS connected", "channel open", "session.created",
    "first audio" };
  auto rank = [&] (const std::string &name) {
    for (size_t i = 0; i < G_N_ELEMENTS (order); i++)
      if (name == order[i])
        return i;
    return G_N_ELEMENTS (order);
  };
  std::stable_sort (names.begin (), names.end (),
      [&] (const std::string &a, const std::string &b) {
        return rank (a) < rank (b);
      });
  std::string out;
  char line[256];
  if (markdown) {
    out += "\nEach step's median time since t0 (ms), over the cold calls and "
           "over the warm calls.\n\n| step |";
    for (const auto &k : kinds)
      out += " " + k.kind + " cold | " + k.kind + " warm |";
    out += "\n|---|";
    for (size_t i = 0; i < kinds.size (); i++)
      out += "---|---|";
    out += "\n";
  } else {
    g_snprintf (line, sizeof line, "\n%-20s", "ms since t0, median");
    out += line;
    for (const auto &k : kinds) {
      g_snprintf (line, sizeof line, " | %-15s", k.kind.c_str ());
      out += line;
    }
    g_snprintf (line, sizeof line, "\n%-20s", "step");
    out += line;
    for (size_t i = 0; i < kinds.size (); i++)
      out += " |    cold    warm";
    out += "\n";
  }
  for (const auto &name : names) {
    if (markdown) {
      out += "| " + name + " |";
    } else {
      g_snprintf (line, sizeof line, "%-20s", name.c_str ());
      out += line;
    }
    for (const auto &k : kinds) {
      const std::string c = fmt (phase_median (k.cold, name));
      const std::string w = fmt (phase_median (k.warm, name));
      if (markdown) {
        out += " " + c + " | " + w + " |";
      } else {
        g_snprintf (line, sizeof line, " | %7s %7s", c.c_str (), w.c_str ());
        out += line;
      }
    }
    out += "\n";
  }
  return out;
}

}  // namespace

std::string render (const ParentOptions &o,
    const std::vector<KindResult> &kinds, bool markdown)
{
  std::string out;
  if (markdown) {
    out += "Calls per client: " + std::to_string (o.runs) + ". ";
    if (o.mode != Mode::kWarm)
      out += "Cold: each call in a fresh process, one per client per round, "
             "the clients' order rotated each round. ";
    else
      out += "Cold: the first call of the process (one sample). ";
    if (o.mode != Mode::kCold)
      out += "Warm: the calls after the first in one process per client. ";
    out += "Times in ms from t0 (just before PLAYING; for aiortc, just "
           "before the secret is minted).\n\n";
  }
  if (o.hold_s > 0) {
    if (markdown)
      out += "Each call held " + std::to_string (o.hold_s) +
          " s after settling for " + std::to_string (o.settle_s) +
          " s: the client process's CPU (user+system) per second of that "
          "window.\n\n";
    out += held_table (o, kinds, markdown);
  }
  out += main_table (kinds, markdown);
  out += ratio_table (kinds, markdown);
  if (o.phases)
    out += phase_table (kinds, markdown);
  return out;
}

}  // namespace connect_bench
