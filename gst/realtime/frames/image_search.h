/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The search for the best image that fits the budget: which sizes and
 * qualities to encode, in the ladder's order or guided by the bytes
 * measured so far (ImageSearch). Internal to frames/: ImageEncoder runs one
 * Search per frame. */
#pragma once

#include "frames/image_settings.h"
#include "frames/scaling.h"

#include <gst/video/video.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace rt::frames_internal {

/* One frame's way to its event: the sizes to try, the images made so far,
 * the encodes, the best that fit. */
class Search {
 public:
  Search (const GstVideoFrame *frame, const ImageSettings &settings,
      std::size_t budget, ConverterPtr *conv, GstVideoInfo *conv_in,
      Image420 *first, Image420 *smaller, ImageResult *result);

  int n_sizes () const { return static_cast<int> (sides_.size ()); }
  static constexpr int n_qualities ()
  {
    return static_cast<int> (G_N_ELEMENTS (kJpegQualities));
  }

  double area (int s) const;

  /* The image size at size index s. */
  void dimensions (int s, int *w, int *h) const;

  /* One encode at size s, quality index q: 1 fits, 0 too large, -1 an
   * error (in error()). bytes_ is then the JPEG's size. */
  int attempt (int s, int q);

  /* Every step in order until one fits. */
  bool ladder ();

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
  bool estimate ();

  const std::string &error () const { return error_; }
  std::size_t last_bytes () const { return bytes_; }
  int best_size () const { return best_s_; }
  int best_quality () const { return best_q_; }
  const std::vector<std::uint8_t> &best () const { return best_; }

 private:
  /* The first quality index in [lo, hi] that fits at size s, given that
   * those before lo do not and hi does (hi == n_qualities (): nothing
   * known to fit); n_qualities () when none does, -1 on an error. */
  int quality_boundary (int s, int lo, int hi);

  bool measured (int s) const;

  /* libjpeg's quantizer scaling for a quality (jpeg_quality_scaling). */
  static double quant_scale (int q);

  /* JPEG bytes go roughly as quant_scale^-exponent: about 0.45 for screens,
   * 0.9 for noise. Learned from the widest pair measured at one size. */
  void learn_exponent (int s);

  /* The predicted bytes at (s, q): between two measured qualities of size
   * s, interpolated on that curve; beyond them, from the nearest one with
   * the exponent learned. Nothing measured at s: never fits. */
  double predict (int s, int q) const;

  /* The image at size index s: the first is scaled from the frame by a
   * converter kept between frames; smaller ones from the first image,
   * which is far cheaper than from a 4K frame again and looks the same. */
  Image420 *image (int s);

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

}  // namespace rt::frames_internal
