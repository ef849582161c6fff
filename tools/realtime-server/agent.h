/* SPDX-License-Identifier: LGPL-2.1-or-later */
// The simulated model: answers client events, runs server VAD on the caller's audio and speaks
// replies. Knows nothing about WebRTC: it talks to its call through AgentHost.
#pragma once

#include "options.h"
#include "pacer.h"
#include "recogniser.h"
#include "session.h"
#include "speech.h"
#include "turn_audio.h"
#include "vad.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace rts {

// An image the client sent (an input_image part of a message item) and the server accepted.
struct ReceivedImage {
  std::string item_id;
  std::string format;  // jpeg | png
  int width = 0, height = 0;
  size_t bytes = 0;          // decoded size
  std::string detail;        // auto | low | high
  size_t message_bytes = 0;  // the data channel message that carried it
};

class AgentHost {
 public:
  virtual ~AgentHost () = default;
  // One complete event text for the data channel.
  virtual void send_text (const std::string &text) = 0;
  // Agent speech, S16LE 48 kHz mono, already paced in real time.
  virtual void push_audio (const int16_t *samples, size_t count) = 0;
  // Echo of the caller's audio is suspended while the agent speaks.
  virtual void set_echo (bool enabled) = 0;
  // The client added this item with conversation.item.create (as stored, with its id).
  virtual void item_created (JsonObject *item) = 0;
  // The conversation now holds this many items (one was added or deleted).
  virtual void items_changed (size_t count) = 0;
  // The session's instructions are now this (session.update).
  virtual void instructions_changed (const std::string &instructions) = 0;
  // The agent called a function (its arguments are done, or were cut short by a cancel).
  virtual void function_called (const std::string &call_id,
      const std::string &name, const std::string &arguments) = 0;
  // The client answered a function call. issued: the agent made that call; otherwise name is
  // that of a function_call item the client created with this call_id, or empty.
  virtual void function_output (const std::string &call_id, bool issued,
      const std::string &name, const std::string &output) = 0;
  // The client sent an image that was accepted.
  virtual void image_received (const ReceivedImage &image) = 0;
};

class Agent {
 public:
  // webrtc_filter: Azure's ?webrtcfilter=on, only an allow-list of events reaches the client.
  // recogniser: nullptr when there is none, or the call's audio is not decoded.
  Agent (AgentHost &host, const Options &options, const Session &session,
      SpeechSynth &synth, Recogniser *recogniser, bool webrtc_filter);
  ~Agent ();
  Agent (const Agent &) = delete;
  Agent &operator= (const Agent &) = delete;

  // The data channel opened: announce the session.
  void on_channel_open ();
  // One client event; event is nullptr when the text was not JSON (parse_error says why).
  // message_bytes: the size of the data channel message it came in.
  void on_client_event (JsonNode *event, const std::string &parse_error,
      size_t message_bytes);
  // One chunk of decoded caller audio: its RMS (0..1) and length, and its samples when there is
  // a recogniser (empty otherwise).
  void on_input_audio (double rms, double chunk_ms, const Pcm &samples);
  // The call reached its maximum duration.
  void on_session_expired ();

 private:
  struct Response;

  void emit (JsonObject *event);  // adds event_id, sends, frees
  void send_error (const char *code, const std::string &message,
      const char *param, JsonObject *client_event);

  void handle_session_update (JsonObject *event);
  void handle_item_create (JsonObject *event, size_t message_bytes);
  void handle_item_retrieve (JsonObject *event);
  void handle_item_delete (JsonObject *event);
  void handle_item_truncate (JsonObject *event);
  void handle_commit (JsonObject *event);
  void handle_input_clear ();
  void handle_output_clear ();

