/* SPDX-License-Identifier: LGPL-2.1-or-later */
// images-bench: what a still image of the screen costs, from the frame to
// the conversation.item.create event ready for the data channel.
//
// For a 1080p screen, a 1080p screen dense with text, a 1080p frame of
// noise and a 4K screen (BGRx, what ximagesrc gives), N times each:
//
//   engine    rt::make_thumbnail + rt::FramePolicy::offer + rt::ImageEncoder
//             (the estimate: few encodes), the path the sink's video pad
//             takes for a frame that has changed
//   ladder    the same with ImageSearch::Ladder: every quality and size in
//             order until one fits
//   jpegenc   appsrc ! videoconvert ! videoscale ! jpegenc quality=85 !
//             appsink at the engine's first size, then the same event
//             built around its JPEG: what a pipeline without a budget
//             makes (it does not look at the size)
//
// and the cost of a frame that has not changed (thumbnail and comparison
// only). Times are CPU time of the process and wall time per frame;
// median and p90 are nearest rank over the N runs.

#include "frames/frames.h"

#include "../tests/glyphs.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <random>
#include <string>
#include <vector>

namespace {

double cpu_ms ()
{
  timespec t;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

double wall_ms ()
{
  return g_get_monotonic_time () / 1e3;
}

double percentile (std::vector<double> v, double p)
{
  if (v.empty ())
    return NAN;
  std::sort (v.begin (), v.end ());
  std::size_t rank = static_cast<std::size_t> (std::ceil (p * v.size ()));
  return v[std::min (v.size () - 1, rank ? rank - 1 : 0)];
}

/* ---- Frames ---- */

struct Picture {
  int w, h;
  std::vector<std::uint8_t> bgrx;

  Picture (int width, int height, std::uint32_t rgb)
      : w (width), h (height),
        bgrx (static_cast<std::size_t> (width) * height * 4)
  {
    fill (0, 0, w, h, rgb);
  }

  void fill (int x0, int y0, int x1, int y1, std::uint32_t rgb)
  {
    x0 = std::max (0, x0);
    y0 = std::max (0, y0);
    x1 = std::min (w, x1);
    y1 = std::min (h, y1);
    for (int y = y0; y < y1; y++)
      for (int x = x0; x < x1; x++) {
        std::uint8_t *p = &bgrx[(static_cast<std::size_t> (y) * w + x) * 4];
        p[0] = rgb & 0xff;
        p[1] = (rgb >> 8) & 0xff;
        p[2] = rgb >> 16;
        p[3] = 0xff;
      }
  }
};

/* Lines of words, `chars` wide at most; ragged: a line ends early with
 * probability 1 - fullness, some lines are blank. */
void draw_text (Picture &p, int x0, int y0, int x1, int y1, int scale,
    double fullness, unsigned seed, std::uint32_t ink)
{
  const std::vector<std::vector<bool>> &glyphs = test::glyphs ();
  std::mt19937 rng (seed);
  std::uniform_real_distribution<double> unit (0, 1);
  const int cw = 9 * scale, lh = 20 * scale;
  const int max_chars = (x1 - x0) / cw;
  for (int y = y0; y + 14 * scale <= y1; y += lh) {
    if (unit (rng) > fullness + 0.1)
      continue; /* a blank line */
    const int chars = fullness >= 1.0 ?
        max_chars :
        static_cast<int> (max_chars * unit (rng) * fullness * 1.5);
    int word = 0;
    for (int i = 0; i < std::min (chars, max_chars); i++) {
      if (word == 0) {
        word = 2 + rng () % 8;
        continue;
      }
      word--;
      const auto &g = glyphs[rng () % 64];
      for (int gy = 0; gy < 14; gy++)
        for (int gx = 0; gx < 8; gx++)
          if (g[gy * 8 + gx])
            p.fill (x0 + i * cw + gx * scale, y + gy * scale,
                x0 + i * cw + (gx + 1) * scale, y + (gy + 1) * scale, ink);
    }
  }
}

/* A desktop: flat background and taskbar, a window behind and a window in
 * front, both with text. `fullness` 1: every line full (a dense page);
 * less: ragged lines, blank lines (code, chat, a document's margins).
 * `scale` 2 at 4K is the usual HiDPI setting. */
Picture screen (int w, int h, double fullness, int scale)
{
  Picture p (w, h, 0x2d5a88);
  const double k = w / 1920.0;
  auto px = [k] (int v) { return static_cast<int> (v * k); };
  p.fill (0, h - px (40), w, h, 0x202020);
  for (int i = 0; i < 8; i++)
    p.fill (px (10 + 50 * i), h - px (34), px (50 + 50 * i), h - px (6),
        0x5080b0);
  p.fill (px (1100), px (80), px (1800), px (900), 0xf0f0f0);
  p.fill (px (1100), px (80), px (1800), px (110), 0x3c3c3c);
  draw_text (p, px (1110), px (120), px (1790), px (890), scale, fullness, 99,
      0x202020);
  p.fill (px (199), px (119), px (1101), px (871), 0x808080);
  p.fill (px (200), px (120), px (1100), px (870), 0xffffff);
  p.fill (px (200), px (120), px (1100), px (150), 0x2b579a);
  p.fill (px (200), px (150), px (400), px (870), 0xe8e8e8); /* a side bar */
  draw_text (p, px (210), px (160), px (390), px (860), scale, 0.5, 5,
      0x303030);
  draw_text (p, px (410), px (160), px (1090), px (860), scale, fullness, 1,
      0x101010);
  return p;
}

Picture noise (int w, int h)
{
  Picture p (w, h, 0);
  std::mt19937 rng (1);
  for (auto &b : p.bgrx)
    b = static_cast<std::uint8_t> (rng ());
  return p;
}

class Frame {
 public:
  explicit Frame (Picture &p)
  {
    gst_video_info_set_format (&info_, GST_VIDEO_FORMAT_BGRx, p.w, p.h);
    buffer_ = gst_buffer_new_wrapped_full (GST_MEMORY_FLAG_READONLY,
        p.bgrx.data (), p.bgrx.size (), 0, p.bgrx.size (), nullptr, nullptr);
    gst_video_frame_map (&frame_, &info_, buffer_, GST_MAP_READ);
  }
  ~Frame ()
  {
    gst_video_frame_unmap (&frame_);
    gst_buffer_unref (buffer_);
  }
  const GstVideoFrame *get () const { return &frame_; }
  GstBuffer *buffer () const { return buffer_; }
  const GstVideoInfo *info () const { return &info_; }

 private:
  GstVideoInfo info_;
  GstBuffer *buffer_;
  GstVideoFrame frame_;
};

/* ---- Measuring ---- */

struct Sample {
  double cpu = 0, wall = 0;
  std::size_t message_bytes = 0, jpeg_bytes = 0;
  int width = 0, height = 0, quality = 0, attempts = 0;
  bool ok = false;
};

struct Row {
  std::string frame, method;
  std::vector<Sample> samples;
};

Sample engine_once (const Frame &f, rt::ImageEncoder &enc,
    rt::FramePolicy &policy, const rt::ImageSettings &s, std::int64_t now)
{
  Sample out;
  const double c0 = cpu_ms (), w0 = wall_ms ();
  rt::Thumbnail t = rt::make_thumbnail (f.get ());
  if (policy.offer (now, std::move (t)) == rt::FrameDecision::Send) {
    rt::ImageResult r = enc.encode (f.get (), s);
    if (r.ok)
      policy.sent ();
    out.wall = wall_ms () - w0;
    out.cpu = cpu_ms () - c0;
    out.ok = r.ok;
    out.message_bytes = r.message_bytes;
    out.jpeg_bytes = r.jpeg_bytes;
    out.width = r.width;
    out.height = r.height;
    out.quality = r.quality;
    out.attempts = r.attempts;
  }
  return out;
}

/* appsrc ! videoconvert ! videoscale ! jpegenc ! appsink, one frame at a
 * time, each pulled before the next is pushed. */
class JpegencPath {
 public:
  JpegencPath (const GstVideoInfo *in, int w, int h)
  {
    gchar *desc = g_strdup_printf (
        "appsrc name=src format=time ! videoconvert ! "
        "videoscale ! video/x-raw,width=%d,height=%d ! jpegenc quality=85 ! "
        "appsink name=sink sync=false",
        w, h);
    GError *error = nullptr;
    pipeline_ = gst_parse_launch (desc, &error);
    g_free (desc);
    if (!pipeline_) {
      g_printerr ("images-bench: %s\n", error->message);
      g_clear_error (&error);
      return;
    }
    src_ = gst_bin_get_by_name (GST_BIN (pipeline_), "src");
    sink_ = gst_bin_get_by_name (GST_BIN (pipeline_), "sink");
    GstCaps *caps = gst_video_info_to_caps (in);
    gst_app_src_set_caps (GST_APP_SRC (src_), caps);
    gst_caps_unref (caps);
    gst_element_set_state (pipeline_, GST_STATE_PLAYING);
  }
  ~JpegencPath ()
  {
    if (!pipeline_)
      return;
    gst_element_set_state (pipeline_, GST_STATE_NULL);
    gst_object_unref (src_);
    gst_object_unref (sink_);
    gst_object_unref (pipeline_);
  }
  bool ok () const { return pipeline_ != nullptr; }

  Sample once (const Frame &f, const rt::ImageSettings &s, int n)
  {
    Sample out;
    const double c0 = cpu_ms (), w0 = wall_ms ();
    GstBuffer *b = gst_buffer_copy (f.buffer ()); /* shares the memory */
    GST_BUFFER_PTS (b) = n * GST_SECOND;
    gst_app_src_push_buffer (GST_APP_SRC (src_), b);
    GstSample *sample = gst_app_sink_try_pull_sample (GST_APP_SINK (sink_),
        10 * GST_SECOND);
    if (!sample)
      return out;
    GstMapInfo map;
    GstBuffer *jpeg = gst_sample_get_buffer (sample);
    gst_buffer_map (jpeg, &map, GST_MAP_READ);
    std::string event = rt::build_image_event (map.data, map.size, s);
    out.jpeg_bytes = map.size;
    gst_buffer_unmap (jpeg, &map);
    GstVideoInfo vi;
    gst_video_info_from_caps (&vi, gst_sample_get_caps (sample));
    gst_sample_unref (sample);
    out.wall = wall_ms () - w0;
    out.cpu = cpu_ms () - c0;
    out.message_bytes = event.size ();
    out.ok = event.size () <= s.max_message_bytes;
    out.width = GST_VIDEO_INFO_WIDTH (&vi);
    out.height = GST_VIDEO_INFO_HEIGHT (&vi);
    out.quality = 85;
    out.attempts = 1;
    return out;
  }

 private:
  GstElement *pipeline_ = nullptr;
  GstElement *src_ = nullptr;
  GstElement *sink_ = nullptr;
};

std::string fmt (const char *format, double v)
{
  char b[64];
  std::snprintf (b, sizeof b, format, v);
  return b;
}

}  // namespace

int main (int argc, char **argv)
{
  gint runs = 50;
  gint max_message = static_cast<gint> (rt::kMaxDataChannelMessage);
  gchar *markdown = nullptr;
  GOptionEntry entries[] = {
    { "runs", 'n', 0, G_OPTION_ARG_INT, &runs, "Frames per row (default 50)",
        "N" },
    { "max-message-bytes", 0, 0, G_OPTION_ARG_INT, &max_message,
        "The event budget (default 65536)", "BYTES" },
    { "markdown", 0, 0, G_OPTION_ARG_FILENAME, &markdown,
        "Also write the tables as Markdown to FILE", "FILE" },
    { nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr },
  };
  GOptionContext *ctx = g_option_context_new ("- still image costs");
  g_option_context_add_main_entries (ctx, entries, nullptr);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  GError *error = nullptr;
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    g_printerr ("images-bench: %s\n", error->message);
    return 2;
  }
  g_option_context_free (ctx);
  if (runs < 1 || max_message < 1) {
    g_printerr (
        "images-bench: --runs and --max-message-bytes must be positive\n");
    return 2;
  }
  gst_init (&argc, &argv);

