/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Change detection: a small luma thumbnail of a frame, and how different
 * two of them are. An unchanged screen costs nothing more than its
 * thumbnail; the policy (frame_policy.h) decides with it. */
#pragma once

#include <gst/video/video.h>

#include <cstdint>
#include <vector>

namespace rt {

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
  std::vector<std::uint8_t> luma; /* width * height cells, rows top down */

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

}  // namespace rt
