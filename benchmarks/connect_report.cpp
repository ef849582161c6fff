/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "connect_report.h"

#include <cmath>
#include <cstdio>

namespace connect_bench {

void print_result (int index, const RunResult &r)
{
  auto num = [] (double v) {
    char buf[32];
    if (v < 0)
      return std::string ("-");
    g_ascii_formatd (buf, sizeof buf, "%.2f", v);
    return std::string (buf);
  };
  std::string line = "RUN " + std::to_string (index) +
      " session=" + num (r.session_ms) + " audio=" + num (r.audio_ms) +
      " cpu=" + num (r.cpu_ms);
  if (r.held_s >= 0)
    line += " held_cpu=" + num (r.held_cpu) + " held_s=" + num (r.held_s) +
        " heard_s=" + num (r.heard_s) + " sent=" + num (r.sent) +
        " received=" + num (r.received);
  line += " phases=";
  for (size_t i = 0; i < r.phases.size (); i++) {
    std::string name = r.phases[i].first;
    std::replace (name.begin (), name.end (), ' ', '_');
    line += (i ? "," : "") + name + ":" + num (r.phases[i].second);
  }
  if (r.phases.empty ())
    line += "-";
  if (!r.error.empty ()) {
    std::string e = r.error;
    std::replace (e.begin (), e.end (), '\n', ' ');
    line += " error=" + e;
  }
  printf ("%s\n", line.c_str ());
  fflush (stdout);
}

namespace {

double parse_num (const std::string &s)
{
  if (s == "-" || s.empty ())
    return -1;
  return g_ascii_strtod (s.c_str (), nullptr);
}

}  // namespace

bool parse_run_line (const std::string &line, RunResult *r)
{
  if (line.rfind ("RUN ", 0) != 0)
    return false;
  std::string rest = line;
  auto err = rest.find (" error=");
  if (err != std::string::npos) {
    r->error = rest.substr (err + 7);
    rest = rest.substr (0, err);
  }
  gchar **tokens = g_strsplit (rest.c_str (), " ", -1);
  for (gchar **t = tokens; *t; t++) {
    std::string tok = *t;
    auto eq = tok.find ('=');
    if (eq == std::string::npos)
      continue;
    std::string k = tok.substr (0, eq), v = tok.substr (eq + 1);
    static const std::pair<const char *, double RunResult::*> numbers[] = {
      { "session", &RunResult::session_ms }, { "audio", &RunResult::audio_ms },
      { "cpu", &RunResult::cpu_ms }, { "held_cpu", &RunResult::held_cpu },
      { "held_s", &RunResult::held_s }, { "heard_s", &RunResult::heard_s },
      { "sent", &RunResult::sent }, { "received", &RunResult::received }
    };
    bool number = false;
    for (const auto &n : numbers)
      if (k == n.first) {
        r->*n.second = parse_num (v);
        number = true;
      }
    if (number)
      continue;
    if (k == "phases" && v != "-") {
      gchar **items = g_strsplit (v.c_str (), ",", -1);
      for (gchar **it = items; *it; it++) {
        std::string item = *it;
        auto colon = item.rfind (':');
        if (colon == std::string::npos)
          continue;
        std::string name = item.substr (0, colon);
        std::replace (name.begin (), name.end (), '_', ' ');
        r->phases.emplace_back (name, parse_num (item.substr (colon + 1)));
      }
      g_strfreev (items);
    }
  }
  g_strfreev (tokens);
  return true;
}

}  // namespace connect_bench
