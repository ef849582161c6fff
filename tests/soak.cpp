/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Many reconnections in one process: the call is dropped by the far end
 * 200 times and rebuilt each time. Threads, file descriptors and memory
 * must not grow beyond a small bound (docs/design.md, "Resources"). Leaks
 * themselves are LeakSanitizer's and valgrind's business; this test catches
 * what they cannot call a leak: threads that never end, sockets never
 * closed, memory still referenced but never freed. */
#include "session.h"

#include <dirent.h>

namespace {

size_t entries_in (const char *dir)
{
  size_t n = 0;
  if (DIR *d = opendir (dir)) {
    while (struct dirent *e = readdir (d))
      n += e->d_name[0] != '.';
    closedir (d);
  }
  return n;
}

struct Usage {
  size_t threads, fds, rss_kib;
};

Usage usage ()
{
  Usage u { entries_in ("/proc/self/task"), entries_in ("/proc/self/fd"), 0 };
  gchar *status = nullptr;
  if (g_file_get_contents ("/proc/self/status", &status, nullptr, nullptr)) {
    if (const char *at = strstr (status, "VmRSS:"))
      u.rss_kib = g_ascii_strtoull (at + 6, nullptr, 10);
    g_free (status);
  }
  return u;
}

}  // namespace

GST_START_TEST (test_reconnect_cycles)
{
  /* Under a sanitizer or valgrind, memory is quarantined and shadowed:
   * only threads and descriptors are bounded there, and 60 cycles (each
   * about 3 s there on a loaded machine) are enough to find a leak or a
   * memory error per cycle. */
  const char *preload = g_getenv ("LD_PRELOAD");
  const bool valgrind = preload && strstr (preload, "vgpreload");
  const bool sanitized = valgrind || (preload && strstr (preload, "asan"));
  const unsigned cycles = test::env_uint ("SOAK_CYCLES", sanitized ? 60 : 200);
  const unsigned warmup = std::max (1u, std::min (20u, cycles / 4));

  fail_unless (server.control ("/control/reset", "{}"));
  /* No turn detection: this test is about reconnecting. With it, a stall of
   * the tone under load reads as the end of a turn, the agent answers, and
   * its speech (which suspends the echo) is taken for the echo. */
  Session s ("api-key=" + server.api_key,
      "audiotestsrc is-live=true freq=440 volume=0.5", "",
      "reconnect-delay=5 reconnect-delay-max=20 max-reconnect-attempts=100000 "
      "turn-detection=none");
  /* Each new call must carry the echo again; under valgrind, whose audio
   * path runs too slowly for a clean tone, each must at least be announced
   * by the far end (session.created) before it is dropped again. */
  auto call_up = [&] (unsigned n) {
    return valgrind ? s.wait ([&] {
      return (unsigned) std::count (s.signalled.begin (), s.signalled.end (),
                 "session.created") >= n;
    }) :
                      echo_back (s, 0);
  };
  s.play ();
  fail_unless (s.wait ([&] { return count_state (s, "connected") == 1; }, 15s));
  fail_unless (call_up (1), "the first call carries nothing");

  Usage base {};
  gint64 start = g_get_monotonic_time ();
  for (unsigned i = 1; i <= cycles; i++) {
    if (i == warmup)
      base = usage ();
    {
      /* Only this cycle's audio is kept: the test's own memory stays flat. */
      std::lock_guard<std::mutex> l (s.m);
      s.audio.clear ();
    }
    fail_unless (
        server.control ("/control/fault", "{\"drop_calls\":\"abrupt\"}"));
    /* Room for one stalled attempt (connect-timeout, 10 s) and its retry. */
    fail_unless (
        s.wait ([&] { return count_state (s, "connected") == i + 1; }, 30s),
        "cycle %u did not reconnect: %s", i,
        s.transitions ().substr (0, 200).c_str ());
    fail_unless (call_up (i + 1), "cycle %u: the new call carries nothing", i);
  }
  Usage end = usage ();
  double secs = (g_get_monotonic_time () - start) / 1e6;
  g_print (
      "%u reconnect cycles in %.1f s; after cycle %u: %zu threads, %zu fds, "
      "%zu KiB; at the end: %zu threads, %zu fds, %zu KiB\n",
      cycles, secs, warmup, base.threads, base.fds, base.rss_kib, end.threads,
      end.fds, end.rss_kib);
  /* One new call per drop, and one more for each attempt that stalled on
   * a loaded machine (each announced as reconnecting): never a storm. */
  const guint64 reconnects = uint64_prop (s.src, "reconnects");
  fail_unless_equals_uint64 (reconnects,
      (guint64) count_state (s, "reconnecting"));
  fail_unless (reconnects >= cycles && reconnects <= cycles + cycles / 20,
      "%" G_GUINT64_FORMAT " reconnects for %u drops", reconnects, cycles);
  /* Bounds (docs/design.md): threads and descriptors come back to where
   * they were, give or take one call being set up or torn down. */
  fail_unless (end.threads <= base.threads + 4, "threads grew from %zu to %zu",
      base.threads, end.threads);
  fail_unless (end.fds <= base.fds + 8, "descriptors grew from %zu to %zu",
      base.fds, end.fds);
  if (!sanitized)
    fail_unless (end.rss_kib <= base.rss_kib + 16 * 1024,
        "memory grew from %zu KiB to %zu KiB", base.rss_kib, end.rss_kib);
  expect_no_error (s);
}
GST_END_TEST;

static Suite *soak_suite ()
{
  Suite *s = suite_create ("soak");
  TCase *tc = tcase_create ("soak");
  tcase_set_timeout (tc, 600);
  tcase_add_unchecked_fixture (tc, local_server_up, local_server_down);
  tcase_add_test (tc, test_reconnect_cycles);
  suite_add_tcase (s, tc);
  return s;
}

GST_CHECK_MAIN (soak);
