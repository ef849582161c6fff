/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "frames/thumbnail.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace rt {

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
    edges[i] = static_cast<int> (
        static_cast<std::int64_t> (i) * pixels / cells);
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
    th = std::max (1,
        static_cast<int> (std::lround (static_cast<double> (h) * tw / w)));
  } else {
    th = std::min (h, kThumbnailSide);
    tw = std::max (1,
        static_cast<int> (std::lround (static_cast<double> (w) * th / h)));
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
      whole_bytes = whole_bytes &&
          GST_VIDEO_FORMAT_INFO_DEPTH (finfo, c) == 8 &&
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
            static_cast<std::ptrdiff_t> (y) *
                GST_VIDEO_FRAME_COMP_STRIDE (frame, 0);
        add_luma_line (line, pstride, xs, sums.data ());
      } else if (reader == Reader::Rgb8) {
        const auto *line = static_cast<const std::uint8_t *> (
                               GST_VIDEO_FRAME_PLANE_DATA (frame, 0)) +
            static_cast<std::ptrdiff_t> (y) *
                GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0);
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
                                  unpacked.data ()) +
                  4 * x;
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
            line8[x] = wide ? static_cast<std::uint8_t> (
                                  reinterpret_cast<const std::uint16_t *> (
                                      unpacked.data ())[4 * x + 1] >>
                                  8) :
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

}  // namespace rt
