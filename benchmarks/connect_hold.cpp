/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "connect_hold.h"

namespace connect_bench {

void hold_call (const ChildOptions &o, Heard *heard,
    const std::function<bool ()> &failed,
    const std::function<Packets ()> &packets, RunResult *r)
{
  auto wait_until = [&] (gint64 until) {
    loop_until (failed, until);
    return !failed ();
  };
  if (!wait_until (now_us () + o.settle_s * G_USEC_PER_SEC))
    return;
  const Packets p0 = packets ();
  heard->audible_us = 0;
  heard->counting = true;
  const double cpu0 = self_cpu_seconds ();
  const gint64 t0 = now_us ();
  const bool whole = wait_until (t0 + o.hold_s * G_USEC_PER_SEC);
  const gint64 t1 = now_us ();
  const double cpu1 = self_cpu_seconds ();
  heard->counting = false;
  const Packets p1 = packets ();
  if (!whole)
    return;
  r->held_s = (t1 - t0) / 1e6;
  r->held_cpu = (cpu1 - cpu0) * 1000.0 / r->held_s;
  r->heard_s = heard->audible_us.load () / 1e6;
  if (p0.sent >= 0 && p1.sent >= 0)
    r->sent = p1.sent - p0.sent;
  if (p0.received >= 0 && p1.received >= 0)
    r->received = p1.received - p0.received;
}

std::string window_fault (const RunResult &r, int hold_s)
{
  char why[160];
  if (r.held_s < 0.9 * hold_s || r.held_cpu < 0)
    return "the call did not last its window";
  const double packets = 40 * r.held_s;
  if (r.heard_s < 0.8 * r.held_s)
    g_snprintf (why, sizeof why, "%.1f s of audible audio heard in %.1f s",
        r.heard_s, r.held_s);
  else if (r.sent < packets)
    g_snprintf (why, sizeof why, "%.0f packets sent in %.1f s", r.sent,
        r.held_s);
  else if (r.received < packets)
    g_snprintf (why, sizeof why, "%.0f packets received in %.1f s", r.received,
        r.held_s);
  else
    return "";
  return why;
}

}  // namespace connect_bench
