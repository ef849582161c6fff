/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* latency-bench: one call of a bare webrtcbin client against the local
 * server, its echo round trips recorded in *echo. */
#pragma once

#include "latency_common.h"

namespace latency_bench {

/* True once `echoes` round trips are measured (before deadline_us). */
bool run_bare (const std::string &base, const std::string &key, Echo *echo,
    std::size_t echoes, gint64 deadline_us, std::string *error);

}  // namespace latency_bench
