/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The live source behind openairealtimesrc's text pad: the conversation as
 * text/x-raw (utf8) buffers timestamped in running time when the text
 * arrived, with gap events in between, so that sparse-stream consumers
 * (textoverlay, subtitle muxers) keep moving when nobody speaks. Not
 * registered as a factory: openairealtimesrc makes it. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_AGENT_TEXT_SRC (gst_agent_text_src_get_type ())
G_DECLARE_FINAL_TYPE (GstAgentTextSrc, gst_agent_text_src, GST, AGENT_TEXT_SRC,
    GstElement)

/* Queues one piece of text, stamped with the running time now. Any thread;
 * dropped (and counted) when the element is not playing. */
void gst_agent_text_src_push (GstAgentTextSrc *src, const gchar *text);

/* Buffers pushed, and texts dropped because the element was not playing. */
void gst_agent_text_src_get_counters (GstAgentTextSrc *src, guint64 *pushed,
    guint64 *dropped);

G_END_DECLS
