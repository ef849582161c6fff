/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A thread that owns a GMainContext: where a call's HTTP, its webrtcbin
 * promises and its data-channel events are handled, so that no work runs on
 * webrtcbin's own threads (their callbacks hold webrtcbin's lock) and none on
 * the application's. */
#pragma once

#include <glib.h>

#include <functional>
#include <thread>

namespace rt {

class Worker {
 public:
  explicit Worker (const char *name);
  ~Worker (); /* stops the loop and joins; pending work is dropped */

  Worker (const Worker &) = delete;
  Worker &operator= (const Worker &) = delete;

  GMainContext *context () const { return context_; }
  bool is_current () const;

  /* Runs fn on the worker thread, soon. Safe from any thread. */
  void post (std::function<void ()> fn);

  /* Runs fn on the worker after delay_ms; the returned source id can be
   * removed with cancel_timeout() from the worker thread. */
  guint post_after (unsigned delay_ms, std::function<void ()> fn);
  void cancel_timeout (guint id);

  /* On the worker: runs its loop until done() holds or timeout_ms pass.
   * For the few waits that must stay bounded (a hangup at teardown). */
  bool iterate_until (const std::function<bool ()> &done, unsigned timeout_ms);

  /* Runs fn on the worker and waits for it. Not from the worker itself. */
  void run_sync (std::function<void ()> fn);

 private:
  GMainContext *context_;
  GMainLoop *loop_;
  std::thread thread_;
};

}  // namespace rt
