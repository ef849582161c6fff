/* SPDX-License-Identifier: LGPL-2.1-or-later */
// What the tests can see and steer through /control: a log of requests, minted secrets and
// calls, and faults to inject. Secret values and the permanent key are never recorded.
#pragma once

#include "options.h"
#include "relay.h"

#include <json-glib/json-glib.h>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rts {

// One call as the log shows it. Outlives the call itself.
struct CallRecord {
  explicit CallRecord (std::string call_id);
  ~CallRecord ();
  CallRecord (const CallRecord &) = delete;
  CallRecord &operator= (const CallRecord &) = delete;

  // A message item the client created with conversation.item.create.
  struct Message {
    std::string id, role, text;  // text: the item's text parts, joined
  };

  // A function call the agent made, or an output for a call_id it never issued.
  struct FunctionCall {
    std::string call_id;
    std::optional<std::string>
        name;  // unissued: the name of a function_call item the
               // client created with that call_id, if any
    std::optional<std::string> arguments;  // unissued: none
    std::optional<std::string> output;     // none until the client answers
  };

  // An image the client sent in a message item and the server accepted.
  struct Image {
    std::string item_id, format, detail;
    int width, height;
    size_t bytes;          // decoded size
    size_t message_bytes;  // the whole data channel message that carried it
  };

  // The level of one 100 ms window of decoded caller audio.
  struct LevelWindow {
    double t;  // seconds since the call's media started
    double rms_dbfs;
  };
  static constexpr size_t kMaxLevelWindows = 600;

  std::string id;
  Flavor flavor = Flavor::OpenAI;
  bool webrtc_filter = false;    // Azure's ?webrtcfilter=on
  std::string state = "active";  // active | hungup | dropped | expired
  bool hangup = false;           // a hangup request arrived for it
  JsonArray *events;             // every client event received, as parsed JSON
  std::vector<Message> messages;
  std::string instructions;       // the session's instructions as last set
  size_t conversation_items = 0;  // items the conversation holds now
  std::vector<FunctionCall> function_calls;
  std::vector<Image> images;
  double input_seconds = 0;               // decoded caller audio so far
  std::deque<LevelWindow> input_windows;  // the last kMaxLevelWindows
  std::shared_ptr<RelayStats> relay = std::make_shared<RelayStats> ();
};

// An HTTP failure to serve instead of the real answer, for the next `remaining` requests.
struct HttpFault {
  int remaining = 0;
  unsigned status = 503;
  bool has_body = false;
  std::string body;
  int retry_after = -1;  // seconds; -1: no Retry-After header
};

// What a POST /control/fault asks for beyond pending HTTP faults.
struct FaultActions {
  enum class Drop { None, Abrupt, Silent };
  Drop drop_calls = Drop::None;
  bool expire_calls = false;
  bool has_event = false;
  std::vector<std::string>
      event_pieces;  // send_event split at split_at, one message each
  bool has_strict_ice = false;
  StrictIce strict_ice = StrictIce::Off;
};

// The data channel limit both ways with webrtcbin 1.22 (its SDP has no a=max-message-size).
constexpr size_t kMaxMessageSize = 65536;

class ControlLog {
 public:
  ControlLog () = default;
  ~ControlLog ();
  ControlLog (const ControlLog &) = delete;
  ControlLog &operator= (const ControlLog &) = delete;

  void log_request (const std::string &method, const std::string &path,
      const std::string &query, unsigned status);
  // requested: the "session" member of the mint request as sent (nullptr when absent); auth:
  // how the permanent credential came ("bearer" or "api-key").
  void log_secret (int ttl, JsonObject *requested, const char *auth,
      Flavor flavor);
  std::shared_ptr<CallRecord> add_call (const std::string &id, Flavor flavor,
      bool webrtc_filter);
  std::shared_ptr<CallRecord> find_call (const std::string &id) const;

  // Parse a fault request; false (with *error) if it is malformed.
  bool apply_fault (JsonObject *request, FaultActions *actions,
      std::string *error);
  // Consume one pending fault for /calls or /client_secrets; false if none is pending.
  bool take_call_fault (HttpFault *fault) { return take (&call_fault_, fault); }
  bool take_mint_fault (HttpFault *fault) { return take (&mint_fault_, fault); }
  // Consume one pending answer delay (ms); -1 if none is pending.
  int take_answer_delay ();
  // Consume one pending "201 with a body that is not SDP"; false if none is pending.
  bool take_bad_answer ();

  std::string to_json () const;
  void reset ();

 private:
  struct Request {
    std::string method, path, query;
    unsigned status;
  };
  struct SecretEntry {
    int ttl;
    JsonNode *session;  // owned; a null node when the request had none
    const char *auth;
    Flavor flavor;
  };
  static bool take (HttpFault *pending, HttpFault *out);
  static bool parse_http_fault (JsonObject *request, const char *count_member,
      HttpFault *fault, std::string *error);

  std::deque<Request> requests_;
  std::deque<SecretEntry> secrets_;
  std::deque<std::shared_ptr<CallRecord>> calls_;
  std::map<std::string, std::weak_ptr<CallRecord>> calls_by_id_;
  HttpFault call_fault_;
  HttpFault mint_fault_;
  int delay_count_ = 0;
  int delay_ms_ = 0;
  int bad_answers_ = 0;
};

}  // namespace rts
