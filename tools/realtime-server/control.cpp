#include "control.h"

#include "json_util.h"

namespace rts {

namespace {
// A long-running server must not grow without bound; tests reset long before this.
constexpr size_t kMaxEntries = 10000;

template <typename T>
void trim(std::deque<T> *q) {
  while (q->size() > kMaxEntries) q->pop_front();
}
}  // namespace

CallRecord::CallRecord(std::string call_id) : id(std::move(call_id)), events(json_array_new()) {}

CallRecord::~CallRecord() { json_array_unref(events); }

ControlLog::~ControlLog() { reset(); }

void ControlLog::log_request(const std::string &method, const std::string &path,
                             const std::string &query, unsigned status) {
  requests_.push_back(Request{method, path, query, status});
  trim(&requests_);
}

void ControlLog::log_secret(int ttl, JsonObject *requested) {
  JsonNode *node = requested ? json_node_init_object(json_node_alloc(), requested)
                             : json_node_init_null(json_node_alloc());
  JsonNode *copy = json_node_copy(node);
  json_node_unref(node);
  secrets_.push_back(SecretEntry{ttl, copy});
  while (secrets_.size() > kMaxEntries) {
    json_node_unref(secrets_.front().session);
    secrets_.pop_front();
  }
}

std::shared_ptr<CallRecord> ControlLog::add_call(const std::string &id) {
  auto record = std::make_shared<CallRecord>(id);
  calls_.push_back(record);
  trim(&calls_);
  calls_by_id_[id] = record;
  return record;
}

std::shared_ptr<CallRecord> ControlLog::find_call(const std::string &id) const {
  auto it = calls_by_id_.find(id);
  return it == calls_by_id_.end() ? nullptr : it->second.lock();
}

bool ControlLog::parse_http_fault(JsonObject *request, const char *count_member, HttpFault *fault,
                                  std::string *error) {
  double count = get_number(request, count_member, -1);
  if (count < 0) {
    *error = std::string("'") + count_member + "' must be a non-negative integer";
    return false;
  }
  HttpFault f;
  f.remaining = static_cast<int>(count);
  double status = get_number(request, "status", 503);
  if (status < 100 || status > 599) {
    *error = "'status' must be an HTTP status code";
    return false;
  }
  f.status = static_cast<unsigned>(status);
  JsonNode *body = json_object_get_member(request, "body");
  if (body && !JSON_NODE_HOLDS_NULL(body)) {
    f.has_body = true;
    f.body = get_string(request, "body");
  }
  f.retry_after = static_cast<int>(get_number(request, "retry_after", -1));
  *fault = f;
  return true;
}

bool ControlLog::apply_fault(JsonObject *request, FaultActions *actions, std::string *error) {
  // Validate everything before changing anything, so a bad request has no effect.
  HttpFault calls = call_fault_, mints = mint_fault_;
  if (json_object_has_member(request, "reject_calls") &&
      !parse_http_fault(request, "reject_calls", &calls, error))
    return false;
  if (json_object_has_member(request, "reject_mints") &&
      !parse_http_fault(request, "reject_mints", &mints, error))
    return false;
  call_fault_ = calls;
  mint_fault_ = mints;
  actions->drop_calls = get_bool(request, "drop_calls", false);
  if (json_object_has_member(request, "send_event")) {
    actions->has_event = true;
    actions->send_event = get_string(request, "send_event");
  }
  return true;
}

bool ControlLog::take(HttpFault *pending, HttpFault *out) {
  if (pending->remaining <= 0) return false;
  pending->remaining--;
  *out = *pending;
  return true;
}

std::string ControlLog::to_json() const {
  JsonObject *root = json_object_new();
  JsonArray *requests = json_array_new();
  for (const auto &r : requests_) {
    JsonObject *o = json_object_new();
    json_object_set_string_member(o, "method", r.method.c_str());
    json_object_set_string_member(o, "path", r.path.c_str());
    json_object_set_string_member(o, "query", r.query.c_str());
    json_object_set_int_member(o, "status", r.status);
    json_array_add_object_element(requests, o);
  }
  json_object_set_array_member(root, "requests", requests);
  JsonArray *secrets = json_array_new();
  for (const auto &s : secrets_) {
    JsonObject *o = json_object_new();
    json_object_set_int_member(o, "ttl", s.ttl);
    json_object_set_member(o, "session", json_node_copy(s.session));
    json_array_add_object_element(secrets, o);
  }
  json_object_set_array_member(root, "secrets", secrets);
  JsonArray *calls = json_array_new();
  for (const auto &c : calls_) {
    JsonObject *o = json_object_new();
    json_object_set_string_member(o, "id", c->id.c_str());
    json_object_set_string_member(o, "state", c->state.c_str());
    json_object_set_boolean_member(o, "hangup", c->hangup);
    json_object_set_array_member(o, "events", json_array_ref(c->events));
    json_array_add_object_element(calls, o);
  }
  json_object_set_array_member(root, "calls", calls);
  std::string out = rts::to_json(root);
  json_object_unref(root);
  return out;
}

void ControlLog::reset() {
  requests_.clear();
  for (auto &s : secrets_) json_node_unref(s.session);
  secrets_.clear();
  calls_.clear();
  calls_by_id_.clear();
  call_fault_ = HttpFault();
  mint_fault_ = HttpFault();
}

}  // namespace rts
