/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The still-frame engine alone: scaling and JPEG within the message
 * budget (here), thumbnails and the offer policy on an injected clock
 * (frames_change.cpp). No pipeline, no network; each image is decoded back
 * with libjpeg and looked at. */
#include "frames_pictures.h"

/* ---- Images ---- */

static void test_busy_frame_fits ()
{
  /* Random noise at 1080p: over 300 KB of JPEG at quality 85 and 1024
   * pixels; the event must still fit the data channel. */
  const Picture noise = noise_picture (1920, 1080, 1);
  Frame f (noise, GST_VIDEO_FORMAT_BGRx);
  rt::ImageEncoder enc;
  rt::ImageSettings s;
  rt::ImageResult r = enc.encode (f.get (), s);
  Decoded d = image_of (r, s);
  g_print ("busy 1080p: %dx%d q%d, %zu bytes of JPEG, %zu of event, "
           "%d encodes\n",
      r.width, r.height, r.quality, r.jpeg_bytes, r.message_bytes, r.attempts);
  g_assert_cmpuint (r.message_bytes, <=, 65536);
  /* Filled well: not a tiny image that fits by a wide margin. */
  g_assert_cmpuint (r.message_bytes, >, 65536 * 3 / 4);
  g_assert_cmpint (std::max (d.width, d.height), >=, 256);
  g_assert_cmpint (std::abs (d.width * 1080 - d.height * 1920), <=, 1920);
  g_assert_cmpint (r.attempts, <=, 7);
  /* Noise averages to mid-grey; a broken image does not. */
  double m[3];
  mean_rgb (d, m);
  for (double v : m)
    g_assert_cmpfloat (std::abs (v - 127.5), <, 12);

  /* Worse: noise at the image's own size, which no scaling smooths. */
  Frame native (noise_picture (1024, 576, 5), GST_VIDEO_FORMAT_I420);
  r = enc.encode (native.get (), s);
  d = image_of (r, s);
  g_print ("busy 1024x576: %dx%d q%d, %zu bytes of JPEG, %zu of event, "
           "%d encodes\n",
      r.width, r.height, r.quality, r.jpeg_bytes, r.message_bytes, r.attempts);
  g_assert_cmpint (d.width, <, 1024);
  g_assert_cmpint (std::abs (d.width * 576 - d.height * 1024), <=, 1024);
  mean_rgb (d, m);
  for (double v : m)
    g_assert_cmpfloat (std::abs (v - 127.5), <, 12);
}

static void test_colours_survive ()
{
  /* Known colours at 1080p, the scaling and the 4:2:0 chroma in between:
   * the middle of each bar decodes to its colour. */
  const Picture bars = bars_picture (1920, 1080);
  Frame f (bars, GST_VIDEO_FORMAT_BGRx);
  rt::ImageEncoder enc;
  rt::ImageSettings s;
  rt::ImageResult r = enc.encode (f.get (), s);
  Decoded d = image_of (r, s);
  g_assert_cmpint (d.width, ==, 1024);
  g_assert_cmpint (d.height, ==, 576);
  g_assert_cmpint (r.quality, ==, rt::kJpegQualities[0]);
  g_assert_cmpint (r.attempts, ==, 1);
  for (int i = 0; i < 8; i++) {
    const int x = (2 * i + 1) * d.width / 16;
    for (int y : { 10, d.height / 2, d.height - 10 })
      assert_colour (d.at (x, y), kBars[i], 12, "bar colour");
  }
}

