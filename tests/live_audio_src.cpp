/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The live source behind openairealtimesrc and sipphone, on a test clock:
 * a well-behaved live source whatever the sender's clock does. Ten minutes
 * of 20 ms packets from a sender whose clock runs 1 % fast or slow: the
 * queue (the latency it adds) stays bounded, the output keeps the
 * pipeline's pace, and the latency query tells what it adds. */
#include "media/live_audio_src.h"

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

namespace {

constexpr int kBlocks = 60000; /* 10 minutes of 10 ms blocks */

struct Run {
  guint64 most_queued = 0; /* samples, after the first second */
  guint64 last_queued = 0;
  guint64 dropped = 0, silent = 0;
  guint64 samples_out = 0;
  GstClockTime last_pts = GST_CLOCK_TIME_NONE;
};

/* A packet of `per_packet` samples after every second block: 960 is the
 * pipeline's own pace. */
Run play (int per_packet)
{
  GstElement *src = GST_ELEMENT (
      g_object_new (GST_TYPE_LIVE_AUDIO_SRC, nullptr));
  GstHarness *h = gst_harness_new_with_element (src, nullptr, "src");
  gst_harness_play (h);
  auto *live = GST_LIVE_AUDIO_SRC (src);
  Run run;
  GstBuffer *packet = gst_buffer_new_allocate (nullptr, per_packet * 2,
      nullptr);
  gst_buffer_memset (packet, 0, 0x11, per_packet * 2);
  for (int i = 0; i < kBlocks; i++) {
    if (i % 2 == 0)
      gst_live_audio_src_push (live, packet);
    fail_unless (gst_harness_crank_single_clock_wait (h));
    GstBuffer *out = gst_harness_pull (h);
    fail_unless (out != nullptr);
    run.samples_out += gst_buffer_get_size (out) / 2;
    run.last_pts = GST_BUFFER_PTS (out);
    gst_buffer_unref (out);
    run.last_queued = gst_live_audio_src_get_queued (live);
    if (i >= 100)
      run.most_queued = MAX (run.most_queued, run.last_queued);
  }
  gst_buffer_unref (packet);
  gst_live_audio_src_get_counters (live, &run.dropped, &run.silent);

  GstQuery *q = gst_query_new_latency ();
  fail_unless (gst_pad_peer_query (h->sinkpad, q));
  gboolean is_live = FALSE;
  GstClockTime min = 0, max = 0;
  gst_query_parse_latency (q, &is_live, &min, &max);
  gst_query_unref (q);
  fail_unless (is_live);
  fail_unless_equals_uint64 (min, 10 * GST_MSECOND);
  fail_unless (max >= min);
  gst_object_unref (src);
  gst_harness_teardown (h);
  return run;
}

}  // namespace

GST_START_TEST (test_fast_sender_bounded)
{
  Run r = play (970);
  /* 1 % fast: 6 s of surplus over the run, all dropped; what stays queued
   * is at most a packet, a block, the margin and what stands for the few
   * seconds before it is drained (100 ms), never the 200 ms cap. */
  fail_unless (r.most_queued <= 4800, "up to %" G_GUINT64_FORMAT " queued",
      r.most_queued);
  fail_unless (r.dropped >= 280000, "%" G_GUINT64_FORMAT " dropped", r.dropped);
  /* The output keeps the pipeline's pace: no drift. */
  fail_unless_equals_uint64 (r.samples_out, (guint64) kBlocks * 480);
  fail_unless_equals_uint64 (r.last_pts,
      (GstClockTime) (kBlocks - 1) * 10 * GST_MSECOND);
}
GST_END_TEST;

GST_START_TEST (test_slow_sender_bounded)
{
  Run r = play (950);
  /* 1 % slow: the missing 6 s become silence; the queue never grows. */
  fail_unless (r.most_queued <= 1920, "up to %" G_GUINT64_FORMAT " queued",
      r.most_queued);
  fail_unless (r.silent >= 280000, "%" G_GUINT64_FORMAT " silent", r.silent);
  fail_unless_equals_uint64 (r.samples_out, (guint64) kBlocks * 480);
}
GST_END_TEST;

