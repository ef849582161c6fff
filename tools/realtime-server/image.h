/* SPDX-License-Identifier: LGPL-2.1-or-later */
// The images clients send in message items: base64 data URLs of JPEG or PNG, checked down to
// the size in pixels their headers give.
#pragma once

#include <cstddef>
#include <string>

namespace rts {

struct ImageInfo {
  std::string format;  // jpeg | png
  int width = 0, height = 0;
  size_t bytes = 0;  // decoded size
};

// Parse "data:image/jpeg;base64,..." or "data:image/png;base64,...". False, with *error set to
// a sentence for the client, unless the data is a real image of the declared format: a JPEG
// with a start-of-image marker and a start-of-frame segment giving its size, or a PNG with its
// signature and an IHDR chunk.
bool parse_image_data_url (const std::string &url, ImageInfo *info,
    std::string *error);

}  // namespace rts
