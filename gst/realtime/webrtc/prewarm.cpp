/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "webrtc/prewarm.h"

#include "core/debug.h"
#include "core/http.h"
#include "webrtc/dtls.h"

#include <gst/gst.h>

#include <chrono>
#include <cstdlib>
#include <future>
#include <mutex>
#include <thread>

#include <openssl/crypto.h>
#include <unistd.h>

#define GST_CAT_DEFAULT rt_peer_debug

namespace rt {

/* In the order a call makes their elements: webrtcbin (and its rtpbin)
 * first, then the audio chain, then what its first offer's transport
 * makes. dtls came with the certificate. */
const char *const kCallPlugins[] = { "webrtc", "rtpmanager", "coreelements",
  "app", "audioconvert", "audioresample", "opus", "rtp", "srtp", "nice", "sctp",
  nullptr };

namespace {

/* The thread. */
struct Prewarm {
  std::thread *thread = nullptr;
  pid_t pid = 0;
  std::shared_future<void> certificate;
  std::shared_future<void> done;
};
Prewarm prewarm;
std::once_flag prewarm_once;

/* Joined at exit rather than detached: a process that ends while it still
 * runs (a call refused at once, gst-inspect) must not leave it loading
 * plugins or the kept key through its exit handlers. Registered when the
 * thread starts, so that it runs before every handler registered earlier:
 * OpenSSL's cleanup is one when OpenSSL was set up before (the dtls plugin
 * loaded by a registry scan in this process), and the thread may be
 * reading the key with it. */
void join_prewarm ()
{
  /* A forked child has the object but not the thread: it leaves it. */
  if (prewarm.thread && prewarm.pid == getpid ()) {
    prewarm.thread->join ();
    delete prewarm.thread;
    prewarm.thread = nullptr;
  }
}

void load_call_plugins ()
{
  const gint64 start = g_get_monotonic_time ();
  for (const char *const *name = kCallPlugins; *name; name++) {
    /* A missing one is said by the element that needs it. */
    if (GstPlugin *plugin = gst_plugin_load_by_name (*name))
      gst_object_unref (plugin);
  }
  GST_DEBUG ("a call's plugins loaded in %.1f ms",
      (g_get_monotonic_time () - start) / 1000.0);
}

}  // namespace

void prewarm_webrtc ()
{
  init_debug ();
  /* OpenSSL frees its locks at exit unless told not to, but webrtcbin's
   * threads (streaming tasks that ran DTLS, GStreamer's thread pools that
   * gst_deinit() winds down after it) still run OpenSSL's per-thread
   * cleanup as they end: on freed locks, a crash or a corrupted heap in a
   * process that was only exiting. The first initialisation decides, and
   * a call's or a broadcast's is normally the first. What OpenSSL holds
   * is freed with the process. */
  OPENSSL_init_crypto (
      OPENSSL_INIT_LOAD_CRYPTO_STRINGS | OPENSSL_INIT_NO_ATEXIT, nullptr);
  std::call_once (prewarm_once, [] {
    prewarm.pid = getpid ();
    std::promise<void> made, done;
    prewarm.certificate = made.get_future ().share ();
    prewarm.done = done.get_future ().share ();
    std::atexit (join_prewarm);
    prewarm.thread = new std::thread (
        [made = std::move (made), done = std::move (done)] () mutable {
          make_dtls_certificate ();
          made.set_value ();
          /* The mint, on the HTTP worker, needs it first; meanwhile a
           * call's worker may load the plugins it needs at once itself. */
          prewarm_http ();
          load_call_plugins ();
          done.set_value ();
        });
  });
}

void await_dtls_certificate ()
{
  prewarm_webrtc ();
  /* A forked child has the promise but not the thread that keeps it. */
  if (prewarm.pid == getpid ())
    prewarm.certificate.wait ();
}

bool await_prewarm (unsigned timeout_ms)
{
  prewarm_webrtc ();
  if (prewarm.pid != getpid ())
    return true;
  return prewarm.done.wait_for (std::chrono::milliseconds (timeout_ms)) ==
      std::future_status::ready;
}

}  // namespace rt
