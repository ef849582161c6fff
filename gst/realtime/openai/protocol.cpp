/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "openai/protocol.h"

#include "core/json_scan.h"
#include "core/json_util.h"

#include <json-glib/json-glib.h>

#include <memory>
#include <string_view>

namespace rt {
namespace {

struct GObjectUnref {
  void operator() (gpointer p) const { g_object_unref (p); }
};
using ParserPtr = std::unique_ptr<JsonParser, GObjectUnref>;
using BuilderPtr = std::unique_ptr<JsonBuilder, GObjectUnref>;

/* Parses text as a JSON object; nullptr with *error set otherwise. The
 * object belongs to parser, made here. Only text the strict scan accepts
 * reaches json-glib, which is lenient and recurses once per nesting level;
 * the scan also spares malformed text the cost of a parser. */
JsonObject *parse_object (ParserPtr &parser, const std::string &text,
    std::string *error)
{
  JsonScanner scan;
  scan.feed (text);
  if (scan.finish () != JsonScanner::State::Complete) {
    if (error)
      *error = "not JSON: " + scan.error ();
    return nullptr;
  }
  parser.reset (json_parser_new ());
  GError *err = nullptr;
  if (!json_parser_load_from_data (parser.get (), text.data (), text.size (),
          &err)) {
    if (error)
      *error = std::string ("not JSON: ") + err->message;
    g_error_free (err);
    return nullptr;
  }
  JsonNode *root = json_parser_get_root (parser.get ());
  if (!root || !JSON_NODE_HOLDS_OBJECT (root)) {
    if (error)
      *error = "not a JSON object";
    return nullptr;
  }
  return json_node_get_object (root);
}

using json::object_member;
using json::set_string;
using json::string_member;

/* Adds a JSON value given as text (already checked) as member name. */
void set_json (JsonBuilder *b, const char *name, const std::string &json)
{
  JsonParser *parser = json_parser_new ();
  if (json_parser_load_from_data (parser, json.data (), json.size (),
          nullptr)) {
    json_builder_set_member_name (b, name);
    json_builder_add_value (b, json_node_copy (json_parser_get_root (parser)));
  }
  g_object_unref (parser);
}

/* The session fields shared by minting and session.update. `all`: the
 * fields that are set; otherwise exactly `fields`, unset ones as the value
 * that restores the default (or turns the feature off). */
void add_session_fields (JsonBuilder *b, const SessionConfig &c,
    bool with_model, unsigned fields)
{
  const bool all = fields == kSessionAll;
  auto want = [&] (unsigned field, bool set) {
    return (fields & field) && (set || !all);
  };
  set_string (b, "type", "realtime");
  if (with_model && !c.model.empty ())
    set_string (b, "model", c.model);
  if (want (kSessionInstructions, !c.instructions.empty ()))
    set_string (b, "instructions", c.instructions);
  if (want (kSessionOutputModalities, !c.output_modality.empty ())) {
    json_builder_set_member_name (b, "output_modalities");
    json_builder_begin_array (b);
    json_builder_add_string_value (b,
        c.output_modality.empty () ? "audio" : c.output_modality.c_str ());
    json_builder_end_array (b);
  }
  if (want (kSessionMaxOutputTokens, c.max_output_tokens.has_value ())) {
    json_builder_set_member_name (b, "max_output_tokens");
    if (c.max_output_tokens.value_or (0) > 0)
      json_builder_add_int_value (b, *c.max_output_tokens);
    else
      json_builder_add_string_value (b, "inf");
  }
  if (want (kSessionTools, !c.tools.empty ()))
    set_json (b, "tools", c.tools.empty () ? "[]" : c.tools);
  if (want (kSessionToolChoice, !c.tool_choice.empty ())) {
    const std::string &tc = c.tool_choice;
    if (tc.empty () || tc == "auto" || tc == "none" || tc == "required") {
      set_string (b, "tool_choice", tc.empty () ? "auto" : tc);
    } else {
      json_builder_set_member_name (b, "tool_choice");
      json_builder_begin_object (b);
      set_string (b, "type", "function");
      set_string (b, "name", tc);
      json_builder_end_object (b);
    }
  }

  const bool in_td = want (kSessionTurnDetection,
      c.turn_detection != TurnDetection::Default || c.vad_threshold ||
          c.vad_prefix_padding_ms || c.vad_silence_duration_ms ||
          !c.vad_eagerness.empty ());
  const bool in_nr = want (kSessionNoiseReduction, !c.noise_reduction.empty ());
  const bool in_tr = want (kSessionTranscription,
      !c.transcription_model.empty ());
  const bool out_voice = (fields & kSessionVoice) && !c.voice.empty ();
  const bool out_speed = want (kSessionSpeed, c.speed.has_value ());
  if (!in_td && !in_nr && !in_tr && !out_voice && !out_speed)
    return;
  json_builder_set_member_name (b, "audio");
  json_builder_begin_object (b);
  if (in_td || in_nr || in_tr) {
    json_builder_set_member_name (b, "input");
    json_builder_begin_object (b);
    if (in_tr) {
      json_builder_set_member_name (b, "transcription");
      if (c.transcription_model.empty ()) {
        json_builder_add_null_value (b);
      } else {
        json_builder_begin_object (b);
        set_string (b, "model", c.transcription_model);
        if (!c.transcription_language.empty ())
          set_string (b, "language", c.transcription_language);
        json_builder_end_object (b);
      }
    }
    if (in_nr) {
      json_builder_set_member_name (b, "noise_reduction");
      if (c.noise_reduction.empty () || c.noise_reduction == "off") {
        json_builder_add_null_value (b);
      } else {
        json_builder_begin_object (b);
        set_string (b, "type", c.noise_reduction);
        json_builder_end_object (b);
      }
    }
    if (in_td) {
      json_builder_set_member_name (b, "turn_detection");
      if (c.turn_detection == TurnDetection::None) {
        json_builder_add_null_value (b);
      } else if (c.turn_detection == TurnDetection::SemanticVad) {
        json_builder_begin_object (b);
        set_string (b, "type", "semantic_vad");
        if (!c.vad_eagerness.empty ())
          set_string (b, "eagerness", c.vad_eagerness);
        json_builder_end_object (b);
      } else {
        /* Default with tuning set means server VAD, the service's default. */
        json_builder_begin_object (b);
        set_string (b, "type", "server_vad");
        if (c.vad_threshold) {
          json_builder_set_member_name (b, "threshold");
          json_builder_add_double_value (b, *c.vad_threshold);
        }
        if (c.vad_prefix_padding_ms) {
          json_builder_set_member_name (b, "prefix_padding_ms");
          json_builder_add_int_value (b, *c.vad_prefix_padding_ms);
        }
        if (c.vad_silence_duration_ms) {
          json_builder_set_member_name (b, "silence_duration_ms");
          json_builder_add_int_value (b, *c.vad_silence_duration_ms);
        }
        json_builder_end_object (b);
      }
    }
    json_builder_end_object (b);
  }
  if (out_voice || out_speed) {
    json_builder_set_member_name (b, "output");
    json_builder_begin_object (b);
    if (out_voice)
      set_string (b, "voice", c.voice);
    if (out_speed) {
      json_builder_set_member_name (b, "speed");
      json_builder_add_double_value (b, c.speed.value_or (1.0));
    }
    json_builder_end_object (b);
  }
  json_builder_end_object (b);
}

bool valid_tool_name (const std::string &name)
{
  if (name.empty () || name.size () > 64)
    return false;
  for (char ch : name)
    if (!g_ascii_isalnum (ch) && ch != '_' && ch != '-')
      return false;
  return true;
}

}  // namespace

std::string build_client_secret_request (const SessionConfig &config,
    int ttl_seconds)
{
  BuilderPtr b (json_builder_new ());
  json_builder_begin_object (b.get ());
  json_builder_set_member_name (b.get (), "expires_after");
  json_builder_begin_object (b.get ());
  json_builder_set_member_name (b.get (), "anchor");
  json_builder_add_string_value (b.get (), "created_at");
  json_builder_set_member_name (b.get (), "seconds");
  json_builder_add_int_value (b.get (), ttl_seconds);
  json_builder_end_object (b.get ());
  json_builder_set_member_name (b.get (), "session");
  json_builder_begin_object (b.get ());
  add_session_fields (b.get (), config, true, kSessionAll);
  json_builder_end_object (b.get ());
  json_builder_end_object (b.get ());
  return json::finish (b.release ());
}

std::string build_session_update (const SessionConfig &config, unsigned fields)
{
  BuilderPtr b (json_builder_new ());
  json_builder_begin_object (b.get ());
  json_builder_set_member_name (b.get (), "type");
  json_builder_add_string_value (b.get (), "session.update");
  json_builder_set_member_name (b.get (), "session");
  json_builder_begin_object (b.get ());
  add_session_fields (b.get (), config, false, fields);
  json_builder_end_object (b.get ());
  json_builder_end_object (b.get ());
  return json::finish (b.release ());
}

SessionConfig merge_session (const SessionConfig &base,
    const SessionConfig &over)
{
  SessionConfig m = base;
  auto take = [] (std::string &to, const std::string &from) {
    if (!from.empty ())
      to = from;
  };
  take (m.model,
      over.model == SessionConfig ().model ? std::string () : over.model);
  take (m.instructions, over.instructions);
  take (m.voice, over.voice);
  if (over.turn_detection != TurnDetection::Default)
    m.turn_detection = over.turn_detection;
  if (over.vad_threshold)
    m.vad_threshold = over.vad_threshold;
  if (over.vad_prefix_padding_ms)
    m.vad_prefix_padding_ms = over.vad_prefix_padding_ms;
  if (over.vad_silence_duration_ms)
    m.vad_silence_duration_ms = over.vad_silence_duration_ms;
  take (m.vad_eagerness, over.vad_eagerness);
  take (m.noise_reduction, over.noise_reduction);
  take (m.output_modality, over.output_modality);
  if (over.max_output_tokens)
    m.max_output_tokens = over.max_output_tokens;
  if (over.speed)
    m.speed = over.speed;
  take (m.transcription_model, over.transcription_model);
  take (m.transcription_language, over.transcription_language);
  take (m.tools, over.tools);
  take (m.tool_choice, over.tool_choice);
  return m;
}

std::optional<std::string> check_tools (const std::string &json,
    std::string *error)
{
  auto fail = [error] (const std::string &why) -> std::optional<std::string> {
    if (error)
      *error = why;
    return std::nullopt;
  };
  JsonScanner scan;
  scan.feed (json);
  if (scan.finish () != JsonScanner::State::Complete)
    return fail ("not JSON: " + scan.error ());
  ParserPtr parser (json_parser_new ());
  if (!json_parser_load_from_data (parser.get (), json.data (), json.size (),
          nullptr))
    return fail ("not JSON");
  JsonNode *root = json_parser_get_root (parser.get ());
  if (!root || !JSON_NODE_HOLDS_ARRAY (root))
    return fail ("not a JSON array of tools");
  JsonArray *arr = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (arr); i++) {
    const std::string at = "tool " + std::to_string (i) + ": ";
    JsonNode *n = json_array_get_element (arr, i);
    if (!JSON_NODE_HOLDS_OBJECT (n))
      return fail (at + "not an object");
    JsonObject *t = json_node_get_object (n);
    if (string_member (t, "type") != "function")
      return fail (at + "\"type\" must be \"function\"");
    std::string name = string_member (t, "name");
    if (!valid_tool_name (name))
      return fail (at + "\"name\" must be 1-64 letters, digits, '_' or '-'");
    JsonNode *d = json_object_get_member (t, "description");
    if (d &&
        (!JSON_NODE_HOLDS_VALUE (d) ||
            json_node_get_value_type (d) != G_TYPE_STRING))
      return fail (at + "\"description\" must be a string");
    if (json_object_has_member (t, "parameters") &&
        !object_member (t, "parameters"))
      return fail (at + "\"parameters\" must be a JSON schema object");
    for (guint j = 0; j < i; j++)
      if (string_member (json_array_get_object_element (arr, j), "name") ==
          name)
        return fail (at + "the name \"" + name + "\" is used twice");
  }
  gchar *text = json_to_string (root, FALSE);
  std::string out (text);
  g_free (text);
  return out;
}

