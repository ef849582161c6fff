/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The still-frame engine's change detection: thumbnails, what counts as
 * changed, and the offer policy on an injected clock. */
#include "frames_pictures.h"

/* ---- Change detection ---- */

static void test_thumbnails ()
{
  struct Case {
    int w, h, want_w, want_h;
  } cases[] = {
    { 1920, 1080, 128, 72 },
    { 3840, 2160, 128, 72 },
    { 640, 480, 128, 96 },
    { 1080, 1920, 72, 128 },
    { 50, 20, 50, 20 },
    { 1, 1, 1, 1 },
  };
  for (const Case &c : cases) {
    rt::Thumbnail t = thumbnail_of (Picture (c.w, c.h, 0x808080));
    g_assert_cmpint (t.width, ==, c.want_w);
    g_assert_cmpint (t.height, ==, c.want_h);
    g_assert_cmpuint (t.luma.size (), ==,
        static_cast<std::size_t> (c.want_w) * c.want_h);
    for (std::uint8_t v : t.luma)
      g_assert_cmpint (std::abs (v - 128), <=, 1);
  }
  /* The cells are means: each half of a half-black, half-white frame. */
  Picture half (1920, 1080, 0x000000);
  half.fill (960, 0, 1920, 1080, 0xffffff);
  for (GstVideoFormat fmt : { GST_VIDEO_FORMAT_BGRx, GST_VIDEO_FORMAT_RGB,
           GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_NV12, GST_VIDEO_FORMAT_GRAY8,
           GST_VIDEO_FORMAT_YUY2, GST_VIDEO_FORMAT_v210, GST_VIDEO_FORMAT_RGB16,
           GST_VIDEO_FORMAT_ARGB64, GST_VIDEO_FORMAT_GBR }) {
    rt::Thumbnail t = thumbnail_of (half, fmt);
    g_assert_cmpint (t.width, ==, 128);
    const int dark = t.luma[0], light = t.luma[127];
    /* Studio-range YUV keeps black at 16 and white at 235. */
    if (dark > 20 || light < 230)
      g_error ("%s: thumbnail cells %d and %d",
          gst_video_format_to_string (fmt), dark, light);
    g_assert_cmpint (t.luma[63], ==, dark);
    g_assert_cmpint (t.luma[64], ==, light);
  }
  /* Identical, and of different sizes. */
  rt::Thumbnail a = thumbnail_of (draw_screen (Screen ()));
  g_assert_cmpfloat (rt::thumbnail_difference (a, a), ==, 0.0);
  g_assert_cmpfloat (
      rt::thumbnail_difference (a, thumbnail_of (Picture (640, 480))), ==, 1.0);
  g_assert_cmpfloat (rt::thumbnail_difference (a, rt::Thumbnail ()), ==, 1.0);
}

static double change (const Screen &before, const Screen &after)
{
  return rt::thumbnail_difference (thumbnail_of (draw_screen (before)),
      thumbnail_of (draw_screen (after)));
}

static void test_what_counts_as_changed ()
{
  rt::FramePolicySettings defaults;
  const double t = defaults.threshold;
  const Screen base;

  /* Not worth an image. */
  Screen cursor = base;
  cursor.cursor = true;
  Screen pointer_a = base, pointer_b = base;
  pointer_a.pointer_x = 700;
  pointer_a.pointer_y = 500;
  pointer_b.pointer_x = 1000;
  pointer_b.pointer_y = 600;
  const Picture screen = draw_screen (base);
  Picture noisy = screen;
  std::mt19937 rng (5);
  for (auto &b : noisy.rgb)
    b = static_cast<std::uint8_t> (
        std::clamp (b + static_cast<int> (rng () % 17) - 8, 0, 255));
  Picture brighter = screen;
  for (auto &b : brighter.rgb)
    b = static_cast<std::uint8_t> (std::min (b + 3, 255));
  const rt::Thumbnail ref = thumbnail_of (screen);
  const double same = change (base, base);
  const double blink = change (base, cursor);
  const double pointer = change (pointer_a, pointer_b);
  Screen clock_a = base, clock_b = base;
  clock_a.clock = 1;
  clock_b.clock = 2;
  const double clock = change (clock_a, clock_b);
  const double noise = rt::thumbnail_difference (ref, thumbnail_of (noisy));
  const double bright = rt::thumbnail_difference (ref, thumbnail_of (brighter));

  /* Worth one. */
  Screen line = base;
  line.rewritten_lines = 2;
  Screen paragraph = base;
  paragraph.rewritten_lines = 10;
  Screen moved = base;
  moved.window_x += 100;
  Screen nudged = base;
  nudged.window_x += 10;
  nudged.window_y += 5;
  const double two_lines = change (base, line);
  const double para = change (base, paragraph);
  const double move = change (base, moved);
  const double nudge = change (base, nudged);

  g_print ("changed cells at 1080p: cursor %.4f, pointer %.4f, clock %.4f, "
           "noise %.4f, brightness %.4f; two lines %.4f, paragraph %.4f, "
           "window moved %.4f, nudged %.4f (threshold %.4f)\n",
      blink, pointer, clock, noise, bright, two_lines, para, move, nudge, t);
  g_assert_cmpfloat (same, ==, 0.0);
  for (double v : { blink, pointer, clock, noise, bright })
    g_assert_cmpfloat (v, <, t);
  for (double v : { two_lines, para, move, nudge })
    g_assert_cmpfloat (v, >=, t);
}

