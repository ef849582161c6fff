/* The live source inside openairealtimesrc: it plays out the agent's decoded
 * audio at the pace of the pipeline clock, 10 ms per buffer, and fills
 * whatever is missing with silence, so that downstream (a recording, a sound
 * card) sees one continuous, properly timestamped stream whatever the
 * network does. Not registered as a factory: openairealtimesrc makes it. */
#pragma once

#include <gst/base/gstpushsrc.h>

G_BEGIN_DECLS

#define GST_TYPE_AGENT_AUDIO_SRC (gst_agent_audio_src_get_type ())
G_DECLARE_FINAL_TYPE (GstAgentAudioSrc, gst_agent_audio_src, GST, AGENT_AUDIO_SRC,
    GstPushSrc)

/* Queues decoded agent audio (S16LE, 48 kHz, mono). Any thread. */
void gst_agent_audio_src_push (GstAgentAudioSrc *src, GstBuffer *buffer);

/* Drops every queued sample at once (barge-in); the next block is
 * silence. Returns the samples dropped. Any thread. */
guint64 gst_agent_audio_src_flush (GstAgentAudioSrc *src);

/* Samples dropped because too much was queued, and silence inserted. */
void gst_agent_audio_src_get_counters (GstAgentAudioSrc *src,
    guint64 *dropped_samples, guint64 *silent_samples);

G_END_DECLS
