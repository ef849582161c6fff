#include "agent.h"

#include "image.h"
#include "json_util.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace rts {

namespace {

JsonObject *new_event(const char *type) {
  JsonObject *ev = json_object_new();
  json_object_set_string_member(ev, "type", type);
  return ev;
}

void set_string_or_null(JsonObject *obj, const char *name, const std::string &value) {
  if (value.empty())
    json_object_set_null_member(obj, name);
  else
    json_object_set_string_member(obj, name, value.c_str());
}

std::string format_seconds(double seconds) {
  char buf[32];
  g_snprintf(buf, sizeof buf, "%.1f", seconds);
  return buf;
}

const char *const kClientEventTypes =
    "'session.update', 'input_audio_buffer.append', 'input_audio_buffer.commit', "
    "'input_audio_buffer.clear', 'conversation.item.create', 'conversation.item.retrieve', "
    "'conversation.item.truncate', 'conversation.item.delete', 'response.create', "
    "'response.cancel', and 'output_audio_buffer.clear'";

constexpr double kTextWordIntervalMs = 30;   // text-only replies stream a word this often
constexpr double kMinCommitMs = 100;         // the service refuses smaller manual commits
constexpr long kArgumentDeltaChars = 16;     // function arguments stream this much per delta
constexpr long kMaxToolOutputChars = 200;    // how much of a tool's output the reply quotes
// The data channel limit both ways with webrtcbin 1.22 (no a=max-message-size in its SDP).
constexpr size_t kMaxEventBytes = 65536;

// Azure's ?webrtcfilter=on: the only events that still reach the client. This server's reading
// of Azure's description, not confirmed against the service: speech and audio buffer signals,
// items added, and transcripts and text; no session, error, response or function call events.
const char *const kFilteredEvents[] = {
    "input_audio_buffer.speech_started",
    "input_audio_buffer.speech_stopped",
    "output_audio_buffer.started",
    "output_audio_buffer.stopped",
    "conversation.item.input_audio_transcription.completed",
    "conversation.item.added",
    "conversation.item.created",
    "response.output_text.delta",
    "response.output_text.done",
    "response.output_audio_transcript.delta",
    "response.output_audio_transcript.done",
};

bool passes_filter(const std::string &type) {
  for (const char *allowed : kFilteredEvents)
    if (type == allowed) return true;
  return false;
}

// An echoed item too big for one data channel message loses the data of its images (webrtcbin
// cannot send it at all otherwise). True if anything was removed.
bool strip_image_data(JsonObject *event) {
  JsonObject *item = get_object(event, "item");
  JsonNode *content = item ? json_object_get_member(item, "content") : nullptr;
  if (!content || !JSON_NODE_HOLDS_ARRAY(content)) return false;
  bool stripped = false;
  JsonArray *parts = json_node_get_array(content);
  for (guint i = 0; i < json_array_get_length(parts); i++) {
    JsonNode *node = json_array_get_element(parts, i);
    JsonObject *part = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : nullptr;
    if (get_string(part, "type") == "input_image" && json_object_has_member(part, "image_url")) {
      json_object_remove_member(part, "image_url");
      stripped = true;
    }
  }
  return stripped;
}

// Characters a function name may hold; a name only counts in text where it stands alone.
bool is_name_char(char c) { return g_ascii_isalnum(c) || c == '_' || c == '-'; }

// Where name first occurs in text as a whole word (not inside a longer name), or npos.
size_t find_name(const std::string &text, const std::string &name) {
  for (size_t pos = text.find(name); pos != std::string::npos; pos = text.find(name, pos + 1)) {
    size_t end = pos + name.size();
    if ((pos == 0 || !is_name_char(text[pos - 1])) &&
        (end == text.size() || !is_name_char(text[end])))
      return pos;
  }
  return std::string::npos;
}

// The first balanced {...} in text from `from` on (braces inside JSON strings do not count),
// if it is valid JSON; otherwise "{}".
std::string arguments_from(const std::string &text, size_t from) {
  size_t open = text.find('{', from);
  if (open == std::string::npos) return "{}";
  int depth = 0;
  bool in_string = false, escaped = false;
  for (size_t i = open; i < text.size(); i++) {
    char c = text[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{') {
      depth++;
    } else if (c == '}' && --depth == 0) {
      std::string candidate = text.substr(open, i - open + 1);
      return is_strict_json(candidate) ? candidate : "{}";
    }
  }
  return "{}";
}

// At most max characters of UTF-8 text (invalid sequences replaced first).
std::string utf8_prefix(const std::string &text, long max) {
  gchar *valid = g_utf8_make_valid(text.c_str(), static_cast<gssize>(text.size()));
  std::string out = valid;
  if (g_utf8_strlen(valid, -1) > max)
    out.assign(valid, g_utf8_offset_to_pointer(valid, max) - valid);
  g_free(valid);
  return out;
}

}  // namespace

// One response being generated. Its audio may outlive it (the pacer keeps playing the tail
// after response.done, as the service's output buffer does).
struct Agent::Response {
  Response() : cancel(g_cancellable_new()) {}
  ~Response() {
    g_cancellable_cancel(cancel);  // drop a synthesis still running
    g_object_unref(cancel);
    if (text_timer) g_source_remove(text_timer);
  }
  Response(const Response &) = delete;
  Response &operator=(const Response &) = delete;

