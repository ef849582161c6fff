// What the tests can see and steer through /control: a log of requests, minted secrets and
// calls, and faults to inject. Secret values and the permanent key are never recorded.
#pragma once

#include <json-glib/json-glib.h>

#include <deque>
#include <map>
#include <memory>
#include <string>

namespace rts {

// One call as the log shows it. Outlives the call itself.
struct CallRecord {
  explicit CallRecord(std::string call_id);
  ~CallRecord();
  CallRecord(const CallRecord &) = delete;
  CallRecord &operator=(const CallRecord &) = delete;

  std::string id;
  std::string state = "active";  // active | hungup | dropped | expired
  bool hangup = false;           // a hangup request arrived for it
  JsonArray *events;             // every client event received, as parsed JSON
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
  bool drop_calls = false;
  bool has_event = false;
  std::string send_event;
};

class ControlLog {
 public:
  ControlLog() = default;
  ~ControlLog();
  ControlLog(const ControlLog &) = delete;
  ControlLog &operator=(const ControlLog &) = delete;

  void log_request(const std::string &method, const std::string &path, const std::string &query,
                   unsigned status);
  // requested: the "session" member of the mint request as sent (nullptr when absent).
  void log_secret(int ttl, JsonObject *requested);
  std::shared_ptr<CallRecord> add_call(const std::string &id);
  std::shared_ptr<CallRecord> find_call(const std::string &id) const;

  // Parse a fault request; false (with *error) if it is malformed.
  bool apply_fault(JsonObject *request, FaultActions *actions, std::string *error);
  // Consume one pending fault for /calls or /client_secrets; false if none is pending.
  bool take_call_fault(HttpFault *fault) { return take(&call_fault_, fault); }
  bool take_mint_fault(HttpFault *fault) { return take(&mint_fault_, fault); }

  std::string to_json() const;
  void reset();

 private:
  struct Request {
    std::string method, path, query;
    unsigned status;
  };
  struct SecretEntry {
    int ttl;
    JsonNode *session;  // owned; a null node when the request had none
  };
  static bool take(HttpFault *pending, HttpFault *out);
  static bool parse_http_fault(JsonObject *request, const char *count_member, HttpFault *fault,
                               std::string *error);

  std::deque<Request> requests_;
  std::deque<SecretEntry> secrets_;
  std::deque<std::shared_ptr<CallRecord>> calls_;
  std::map<std::string, std::weak_ptr<CallRecord>> calls_by_id_;
  HttpFault call_fault_;
  HttpFault mint_fault_;
};

}  // namespace rts
