/* SPDX-License-Identifier: LGPL-2.1-or-later */
// connect-bench: a call held once it is up (--hold), to measure what it costs
// while connected: the process's CPU over a window of audio flowing both
// ways, with the audio heard and the RTP packets each way counted, so that a
// client that stopped sending or receiving cannot look cheap.

#pragma once

#include "connect_common.h"

namespace connect_bench {

/* RTP packets sent and received so far by the client's own count; -1:
 * unknown. */
struct Packets {
  double sent = -1;
  double received = -1;
};

/* Waits o.settle_s, then measures over o.hold_s: this process's CPU
 * (getrusage), the audible audio heard, the packets (packets() is read just
 * outside the window, so that its own cost is not counted). failed() ends
 * the wait, and the call's measurement, early. Fills r's held fields. */
void hold_call (const ChildOptions &o, Heard *heard,
    const std::function<bool ()> &failed,
    const std::function<Packets ()> &packets, RunResult *r);

/* Why a held call's window does not count (empty when it does): it must
 * have lasted, and carried audio both ways for most of it (at least 80 % of
 * it heard, 40 of the 50 packets a second sent and received). */
std::string window_fault (const RunResult &r, int hold_s);

}  // namespace connect_bench
