#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""startup-bench's aiortc client: connect-bench's aiortc call
(connect_aiortc.py), made once by a fresh interpreter, with its moments
reported from the process's spawn rather than from the call's start.

The parent passes the moment it spawned this process (--spawned-at, µs on
CLOCK_MONOTONIC, the clock of Python's time.monotonic_ns and of GLib's
g_get_monotonic_time); the line printed is connect_report.cpp's

  RUN 1 session=<ms> audio=<ms> cpu=<ms> phases=<name>:<ms>,... [error=...]

with every time in ms since that spawn. The phases add "interpreter up" (this
file's first line runs), "imports done" (aiortc, av, numpy and the client
loaded) and "call started" (connect_aiortc's t0, just before the secret is
minted) to the call's own.
"""

import time

INTERPRETER_UP = time.monotonic_ns()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import sys  # noqa: E402
import urllib.parse  # noqa: E402

import connect_aiortc as client  # noqa: E402

IMPORTS_DONE = time.monotonic_ns()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--spawned-at", type=int, required=True,
                   help="µs on CLOCK_MONOTONIC just before the spawn")
    p.add_argument("--server", required=True, help="base URL of the server")
    p.add_argument("--key", required=True, help="API key for minting")
    p.add_argument("--timeout", type=int, default=10, help="seconds for the call")
    opts = p.parse_args()
    # connect_aiortc's call reads these too: one call, hung up at once.
    opts.hold, opts.settle = 0, 0
    spawned_ns = opts.spawned_at * 1000

    def since_spawn(index, call, cpu_ms):
        """connect_aiortc's line, its times moved from t0 to the spawn."""
        call.marks["interpreter up"] = INTERPRETER_UP
        call.marks["imports done"] = IMPORTS_DONE
        call.marks["call started"] = call.t0
        call.t0 = spawned_ns
        report(index, call, cpu_ms)

    report = client.print_result
    client.print_result = since_spawn
    if (urllib.parse.urlsplit(opts.server).hostname or "").startswith("127."):
        client.use_loopback_candidates()
    try:
        asyncio.run(client.one_call(opts, 1))
    except Exception as e:
        print("FATAL %s: %s" % (type(e).__name__, e), flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