  struct Input {
    const char *name;
    Picture picture;
  };
  std::vector<Input> inputs;
  inputs.push_back ({ "screen 1920x1080", screen (1920, 1080, 0.6, 1) });
  inputs.push_back ({ "dense text 1920x1080", screen (1920, 1080, 1.0, 1) });
  inputs.push_back ({ "noise 1920x1080", noise (1920, 1080) });
  inputs.push_back ({ "screen 3840x2160", screen (3840, 2160, 0.6, 2) });

  rt::ImageSettings settings;
  settings.max_message_bytes = static_cast<std::size_t> (max_message);
  std::vector<Row> rows;
  std::vector<std::pair<std::string, std::vector<double>>> unchanged;
  for (Input &in : inputs) {
    Frame f (in.picture);
    g_print ("%s ...\n", in.name);

    /* A frame that has not changed: thumbnail and comparison only. */
    {
      rt::FramePolicy policy;
      policy.offer (0, rt::make_thumbnail (f.get ()));
      policy.sent ();
      std::vector<double> cpu;
      for (int i = 1; i <= runs; i++) {
        const double c0 = cpu_ms ();
        rt::FrameDecision d = policy.offer (i * 2000,
            rt::make_thumbnail (f.get ()));
        cpu.push_back (cpu_ms () - c0);
        if (d != rt::FrameDecision::Unchanged)
          g_printerr (
              "images-bench: an unchanged frame was not seen as such\n");
      }
      unchanged.emplace_back (in.name, cpu);
    }

    for (rt::ImageSearch search :
        { rt::ImageSearch::Estimate, rt::ImageSearch::Ladder }) {
      Row row { in.name,
        search == rt::ImageSearch::Estimate ? "engine" : "engine, plain ladder",
        {} };
      rt::ImageSettings s = settings;
      s.search = search;
      rt::ImageEncoder enc;
      rt::FramePolicySettings ps;
      ps.threshold = 0; /* every frame is sent: the whole path each time */
      rt::FramePolicy policy (ps);
      for (int i = 0; i < runs; i++)
        row.samples.push_back (engine_once (f, enc, policy, s, i * 2000));
      rows.push_back (row);
    }

    /* The engine's first size (the frames are landscape). */
    const int w = std::min (settings.max_size, in.picture.w);
    const int h = static_cast<int> (
        std::lround (1.0 * in.picture.h * w / in.picture.w));
    JpegencPath path (f.info (), w, h);
    if (path.ok ()) {
      Row row { in.name, "jpegenc quality=85", {} };
      path.once (f, settings, 0); /* negotiation, allocation */
      for (int i = 0; i < runs; i++)
        row.samples.push_back (path.once (f, settings, i + 1));
      rows.push_back (row);
    }
  }