static void test_input_formats ()
{
  /* What ximagesrc gives (BGRx), cameras and decoders (I420, NV12, YUY2),
   * and others; the colours come out the same from each. */
  const Picture bars = bars_picture (1280, 720);
  rt::ImageEncoder enc;
  rt::ImageSettings s;
  for (GstVideoFormat fmt :
      { GST_VIDEO_FORMAT_BGRx, GST_VIDEO_FORMAT_RGBx, GST_VIDEO_FORMAT_xRGB,
          GST_VIDEO_FORMAT_RGB, GST_VIDEO_FORMAT_BGRA, GST_VIDEO_FORMAT_I420,
          GST_VIDEO_FORMAT_NV12, GST_VIDEO_FORMAT_YUY2, GST_VIDEO_FORMAT_Y444,
          GST_VIDEO_FORMAT_v210, GST_VIDEO_FORMAT_GRAY8 }) {
    Frame f (bars, fmt);
    rt::ImageResult r = enc.encode (f.get (), s);
    Decoded d = image_of (r, s);
    g_assert_cmpint (d.width, ==, 1024);
    g_assert_cmpint (d.height, ==, 576);
    const bool gray = fmt == GST_VIDEO_FORMAT_GRAY8;
    for (int i = 0; i < 8; i++) {
      std::uint32_t want = kBars[i];
      if (gray) {
        /* The bar's BT.601 luma, as grey. */
        const int r8 = want >> 16, g8 = (want >> 8) & 0xff, b8 = want & 0xff;
        const std::uint32_t y = (77 * r8 + 150 * g8 + 29 * b8 + 128) >> 8;
        want = y << 16 | y << 8 | y;
      }
      const std::string what = std::string ("bar colour from ") +
          gst_video_format_to_string (fmt);
      /* 4:2:0 sources were already subsampled; YCbCr 8-bit rounding adds
       * a few levels. */
      assert_colour (d.at ((2 * i + 1) * d.width / 16, d.height / 2), want, 16,
          what.c_str ());
    }
    /* Its thumbnail too. */
    rt::Thumbnail t = rt::make_thumbnail (f.get ());
    g_assert_cmpint (t.width, ==, 128);
    g_assert_cmpint (t.height, ==, 72);
  }
}

static void test_sizes ()
{
  rt::ImageEncoder enc;
  rt::ImageSettings s;
  struct Case {
    int w, h, par_n, par_d;
    int max_size;
    int want_w, want_h;
  } cases[] = {
    { 1920, 1080, 1, 1, 1024, 1024, 576 },
    { 3840, 2160, 1, 1, 1024, 1024, 576 },
    { 1080, 1920, 1, 1, 1024, 576, 1024 }, /* portrait */
    { 640, 480, 1, 1, 1024, 640, 480 },    /* never scaled up */
    { 100, 40, 1, 1, 1024, 100, 40 },
    { 1000, 333, 1, 1, 1024, 1000, 333 }, /* odd sizes are fine */
    { 3000, 1001, 1, 1, 1024, 1024, 342 },
    { 1920, 1080, 1, 1, 512, 512, 288 },
    { 720, 576, 16, 15, 1024, 768, 576 }, /* non-square pixels: 4:3 */
    { 1, 1, 1, 1, 1024, 1, 1 },
  };
  for (const Case &c : cases) {
    s.max_size = c.max_size;
    Frame f (bars_picture (c.w, c.h), GST_VIDEO_FORMAT_I420, c.par_n, c.par_d);
    rt::ImageResult r = enc.encode (f.get (), s);
    Decoded d = image_of (r, s);
    if (d.width != c.want_w || d.height != c.want_h)
      g_error ("%dx%d (PAR %d/%d, max %d): got %dx%d, want %dx%d", c.w, c.h,
          c.par_n, c.par_d, c.max_size, d.width, d.height, c.want_w, c.want_h);
  }
}

