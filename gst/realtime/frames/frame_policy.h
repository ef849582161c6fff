/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* When a frame is offered and whether it is worth sending: an interval
 * between offers, and a threshold on the thumbnail difference from the
 * last image sent. */
#pragma once

#include "frames/thumbnail.h"

#include <cstdint>

namespace rt {

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
  NotDue,    /* the interval since the last offer has not elapsed */
  Unchanged, /* offered, but it looks like the last image sent */
  Send,      /* offered, and different enough (or nothing was sent yet) */
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
  Thumbnail reference_; /* the last image sent; empty: none */
  Thumbnail pending_;   /* the last frame decided Send, until sent() */
  double last_difference_ = 1.0;
};

}  // namespace rt
