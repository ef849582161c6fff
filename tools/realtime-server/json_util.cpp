#include "json_util.h"

#include <cstring>
#include <random>

namespace rts {

std::string random_hex(size_t bytes) {
  static const char digits[] = "0123456789abcdef";
  std::random_device rd;  // getrandom() on Linux: fine for secrets.
  std::string out;
  out.reserve(bytes * 2);
  for (size_t i = 0; i < bytes; i++) {
    unsigned v = rd() & 0xff;
    out += digits[v >> 4];
    out += digits[v & 0xf];
  }
  return out;
}

std::string make_id(const char *prefix) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  // Ids need to be unique, not secret: a seeded fast generator is enough.
  static std::mt19937 gen{std::random_device{}()};
  std::string out = std::string(prefix) + "_";
  std::uniform_int_distribution<size_t> pick(0, sizeof(alphabet) - 2);
  for (int i = 0; i < 22; i++) out += alphabet[pick(gen)];
  return out;
}

JsonNode *parse_json(const std::string &text, std::string *error) {
  JsonParser *parser = json_parser_new();
  GError *err = nullptr;
  JsonNode *result = nullptr;
  if (json_parser_load_from_data(parser, text.data(), static_cast<gssize>(text.size()), &err)) {
    JsonNode *root = json_parser_get_root(parser);
    if (root)
      result = json_node_copy(root);
    else if (error)
      *error = "empty document";
  } else {
    if (error) *error = err->message;
    g_error_free(err);
  }
  g_object_unref(parser);
  return result;
}

JsonObject *parse_json_object(const std::string &text, std::string *error) {
  JsonNode *node = parse_json(text, error);
  if (!node) return nullptr;
  JsonObject *obj = nullptr;
  if (JSON_NODE_HOLDS_OBJECT(node))
    obj = json_object_ref(json_node_get_object(node));
  else if (error)
    *error = "expected a JSON object";
  json_node_unref(node);
  return obj;
}

std::string to_json(JsonNode *node) {
  JsonGenerator *gen = json_generator_new();
  json_generator_set_root(gen, node);
  gchar *text = json_generator_to_data(gen, nullptr);
  std::string out(text);
  g_free(text);
  g_object_unref(gen);
  return out;
}

std::string to_json(JsonObject *object) {
  JsonNode *node = json_node_init_object(json_node_alloc(), object);
  std::string out = to_json(node);
  json_node_unref(node);
  return out;
}

JsonNode *deep_copy(JsonNode *node) {
  if (JSON_NODE_HOLDS_OBJECT(node)) {
    JsonObject *copy = copy_object(json_node_get_object(node));
    JsonNode *out = json_node_init_object(json_node_alloc(), copy);
    json_object_unref(copy);
    return out;
  }
  if (JSON_NODE_HOLDS_ARRAY(node)) {
    JsonArray *array = json_node_get_array(node);
    JsonArray *copy = json_array_sized_new(json_array_get_length(array));
    for (guint i = 0; i < json_array_get_length(array); i++)
      json_array_add_element(copy, deep_copy(json_array_get_element(array, i)));
    JsonNode *out = json_node_init_array(json_node_alloc(), copy);
    json_array_unref(copy);
    return out;
  }
  return json_node_copy(node);  // values and null: nothing shared
}

JsonObject *copy_object(JsonObject *object) {
  JsonObject *out = json_object_new();
  // get_members keeps the members' order, so copies serialise like their originals.
  GList *names = json_object_get_members(object);
  for (GList *l = names; l; l = l->next) {
    const char *name = static_cast<const char *>(l->data);
    json_object_set_member(out, name, deep_copy(json_object_get_member(object, name)));
  }
  g_list_free(names);
  return out;
}

JsonObject *get_object(JsonObject *obj, const char *member) {
  if (!obj) return nullptr;
  JsonNode *node = json_object_get_member(obj, member);
  return node && JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : nullptr;
}

std::string get_string(JsonObject *obj, const char *member, const std::string &fallback) {
  if (!obj) return fallback;
  JsonNode *node = json_object_get_member(obj, member);
  if (node && JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_STRING)
    return json_node_get_string(node);
  return fallback;
}

bool has_member_of_type(JsonObject *obj, const char *member, JsonNodeType type) {
  if (!obj) return false;
  JsonNode *node = json_object_get_member(obj, member);
  return node && JSON_NODE_TYPE(node) == type;
}

