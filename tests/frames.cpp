/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The still-frame engine alone: thumbnails, the offer policy on an injected
 * clock, scaling and JPEG within the message budget. No pipeline, no
 * network; each image is decoded back with libjpeg and looked at. */
#include "frames/frames.h"

#include "glyphs.h"

#include <gst/gst.h>
#include <gst/video/video.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <jpeglib.h>

/* ---- Frames to test with ---- */

/* A picture as 8-bit RGB, drawn by the tests, then handed to the engine in
 * any format. */
struct Picture {
  int w, h;
  std::vector<std::uint8_t> rgb;

  Picture (int width, int height, std::uint32_t colour = 0)
      : w (width), h (height),
        rgb (static_cast<std::size_t> (width) * height * 3)
  {
    fill (0, 0, w, h, colour);
  }

  void fill (int x0, int y0, int x1, int y1, std::uint32_t colour)
  {
    x0 = std::max (0, x0);
    y0 = std::max (0, y0);
    x1 = std::min (w, x1);
    y1 = std::min (h, y1);
    for (int y = y0; y < y1; y++)
      for (int x = x0; x < x1; x++) {
        std::uint8_t *p = &rgb[(static_cast<std::size_t> (y) * w + x) * 3];
        p[0] = colour >> 16;
        p[1] = (colour >> 8) & 0xff;
        p[2] = colour & 0xff;
      }
  }

  const std::uint8_t *at (int x, int y) const
  {
    return &rgb[(static_cast<std::size_t> (y) * w + x) * 3];
  }
};

/* Uniform noise: nothing for JPEG to predict, the worst case for size. */
static Picture noise_picture (int w, int h, unsigned seed)
{
  Picture p (w, h);
  std::mt19937 rng (seed);
  for (auto &b : p.rgb)
    b = static_cast<std::uint8_t> (rng ());
  return p;
}

/* A line of words in glyphs 9 pixels apart. */
static void draw_text (Picture &p, int x, int y, int chars, std::mt19937 &rng,
    std::uint32_t ink)
{
  int word = 0;
  for (int i = 0; i < chars; i++) {
    if (word == 0) {
      word = 2 + rng () % 8;
      continue; /* a space */
    }
    word--;
    const auto &g = test::glyphs ()[rng () % 64];
    for (int gy = 0; gy < 14; gy++)
      for (int gx = 0; gx < 8; gx++)
        if (g[gy * 8 + gx])
          p.fill (x + i * 9 + gx, y + gy, x + i * 9 + gx + 1, y + gy + 1, ink);
  }
}

/* What a screen capture shows: a flat desktop, a taskbar, a window of
 * text behind, and a front window of text that the tests move, rewrite, or
 * mark with a cursor or a pointer. Drawn at 1920x1080 scale. */
struct Screen {
  int window_x = 200;
  int window_y = 120;
  unsigned text_seed = 1;
  int rewritten_lines = 0; /* lines of the front window rewritten */
  bool cursor = false;
  unsigned clock = 0; /* the taskbar clock's five characters; 0: none */
  int pointer_x = -1;
  int pointer_y = 0;
};

static Picture draw_screen (const Screen &s, int w = 1920, int h = 1080)
{
  Picture p (w, h, 0x2d5a88);
  const double k = w / 1920.0;
  auto px = [k] (int v) { return static_cast<int> (v * k); };
  p.fill (0, h - px (40), w, h, 0x202020);
  p.fill (px (1100), px (80), px (1800), px (900), 0xf0f0f0);
  p.fill (px (1100), px (80), px (1800), px (110), 0x3c3c3c);
  std::mt19937 back (99);
  for (int l = 0; px (120) + l * 20 + 14 < px (900); l++)
    draw_text (p, px (1110), px (120) + l * 20, (px (1800) - px (1110)) / 9 - 2,
        back, 0x202020);

  const int x0 = px (s.window_x), y0 = px (s.window_y);
  const int x1 = x0 + px (900), y1 = y0 + px (750);
  p.fill (x0 - 1, y0 - 1, x1 + 1, y1 + 1, 0x808080);
  p.fill (x0, y0, x1, y1, 0xffffff);
  p.fill (x0, y0, x1, y0 + 30, 0x2b579a);
  for (int l = 0; y0 + 40 + l * 20 + 14 < y1; l++) {
    std::mt19937 line (l < s.rewritten_lines ? 1000 + s.text_seed * 100 + l :
                                               s.text_seed * 100 + l);
    draw_text (p, x0 + 10, y0 + 40 + l * 20, (x1 - x0 - 20) / 9, line,
        0x101010);
  }
  if (s.cursor)
    p.fill (x0 + 280, y0 + 140, x0 + 282, y0 + 156, 0x000000);
  if (s.clock) {
    std::mt19937 time (s.clock);
    draw_text (p, w - px (80), h - px (27), 6, time, 0xe0e0e0);
  }
  if (s.pointer_x >= 0) {
    /* An arrow: black outline, white inside, 12x19. */
    for (int i = 0; i < 19; i++) {
      const int width = std::min (i, 12) + 1;
      p.fill (s.pointer_x, s.pointer_y + i, s.pointer_x + width,
          s.pointer_y + i + 1, 0x000000);
      if (i > 1 && i < 17)
        p.fill (s.pointer_x + 1, s.pointer_y + i, s.pointer_x + width - 1,
            s.pointer_y + i + 1, 0xffffff);
    }
  }
  return p;
}

