#include "frames.h"

#include "json_util.h"

#include <json-glib/json-glib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <jpeglib.h>

namespace rt {

/* ---- Thumbnails ---- */

namespace {

/* BT.601 luma weights in 1/256: 0.299, 0.587, 0.114. */
constexpr std::uint64_t kWeightR = 77, kWeightG = 150, kWeightB = 29;

/* Where a frame's luma (or its R, G, B) can be read without unpacking. */
enum class Reader { Luma8, Rgb8, Unpack };

/* The first pixel column of each cell, and one past the last. */
std::vector<int> cell_edges (int pixels, int cells)
{
  std::vector<int> edges (cells + 1);
  for (int i = 0; i <= cells; i++)
    edges[i] = static_cast<int> (static_cast<std::int64_t> (i) * pixels / cells);
  return edges;
}

/* Sums one line into per-cell sums: each cell's columns are contiguous, so
 * the inner loops run over plain arrays. */
void add_luma_line (const std::uint8_t *line, int pstride,
    const std::vector<int> &xs, std::uint64_t *sums)
{
  const int cells = static_cast<int> (xs.size ()) - 1;
  for (int c = 0; c < cells; c++) {
    std::uint32_t s = 0;
    if (pstride == 1) {
      for (int x = xs[c]; x < xs[c + 1]; x++)
        s += line[x];
    } else {
      for (int x = xs[c]; x < xs[c + 1]; x++)
        s += line[x * pstride];
    }
    sums[c] += s;
  }
}

/* R, G and B summed apart; the luma of the means is the mean of the lumas. */
void add_rgb_line (const std::uint8_t *line, int pstride, int r, int g, int b,
    const std::vector<int> &xs, std::uint64_t *sums)
{
  const int cells = static_cast<int> (xs.size ()) - 1;
  for (int c = 0; c < cells; c++) {
    std::uint32_t sr = 0, sg = 0, sb = 0;
    for (int x = xs[c]; x < xs[c + 1]; x++) {
      const std::uint8_t *p = line + x * pstride;
      sr += p[r];
      sg += p[g];
      sb += p[b];
    }
    sums[c] += kWeightR * sr + kWeightG * sg + kWeightB * sb;
  }
}

}  // namespace

Thumbnail make_thumbnail (const GstVideoFrame *frame)
{
  Thumbnail thumb;
  const GstVideoInfo *info = &frame->info;
  const GstVideoFormatInfo *finfo = info->finfo;
  const int w = GST_VIDEO_INFO_WIDTH (info);
  const int h = GST_VIDEO_INFO_HEIGHT (info);
  if (w <= 0 || h <= 0 || !finfo || !finfo->unpack_func)
    return thumb;

  /* The thumbnail keeps the frame's shape, its longest side
   * kThumbnailSide cells (or the frame's own size when smaller). */
  int tw, th;
  if (w >= h) {
    tw = std::min (w, kThumbnailSide);
    th = std::max (1, static_cast<int> (std::lround (
                static_cast<double> (h) * tw / w)));
  } else {
    th = std::min (h, kThumbnailSide);
    tw = std::max (1, static_cast<int> (std::lround (
                static_cast<double> (w) * th / h)));
  }
  const std::vector<int> xs = cell_edges (w, tw);
  const std::vector<int> ys = cell_edges (h, th);

  Reader reader = Reader::Unpack;
  int pstride = 0;
  int rgb[3] = { 0, 0, 0 };
  if ((GST_VIDEO_FORMAT_INFO_IS_YUV (finfo) ||
          GST_VIDEO_FORMAT_INFO_IS_GRAY (finfo)) &&
      GST_VIDEO_FORMAT_INFO_DEPTH (finfo, 0) == 8 &&
      GST_VIDEO_FORMAT_INFO_SHIFT (finfo, 0) == 0 &&
      !GST_VIDEO_FORMAT_INFO_IS_TILED (finfo) &&
      GST_VIDEO_FORMAT_INFO_BITS (finfo) == 8) {
    pstride = GST_VIDEO_FRAME_COMP_PSTRIDE (frame, 0);
    if (pstride >= 1)
      reader = Reader::Luma8;
  } else if (GST_VIDEO_FORMAT_INFO_IS_RGB (finfo) &&
      GST_VIDEO_FORMAT_INFO_N_PLANES (finfo) == 1 &&
      GST_VIDEO_FORMAT_INFO_BITS (finfo) == 8 &&
      !GST_VIDEO_FORMAT_INFO_HAS_PALETTE (finfo)) {
    pstride = GST_VIDEO_FRAME_COMP_PSTRIDE (frame, 0);
    bool whole_bytes = pstride >= 3;
    for (int c = 0; c < 3; c++) {
      whole_bytes = whole_bytes && GST_VIDEO_FORMAT_INFO_DEPTH (finfo, c) == 8 &&
          GST_VIDEO_FORMAT_INFO_SHIFT (finfo, c) == 0;
      rgb[c] = GST_VIDEO_FORMAT_INFO_POFFSET (finfo, c);
    }
    if (whole_bytes)
      reader = Reader::Rgb8;
  }

  /* Anything else is unpacked a line at a time to 8 or 16 bits per
   * component, AYUV or ARGB order. */
  const GstVideoFormatInfo *uinfo = nullptr;
  std::vector<std::uint8_t> unpacked;
  if (reader == Reader::Unpack) {
    uinfo = gst_video_format_get_info (finfo->unpack_format);
    if (!uinfo)
      return thumb;
    /* Unpackers of grouped pixels (v210: 6) may write up to a group past
     * the width. */
    unpacked.resize ((static_cast<std::size_t> (w) + 16) * 4 *
        (GST_VIDEO_FORMAT_INFO_BITS (uinfo) > 8 ? 2 : 1));
  }

  thumb.width = tw;
  thumb.height = th;
  thumb.luma.resize (static_cast<std::size_t> (tw) * th);
  std::vector<std::uint64_t> sums (tw);
  std::vector<std::uint8_t> line8;
  for (int cy = 0; cy < th; cy++) {
    std::fill (sums.begin (), sums.end (), 0);
    for (int y = ys[cy]; y < ys[cy + 1]; y++) {
      if (reader == Reader::Luma8) {
        const auto *line = static_cast<const std::uint8_t *> (
            GST_VIDEO_FRAME_COMP_DATA (frame, 0)) +
            static_cast<std::ptrdiff_t> (y) * GST_VIDEO_FRAME_COMP_STRIDE (frame, 0);
        add_luma_line (line, pstride, xs, sums.data ());
      } else if (reader == Reader::Rgb8) {
        const auto *line = static_cast<const std::uint8_t *> (
            GST_VIDEO_FRAME_PLANE_DATA (frame, 0)) +
            static_cast<std::ptrdiff_t> (y) * GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0);
        add_rgb_line (line, pstride, rgb[0], rgb[1], rgb[2], xs, sums.data ());
      } else {
        finfo->unpack_func (finfo, GST_VIDEO_PACK_FLAG_NONE, unpacked.data (),
            frame->data, frame->info.stride, 0, y, w);
        const bool wide = GST_VIDEO_FORMAT_INFO_BITS (uinfo) > 8;
        line8.resize (static_cast<std::size_t> (w));
        if (GST_VIDEO_FORMAT_INFO_IS_RGB (uinfo)) {
          for (int x = 0; x < w; x++) {
            std::uint32_t r, g, b;
            if (wide) {
              const auto *p = reinterpret_cast<const std::uint16_t *> (
                  unpacked.data ()) + 4 * x;
              r = p[1] >> 8, g = p[2] >> 8, b = p[3] >> 8;
            } else {
              const std::uint8_t *p = unpacked.data () + 4 * x;
              r = p[1], g = p[2], b = p[3];
            }
            line8[x] = static_cast<std::uint8_t> (
                (kWeightR * r + kWeightG * g + kWeightB * b) >> 8);
          }
        } else {
          for (int x = 0; x < w; x++)
            line8[x] = wide ? static_cast<std::uint8_t> (reinterpret_cast<
                    const std::uint16_t *> (unpacked.data ())[4 * x + 1] >> 8) :
                unpacked[4 * x + 1];
        }
        add_luma_line (line8.data (), 1, xs, sums.data ());
      }
    }
    const std::uint64_t rows = static_cast<std::uint64_t> (ys[cy + 1] - ys[cy]);
    for (int cx = 0; cx < tw; cx++) {
      std::uint64_t n = rows * static_cast<std::uint64_t> (xs[cx + 1] - xs[cx]);
      if (reader == Reader::Rgb8)
        n *= 256;
      thumb.luma[static_cast<std::size_t> (cy) * tw + cx] =
          static_cast<std::uint8_t> ((sums[cx] + n / 2) / n);
    }
  }
  return thumb;
}

