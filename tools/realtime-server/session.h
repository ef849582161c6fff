/* SPDX-License-Identifier: LGPL-2.1-or-later */
// The effective session configuration of a secret or a call, and the rules for changing it.
#pragma once

#include <json-glib/json-glib.h>

#include <memory>
#include <string>
#include <vector>

namespace rts {

// What the VAD needs from audio.input.turn_detection.
struct TurnDetection {
  bool enabled = false;  // false when turn_detection is null (manual turns)
  double threshold = 0.5;
  int prefix_padding_ms = 300;
  int silence_duration_ms = 500;
  bool create_response = true;
  bool interrupt_response = true;
};

// tool_choice: whether and which function the model calls.
struct ToolChoice {
  enum class Mode { Auto, None, Required, Function };
  Mode mode = Mode::Auto;
  std::string function;  // Mode::Function: the function named
};

// Why a mint request or a session.update was refused, in the service's error vocabulary.
struct SessionError {
  std::string code;
  std::string message;
  std::string param;
};

class Session {
 public:
  // The effective session for a mint request's "session" member (nullptr: all defaults).
  static std::unique_ptr<Session> from_request (JsonObject *requested,
      SessionError *error);

  Session (const Session &other);
  Session &operator= (const Session &) = delete;
  ~Session ();

  // Apply the "session" member of a session.update. All or nothing: on failure nothing changes.
  // voice_locked: the assistant has already produced audio, so the voice is frozen.
  bool update (JsonObject *patch, bool voice_locked, SessionError *error);

  // The session as it goes on the wire (borrowed; valid until the next update).
  JsonObject *object () const { return obj_; }
  void set_expires_at (gint64 unix_seconds);

  TurnDetection turn_detection () const;
  bool transcription_enabled () const;
  bool audio_output ()
      const;  // output_modalities is ["audio"] (else text only)
  std::string voice () const;
  std::string model () const;
  // The names of the session's function tools, in order.
  std::vector<std::string> tool_names () const
  {
    return tool_names (json_object_get_member (obj_, "tools"));
  }
  ToolChoice tool_choice () const
  {
    return parse_tool_choice (json_object_get_member (obj_, "tool_choice"));
  }

  // tools and tool_choice as a session or a response.create carries them. where is the
  // parameter prefix of errors ("session" or "response"); a null or absent node is valid.
  static bool validate_tools (JsonNode *tools, const std::string &where,
      SessionError *error);
  static bool validate_tool_choice (JsonNode *choice, const std::string &where,
      SessionError *error);
  static std::vector<std::string> tool_names (JsonNode *tools);
  static ToolChoice parse_tool_choice (JsonNode *choice);

 private:
  explicit Session (JsonObject *obj) : obj_ (obj) {}
  static bool validate (JsonObject *candidate, SessionError *error);
  static void normalize (JsonObject *session);

  JsonObject *obj_;
};

}  // namespace rts
