#include "protocol.h"

#include "json_scan.h"

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

std::string to_string (JsonBuilder *builder)
{
  JsonNode *root = json_builder_get_root (builder);
  gchar *text = json_to_string (root, FALSE);
  std::string out (text);
  g_free (text);
  json_node_unref (root);
  return out;
}

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

std::string string_member (JsonObject *obj, const char *name)
{
  if (!obj || !json_object_has_member (obj, name))
    return {};
  JsonNode *n = json_object_get_member (obj, name);
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return {};
  return json_node_get_string (n);
}

JsonObject *object_member (JsonObject *obj, const char *name)
{
  if (!obj || !json_object_has_member (obj, name))
    return nullptr;
  JsonNode *n = json_object_get_member (obj, name);
  return JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : nullptr;
}

/* The session fields shared by minting and session.update. */
void add_session_fields (JsonBuilder *b, const SessionConfig &config,
    bool with_model)
{
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "realtime");
  if (with_model && !config.model.empty ()) {
    json_builder_set_member_name (b, "model");
    json_builder_add_string_value (b, config.model.c_str ());
  }
  if (!config.instructions.empty ()) {
    json_builder_set_member_name (b, "instructions");
    json_builder_add_string_value (b, config.instructions.c_str ());
  }
  if (!config.voice.empty ()) {
    json_builder_set_member_name (b, "audio");
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "output");
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "voice");
    json_builder_add_string_value (b, config.voice.c_str ());
    json_builder_end_object (b);
    json_builder_end_object (b);
  }
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
  add_session_fields (b.get (), config, true);
  json_builder_end_object (b.get ());
  json_builder_end_object (b.get ());
  return to_string (b.get ());
}

std::string build_session_update (const SessionConfig &config)
{
  BuilderPtr b (json_builder_new ());
  json_builder_begin_object (b.get ());
  json_builder_set_member_name (b.get (), "type");
  json_builder_add_string_value (b.get (), "session.update");
  json_builder_set_member_name (b.get (), "session");
  json_builder_begin_object (b.get ());
  add_session_fields (b.get (), config, false);
  json_builder_end_object (b.get ());
  json_builder_end_object (b.get ());
  return to_string (b.get ());
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