double thumbnail_difference (const Thumbnail &a, const Thumbnail &b)
{
  if (a.empty () || b.empty () || a.width != b.width || a.height != b.height ||
      a.luma.size () != b.luma.size ())
    return 1.0;
  std::size_t changed = 0;
  for (std::size_t i = 0; i < a.luma.size (); i++)
    changed += std::abs (static_cast<int> (a.luma[i]) - b.luma[i]) > kCellDelta;
  return static_cast<double> (changed) / static_cast<double> (a.luma.size ());
}

/* ---- The policy ---- */

const char *frame_decision_name (FrameDecision decision)
{
  switch (decision) {
    case FrameDecision::NotDue: return "not-due";
    case FrameDecision::Unchanged: return "unchanged";
    case FrameDecision::Send: return "send";
  }
  return "?";
}

FramePolicy::FramePolicy (FramePolicySettings settings)
{
  set_settings (settings);
}

void FramePolicy::set_settings (FramePolicySettings settings)
{
  settings.interval_ms = std::max<std::int64_t> (0, settings.interval_ms);
  if (!(settings.threshold >= 0.0))   /* NaN too */
    settings.threshold = 0.0;
  settings.threshold = std::min (settings.threshold, 1.0);
  settings_ = settings;
}

bool FramePolicy::due (std::int64_t now_ms) const
{
  return !offered_ || now_ms < last_offer_ms_ ||
      now_ms - last_offer_ms_ >= settings_.interval_ms;
}