static void test_budgets ()
{
  const Picture noise = noise_picture (1920, 1080, 2);
  Frame f (noise, GST_VIDEO_FORMAT_BGRx);
  rt::ImageEncoder enc;
  rt::ImageSettings s;

  /* A peer's smaller a=max-message-size still gets an image. */
  s.max_message_bytes = 16384;
  s.event_id = "frame-17";
  rt::ImageResult r = enc.encode (f.get (), s);
  Decoded d = image_of (r, s);
  g_print ("busy 1080p in 16384: %dx%d q%d, %zu bytes, %d encodes\n", r.width,
      r.height, r.quality, r.message_bytes, r.attempts);
  double m[3];
  mean_rgb (d, m);
  for (double v : m)
    g_assert_cmpfloat (std::abs (v - 127.5), <, 12);

  /* The overhead is counted exactly: base64 is 4 characters per 3 bytes,
   * the last group padded. */
  const std::size_t empty = rt::image_event_bytes (0, s);
  g_assert_cmpuint (rt::image_event_bytes (1, s), ==, empty + 4);
  g_assert_cmpuint (rt::image_event_bytes (3, s), ==, empty + 4);
  g_assert_cmpuint (rt::image_event_bytes (4, s), ==, empty + 8);
  const std::size_t most = rt::max_jpeg_bytes (s);
  g_assert_cmpuint (rt::image_event_bytes (most, s), <=, 16384);
  g_assert_cmpuint (rt::image_event_bytes (most + 1, s), >, 16384);
  const std::vector<std::uint8_t> bytes (most, 0xA5);
  g_assert_cmpuint (
      rt::build_image_event (bytes.data (), bytes.size (), s).size (), ==,
      rt::image_event_bytes (most, s));

  /* 1000 bytes cannot hold even the smallest image of a screen full of
   * text: a failure that says why, no event. (Noise this large can fit:
   * scaled down to 256 pixels it is smoothed to almost flat grey.) */
  s.max_message_bytes = 1000;
  Frame text (draw_screen (Screen ()), GST_VIDEO_FORMAT_BGRx);
  r = enc.encode (text.get (), s);
  g_assert_false (r.ok);
  g_assert_true (r.event.empty ());
  g_print ("1000 bytes: %s\n", r.failure.c_str ());
  g_assert_true (r.failure.find ("does not fit a message of 1000 bytes") !=
      std::string::npos);
  g_assert_cmpint (std::max (r.width, r.height), ==, s.min_size);
  g_assert_cmpint (r.quality, ==,
      rt::kJpegQualities[G_N_ELEMENTS (rt::kJpegQualities) - 1]);

  /* A limit smaller than the event around the image is refused before
   * any encoding. */
  s.event_id.clear ();
  s.max_message_bytes = 100;
  r = enc.encode (f.get (), s);
  g_assert_false (r.ok);
  g_assert_cmpint (r.attempts, ==, 0);
  g_assert_true (
      r.failure.find ("leaves no room for an image") != std::string::npos);

  /* A tiny frame fits where a big one cannot. */
  s.max_message_bytes = 1000;
  Frame tiny (draw_screen (Screen (), 64, 36), GST_VIDEO_FORMAT_BGRx);
  r = enc.encode (tiny.get (), s);
  image_of (r, s);
}

static void test_estimate_matches_ladder ()
{
  /* The shortcut picks what trying every step in order picks, with fewer
   * encodes. */
  rt::ImageEncoder enc;
  struct Case {
    Picture picture;
    std::size_t budget;
  } cases[] = {
    { noise_picture (1920, 1080, 3), 65536 },
    { noise_picture (1920, 1080, 3), 16384 },
    { noise_picture (1920, 1080, 3), 8192 },
    { noise_picture (1280, 720, 4), 65536 },
    { draw_screen (Screen ()), 65536 },
    { draw_screen (Screen ()), 32768 },
    { draw_screen (Screen ()), 16384 },
  };
  for (const Case &c : cases) {
    Frame f (c.picture, GST_VIDEO_FORMAT_BGRx);
    rt::ImageSettings s;
    s.max_message_bytes = c.budget;
    rt::ImageResult fast = enc.encode (f.get (), s);
    s.search = rt::ImageSearch::Ladder;
    rt::ImageResult slow = enc.encode (f.get (), s);
    g_print ("%dx%d in %zu: estimate %dx%d q%d (%d encodes), ladder %dx%d q%d "
             "(%d encodes)\n",
        c.picture.w, c.picture.h, c.budget, fast.width, fast.height,
        fast.quality, fast.attempts, slow.width, slow.height, slow.quality,
        slow.attempts);
    g_assert_true (fast.ok && slow.ok);
    g_assert_cmpint (fast.width, ==, slow.width);
    g_assert_cmpint (fast.quality, ==, slow.quality);
    g_assert_true (fast.event == slow.event);
    g_assert_cmpint (fast.attempts, <=, slow.attempts);
  }
}

