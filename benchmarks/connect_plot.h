/* SPDX-License-Identifier: LGPL-2.1-or-later */
// connect-bench: the distribution of the cold calls' connect times per
// client, and the held calls' CPU while connected, drawn by gnuplot (Debian's
// gnuplot-nox) into an SVG or PNG.

#pragma once

#include "connect_common.h"

namespace connect_bench {

/* Writes o.plot (SVG unless the name ends in .png). False, and why on
 * stderr, when gnuplot is missing or fails. */
bool write_plot (const ParentOptions &o, const std::vector<KindResult> &kinds);

/* Writes o.cpu_plot: each held call's CPU while connected, per client, with
 * the medians. */
bool write_cpu_plot (const ParentOptions &o,
    const std::vector<KindResult> &kinds);

}  // namespace connect_bench