FrameDecision FramePolicy::offer (std::int64_t now_ms, Thumbnail thumbnail)
{
  if (!due (now_ms))
    return FrameDecision::NotDue;
  offered_ = true;
  last_offer_ms_ = now_ms;
  last_difference_ = reference_.empty () ? 1.0 :
      thumbnail_difference (reference_, thumbnail);
  /* Threshold 0 sends every offered frame, even an identical one. */
  if (reference_.empty () || settings_.threshold <= 0.0 ||
      last_difference_ >= settings_.threshold) {
    pending_ = std::move (thumbnail);
    return FrameDecision::Send;
  }
  pending_ = Thumbnail ();
  return FrameDecision::Unchanged;
}

void FramePolicy::sent ()
{
  if (!pending_.empty ())
    reference_ = std::move (pending_);
  pending_ = Thumbnail ();
}

void FramePolicy::forget ()
{
  offered_ = false;
  reference_ = Thumbnail ();
  pending_ = Thumbnail ();
  last_difference_ = 1.0;
}

/* ---- The event ---- */

const char *image_detail_name (ImageDetail detail)
{
  switch (detail) {
    case ImageDetail::Auto: return "auto";
    case ImageDetail::Low: return "low";
    case ImageDetail::High: return "high";
  }
  return "auto";
}

namespace {

constexpr char kDataUrlPrefix[] = "data:image/jpeg;base64,";

/* json-glib writes the base64 alphabet (A-Z a-z 0-9 + / =) as it is, so
 * the event with an empty data URL plus the base64 length is the exact
 * size of the event with the image (build_image_event checks it). */
std::string event_json (const std::string &data_url, const ImageSettings &s)
{
  JsonBuilder *b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "conversation.item.create");
  if (!s.event_id.empty ()) {
    json_builder_set_member_name (b, "event_id");
    json_builder_add_string_value (b, s.event_id.c_str ());
  }
  json_builder_set_member_name (b, "item");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "message");
  json_builder_set_member_name (b, "role");
  json_builder_add_string_value (b, "user");
  json_builder_set_member_name (b, "content");
  json_builder_begin_array (b);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "input_image");
  json_builder_set_member_name (b, "image_url");
  json_builder_add_string_value (b, data_url.c_str ());
  json_builder_set_member_name (b, "detail");
  json_builder_add_string_value (b, image_detail_name (s.detail));
  json_builder_end_object (b);
  json_builder_end_array (b);
  json_builder_end_object (b);
  json_builder_end_object (b);
  return json::finish (b);
}

std::size_t base64_bytes (std::size_t n)
{
  return (n + 2) / 3 * 4;
}

}  // namespace

std::size_t image_event_bytes (std::size_t jpeg_bytes,
    const ImageSettings &settings)
{
  return event_json (kDataUrlPrefix, settings).size () + base64_bytes (jpeg_bytes);
}

std::size_t max_jpeg_bytes (const ImageSettings &settings)
{
  const std::size_t empty = image_event_bytes (0, settings);
  if (settings.max_message_bytes <= empty)
    return 0;
  /* Every 3 bytes of JPEG take 4 characters (the last group padded). */
  return (settings.max_message_bytes - empty) / 4 * 3;
}

std::string build_image_event (const std::uint8_t *jpeg, std::size_t size,
    const ImageSettings &settings)
{
  gchar *b64 = g_base64_encode (jpeg, size);
  std::string url = kDataUrlPrefix;
  url += b64;
  g_free (b64);
  return event_json (url, settings);
}

/* ---- Scaling and encoding ---- */

