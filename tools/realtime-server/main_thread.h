/* SPDX-License-Identifier: LGPL-2.1-or-later */
// The server's thread: an rt::Worker that owns every piece of server state (the HTTP front end,
// the calls, their agents and their peers' events).
//
// webrtcbin, appsink and GSubprocess call us back from their own threads, some of them while
// holding webrtcbin's lock (touching webrtcbin there deadlocks in 1.22.0). Every such callback
// only copies what it got and posts the real work to this worker (rt::Peer does so for every
// webrtcbin callback), so all server state lives on one thread and needs no locks.
#pragma once

#include "core/worker.h"

#include <glib.h>

namespace rts {

// The worker; set by main before anything else uses it, for the life of the process.
rt::Worker &server_worker ();
void set_server_worker (rt::Worker *worker);

// g_timeout_add() and g_source_remove() on the server's context (GLib's own act on the global
// default context, which the server does not run). Removing an unknown id is harmless.
guint add_timeout (guint interval_ms, GSourceFunc fn, gpointer data,
    GDestroyNotify destroy = nullptr, gint priority = G_PRIORITY_DEFAULT);
void remove_timeout (guint id);

}  // namespace rts
