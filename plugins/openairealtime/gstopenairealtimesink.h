/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* openairealtimesink: the user's audio to the realtime agent. */
#pragma once

#include "gstopenairealtimebase.h"

G_BEGIN_DECLS

#define GST_TYPE_OPENAI_REALTIME_SINK (gst_openai_realtime_sink_get_type ())
G_DECLARE_FINAL_TYPE (GstOpenAIRealtimeSink, gst_openai_realtime_sink, GST,
    OPENAI_REALTIME_SINK, GstOpenAIRealtimeBase)

GST_ELEMENT_REGISTER_DECLARE (openairealtimesink);

G_END_DECLS
