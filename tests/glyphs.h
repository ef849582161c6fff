/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Glyph-like shapes for synthetic screens (tests/frames.cpp and the
 * still-image benchmark): text for JPEG and change detection without a
 * font. */
#pragma once

#include <algorithm>
#include <random>
#include <vector>

namespace test {

/* 64 shapes of 8x14 pixels, 2-4 strokes each, the same every run. */
inline const std::vector<std::vector<bool>> &glyphs ()
{
  static const std::vector<std::vector<bool>> set = [] {
    std::vector<std::vector<bool>> out;
    std::mt19937 rng (7);
    for (int i = 0; i < 64; i++) {
      std::vector<bool> g (8 * 14, false);
      const int strokes = 2 + rng () % 3;
      for (int s = 0; s < strokes; s++) {
        if (rng () % 2) {
          const int x = 1 + rng () % 6, y0 = 2 + rng () % 5;
          const int y1 = std::min (13, y0 + 4 + static_cast<int> (rng () % 6));
          for (int y = y0; y < y1; y++)
            g[y * 8 + x] = g[y * 8 + x + 1] = true;
        } else {
          const int y = 2 + rng () % 10, x0 = 1 + rng () % 3;
          const int x1 = std::min (8, x0 + 3 + static_cast<int> (rng () % 4));
          for (int x = x0; x < x1; x++)
            g[y * 8 + x] = g[(y + 1) * 8 + x] = true;
        }
      }
      out.push_back (g);
    }
    return out;
  }();
  return set;
}

}  // namespace test
