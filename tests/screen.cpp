/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The screen (or a camera) as still images through openairealtimesink's
 * video pad, against the local realtime server: what reaches the agent,
 * when sharing starts and stops, and what an unchanged screen costs. */
#include "session.h"
#include "transcripts.h"

#include <gst/check/gstcheck.h>

namespace {

const char *kQuietUser =
    "audiotestsrc name=user is-live=true freq=440 volume=0";

}  // namespace

/* The screen as still images: a busy 1080p frame still gets through as a
 * JPEG that fits the channel, the agent is told when sharing starts and
 * stops, and sees the images. */
GST_START_TEST (test_screen_images)
{
  server.control ("/control/reset", "{}");
  Session s (key (), kQuietUser, "", "",
      "videotestsrc name=screen is-live=true pattern=snow ! "
      "video/x-raw,width=1920,height=1080,framerate=5/1 ! sink.video");
  g_object_set (s.sink, "image-interval", 400, nullptr);
  Transcripts t (s);
  s.play ();
  fail_unless (s.wait_event ("session.updated"));
  fail_unless (
      s.wait ([&] { return uint64_prop (s.sink, "images-sent") >= 3; }));
  fail_unless_equals_int (uint64_prop (s.sink, "images-skipped"), 0);

  /* The end of the stream: the agent is told. */
  GstElement *screen = gst_bin_get_by_name (GST_BIN (s.pipeline), "screen");
  gst_element_send_event (screen, gst_event_new_eos ());
  gst_object_unref (screen);
  const char *stop = "The user stopped sharing their screen.";
  JsonNode *log = nullptr;
  fail_unless (s.wait ([&] {
    if (log)
      json_node_unref (log);
    log = server.log ();
    JsonArray *m = json_object_get_array_member (only_call (log), "messages");
    guint n = json_array_get_length (m);
    return n >= 2 &&
        g_strcmp0 (json_object_get_string_member (
                       json_array_get_object_element (m, n - 1), "text"),
            stop) == 0;
  }));
  JsonObject *call = only_call (log);
  JsonArray *messages = json_object_get_array_member (call, "messages");
  JsonObject *started = json_array_get_object_element (messages, 0);
  fail_unless_equals_string (json_object_get_string_member (started, "role"),
      "system");
  fail_unless (
      g_str_has_prefix (json_object_get_string_member (started, "text"),
          "The user started sharing their screen"));
  JsonArray *images = json_object_get_array_member (call, "images");
  guint n = json_array_get_length (images);
  fail_unless (n >= 3);
  for (guint i = 0; i < n; i++) {
    JsonObject *img = json_array_get_object_element (images, i);
    fail_unless_equals_string (json_object_get_string_member (img, "format"),
        "jpeg");
    gint64 w = json_object_get_int_member (img, "width");
    gint64 h = json_object_get_int_member (img, "height");
    /* Scaled to fit 1024 (further if the budget asked), aspect kept. */
    fail_unless (w <= 1024 && w >= 256, "width %" G_GINT64_FORMAT, w);
    fail_unless (std::abs (w * 9.0 / 16.0 - h) <= 1.0,
        "%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT, w, h);
    fail_unless (json_object_get_int_member (img, "message_bytes") <= 65536);
    fail_unless_equals_string (json_object_get_string_member (img, "detail"),
        "auto");
  }
  validate_client_events (log);
  json_node_unref (log);

  /* The agent saw them. */
  fail_unless (send_text (s.src, "What do you see?", true));
  fail_unless (t.wait_final ("assistant"));
  auto agent = t.finals ("assistant");
  fail_unless (agent.back ().text.find ("images; the last one is ") !=
          std::string::npos,
      "%s", agent.back ().text.c_str ());
  GstStructure *st = nullptr;
  g_object_get (s.sink, "stats", &st, nullptr);
  guint64 share_ms = 0, sent = 0;
  fail_unless (gst_structure_get_uint64 (st, "screen-share-ms", &share_ms));
  fail_unless (gst_structure_get_uint64 (st, "images-sent", &sent));
  fail_unless (share_ms > 500 && sent >= 3);
  gst_structure_free (st);
  expect_no_error (s);
}
GST_END_TEST;

/* An unchanged screen costs nothing: one image, then only thumbnails. */
GST_START_TEST (test_unchanged_screen)
{
  server.control ("/control/reset", "{}");
  Session s (key (), kQuietUser, "", "",
      "videotestsrc is-live=true pattern=checkers-8 ! "
      "video/x-raw,width=1280,height=720,framerate=10/1 ! sink.video");
  g_object_set (s.sink, "image-interval", 200, nullptr);
  s.play ();
  fail_unless (s.wait_event ("session.updated"));
  fail_unless (
      s.wait ([&] { return uint64_prop (s.sink, "images-unchanged") >= 4; }));
  fail_unless_equals_int (uint64_prop (s.sink, "images-sent"), 1);
  JsonNode *log = server.log ();
  JsonArray *images = json_object_get_array_member (only_call (log), "images");
  fail_unless_equals_int (json_array_get_length (images), 1);
  JsonObject *img = json_array_get_object_element (images, 0);
  /* 8-pixel checkers are hard on JPEG: the budget may shrink it further. */
  gint64 w = json_object_get_int_member (img, "width");
  fail_unless (
      w <= 1024 && json_object_get_int_member (img, "height") * 16 == w * 9);
  json_node_unref (log);
  expect_no_error (s);
}
GST_END_TEST;

static Suite *screen_suite (void)
{
  Suite *s = suite_create ("screen");
  TCase *tc = tcase_create ("screen");
  tcase_add_unchecked_fixture (tc, local_server_up, local_server_down);
  tcase_set_timeout (tc, 60);
  tcase_add_test (tc, test_screen_images);
  tcase_add_test (tc, test_unchanged_screen);
  suite_add_tcase (s, tc);
  return s;
}

GST_CHECK_MAIN (screen);