namespace {

/* A 4:2:0 image in the layout libjpeg's raw input reads: planes padded to
 * whole 16x16 macroblocks with their edge pixels repeated (so the padding
 * costs no bits), full-range BT.601 like every JFIF file. */
struct Image420 {
  int width = 0;
  int height = 0;
  int pad_width = 0;
  int pad_height = 0;
  std::vector<std::uint8_t> data;
  GstVideoInfo info;

  void resize (int w, int h, const GstVideoInfo *like)
  {
    width = w;
    height = h;
    pad_width = (w + 15) / 16 * 16;
    pad_height = (h + 15) / 16 * 16;
    gst_video_info_set_format (&info, GST_VIDEO_FORMAT_I420,
        static_cast<guint> (w), static_cast<guint> (h));
    info.colorimetry.range = GST_VIDEO_COLOR_RANGE_0_255;
    info.colorimetry.matrix = GST_VIDEO_COLOR_MATRIX_BT601;
    /* No change of transfer or primaries: only the matrix is JPEG's. */
    if (like) {
      info.colorimetry.transfer = like->colorimetry.transfer;
      info.colorimetry.primaries = like->colorimetry.primaries;
    }
    const std::size_t luma = static_cast<std::size_t> (pad_width) * pad_height;
    info.stride[0] = pad_width;
    info.stride[1] = info.stride[2] = pad_width / 2;
    info.offset[0] = 0;
    info.offset[1] = luma;
    info.offset[2] = luma + luma / 4;
    info.size = luma + luma / 2;
    data.resize (info.size);
  }

  std::uint8_t *plane (int i) { return data.data () + info.offset[i]; }

