/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "agent.h"

#include "agent_internal.h"
#include "image.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace rts {

namespace {

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

bool passes_filter (const std::string &type)
{
  for (const char *allowed : kFilteredEvents)
    if (type == allowed)
      return true;
  return false;
}

// An echoed item too big for one data channel message loses the data of its images (webrtcbin
// cannot send it at all otherwise). True if anything was removed.
bool strip_image_data (JsonObject *event)
{
  JsonObject *item = rt::json::object_member (event, "item");
  JsonNode *content = item ? json_object_get_member (item, "content") : nullptr;
  if (!content || !JSON_NODE_HOLDS_ARRAY (content))
    return false;
  bool stripped = false;
  JsonArray *parts = json_node_get_array (content);
  for (guint i = 0; i < json_array_get_length (parts); i++) {
    JsonNode *node = json_array_get_element (parts, i);
    JsonObject *part = JSON_NODE_HOLDS_OBJECT (node) ?
        json_node_get_object (node) :
        nullptr;
    if (rt::json::string_member (part, "type") == "input_image" &&
        json_object_has_member (part, "image_url")) {
      json_object_remove_member (part, "image_url");
      stripped = true;
    }
  }
  return stripped;
}

}  // namespace

Agent::Agent (AgentHost &host, const Options &options, const Session &session,
    SpeechSynth &synth, Recogniser *recogniser, bool webrtc_filter)
    : host_ (host), options_ (options), session_ (session), synth_ (synth),
      pacer_ ([this] (const int16_t *s, size_t n) { host_.push_audio (s, n); }),
      conversation_id_ (make_id ("conv")), recogniser_ (recogniser),
      webrtc_filter_ (webrtc_filter)
{
  session_.set_expires_at (
      g_get_real_time () / G_USEC_PER_SEC + options.max_call_seconds);
  turn_ = session_.turn_detection ();
  vad_.configure (turn_);
}

Agent::~Agent ()
{
  response_.reset ();
  pacer_.stop ();
  for (auto &item : items_)
    json_object_unref (item.second);
}

void Agent::emit (JsonObject *event)
{
  json_object_set_string_member (event, "event_id", make_id ("event").c_str ());
  if (webrtc_filter_ &&
      !passes_filter (rt::json::string_member (event, "type"))) {
    json_object_unref (event);
    return;
  }
  std::string text = to_json (event);
  if (text.size () > kMaxEventBytes && strip_image_data (event)) {
    g_message ("%s of %zu bytes: image data left out to fit the data channel",
        rt::json::string_member (event, "type").c_str (), text.size ());
    text = to_json (event);
  }
  host_.send_text (text);
  json_object_unref (event);
}

void Agent::send_error (const char *code, const std::string &message,
    const char *param, JsonObject *client_event)
{
  JsonObject *err = json_object_new ();
  json_object_set_string_member (err, "type", "invalid_request_error");
  json_object_set_string_member (err, "code", code);
  json_object_set_string_member (err, "message", message.c_str ());
  set_string_or_null (err, "param", param ? param : "");
  set_string_or_null (err, "event_id",
      rt::json::string_member (client_event, "event_id"));
  JsonObject *ev = new_event ("error");
  json_object_set_object_member (ev, "error", err);
  emit (ev);
}

void Agent::on_channel_open ()
{
  JsonObject *ev = new_event ("session.created");
  json_object_set_object_member (ev, "session",
      copy_object (session_.object ()));
  emit (ev);
}

void Agent::on_session_expired ()
{
  response_.reset ();
  stop_audio ();
  JsonObject *err = json_object_new ();
  json_object_set_string_member (err, "type", "invalid_request_error");
  json_object_set_string_member (err, "code", "session_expired");
  // The service words it like this whatever the limit was.
  json_object_set_string_member (err, "message",
      "Your session hit the maximum duration of 60 minutes.");
  json_object_set_null_member (err, "param");
  json_object_set_null_member (err, "event_id");
  JsonObject *ev = new_event ("error");
  json_object_set_object_member (ev, "error", err);
  emit (ev);
}