GST_START_TEST (test_steady_sender_kept_short)
{
  /* A burst of 150 ms at the start (the decoder starting late) is drained
   * to the margin within a second, and then nothing is dropped. */
  GstElement *src = GST_ELEMENT (
      g_object_new (GST_TYPE_LIVE_AUDIO_SRC, nullptr));
  GstHarness *h = gst_harness_new_with_element (src, nullptr, "src");
  gst_harness_play (h);
  auto *live = GST_LIVE_AUDIO_SRC (src);
  GstBuffer *packet = gst_buffer_new_allocate (nullptr, 1920, nullptr);
  gst_buffer_memset (packet, 0, 0x11, 1920);
  for (int i = 0; i < 7; i++)
    gst_live_audio_src_push (live, packet);
  guint64 dropped_at_1s = 0;
  for (int i = 0; i < 3000; i++) {
    if (i % 2 == 0)
      gst_live_audio_src_push (live, packet);
    fail_unless (gst_harness_crank_single_clock_wait (h));
    gst_buffer_unref (gst_harness_pull (h));
    if (i == 100)
      gst_live_audio_src_get_counters (live, &dropped_at_1s, nullptr);
    if (i >= 100)
      fail_unless (gst_live_audio_src_get_queued (live) <= 1920,
          "%" G_GUINT64_FORMAT " queued at block %d",
          gst_live_audio_src_get_queued (live), i);
  }
  guint64 dropped = 0, silent = 0;
  gst_live_audio_src_get_counters (live, &dropped, &silent);
  fail_unless (dropped_at_1s > 0);
  fail_unless_equals_uint64 (dropped, dropped_at_1s);
  gst_buffer_unref (packet);
  gst_object_unref (src);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* A steady sender whose packets are held up by a jitter spike of 60 ms
 * every 3 s, then arrive in a burst: after the first spikes the queue keeps
 * what absorbs them, so there is no gap and no cut after each spike. */
GST_START_TEST (test_jitter_spikes_absorbed)
{
  GstElement *src = GST_ELEMENT (
      g_object_new (GST_TYPE_LIVE_AUDIO_SRC, nullptr));
  GstHarness *h = gst_harness_new_with_element (src, nullptr, "src");
  gst_harness_play (h);
  auto *live = GST_LIVE_AUDIO_SRC (src);
  GstBuffer *packet = gst_buffer_new_allocate (nullptr, 1920, nullptr);
  gst_buffer_memset (packet, 0, 0x11, 1920);
  int held = 0;
  guint64 dropped_mid = 0, silent_mid = 0;
  for (int i = 0; i < 6000; i++) {
    if (i % 2 == 0) {
      if (i % 300 >= 250 && i % 300 < 256) {
        held++; /* the spike: three packets late */
      } else {
        for (; held > 0; held--)
          gst_live_audio_src_push (live, packet);
        gst_live_audio_src_push (live, packet);
      }
    }
    fail_unless (gst_harness_crank_single_clock_wait (h));
    gst_buffer_unref (gst_harness_pull (h));
    if (i == 3000)
      gst_live_audio_src_get_counters (live, &dropped_mid, &silent_mid);
  }
  guint64 dropped = 0, silent = 0;
  gst_live_audio_src_get_counters (live, &dropped, &silent);
  /* The last 30 s, ten spikes: not a gap, at most two 10 ms cuts. */
  fail_unless_equals_uint64 (silent, silent_mid);
  fail_unless (dropped - dropped_mid <= 960,
      "%" G_GUINT64_FORMAT " samples cut in the last 30 s",
      dropped - dropped_mid);
  fail_unless (gst_live_audio_src_get_queued (live) <= 4800);
  gst_buffer_unref (packet);
  gst_object_unref (src);
  gst_harness_teardown (h);
}
GST_END_TEST;

static Suite *live_audio_src_suite ()
{
  Suite *s = suite_create ("live-audio-src");
  TCase *tc = tcase_create ("pace");
  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_fast_sender_bounded);
  tcase_add_test (tc, test_slow_sender_bounded);
  tcase_add_test (tc, test_steady_sender_kept_short);
  tcase_add_test (tc, test_jitter_spikes_absorbed);
  suite_add_tcase (s, tc);
  return s;
}

GST_CHECK_MAIN (live_audio_src);
