/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Frames made into image events within the message budget. */
#pragma once

#include "frames/image_settings.h"

#include <gst/video/video.h>

#include <memory>

namespace rt {

/* Makes events out of frames: scaled to fit max_size, converted to
 * full-range BT.601 YCbCr 4:2:0 (what JPEG carries), encoded with libjpeg
 * and fitted to the budget. Keeps its scaler between frames of the same
 * format and size. One thread at a time. */
class ImageEncoder {
 public:
  ImageEncoder ();
  ~ImageEncoder ();
  ImageEncoder (const ImageEncoder &) = delete;
  ImageEncoder &operator= (const ImageEncoder &) = delete;

  /* frame: mapped for reading, any raw format GstVideoConverter takes. */
  ImageResult encode (const GstVideoFrame *frame,
      const ImageSettings &settings);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rt
