/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "session.h"

#include "json_util.h"

#include <cstring>

namespace rts {

namespace {

const char *const kDefaultSession = R"({
  "type": "realtime",
  "object": "realtime.session",
  "model": "gpt-realtime",
  "output_modalities": ["audio"],
  "instructions": "You are a helpful, witty, and friendly AI. Talk quickly.",
  "tools": [],
  "tool_choice": "auto",
  "max_output_tokens": "inf",
  "tracing": null,
  "truncation": "auto",
  "expires_at": 0,
  "audio": {
    "input": {
      "format": {"type": "audio/pcm", "rate": 24000},
      "turn_detection": {"type": "server_vad"}
    },
    "output": {
      "format": {"type": "audio/pcm", "rate": 24000},
      "voice": "marin",
      "speed": 1.0
    }
  }
})";

const char *const kVoices[] = { "alloy", "ash", "ballad", "coral", "echo",
  "sage", "shimmer", "verse", "marin", "cedar" };

// Members whose null is meaningful and is kept; any other null clears the member, which is how
// the service reports "off" for transcription, noise_reduction and the like.
bool null_is_kept (const char *name)
{
  return strcmp (name, "turn_detection") == 0 || strcmp (name, "tracing") == 0;
}

// A turn_detection patch naming a different VAD type than the current one.
bool changes_vad_kind (JsonNode *existing, JsonNode *patch)
{
  if (!existing || !JSON_NODE_HOLDS_OBJECT (existing) ||
      !JSON_NODE_HOLDS_OBJECT (patch))
    return false;
  JsonObject *p = json_node_get_object (patch);
  return json_object_has_member (p, "type") &&
      rt::json::string_member (p, "type") !=
      rt::json::string_member (json_node_get_object (existing), "type");
}

void merge_patch (JsonObject *dst, JsonObject *src)
{
  JsonObjectIter iter;
  const gchar *name;
  JsonNode *value;
  json_object_iter_init (&iter, src);
  while (json_object_iter_next (&iter, &name, &value)) {
    JsonNode *existing = json_object_get_member (dst, name);
    if (JSON_NODE_HOLDS_NULL (value)) {
      if (null_is_kept (name))
        json_object_set_null_member (dst, name);
      else if (existing)
        json_object_remove_member (dst, name);
    } else if (strcmp (name, "turn_detection") == 0 &&
        changes_vad_kind (existing, value)) {
      // Switching VAD kind replaces the whole object rather than mixing parameters of both.
      json_object_set_member (dst, name, deep_copy (value));
    } else if (existing && JSON_NODE_HOLDS_OBJECT (existing) &&
        JSON_NODE_HOLDS_OBJECT (value)) {
      merge_patch (json_node_get_object (existing),
          json_node_get_object (value));
    } else {
      json_object_set_member (dst, name, deep_copy (value));
    }
  }
}

void set_default_number (JsonObject *obj, const char *name, double value,
    bool integer)
{
  if (json_object_has_member (obj, name))
    return;
  if (integer)
    json_object_set_int_member (obj, name, static_cast<gint64> (value));
  else
    json_object_set_double_member (obj, name, value);
}

void set_default_bool (JsonObject *obj, const char *name, bool value)
{
  if (!json_object_has_member (obj, name))
    json_object_set_boolean_member (obj, name, value);
}

bool fail (SessionError *error, const char *code, const std::string &message,
    const std::string &param)
{
  error->code = code;
  error->message = message;
  error->param = param;
  return false;
}

// A function name the service accepts: 1 to 64 of [A-Za-z0-9_-].
bool valid_function_name (const std::string &name, const std::string &param,
    SessionError *error)
{
  if (name.empty ())
    return fail (error, "invalid_value",
        "Invalid '" + param +
            "': empty string. Expected a string with minimum length 1, "
            "but got an empty string instead.",
        param);
  if (name.size () > 64)
    return fail (error, "invalid_value",
        "Invalid '" + param +
            "': string too long. Expected a string with maximum "
            "length 64, but got a string with length " +
            std::to_string (name.size ()) + " instead.",
        param);
  for (char c : name) {
    if (!g_ascii_isalnum (c) && c != '_' && c != '-')
      return fail (error, "invalid_value",
          "Invalid '" + param +
              "': string does not match pattern. Expected a string "
              "that matches the pattern '^[a-zA-Z0-9_-]+$'.",
          param);
  }
  return true;
}

