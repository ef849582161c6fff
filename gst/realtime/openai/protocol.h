/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The realtime event codec: client events out, server events in, the HTTP
 * bodies of minting and of errors. Pure json-glib: no GStreamer, no I/O, so it
 * is unit-tested alone (tests/protocol.cpp). */
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

typedef struct _JsonNode JsonNode;
typedef struct _JsonObject JsonObject;

namespace rt {

/* Turn detection as the session takes it. Default leaves the service's own
 * (server VAD); None is `null` (manual turns). */
enum class TurnDetection { Default, ServerVad, SemanticVad, None };

/* What a session is created with (minting) and updated to (session.update).
 * Empty strings and unset optionals mean "leave the service's default". */
struct SessionConfig {
  std::string model = "gpt-realtime";
  std::string instructions;
  std::string voice;
  TurnDetection turn_detection = TurnDetection::Default;
  std::optional<double> vad_threshold;        /* server VAD, 0..1 */
  std::optional<int> vad_prefix_padding_ms;   /* server VAD */
  std::optional<int> vad_silence_duration_ms; /* server VAD */
  std::string vad_eagerness;   /* semantic VAD: low, medium, high, auto */
  std::string noise_reduction; /* off, near_field, far_field */
  std::string output_modality; /* audio or text */
  std::optional<int> max_output_tokens; /* 0: "inf" */
  std::optional<double> speed;          /* 0.25..1.5 */
  std::string transcription_model;      /* input transcription; "" = off */
  std::string transcription_language;
  std::string tools;       /* a JSON array (check_tools) */
  std::string tool_choice; /* auto, none, required, or a function name */
};

/* The groups of session fields, for updates that carry only what changed. */
enum SessionField : unsigned {
  kSessionInstructions = 1u << 0,
  kSessionVoice = 1u << 1,
  kSessionTurnDetection = 1u << 2,
  kSessionNoiseReduction = 1u << 3,
  kSessionOutputModalities = 1u << 4,
  kSessionMaxOutputTokens = 1u << 5,
  kSessionSpeed = 1u << 6,
  kSessionTranscription = 1u << 7,
  kSessionTools = 1u << 8,
  kSessionToolChoice = 1u << 9,
  kSessionAll = (1u << 10) - 1,
};

/* Overlays the fields of `over` that are set onto base (the provider's
 * settings under an element's). */
SessionConfig merge_session (const SessionConfig &base,
    const SessionConfig &over);

/* Checks a `tools` property value: a JSON array of function tools, each
 * {"type":"function","name":...} with a name of 1-64 letters, digits, '_'
 * or '-', an optional string "description" and an optional object
 * "parameters". Returns the array re-serialised, or nullopt with *error. */
std::optional<std::string> check_tools (const std::string &json,
    std::string *error);

/* Body of POST /v1/realtime/client_secrets. */
std::string build_client_secret_request (const SessionConfig &config,
    int ttl_seconds);

/* A session.update client event carrying the settings that can change
 * mid-call (everything but the model). With kSessionAll, the fields that
 * are set; otherwise exactly the fields named, unset ones as the value
 * that restores the default or turns the feature off. */
std::string build_session_update (const SessionConfig &config,
    unsigned fields = kSessionAll);

struct ClientSecret {
  std::string value;           /* ek_... */
  std::int64_t expires_at = 0; /* unix seconds, 0 when the reply had none */
};

/* Parses the minting reply; nullopt (and *error set) when it is not one. */
std::optional<ClientSecret> parse_client_secret (const std::string &body,
    std::string *error);

/* An HTTP-level failure as the service reports it. */
struct ServiceError {
  int http_status = 0;    /* 0: no HTTP answer (transport failure) */
  std::string type;       /* error.type, e.g. invalid_request_error */
  std::string code;       /* error.code, e.g. invalid_api_key */
  std::string message;    /* the service's own words, or ours */
  int retry_after_s = -1; /* the reply's Retry-After, in seconds */
  bool tls_failure =
      false; /* no TLS session could be made: retrying will not help */
  /* What the user should know beside the error itself, e.g. that the local
   * server stood in for the service because no key was set. */
  std::string context;

  /* One line for an element error: status, code and the service's message. */
  std::string describe () const;
};

/* Builds a ServiceError from a non-success HTTP reply; the body may be the
 * service's JSON error, empty, or anything else. */
ServiceError parse_error_body (int http_status, const std::string &body);

/* A server event, minimally decoded: its type and (when present) the
 * error code of an `error` event. Unknown types are valid events. Every
 * parser here takes strict JSON only (RFC 8259, UTF-8, nested at most
 * kMaxJsonDepth levels, see json_scan.h). */
struct ServerEvent {
  std::string type;
  std::string error_code;
  std::string error_message;
  /* The parsed event, so that nothing reads its text a second time. */
  std::shared_ptr<JsonNode> root;
  JsonObject *object () const;
};

std::optional<ServerEvent> parse_server_event (const std::string &text,
    std::string *error);

/* True for the server event types the service documents. Others are still
 * valid events (the service adds types over time); callers only count
 * them. */
bool is_known_server_event (const std::string &type);

/* Checks that text is one JSON object with a string "type": what the
 * data channel may carry. Returns the type, or nullopt with *error set. */
std::optional<std::string> check_client_event (const std::string &text,
    std::string *error);

}  // namespace rt
