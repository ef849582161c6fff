/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "main_thread.h"

namespace rts {

namespace {
rt::Worker *the_worker = nullptr;
}  // namespace

rt::Worker &server_worker ()
{
  g_assert (the_worker != nullptr);
  return *the_worker;
}

void set_server_worker (rt::Worker *worker)
{
  the_worker = worker;
}

guint add_timeout (guint interval_ms, GSourceFunc fn, gpointer data,
    GDestroyNotify destroy, gint priority)
{
  GSource *source = g_timeout_source_new (interval_ms);
  g_source_set_priority (source, priority);
  g_source_set_callback (source, fn, data, destroy);
  guint id = g_source_attach (source, server_worker ().context ());
  g_source_unref (source);
  return id;
}

void remove_timeout (guint id)
{
  server_worker ().cancel_timeout (id);
}

}  // namespace rts
