/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* openairealtimesrc: the realtime agent's voice as raw audio. */
#pragma once

#include "gstopenairealtimebase.h"

G_BEGIN_DECLS

#define GST_TYPE_OPENAI_REALTIME_SRC (gst_openai_realtime_src_get_type ())
G_DECLARE_FINAL_TYPE (GstOpenAIRealtimeSrc, gst_openai_realtime_src, GST,
    OPENAI_REALTIME_SRC, GstOpenAIRealtimeBase)

GST_ELEMENT_REGISTER_DECLARE (openairealtimesrc);

G_END_DECLS