  /* Repeats the last column and row of each plane into the padding. */
  void pad_edges ()
  {
    for (int p = 0; p < 3; p++) {
      const int w = p ? (width + 1) / 2 : width;
      const int h = p ? (height + 1) / 2 : height;
      const int pw = p ? pad_width / 2 : pad_width;
      const int ph = p ? pad_height / 2 : pad_height;
      std::uint8_t *base = plane (p);
      for (int y = 0; y < h; y++) {
        std::uint8_t *row = base + static_cast<std::size_t> (y) * pw;
        std::memset (row + w, row[w - 1], static_cast<std::size_t> (pw - w));
      }
      for (int y = h; y < ph; y++)
        std::memcpy (base + static_cast<std::size_t> (y) * pw,
            base + static_cast<std::size_t> (h - 1) * pw, static_cast<std::size_t> (pw));
    }
  }
};

struct ConverterFree {
  void operator() (GstVideoConverter *c) const { gst_video_converter_free (c); }
};
using ConverterPtr = std::unique_ptr<GstVideoConverter, ConverterFree>;

ConverterPtr make_converter (const GstVideoInfo *in, const GstVideoInfo *out)
{
  /* Default (cubic) resampling: text stays legible for the model. One
   * thread: images are not urgent and the pipeline has other work. */
  GstStructure *options = gst_structure_new ("options",
      GST_VIDEO_CONVERTER_OPT_DITHER_METHOD, GST_TYPE_VIDEO_DITHER_METHOD,
      GST_VIDEO_DITHER_NONE,
      GST_VIDEO_CONVERTER_OPT_THREADS, G_TYPE_UINT, 1u,
      nullptr);
  /* The converter insists that what scaling leaves alone matches: a live
   * source's frame rate and interlacing. */
  GstVideoInfo o = *out;
  o.fps_n = in->fps_n;
  o.fps_d = in->fps_d;
  o.interlace_mode = in->interlace_mode;
  return ConverterPtr (gst_video_converter_new (
          const_cast<GstVideoInfo *> (in), &o, options));
}

/* Runs conv from src into dst (whose data it writes), then pads dst. */
bool convert_into (GstVideoConverter *conv, const GstVideoFrame *src,
    Image420 *dst)
{
  GstBuffer *buf = gst_buffer_new_wrapped_full (GST_MEMORY_FLAG_NO_SHARE,
      dst->data.data (), dst->data.size (), 0, dst->data.size (), nullptr,
      nullptr);
  GstVideoFrame out;
  if (!gst_video_frame_map (&out, &dst->info, buf, GST_MAP_WRITE)) {
    gst_buffer_unref (buf);
    return false;
  }
  gst_video_converter_frame (conv, src, &out);
  gst_video_frame_unmap (&out);
  gst_buffer_unref (buf);
  dst->pad_edges ();
  return true;
}

/* libjpeg reports fatal errors by calling error_exit, which must not
 * return: it jumps back to encode_jpeg. */
struct JpegJob {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr err;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  unsigned char *out;
  unsigned long out_size;
};

void jpeg_fail (j_common_ptr cinfo)
{
  JpegJob *job = reinterpret_cast<JpegJob *> (
      reinterpret_cast<char *> (cinfo) - offsetof (JpegJob, cinfo));
  (*cinfo->err->format_message) (cinfo, job->message);
  std::longjmp (job->jump, 1);
}

void jpeg_quiet (j_common_ptr) {}

/* Only plain C objects live in this frame, so the jump skips no
 * destructor; job is the caller's and holds everything that changes. */
bool encode_jpeg_job (JpegJob *job, Image420 *img, int quality)
{
  job->cinfo.err = jpeg_std_error (&job->err);
  job->err.error_exit = jpeg_fail;
  job->err.output_message = jpeg_quiet;
  job->out = nullptr;
  job->out_size = 0;
  job->message[0] = '\0';
  if (setjmp (job->jump)) {
    jpeg_destroy_compress (&job->cinfo);
    std::free (job->out);
    job->out = nullptr;
    return false;
  }
  jpeg_create_compress (&job->cinfo);
  jpeg_mem_dest (&job->cinfo, &job->out, &job->out_size);
  jpeg_compress_struct *c = &job->cinfo;
  c->image_width = static_cast<JDIMENSION> (img->width);
  c->image_height = static_cast<JDIMENSION> (img->height);
  c->input_components = 3;
  c->in_color_space = JCS_YCbCr;
  jpeg_set_defaults (c);
  c->raw_data_in = TRUE;
  c->comp_info[0].h_samp_factor = c->comp_info[0].v_samp_factor = 2;
  for (int i = 1; i < 3; i++)
    c->comp_info[i].h_samp_factor = c->comp_info[i].v_samp_factor = 1;
  /* Optimal Huffman tables: a few percent fewer bytes for a little time,
   * and bytes are what the budget counts. */
  c->optimize_coding = TRUE;
  jpeg_set_quality (c, quality, TRUE);
  jpeg_start_compress (c, TRUE);
  JSAMPROW rows_y[16], rows_u[8], rows_v[8];
  JSAMPARRAY planes[3] = { rows_y, rows_u, rows_v };
  std::uint8_t *y = img->plane (0), *u = img->plane (1), *v = img->plane (2);
  const std::size_t sy = static_cast<std::size_t> (img->pad_width);
  const std::size_t sc = sy / 2;
  while (c->next_scanline < c->image_height) {
    const std::size_t row = c->next_scanline;
    for (std::size_t i = 0; i < 16; i++)
      rows_y[i] = y + (row + i) * sy;
    for (std::size_t i = 0; i < 8; i++) {
      rows_u[i] = u + (row / 2 + i) * sc;
      rows_v[i] = v + (row / 2 + i) * sc;
    }
    jpeg_write_raw_data (c, planes, 16);
  }
  jpeg_finish_compress (c);
  jpeg_destroy_compress (c);
  return true;
}

/* One encode of the image at one quality: the JPEG, or an error. */
struct Encoded {
  bool ok = false;
  std::vector<std::uint8_t> jpeg;
  std::string error;
};

Encoded encode_jpeg (Image420 *img, int quality)
{
  Encoded e;
  auto job = std::make_unique<JpegJob> ();
  if (!encode_jpeg_job (job.get (), img, quality)) {
    e.error = std::string ("the JPEG encoder failed: ") + job->message;
    return e;
  }
  e.jpeg.assign (job->out, job->out + job->out_size);
  std::free (job->out);
  e.ok = true;
  return e;
}

}  // namespace

struct ImageEncoder::Impl {
  /* The scaler from the last frame format to the first size, and the
   * images it and the smaller sizes are made into. */
  GstVideoInfo conv_in;
  ConverterPtr conv;
  Image420 first;
  Image420 smaller;
};

namespace {

/* One frame's way to its event: the sizes to try, the images made so far,
 * the encodes, the best that fit. */
class Search {
 public:
  Search (const GstVideoFrame *frame, const ImageSettings &settings,
      std::size_t budget, ConverterPtr *conv, GstVideoInfo *conv_in,
      Image420 *first, Image420 *smaller, ImageResult *result)
    : frame_ (frame), budget_ (budget), conv_ (conv),
      conv_in_ (conv_in), first_ (first), smaller_ (smaller), r_ (result)
  {
    /* The frame's own size in square pixels, never more than max_size,
     * then kImageSizeStep smaller each step down to min_size. */
    const GstVideoInfo *in = &frame->info;
    int par_n = GST_VIDEO_INFO_PAR_N (in), par_d = GST_VIDEO_INFO_PAR_D (in);
    if (par_n <= 0 || par_d <= 0)
      par_n = par_d = 1;
    display_w_ = static_cast<double> (GST_VIDEO_INFO_WIDTH (in)) * par_n / par_d;
    display_h_ = GST_VIDEO_INFO_HEIGHT (in);
    const int own = std::max (1, static_cast<int> (std::lround (
                std::max (display_w_, display_h_))));
    int side = std::min (own, std::max (1, settings.max_size));
    const int smallest = std::min (side, std::max (1, settings.min_size));
    sides_.push_back (side);
    while (side > smallest) {
      side = std::max (smallest, static_cast<int> (side * kImageSizeStep));
      sides_.push_back (side);
    }
    measured_.resize (sides_.size ());
  }

