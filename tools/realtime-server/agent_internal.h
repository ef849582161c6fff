/* SPDX-License-Identifier: LGPL-2.1-or-later */
// What the agent's files share: event helpers, limits, and the response being generated.
// agent.cpp: the agent's life, the client events it dispatches and the caller's audio (VAD,
// commits); agent_conversation.cpp: the conversation store (items created, retrieved, deleted,
// truncated, and the checks on what a client adds); agent_responder.cpp: responses (speech,
// text or a function call, their events, cancellation and the rate limits after them).
#pragma once

#include "agent.h"
#include "json_util.h"
#include "main_thread.h"

#include <json-glib/json-glib.h>

#include <string>
#include <vector>

namespace rts {

inline JsonObject *new_event (const char *type)
{
  JsonObject *ev = json_object_new ();
  json_object_set_string_member (ev, "type", type);
  return ev;
}

inline void set_string_or_null (JsonObject *obj, const char *name,
    const std::string &value)
{
  if (value.empty ())
    json_object_set_null_member (obj, name);
  else
    json_object_set_string_member (obj, name, value.c_str ());
}

inline std::string format_seconds (double seconds)
{
  char buf[32];
  g_snprintf (buf, sizeof buf, "%.1f", seconds);
  return buf;
}

inline const char *const kClientEventTypes =
    "'session.update', 'input_audio_buffer.append', 'input_audio_buffer.commit', "
    "'input_audio_buffer.clear', 'conversation.item.create', 'conversation.item.retrieve', "
    "'conversation.item.truncate', 'conversation.item.delete', 'response.create', "
    "'response.cancel', and 'output_audio_buffer.clear'";

constexpr double kTextWordIntervalMs =
    30;  // text-only replies stream a word this often
constexpr double kMinCommitMs =
    100;  // the service refuses smaller manual commits
constexpr long kArgumentDeltaChars =
    16;  // function arguments stream this much per delta
constexpr long kMaxToolOutputChars =
    200;  // how much of a tool's output the reply quotes
// The data channel limit both ways with webrtcbin 1.22 (no a=max-message-size in its SDP).
constexpr size_t kMaxEventBytes = 65536;

// One response being generated. Its audio may outlive it (the pacer keeps playing the tail
// after response.done, as the service's output buffer does).
struct Agent::Response {
  Response () : cancel (g_cancellable_new ()) {}
  ~Response ()
  {
    g_cancellable_cancel (cancel);  // drop a synthesis still running
    g_object_unref (cancel);
    if (text_timer)
      remove_timeout (text_timer);
  }
  Response (const Response &) = delete;
  Response &operator= (const Response &) = delete;

  std::string id = make_id ("resp");
  std::string item_id = make_id ("item");
  bool audio = true;  // output modality audio (else text)
  std::string text;
  std::vector<std::string> words;
  size_t words_sent = 0;
  std::string said;  // transcript of the words sent so far
  bool item_added = false;
  // Its text waits for the words of the user's last turn (the default reply quotes them).
  bool awaiting_words = false;
  // A function call instead of speech or text: its call, and how much of the arguments went.
  bool function_call = false;
  std::string call_id, name, arguments;
  size_t arguments_sent = 0;
  double audio_ms = 0;
  GCancellable *cancel;
  guint text_timer = 0;
  gint64 text_start_us = 0;
};

}  // namespace rts