void Agent::on_client_event (JsonNode *node, const std::string &parse_error,
    size_t message_bytes)
{
  if (!node || !JSON_NODE_HOLDS_OBJECT (node)) {
    send_error ("invalid_json",
        "The server could not parse the event as JSON: " +
            (node ? std::string ("expected an object") : parse_error),
        nullptr, nullptr);
    return;
  }
  JsonObject *event = json_node_get_object (node);
  if (!has_member_of_type (event, "type", JSON_NODE_VALUE) ||
      rt::json::string_member (event, "type").empty ()) {
    send_error ("missing_required_parameter",
        "Missing required parameter: 'type'.", "type", event);
    return;
  }
  std::string type = rt::json::string_member (event, "type");
  if (type == "session.update") {
    handle_session_update (event);
  } else if (type == "response.create") {
    if (response_) {
      send_error ("conversation_already_has_active_response",
          "Conversation already has an active response in progress: " +
              response_->id +
              ". Wait until the response is finished before creating a new one.",
          nullptr, event);
      return;
    }
    JsonObject *params = rt::json::object_member (event, "response");
    SessionError error;
    if (params &&
        (!Session::validate_tools (json_object_get_member (params, "tools"),
             "response", &error) ||
            !Session::validate_tool_choice (
                json_object_get_member (params, "tool_choice"), "response",
                &error))) {
      send_error (error.code.c_str (), error.message, error.param.c_str (),
          event);
      return;
    }
    start_response (params);
  } else if (type == "response.cancel") {
    if (!response_) {
      send_error ("response_cancel_not_active",
          "Cancellation failed: no active response found", nullptr, event);
      return;
    }
    bool had_audio = pacer_.playing ();
    std::string playing = playing_response_id_;
    stop_audio ();
    finish_response ("cancelled", "client_cancelled");
    if (had_audio) {
      JsonObject *ev = new_event ("output_audio_buffer.stopped");
      json_object_set_string_member (ev, "response_id", playing.c_str ());
      emit (ev);
    }
  } else if (type == "output_audio_buffer.clear") {
    handle_output_clear ();
  } else if (type == "conversation.item.create") {
    handle_item_create (event, message_bytes);
  } else if (type == "conversation.item.retrieve") {
    handle_item_retrieve (event);
  } else if (type == "conversation.item.delete") {
    handle_item_delete (event);
  } else if (type == "conversation.item.truncate") {
    handle_item_truncate (event);
  } else if (type == "input_audio_buffer.commit") {
    handle_commit (event);
  } else if (type == "input_audio_buffer.clear") {
    handle_input_clear ();
  } else if (type == "input_audio_buffer.append") {
    // Over WebRTC the caller's audio comes as media; appended audio is accepted and ignored.
  } else {
    send_error ("invalid_value",
        "Invalid value: '" + type +
            "'. Supported values are: " + kClientEventTypes + ".",
        "type", event);
  }
}

void Agent::handle_session_update (JsonObject *event)
{
  JsonObject *patch = rt::json::object_member (event, "session");
  if (!patch) {
    send_error ("missing_required_parameter",
        "Missing required parameter: 'session'.", "session", event);
    return;
  }
  SessionError error;
  if (!session_.update (patch, voice_locked_, &error)) {
    send_error (error.code.c_str (), error.message, error.param.c_str (),
        event);
    return;
  }
  turn_ = session_.turn_detection ();
  vad_.configure (turn_);
  if (!turn_.enabled)
    vad_.reset ();
  host_.instructions_changed (
      rt::json::string_member (session_.object (), "instructions"));
  JsonObject *ev = new_event ("session.updated");
  json_object_set_object_member (ev, "session",
      copy_object (session_.object ()));
  emit (ev);
}

void Agent::handle_commit (JsonObject *event)
{
  if (buffer_ms_ < kMinCommitMs) {
    char msg[200];
    g_snprintf (msg, sizeof msg,
        "Error committing input audio buffer: buffer too small. Expected at least 100ms "
        "of audio, but buffer only has %.2fms of audio.",
        buffer_ms_);
    send_error ("input_audio_buffer_commit_empty", msg, nullptr, event);
    return;
  }
  vad_.reset ();
  std::string id = speech_item_id_.empty () ? make_id ("item") :
                                              speech_item_id_;
  speech_item_id_.clear ();
  heard_seconds_ = buffer_ms_ / 1000.0;
  // The turn is all the uncommitted audio.
  commit_user_audio (id, heard_seconds_,
      input_audio_.end () - std::llround (buffer_ms_ * kSampleRate / 1000));
}

void Agent::handle_input_clear ()
{
  buffer_ms_ = 0;
  vad_.reset ();
  speech_item_id_.clear ();
  emit (new_event ("input_audio_buffer.cleared"));
}

void Agent::handle_output_clear ()
{
  bool had_audio = pacer_.playing ();
  std::string id = had_audio ? playing_response_id_ : last_response_id_;
  if (id.empty () && response_)
    id = response_->id;
  stop_audio ();
  JsonObject *ev = new_event ("output_audio_buffer.cleared");
  json_object_set_string_member (ev, "response_id", id.c_str ());
  emit (ev);
  if (response_)
    finish_response ("cancelled", "client_cancelled");
}

