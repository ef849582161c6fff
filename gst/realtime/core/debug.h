/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The engine's debug categories, one per concern, registered by
 * rt::init_debug() (called by plugin_init and by the tests). */
#pragma once

#include <gst/gst.h>

GST_DEBUG_CATEGORY_EXTERN (rt_call_debug);
GST_DEBUG_CATEGORY_EXTERN (rt_credentials_debug);
GST_DEBUG_CATEGORY_EXTERN (rt_signalling_debug);
GST_DEBUG_CATEGORY_EXTERN (rt_broadcast_debug);
GST_DEBUG_CATEGORY_EXTERN (rt_peer_debug);
GST_DEBUG_CATEGORY_EXTERN (rt_agent_debug);

namespace rt {
void init_debug ();
}
