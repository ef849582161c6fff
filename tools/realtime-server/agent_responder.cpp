/* SPDX-License-Identifier: LGPL-2.1-or-later */
// Responses: speech, text or a function call, their events in the service's order, what
// they say, cancellation, and the rate limits reported after each.
#include "agent.h"

#include "agent_internal.h"
#include "core/json_scan.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace rts {

namespace {

// Characters a function name may hold; a name only counts in text where it stands alone.
bool is_name_char (char c)
{
  return g_ascii_isalnum (c) || c == '_' || c == '-';
}

// Where name first occurs in text as a whole word (not inside a longer name), or npos.
size_t find_name (const std::string &text, const std::string &name)
{
  for (size_t pos = text.find (name); pos != std::string::npos;
       pos = text.find (name, pos + 1)) {
    size_t end = pos + name.size ();
    if ((pos == 0 || !is_name_char (text[pos - 1])) &&
        (end == text.size () || !is_name_char (text[end])))
      return pos;
  }
  return std::string::npos;
}

// The first balanced {...} in text from `from` on (braces inside JSON strings do not count),
// if it is valid JSON; otherwise "{}".
std::string arguments_from (const std::string &text, size_t from)
{
  size_t open = text.find ('{', from);
  if (open == std::string::npos)
    return "{}";
  int depth = 0;
  bool in_string = false, escaped = false;
  for (size_t i = open; i < text.size (); i++) {
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
      std::string candidate = text.substr (open, i - open + 1);
      // Strict: json-glib's parser also takes single quotes, leading zeros and unknown
      // escapes, which a client's JSON parser would refuse.
      rt::JsonScanner scanner (256);
      scanner.feed (candidate);
      return scanner.finish () == rt::JsonScanner::State::Complete ? candidate :
                                                                     "{}";
    }
  }
  return "{}";
}

// At most max characters of UTF-8 text (invalid sequences replaced first).
std::string utf8_prefix (const std::string &text, long max)
{
  gchar *valid = g_utf8_make_valid (text.c_str (),
      static_cast<gssize> (text.size ()));
  std::string out = valid;
  if (g_utf8_strlen (valid, -1) > max)
    out.assign (valid, g_utf8_offset_to_pointer (valid, max) - valid);
  g_free (valid);
  return out;
}

}  // namespace

JsonObject *Agent::response_object (const char *status) const
{
  const Response &r = *response_;
  JsonObject *resp = json_object_new ();
  json_object_set_string_member (resp, "object", "realtime.response");
  json_object_set_string_member (resp, "id", r.id.c_str ());
  json_object_set_string_member (resp, "status", status);
  json_object_set_string_member (resp, "conversation_id",
      conversation_id_.c_str ());
  JsonArray *mods = json_array_new ();
  json_array_add_string_element (mods, r.audio ? "audio" : "text");
  json_object_set_array_member (resp, "output_modalities", mods);
  json_object_set_string_member (resp, "max_output_tokens", "inf");
  JsonObject *audio = json_object_new ();
  JsonObject *output = json_object_new ();
  json_object_set_member (output, "format",
      json_literal (R"({"type":"audio/pcm","rate":24000})"));
  json_object_set_string_member (output, "voice", session_.voice ().c_str ());
  json_object_set_object_member (audio, "output", output);
  json_object_set_object_member (resp, "audio", audio);
  JsonArray *out = json_array_new ();
  if (r.item_added)
    json_array_add_object_element (out,
        assistant_item (
            status == std::string ("completed") ? "completed" : "incomplete"));
  json_object_set_array_member (resp, "output", out);
  return resp;
}

JsonObject *Agent::assistant_item (const char *status) const
{
  const Response &r = *response_;
  JsonObject *item = json_object_new ();
  json_object_set_string_member (item, "id", r.item_id.c_str ());
  json_object_set_string_member (item, "object", "realtime.item");
  if (r.function_call) {
    json_object_set_string_member (item, "type", "function_call");
    json_object_set_string_member (item, "status", status);
    json_object_set_string_member (item, "call_id", r.call_id.c_str ());
    json_object_set_string_member (item, "name", r.name.c_str ());
    std::string arguments = strcmp (status, "in_progress") == 0 ?
        "" :
        r.arguments.substr (0, r.arguments_sent);
    json_object_set_string_member (item, "arguments", arguments.c_str ());
    return item;
  }
  json_object_set_string_member (item, "type", "message");
  json_object_set_string_member (item, "status", status);
  json_object_set_string_member (item, "role", "assistant");
  JsonArray *content = json_array_new ();
  if (strcmp (status, "in_progress") != 0) {
    JsonObject *part = json_object_new ();
    json_object_set_string_member (part, "type",
        r.audio ? "output_audio" : "output_text");
    json_object_set_string_member (part, r.audio ? "transcript" : "text",
        r.said.c_str ());
    json_array_add_object_element (content, part);
  }
  json_object_set_array_member (item, "content", content);
  return item;
}