// The string member of obj, or nullptr when it is absent or not a string.
const char *string_member (JsonObject *obj, const char *member)
{
  JsonNode *node = obj ? json_object_get_member (obj, member) : nullptr;
  return node && JSON_NODE_HOLDS_VALUE (node) &&
          json_node_get_value_type (node) == G_TYPE_STRING ?
      json_node_get_string (node) :
      nullptr;
}

}  // namespace

std::unique_ptr<Session> Session::from_request (JsonObject *requested,
    SessionError *error)
{
  JsonNode *defaults = json_literal (kDefaultSession);
  JsonObject *obj = json_object_ref (json_node_get_object (defaults));
  json_node_unref (defaults);
  json_object_set_string_member (obj, "id", make_id ("sess").c_str ());
  if (requested)
    merge_patch (obj, requested);
  normalize (obj);
  if (!validate (obj, error)) {
    json_object_unref (obj);
    return nullptr;
  }
  return std::unique_ptr<Session> (new Session (obj));
}

Session::Session (const Session &other) : obj_ (copy_object (other.obj_))
{
}

Session::~Session ()
{
  json_object_unref (obj_);
}

bool Session::update (JsonObject *patch, bool voice_locked, SessionError *error)
{
  std::string new_model = string_or (patch, "model", model ());
  if (new_model != model ())
    return fail (error, "invalid_value",
        "Cannot update a session's model. Start a new call to use a different model.",
        "session.model");
  JsonObject *out = rt::json::object_member (
      rt::json::object_member (patch, "audio"), "output");
  if (voice_locked && out && json_object_has_member (out, "voice") &&
      rt::json::string_member (out, "voice") != voice ())
    return fail (error, "cannot_update_voice",
        "Cannot update a conversation's voice if assistant audio is present.",
        "session.audio.output.voice");
  JsonObject *candidate = copy_object (obj_);
  merge_patch (candidate, patch);
  normalize (candidate);
  if (!validate (candidate, error)) {
    json_object_unref (candidate);
    return false;
  }
  json_object_unref (obj_);
  obj_ = candidate;
  return true;
}

void Session::set_expires_at (gint64 unix_seconds)
{
  json_object_set_int_member (obj_, "expires_at", unix_seconds);
}

// Fill in what the service reports even when the client left it out.
void Session::normalize (JsonObject *session)
{
  JsonObject *input = rt::json::object_member (
      rt::json::object_member (session, "audio"), "input");
  JsonObject *td = rt::json::object_member (input, "turn_detection");
  if (!td)
    return;
  std::string type = string_or (td, "type", "server_vad");
  json_object_set_string_member (td, "type", type.c_str ());
  if (type == "server_vad") {
    set_default_number (td, "threshold", 0.5, false);
    set_default_number (td, "prefix_padding_ms", 300, true);
    set_default_number (td, "silence_duration_ms", 500, true);
    if (!json_object_has_member (td, "idle_timeout_ms"))
      json_object_set_null_member (td, "idle_timeout_ms");
  } else if (type == "semantic_vad") {
    if (!json_object_has_member (td, "eagerness"))
      json_object_set_string_member (td, "eagerness", "auto");
  }
  set_default_bool (td, "create_response", true);
  set_default_bool (td, "interrupt_response", true);
}