/* Eight vertical bars of known colours. */
static const std::uint32_t kBars[] = { 0xffffff, 0xffff00, 0x00ffff, 0x00ff00,
  0xff00ff, 0xff0000, 0x0000ff, 0x000000 };

static Picture bars_picture (int w, int h)
{
  Picture p (w, h);
  for (int i = 0; i < 8; i++)
    p.fill (i * w / 8, 0, (i + 1) * w / 8, h, kBars[i]);
  return p;
}

/* A picture as a mapped frame of any raw format: drawn as RGB, converted
 * by GStreamer. */
class Frame {
 public:
  Frame (const Picture &p, GstVideoFormat format, int par_n = 1, int par_d = 1)
  {
    GstVideoInfo rgb_info;
    gst_video_info_set_format (&rgb_info, GST_VIDEO_FORMAT_RGB, p.w, p.h);
    GstBuffer *rgb = gst_buffer_new_allocate (nullptr, rgb_info.size, nullptr);
    GstVideoFrame src;
    g_assert_true (gst_video_frame_map (&src, &rgb_info, rgb, GST_MAP_WRITE));
    for (int y = 0; y < p.h; y++)
      std::copy_n (p.at (0, y), static_cast<std::size_t> (p.w) * 3,
          static_cast<std::uint8_t *> (GST_VIDEO_FRAME_PLANE_DATA (&src, 0)) +
              static_cast<std::size_t> (y) *
                  GST_VIDEO_FRAME_PLANE_STRIDE (&src, 0));

    gst_video_info_set_format (&info_, format, p.w, p.h);
    info_.par_n = par_n;
    info_.par_d = par_d;
    buffer_ = gst_buffer_new_allocate (nullptr, info_.size, nullptr);
    g_assert_true (gst_video_frame_map (&frame_, &info_, buffer_,
        static_cast<GstMapFlags> (GST_MAP_READWRITE)));
    GstVideoConverter *conv = gst_video_converter_new (&rgb_info, &info_,
        gst_structure_new ("options", GST_VIDEO_CONVERTER_OPT_DITHER_METHOD,
            GST_TYPE_VIDEO_DITHER_METHOD, GST_VIDEO_DITHER_NONE, nullptr));
    g_assert_nonnull (conv);
    gst_video_converter_frame (conv, &src, &frame_);
    gst_video_converter_free (conv);
    gst_video_frame_unmap (&src);
    gst_buffer_unref (rgb);
  }

  ~Frame ()
  {
    gst_video_frame_unmap (&frame_);
    gst_buffer_unref (buffer_);
  }

  Frame (const Frame &) = delete;
  Frame &operator= (const Frame &) = delete;

  const GstVideoFrame *get () const { return &frame_; }

 private:
  GstVideoInfo info_;
  GstBuffer *buffer_;
  GstVideoFrame frame_;
};

static rt::Thumbnail thumbnail_of (const Picture &p,
    GstVideoFormat format = GST_VIDEO_FORMAT_BGRx)
{
  Frame f (p, format);
  return rt::make_thumbnail (f.get ());
}

/* ---- Reading an event back ---- */

struct Decoded {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> rgb;

  const std::uint8_t *at (int x, int y) const
  {
    return &rgb[(static_cast<std::size_t> (y) * width + x) * 3];
  }
};

static void on_jpeg_error (j_common_ptr cinfo)
{
  char message[JMSG_LENGTH_MAX];
  (*cinfo->err->format_message) (cinfo, message);
  g_error ("the image is not a valid JPEG: %s", message);
}