void Agent::start_response (JsonObject *params)
{
  response_ = std::make_unique<Response> ();
  Response &r = *response_;
  JsonNode *mods = params ?
      json_object_get_member (params, "output_modalities") :
      nullptr;
  if (mods && JSON_NODE_HOLDS_ARRAY (mods) &&
      json_array_get_length (json_node_get_array (mods)) > 0) {
    const char *m = json_array_get_string_element (json_node_get_array (mods),
        0);
    r.audio = m && strcmp (m, "audio") == 0;
  } else {
    r.audio = session_.audio_output ();
  }
  r.function_call = plan_function_call (params, &r.name, &r.arguments);
  if (r.function_call)
    r.call_id = "call_" + random_hex (8);
  else
    r.awaiting_words = default_reply () && last_turn_.pending;

  JsonObject *created = new_event ("response.created");
  json_object_set_object_member (created, "response",
      response_object ("in_progress"));
  emit (created);

  if (r.function_call) {
    // No audio: the call streams like text, the item first, then its arguments in pieces.
    r.text_timer = add_timeout (
        static_cast<guint> (kTextWordIntervalMs),
        [] (gpointer self) -> gboolean {
          auto *agent = static_cast<Agent *> (self);
          // As for text below: finishing the response removes this very source.
          agent->emit_argument_delta ();
          return agent->response_ ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
        },
        this);
    return;
  }
  if (!r.awaiting_words)  // else on_words says it
    say_reply ();
}

void Agent::say_reply ()
{
  Response &r = *response_;
  r.text = reply_text ();
  r.words = split_words (r.text);
  if (r.audio) {
    // The response may be cancelled while espeak runs; the cancellable makes sure the
    // callback then never runs, so capturing this is safe.
    synth_.synthesize (r.text, r.cancel,
        [this] (Pcm pcm) { begin_output (std::move (pcm)); });
  } else {
    begin_output (Pcm ());
  }
}

bool Agent::plan_function_call (JsonObject *params, std::string *name,
    std::string *arguments) const
{
  // After a tool's output the model speaks about it rather than calling again.
  if (pending_output_)
    return false;
  // response.create may bring its own tools and tool_choice.
  auto setting = [&] (const char *member) {
    return params && json_object_has_member (params, member) ?
        json_object_get_member (params, member) :
        json_object_get_member (session_.object (), member);
  };
  std::vector<std::string> names = Session::tool_names (setting ("tools"));
  ToolChoice choice = Session::parse_tool_choice (setting ("tool_choice"));
  if (names.empty () || choice.mode == ToolChoice::Mode::None)
    return false;
  const std::string text = last_user_text ();
  if (choice.mode == ToolChoice::Mode::Function) {
    *name = choice.function;
  } else if (choice.mode == ToolChoice::Mode::Required) {
    *name = names.front ();
  } else {
    // auto: the tool whose name comes first in what the user wrote, if any.
    size_t first = std::string::npos;
    for (const std::string &candidate : names) {
      size_t pos = find_name (text, candidate);
      if (pos < first) {
        first = pos;
        *name = candidate;
      }
    }
    if (first == std::string::npos)
      return false;
  }
  size_t pos = find_name (text, *name);
  *arguments = pos == std::string::npos ?
      "{}" :
      arguments_from (text, pos + name->size ());
  return true;
}

// The input_text of the last user message in the conversation (none for spoken turns).
std::string Agent::last_user_text () const
{
  for (auto it = item_order_.rbegin (); it != item_order_.rend (); ++it) {
    JsonObject *item = find_item (*it);
    if (rt::json::string_member (item, "type") != "message" ||
        rt::json::string_member (item, "role") != "user")
      continue;
    std::string text;
    JsonNode *content = json_object_get_member (item, "content");
    JsonArray *parts = content && JSON_NODE_HOLDS_ARRAY (content) ?
        json_node_get_array (content) :
        nullptr;
    for (guint i = 0; parts && i < json_array_get_length (parts); i++) {
      JsonNode *node = json_array_get_element (parts, i);
      JsonObject *part = JSON_NODE_HOLDS_OBJECT (node) ?
          json_node_get_object (node) :
          nullptr;
      if (rt::json::string_member (part, "type") != "input_text")
        continue;
      if (!text.empty ())
        text += "\n";
      text += rt::json::string_member (part, "text");
    }
    return text;
  }
  return "";
}