std::optional<ClientSecret> parse_client_secret (const std::string &body,
    std::string *error)
{
  ParserPtr parser;
  JsonObject *obj = parse_object (parser, body, error);
  if (!obj)
    return std::nullopt;
  ClientSecret secret;
  secret.value = string_member (obj, "value");
  if (secret.value.empty ()) {
    if (error)
      *error = "the reply has no \"value\"";
    return std::nullopt;
  }
  if (json_object_has_member (obj, "expires_at"))
    secret.expires_at = json_object_get_int_member (obj, "expires_at");
  return secret;
}

std::string ServiceError::describe () const
{
  std::string out;
  if (http_status > 0)
    out = "HTTP " + std::to_string (http_status);
  if (!code.empty ())
    out += (out.empty () ? "" : " ") + std::string ("(") + code + ")";
  if (!message.empty ())
    out += (out.empty () ? "" : ": ") + message;
  if (!context.empty ())
    out += (out.empty () ? "" : " ") + std::string ("(") + context + ")";
  return out;
}

ServiceError parse_error_body (int http_status, const std::string &body)
{
  ServiceError e;
  e.http_status = http_status;
  ParserPtr parser;
  JsonObject *obj = body.empty () ? nullptr :
                                    parse_object (parser, body, nullptr);
  if (JsonObject *err = object_member (obj, "error")) {
    e.type = string_member (err, "type");
    e.code = string_member (err, "code");
    e.message = string_member (err, "message");
  }
  if (e.message.empty ()) {
    /* Empty or non-JSON body: say so rather than quoting noise. */
    e.message = body.empty () ? "the reply had an empty body" :
                                "the reply was not a JSON error (" +
            std::to_string (body.size ()) + " bytes)";
  }
  return e;
}

