/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Scaling a frame into the image JPEG carries. Internal to frames/: the
 * encoder's search (image_search.h) makes its images with these. */
#pragma once

#include <gst/video/video.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace rt::frames_internal {

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

  /* w x h in full-range BT.601, keeping like's transfer and primaries. */
  void resize (int w, int h, const GstVideoInfo *like);

  std::uint8_t *plane (int i) { return data.data () + info.offset[i]; }

  /* Repeats the last column and row of each plane into the padding. */
  void pad_edges ();
};

struct ConverterFree {
  void operator() (GstVideoConverter *c) const { gst_video_converter_free (c); }
};
using ConverterPtr = std::unique_ptr<GstVideoConverter, ConverterFree>;

/* A converter from in to out; null when GstVideoConverter refuses them. */
ConverterPtr make_converter (const GstVideoInfo *in, const GstVideoInfo *out);

/* Runs conv from src into dst (whose data it writes), then pads dst. */
bool convert_into (GstVideoConverter *conv, const GstVideoFrame *src,
    Image420 *dst);

}  // namespace rt::frames_internal