static void test_policy_on_a_clock ()
{
  const Picture screen = draw_screen (Screen ());
  Screen moved;
  moved.window_x += 100;
  const rt::Thumbnail a = thumbnail_of (screen);
  const rt::Thumbnail b = thumbnail_of (draw_screen (moved));
  using rt::FrameDecision;

  rt::FramePolicy p; /* every 2000 ms, threshold 0.005 */
  g_assert_true (p.due (5000));
  g_assert_true (p.offer (5000, a) == FrameDecision::Send);
  g_assert_cmpfloat (p.last_difference (), ==, 1.0);
  p.sent ();
  /* Nothing before the interval has passed, whatever the frame shows. */
  g_assert_false (p.due (5001));
  g_assert_false (p.due (6999));
  g_assert_true (p.offer (6999, b) == FrameDecision::NotDue);
  /* The same screen again: offered, not sent; the interval starts again. */
  g_assert_true (p.due (7000));
  g_assert_true (p.offer (7000, a) == FrameDecision::Unchanged);
  g_assert_cmpfloat (p.last_difference (), ==, 0.0);
  p.sent (); /* nothing was to be sent: no effect */
  g_assert_false (p.due (8999));
  /* A moved window is sent. */
  g_assert_true (p.offer (9000, b) == FrameDecision::Send);
  g_assert_cmpfloat (p.last_difference (), >, 0.1);
  /* ... but it could not go out (the budget, a closed channel): the next
   * offer compares with the last image actually sent, and tries again. */
  g_assert_true (p.offer (11000, b) == FrameDecision::Send);
  p.sent ();
  g_assert_true (p.offer (13000, b) == FrameDecision::Unchanged);
  /* Changes add up against the last image sent, not the last offered. */
  g_assert_true (p.offer (15000, a) == FrameDecision::Send);
  p.sent ();

  /* A new call has seen nothing: due at once, sent as it is. */
  p.forget ();
  g_assert_true (p.due (15001));
  g_assert_true (p.offer (15001, a) == FrameDecision::Send);
  p.sent ();
  /* A clock that started again counts as due. */
  g_assert_true (p.due (10));

  /* Threshold 0: every due frame, identical or not. */
  rt::FramePolicySettings every;
  every.threshold = 0;
  every.interval_ms = 500;
  rt::FramePolicy q (every);
  for (std::int64_t now = 0; now < 5000; now += 100) {
    const bool due = now % 500 == 0;
    g_assert_true (q.due (now) == due);
    const FrameDecision d = q.offer (now, a);
    g_assert_true (d == (due ? FrameDecision::Send : FrameDecision::NotDue));
    q.sent ();
  }

  /* Interval 0: every frame is offered; an unchanged one is not sent. */
  rt::FramePolicySettings all;
  all.interval_ms = 0;
  rt::FramePolicy z (all);
  g_assert_true (z.offer (0, a) == FrameDecision::Send);
  z.sent ();
  g_assert_true (z.offer (0, a) == FrameDecision::Unchanged);
  g_assert_true (z.offer (1, b) == FrameDecision::Send);

  /* Out-of-range settings are brought into range. */
  rt::FramePolicySettings odd;
  odd.threshold = 7;
  odd.interval_ms = -5;
  z.set_settings (odd);
  g_assert_cmpfloat (z.settings ().threshold, ==, 1.0);
  g_assert_cmpint (z.settings ().interval_ms, ==, 0);
  g_assert_cmpstr (rt::frame_decision_name (FrameDecision::Unchanged), ==,
      "unchanged");
}

void add_change_tests ()
{
  g_test_add_func ("/frames/thumbnails", test_thumbnails);
  g_test_add_func ("/frames/what-counts-as-changed",
      test_what_counts_as_changed);
  g_test_add_func ("/frames/policy-on-a-clock", test_policy_on_a_clock);
}
