/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small json-glib helpers the engine's codecs share: typed member access
 * that never warns on a wrong type (server events are untrusted), and the
 * text of a finished builder. */
#pragma once

#include <json-glib/json-glib.h>

#include <cstdint>
#include <string>

namespace rt::json {

/* The member's string, or "" when absent or not a string. */
inline std::string string_member (JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member (o, name) : nullptr;
  if (!n || !JSON_NODE_HOLDS_VALUE (n) ||
      json_node_get_value_type (n) != G_TYPE_STRING)
    return {};
  return json_node_get_string (n);
}

/* The member's integer, or 0 when absent or not an integer. */
inline std::int64_t int_member (JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member (o, name) : nullptr;
  if (!n || !JSON_NODE_HOLDS_VALUE (n) ||
      json_node_get_value_type (n) != G_TYPE_INT64)
    return 0;
  return json_node_get_int (n);
}

/* The member's object, or nullptr. */
inline JsonObject *object_member (JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member (o, name) : nullptr;
  return n && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : nullptr;
}

/* The builder's document as compact text; takes the builder's reference. */
inline std::string finish (JsonBuilder *b)
{
  JsonNode *root = json_builder_get_root (b);
  gchar *text = json_to_string (root, FALSE);
  std::string out (text);
  g_free (text);
  json_node_unref (root);
  g_object_unref (b);
  return out;
}

inline void set_string (JsonBuilder *b, const char *name, const std::string &v)
{
  json_builder_set_member_name (b, name);
  json_builder_add_string_value (b, v.c_str ());
}

}  // namespace rt::json