  int n_sizes () const { return static_cast<int> (sides_.size ()); }
  static constexpr int n_qualities () {
    return static_cast<int> (G_N_ELEMENTS (kJpegQualities));
  }

  double area (int s) const
  {
    int w, h;
    dimensions (s, &w, &h);
    return static_cast<double> (w) * h;
  }

  /* The image size at size index s. */
  void dimensions (int s, int *w, int *h) const
  {
    const double longest = sides_[static_cast<std::size_t> (s)];
    if (display_w_ >= display_h_) {
      *w = static_cast<int> (longest);
      *h = static_cast<int> (std::lround (display_h_ * longest / display_w_));
    } else {
      *h = static_cast<int> (longest);
      *w = static_cast<int> (std::lround (display_w_ * longest / display_h_));
    }
    *w = std::max (1, *w);
    *h = std::max (1, *h);
  }

  /* One encode at size s, quality index q: 1 fits, 0 too large, -1 an
   * error (in error()). bytes_ is then the JPEG's size. */
  int attempt (int s, int q)
  {
    Image420 *img = image (s);
    if (!img)
      return -1;
    Encoded e = encode_jpeg (img, kJpegQualities[q]);
    r_->attempts++;
    r_->width = img->width;
    r_->height = img->height;
    r_->quality = kJpegQualities[q];
    if (!e.ok) {
      error_ = e.error;
      return -1;
    }
    bytes_ = e.jpeg.size ();
    measured_[static_cast<std::size_t> (s)][static_cast<std::size_t> (q)] =
        static_cast<double> (bytes_);
    learn_exponent (s);
    if (bytes_ > budget_)
      return 0;
    if (best_s_ < 0 || s < best_s_ || (s == best_s_ && q < best_q_)) {
      best_ = std::move (e.jpeg);
      best_s_ = s;
      best_q_ = q;
    }
    return 1;
  }

  /* Every step in order until one fits. */
  bool ladder ()
  {
    for (int s = 0; s < n_sizes (); s++)
      for (int q = 0; q < n_qualities (); q++) {
        const int fits = attempt (s, q);
        if (fits != 0)
          return fits > 0;
      }
    return false;
  }

  /* The same choice with few encodes; see ImageSearch::Estimate.
   *
   * The ladder picks the first (size, quality) in its order that fits.
   * Fewer bytes come from a lower quality at the same size, and from a
   * smaller size at the same quality, so that choice is a boundary: the
   * largest size whose lowest quality fits, then the best quality that
   * fits at that size. Both are searched between known bounds (what is
   * known to fail, what is known to fit), each next encode at the step
   * the bytes measured so far predict to be the boundary. While bytes
   * fall with quality and with size, a wrong prediction costs encodes,
   * never a different choice. */
  bool estimate ()
  {
    const int low = n_qualities () - 1;
    const int q = quality_boundary (0, 0, n_qualities ());
    if (q < 0)
      return false;
    if (q < n_qualities ())
      return true;

    /* Size 0 does not fit even at the lowest quality. Between the largest
     * size known to fail and the smallest known to fit, the next one tried
     * is the first whose pixels, at the bytes per pixel of the failing
     * one, would fit; once a guess has fitted, the rest is bisected.
     * Bytes per pixel change with the size (up for text, whose detail gets
     * denser; down for noise, which scaling smooths). */
    int failing = 0;
    int fitting = n_sizes ();
    double per_pixel = measured_[0][static_cast<std::size_t> (low)] / area (0);
    bool guess = true;
    while (fitting - failing > 1) {
      int next = (failing + fitting) / 2;
      if (guess) {
        next = fitting - 1;
        for (int k = failing + 1; k < fitting; k++)
          if (per_pixel * area (k) <= static_cast<double> (budget_)) {
            next = k;
            break;
          }
      }
      const int fits = attempt (next, low);
      if (fits < 0)
        return false;
      if (fits) {
        fitting = next;
        guess = false;
      } else {
        failing = next;
        per_pixel = bytes_ / area (next);
      }
    }
    if (fitting == n_sizes ())
      return false;
    return quality_boundary (fitting, 0, low) >= 0;
  }

