/* Still images of the user's screen or camera for the agent: which frames
 * are worth sending, and each one made into a conversation.item.create
 * event that fits the events data channel.
 *
 * The service takes images only as JPEG or PNG data URLs inside a client
 * event, and webrtcbin 1.22 silently drops a data channel message larger
 * than its limit, so the budget is the size of the whole event text, not of
 * the image: the base64 and JSON around the JPEG are counted exactly, and
 * the quality, then the size, come down until the event fits. An image
 * costs the agent tokens and the link bandwidth, so a frame that looks like
 * the last image sent is not sent again: a small luma thumbnail decides, and
 * an unchanged screen costs nothing more than that thumbnail.
 *
 * Pure engine code: GstVideo for formats and scaling, libjpeg for encoding,
 * json-glib for the event; no elements, no clock of its own (the caller
 * passes the time, so the policy is tested without waiting). For a frame
 * mapped with gst_video_frame_map:
 *
 *   if (policy.due (now_ms) &&
 *       policy.offer (now_ms, make_thumbnail (&frame)) == FrameDecision::Send) {
 *     ImageResult r = encoder.encode (&frame, settings);
 *     if (r.ok && <r.event sent on the data channel>)
 *       policy.sent ();
 *     else if (!r.ok)
 *       <warn with r.failure, count a skipped frame>
 *   }
 */
#pragma once

#include "answer.h"

#include <gst/video/video.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace rt {

/* ---- Change detection ---- */

/* The longest side of a thumbnail, in cells (fewer for smaller frames).
 * A cell is the mean luma of its patch of the frame: 15x15 pixels of a
 * 1080p screen, about one character of text, so that replacing text with
 * other text of the same density still moves the cells it covers (at 32
 * cells a patch holds some twenty characters, whose mean hardly moves:
 * a window's text all rewritten changed no cell at all). Making one costs
 * about 2 ms of CPU at 1080p, 9 ms at 4K (docs/benchmarks.md). */
constexpr int kThumbnailSide = 128;

/* A cell has changed when its mean luma moved by more than this (of 255).
 * Sensor and encoder noise are averaged away inside a cell (noise of
 * +-8 per pixel moves a 15x15 mean by well under 1); one character
 * replaced by another moves it by ten or more. */
constexpr int kCellDelta = 8;

struct Thumbnail {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> luma;   /* width * height cells, rows top down */

  bool empty () const { return luma.empty (); }
};

/* The thumbnail of a mapped frame of any raw format GStreamer can unpack
 * (packed 8-bit RGB and 8-bit luma planes are read directly). Keeps the
 * frame's pixel aspect; empty for a frame without pixels or a format that
 * cannot be unpacked. */
Thumbnail make_thumbnail (const GstVideoFrame *frame);

/* How different two thumbnails are, 0..1: the fraction of cells whose mean
 * luma moved by more than kCellDelta. 1 when their sizes differ or either
 * is empty.
 *
 * A fraction of changed cells rather than the mean absolute difference:
 * the mean dilutes a real but local change (new text over a few percent
 * of a screen moves the mean by a few thousandths) while adding up changes
 * that are everywhere but meaningless (a camera's exposure drifting by 3
 * levels moves it as much). Counting cells that moved visibly ignores the
 * second and sees the first by its area. On a 1080p desktop
 * (tests/frames.cpp): a blinking text cursor 0.0002, a moved mouse
 * pointer 0.0008, a clock's five characters 0.0004, noise of +-8
 * per pixel or 3 levels brighter 0; two
 * rewritten lines of text 0.011, a paragraph 0.054, a window moved by
 * 10 pixels 0.23. */
double thumbnail_difference (const Thumbnail &a, const Thumbnail &b);

struct FramePolicySettings {
  /* At most one frame offered per interval; 0: every frame is offered. */
  std::int64_t interval_ms = 2000;
  /* thumbnail_difference() from the last image sent at which a frame is
   * sent. 0.005 (46 cells of a 1080p screen's 9216) lets a line or two of
   * new text, a scrolled page or a moved window through, and leaves out a
   * blinking cursor, a moving pointer, a ticking clock and noise; small
   * changes add up against the last image sent until they count. 0: every
   * offered frame is sent. */
  double threshold = 0.005;
};

enum class FrameDecision {
  NotDue,     /* the interval since the last offer has not elapsed */
  Unchanged,  /* offered, but it looks like the last image sent */
  Send,       /* offered, and different enough (or nothing was sent yet) */
};

