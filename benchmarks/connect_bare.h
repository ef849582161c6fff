/* SPDX-License-Identifier: LGPL-2.1-or-later */
// connect-bench: the baseline, a plain webrtcbin client with default
// settings, written the way webrtcbin's examples teach (offer, wait for
// gathering, POST the SDP, set the answer). It is written directly on
// webrtcbin, on purpose: none of the engine's code, so that it stays an
// independent comparison.

#pragma once

#include "connect_common.h"

namespace connect_bench {

/* One call, from PLAYING to session.created and the first audible audio. */
RunResult run_bare (const ChildOptions &o);

}  // namespace connect_bench
