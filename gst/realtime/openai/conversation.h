/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the conversation's events mean to a pipeline, and the client events
 * that steer it: transcripts of both sides, tool calls, token usage, the
 * moments the agent's audio must stop. Pure json-glib, unit-tested alone
 * (tests/protocol.cpp). */
#pragma once

#include <cstdint>
#include <optional>
#include <string>

typedef struct _JsonObject JsonObject;

namespace rt {

/* A piece of the conversation's text: the user's speech (when input
 * transcription is on), the agent's speech or its text replies. */
struct Transcript {
  std::string role; /* "user" or "assistant" */
  std::string item_id;
  std::string text; /* the delta, or the whole text when final */
  bool final = false;
};

/* The model asks the application to run a function. */
struct FunctionCall {
  std::string call_id;
  std::string name;
  std::string arguments; /* JSON text, as the model wrote it */
};

/* response.done's usage, summed by the caller. */
struct TokenUsage {
  std::int64_t input = 0, output = 0, total = 0;
  std::int64_t input_text = 0, input_audio = 0, input_image = 0,
               input_cached = 0;
  std::int64_t output_text = 0, output_audio = 0;
  TokenUsage &operator+= (const TokenUsage &o);
};

/* What one server event means beyond its type. */
struct EventMeaning {
  std::optional<Transcript> transcript;
  std::optional<FunctionCall> function_call;
  std::optional<TokenUsage> usage; /* response.done */
  /* The agent has begun to speak: the voice can no longer change. */
  bool agent_spoke = false;
};

/* Reads what matters from a server event already known to be valid JSON
 * with that type; events of other types mean nothing here. */
EventMeaning interpret_server_event (const std::string &type,
    const std::string &json);
/* The same, from the event already parsed (ServerEvent::object()). */
EventMeaning interpret_server_event (const std::string &type,
    JsonObject *event);

/* Whether audio of a reply may still be arriving, or held here: from
 * response.created or output_audio_buffer.started until .stopped or
 * .cleared (or response.done, for a reply without audio), and for a tail
 * after, what the jitter buffer and the src may still hold of its end.
 * The user starting to speak cuts the audio only then: what the far end
 * sends outside a reply (silence; a test server's echo) is no reply to
 * cut. .cleared always cuts. A service that never says its audio stopped
 * leaves a reply pending: every speech_started cuts, as it would without
 * this. Pure; the caller serialises it. */
class ReplyAudio {
 public:
  /* The tail covers a jitter buffer of jitterbuffer_ms, the src's most
   * (200 ms) and a margin. */
  explicit ReplyAudio (unsigned jitterbuffer_ms = 40)
      : tail_us_ ((std::int64_t (jitterbuffer_ms) + 460) * 1000)
  {
  }
  std::int64_t tail_us () const { return tail_us_; }
  /* A new session: no reply yet; the tail stays. */
  void reset ()
  {
    pending_ = audio_started_ = ended_ = false;
    ended_us_ = 0;
  }
  /* Takes each server event in order; returns whether audio of the old
   * reply still held locally must go at once (barge-in). */
  bool interrupts (const std::string &type, std::int64_t now_us);

 private:
  std::int64_t tail_us_;
  bool pending_ = false;
  bool audio_started_ = false; /* since the reply was created */
  std::int64_t ended_us_ = 0;
  bool ended_ = false;
};

/* conversation.item.create with one message item holding text: role "user"
 * or "system" (input_text). */
std::string build_text_message (const std::string &role,
    const std::string &text);

/* conversation.item.create of a function_call_output. */
std::string build_function_call_output (const std::string &call_id,
    const std::string &output);

/* Events that carry nothing but their type. */
std::string build_simple_event (const char *type);

}  // namespace rt
