/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* webrtcbroadcastsink: streams the audio it receives to any number of web
 * pages over WebRTC, with its own HTTP + WebSocket signalling server and a
 * bundled player page. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_WEBRTC_BROADCAST_SINK (gst_webrtc_broadcast_sink_get_type ())
G_DECLARE_FINAL_TYPE (GstWebRTCBroadcastSink, gst_webrtc_broadcast_sink, GST,
    WEBRTC_BROADCAST_SINK, GstBin)

GST_ELEMENT_REGISTER_DECLARE (webrtcbroadcastsink);

G_END_DECLS