  // Conversation bookkeeping: items are kept so retrieve/delete work and previous_item_id chains.
  // Emits conversation.item.added + .done. after: nullptr appends; "" inserts first; an id
  // inserts after that item (which must exist).
  void add_item (JsonObject *item, const std::string *after = nullptr);
  // A message item's role and content parts are ones the service accepts; else sends an error.
  // The images it carries are added to *images (without their item_id).
  bool check_message (JsonObject *item, JsonObject *client_event,
      size_t message_bytes, std::vector<ReceivedImage> *images);
  // A function_call_output item has its call_id and output; else sends an error.
  bool check_function_output (JsonObject *item, JsonObject *client_event);
  JsonObject *find_item (const std::string &id) const;

  // The turn from sample `from` of the input timeline to now becomes a user item; its words go
  // to the recogniser when they are wanted (transcription, or the default reply).
  void commit_user_audio (const std::string &item_id, double seconds,
      gint64 from);
  // The recogniser's words for a turn (empty: none), on the worker.
  void on_words (const std::string &item_id, double seconds, bool transcribe,
      const std::string &words);
  void emit_transcription (const std::string &item_id, double seconds,
      const std::string &words);
  void start_response (JsonObject *params);
  // Whether the response about to start calls a function (tools, tool_choice and the last
  // user text decide), and which, with what arguments.
  bool plan_function_call (JsonObject *params, std::string *name,
      std::string *arguments) const;
  std::string last_user_text () const;
  // Whether the next spoken or text response says the default reply (neither a tool's output
  // nor --reply).
  bool default_reply () const
  {
    return !pending_output_ && options_.reply.empty ();
  }
  // What a spoken or text response says; consumes the pending tool output and images.
  std::string reply_text ();
  // The response's text is decided now, and spoken (or streamed as text).
  void say_reply ();
  void add_output_item ();
  void begin_output (Pcm pcm);
  // One tick of a function call: its item first, then the next piece of its arguments.
  void emit_argument_delta ();
  void emit_words_until (double played_ms);
  void finish_response (const char *status, const char *reason);
  void emit_rate_limits (gint64 tokens_used);
  void stop_audio ();  // cut playback now (no event)
  void audio_finished ();

  JsonObject *response_object (const char *status) const;
  // The response's output item: an assistant message, or a function_call.
  JsonObject *assistant_item (const char *status) const;

  AgentHost &host_;
  const Options &options_;
  Session session_;
  SpeechSynth &synth_;
  AudioPacer pacer_;
  EnergyVad vad_;
  TurnDetection turn_;

  std::string conversation_id_;
  std::map<std::string, JsonObject *> items_;
  std::vector<std::string> item_order_;

  double input_ms_ = 0;         // all caller audio so far (the VAD timeline)
  double buffer_ms_ = 0;        // caller audio not yet committed
  double heard_seconds_ = 0;    // the last user turn, for the default reply
  std::string speech_item_id_;  // the user item of the turn in progress
  bool voice_locked_ = false;   // the assistant has spoken: the voice is frozen

  // The last user turn in the conversation, and its words once recognised (empty: none).
  struct HeardTurn {
    std::string item_id;
    bool pending = false;  // its words are being recognised
    std::string words;
  };
  HeardTurn last_turn_;
  Recogniser *recogniser_;
  TurnAudio input_audio_;  // kept only for the recogniser
  // The recogniser's answers are dropped once this goes with the agent.
  std::shared_ptr<int> alive_ = std::make_shared<int> (0);

  std::unique_ptr<Response> response_;  // the response being generated, if any
  std::string playing_response_id_;     // whose audio the pacer is playing
  std::string last_response_id_;

  const bool webrtc_filter_;
  // Function names by call_id: the calls the agent made and function_call items the client
  // created (history it replays).
  std::map<std::string, std::string> call_names_;
  std::set<std::string> issued_calls_;  // call_ids the agent made
  // The latest function_call_output not yet answered by a response: call_id and output.
  std::optional<std::pair<std::string, std::string>> pending_output_;
  // Images received since the last spoken or text response, and the size of the last one.
  int images_pending_ = 0;
  int last_image_width_ = 0, last_image_height_ = 0;
};

}  // namespace rts