double get_number(JsonObject *obj, const char *member, double fallback) {
  if (!obj) return fallback;
  JsonNode *node = json_object_get_member(obj, member);
  if (!node || !JSON_NODE_HOLDS_VALUE(node)) return fallback;
  GType t = json_node_get_value_type(node);
  if (t == G_TYPE_INT64) return static_cast<double>(json_node_get_int(node));
  if (t == G_TYPE_DOUBLE) return json_node_get_double(node);
  return fallback;
}

bool get_bool(JsonObject *obj, const char *member, bool fallback) {
  if (!obj) return fallback;
  JsonNode *node = json_object_get_member(obj, member);
  if (node && JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_BOOLEAN)
    return json_node_get_boolean(node);
  return fallback;
}

std::string error_body(const std::string &message, const std::string &type, const char *code,
                       const char *param) {
  JsonObject *err = json_object_new();
  json_object_set_string_member(err, "message", message.c_str());
  json_object_set_string_member(err, "type", type.c_str());
  if (code)
    json_object_set_string_member(err, "code", code);
  else
    json_object_set_null_member(err, "code");
  if (param)
    json_object_set_string_member(err, "param", param);
  else
    json_object_set_null_member(err, "param");
  JsonObject *root = json_object_new();
  json_object_set_object_member(root, "error", err);
  std::string out = to_json(root);
  json_object_unref(root);
  return out;
}

namespace {

// A recursive-descent check of RFC 8259 grammar; the text is known to be valid UTF-8.
class StrictJson {
 public:
  explicit StrictJson(const std::string &text) : s_(text) {}
  bool check() {
    skip_ws();
    if (!value(0)) return false;
    skip_ws();
    return pos_ == s_.size();
  }

 private:
  static constexpr int kMaxDepth = 256;  // no stack exhaustion on hostile nesting

  void skip_ws() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      pos_++;
  }
  bool eat(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      pos_++;
      return true;
    }
    return false;
  }
  bool literal(const char *word) {
    size_t n = strlen(word);
    if (s_.compare(pos_, n, word) != 0) return false;
    pos_ += n;
    return true;
  }
  bool digits() {
    size_t start = pos_;
    while (pos_ < s_.size() && g_ascii_isdigit(s_[pos_])) pos_++;
    return pos_ > start;
  }
  bool number() {
    eat('-');
    if (eat('0')) {
      // no leading zeros
    } else if (pos_ < s_.size() && s_[pos_] >= '1' && s_[pos_] <= '9') {
      digits();
    } else {
      return false;
    }
    if (eat('.') && !digits()) return false;
    if (eat('e') || eat('E')) {
      if (!eat('+')) eat('-');
      if (!digits()) return false;
    }
    return true;
  }
  bool string() {
    if (!eat('"')) return false;
    while (pos_ < s_.size()) {
      unsigned char c = static_cast<unsigned char>(s_[pos_++]);
      if (c == '"') return true;
      if (c < 0x20) return false;
      if (c != '\\') continue;
      if (pos_ >= s_.size()) return false;
      char e = s_[pos_++];
      if (e == 'u') {
        for (int i = 0; i < 4; i++, pos_++)
          if (pos_ >= s_.size() || !g_ascii_isxdigit(s_[pos_])) return false;
      } else if (e == '\0' || !strchr("\"\\/bfnrt", e)) {
        return false;
      }
    }
    return false;
  }
  bool value(int depth) {
    if (depth > kMaxDepth || pos_ >= s_.size()) return false;
    char c = s_[pos_];
    if (c == '{' || c == '[') {
      const char close = c == '{' ? '}' : ']';
      pos_++;
      skip_ws();
      if (eat(close)) return true;
      do {
        skip_ws();
        if (c == '{') {
          if (!string()) return false;
          skip_ws();
          if (!eat(':')) return false;
          skip_ws();
        }
        if (!value(depth + 1)) return false;
        skip_ws();
      } while (eat(','));
      return eat(close);
    }
    if (c == '"') return string();
    if (c == 't') return literal("true");
    if (c == 'f') return literal("false");
    if (c == 'n') return literal("null");
    return number();
  }

  const std::string &s_;
  size_t pos_ = 0;
};

}  // namespace

bool is_strict_json(const std::string &text) {
  if (!g_utf8_validate(text.data(), static_cast<gssize>(text.size()), nullptr)) return false;
  return StrictJson(text).check();
}

JsonNode *json_literal(const char *text) {
  std::string error;
  JsonNode *node = parse_json(text, &error);
  g_assert(node != nullptr);
  return node;
}

}  // namespace rts