  const std::string &error () const { return error_; }
  std::size_t last_bytes () const { return bytes_; }
  int best_size () const { return best_s_; }
  int best_quality () const { return best_q_; }
  const std::vector<std::uint8_t> &best () const { return best_; }

 private:
  /* The first quality index in [lo, hi] that fits at size s, given that
   * those before lo do not and hi does (hi == n_qualities (): nothing
   * known to fit); n_qualities () when none does, -1 on an error. */
  int quality_boundary (int s, int lo, int hi)
  {
    while (lo < hi) {
      /* With nothing measured yet, the best quality: most frames fit. */
      int guess = measured (s) ? hi - 1 : lo;
      for (int q = lo; q < hi - 1 && measured (s); q++)
        if (predict (s, q) <= static_cast<double> (budget_)) {
          guess = q;
          break;
        }
      const int fits = attempt (s, guess);
      if (fits < 0)
        return -1;
      if (fits)
        hi = guess;
      else
        lo = guess + 1;
    }
    return hi;
  }

  bool measured (int s) const
  {
    for (double b : measured_[static_cast<std::size_t> (s)])
      if (b > 0)
        return true;
    return false;
  }

  /* libjpeg's quantizer scaling for a quality (jpeg_quality_scaling). */
  static double quant_scale (int q)
  {
    const int quality = kJpegQualities[q];
    return quality < 50 ? 5000.0 / quality : 200.0 - 2.0 * quality;
  }

  /* JPEG bytes go roughly as quant_scale^-exponent: about 0.45 for screens,
   * 0.9 for noise. Learned from the widest pair measured at one size. */
  void learn_exponent (int s)
  {
    const auto &m = measured_[static_cast<std::size_t> (s)];
    int first = -1, last = -1;
    for (int q = 0; q < n_qualities (); q++)
      if (m[static_cast<std::size_t> (q)] > 0) {
        if (first < 0)
          first = q;
        last = q;
      }
    if (first < 0 || first == last)
      return;
    const double e = std::log (m[static_cast<std::size_t> (first)] /
        m[static_cast<std::size_t> (last)]) /
        std::log (quant_scale (last) / quant_scale (first));
    exponent_ = std::clamp (e, 0.1, 2.0);
  }

  /* The predicted bytes at (s, q): between two measured qualities of size
   * s, interpolated on that curve; beyond them, from the nearest one with
   * the exponent learned. Nothing measured at s: never fits. */
  double predict (int s, int q) const
  {
    const auto &m = measured_[static_cast<std::size_t> (s)];
    if (m[static_cast<std::size_t> (q)] > 0)
      return m[static_cast<std::size_t> (q)];
    int above = -1, below = -1;   /* better and worse qualities measured */
    for (int k = q - 1; k >= 0 && above < 0; k--)
      if (m[static_cast<std::size_t> (k)] > 0)
        above = k;
    for (int k = q + 1; k < n_qualities () && below < 0; k++)
      if (m[static_cast<std::size_t> (k)] > 0)
        below = k;
    if (above < 0 && below < 0)
      return HUGE_VAL;
    if (above >= 0 && below >= 0) {
      const double t = std::log (quant_scale (q) / quant_scale (above)) /
          std::log (quant_scale (below) / quant_scale (above));
      return std::exp (std::log (m[static_cast<std::size_t> (above)]) * (1 - t) +
          std::log (m[static_cast<std::size_t> (below)]) * t);
    }
    const int from = above >= 0 ? above : below;
    return m[static_cast<std::size_t> (from)] *
        std::pow (quant_scale (from) / quant_scale (q), exponent_);
  }

  /* The image at size index s: the first is scaled from the frame by a
   * converter kept between frames; smaller ones from the first image,
   * which is far cheaper than from a 4K frame again and looks the same. */
  Image420 *image (int s)
  {
    if (!first_ready_) {
      const GstVideoInfo *in = &frame_->info;
      int w, h;
      dimensions (0, &w, &h);
      if (!*conv_ || first_->width != w || first_->height != h ||
          !gst_video_info_is_equal (conv_in_, in)) {
        first_->resize (w, h, in);
        *conv_ = make_converter (in, &first_->info);
        *conv_in_ = *in;
      }
      if (!*conv_ || !convert_into (conv_->get (), frame_, first_)) {
        conv_->reset ();
        error_ = std::string ("cannot convert ") +
            gst_video_format_to_string (GST_VIDEO_INFO_FORMAT (in)) +
            " video into an image";
        return nullptr;
      }
      first_ready_ = true;
    }
    if (s == 0)
      return first_;
    if (smaller_s_ == s)
      return smaller_;
    int w, h;
    dimensions (s, &w, &h);
    GstBuffer *buf = gst_buffer_new_wrapped_full (GST_MEMORY_FLAG_READONLY,
        first_->data.data (), first_->data.size (), 0, first_->data.size (),
        nullptr, nullptr);
    GstVideoFrame src;
    bool ok = gst_video_frame_map (&src, &first_->info, buf, GST_MAP_READ);
    if (ok) {
      smaller_->resize (w, h, &first_->info);
      ConverterPtr conv = make_converter (&first_->info, &smaller_->info);
      ok = conv && convert_into (conv.get (), &src, smaller_);
      gst_video_frame_unmap (&src);
    }
    gst_buffer_unref (buf);
    if (!ok) {
      error_ = "cannot scale the image to " + std::to_string (w) + "x" +
          std::to_string (h);
      return nullptr;
    }
    smaller_s_ = s;
    return smaller_;
  }