  std::string id = make_id("resp");
  std::string item_id = make_id("item");
  bool audio = true;  // output modality audio (else text)
  std::string text;
  std::vector<std::string> words;
  size_t words_sent = 0;
  std::string said;  // transcript of the words sent so far
  bool item_added = false;
  // A function call instead of speech or text: its call, and how much of the arguments went.
  bool function_call = false;
  std::string call_id, name, arguments;
  size_t arguments_sent = 0;
  double audio_ms = 0;
  GCancellable *cancel;
  guint text_timer = 0;
  gint64 text_start_us = 0;
};

Agent::Agent(AgentHost &host, const Options &options, const Session &session, SpeechSynth &synth,
             bool webrtc_filter)
    : host_(host),
      options_(options),
      session_(session),
      synth_(synth),
      pacer_([this](const int16_t *s, size_t n) { host_.push_audio(s, n); }),
      conversation_id_(make_id("conv")),
      webrtc_filter_(webrtc_filter) {
  session_.set_expires_at(g_get_real_time() / G_USEC_PER_SEC + options.max_call_seconds);
  turn_ = session_.turn_detection();
  vad_.configure(turn_);
}

Agent::~Agent() {
  response_.reset();
  pacer_.stop();
  for (auto &item : items_) json_object_unref(item.second);
}

void Agent::emit(JsonObject *event) {
  json_object_set_string_member(event, "event_id", make_id("event").c_str());
  if (webrtc_filter_ && !passes_filter(get_string(event, "type"))) {
    json_object_unref(event);
    return;
  }
  std::string text = to_json(event);
  if (text.size() > kMaxEventBytes && strip_image_data(event)) {
    g_message("%s of %zu bytes: image data left out to fit the data channel",
              get_string(event, "type").c_str(), text.size());
    text = to_json(event);
  }
  host_.send_text(text);
  json_object_unref(event);
}

void Agent::send_error(const char *code, const std::string &message, const char *param,
                       JsonObject *client_event) {
  JsonObject *err = json_object_new();
  json_object_set_string_member(err, "type", "invalid_request_error");
  json_object_set_string_member(err, "code", code);
  json_object_set_string_member(err, "message", message.c_str());
  set_string_or_null(err, "param", param ? param : "");
  set_string_or_null(err, "event_id", get_string(client_event, "event_id"));
  JsonObject *ev = new_event("error");
  json_object_set_object_member(ev, "error", err);
  emit(ev);
}

void Agent::on_channel_open() {
  JsonObject *ev = new_event("session.created");
  json_object_set_object_member(ev, "session", copy_object(session_.object()));
  emit(ev);
}

void Agent::on_session_expired() {
  response_.reset();
  stop_audio();
  JsonObject *err = json_object_new();
  json_object_set_string_member(err, "type", "invalid_request_error");
  json_object_set_string_member(err, "code", "session_expired");
  // The service words it like this whatever the limit was.
  json_object_set_string_member(err, "message",
                                "Your session hit the maximum duration of 60 minutes.");
  json_object_set_null_member(err, "param");
  json_object_set_null_member(err, "event_id");
  JsonObject *ev = new_event("error");
  json_object_set_object_member(ev, "error", err);
  emit(ev);
}

void Agent::on_client_event(JsonNode *node, const std::string &parse_error,
                            size_t message_bytes) {
  if (!node || !JSON_NODE_HOLDS_OBJECT(node)) {
    send_error("invalid_json",
               "The server could not parse the event as JSON: " +
                   (node ? std::string("expected an object") : parse_error),
               nullptr, nullptr);
    return;
  }
  JsonObject *event = json_node_get_object(node);
  if (!has_member_of_type(event, "type", JSON_NODE_VALUE) || get_string(event, "type").empty()) {
    send_error("missing_required_parameter", "Missing required parameter: 'type'.", "type",
               event);
    return;
  }
  std::string type = get_string(event, "type");
  if (type == "session.update") {
    handle_session_update(event);
  } else if (type == "response.create") {
    if (response_) {
      send_error("conversation_already_has_active_response",
                 "Conversation already has an active response in progress: " + response_->id +
                     ". Wait until the response is finished before creating a new one.",
                 nullptr, event);
      return;
    }
    JsonObject *params = get_object(event, "response");
    SessionError error;
    if (params &&
        (!Session::validate_tools(json_object_get_member(params, "tools"), "response", &error) ||
         !Session::validate_tool_choice(json_object_get_member(params, "tool_choice"),
                                        "response", &error))) {
      send_error(error.code.c_str(), error.message, error.param.c_str(), event);
      return;
    }
    start_response(params);
  } else if (type == "response.cancel") {
    if (!response_) {
      send_error("response_cancel_not_active",
                 "Cancellation failed: no active response found", nullptr, event);
      return;
    }
    bool had_audio = pacer_.playing();
    std::string playing = playing_response_id_;
    stop_audio();
    finish_response("cancelled", "client_cancelled");
    if (had_audio) {
      JsonObject *ev = new_event("output_audio_buffer.stopped");
      json_object_set_string_member(ev, "response_id", playing.c_str());
      emit(ev);
    }
  } else if (type == "output_audio_buffer.clear") {
    handle_output_clear();
  } else if (type == "conversation.item.create") {
    handle_item_create(event, message_bytes);
  } else if (type == "conversation.item.retrieve") {
    handle_item_retrieve(event);
  } else if (type == "conversation.item.delete") {
    handle_item_delete(event);
  } else if (type == "conversation.item.truncate") {
    handle_item_truncate(event);
  } else if (type == "input_audio_buffer.commit") {
    handle_commit(event);
  } else if (type == "input_audio_buffer.clear") {
    handle_input_clear();
  } else if (type == "input_audio_buffer.append") {
    // Over WebRTC the caller's audio comes as media; appended audio is accepted and ignored.
  } else {
    send_error("invalid_value",
               "Invalid value: '" + type + "'. Supported values are: " + kClientEventTypes + ".",
               "type", event);
  }
}

void Agent::handle_session_update(JsonObject *event) {
  JsonObject *patch = get_object(event, "session");
  if (!patch) {
    send_error("missing_required_parameter", "Missing required parameter: 'session'.",
               "session", event);
    return;
  }
  SessionError error;
  if (!session_.update(patch, voice_locked_, &error)) {
    send_error(error.code.c_str(), error.message, error.param.c_str(), event);
    return;
  }
  turn_ = session_.turn_detection();
  vad_.configure(turn_);
  if (!turn_.enabled) vad_.reset();
  host_.instructions_changed(get_string(session_.object(), "instructions"));
  JsonObject *ev = new_event("session.updated");
  json_object_set_object_member(ev, "session", copy_object(session_.object()));
  emit(ev);
}

void Agent::add_item(JsonObject *item, const std::string *after) {
  std::string id = get_string(item, "id");
  auto it = items_.find(id);
  auto pos = std::find(item_order_.begin(), item_order_.end(), id);
  if (it != items_.end()) json_object_unref(it->second);
  if (pos == item_order_.end() || after) {
    // A new item, or one moved: appended, first, or after the named item.
    if (pos != item_order_.end()) item_order_.erase(pos);
    pos = item_order_.end();
    if (after && after->empty()) {
      pos = item_order_.begin();
    } else if (after) {
      pos = std::find(item_order_.begin(), item_order_.end(), *after);
      if (pos != item_order_.end()) ++pos;
    }
    pos = item_order_.insert(pos, id);
  }
  std::string previous = pos == item_order_.begin() ? "" : *(pos - 1);
  items_[id] = item;
  for (const char *type : {"conversation.item.added", "conversation.item.done"}) {
    JsonObject *ev = new_event(type);
    set_string_or_null(ev, "previous_item_id", previous);
    json_object_set_object_member(ev, "item", copy_object(item));
    emit(ev);
  }
}

JsonObject *Agent::find_item(const std::string &id) const {
  auto it = items_.find(id);
  return it == items_.end() ? nullptr : it->second;
}

bool Agent::check_message(JsonObject *item, JsonObject *event, size_t message_bytes,
                          std::vector<ReceivedImage> *images) {
  std::string role = get_string(item, "role");
  const char *const *allowed = nullptr;
  static const char *const kUser[] = {"input_text", "input_audio", "input_image", nullptr};
  static const char *const kAssistant[] = {"output_text", "output_audio", nullptr};
  static const char *const kSystem[] = {"input_text", nullptr};
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
    send_error("invalid_value",
               "Invalid value: '" + role +
                   "'. Supported values are: 'user', 'assistant', and 'system'.",
               "item.role", event);
    return false;
  }
  JsonNode *content = json_object_get_member(item, "content");
  if (!content || !JSON_NODE_HOLDS_ARRAY(content)) {
    send_error("missing_required_parameter", "Missing required parameter: 'item.content'.",
               "item.content", event);
    return false;
  }
  JsonArray *parts = json_node_get_array(content);
  for (guint i = 0; i < json_array_get_length(parts); i++) {
    JsonNode *node = json_array_get_element(parts, i);
    JsonObject *part = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : nullptr;
    std::string type = get_string(part, "type");
    std::string param = "item.content[" + std::to_string(i) + "]";
    bool known = false;
    for (const char *const *a = allowed; *a; a++) known = known || type == *a;
    if (!known) {
      send_error("invalid_value",
                 "Invalid value: '" + type + "'. Supported values are: " + supported + ".",
                 (param + ".type").c_str(), event);
      return false;
    }
    if ((type == "input_text" || type == "output_text") &&
        !has_member_of_type(part, "text", JSON_NODE_VALUE)) {
      send_error("missing_required_parameter",
                 "Missing required parameter: '" + param + ".text'.", (param + ".text").c_str(),
                 event);
      return false;
    }
    if (type == "input_image") {
      // The service only takes images inline, as JPEG or PNG data URLs.
      const std::string url_param = param + ".image_url";
      ImageInfo info;
      std::string why;
      if (!has_member_of_type(part, "image_url", JSON_NODE_VALUE) ||
          json_node_get_value_type(json_object_get_member(part, "image_url")) != G_TYPE_STRING) {
        send_error("invalid_value",
                   "Missing required parameter: '" + url_param +
                       "'. Expected a base64-encoded data URL with an image/jpeg or image/png "
                       "MIME type.",
                   url_param.c_str(), event);
        return false;
      }
      if (!parse_image_data_url(get_string(part, "image_url"), &info, &why)) {
        send_error("invalid_value", "Invalid '" + url_param + "': " + why, url_param.c_str(),
                   event);
        return false;
      }
      std::string detail = "auto";
      if (json_object_has_member(part, "detail")) {
        JsonNode *node = json_object_get_member(part, "detail");
        bool is_string =
            JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_STRING;
        detail = is_string ? json_node_get_string(node) : "";
        if (detail != "auto" && detail != "low" && detail != "high") {
          send_error("invalid_value",
                     "Invalid value: '" + detail +
                         "'. Supported values are: 'auto', 'low', and 'high'.",
                     (param + ".detail").c_str(), event);
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
      images->push_back(image);
    }
  }
  return true;
}

bool Agent::check_function_output(JsonObject *item, JsonObject *event) {
  for (const char *member : {"call_id", "output"}) {
    const std::string param = std::string("item.") + member;
    JsonNode *node = json_object_get_member(item, member);
    if (!node) {
      send_error("missing_required_parameter", "Missing required parameter: '" + param + "'.",
                 param.c_str(), event);
      return false;
    }
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING) {
      send_error("invalid_type",
                 "Invalid type for '" + param + "': expected a string, but got " +
                     (JSON_NODE_HOLDS_NULL(node)     ? "null"
                      : JSON_NODE_HOLDS_OBJECT(node) ? "an object"
                      : JSON_NODE_HOLDS_ARRAY(node)  ? "an array"
                                                     : "a non-string value") +
                     " instead.",
                 param.c_str(), event);
      return false;
    }
  }
  return true;
}

void Agent::handle_item_create(JsonObject *event, size_t message_bytes) {
  JsonObject *requested = get_object(event, "item");
  if (!requested) {
    send_error("missing_required_parameter", "Missing required parameter: 'item'.", "item",
               event);
    return;
  }
  std::vector<ReceivedImage> images;
  if (get_string(requested, "type") == "message" &&
      !check_message(requested, event, message_bytes, &images))
    return;
  if (get_string(requested, "type") == "function_call_output" &&
      !check_function_output(requested, event))
    return;
  // previous_item_id: "root" puts the item first, an existing id after that item.
  bool placed = has_member_of_type(event, "previous_item_id", JSON_NODE_VALUE);
  std::string after = get_string(event, "previous_item_id");
  if (placed && after == "root") after.clear();
  if (placed && !after.empty() && !find_item(after)) {
    send_error("item_not_found", "Item with id '" + after + "' not found.", "previous_item_id",
               event);
    return;
  }
  JsonObject *item = copy_object(requested);
  if (get_string(item, "id").empty())
    json_object_set_string_member(item, "id", make_id("item").c_str());
  if (find_item(get_string(item, "id"))) {
    send_error("item_already_exists",
               "Item with id '" + get_string(item, "id") + "' already exists.", "item.id", event);
    json_object_unref(item);
    return;
  }
  json_object_set_string_member(item, "object", "realtime.item");
  std::string type = get_string(item, "type");
  if (type == "message" || type == "function_call")
    json_object_set_string_member(item, "status", "completed");
  add_item(item, placed ? &after : nullptr);
  host_.item_created(item);
  for (ReceivedImage &image : images) {
    image.item_id = get_string(item, "id");
    host_.image_received(image);
    images_pending_++;
    last_image_width_ = image.width;
    last_image_height_ = image.height;
  }
  const std::string call_id = get_string(item, "call_id");
  if (type == "function_call" && !call_id.empty() && !get_string(item, "name").empty()) {
    // History the client replays: the call's name is known from now on.
    call_names_.emplace(call_id, get_string(item, "name"));
  } else if (type == "function_call_output") {
    // Like the service, an output for a call it never made is taken as it comes.
    bool issued = issued_calls_.count(call_id) > 0;
    if (!issued)
      g_message("function_call_output for call_id '%s', which was never issued",
                call_id.c_str());
    auto name = call_names_.find(call_id);
    host_.function_output(call_id, issued, name == call_names_.end() ? "" : name->second,
                          get_string(item, "output"));
    pending_output_ = std::make_pair(call_id, get_string(item, "output"));
  }
}

void Agent::handle_item_retrieve(JsonObject *event) {
  std::string id = get_string(event, "item_id");
  JsonObject *item = find_item(id);
  if (!item) {
    send_error("item_not_found", "Item with item_id '" + id + "' not found.", "item_id", event);
    return;
  }
  JsonObject *ev = new_event("conversation.item.retrieved");
  json_object_set_object_member(ev, "item", copy_object(item));
  emit(ev);
}

void Agent::handle_item_delete(JsonObject *event) {
  std::string id = get_string(event, "item_id");
  JsonObject *item = find_item(id);
  if (!item) {
    send_error("item_not_found", "Item with item_id '" + id + "' not found.", "item_id", event);
    return;
  }
  json_object_unref(item);
  items_.erase(id);
  for (auto it = item_order_.begin(); it != item_order_.end(); ++it) {
    if (*it == id) {
      item_order_.erase(it);
      break;
    }
  }
  JsonObject *ev = new_event("conversation.item.deleted");
  json_object_set_string_member(ev, "item_id", id.c_str());
  emit(ev);
}

void Agent::handle_item_truncate(JsonObject *event) {
  std::string id = get_string(event, "item_id");
  if (!find_item(id)) {
    send_error("item_not_found", "Item with item_id '" + id + "' not found.", "item_id", event);
    return;
  }
  JsonObject *ev = new_event("conversation.item.truncated");
  json_object_set_string_member(ev, "item_id", id.c_str());
  json_object_set_int_member(ev, "content_index",
                             static_cast<gint64>(get_number(event, "content_index", 0)));
  json_object_set_int_member(ev, "audio_end_ms",
                             static_cast<gint64>(get_number(event, "audio_end_ms", 0)));
  emit(ev);
}

void Agent::handle_commit(JsonObject *event) {
  if (buffer_ms_ < kMinCommitMs) {
    char msg[200];
    g_snprintf(msg, sizeof msg,
               "Error committing input audio buffer: buffer too small. Expected at least 100ms "
               "of audio, but buffer only has %.2fms of audio.",
               buffer_ms_);
    send_error("input_audio_buffer_commit_empty", msg, nullptr, event);
    return;
  }
  vad_.reset();
  std::string id = speech_item_id_.empty() ? make_id("item") : speech_item_id_;
  speech_item_id_.clear();
  heard_seconds_ = buffer_ms_ / 1000.0;
  commit_user_audio(id, heard_seconds_);
}

void Agent::handle_input_clear() {
  buffer_ms_ = 0;
  vad_.reset();
  speech_item_id_.clear();
  emit(new_event("input_audio_buffer.cleared"));
}

void Agent::handle_output_clear() {
  bool had_audio = pacer_.playing();
  std::string id = had_audio ? playing_response_id_ : last_response_id_;
  if (id.empty() && response_) id = response_->id;
  stop_audio();
  JsonObject *ev = new_event("output_audio_buffer.cleared");
  json_object_set_string_member(ev, "response_id", id.c_str());
  emit(ev);
  if (response_) finish_response("cancelled", "client_cancelled");
}

void Agent::on_input_audio(double rms, double chunk_ms) {
  input_ms_ += chunk_ms;
  buffer_ms_ += chunk_ms;
  if (!turn_.enabled) return;
  switch (vad_.feed(rms, input_ms_, chunk_ms)) {
    case EnergyVad::Change::None:
      break;
    case EnergyVad::Change::Started: {
      speech_item_id_ = make_id("item");
      JsonObject *ev = new_event("input_audio_buffer.speech_started");
      json_object_set_int_member(ev, "audio_start_ms", vad_.audio_start_ms());
      json_object_set_string_member(ev, "item_id", speech_item_id_.c_str());
      emit(ev);
      // Barge-in: the caller talks over the agent, so the agent stops at once.
      if (turn_.interrupt_response && (pacer_.playing() || response_)) {
        bool had_audio = pacer_.playing();
        std::string playing = playing_response_id_;
        stop_audio();
        if (had_audio) {
          JsonObject *cleared = new_event("output_audio_buffer.cleared");
          json_object_set_string_member(cleared, "response_id", playing.c_str());
          emit(cleared);
        }
        if (response_) finish_response("cancelled", "turn_detected");
      }
      break;
    }
    case EnergyVad::Change::Stopped: {
      JsonObject *ev = new_event("input_audio_buffer.speech_stopped");
      json_object_set_int_member(ev, "audio_end_ms", vad_.audio_end_ms());
      json_object_set_string_member(ev, "item_id", speech_item_id_.c_str());
      emit(ev);
      std::string id = speech_item_id_;
      speech_item_id_.clear();
      heard_seconds_ = vad_.speech_seconds();
      commit_user_audio(id, heard_seconds_);
      if (turn_.create_response && !response_) start_response(nullptr);
      break;
    }
  }
}

void Agent::commit_user_audio(const std::string &item_id, double seconds) {
  buffer_ms_ = 0;
  JsonObject *ev = new_event("input_audio_buffer.committed");
  set_string_or_null(ev, "previous_item_id", item_order_.empty() ? "" : item_order_.back());
  json_object_set_string_member(ev, "item_id", item_id.c_str());
  emit(ev);

  JsonObject *item = json_object_new();
  json_object_set_string_member(item, "id", item_id.c_str());
  json_object_set_string_member(item, "object", "realtime.item");
  json_object_set_string_member(item, "type", "message");
  json_object_set_string_member(item, "status", "completed");
  json_object_set_string_member(item, "role", "user");
  JsonArray *content = json_array_new();
  JsonObject *part = json_object_new();
  json_object_set_string_member(part, "type", "input_audio");
  json_array_add_object_element(content, part);
  json_object_set_array_member(item, "content", content);
  add_item(item);

  if (session_.transcription_enabled()) {
    // No recogniser here: the "transcript" says how much speech there was, which is what
    // tests can check.
    JsonObject *done = new_event("conversation.item.input_audio_transcription.completed");
    json_object_set_string_member(done, "item_id", item_id.c_str());
    json_object_set_int_member(done, "content_index", 0);
    std::string transcript = "(" + format_seconds(seconds) + " seconds of speech)";
    json_object_set_string_member(done, "transcript", transcript.c_str());
    JsonObject *usage = json_object_new();
    json_object_set_string_member(usage, "type", "duration");
    json_object_set_double_member(usage, "seconds", std::round(seconds * 10) / 10);
    json_object_set_object_member(done, "usage", usage);
    emit(done);
  }
}

JsonObject *Agent::response_object(const char *status) const {
  const Response &r = *response_;
  JsonObject *resp = json_object_new();
  json_object_set_string_member(resp, "object", "realtime.response");
  json_object_set_string_member(resp, "id", r.id.c_str());
  json_object_set_string_member(resp, "status", status);
  json_object_set_string_member(resp, "conversation_id", conversation_id_.c_str());
  JsonArray *mods = json_array_new();
  json_array_add_string_element(mods, r.audio ? "audio" : "text");
  json_object_set_array_member(resp, "output_modalities", mods);
  json_object_set_string_member(resp, "max_output_tokens", "inf");
  JsonObject *audio = json_object_new();
  JsonObject *output = json_object_new();
  json_object_set_member(output, "format", json_literal(R"({"type":"audio/pcm","rate":24000})"));
  json_object_set_string_member(output, "voice", session_.voice().c_str());
  json_object_set_object_member(audio, "output", output);
  json_object_set_object_member(resp, "audio", audio);
  JsonArray *out = json_array_new();
  if (r.item_added) json_array_add_object_element(out, assistant_item(status == std::string("completed") ? "completed" : "incomplete"));
  json_object_set_array_member(resp, "output", out);
  return resp;
}

JsonObject *Agent::assistant_item(const char *status) const {
  const Response &r = *response_;
  JsonObject *item = json_object_new();
  json_object_set_string_member(item, "id", r.item_id.c_str());
  json_object_set_string_member(item, "object", "realtime.item");
  if (r.function_call) {
    json_object_set_string_member(item, "type", "function_call");
    json_object_set_string_member(item, "status", status);
    json_object_set_string_member(item, "call_id", r.call_id.c_str());
    json_object_set_string_member(item, "name", r.name.c_str());
    std::string arguments =
        strcmp(status, "in_progress") == 0 ? "" : r.arguments.substr(0, r.arguments_sent);
    json_object_set_string_member(item, "arguments", arguments.c_str());
    return item;
  }
  json_object_set_string_member(item, "type", "message");
  json_object_set_string_member(item, "status", status);
  json_object_set_string_member(item, "role", "assistant");
  JsonArray *content = json_array_new();
  if (strcmp(status, "in_progress") != 0) {
    JsonObject *part = json_object_new();
    json_object_set_string_member(part, "type", r.audio ? "output_audio" : "output_text");
    json_object_set_string_member(part, r.audio ? "transcript" : "text", r.said.c_str());
    json_array_add_object_element(content, part);
  }
  json_object_set_array_member(item, "content", content);
  return item;
}

void Agent::start_response(JsonObject *params) {
  response_ = std::make_unique<Response>();
  Response &r = *response_;
  JsonNode *mods = params ? json_object_get_member(params, "output_modalities") : nullptr;
  if (mods && JSON_NODE_HOLDS_ARRAY(mods) && json_array_get_length(json_node_get_array(mods)) > 0) {
    const char *m = json_array_get_string_element(json_node_get_array(mods), 0);
    r.audio = m && strcmp(m, "audio") == 0;
  } else {
    r.audio = session_.audio_output();
  }
  r.function_call = plan_function_call(params, &r.name, &r.arguments);
  if (r.function_call) {
    r.call_id = "call_" + random_hex(8);
  } else {
    r.text = reply_text();
    r.words = split_words(r.text);
  }

  JsonObject *created = new_event("response.created");
  json_object_set_object_member(created, "response", response_object("in_progress"));
  emit(created);

  if (r.function_call) {
    // No audio: the call streams like text, the item first, then its arguments in pieces.
    r.text_timer = g_timeout_add(
        static_cast<guint>(kTextWordIntervalMs),
        [](gpointer self) -> gboolean {
          auto *agent = static_cast<Agent *>(self);
          // As for text below: finishing the response removes this very source.
          agent->emit_argument_delta();
          return agent->response_ ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
        },
        this);
    return;
  }
  if (r.audio) {
    // The response may be cancelled while espeak runs; the cancellable makes sure the
    // callback then never runs, so capturing this is safe.
    synth_.synthesize(r.text, r.cancel, [this](Pcm pcm) { begin_output(std::move(pcm)); });
  } else {
    begin_output(Pcm());
  }
}

bool Agent::plan_function_call(JsonObject *params, std::string *name,
                               std::string *arguments) const {
  // After a tool's output the model speaks about it rather than calling again.
  if (pending_output_) return false;
  // response.create may bring its own tools and tool_choice.
  auto setting = [&](const char *member) {
    return params && json_object_has_member(params, member)
               ? json_object_get_member(params, member)
               : json_object_get_member(session_.object(), member);
  };
  std::vector<std::string> names = Session::tool_names(setting("tools"));
  ToolChoice choice = Session::parse_tool_choice(setting("tool_choice"));
  if (names.empty() || choice.mode == ToolChoice::Mode::None) return false;
  const std::string text = last_user_text();
  if (choice.mode == ToolChoice::Mode::Function) {
    *name = choice.function;
  } else if (choice.mode == ToolChoice::Mode::Required) {
    *name = names.front();
  } else {
    // auto: the tool whose name comes first in what the user wrote, if any.
    size_t first = std::string::npos;
    for (const std::string &candidate : names) {
      size_t pos = find_name(text, candidate);
      if (pos < first) {
        first = pos;
        *name = candidate;
      }
    }
    if (first == std::string::npos) return false;
  }
  size_t pos = find_name(text, *name);
  *arguments = pos == std::string::npos ? "{}" : arguments_from(text, pos + name->size());
  return true;
}

// The input_text of the last user message in the conversation (none for spoken turns).
std::string Agent::last_user_text() const {
  for (auto it = item_order_.rbegin(); it != item_order_.rend(); ++it) {
    JsonObject *item = find_item(*it);
    if (get_string(item, "type") != "message" || get_string(item, "role") != "user") continue;
    std::string text;
    JsonNode *content = json_object_get_member(item, "content");
    JsonArray *parts = content && JSON_NODE_HOLDS_ARRAY(content) ? json_node_get_array(content)
                                                                 : nullptr;
    for (guint i = 0; parts && i < json_array_get_length(parts); i++) {
      JsonNode *node = json_array_get_element(parts, i);
      JsonObject *part = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : nullptr;
      if (get_string(part, "type") != "input_text") continue;
      if (!text.empty()) text += "\n";
      text += get_string(part, "text");
    }
    return text;
  }
  return "";
}

std::string Agent::reply_text() {
  std::string text;
  if (pending_output_) {
    auto name = call_names_.find(pending_output_->first);
    text = "The tool " + (name == call_names_.end() ? std::string("unknown") : name->second) +
           " returned: " + utf8_prefix(pending_output_->second, kMaxToolOutputChars);
    pending_output_.reset();
  } else if (!options_.reply.empty()) {
    text = options_.reply;
  } else {
    text = "Hello from the local realtime server. I heard " +
           format_seconds(heard_seconds_ > 0 ? heard_seconds_ : buffer_ms_ / 1000.0) +
           " seconds of your audio.";
  }
  if (images_pending_ > 0) {
    text += " I can see " + std::to_string(images_pending_) +
            (images_pending_ == 1 ? " image" : " images") + "; the last one is " +
            std::to_string(last_image_width_) + "x" + std::to_string(last_image_height_) +
            " pixels.";
    images_pending_ = 0;
  }
  return text;
}

// The response's item goes into the conversation, in progress.
void Agent::add_output_item() {
  Response &r = *response_;
  JsonObject *added = new_event("response.output_item.added");
  json_object_set_string_member(added, "response_id", r.id.c_str());
  json_object_set_int_member(added, "output_index", 0);
  json_object_set_object_member(added, "item", assistant_item("in_progress"));
  emit(added);
  JsonObject *item = assistant_item("in_progress");
  std::string previous = item_order_.empty() ? "" : item_order_.back();
  JsonObject *conv = new_event("conversation.item.added");
  set_string_or_null(conv, "previous_item_id", previous);
  json_object_set_object_member(conv, "item", copy_object(item));
  emit(conv);
  items_[r.item_id] = item;
  item_order_.push_back(r.item_id);
  r.item_added = true;
}

void Agent::emit_argument_delta() {
  Response &r = *response_;
  if (!r.item_added) {
    add_output_item();
    call_names_[r.call_id] = r.name;
    issued_calls_.insert(r.call_id);
  }
  // The next piece, whole UTF-8 characters only.
  const char *start = r.arguments.c_str() + r.arguments_sent;
  const char *end = start;
  for (long n = 0; *end && n < kArgumentDeltaChars; n++) end = g_utf8_next_char(end);
  JsonObject *ev = new_event("response.function_call_arguments.delta");
  json_object_set_string_member(ev, "response_id", r.id.c_str());
  json_object_set_string_member(ev, "item_id", r.item_id.c_str());
  json_object_set_int_member(ev, "output_index", 0);
  json_object_set_string_member(ev, "call_id", r.call_id.c_str());
  json_object_set_string_member(ev, "delta", std::string(start, end).c_str());
  emit(ev);
  r.arguments_sent = end - r.arguments.c_str();
  if (r.arguments_sent >= r.arguments.size()) finish_response("completed", nullptr);
}

void Agent::begin_output(Pcm pcm) {
  add_output_item();
  Response &r = *response_;

  JsonObject *part_added = new_event("response.content_part.added");
  json_object_set_string_member(part_added, "response_id", r.id.c_str());
  json_object_set_string_member(part_added, "item_id", r.item_id.c_str());
  json_object_set_int_member(part_added, "output_index", 0);
  json_object_set_int_member(part_added, "content_index", 0);
  json_object_set_member(part_added, "part",
                         json_literal(r.audio ? R"({"type":"audio","transcript":""})"
                                              : R"({"type":"text","text":""})"));
  emit(part_added);

  if (!r.audio) {
    // Text-only: stream the words quickly, as the model would.
    r.text_start_us = g_get_monotonic_time();
    r.audio_ms = kTextWordIntervalMs * r.words.size();
    r.text_timer = g_timeout_add(
        static_cast<guint>(kTextWordIntervalMs),
        [](gpointer self) -> gboolean {
          auto *agent = static_cast<Agent *>(self);
          // When the last word finishes the response, ~Response removes this very source;
          // GLib allows that during dispatch and ignores the return value then.
          agent->emit_words_until((g_get_monotonic_time() - agent->response_->text_start_us) /
                                  1000.0);
          return agent->response_ ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
        },
        this);
    return;
  }

  if (pacer_.playing()) {
    // The tail of an earlier reply is cut off by this one.
    JsonObject *stopped = new_event("output_audio_buffer.stopped");
    json_object_set_string_member(stopped, "response_id", playing_response_id_.c_str());
    emit(stopped);
  }
  voice_locked_ = true;
  r.audio_ms = pcm.size() * 1000.0 / kSampleRate;
  playing_response_id_ = r.id;
  host_.set_echo(false);
  JsonObject *started = new_event("output_audio_buffer.started");
  json_object_set_string_member(started, "response_id", r.id.c_str());
  emit(started);
  pacer_.play(std::move(pcm), [this](double played_ms) { emit_words_until(played_ms); },
              [this]() { audio_finished(); });
}

// Word i goes out when playback reaches i/n of the audio, so the transcript follows the voice.
void Agent::emit_words_until(double played_ms) {
  if (!response_ || !response_->item_added) return;
  Response &r = *response_;
  const size_t n = r.words.size();
  while (r.words_sent < n && played_ms >= r.audio_ms * r.words_sent / n) {
    const std::string &word = r.words[r.words_sent++];
    r.said += word;
    JsonObject *ev = new_event(r.audio ? "response.output_audio_transcript.delta"
                                       : "response.output_text.delta");
    json_object_set_string_member(ev, "response_id", r.id.c_str());
    json_object_set_string_member(ev, "item_id", r.item_id.c_str());
    json_object_set_int_member(ev, "output_index", 0);
    json_object_set_int_member(ev, "content_index", 0);
    json_object_set_string_member(ev, "delta", word.c_str());
    emit(ev);
  }
  if (r.words_sent == n) finish_response("completed", nullptr);
}

void Agent::finish_response(const char *status, const char *reason) {
  Response &r = *response_;
  bool completed = strcmp(status, "completed") == 0;
  const char *item_status = completed ? "completed" : "incomplete";
  if (r.item_added && r.function_call) {
    // Also sent when the call was cut short, with the arguments so far.
    const std::string arguments = r.arguments.substr(0, r.arguments_sent);
    JsonObject *done = new_event("response.function_call_arguments.done");
    json_object_set_string_member(done, "response_id", r.id.c_str());
    json_object_set_string_member(done, "item_id", r.item_id.c_str());
    json_object_set_int_member(done, "output_index", 0);
    json_object_set_string_member(done, "call_id", r.call_id.c_str());
    json_object_set_string_member(done, "name", r.name.c_str());
    json_object_set_string_member(done, "arguments", arguments.c_str());
    emit(done);
    host_.function_called(r.call_id, r.name, arguments);
  } else if (r.item_added) {
    JsonObject *done = new_event(r.audio ? "response.output_audio_transcript.done"
                                         : "response.output_text.done");
    json_object_set_string_member(done, "response_id", r.id.c_str());
    json_object_set_string_member(done, "item_id", r.item_id.c_str());
    json_object_set_int_member(done, "output_index", 0);
    json_object_set_int_member(done, "content_index", 0);
    json_object_set_string_member(done, r.audio ? "transcript" : "text", r.said.c_str());
    emit(done);

    JsonObject *part_done = new_event("response.content_part.done");
    json_object_set_string_member(part_done, "response_id", r.id.c_str());
    json_object_set_string_member(part_done, "item_id", r.item_id.c_str());
    json_object_set_int_member(part_done, "output_index", 0);
    json_object_set_int_member(part_done, "content_index", 0);
    JsonObject *part = json_object_new();
    json_object_set_string_member(part, "type", r.audio ? "audio" : "text");
    json_object_set_string_member(part, r.audio ? "transcript" : "text", r.said.c_str());
    json_object_set_object_member(part_done, "part", part);
    emit(part_done);
  }
  if (r.item_added) {
    JsonObject *item_done = new_event("response.output_item.done");
    json_object_set_string_member(item_done, "response_id", r.id.c_str());
    json_object_set_int_member(item_done, "output_index", 0);
    json_object_set_object_member(item_done, "item", assistant_item(item_status));
    emit(item_done);

    JsonObject *final_item = assistant_item(item_status);
    JsonObject *conv_done = new_event("conversation.item.done");
    auto pos = std::find(item_order_.begin(), item_order_.end(), r.item_id);
    set_string_or_null(conv_done, "previous_item_id",
                       pos != item_order_.end() && pos != item_order_.begin() ? *(pos - 1) : "");
    json_object_set_object_member(conv_done, "item", copy_object(final_item));
    emit(conv_done);
    if (JsonObject *old = find_item(r.item_id)) json_object_unref(old);
    items_[r.item_id] = final_item;
  }

  JsonObject *resp = response_object(status);
  if (reason) {
    JsonObject *details = json_object_new();
    json_object_set_string_member(details, "type", status);
    json_object_set_string_member(details, "reason", reason);
    json_object_set_object_member(resp, "status_details", details);
  }
  // Plausible counts: ~10 tokens per second of caller audio, ~1.3 per word of text and
  // ~20 per second of generated audio.
  gint64 in_audio = static_cast<gint64>(heard_seconds_ * 10);
  gint64 in_text = 120;
  gint64 out_text = r.function_call ? 5 + static_cast<gint64>(std::ceil(r.arguments_sent / 4.0))
                                    : static_cast<gint64>(std::ceil(r.words_sent * 1.3));
  gint64 out_audio = r.audio ? static_cast<gint64>(r.audio_ms / 1000.0 * 20 * r.words_sent /
                                                   std::max<size_t>(1, r.words.size()))
                             : 0;
  JsonObject *usage = json_object_new();
  json_object_set_int_member(usage, "total_tokens", in_audio + in_text + out_text + out_audio);
  json_object_set_int_member(usage, "input_tokens", in_audio + in_text);
  json_object_set_int_member(usage, "output_tokens", out_text + out_audio);
  JsonObject *in_details = json_object_new();
  json_object_set_int_member(in_details, "text_tokens", in_text);
  json_object_set_int_member(in_details, "audio_tokens", in_audio);
  json_object_set_int_member(in_details, "image_tokens", 0);
  json_object_set_int_member(in_details, "cached_tokens", 0);
  json_object_set_object_member(usage, "input_token_details", in_details);
  JsonObject *out_details = json_object_new();
  json_object_set_int_member(out_details, "text_tokens", out_text);
  json_object_set_int_member(out_details, "audio_tokens", out_audio);
  json_object_set_object_member(usage, "output_token_details", out_details);
  json_object_set_object_member(resp, "usage", usage);
  json_object_set_null_member(resp, "metadata");

  last_response_id_ = r.id;
  response_.reset();
  JsonObject *ev = new_event("response.done");
  json_object_set_object_member(ev, "response", resp);
  emit(ev);
  emit_rate_limits(in_audio + in_text + out_text + out_audio);
}

// As the service does after each response: the request made and the tokens it used, against
// plausible per-minute limits that refill at once (each report stands alone).
void Agent::emit_rate_limits(gint64 tokens_used) {
  constexpr gint64 kRequestLimit = 5000, kTokenLimit = 400000;
  JsonArray *limits = json_array_new();
  JsonObject *requests = json_object_new();
  json_object_set_string_member(requests, "name", "requests");
  json_object_set_int_member(requests, "limit", kRequestLimit);
  json_object_set_int_member(requests, "remaining", kRequestLimit - 1);
  json_object_set_double_member(requests, "reset_seconds", 0.012);
  json_array_add_object_element(limits, requests);
  JsonObject *tokens = json_object_new();
  json_object_set_string_member(tokens, "name", "tokens");
  json_object_set_int_member(tokens, "limit", kTokenLimit);
  json_object_set_int_member(tokens, "remaining", kTokenLimit - tokens_used);
  json_object_set_double_member(tokens, "reset_seconds",
                                std::round(tokens_used * 60.0 / kTokenLimit * 1000) / 1000);
  json_array_add_object_element(limits, tokens);
  JsonObject *ev = new_event("rate_limits.updated");
  json_object_set_array_member(ev, "rate_limits", limits);
  emit(ev);
}

void Agent::stop_audio() {
  pacer_.stop();
  host_.set_echo(true);
}

void Agent::audio_finished() {
  host_.set_echo(true);
  JsonObject *ev = new_event("output_audio_buffer.stopped");
  json_object_set_string_member(ev, "response_id", playing_response_id_.c_str());
  emit(ev);
}

}  // namespace rts
