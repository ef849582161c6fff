/* SPDX-License-Identifier: LGPL-2.1-or-later */
// connect-bench, the parent side: the server, one child process per kind of
// client, the table.

#pragma once

#include "connect_common.h"

namespace connect_bench {

/* Starts the server unless o.server_url names one, warms it up, runs each
 * kind in a child of its own, prints the table (and writes the Markdown).
 * The exit status: 0 when every call of every kind went through. */
int parent_main (ParentOptions o);

}  // namespace connect_bench