std::string Agent::reply_text ()
{
  std::string text;
  if (pending_output_) {
    auto name = call_names_.find (pending_output_->first);
    text = "The tool " +
        (name == call_names_.end () ? std::string ("unknown") : name->second) +
        " returned: " +
        utf8_prefix (pending_output_->second, kMaxToolOutputChars);
    pending_output_.reset ();
  } else if (!options_.reply.empty ()) {
    text = options_.reply;
  } else if (!last_turn_.words.empty ()) {
    text = "You asked: " + last_turn_.words + ".";
  } else {
    text = "Hello from the local realtime server. I heard " +
        format_seconds (
            heard_seconds_ > 0 ? heard_seconds_ : buffer_ms_ / 1000.0) +
        " seconds of your audio.";
  }
  if (images_pending_ > 0) {
    text += " I can see " + std::to_string (images_pending_) +
        (images_pending_ == 1 ? " image" : " images") + "; the last one is " +
        std::to_string (last_image_width_) + "x" +
        std::to_string (last_image_height_) + " pixels.";
    images_pending_ = 0;
  }
  return text;
}

// The response's item goes into the conversation, in progress.
void Agent::add_output_item ()
{
  Response &r = *response_;
  JsonObject *added = new_event ("response.output_item.added");
  json_object_set_string_member (added, "response_id", r.id.c_str ());
  json_object_set_int_member (added, "output_index", 0);
  json_object_set_object_member (added, "item", assistant_item ("in_progress"));
  emit (added);
  JsonObject *item = assistant_item ("in_progress");
  std::string previous = item_order_.empty () ? "" : item_order_.back ();
  JsonObject *conv = new_event ("conversation.item.added");
  set_string_or_null (conv, "previous_item_id", previous);
  json_object_set_object_member (conv, "item", copy_object (item));
  emit (conv);
  items_[r.item_id] = item;
  item_order_.push_back (r.item_id);
  host_.items_changed (item_order_.size ());
  r.item_added = true;
}

void Agent::emit_argument_delta ()
{
  Response &r = *response_;
  if (!r.item_added) {
    add_output_item ();
    call_names_[r.call_id] = r.name;
    issued_calls_.insert (r.call_id);
  }
  // The next piece, whole UTF-8 characters only.
  const char *start = r.arguments.c_str () + r.arguments_sent;
  const char *end = start;
  for (long n = 0; *end && n < kArgumentDeltaChars; n++)
    end = g_utf8_next_char (end);
  JsonObject *ev = new_event ("response.function_call_arguments.delta");
  json_object_set_string_member (ev, "response_id", r.id.c_str ());
  json_object_set_string_member (ev, "item_id", r.item_id.c_str ());
  json_object_set_int_member (ev, "output_index", 0);
  json_object_set_string_member (ev, "call_id", r.call_id.c_str ());
  json_object_set_string_member (ev, "delta",
      std::string (start, end).c_str ());
  emit (ev);
  r.arguments_sent = end - r.arguments.c_str ();
  if (r.arguments_sent >= r.arguments.size ())
    finish_response ("completed", nullptr);
}

void Agent::begin_output (Pcm pcm)
{
  add_output_item ();
  Response &r = *response_;

  JsonObject *part_added = new_event ("response.content_part.added");
  json_object_set_string_member (part_added, "response_id", r.id.c_str ());
  json_object_set_string_member (part_added, "item_id", r.item_id.c_str ());
  json_object_set_int_member (part_added, "output_index", 0);
  json_object_set_int_member (part_added, "content_index", 0);
  json_object_set_member (part_added, "part",
      json_literal (r.audio ? R"({"type":"audio","transcript":""})" :
                              R"({"type":"text","text":""})"));
  emit (part_added);

  if (!r.audio) {
    // Text-only: stream the words quickly, as the model would.
    r.text_start_us = g_get_monotonic_time ();
    r.audio_ms = kTextWordIntervalMs * r.words.size ();
    r.text_timer = add_timeout (
        static_cast<guint> (kTextWordIntervalMs),
        [] (gpointer self) -> gboolean {
          auto *agent = static_cast<Agent *> (self);
          // When the last word finishes the response, ~Response removes this very source;
          // GLib allows that during dispatch and ignores the return value then.
          agent->emit_words_until (
              (g_get_monotonic_time () - agent->response_->text_start_us) /
              1000.0);
          return agent->response_ ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
        },
        this);
    return;
  }

  if (pacer_.playing ()) {
    // The tail of an earlier reply is cut off by this one.
    JsonObject *stopped = new_event ("output_audio_buffer.stopped");
    json_object_set_string_member (stopped, "response_id",
        playing_response_id_.c_str ());
    emit (stopped);
  }
  voice_locked_ = true;
  r.audio_ms = pcm.size () * 1000.0 / kSampleRate;
  playing_response_id_ = r.id;
  host_.set_echo (false);
  JsonObject *started = new_event ("output_audio_buffer.started");
  json_object_set_string_member (started, "response_id", r.id.c_str ());
  emit (started);
  pacer_.play (
      std::move (pcm),
      [this] (double played_ms) { emit_words_until (played_ms); },
      [this] () { audio_finished (); });
}

