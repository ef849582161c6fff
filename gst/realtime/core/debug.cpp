/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/debug.h"

#include "core/redact.h"

#include <mutex>

GST_DEBUG_CATEGORY (rt_call_debug);
GST_DEBUG_CATEGORY (rt_credentials_debug);
GST_DEBUG_CATEGORY (rt_signalling_debug);
GST_DEBUG_CATEGORY (rt_broadcast_debug);
GST_DEBUG_CATEGORY (rt_peer_debug);
GST_DEBUG_CATEGORY (rt_agent_debug);

namespace rt {

void init_debug ()
{
  static std::once_flag once;
  std::call_once (once, [] {
    install_log_redaction ();
    GST_DEBUG_CATEGORY_INIT (rt_call_debug, "realtimecall", 0,
        "A realtime call: webrtcbin, data channel, media");
    GST_DEBUG_CATEGORY_INIT (rt_credentials_debug, "realtimecredentials", 0,
        "Ephemeral secrets for realtime calls");
    GST_DEBUG_CATEGORY_INIT (rt_signalling_debug, "realtimesignalling", 0,
        "Offer/answer exchange with the realtime service");
    GST_DEBUG_CATEGORY_INIT (rt_broadcast_debug, "broadcast", 0,
        "Audio to browser clients: signalling server and fan-out");
    GST_DEBUG_CATEGORY_INIT (rt_peer_debug, "realtimepeer", 0,
        "A WebRTC peer: webrtcbin, its pipeline, data channels");
    GST_DEBUG_CATEGORY_INIT (rt_agent_debug, "realtimeagent", 0,
        "The agent session on the oai-events data channel");
  });
}

}  // namespace rt
