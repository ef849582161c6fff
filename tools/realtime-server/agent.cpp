#include "agent.h"

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
  double audio_ms = 0;
  GCancellable *cancel;
  guint text_timer = 0;
  gint64 text_start_us = 0;
};

Agent::Agent(AgentHost &host, const Options &options, const Session &session, SpeechSynth &synth)
    : host_(host),
      options_(options),
      session_(session),
      synth_(synth),
      pacer_([this](const int16_t *s, size_t n) { host_.push_audio(s, n); }),
      conversation_id_(make_id("conv")) {
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
  host_.send_text(to_json(event));
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

void Agent::on_client_event(JsonNode *node, const std::string &parse_error) {
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
    start_response(get_object(event, "response"));
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
    handle_item_create(event);
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

bool Agent::check_message(JsonObject *item, JsonObject *event) {
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
  }
  return true;
}

void Agent::handle_item_create(JsonObject *event) {
  JsonObject *requested = get_object(event, "item");
  if (!requested) {
    send_error("missing_required_parameter", "Missing required parameter: 'item'.", "item",
               event);
    return;
  }
  if (get_string(requested, "type") == "message" && !check_message(requested, event)) return;
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
  r.text = !options_.reply.empty()
               ? options_.reply
               : "Hello from the local realtime server. I heard " +
                     format_seconds(heard_seconds_ > 0 ? heard_seconds_ : buffer_ms_ / 1000.0) +
                     " seconds of your audio.";
  r.words = split_words(r.text);

  JsonObject *created = new_event("response.created");
  json_object_set_object_member(created, "response", response_object("in_progress"));
  emit(created);

  if (r.audio) {
    // The response may be cancelled while espeak runs; the cancellable makes sure the
    // callback then never runs, so capturing this is safe.
    synth_.synthesize(r.text, r.cancel, [this](Pcm pcm) { begin_output(std::move(pcm)); });
  } else {
    begin_output(Pcm());
  }
}

void Agent::begin_output(Pcm pcm) {
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
  if (r.item_added) {
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
  gint64 out_text = static_cast<gint64>(std::ceil(r.words_sent * 1.3));
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