std::optional<ServerEvent> parse_server_event (const std::string &text,
    std::string *error)
{
  ParserPtr parser;
  JsonObject *obj = parse_object (parser, text, error);
  if (!obj)
    return std::nullopt;
  ServerEvent ev;
  ev.root.reset (json_parser_steal_root (parser.get ()), json_node_unref);
  ev.type = string_member (obj, "type");
  if (ev.type.empty ()) {
    if (error)
      *error = "the event has no string \"type\"";
    return std::nullopt;
  }
  if (JsonObject *err = object_member (obj, "error")) {
    ev.error_code = string_member (err, "code");
    ev.error_message = string_member (err, "message");
  }
  return ev;
}

JsonObject *ServerEvent::object () const
{
  return root && JSON_NODE_HOLDS_OBJECT (root.get ()) ?
      json_node_get_object (root.get ()) :
      nullptr;
}

bool is_known_server_event (const std::string &type)
{
  /* The RealtimeServerEvent types of the service's API description. */
  static constexpr std::string_view known[] = {
    "conversation.created",
    "conversation.item.added",
    "conversation.item.created",
    "conversation.item.deleted",
    "conversation.item.done",
    "conversation.item.input_audio_transcription.completed",
    "conversation.item.input_audio_transcription.delta",
    "conversation.item.input_audio_transcription.failed",
    "conversation.item.input_audio_transcription.segment",
    "conversation.item.retrieved",
    "conversation.item.truncated",
    "error",
    "input_audio_buffer.cleared",
    "input_audio_buffer.committed",
    "input_audio_buffer.dtmf_event_received",
    "input_audio_buffer.speech_started",
    "input_audio_buffer.speech_stopped",
    "input_audio_buffer.timeout_triggered",
    "mcp_list_tools.completed",
    "mcp_list_tools.failed",
    "mcp_list_tools.in_progress",
    "output_audio_buffer.cleared",
    "output_audio_buffer.started",
    "output_audio_buffer.stopped",
    "rate_limits.updated",
    "response.content_part.added",
    "response.content_part.done",
    "response.created",
    "response.done",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.mcp_call.completed",
    "response.mcp_call.failed",
    "response.mcp_call.in_progress",
    "response.mcp_call_arguments.delta",
    "response.mcp_call_arguments.done",
    "response.output_audio.delta",
    "response.output_audio.done",
    "response.output_audio_transcript.delta",
    "response.output_audio_transcript.done",
    "response.output_item.added",
    "response.output_item.done",
    "response.output_text.delta",
    "response.output_text.done",
    "session.created",
    "session.updated",
  };
  for (std::string_view k : known)
    if (k == type)
      return true;
  return false;
}

std::optional<std::string> check_client_event (const std::string &text,
    std::string *error)
{
  ParserPtr parser;
  JsonObject *obj = parse_object (parser, text, error);
  if (!obj)
    return std::nullopt;
  std::string type = string_member (obj, "type");
  if (type.empty ()) {
    if (error)
      *error = "the event has no string \"type\"";
    return std::nullopt;
  }
  return type;
}

}  // namespace rt