// Word i goes out when playback reaches i/n of the audio, so the transcript follows the voice.
void Agent::emit_words_until (double played_ms)
{
  if (!response_ || !response_->item_added)
    return;
  Response &r = *response_;
  const size_t n = r.words.size ();
  while (r.words_sent < n && played_ms >= r.audio_ms * r.words_sent / n) {
    const std::string &word = r.words[r.words_sent++];
    r.said += word;
    JsonObject *ev = new_event (r.audio ?
            "response.output_audio_transcript.delta" :
            "response.output_text.delta");
    json_object_set_string_member (ev, "response_id", r.id.c_str ());
    json_object_set_string_member (ev, "item_id", r.item_id.c_str ());
    json_object_set_int_member (ev, "output_index", 0);
    json_object_set_int_member (ev, "content_index", 0);
    json_object_set_string_member (ev, "delta", word.c_str ());
    emit (ev);
  }
  if (r.words_sent == n)
    finish_response ("completed", nullptr);
}

void Agent::finish_response (const char *status, const char *reason)
{
  Response &r = *response_;
  bool completed = strcmp (status, "completed") == 0;
  const char *item_status = completed ? "completed" : "incomplete";
  if (r.item_added && r.function_call) {
    // Also sent when the call was cut short, with the arguments so far.
    const std::string arguments = r.arguments.substr (0, r.arguments_sent);
    JsonObject *done = new_event ("response.function_call_arguments.done");
    json_object_set_string_member (done, "response_id", r.id.c_str ());
    json_object_set_string_member (done, "item_id", r.item_id.c_str ());
    json_object_set_int_member (done, "output_index", 0);
    json_object_set_string_member (done, "call_id", r.call_id.c_str ());
    json_object_set_string_member (done, "name", r.name.c_str ());
    json_object_set_string_member (done, "arguments", arguments.c_str ());
    emit (done);
    host_.function_called (r.call_id, r.name, arguments);
  } else if (r.item_added) {
    JsonObject *done = new_event (r.audio ?
            "response.output_audio_transcript.done" :
            "response.output_text.done");
    json_object_set_string_member (done, "response_id", r.id.c_str ());
    json_object_set_string_member (done, "item_id", r.item_id.c_str ());
    json_object_set_int_member (done, "output_index", 0);
    json_object_set_int_member (done, "content_index", 0);
    json_object_set_string_member (done, r.audio ? "transcript" : "text",
        r.said.c_str ());
    emit (done);

    JsonObject *part_done = new_event ("response.content_part.done");
    json_object_set_string_member (part_done, "response_id", r.id.c_str ());
    json_object_set_string_member (part_done, "item_id", r.item_id.c_str ());
    json_object_set_int_member (part_done, "output_index", 0);
    json_object_set_int_member (part_done, "content_index", 0);
    JsonObject *part = json_object_new ();
    json_object_set_string_member (part, "type", r.audio ? "audio" : "text");
    json_object_set_string_member (part, r.audio ? "transcript" : "text",
        r.said.c_str ());
    json_object_set_object_member (part_done, "part", part);
    emit (part_done);
  }
  if (r.item_added) {
    JsonObject *item_done = new_event ("response.output_item.done");
    json_object_set_string_member (item_done, "response_id", r.id.c_str ());
    json_object_set_int_member (item_done, "output_index", 0);
    json_object_set_object_member (item_done, "item",
        assistant_item (item_status));
    emit (item_done);

    JsonObject *final_item = assistant_item (item_status);
    JsonObject *conv_done = new_event ("conversation.item.done");
    auto pos = std::find (item_order_.begin (), item_order_.end (), r.item_id);
    set_string_or_null (conv_done, "previous_item_id",
        pos != item_order_.end () && pos != item_order_.begin () ? *(pos - 1) :
                                                                   "");
    json_object_set_object_member (conv_done, "item", copy_object (final_item));
    emit (conv_done);
    if (JsonObject *old = find_item (r.item_id))
      json_object_unref (old);
    items_[r.item_id] = final_item;
  }

  JsonObject *resp = response_object (status);
  if (reason) {
    JsonObject *details = json_object_new ();
    json_object_set_string_member (details, "type", status);
    json_object_set_string_member (details, "reason", reason);
    json_object_set_object_member (resp, "status_details", details);
  }
  // Plausible counts: ~10 tokens per second of caller audio, ~1.3 per word of text and
  // ~20 per second of generated audio.
  gint64 in_audio = static_cast<gint64> (heard_seconds_ * 10);
  gint64 in_text = 120;
  gint64 out_text = r.function_call ?
      5 + static_cast<gint64> (std::ceil (r.arguments_sent / 4.0)) :
      static_cast<gint64> (std::ceil (r.words_sent * 1.3));
  gint64 out_audio = r.audio ?
      static_cast<gint64> (r.audio_ms / 1000.0 * 20 * r.words_sent /
          std::max<size_t> (1, r.words.size ())) :
      0;
  JsonObject *usage = json_object_new ();
  json_object_set_int_member (usage, "total_tokens",
      in_audio + in_text + out_text + out_audio);
  json_object_set_int_member (usage, "input_tokens", in_audio + in_text);
  json_object_set_int_member (usage, "output_tokens", out_text + out_audio);
  JsonObject *in_details = json_object_new ();
  json_object_set_int_member (in_details, "text_tokens", in_text);
  json_object_set_int_member (in_details, "audio_tokens", in_audio);
  json_object_set_int_member (in_details, "image_tokens", 0);
  json_object_set_int_member (in_details, "cached_tokens", 0);
  json_object_set_object_member (usage, "input_token_details", in_details);
  JsonObject *out_details = json_object_new ();
  json_object_set_int_member (out_details, "text_tokens", out_text);
  json_object_set_int_member (out_details, "audio_tokens", out_audio);
  json_object_set_object_member (usage, "output_token_details", out_details);
  json_object_set_object_member (resp, "usage", usage);
  json_object_set_null_member (resp, "metadata");

  last_response_id_ = r.id;
  response_.reset ();
  JsonObject *ev = new_event ("response.done");
  json_object_set_object_member (ev, "response", resp);
  emit (ev);
  emit_rate_limits (in_audio + in_text + out_text + out_audio);
}

