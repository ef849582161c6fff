/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Audio going into a call leaves at its running time. The pipeline's
 * latency is what its outputs (a sound card, a src) need to play in time;
 * what goes out to the far end need not wait for it. A capture device's
 * buffer arrives after its running time and goes out at once; only what
 * comes early (a file) is held. */
#pragma once

#include <gst/gst.h>

namespace rt {

/* For an element's send_event: on the pipeline's LATENCY event, sets the
 * syncing appsink that takes the element's input to take it at running
 * time, not that plus the latency; other events are left alone. */
inline void pace_input_at_running_time (GstElement *appsink, GstEvent *event)
{
  if (GST_EVENT_TYPE (event) != GST_EVENT_LATENCY)
    return;
  GstClockTime latency = 0;
  gst_event_parse_latency (event, &latency);
  GST_DEBUG_OBJECT (appsink,
      "input at running time, not %" GST_TIME_FORMAT " later",
      GST_TIME_ARGS (latency));
  g_object_set (appsink, "ts-offset", -(gint64) latency, nullptr);
}

}  // namespace rt
