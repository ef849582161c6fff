/* SPDX-License-Identifier: LGPL-2.1-or-later */
// startup-bench: the figures over the rounds (medians, p90, ratios, the
// phases) as a table or as Markdown, and their distribution drawn by
// gnuplot.

#pragma once

#include "startup_run.h"

namespace startup_bench {

struct ClientResult {
  std::string name;
  std::vector<RunResult> runs;  // one per round, failed ones included
  std::vector<double> others;   // the rest of the machine's CPU during each
                                // start, in cores
  int busy_starts = 0;          // started without the machine having gone quiet
};

/* The tables: first audio and session.created since the spawn, the
 * process's CPU, the other processes' load, the ratios of the elements' clients to the bare and aiortc
 * ones, the phases' medians. */
std::string render (const std::vector<ClientResult> &clients, bool markdown);

/* Each client's spawn → first audio as an empirical CDF (and, dashed,
 * spawn → session.created) into path (.svg or .png) with gnuplot. False,
 * and why on stderr, when it could not be drawn. */
bool write_plot (const std::string &path, int rounds,
    const std::vector<ClientResult> &clients);

}  // namespace startup_bench
