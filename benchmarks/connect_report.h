/* SPDX-License-Identifier: LGPL-2.1-or-later */
// connect-bench: a call's result as one line from the child to the parent
// (connect_report.cpp), and the figures over the calls (cold and warm
// medians, p90, ratios, the steps) as a table or as Markdown
// (connect_table.cpp).

#pragma once

#include "connect_common.h"

namespace connect_bench {

/* Prints r on stdout as one "RUN <index> session=... audio=... cpu=...
 * [held_cpu=... held_s=... heard_s=... sent=... received=...] phases=...
 * [error=...]" line. */
void print_result (int index, const RunResult &r);

/* Reads a line of print_result; false when it is not one. */
bool parse_run_line (const std::string &line, RunResult *r);

/* Median and p90 (nearest rank) of the values >= 0; -1 when none. */
double median_of (std::vector<double> v);
double p90_of (std::vector<double> v);

/* A field of the calls that have it. */
std::vector<double> values_of (const std::vector<RunResult> &runs,
    double RunResult::*field);

/* The table of every kind: times to session.created and to first audio,
 * cold and warm, CPU; the ratios of the elements' medians to the others';
 * then the step table when o.phases. With o.hold_s, the held calls' CPU
 * while connected and its ratios come first. */
std::string render (const ParentOptions &o,
    const std::vector<KindResult> &kinds, bool markdown);

}  // namespace connect_bench
