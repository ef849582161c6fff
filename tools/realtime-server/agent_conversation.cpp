/* SPDX-License-Identifier: LGPL-2.1-or-later */
// The conversation store: the items a client creates, retrieves, deletes and truncates, and
// the checks on what it may add.
#include "agent.h"

#include "agent_internal.h"
#include "image.h"

#include <algorithm>
#include <cstring>

namespace rts {

void Agent::add_item (JsonObject *item, const std::string *after)
{
  std::string id = rt::json::string_member (item, "id");
  auto it = items_.find (id);
  auto pos = std::find (item_order_.begin (), item_order_.end (), id);
  if (it != items_.end ())
    json_object_unref (it->second);
  if (pos == item_order_.end () || after) {
    // A new item, or one moved: appended, first, or after the named item.
    if (pos != item_order_.end ())
      item_order_.erase (pos);
    pos = item_order_.end ();
    if (after && after->empty ()) {
      pos = item_order_.begin ();
    } else if (after) {
      pos = std::find (item_order_.begin (), item_order_.end (), *after);
      if (pos != item_order_.end ())
        ++pos;
    }
    pos = item_order_.insert (pos, id);
  }
  std::string previous = pos == item_order_.begin () ? "" : *(pos - 1);
  items_[id] = item;
  host_.items_changed (item_order_.size ());
  for (const char *type :
      { "conversation.item.added", "conversation.item.done" }) {
    JsonObject *ev = new_event (type);
    set_string_or_null (ev, "previous_item_id", previous);
    json_object_set_object_member (ev, "item", copy_object (item));
    emit (ev);
  }
}

JsonObject *Agent::find_item (const std::string &id) const
{
  auto it = items_.find (id);
  return it == items_.end () ? nullptr : it->second;
}

bool Agent::check_message (JsonObject *item, JsonObject *event,
    size_t message_bytes, std::vector<ReceivedImage> *images)
{
  std::string role = rt::json::string_member (item, "role");
  const char *const *allowed = nullptr;
  static const char *const kUser[] = { "input_text", "input_audio",
    "input_image", nullptr };
  static const char *const kAssistant[] = { "output_text", "output_audio",
    nullptr };
  static const char *const kSystem[] = { "input_text", nullptr };
  const char *supported = "";
  if (role == "user") {
    allowed = kUser;
    supported = "'input_text', 'input_audio', and 'input_image'";
  } else if (role == "assistant") {
    allowed = kAssistant;
    supported = "'output_text' and 'output_audio'";
  } else if (role == "system") {
    allowed = kSystem;
    supported = "'input_text'";
  } else {
    send_error ("invalid_value",
        "Invalid value: '" + role +
            "'. Supported values are: 'user', 'assistant', and 'system'.",
        "item.role", event);
    return false;
  }
  JsonNode *content = json_object_get_member (item, "content");
  if (!content || !JSON_NODE_HOLDS_ARRAY (content)) {
    send_error ("missing_required_parameter",
        "Missing required parameter: 'item.content'.", "item.content", event);
    return false;
  }
  JsonArray *parts = json_node_get_array (content);
  for (guint i = 0; i < json_array_get_length (parts); i++) {
    JsonNode *node = json_array_get_element (parts, i);
    JsonObject *part = JSON_NODE_HOLDS_OBJECT (node) ?
        json_node_get_object (node) :
        nullptr;
    std::string type = rt::json::string_member (part, "type");
    std::string param = "item.content[" + std::to_string (i) + "]";
    bool known = false;
    for (const char *const *a = allowed; *a; a++)
      known = known || type == *a;
    if (!known) {
      send_error ("invalid_value",
          "Invalid value: '" + type + "'. Supported values are: " + supported +
              ".",
          (param + ".type").c_str (), event);
      return false;
    }
    if ((type == "input_text" || type == "output_text") &&
        !has_member_of_type (part, "text", JSON_NODE_VALUE)) {
      send_error ("missing_required_parameter",
          "Missing required parameter: '" + param + ".text'.",
          (param + ".text").c_str (), event);
      return false;
    }
    if (type == "input_image") {
      // The service only takes images inline, as JPEG or PNG data URLs.
      const std::string url_param = param + ".image_url";
      ImageInfo info;
      std::string why;
      if (!has_member_of_type (part, "image_url", JSON_NODE_VALUE) ||
          json_node_get_value_type (
              json_object_get_member (part, "image_url")) != G_TYPE_STRING) {
        send_error ("invalid_value",
            "Missing required parameter: '" + url_param +
                "'. Expected a base64-encoded data URL with an image/jpeg or image/png "
                "MIME type.",
            url_param.c_str (), event);
        return false;
      }
      if (!parse_image_data_url (rt::json::string_member (part, "image_url"),
              &info, &why)) {
        send_error ("invalid_value", "Invalid '" + url_param + "': " + why,
            url_param.c_str (), event);
        return false;
      }
      std::string detail = "auto";
      if (json_object_has_member (part, "detail")) {
        JsonNode *node = json_object_get_member (part, "detail");
        bool is_string = JSON_NODE_HOLDS_VALUE (node) &&
            json_node_get_value_type (node) == G_TYPE_STRING;
        detail = is_string ? json_node_get_string (node) : "";
        if (detail != "auto" && detail != "low" && detail != "high") {
          send_error ("invalid_value",
              "Invalid value: '" + detail +
                  "'. Supported values are: 'auto', 'low', and 'high'.",
              (param + ".detail").c_str (), event);
          return false;
        }
      }
      ReceivedImage image;
      image.format = info.format;
      image.width = info.width;
      image.height = info.height;
      image.bytes = info.bytes;
      image.detail = detail;
      image.message_bytes = message_bytes;
      images->push_back (image);
    }
  }
  return true;
}

bool Agent::check_function_output (JsonObject *item, JsonObject *event)
{
  for (const char *member : { "call_id", "output" }) {
    const std::string param = std::string ("item.") + member;
    JsonNode *node = json_object_get_member (item, member);
    if (!node) {
      send_error ("missing_required_parameter",
          "Missing required parameter: '" + param + "'.", param.c_str (),
          event);
      return false;
    }
    if (!JSON_NODE_HOLDS_VALUE (node) ||
        json_node_get_value_type (node) != G_TYPE_STRING) {
      send_error ("invalid_type",
          "Invalid type for '" + param + "': expected a string, but got " +
              (JSON_NODE_HOLDS_NULL (node)          ? "null" :
                      JSON_NODE_HOLDS_OBJECT (node) ? "an object" :
                      JSON_NODE_HOLDS_ARRAY (node)  ? "an array" :
                                                      "a non-string value") +
              " instead.",
          param.c_str (), event);
      return false;
    }
  }
  return true;
}

void Agent::handle_item_create (JsonObject *event, size_t message_bytes)
{
  JsonObject *requested = rt::json::object_member (event, "item");
  if (!requested) {
    send_error ("missing_required_parameter",
        "Missing required parameter: 'item'.", "item", event);
    return;
  }
  std::vector<ReceivedImage> images;
  if (rt::json::string_member (requested, "type") == "message" &&
      !check_message (requested, event, message_bytes, &images))
    return;
  if (rt::json::string_member (requested, "type") == "function_call_output" &&
      !check_function_output (requested, event))
    return;
  // previous_item_id: "root" puts the item first, an existing id after that item.
  bool placed = has_member_of_type (event, "previous_item_id", JSON_NODE_VALUE);
  std::string after = rt::json::string_member (event, "previous_item_id");
  if (placed && after == "root")
    after.clear ();
  if (placed && !after.empty () && !find_item (after)) {
    send_error ("item_not_found", "Item with id '" + after + "' not found.",
        "previous_item_id", event);
    return;
  }
  JsonObject *item = copy_object (requested);
  if (rt::json::string_member (item, "id").empty ())
    json_object_set_string_member (item, "id", make_id ("item").c_str ());
  if (find_item (rt::json::string_member (item, "id"))) {
    send_error ("item_already_exists",
        "Item with id '" + rt::json::string_member (item, "id") +
            "' already exists.",
        "item.id", event);
    json_object_unref (item);
    return;
  }
  json_object_set_string_member (item, "object", "realtime.item");
  std::string type = rt::json::string_member (item, "type");
  if (type == "message" || type == "function_call")
    json_object_set_string_member (item, "status", "completed");
  add_item (item, placed ? &after : nullptr);
  host_.item_created (item);
  for (ReceivedImage &image : images) {
    image.item_id = rt::json::string_member (item, "id");
    host_.image_received (image);
    images_pending_++;
    last_image_width_ = image.width;
    last_image_height_ = image.height;
  }
  const std::string call_id = rt::json::string_member (item, "call_id");
  if (type == "function_call" && !call_id.empty () &&
      !rt::json::string_member (item, "name").empty ()) {
    // History the client replays: the call's name is known from now on.
    call_names_.emplace (call_id, rt::json::string_member (item, "name"));
  } else if (type == "function_call_output") {
    // Like the service, an output for a call it never made is taken as it comes.
    bool issued = issued_calls_.count (call_id) > 0;
    if (!issued)
      g_message (
          "function_call_output for call_id '%s', which was never issued",
          call_id.c_str ());
    auto name = call_names_.find (call_id);
    host_.function_output (call_id, issued,
        name == call_names_.end () ? "" : name->second,
        rt::json::string_member (item, "output"));
    pending_output_ = std::make_pair (call_id,
        rt::json::string_member (item, "output"));
  }
}

void Agent::handle_item_retrieve (JsonObject *event)
{
  std::string id = rt::json::string_member (event, "item_id");
  JsonObject *item = find_item (id);
  if (!item) {
    send_error ("item_not_found", "Item with item_id '" + id + "' not found.",
        "item_id", event);
    return;
  }
  JsonObject *ev = new_event ("conversation.item.retrieved");
  json_object_set_object_member (ev, "item", copy_object (item));
  emit (ev);
}

void Agent::handle_item_delete (JsonObject *event)
{
  std::string id = rt::json::string_member (event, "item_id");
  JsonObject *item = find_item (id);
  if (!item) {
    send_error ("item_not_found", "Item with item_id '" + id + "' not found.",
        "item_id", event);
    return;
  }
  json_object_unref (item);
  items_.erase (id);
  for (auto it = item_order_.begin (); it != item_order_.end (); ++it) {
    if (*it == id) {
      item_order_.erase (it);
      break;
    }
  }
  host_.items_changed (item_order_.size ());
  JsonObject *ev = new_event ("conversation.item.deleted");
  json_object_set_string_member (ev, "item_id", id.c_str ());
  emit (ev);
}

void Agent::handle_item_truncate (JsonObject *event)
{
  std::string id = rt::json::string_member (event, "item_id");
  if (!find_item (id)) {
    send_error ("item_not_found", "Item with item_id '" + id + "' not found.",
        "item_id", event);
    return;
  }
  JsonObject *ev = new_event ("conversation.item.truncated");
  json_object_set_string_member (ev, "item_id", id.c_str ());
  json_object_set_int_member (ev, "content_index",
      static_cast<gint64> (get_number (event, "content_index", 0)));
  json_object_set_int_member (ev, "audio_end_ms",
      static_cast<gint64> (get_number (event, "audio_end_ms", 0)));
  emit (ev);
}

}  // namespace rts
