/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the still-frame tests draw and read back: pictures (noise, text,
 * screens, colour bars) handed to the engine in any format, and its JPEG
 * decoded with libjpeg. */
#pragma once

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
inline Picture noise_picture (int w, int h, unsigned seed)
{
  Picture p (w, h);
  std::mt19937 rng (seed);
  for (auto &b : p.rgb)
    b = static_cast<std::uint8_t> (rng ());
  return p;
}

/* A line of words in glyphs 9 pixels apart. */
inline void draw_text (Picture &p, int x, int y, int chars, std::mt19937 &rng,
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

inline Picture draw_screen (const Screen &s, int w = 1920, int h = 1080)
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
inline const std::uint32_t kBars[] = { 0xffffff, 0xffff00, 0x00ffff, 0x00ff00,
  0xff00ff, 0xff0000, 0x0000ff, 0x000000 };

inline Picture bars_picture (int w, int h)
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

inline rt::Thumbnail thumbnail_of (const Picture &p,
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

inline void on_jpeg_error (j_common_ptr cinfo)
{
  char message[JMSG_LENGTH_MAX];
  (*cinfo->err->format_message) (cinfo, message);
  g_error ("the image is not a valid JPEG: %s", message);
}

inline Decoded decode_jpeg (const std::vector<std::uint8_t> &jpeg)
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
inline Decoded image_of (const rt::ImageResult &r,
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

inline void assert_colour (const std::uint8_t *got, std::uint32_t want,
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
inline void mean_rgb (const Decoded &d, double out[3])
{
  double sum[3] = { 0, 0, 0 };
  for (std::size_t i = 0; i < d.rgb.size (); i++)
    sum[i % 3] += d.rgb[i];
  for (int c = 0; c < 3; c++)
    out[c] = sum[c] / (static_cast<double> (d.rgb.size ()) / 3);
}