static Decoded decode_jpeg (const std::vector<std::uint8_t> &jpeg)
{
  jpeg_decompress_struct cinfo;
  jpeg_error_mgr err;
  cinfo.err = jpeg_std_error (&err);
  err.error_exit = on_jpeg_error;
  jpeg_create_decompress (&cinfo);
  jpeg_mem_src (&cinfo, jpeg.data (), jpeg.size ());
  g_assert_cmpint (jpeg_read_header (&cinfo, TRUE), ==, JPEG_HEADER_OK);
  cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress (&cinfo);
  Decoded d;
  d.width = static_cast<int> (cinfo.output_width);
  d.height = static_cast<int> (cinfo.output_height);
  d.rgb.resize (static_cast<std::size_t> (d.width) * d.height * 3);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row =
        &d.rgb[static_cast<std::size_t> (cinfo.output_scanline) * d.width * 3];
    jpeg_read_scanlines (&cinfo, &row, 1);
  }
  /* The whole file was a JPEG: nothing corrupt, nothing cut short. */
  g_assert_cmpint (err.num_warnings, ==, 0);
  jpeg_finish_decompress (&cinfo);
  jpeg_destroy_decompress (&cinfo);
  return d;
}

/* Checks the event's shape and budget and returns its image, decoded. */
static Decoded image_of (const rt::ImageResult &r,
    const rt::ImageSettings &settings)
{
  if (!r.ok)
    g_error ("no image: %s", r.failure.c_str ());
  g_assert_true (r.failure.empty ());
  g_assert_cmpuint (r.message_bytes, ==, r.event.size ());
  g_assert_cmpuint (r.message_bytes, <=, settings.max_message_bytes);
  g_assert_cmpuint (r.message_bytes, ==,
      rt::image_event_bytes (r.jpeg_bytes, settings));
  g_assert_cmpint (r.attempts, >=, 1);

  JsonNode *root = json_from_string (r.event.c_str (), nullptr);
  g_assert_nonnull (root);
  JsonObject *o = json_node_get_object (root);
  g_assert_cmpstr (json_object_get_string_member (o, "type"), ==,
      "conversation.item.create");
  if (settings.event_id.empty ())
    g_assert_false (json_object_has_member (o, "event_id"));
  else
    g_assert_cmpstr (json_object_get_string_member (o, "event_id"), ==,
        settings.event_id.c_str ());
  JsonObject *item = json_object_get_object_member (o, "item");
  g_assert_cmpstr (json_object_get_string_member (item, "type"), ==, "message");
  g_assert_cmpstr (json_object_get_string_member (item, "role"), ==, "user");
  JsonArray *content = json_object_get_array_member (item, "content");
  g_assert_cmpuint (json_array_get_length (content), ==, 1);
  JsonObject *part = json_array_get_object_element (content, 0);
  g_assert_cmpstr (json_object_get_string_member (part, "type"), ==,
      "input_image");
  g_assert_cmpstr (json_object_get_string_member (part, "detail"), ==,
      rt::image_detail_name (settings.detail));
  const std::string url = json_object_get_string_member (part, "image_url");
  const std::string prefix = "data:image/jpeg;base64,";
  g_assert_true (url.compare (0, prefix.size (), prefix) == 0);
  gsize n = 0;
  guchar *raw = g_base64_decode (url.c_str () + prefix.size (), &n);
  std::vector<std::uint8_t> jpeg (raw, raw + n);
  g_free (raw);
  json_node_unref (root);

  g_assert_cmpuint (jpeg.size (), ==, r.jpeg_bytes);
  Decoded d = decode_jpeg (jpeg);
  g_assert_cmpint (d.width, ==, r.width);
  g_assert_cmpint (d.height, ==, r.height);
  return d;
}

static void assert_colour (const std::uint8_t *got, std::uint32_t want,
    int tolerance, const char *what)
{
  const int expect[3] = { static_cast<int> (want >> 16),
    static_cast<int> ((want >> 8) & 0xff), static_cast<int> (want & 0xff) };
  for (int c = 0; c < 3; c++)
    if (std::abs (got[c] - expect[c]) > tolerance)
      g_error ("%s: got %d,%d,%d, want %d,%d,%d (within %d)", what, got[0],
          got[1], got[2], expect[0], expect[1], expect[2], tolerance);
}

/* The mean of each channel over the decoded image. */
static void mean_rgb (const Decoded &d, double out[3])
{
  double sum[3] = { 0, 0, 0 };
  for (std::size_t i = 0; i < d.rgb.size (); i++)
    sum[i % 3] += d.rgb[i];
  for (int c = 0; c < 3; c++)
    out[c] = sum[c] / (static_cast<double> (d.rgb.size ()) / 3);
}

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
  g_test_add_func ("/frames/thumbnails", test_thumbnails);
  g_test_add_func ("/frames/what-counts-as-changed",
      test_what_counts_as_changed);
  g_test_add_func ("/frames/policy-on-a-clock", test_policy_on_a_clock);
  return g_test_run ();
}
