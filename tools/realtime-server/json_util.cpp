/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "json_util.h"

#include <cstring>
#include <random>

namespace rts {

std::string random_hex (size_t bytes)
{
  static const char digits[] = "0123456789abcdef";
  std::random_device rd;  // getrandom() on Linux: fine for secrets.
  std::string out;
  out.reserve (bytes * 2);
  for (size_t i = 0; i < bytes; i++) {
    unsigned v = rd () & 0xff;
    out += digits[v >> 4];
    out += digits[v & 0xf];
  }
  return out;
}

std::string make_id (const char *prefix)
{
  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  // Ids need to be unique, not secret: a seeded fast generator is enough.
  static std::mt19937 gen { std::random_device {}() };
  std::string out = std::string (prefix) + "_";
  std::uniform_int_distribution<size_t> pick (0, sizeof (alphabet) - 2);
  for (int i = 0; i < 22; i++)
    out += alphabet[pick (gen)];
  return out;
}

JsonNode *parse_json (const std::string &text, std::string *error)
{
  JsonParser *parser = json_parser_new ();
  GError *err = nullptr;
  JsonNode *result = nullptr;
  if (json_parser_load_from_data (parser, text.data (),
          static_cast<gssize> (text.size ()), &err)) {
    JsonNode *root = json_parser_get_root (parser);
    if (root)
      result = json_node_copy (root);
    else if (error)
      *error = "empty document";
  } else {
    if (error)
      *error = err->message;
    g_error_free (err);
  }
  g_object_unref (parser);
  return result;
}

JsonObject *parse_json_object (const std::string &text, std::string *error)
{
  JsonNode *node = parse_json (text, error);
  if (!node)
    return nullptr;
  JsonObject *obj = nullptr;
  if (JSON_NODE_HOLDS_OBJECT (node))
    obj = json_object_ref (json_node_get_object (node));
  else if (error)
    *error = "expected a JSON object";
  json_node_unref (node);
  return obj;
}

std::string to_json (JsonNode *node)
{
  JsonGenerator *gen = json_generator_new ();
  json_generator_set_root (gen, node);
  gchar *text = json_generator_to_data (gen, nullptr);
  std::string out (text);
  g_free (text);
  g_object_unref (gen);
  return out;
}

std::string to_json (JsonObject *object)
{
  JsonNode *node = json_node_init_object (json_node_alloc (), object);
  std::string out = to_json (node);
  json_node_unref (node);
  return out;
}

JsonNode *deep_copy (JsonNode *node)
{
  if (JSON_NODE_HOLDS_OBJECT (node)) {
    JsonObject *copy = copy_object (json_node_get_object (node));
    JsonNode *out = json_node_init_object (json_node_alloc (), copy);
    json_object_unref (copy);
    return out;
  }
  if (JSON_NODE_HOLDS_ARRAY (node)) {
    JsonArray *array = json_node_get_array (node);
    JsonArray *copy = json_array_sized_new (json_array_get_length (array));
    for (guint i = 0; i < json_array_get_length (array); i++)
      json_array_add_element (copy,
          deep_copy (json_array_get_element (array, i)));
    JsonNode *out = json_node_init_array (json_node_alloc (), copy);
    json_array_unref (copy);
    return out;
  }
  return json_node_copy (node);  // values and null: nothing shared
}

JsonObject *copy_object (JsonObject *object)
{
  JsonObject *out = json_object_new ();
  // get_members keeps the members' order, so copies serialise like their originals.
  GList *names = json_object_get_members (object);
  for (GList *l = names; l; l = l->next) {
    const char *name = static_cast<const char *> (l->data);
    json_object_set_member (out, name,
        deep_copy (json_object_get_member (object, name)));
  }
  g_list_free (names);
  return out;
}

std::string string_or (JsonObject *obj, const char *member,
    const std::string &fallback)
{
  return has_member_of_type (obj, member, JSON_NODE_VALUE) &&
          json_node_get_value_type (json_object_get_member (obj, member)) ==
              G_TYPE_STRING ?
      rt::json::string_member (obj, member) :
      fallback;
}

bool has_member_of_type (JsonObject *obj, const char *member, JsonNodeType type)
{
  if (!obj)
    return false;
  JsonNode *node = json_object_get_member (obj, member);
  return node && JSON_NODE_TYPE (node) == type;
}

double get_number (JsonObject *obj, const char *member, double fallback)
{
  if (!obj)
    return fallback;
  JsonNode *node = json_object_get_member (obj, member);
  if (!node || !JSON_NODE_HOLDS_VALUE (node))
    return fallback;
  GType t = json_node_get_value_type (node);
  if (t == G_TYPE_INT64)
    return static_cast<double> (json_node_get_int (node));
  if (t == G_TYPE_DOUBLE)
    return json_node_get_double (node);
  return fallback;
}

bool get_bool (JsonObject *obj, const char *member, bool fallback)
{
  if (!obj)
    return fallback;
  JsonNode *node = json_object_get_member (obj, member);
  if (node && JSON_NODE_HOLDS_VALUE (node) &&
      json_node_get_value_type (node) == G_TYPE_BOOLEAN)
    return json_node_get_boolean (node);
  return fallback;
}

std::string error_body (const std::string &message, const std::string &type,
    const char *code, const char *param)
{
  JsonObject *err = json_object_new ();
  json_object_set_string_member (err, "message", message.c_str ());
  json_object_set_string_member (err, "type", type.c_str ());
  if (code)
    json_object_set_string_member (err, "code", code);
  else
    json_object_set_null_member (err, "code");
  if (param)
    json_object_set_string_member (err, "param", param);
  else
    json_object_set_null_member (err, "param");
  JsonObject *root = json_object_new ();
  json_object_set_object_member (root, "error", err);
  std::string out = to_json (root);
  json_object_unref (root);
  return out;
}

JsonNode *json_literal (const char *text)
{
  std::string error;
  JsonNode *node = parse_json (text, &error);
  g_assert (node != nullptr);
  return node;
}

}  // namespace rts
