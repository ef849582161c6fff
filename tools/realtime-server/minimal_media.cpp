/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "minimal_media.h"

#include <gst/app/gstappsink.h>

#include <vector>

namespace rts {

const char *const kMinimalOpusCaps =
    "audio/x-opus,rate=48000,channels=1,channel-mapping-family=0";

namespace {

// One second: the tone's period divides it (integer Hz), so the loop is seamless. The first
// second warms the encoder up and is thrown away.
constexpr int kLoopPackets = 50;
std::vector<GstBuffer *> packets;

}  // namespace

bool prepare_minimal_audio (double freq, std::string *error)
{
  if (!packets.empty ())
    return true;
  gchar *desc = g_strdup_printf (
      "audiotestsrc num-buffers=%d samplesperbuffer=960 freq=%d volume=0.3 ! "
      "audio/x-raw,format=S16LE,rate=48000,channels=1 ! "
      "opusenc frame-size=20 audio-type=voice ! appsink name=out sync=false",
      2 * kLoopPackets, (int) freq);
  GError *err = nullptr;
  GstElement *pipeline = gst_parse_launch (desc, &err);
  g_free (desc);
  if (!pipeline) {
    *error = std::string ("cannot encode the minimal media loop: ") +
        (err ? err->message : "?");
    g_clear_error (&err);
    return false;
  }
  g_clear_error (&err);
  GstElement *out = gst_bin_get_by_name (GST_BIN (pipeline), "out");
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  std::vector<GstBuffer *> all;
  // Bounded: audiotestsrc is not live, so this is as fast as the encoder.
  while (GstSample *sample = gst_app_sink_try_pull_sample (GST_APP_SINK (out),
             5 * GST_SECOND)) {
    all.push_back (gst_buffer_ref (gst_sample_get_buffer (sample)));
    gst_sample_unref (sample);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (out);
  gst_object_unref (pipeline);
  if (all.size () < size_t (kLoopPackets)) {
    for (GstBuffer *b : all)
      gst_buffer_unref (b);
    *error = "the Opus encoder gave too few packets for the minimal media loop";
    return false;
  }
  packets.assign (all.end () - kLoopPackets, all.end ());
  for (size_t i = 0; i + kLoopPackets < all.size (); i++)
    gst_buffer_unref (all[i]);
  return true;
}

GstBuffer *next_minimal_packet (size_t *index)
{
  if (packets.empty ())
    return nullptr;
  GstBuffer *b = gst_buffer_copy (packets[*index % packets.size ()]);
  // The peer's appsrc stamps it on arrival, as a live capture would be.
  GST_BUFFER_PTS (b) = GST_BUFFER_DTS (b) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_OFFSET (b) = GST_BUFFER_OFFSET_END (b) = GST_BUFFER_OFFSET_NONE;
  *index = (*index + 1) % packets.size ();
  return b;
}

}  // namespace rts
