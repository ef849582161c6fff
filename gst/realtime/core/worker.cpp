/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/worker.h"

#include <condition_variable>
#include <mutex>

namespace rt {
namespace {

using Fn = std::function<void ()>;

gboolean run_once (gpointer data)
{
  (*static_cast<Fn *> (data)) ();
  return G_SOURCE_REMOVE;
}

void destroy_fn (gpointer data)
{
  delete static_cast<Fn *> (data);
}

guint attach (GMainContext *context, GSource *source, Fn fn)
{
  g_source_set_callback (source, run_once, new Fn (std::move (fn)), destroy_fn);
  guint id = g_source_attach (source, context);
  g_source_unref (source);
  return id;
}

}  // namespace

Worker::Worker (const char *name)
    : context_ (g_main_context_new ()),
      loop_ (g_main_loop_new (context_, FALSE))
{
  std::string thread_name (name);
  thread_ = std::thread ([this, thread_name] {
#ifdef __linux__
    pthread_setname_np (pthread_self (), thread_name.substr (0, 15).c_str ());
#endif
    g_main_context_push_thread_default (context_);
    g_main_loop_run (loop_);
    g_main_context_pop_thread_default (context_);
  });
}

Worker::~Worker ()
{
  /* The quit runs inside the loop so that it cannot be lost before run(). */
  post ([this] { g_main_loop_quit (loop_); });
  thread_.join ();
  g_main_loop_unref (loop_);
  g_main_context_unref (context_);
}

bool Worker::is_current () const
{
  return std::this_thread::get_id () == thread_.get_id ();
}

void Worker::post (std::function<void ()> fn)
{
  attach (context_, g_idle_source_new (), std::move (fn));
}

guint Worker::post_after (unsigned delay_ms, std::function<void ()> fn)
{
  return attach (context_, g_timeout_source_new (delay_ms), std::move (fn));
}

void Worker::cancel_timeout (guint id)
{
  if (GSource *s = g_main_context_find_source_by_id (context_, id))
    g_source_destroy (s);
}

bool Worker::iterate_until (const std::function<bool ()> &done,
    unsigned timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + gint64 (timeout_ms) * 1000;
  /* A tick, so that a blocking iteration returns to check the deadline. */
  GSource *tick = g_timeout_source_new (20);
  g_source_set_callback (
      tick, [] (gpointer) -> gboolean { return G_SOURCE_CONTINUE; }, nullptr,
      nullptr);
  g_source_attach (tick, context_);
  while (!done () && g_get_monotonic_time () < deadline)
    g_main_context_iteration (context_, TRUE);
  g_source_destroy (tick);
  g_source_unref (tick);
  return done ();
}

void Worker::run_sync (std::function<void ()> fn)
{
  g_return_if_fail (!is_current ());
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  post ([&] {
    fn ();
    std::lock_guard<std::mutex> lock (m);
    done = true;
    cv.notify_one ();
  });
  std::unique_lock<std::mutex> lock (m);
  cv.wait (lock, [&] { return done; });
}

}  // namespace rt
