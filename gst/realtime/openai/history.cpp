/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "openai/history.h"

#include "openai/conversation.h"

#include <json-glib/json-glib.h>

#include <memory>

namespace rt {

namespace {

struct NodeUnref {
  void operator() (JsonNode *n) const { json_node_unref (n); }
};
using NodePtr = std::unique_ptr<JsonNode, NodeUnref>;

const char *string_member (JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member (o, name) : nullptr;
  if (!n || !JSON_NODE_HOLDS_VALUE (n) ||
      json_node_get_value_type (n) != G_TYPE_STRING)
    return nullptr;
  return json_node_get_string (n);
}

JsonObject *object_member (JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member (o, name) : nullptr;
  return n && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : nullptr;
}

NodePtr parse_object (const std::string &json)
{
  NodePtr root (json_from_string (json.c_str (), nullptr));
  if (!root || !JSON_NODE_HOLDS_OBJECT (root.get ()))
    return nullptr;
  return root;
}

std::size_t utf8_chars (const std::string &s)
{
  return g_utf8_validate (s.c_str (), s.size (), nullptr) ?
      g_utf8_strlen (s.c_str (), s.size ()) :
      s.size ();
}

/* The longest prefix of s within max_bytes that ends on a character. */
std::string cut_utf8 (const std::string &s, std::size_t max_bytes)
{
  if (s.size () <= max_bytes)
    return s;
  std::size_t n = max_bytes;
  while (n > 0 && (static_cast<unsigned char> (s[n]) & 0xC0) == 0x80)
    n--;
  return s.substr (0, n);
}

}  // namespace

void ConversationHistory::set_limits (HistoryLimits limits)
{
  limits_ = limits;
  if (!limits_.enabled) {
    entries_.clear ();
    chars_ = 0;
  }
  trim ();
}

void ConversationHistory::add (const std::string &role, const std::string &text)
{
  if (!limits_.enabled || text.empty () ||
      !g_utf8_validate (text.c_str (), text.size (), nullptr))
    return;
  entries_.push_back ({ role, text });
  chars_ += utf8_chars (text);
  trim ();
}

void ConversationHistory::clear ()
{
  entries_.clear ();
  chars_ = 0;
}

void ConversationHistory::trim ()
{
  while (!entries_.empty () &&
      (entries_.size () > limits_.max_items || chars_ > limits_.max_chars)) {
    chars_ -= utf8_chars (entries_.front ().text);
    entries_.pop_front ();
  }
}

void ConversationHistory::observe_server_event (const std::string &type,
    const std::string &json)
{
  if (!limits_.enabled || !remembers (type))
    return;
  NodePtr root = parse_object (json);
  if (root)
    observe_server_event (type, json_node_get_object (root.get ()));
}

bool ConversationHistory::remembers (const std::string &type)
{
  return type == "conversation.item.input_audio_transcription.completed" ||
      type == "response.output_audio_transcript.done" ||
      type == "response.output_text.done";
}

void ConversationHistory::observe_server_event (const std::string &type,
    JsonObject *event)
{
  const char *field = nullptr;
  const char *role = nullptr;
  if (type == "conversation.item.input_audio_transcription.completed") {
    field = "transcript";
    role = "user";
  } else if (type == "response.output_audio_transcript.done") {
    field = "transcript";
    role = "assistant";
  } else if (type == "response.output_text.done") {
    field = "text";
    role = "assistant";
  } else {
    return;
  }
  if (!limits_.enabled || !event)
    return;
  if (const char *text = string_member (event, field))
    add (role, text);
}

void ConversationHistory::observe_client_event (const std::string &json)
{
  if (!limits_.enabled)
    return;
  NodePtr root = parse_object (json);
  if (!root)
    return;
  JsonObject *event = json_node_get_object (root.get ());
  const char *type = string_member (event, "type");
  if (!type || g_strcmp0 (type, "conversation.item.create") != 0)
    return;
  JsonObject *item = object_member (event, "item");
  const char *role = string_member (item, "role");
  if (g_strcmp0 (string_member (item, "type"), "message") != 0 || !role)
    return;
  JsonNode *content = json_object_get_member (item, "content");
  if (!content || !JSON_NODE_HOLDS_ARRAY (content))
    return;
  std::string text;
  JsonArray *parts = json_node_get_array (content);
  for (guint i = 0; i < json_array_get_length (parts); i++) {
    JsonNode *p = json_array_get_element (parts, i);
    if (!JSON_NODE_HOLDS_OBJECT (p))
      continue;
    const char *t = string_member (json_node_get_object (p), "text");
    if (t) {
      if (!text.empty ())
        text += "\n";
      text += t;
    }
  }
  add (role, text);
}

std::vector<std::string> ConversationHistory::replay_events (
    std::size_t max_message_bytes) const
{
  std::vector<std::string> out;
  for (const auto &e : entries_) {
    std::string event = build_text_message (e.role, e.text);
    if (event.size () > max_message_bytes) {
      /* Escaping can grow text up to six times (\uXXXX); cut with room. */
      std::size_t overhead = event.size () - e.text.size ();
      std::size_t room = max_message_bytes > overhead ?
          (max_message_bytes - overhead) / 6 :
          0;
      event = build_text_message (e.role, cut_utf8 (e.text, room));
    }
    out.push_back (std::move (event));
  }
  return out;
}

}  // namespace rt
