#include "main_thread.h"

#include <glib.h>

namespace rts {

namespace {

using Job = std::function<void()>;

gboolean run_job(gpointer data) {
  (*static_cast<Job *>(data))();
  return G_SOURCE_REMOVE;
}

void free_job(gpointer data) { delete static_cast<Job *>(data); }

}  // namespace

void run_on_main(std::function<void()> fn) {
  // An idle source rather than g_main_context_invoke(): invoke runs at once when called on the
  // owning thread, which would reorder it ahead of jobs queued earlier from other threads.
  GSource *source = g_idle_source_new();
  g_source_set_priority(source, G_PRIORITY_DEFAULT);
  g_source_set_callback(source, run_job, new Job(std::move(fn)), free_job);
  g_source_attach(source, g_main_context_default());
  g_source_unref(source);
}

}  // namespace rts
