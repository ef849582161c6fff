/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Silence in place of audio: what a muted sender sends, so that the far
 * end's clock, turn detection and media timeouts see a stream that goes
 * on. */
#pragma once

#include <gst/gst.h>

namespace rt {

/* A new buffer of zeros, the size and metadata (timestamps, duration) of
 * buffer's. */
inline GstBuffer *silence_like (GstBuffer *buffer)
{
  const gsize size = gst_buffer_get_size (buffer);
  GstBuffer *silence = gst_buffer_new_allocate (nullptr, size, nullptr);
  gst_buffer_memset (silence, 0, 0, size);
  gst_buffer_copy_into (silence, buffer, GST_BUFFER_COPY_METADATA, 0, -1);
  return silence;
}

}  // namespace rt