static void test_events_validate ()
{
  const Picture bars = bars_picture (320, 240);
  Frame f (bars, GST_VIDEO_FORMAT_I420);
  rt::ImageEncoder enc;
  std::string lines;
  for (rt::ImageDetail detail :
      { rt::ImageDetail::Auto, rt::ImageDetail::Low, rt::ImageDetail::High }) {
    rt::ImageSettings s;
    s.detail = detail;
    if (detail == rt::ImageDetail::High)
      s.event_id = "image \"7\"\\"; /* escaped, and still counted exactly */
    rt::ImageResult r = enc.encode (f.get (), s);
    image_of (r, s);
    lines += r.event + "\n";
  }

  const char *validator = g_getenv ("VALIDATE_EVENTS");
  if (!validator || !g_file_test (validator, G_FILE_TEST_IS_EXECUTABLE)) {
    g_print ("validate-events not found: events not validated\n");
    return;
  }
  gchar *path = nullptr;
  gint fd = g_file_open_tmp ("image-events-XXXXXX.jsonl", &path, nullptr);
  g_assert_cmpint (fd, >=, 0);
  close (fd);
  g_assert_true (g_file_set_contents (path, lines.c_str (),
      static_cast<gssize> (lines.size ()), nullptr));
  gchar *out = nullptr;
  gint status = 0;
  const gchar *argv[] = { validator, "--as", "RealtimeClientEvent", path,
    nullptr };
  /* The validator is Python: the sanitizer runtime preloaded for the
   * tests' sake is not for it. */
  gchar **envp = g_environ_unsetenv (g_get_environ (), "LD_PRELOAD");
  g_assert_true (g_spawn_sync (nullptr, const_cast<gchar **> (argv), envp,
      G_SPAWN_DEFAULT, nullptr, nullptr, &out, nullptr, &status, nullptr));
  g_strfreev (envp);
  if (!g_spawn_check_wait_status (status, nullptr))
    g_error ("the image events do not match the service's shapes:\n%s", out);
  g_assert_nonnull (strstr (out, "3 passed, 0 failed"));
  g_free (out);
  g_unlink (path);
  g_free (path);
}

static void test_unusable_frames ()
{
  rt::ImageEncoder enc;
  GstVideoFrame frame = {};
  gst_video_info_init (&frame.info);
  rt::ImageResult r = enc.encode (&frame, rt::ImageSettings ());
  g_assert_false (r.ok);
  g_assert_false (r.failure.empty ());
  g_assert_true (rt::make_thumbnail (&frame).empty ());

  /* An event_id that cannot be written as JSON text is refused. */
  Frame ok (bars_picture (64, 48), GST_VIDEO_FORMAT_I420);
  rt::ImageSettings s;
  s.event_id = "\xff\xfe";
  r = enc.encode (ok.get (), s);
  g_assert_false (r.ok);
  g_assert_true (r.failure.find ("event_id") != std::string::npos);
  s.event_id = std::string (513, 'a');
  g_assert_false (enc.encode (ok.get (), s).ok);
  s.event_id = std::string (512, 'a');
  image_of (enc.encode (ok.get (), s), s);
}

void add_change_tests ();

int main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/frames/busy-frame-fits", test_busy_frame_fits);
  g_test_add_func ("/frames/colours-survive", test_colours_survive);
  g_test_add_func ("/frames/input-formats", test_input_formats);
  g_test_add_func ("/frames/sizes", test_sizes);
  g_test_add_func ("/frames/budgets", test_budgets);
  g_test_add_func ("/frames/estimate-matches-ladder",
      test_estimate_matches_ladder);
  g_test_add_func ("/frames/events-validate", test_events_validate);
  g_test_add_func ("/frames/unusable-frames", test_unusable_frames);
  add_change_tests ();
  return g_test_run ();
}
