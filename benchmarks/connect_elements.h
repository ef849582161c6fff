/* SPDX-License-Identifier: LGPL-2.1-or-later */
// connect-bench: the project's elements as the client
// (ephemeraltokenprovider + openairealtimesink/openairealtimesrc).

#pragma once

#include "connect_common.h"

namespace connect_bench {

/* One call through the elements, from PLAYING to session.created and the
 * first audible audio. from_ready: the pipeline is put in READY first, as
 * an application that prepares its call ahead would (t0 is then the step
 * from READY to PLAYING); otherwise t0 is the step from NULL. */
RunResult run_elements (const ChildOptions &o, bool from_ready);

/* A GStreamer log function that marks the elements' phases, read from their
 * own debug log (categories realtimecall, realtimecredentials,
 * realtimesignalling) and webrtcbin's. */
void capture_log (GstDebugCategory *category, GstDebugLevel, const gchar *,
    const gchar *, gint, GObject *, GstDebugMessage *message, gpointer);

}  // namespace connect_bench
