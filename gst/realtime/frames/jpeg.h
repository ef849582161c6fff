/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One libjpeg encode of a 4:2:0 image at one quality. Internal to
 * frames/. */
#pragma once

#include "frames/scaling.h"

#include <cstdint>
#include <string>
#include <vector>

namespace rt::frames_internal {

/* One encode of the image at one quality: the JPEG, or an error. */
struct Encoded {
  bool ok = false;
  std::vector<std::uint8_t> jpeg;
  std::string error;
};

/* libjpeg errors come back as an error, never as an exit. */
Encoded encode_jpeg (Image420 *img, int quality);

}  // namespace rt::frames_internal