void Agent::on_input_audio (double rms, double chunk_ms, const Pcm &samples)
{
  input_audio_.append (samples.data (), samples.size ());
  input_ms_ += chunk_ms;
  buffer_ms_ += chunk_ms;
  if (!turn_.enabled)
    return;
  switch (vad_.feed (rms, input_ms_, chunk_ms)) {
    case EnergyVad::Change::None: break;
    case EnergyVad::Change::Started: {
      speech_item_id_ = make_id ("item");
      JsonObject *ev = new_event ("input_audio_buffer.speech_started");
      json_object_set_int_member (ev, "audio_start_ms", vad_.audio_start_ms ());
      json_object_set_string_member (ev, "item_id", speech_item_id_.c_str ());
      emit (ev);
      if (recogniser_)
        recogniser_->prepare ();  // the first turn need not wait for the model
      // Barge-in: the caller talks over the agent, so the agent stops at once.
      if (turn_.interrupt_response && (pacer_.playing () || response_)) {
        bool had_audio = pacer_.playing ();
        std::string playing = playing_response_id_;
        stop_audio ();
        if (had_audio) {
          JsonObject *cleared = new_event ("output_audio_buffer.cleared");
          json_object_set_string_member (cleared, "response_id",
              playing.c_str ());
          emit (cleared);
        }
        if (response_)
          finish_response ("cancelled", "turn_detected");
      }
      break;
    }
    case EnergyVad::Change::Stopped: {
      JsonObject *ev = new_event ("input_audio_buffer.speech_stopped");
      json_object_set_int_member (ev, "audio_end_ms", vad_.audio_end_ms ());
      json_object_set_string_member (ev, "item_id", speech_item_id_.c_str ());
      emit (ev);
      std::string id = speech_item_id_;
      speech_item_id_.clear ();
      heard_seconds_ = vad_.speech_seconds ();
      // The turn as the service commits it: from its prefix padding to now.
      commit_user_audio (id, heard_seconds_,
          input_audio_.end () -
              std::llround (
                  (input_ms_ - vad_.audio_start_ms ()) * kSampleRate / 1000));
      if (turn_.create_response && !response_)
        start_response (nullptr);
      break;
    }
  }
}

void Agent::commit_user_audio (const std::string &item_id, double seconds,
    gint64 from)
{
  buffer_ms_ = 0;
  JsonObject *ev = new_event ("input_audio_buffer.committed");
  set_string_or_null (ev, "previous_item_id",
      item_order_.empty () ? "" : item_order_.back ());
  json_object_set_string_member (ev, "item_id", item_id.c_str ());
  emit (ev);

  JsonObject *item = json_object_new ();
  json_object_set_string_member (item, "id", item_id.c_str ());
  json_object_set_string_member (item, "object", "realtime.item");
  json_object_set_string_member (item, "type", "message");
  json_object_set_string_member (item, "status", "completed");
  json_object_set_string_member (item, "role", "user");
  JsonArray *content = json_array_new ();
  JsonObject *part = json_object_new ();
  json_object_set_string_member (part, "type", "input_audio");
  json_array_add_object_element (content, part);
  json_object_set_array_member (item, "content", content);
  add_item (item);

  const bool transcribe = session_.transcription_enabled ();
  last_turn_ = HeardTurn { item_id, false, "" };
  // A model still loading would hold the reply for as long as it takes (tens of seconds in a
  // sanitizer build): this turn goes without its words, later ones have them.
  if (recogniser_ && !recogniser_->ready ())
    recogniser_->prepare ();
  if (recogniser_ && recogniser_->ready () &&
      (transcribe || default_reply ())) {
    // The transcript comes when the words do, after the response has begun if one starts now
    // (as the service's does); a default reply waits for them.
    last_turn_.pending = true;
    recogniser_->recognise (input_audio_.slice (from, input_audio_.end ()),
        alive_,
        [this, item_id, seconds, transcribe] (const std::string &words) {
          on_words (item_id, seconds, transcribe, words);
        });
  } else if (transcribe) {
    emit_transcription (item_id, seconds, "");
  }
}

void Agent::on_words (const std::string &item_id, double seconds,
    bool transcribe, const std::string &words)
{
  if (transcribe)
    emit_transcription (item_id, seconds, words);
  if (item_id == last_turn_.item_id) {
    last_turn_.pending = false;
    last_turn_.words = words;
  }
  if (response_ && response_->awaiting_words && !last_turn_.pending) {
    response_->awaiting_words = false;
    say_reply ();
  }
}

void Agent::emit_transcription (const std::string &item_id, double seconds,
    const std::string &words)
{
  JsonObject *done = new_event (
      "conversation.item.input_audio_transcription.completed");
  json_object_set_string_member (done, "item_id", item_id.c_str ());
  json_object_set_int_member (done, "content_index", 0);
  // Without words (no recogniser, or it heard none) the transcript says how much speech there
  // was, which is still something to check.
  std::string transcript = !words.empty () ?
      words :
      "(" + format_seconds (seconds) + " seconds of speech)";
  json_object_set_string_member (done, "transcript", transcript.c_str ());
  JsonObject *usage = json_object_new ();
  json_object_set_string_member (usage, "type", "duration");
  json_object_set_double_member (usage, "seconds",
      std::round (seconds * 10) / 10);
  json_object_set_object_member (done, "usage", usage);
  emit (done);
}

}  // namespace rts