// As the service does after each response: the request made and the tokens it used, against
// plausible per-minute limits that refill at once (each report stands alone).
void Agent::emit_rate_limits (gint64 tokens_used)
{
  constexpr gint64 kRequestLimit = 5000, kTokenLimit = 400000;
  JsonArray *limits = json_array_new ();
  JsonObject *requests = json_object_new ();
  json_object_set_string_member (requests, "name", "requests");
  json_object_set_int_member (requests, "limit", kRequestLimit);
  json_object_set_int_member (requests, "remaining", kRequestLimit - 1);
  json_object_set_double_member (requests, "reset_seconds", 0.012);
  json_array_add_object_element (limits, requests);
  JsonObject *tokens = json_object_new ();
  json_object_set_string_member (tokens, "name", "tokens");
  json_object_set_int_member (tokens, "limit", kTokenLimit);
  json_object_set_int_member (tokens, "remaining", kTokenLimit - tokens_used);
  json_object_set_double_member (tokens, "reset_seconds",
      std::round (tokens_used * 60.0 / kTokenLimit * 1000) / 1000);
  json_array_add_object_element (limits, tokens);
  JsonObject *ev = new_event ("rate_limits.updated");
  json_object_set_array_member (ev, "rate_limits", limits);
  emit (ev);
}

void Agent::stop_audio ()
{
  pacer_.stop ();
  host_.set_echo (true);
}

void Agent::audio_finished ()
{
  host_.set_echo (true);
  JsonObject *ev = new_event ("output_audio_buffer.stopped");
  json_object_set_string_member (ev, "response_id",
      playing_response_id_.c_str ());
  emit (ev);
}

}  // namespace rts