const char *frame_decision_name (FrameDecision decision);

/* When a frame is offered and whether it is worth sending. The caller owns
 * the clock: every call takes a monotonic time in milliseconds. */
class FramePolicy {
 public:
  explicit FramePolicy (FramePolicySettings settings = {});

  /* Takes effect from the next call; threshold is clamped to 0..1. */
  void set_settings (FramePolicySettings settings);
  const FramePolicySettings &settings () const { return settings_; }

  /* Whether a frame arriving at now_ms is to be offered: the first one,
   * then one per interval (a time before the last offer, a clock that
   * started again, counts as due). Cheap: ask before making a thumbnail. */
  bool due (std::int64_t now_ms) const;

  /* Offers the frame that thumbnail was made of: when due, the interval
   * starts again from now_ms and the answer says whether to send it.
   * Returns NotDue (and records nothing) when not due. */
  FrameDecision offer (std::int64_t now_ms, Thumbnail thumbnail);

  /* The frame of the last Send went out: later frames are compared to it.
   * A frame that was not sent (encoding failed, the channel was closed)
   * leaves the reference as it was, so the next offer tries again. */
  void sent ();

  /* A new call has seen no image: the next frame is due at once and sent
   * whatever it shows. */
  void forget ();

  /* The difference measured by the last offer that was due (1 when there
   * was nothing to compare with). */
  double last_difference () const { return last_difference_; }

 private:
  FramePolicySettings settings_;
  bool offered_ = false;
  std::int64_t last_offer_ms_ = 0;
  Thumbnail reference_;   /* the last image sent; empty: none */
  Thumbnail pending_;     /* the last frame decided Send, until sent() */
  double last_difference_ = 1.0;
};

/* ---- Images as events ---- */

enum class ImageDetail { Auto, Low, High };

/* "auto", "low", "high": the input_image's detail. */
const char *image_detail_name (ImageDetail detail);

/* The JPEG qualities tried, best first; then the size comes down by
 * kImageSizeStep per step, the longest side to no less than
 * ImageSettings::min_size, each size starting again from the best quality. */
inline constexpr int kJpegQualities[] = { 85, 70, 55, 40, 30, 20 };
constexpr double kImageSizeStep = 0.75;

enum class ImageSearch {
  /* The ladder's choice with few encodes: each next encode is the step the
   * bytes measured so far predict to be the first that fits, between
   * bounds known to fail and to fit. 1 encode when the best quality fits,
   * 2-3 when the quality must come down, 5-7 when the size must too. */
  Estimate,
  /* Every step in order until one fits (up to 6 encodes per size): the
   * reference the estimate is measured and tested against. */
  Ladder,
};

struct ImageSettings {
  /* Longest side of the image, in square pixels; a smaller frame is never
   * scaled up. */
  int max_size = 1024;
  /* The size budget never shrinks the longest side below this (nor a frame
   * that is already smaller). */
  int min_size = 256;
  /* The whole event text must fit: the data channel's limit, or the
   * peer's smaller a=max-message-size. */
  std::size_t max_message_bytes = kMaxDataChannelMessage;
  ImageDetail detail = ImageDetail::Auto;
  /* The event's event_id (UTF-8, at most 512 characters); empty: none. */
  std::string event_id;
  ImageSearch search = ImageSearch::Estimate;
};

struct ImageResult {
  bool ok = false;
  /* The conversation.item.create event text, ready for the data channel;
   * its size is message_bytes, at most ImageSettings::max_message_bytes. */
  std::string event;
  std::size_t message_bytes = 0;
  std::size_t jpeg_bytes = 0;
  /* The image sent, or the last one tried when the budget was not met. */
  int width = 0;
  int height = 0;
  int quality = 0;
  /* JPEG encodes made (each a full compression of the image). */
  int attempts = 0;
  /* When !ok: why, one sentence fragment in plain words. */
  std::string failure;
};

/* The exact size of the event for a JPEG of jpeg_bytes bytes. */
std::size_t image_event_bytes (std::size_t jpeg_bytes,
    const ImageSettings &settings);

/* The largest JPEG, in bytes, whose event fits settings.max_message_bytes;
 * 0 when not even an empty image fits. */
std::size_t max_jpeg_bytes (const ImageSettings &settings);

/* The conversation.item.create event carrying this JPEG as a data URL. */
std::string build_image_event (const std::uint8_t *jpeg, std::size_t size,
    const ImageSettings &settings);

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
  ImageResult encode (const GstVideoFrame *frame, const ImageSettings &settings);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rt
