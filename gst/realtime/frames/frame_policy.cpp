/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "frames/frame_policy.h"

#include <algorithm>

namespace rt {

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
  if (!(settings.threshold >= 0.0)) /* NaN too */
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
  last_difference_ = reference_.empty () ?
      1.0 :
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

}  // namespace rt