bool Session::validate (JsonObject *s, SessionError *error)
{
  if (rt::json::string_member (s, "type") != "realtime")
    return fail (error, "invalid_value",
        "Invalid value: '" + rt::json::string_member (s, "type") +
            "'. Supported values are: 'realtime'.",
        "session.type");
  JsonNode *mods = json_object_get_member (s, "output_modalities");
  bool mods_ok = mods && JSON_NODE_HOLDS_ARRAY (mods) &&
      json_array_get_length (json_node_get_array (mods)) == 1;
  if (mods_ok) {
    const char *m = json_array_get_string_element (json_node_get_array (mods),
        0);
    mods_ok = m && (strcmp (m, "audio") == 0 || strcmp (m, "text") == 0);
  }
  if (!mods_ok)
    return fail (error, "invalid_value",
        "output_modalities must be either [\"audio\"] or [\"text\"].",
        "session.output_modalities");
  JsonObject *output = rt::json::object_member (
      rt::json::object_member (s, "audio"), "output");
  std::string v = string_or (output, "voice", "marin");
  bool known = false;
  for (const char *name : kVoices)
    known = known || v == name;
  if (!known)
    return fail (error, "invalid_value",
        "Invalid value: '" + v +
            "'. Supported values are: "
            "'alloy', 'ash', 'ballad', 'coral', 'echo', 'sage', 'shimmer', 'verse', "
            "'marin', and 'cedar'.",
        "session.audio.output.voice");
  double speed = get_number (output, "speed", 1.0);
  if (speed < 0.25 || speed > 1.5)
    return fail (error, "decimal_above_max_value",
        "Invalid 'session.audio.output.speed': must be between 0.25 and 1.5.",
        "session.audio.output.speed");
  JsonObject *td = rt::json::object_member (
      rt::json::object_member (rt::json::object_member (s, "audio"), "input"),
      "turn_detection");
  if (td) {
    std::string type = rt::json::string_member (td, "type");
    if (type != "server_vad" && type != "semantic_vad")
      return fail (error, "invalid_value",
          "Invalid value: '" + type +
              "'. Supported values are: 'server_vad' and 'semantic_vad'.",
          "session.audio.input.turn_detection.type");
    double threshold = get_number (td, "threshold", 0.5);
    if (threshold < 0.0 || threshold > 1.0)
      return fail (error, "invalid_value",
          "threshold must be between 0.0 and 1.0.",
          "session.audio.input.turn_detection.threshold");
  }
  return validate_tools (json_object_get_member (s, "tools"), "session",
             error) &&
      validate_tool_choice (json_object_get_member (s, "tool_choice"),
          "session", error);
}

bool Session::validate_tools (JsonNode *tools, const std::string &where,
    SessionError *error)
{
  if (!tools || JSON_NODE_HOLDS_NULL (tools))
    return true;
  if (!JSON_NODE_HOLDS_ARRAY (tools))
    return fail (error, "invalid_value",
        "Invalid '" + where + ".tools': expected an array.", where + ".tools");
  JsonArray *array = json_node_get_array (tools);
  for (guint i = 0; i < json_array_get_length (array); i++) {
    JsonNode *node = json_array_get_element (array, i);
    JsonObject *tool = JSON_NODE_HOLDS_OBJECT (node) ?
        json_node_get_object (node) :
        nullptr;
    std::string param = where + ".tools[" + std::to_string (i) + "]";
    if (!tool)
      return fail (error, "invalid_value",
          "Invalid '" + param + "': expected an object.", param);
    const char *type = string_member (tool, "type");
    if (!type || strcmp (type, "function") != 0)
      return fail (error, "invalid_value",
          "Invalid value: '" + std::string (type ? type : "") +
              "'. Supported values are: 'function'.",
          param + ".type");
    const char *name = string_member (tool, "name");
    if (!name)
      return fail (error, "invalid_value",
          "Missing required parameter: '" + param + ".name'.", param + ".name");
    if (!valid_function_name (name, param + ".name", error))
      return false;
  }
  return true;
}

