/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "frames/image_event.h"

#include "core/json_util.h"

#include <json-glib/json-glib.h>

namespace rt {

const char *image_detail_name (ImageDetail detail)
{
  switch (detail) {
    case ImageDetail::Auto: return "auto";
    case ImageDetail::Low: return "low";
    case ImageDetail::High: return "high";
  }
  return "auto";
}

namespace {

constexpr char kDataUrlPrefix[] = "data:image/jpeg;base64,";

/* json-glib writes the base64 alphabet (A-Z a-z 0-9 + / =) as it is, so
 * the event with an empty data URL plus the base64 length is the exact
 * size of the event with the image (build_image_event checks it). */
std::string event_json (const std::string &data_url, const ImageSettings &s)
{
  JsonBuilder *b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "conversation.item.create");
  if (!s.event_id.empty ()) {
    json_builder_set_member_name (b, "event_id");
    json_builder_add_string_value (b, s.event_id.c_str ());
  }
  json_builder_set_member_name (b, "item");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "message");
  json_builder_set_member_name (b, "role");
  json_builder_add_string_value (b, "user");
  json_builder_set_member_name (b, "content");
  json_builder_begin_array (b);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "input_image");
  json_builder_set_member_name (b, "image_url");
  json_builder_add_string_value (b, data_url.c_str ());
  json_builder_set_member_name (b, "detail");
  json_builder_add_string_value (b, image_detail_name (s.detail));
  json_builder_end_object (b);
  json_builder_end_array (b);
  json_builder_end_object (b);
  json_builder_end_object (b);
  return json::finish (b);
}

std::size_t base64_bytes (std::size_t n)
{
  return (n + 2) / 3 * 4;
}

}  // namespace

std::size_t image_event_bytes (std::size_t jpeg_bytes,
    const ImageSettings &settings)
{
  return event_json (kDataUrlPrefix, settings).size () +
      base64_bytes (jpeg_bytes);
}

std::size_t max_jpeg_bytes (const ImageSettings &settings)
{
  const std::size_t empty = image_event_bytes (0, settings);
  if (settings.max_message_bytes <= empty)
    return 0;
  /* Every 3 bytes of JPEG take 4 characters (the last group padded). */
  return (settings.max_message_bytes - empty) / 4 * 3;
}

std::string build_image_event (const std::uint8_t *jpeg, std::size_t size,
    const ImageSettings &settings)
{
  gchar *b64 = g_base64_encode (jpeg, size);
  std::string url = kDataUrlPrefix;
  url += b64;
  g_free (b64);
  return event_json (url, settings);
}

}  // namespace rt
