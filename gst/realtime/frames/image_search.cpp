/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "frames/image_search.h"

#include "frames/jpeg.h"

#include <algorithm>
#include <cmath>

namespace rt::frames_internal {

Search::Search (const GstVideoFrame *frame, const ImageSettings &settings,
    std::size_t budget, ConverterPtr *conv, GstVideoInfo *conv_in,
    Image420 *first, Image420 *smaller, ImageResult *result)
    : frame_ (frame), budget_ (budget), conv_ (conv), conv_in_ (conv_in),
      first_ (first), smaller_ (smaller), r_ (result)
{
  /* The frame's own size in square pixels, never more than max_size,
   * then kImageSizeStep smaller each step down to min_size. */
  const GstVideoInfo *in = &frame->info;
  int par_n = GST_VIDEO_INFO_PAR_N (in), par_d = GST_VIDEO_INFO_PAR_D (in);
  if (par_n <= 0 || par_d <= 0)
    par_n = par_d = 1;
  display_w_ = static_cast<double> (GST_VIDEO_INFO_WIDTH (in)) * par_n / par_d;
  display_h_ = GST_VIDEO_INFO_HEIGHT (in);
  const int own = std::max (1,
      static_cast<int> (std::lround (std::max (display_w_, display_h_))));
  int side = std::min (own, std::max (1, settings.max_size));
  const int smallest = std::min (side, std::max (1, settings.min_size));
  sides_.push_back (side);
  while (side > smallest) {
    side = std::max (smallest, static_cast<int> (side * kImageSizeStep));
    sides_.push_back (side);
  }
  measured_.resize (sides_.size ());
}

double Search::area (int s) const
{
  int w, h;
  dimensions (s, &w, &h);
  return static_cast<double> (w) * h;
}

void Search::dimensions (int s, int *w, int *h) const
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

int Search::attempt (int s, int q)
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

bool Search::ladder ()
{
  for (int s = 0; s < n_sizes (); s++)
    for (int q = 0; q < n_qualities (); q++) {
      const int fits = attempt (s, q);
      if (fits != 0)
        return fits > 0;
    }
  return false;
}

bool Search::estimate ()
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

int Search::quality_boundary (int s, int lo, int hi)
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

bool Search::measured (int s) const
{
  for (double b : measured_[static_cast<std::size_t> (s)])
    if (b > 0)
      return true;
  return false;
}

double Search::quant_scale (int q)
{
  const int quality = kJpegQualities[q];
  return quality < 50 ? 5000.0 / quality : 200.0 - 2.0 * quality;
}

void Search::learn_exponent (int s)
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

double Search::predict (int s, int q) const
{
  const auto &m = measured_[static_cast<std::size_t> (s)];
  if (m[static_cast<std::size_t> (q)] > 0)
    return m[static_cast<std::size_t> (q)];
  int above = -1, below = -1; /* better and worse qualities measured */
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

Image420 *Search::image (int s)
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

}  // namespace rt::frames_internal