bool Session::validate_tool_choice (JsonNode *choice, const std::string &where,
    SessionError *error)
{
  if (!choice || JSON_NODE_HOLDS_NULL (choice))
    return true;
  const std::string param = where + ".tool_choice";
  if (JSON_NODE_HOLDS_VALUE (choice) &&
      json_node_get_value_type (choice) == G_TYPE_STRING) {
    std::string mode = json_node_get_string (choice);
    if (mode == "auto" || mode == "none" || mode == "required")
      return true;
    return fail (error, "invalid_value",
        "Invalid value: '" + mode +
            "'. Supported values are: 'none', 'auto', and 'required'.",
        param);
  }
  if (!JSON_NODE_HOLDS_OBJECT (choice))
    return fail (error, "invalid_value",
        "Invalid '" + param +
            "': expected 'none', 'auto', 'required' or "
            "{\"type\": \"function\", \"name\": ...}.",
        param);
  JsonObject *obj = json_node_get_object (choice);
  const char *type = string_member (obj, "type");
  if (!type || strcmp (type, "function") != 0)
    return fail (error, "invalid_value",
        "Invalid value: '" + std::string (type ? type : "") +
            "'. Supported values are: 'function'.",
        param + ".type");
  const char *name = string_member (obj, "name");
  if (!name)
    return fail (error, "invalid_value",
        "Missing required parameter: '" + param + ".name'.", param + ".name");
  return valid_function_name (name, param + ".name", error);
}

std::vector<std::string> Session::tool_names (JsonNode *tools)
{
  std::vector<std::string> names;
  if (!tools || !JSON_NODE_HOLDS_ARRAY (tools))
    return names;
  JsonArray *array = json_node_get_array (tools);
  for (guint i = 0; i < json_array_get_length (array); i++) {
    JsonNode *node = json_array_get_element (array, i);
    const char *name = JSON_NODE_HOLDS_OBJECT (node) ?
        string_member (json_node_get_object (node), "name") :
        nullptr;
    if (name)
      names.push_back (name);
  }
  return names;
}

ToolChoice Session::parse_tool_choice (JsonNode *choice)
{
  ToolChoice out;
  if (!choice)
    return out;
  if (JSON_NODE_HOLDS_VALUE (choice) &&
      json_node_get_value_type (choice) == G_TYPE_STRING) {
    std::string mode = json_node_get_string (choice);
    if (mode == "none")
      out.mode = ToolChoice::Mode::None;
    if (mode == "required")
      out.mode = ToolChoice::Mode::Required;
  } else if (JSON_NODE_HOLDS_OBJECT (choice)) {
    const char *name = string_member (json_node_get_object (choice), "name");
    if (name) {
      out.mode = ToolChoice::Mode::Function;
      out.function = name;
    }
  }
  return out;
}

TurnDetection Session::turn_detection () const
{
  TurnDetection out;
  JsonObject *td = rt::json::object_member (
      rt::json::object_member (rt::json::object_member (obj_, "audio"),
          "input"),
      "turn_detection");
  if (!td)
    return out;
  out.enabled = true;
  out.threshold = get_number (td, "threshold", 0.5);
  out.prefix_padding_ms = static_cast<int> (
      get_number (td, "prefix_padding_ms", 300));
  if (rt::json::string_member (td, "type") == "semantic_vad") {
    // No semantics here: eagerness only maps to how long a pause ends the turn.
    std::string eagerness = string_or (td, "eagerness", "auto");
    out.silence_duration_ms = eagerness == "high" ? 300 :
        eagerness == "low"                        ? 1000 :
                                                    500;
  } else {
    out.silence_duration_ms = static_cast<int> (
        get_number (td, "silence_duration_ms", 500));
  }
  out.create_response = get_bool (td, "create_response", true);
  out.interrupt_response = get_bool (td, "interrupt_response", true);
  return out;
}

bool Session::transcription_enabled () const
{
  return rt::json::object_member (
             rt::json::object_member (rt::json::object_member (obj_, "audio"),
                 "input"),
             "transcription") != nullptr;
}

bool Session::audio_output () const
{
  JsonNode *mods = json_object_get_member (obj_, "output_modalities");
  const char *m = json_array_get_string_element (json_node_get_array (mods), 0);
  return strcmp (m, "audio") == 0;
}

std::string Session::voice () const
{
  return string_or (rt::json::object_member (
                        rt::json::object_member (obj_, "audio"), "output"),
      "voice", "marin");
}

std::string Session::model () const
{
  return string_or (obj_, "model", "gpt-realtime");
}

}  // namespace rts
