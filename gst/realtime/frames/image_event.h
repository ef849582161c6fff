/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The conversation.item.create event that carries a JPEG as a data URL,
 * and its exact size before it is built, so that the encoder can aim the
 * JPEG at the bytes the data channel message leaves for it. */
#pragma once

#include "frames/image_settings.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace rt {

/* "auto", "low", "high": the input_image's detail. */
const char *image_detail_name (ImageDetail detail);

/* The exact size of the event for a JPEG of jpeg_bytes bytes. */
std::size_t image_event_bytes (std::size_t jpeg_bytes,
    const ImageSettings &settings);

/* The largest JPEG, in bytes, whose event fits settings.max_message_bytes;
 * 0 when not even an empty image fits. */
std::size_t max_jpeg_bytes (const ImageSettings &settings);

/* The conversation.item.create event carrying this JPEG as a data URL. */
std::string build_image_event (const std::uint8_t *jpeg, std::size_t size,
    const ImageSettings &settings);

}  // namespace rt
