/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What an image is asked to be (size, budget, detail, the search) and what
 * comes back: shared by the event builder (image_event.h) and the encoder
 * (image_encoder.h). */
#pragma once

#include "openai/answer.h"

#include <cstddef>
#include <string>

namespace rt {

enum class ImageDetail { Auto, Low, High };

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

}  // namespace rt