  std::string md;
  md += "Budget: " + std::to_string (max_message) + " bytes of event; " +
      std::to_string (runs) + " frames per row. Times in ms per frame.\n\n";
  md += "| frame | path | CPU median | CPU p90 | wall median | wall p90 | "
        "event bytes | JPEG bytes | image | quality | encodes | fits |\n";
  md += "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const Row &r : rows) {
    std::vector<double> cpu, wall;
    int fits = 0;
    for (const Sample &s : r.samples) {
      cpu.push_back (s.cpu);
      wall.push_back (s.wall);
      fits += s.ok;
    }
    const Sample &last = r.samples.back ();
    md += "| " + r.frame + " | " + r.method + " | " +
        fmt ("%.1f", percentile (cpu, 0.5)) + " | " +
        fmt ("%.1f", percentile (cpu, 0.9)) + " | " +
        fmt ("%.1f", percentile (wall, 0.5)) + " | " +
        fmt ("%.1f", percentile (wall, 0.9)) + " | " +
        std::to_string (last.message_bytes) + " | " +
        std::to_string (last.jpeg_bytes) + " | " + std::to_string (last.width) +
        "x" + std::to_string (last.height) + " | " +
        std::to_string (last.quality) + " | " + std::to_string (last.attempts) +
        " | " + std::to_string (fits) + "/" +
        std::to_string (r.samples.size ()) + " |\n";
  }
  md +=
      "\nA frame that has not changed (thumbnail and comparison only), CPU ms:\n\n";
  md += "| frame | median | p90 |\n|---|---|---|\n";
  for (const auto &u : unchanged)
    md += "| " + u.first + " | " + fmt ("%.2f", percentile (u.second, 0.5)) +
        " | " + fmt ("%.2f", percentile (u.second, 0.9)) + " |\n";
  g_print ("\n%s", md.c_str ());
  int status = 0;
  if (markdown) {
    if (!g_file_set_contents (markdown, md.c_str (), -1, &error)) {
      g_printerr ("images-bench: %s\n", error->message);
      status = 1;
    }
    g_free (markdown);
  }
  for (const Row &r : rows)
    if (r.method.rfind ("engine", 0) == 0)
      for (const Sample &s : r.samples)
        if (!s.ok)
          status = 1;
  return status;
}
