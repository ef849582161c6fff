/* The realtime event codec: client events out, server events in, the HTTP
 * bodies of minting and of errors. Pure json-glib: no GStreamer, no I/O, so it
 * is unit-tested alone (tests/protocol.cpp). */
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace rt {

/* What a session is created with (minting) and updated to (session.update).
 * Empty strings mean "leave the service's default". */
struct SessionConfig {
  std::string model = "gpt-realtime";
  std::string instructions;
  std::string voice;
};

/* Body of POST /v1/realtime/client_secrets. */
std::string build_client_secret_request (const SessionConfig &config,
    int ttl_seconds);

/* A session.update client event carrying the settings that can change
 * mid-call (everything but the model). */
std::string build_session_update (const SessionConfig &config);

struct ClientSecret {
  std::string value;          /* ek_... */
  std::int64_t expires_at = 0; /* unix seconds, 0 when the reply had none */
};

/* Parses the minting reply; nullopt (and *error set) when it is not one. */
std::optional<ClientSecret> parse_client_secret (const std::string &body,
    std::string *error);

/* An HTTP-level failure as the service reports it. */
struct ServiceError {
  int http_status = 0;        /* 0: no HTTP answer (transport failure) */
  std::string type;           /* error.type, e.g. invalid_request_error */
  std::string code;           /* error.code, e.g. invalid_api_key */
  std::string message;        /* the service's own words, or ours */
  int retry_after_s = -1;     /* the reply's Retry-After, in seconds */
  bool tls_failure = false;   /* no TLS session could be made: retrying will not help */

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
