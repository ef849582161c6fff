/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "openai/conversation.h"

#include "core/json_util.h"

#include <json-glib/json-glib.h>

#include <memory>

namespace rt {
namespace {

struct NodeUnref {
  void operator() (JsonNode *n) const { json_node_unref (n); }
};
using NodePtr = std::unique_ptr<JsonNode, NodeUnref>;

using json::finish;
using json::int_member;
using json::object_member;
using json::set_string;
using json::string_member;

Transcript transcript (const char *role, JsonObject *ev, const char *field,
    bool final)
{
  Transcript t;
  t.role = role;
  t.item_id = string_member (ev, "item_id");
  t.text = string_member (ev, field);
  t.final = final;
  return t;
}

}  // namespace

TokenUsage &TokenUsage::operator+= (const TokenUsage &o)
{
  input += o.input;
  output += o.output;
  total += o.total;
  input_text += o.input_text;
  input_audio += o.input_audio;
  input_image += o.input_image;
  input_cached += o.input_cached;
  output_text += o.output_text;
  output_audio += o.output_audio;
  return *this;
}

namespace {

/* The events whose members matter here. */
bool needs_members (const std::string &type)
{
  static const char *const with_members[] = {
    "response.output_audio_transcript.delta",
    "response.output_audio_transcript.done",
    "response.output_text.delta",
    "response.output_text.done",
    "conversation.item.input_audio_transcription.delta",
    "conversation.item.input_audio_transcription.completed",
    "response.function_call_arguments.done",
    "response.done",
  };
  bool wanted = false;
  for (const char *w : with_members)
    wanted = wanted || type == w;
  return wanted;
}

}  // namespace

EventMeaning interpret_server_event (const std::string &type,
    const std::string &json)
{
  if (!needs_members (type))
    return interpret_server_event (type, (JsonObject *) nullptr);
  NodePtr root (json_from_string (json.c_str (), nullptr));
  if (!root || !JSON_NODE_HOLDS_OBJECT (root.get ()))
    return EventMeaning ();
  return interpret_server_event (type, json_node_get_object (root.get ()));
}

bool ReplyAudio::interrupts (const std::string &type, std::int64_t now_us)
{
  const auto end = [&] {
    pending_ = false;
    audio_started_ = false;
    ended_ = true;
    ended_us_ = now_us;
  };
  if (type == "response.created") {
    pending_ = true;
    audio_started_ = false;
  } else if (type == "output_audio_buffer.started") {
    pending_ = true;
    audio_started_ = true;
  } else if (type == "output_audio_buffer.stopped") {
    end ();
  } else if (type == "output_audio_buffer.cleared") {
    end ();
    return true;
  } else if (type == "response.done") {
    if (pending_ && !audio_started_)
      end ();
  } else if (type == "input_audio_buffer.speech_started") {
    return pending_ || (ended_ && now_us - ended_us_ < tail_us_);
  }
  return false;
}

EventMeaning interpret_server_event (const std::string &type, JsonObject *ev)
{
  EventMeaning m;
  if (type == "output_audio_buffer.started") {
    m.agent_spoke = true;
    return m;
  }
  if (!ev || !needs_members (type))
    return m;

  if (type == "response.output_audio_transcript.delta") {
    m.transcript = transcript ("assistant", ev, "delta", false);
    m.agent_spoke = true;
  } else if (type == "response.output_audio_transcript.done") {
    m.transcript = transcript ("assistant", ev, "transcript", true);
  } else if (type == "response.output_text.delta") {
    m.transcript = transcript ("assistant", ev, "delta", false);
  } else if (type == "response.output_text.done") {
    m.transcript = transcript ("assistant", ev, "text", true);
  } else if (type == "conversation.item.input_audio_transcription.delta") {
    m.transcript = transcript ("user", ev, "delta", false);
  } else if (type == "conversation.item.input_audio_transcription.completed") {
    m.transcript = transcript ("user", ev, "transcript", true);
  } else if (type == "response.function_call_arguments.done") {
    FunctionCall c;
    c.call_id = string_member (ev, "call_id");
    c.name = string_member (ev, "name");
    c.arguments = string_member (ev, "arguments");
    if (!c.call_id.empty () && !c.name.empty ())
      m.function_call = c;
  } else if (type == "response.done") {
    JsonObject *u = object_member (object_member (ev, "response"), "usage");
    if (u) {
      TokenUsage t;
      t.input = int_member (u, "input_tokens");
      t.output = int_member (u, "output_tokens");
      t.total = int_member (u, "total_tokens");
      JsonObject *in = object_member (u, "input_token_details");
      t.input_text = int_member (in, "text_tokens");
      t.input_audio = int_member (in, "audio_tokens");
      t.input_image = int_member (in, "image_tokens");
      t.input_cached = int_member (in, "cached_tokens");
      JsonObject *out = object_member (u, "output_token_details");
      t.output_text = int_member (out, "text_tokens");
      t.output_audio = int_member (out, "audio_tokens");
      m.usage = t;
    }
  }
  return m;
}

std::string build_text_message (const std::string &role,
    const std::string &text)
{
  JsonBuilder *b = json_builder_new ();
  json_builder_begin_object (b);
  set_string (b, "type", "conversation.item.create");
  json_builder_set_member_name (b, "item");
  json_builder_begin_object (b);
  set_string (b, "type", "message");
  set_string (b, "role", role);
  json_builder_set_member_name (b, "content");
  json_builder_begin_array (b);
  json_builder_begin_object (b);
  /* What the service itself calls each role's text. */
  set_string (b, "type", role == "assistant" ? "output_text" : "input_text");
  set_string (b, "text", text);
  json_builder_end_object (b);
  json_builder_end_array (b);
  json_builder_end_object (b);
  json_builder_end_object (b);
  return finish (b);
}

std::string build_function_call_output (const std::string &call_id,
    const std::string &output)
{
  JsonBuilder *b = json_builder_new ();
  json_builder_begin_object (b);
  set_string (b, "type", "conversation.item.create");
  json_builder_set_member_name (b, "item");
  json_builder_begin_object (b);
  set_string (b, "type", "function_call_output");
  set_string (b, "call_id", call_id);
  set_string (b, "output", output);
  json_builder_end_object (b);
  json_builder_end_object (b);
  return finish (b);
}

std::string build_simple_event (const char *type)
{
  JsonBuilder *b = json_builder_new ();
  json_builder_begin_object (b);
  set_string (b, "type", type);
  json_builder_end_object (b);
  return finish (b);
}

}  // namespace rt
