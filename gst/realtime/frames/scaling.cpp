/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "frames/scaling.h"

#include <cstring>

namespace rt::frames_internal {

void Image420::resize (int w, int h, const GstVideoInfo *like)
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

void Image420::pad_edges ()
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
          base + static_cast<std::size_t> (h - 1) * pw,
          static_cast<std::size_t> (pw));
  }
}

ConverterPtr make_converter (const GstVideoInfo *in, const GstVideoInfo *out)
{
  /* Default (cubic) resampling: text stays legible for the model. One
   * thread: images are not urgent and the pipeline has other work. */
  GstStructure *options = gst_structure_new ("options",
      GST_VIDEO_CONVERTER_OPT_DITHER_METHOD, GST_TYPE_VIDEO_DITHER_METHOD,
      GST_VIDEO_DITHER_NONE, GST_VIDEO_CONVERTER_OPT_THREADS, G_TYPE_UINT, 1u,
      nullptr);
  /* The converter insists that what scaling leaves alone matches: a live
   * source's frame rate and interlacing. */
  GstVideoInfo o = *out;
  o.fps_n = in->fps_n;
  o.fps_d = in->fps_d;
  o.interlace_mode = in->interlace_mode;
  return ConverterPtr (
      gst_video_converter_new (const_cast<GstVideoInfo *> (in), &o, options));
}

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

}  // namespace rt::frames_internal