  const GstVideoFrame *frame_;
  std::size_t budget_;
  ConverterPtr *conv_;
  GstVideoInfo *conv_in_;
  Image420 *first_;
  Image420 *smaller_;
  ImageResult *r_;
  double display_w_ = 1;
  double display_h_ = 1;
  std::vector<int> sides_;
  bool first_ready_ = false;
  int smaller_s_ = -1;
  std::string error_;
  std::size_t bytes_ = 0;
  /* JPEG bytes measured per size and quality; 0: not measured. */
  std::vector<std::array<double, G_N_ELEMENTS (kJpegQualities)>> measured_;
  double exponent_ = 0.45;
  std::vector<std::uint8_t> best_;
  int best_s_ = -1;
  int best_q_ = -1;
};

}  // namespace

ImageEncoder::ImageEncoder () : impl_ (std::make_unique<Impl> ())
{
  gst_video_info_init (&impl_->conv_in);
}

ImageEncoder::~ImageEncoder () = default;

ImageResult ImageEncoder::encode (const GstVideoFrame *frame,
    const ImageSettings &settings)
{
  ImageResult r;
  const GstVideoInfo *in = &frame->info;
  if (GST_VIDEO_INFO_WIDTH (in) <= 0 || GST_VIDEO_INFO_HEIGHT (in) <= 0 ||
      GST_VIDEO_INFO_FORMAT (in) == GST_VIDEO_FORMAT_UNKNOWN ||
      GST_VIDEO_INFO_FORMAT (in) == GST_VIDEO_FORMAT_ENCODED) {
    r.failure = "the frame has no pixels to encode";
    return r;
  }
  /* The service's limit; text json-glib cannot write as valid JSON is
   * refused rather than sent broken. */
  const std::string &id = settings.event_id;
  if (!g_utf8_validate (id.data (), static_cast<gssize> (id.size ()), nullptr) ||
      g_utf8_strlen (id.data (), static_cast<gssize> (id.size ())) > 512) {
    r.failure = "the event_id is not UTF-8 text of at most 512 characters";
    return r;
  }
  const std::size_t budget = max_jpeg_bytes (settings);
  if (budget == 0) {
    r.failure = "a message of " + std::to_string (settings.max_message_bytes) +
        " bytes leaves no room for an image: the event alone takes " +
        std::to_string (image_event_bytes (0, settings)) + " bytes";
    return r;
  }

  Impl &p = *impl_;
  Search search (frame, settings, budget, &p.conv, &p.conv_in, &p.first,
      &p.smaller, &r);
  const bool found = settings.search == ImageSearch::Ladder ?
      search.ladder () : search.estimate ();
  if (!search.error ().empty ()) {
    r.failure = search.error ();
    return r;
  }
  if (!found) {
    r.failure = "the image does not fit a message of " +
        std::to_string (settings.max_message_bytes) + " bytes: at " +
        std::to_string (r.width) + "x" + std::to_string (r.height) +
        " and quality " + std::to_string (r.quality) + " its JPEG is " +
        std::to_string (search.last_bytes ()) + " bytes, " +
        std::to_string (image_event_bytes (search.last_bytes (), settings)) +
        " with the event around it";
    return r;
  }
  search.dimensions (search.best_size (), &r.width, &r.height);
  r.quality = kJpegQualities[search.best_quality ()];
  r.jpeg_bytes = search.best ().size ();
  r.event = build_image_event (search.best ().data (), search.best ().size (),
      settings);
  r.message_bytes = r.event.size ();
  const std::size_t expected = image_event_bytes (r.jpeg_bytes, settings);
  if (r.message_bytes != expected ||
      r.message_bytes > settings.max_message_bytes) {
    r.failure = "the event came out at " + std::to_string (r.message_bytes) +
        " bytes, not the " + std::to_string (expected) + " computed";
    r.event.clear ();
    return r;
  }
  r.ok = true;
  return r;
}

}  // namespace rt
