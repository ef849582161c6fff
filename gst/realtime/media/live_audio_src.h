/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The live source inside openairealtimesrc and sipphone: it plays out the
 * far end's decoded audio (the agent's, the caller's) at the pace of the
 * pipeline clock, 10 ms per buffer, and fills whatever is missing with
 * silence, so that downstream (a recording, a sound card) sees one
 * continuous, properly timestamped stream whatever the network does. Not
 * registered as a factory: the elements make it. Custom downstream events
 * sent to it (gst_element_send_event) go out in order with the audio. */
#pragma once

#include <gst/base/gstpushsrc.h>

G_BEGIN_DECLS

#define GST_TYPE_LIVE_AUDIO_SRC (gst_live_audio_src_get_type ())
G_DECLARE_FINAL_TYPE (GstLiveAudioSrc, gst_live_audio_src, GST, LIVE_AUDIO_SRC,
    GstPushSrc)

/* Queues decoded audio (S16LE, 48 kHz, mono). Any thread. */
void gst_live_audio_src_push (GstLiveAudioSrc *src, GstBuffer *buffer);

/* Drops every queued sample at once (barge-in); the next block is
 * silence. Returns the samples dropped. Any thread. */
guint64 gst_live_audio_src_flush (GstLiveAudioSrc *src);

/* Samples queued now. Any thread. */
guint64 gst_live_audio_src_get_queued (GstLiveAudioSrc *src);

/* Samples dropped because too much was queued, and silence inserted. */
void gst_live_audio_src_get_counters (GstLiveAudioSrc *src,
    guint64 *dropped_samples, guint64 *silent_samples);

G_END_DECLS
