/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "frames/image_encoder.h"

#include "frames/image_event.h"
#include "frames/image_search.h"

#include <glib.h>

#include <string>

namespace rt {

using frames_internal::ConverterPtr;
using frames_internal::Image420;
using frames_internal::Search;

struct ImageEncoder::Impl {
  /* The scaler from the last frame format to the first size, and the
   * images it and the smaller sizes are made into. */
  GstVideoInfo conv_in;
  ConverterPtr conv;
  Image420 first;
  Image420 smaller;
};

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
  if (!g_utf8_validate (id.data (), static_cast<gssize> (id.size ()),
          nullptr) ||
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
      search.ladder () :
      search.estimate ();
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
