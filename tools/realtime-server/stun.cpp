/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "stun.h"

namespace rts {

namespace {
constexpr size_t kHeaderSize = 20;
constexpr uint32_t kMagicCookie = 0x2112A442;
constexpr uint16_t kUseCandidate = 0x0025;
constexpr uint16_t kIceControlled = 0x8029;
constexpr uint16_t kIceControlling = 0x802A;

uint16_t read16 (const uint8_t *p)
{
  return static_cast<uint16_t> ((p[0] << 8) | p[1]);
}

uint32_t read32 (const uint8_t *p)
{
  return (static_cast<uint32_t> (p[0]) << 24) |
      (static_cast<uint32_t> (p[1]) << 16) |
      (static_cast<uint32_t> (p[2]) << 8) | p[3];
}
}  // namespace

bool parse_stun (const uint8_t *data, size_t size, StunInfo *info)
{
  if (!data || size < kHeaderSize)
    return false;
  // The two top bits of a STUN message are zero (RFC 7983 demultiplexing: 0..3).
  if ((data[0] & 0xC0) != 0)
    return false;
  if (read32 (data + 4) != kMagicCookie)
    return false;
  const size_t length = read16 (data + 2);
  if (length % 4 != 0 || kHeaderSize + length > size)
    return false;
  StunInfo out;
  out.type = read16 (data);
  const uint8_t *p = data + kHeaderSize;
  const uint8_t *end = p + length;
  while (p < end) {
    if (end - p < 4)
      return false;
    const uint16_t attr = read16 (p);
    const size_t attr_len = read16 (p + 2);
    const size_t padded = (attr_len + 3) & ~static_cast<size_t> (3);
    p += 4;
    if (static_cast<size_t> (end - p) < padded)
      return false;
    if (attr == kUseCandidate)
      out.use_candidate = true;
    if (attr == kIceControlling)
      out.controlling = true;
    if (attr == kIceControlled)
      out.controlled = true;
    p += padded;
  }
  *info = out;
  return true;
}

}  // namespace rts
