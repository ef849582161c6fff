/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "image.h"

#include <glib.h>

#include <cstring>

namespace rts {

namespace {

// Strict base64: the alphabet, '=' padding only at the end, whole quanta. g_base64_decode()
// skips anything it does not know, which would let garbage through.
bool valid_base64 (const char *data, size_t size)
{
  if (size == 0 || size % 4 != 0)
    return false;
  size_t padding = 0;
  while (padding < 2 && data[size - 1 - padding] == '=')
    padding++;
  for (size_t i = 0; i < size - padding; i++) {
    char c = data[i];
    if (!g_ascii_isalnum (c) && c != '+' && c != '/')
      return false;
  }
  return true;
}

guint32 read_be32 (const guint8 *p)
{
  return guint32 (p[0]) << 24 | guint32 (p[1]) << 16 | guint32 (p[2]) << 8 |
      p[3];
}

bool is_sof (guint8 marker)
{
  // SOF0..SOF15 less DHT (C4), JPG (C8) and DAC (CC), which share the range.
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 &&
      marker != 0xCC;
}

bool parse_jpeg (const guint8 *d, size_t size, ImageInfo *info,
    std::string *error)
{
  if (size < 4 || d[0] != 0xFF || d[1] != 0xD8) {
    *error = "the data is not a JPEG image (no start-of-image marker).";
    return false;
  }
  size_t pos = 2;
  while (pos < size) {
    if (d[pos] != 0xFF)
      break;  // segments must follow each other
    while (pos < size && d[pos] == 0xFF)
      pos++;  // fill bytes
    if (pos >= size)
      break;
    guint8 marker = d[pos++];
    if (marker == 0x01 || marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7))
      continue;
    if (marker == 0xD9 || marker == 0xDA)
      break;  // end of image, or scan data: no frame header
    if (pos + 2 > size)
      break;
    size_t length = size_t (d[pos]) << 8 | d[pos + 1];
    if (length < 2)
      break;
    if (is_sof (marker)) {
      if (length < 8 || pos + 7 > size)
        break;
      int height = d[pos + 3] << 8 | d[pos + 4];
      int width = d[pos + 5] << 8 | d[pos + 6];
      if (width == 0 || height == 0) {
        *error = "the JPEG image has no size in its start-of-frame segment.";
        return false;
      }
      info->format = "jpeg";
      info->width = width;
      info->height = height;
      return true;
    }
    pos += length;
  }
  *error = "the data is not a valid JPEG image (no start-of-frame segment).";
  return false;
}

bool parse_png (const guint8 *d, size_t size, ImageInfo *info,
    std::string *error)
{
  static const guint8 kSignature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A,
    '\n' };
  if (size < 8 || memcmp (d, kSignature, 8) != 0) {
    *error = "the data is not a PNG image (no PNG signature).";
    return false;
  }
  // The IHDR chunk comes first: length 13, type, width, height, five bytes of format, CRC.
  if (size < 8 + 8 + 13 + 4 || read_be32 (d + 8) != 13 ||
      memcmp (d + 12, "IHDR", 4) != 0) {
    *error = "the data is not a valid PNG image (no IHDR chunk).";
    return false;
  }
  guint32 width = read_be32 (d + 16), height = read_be32 (d + 20);
  if (width == 0 || height == 0 || width > G_MAXINT32 || height > G_MAXINT32) {
    *error = "the PNG image has an invalid size in its IHDR chunk.";
    return false;
  }
  info->format = "png";
  info->width = static_cast<int> (width);
  info->height = static_cast<int> (height);
  return true;
}

}  // namespace

bool parse_image_data_url (const std::string &url, ImageInfo *info,
    std::string *error)
{
  static const char *const kPrefixes[] = { "data:image/jpeg;base64,",
    "data:image/png;base64," };
  const char *format = nullptr;
  size_t prefix = 0;
  for (const char *p : kPrefixes) {
    // MIME types are case-insensitive.
    if (g_ascii_strncasecmp (url.c_str (), p, strlen (p)) == 0) {
      format = strstr (p, "jpeg") ? "jpeg" : "png";
      prefix = strlen (p);
    }
  }
  if (!format) {
    *error =
        "expected a base64-encoded data URL with an image/jpeg or image/png MIME type "
        "('data:image/png;base64,...').";
    return false;
  }
  const char *data = url.c_str () + prefix;
  size_t size = url.size () - prefix;
  if (!valid_base64 (data, size)) {
    *error = "the data URL does not hold valid base64.";
    return false;
  }
  gsize decoded_size = 0;
  guchar *decoded = g_base64_decode (data, &decoded_size);
  ImageInfo out;
  out.bytes = decoded_size;
  bool ok = strcmp (format, "jpeg") == 0 ?
      parse_jpeg (decoded, decoded_size, &out, error) :
      parse_png (decoded, decoded_size, &out, error);
  g_free (decoded);
  if (ok)
    *info = out;
  return ok;
}

}  // namespace rts
