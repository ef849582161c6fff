/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "control.h"

#include "json_util.h"

#include <cmath>
#include <cstring>

namespace rts {

namespace {
// A long-running server must not grow without bound; tests reset long before this.
constexpr size_t kMaxEntries = 10000;

template <typename T> void trim (std::deque<T> *q)
{
  while (q->size () > kMaxEntries)
    q->pop_front ();
}
}  // namespace

CallRecord::CallRecord (std::string call_id)
    : id (std::move (call_id)), events (json_array_new ())
{
}

CallRecord::~CallRecord ()
{
  json_array_unref (events);
}

ControlLog::~ControlLog ()
{
  reset ();
}

void ControlLog::log_request (const std::string &method,
    const std::string &path, const std::string &query, unsigned status)
{
  requests_.push_back (Request { method, path, query, status });
  trim (&requests_);
}

void ControlLog::log_secret (int ttl, JsonObject *requested, const char *auth,
    Flavor flavor)
{
  JsonNode *node = requested ?
      json_node_init_object (json_node_alloc (), requested) :
      json_node_init_null (json_node_alloc ());
  JsonNode *copy = deep_copy (node);
  json_node_unref (node);
  secrets_.push_back (SecretEntry { ttl, copy, auth, flavor });
  while (secrets_.size () > kMaxEntries) {
    json_node_unref (secrets_.front ().session);
    secrets_.pop_front ();
  }
}

std::shared_ptr<CallRecord> ControlLog::add_call (const std::string &id,
    Flavor flavor, bool webrtc_filter)
{
  auto record = std::make_shared<CallRecord> (id);
  record->flavor = flavor;
  record->webrtc_filter = webrtc_filter;
  calls_.push_back (record);
  trim (&calls_);
  calls_by_id_[id] = record;
  return record;
}

std::shared_ptr<CallRecord> ControlLog::find_call (const std::string &id) const
{
  auto it = calls_by_id_.find (id);
  return it == calls_by_id_.end () ? nullptr : it->second.lock ();
}

bool ControlLog::parse_http_fault (JsonObject *request,
    const char *count_member, HttpFault *fault, std::string *error)
{
  double count = get_number (request, count_member, -1);
  if (count < 0) {
    *error = std::string ("'") + count_member +
        "' must be a non-negative integer";
    return false;
  }
  HttpFault f;
  f.remaining = static_cast<int> (count);
  double status = get_number (request, "status", 503);
  if (status < 100 || status > 599) {
    *error = "'status' must be an HTTP status code";
    return false;
  }
  f.status = static_cast<unsigned> (status);
  JsonNode *body = json_object_get_member (request, "body");
  if (body && !JSON_NODE_HOLDS_NULL (body)) {
    f.has_body = true;
    f.body = rt::json::string_member (request, "body");
  }
  f.retry_after = static_cast<int> (get_number (request, "retry_after", -1));
  *fault = f;
  return true;
}

namespace {

// A member that must be a JSON integer in [min, max]; false (with *error) otherwise.
bool get_int_member (JsonObject *obj, const char *member, const char *what,
    gint64 min, gint64 max, gint64 *out, std::string *error)
{
  JsonNode *node = json_object_get_member (obj, member);
  double value = node && JSON_NODE_HOLDS_VALUE (node) ?
      get_number (obj, member, NAN) :
      NAN;
  if (std::isnan (value) || value != std::floor (value) || value < min ||
      value > max) {
    *error = std::string ("'") + what + "' must be an integer from " +
        std::to_string (min) + " to " + std::to_string (max);
    return false;
  }
  *out = static_cast<gint64> (value);
  return true;
}

bool get_bool_member (JsonObject *obj, const char *member, bool *out,
    std::string *error)
{
  JsonNode *node = json_object_get_member (obj, member);
  if (!node || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_BOOLEAN) {
    *error = std::string ("'") + member + "' must be true or false";
    return false;
  }
  *out = json_node_get_boolean (node);
  return true;
}

// send_event's text cut at the offsets of split_at (bytes, strictly increasing, inside the
// text), every piece at most one data channel message.
bool split_event (JsonObject *request, std::vector<std::string> *pieces,
    std::string *error)
{
  JsonNode *text_node = json_object_get_member (request, "send_event");
  if (!JSON_NODE_HOLDS_VALUE (text_node) ||
      json_node_get_value_type (text_node) != G_TYPE_STRING) {
    *error = "'send_event' must be a string";
    return false;
  }
  const std::string text = json_node_get_string (text_node);
  std::vector<size_t> cuts;
  if (json_object_has_member (request, "split_at")) {
    JsonNode *node = json_object_get_member (request, "split_at");
    if (!JSON_NODE_HOLDS_ARRAY (node)) {
      *error = "'split_at' must be an array of byte offsets";
      return false;
    }
    JsonArray *offsets = json_node_get_array (node);
    for (guint i = 0; i < json_array_get_length (offsets); i++) {
      JsonNode *element = json_array_get_element (offsets, i);
      double value = JSON_NODE_HOLDS_VALUE (element) &&
              (json_node_get_value_type (element) == G_TYPE_INT64 ||
                  json_node_get_value_type (element) == G_TYPE_DOUBLE) ?
          json_node_get_double (element) :
          NAN;
      size_t previous = cuts.empty () ? 0 : cuts.back ();
      if (std::isnan (value) || value != std::floor (value) ||
          value <= previous || value >= static_cast<double> (text.size ())) {
        *error =
            "'split_at' must hold strictly increasing byte offsets inside the text (1.." +
            std::to_string (text.size () ? text.size () - 1 : 0) + ")";
        return false;
      }
      cuts.push_back (static_cast<size_t> (value));
    }
  }
  cuts.push_back (text.size ());
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t cut : cuts) {
    if (cut - start > kMaxMessageSize) {
      *error = "a piece of 'send_event' is " + std::to_string (cut - start) +
          " bytes; the data channel carries at most " +
          std::to_string (kMaxMessageSize) + " per message (use 'split_at')";
      return false;
    }
    out.push_back (text.substr (start, cut - start));
    start = cut;
  }
  *pieces = std::move (out);
  return true;
}

const char *const kFaultMembers[] = { "reject_calls", "reject_mints", "status",
  "body", "retry_after", "drop_calls", "expire_calls", "delay_answers",
  "bad_answers", "send_event", "split_at", "strict_ice" };

}  // namespace

bool ControlLog::apply_fault (JsonObject *request, FaultActions *actions,
    std::string *error)
{
  // Validate everything before changing anything, so a bad request has no effect.
  JsonObjectIter iter;
  const gchar *name;
  JsonNode *value;
  json_object_iter_init (&iter, request);
  while (json_object_iter_next (&iter, &name, &value)) {
    bool known = false;
    for (const char *member : kFaultMembers)
      known = known || strcmp (name, member) == 0;
    if (!known) {
      *error = std::string ("unknown member '") + name + "'";
      return false;
    }
  }
  HttpFault calls = call_fault_, mints = mint_fault_;
  if (json_object_has_member (request, "reject_calls") &&
      !parse_http_fault (request, "reject_calls", &calls, error))
    return false;
  if (json_object_has_member (request, "reject_mints") &&
      !parse_http_fault (request, "reject_mints", &mints, error))
    return false;
  FaultActions out;
  if (json_object_has_member (request, "drop_calls")) {
    JsonNode *node = json_object_get_member (request, "drop_calls");
    GType type = JSON_NODE_HOLDS_VALUE (node) ?
        json_node_get_value_type (node) :
        G_TYPE_INVALID;
    std::string mode = type == G_TYPE_STRING ? json_node_get_string (node) : "";
    if (type == G_TYPE_BOOLEAN)
      out.drop_calls = json_node_get_boolean (node) ?
          FaultActions::Drop::Abrupt :
          FaultActions::Drop::None;
    else if (mode == "abrupt")
      out.drop_calls = FaultActions::Drop::Abrupt;
    else if (mode == "silent")
      out.drop_calls = FaultActions::Drop::Silent;
    else {
      *error = "'drop_calls' must be true, false, \"abrupt\" or \"silent\"";
      return false;
    }
  }
  if (json_object_has_member (request, "expire_calls") &&
      !get_bool_member (request, "expire_calls", &out.expire_calls, error))
    return false;
  if (json_object_has_member (request, "strict_ice")) {
    JsonNode *node = json_object_get_member (request, "strict_ice");
    GType type = JSON_NODE_HOLDS_VALUE (node) ?
        json_node_get_value_type (node) :
        G_TYPE_INVALID;
    std::string mode = type == G_TYPE_STRING ? json_node_get_string (node) : "";
    if (type == G_TYPE_BOOLEAN)
      out.strict_ice = json_node_get_boolean (node) ? StrictIce::Consent :
                                                      StrictIce::Off;
    else if (mode == "consent")
      out.strict_ice = StrictIce::Consent;
    else if (mode == "all")
      out.strict_ice = StrictIce::All;
    else if (mode == "off")
      out.strict_ice = StrictIce::Off;
    else {
      *error =
          "'strict_ice' must be true, false, \"consent\", \"all\" or \"off\"";
      return false;
    }
    out.has_strict_ice = true;
  }
  gint64 delay_count = delay_count_, delay_ms = delay_ms_,
         bad_answers = bad_answers_;
  if (json_object_has_member (request, "delay_answers")) {
    JsonObject *delay = rt::json::object_member (request, "delay_answers");
    if (!delay) {
      *error = "'delay_answers' must be an object {\"count\": N, \"ms\": M}";
      return false;
    }
    if (!get_int_member (delay, "count", "delay_answers.count", 0, G_MAXINT,
            &delay_count, error) ||
        !get_int_member (delay, "ms", "delay_answers.ms", 0, 600000, &delay_ms,
            error))
      return false;
  }
  if (json_object_has_member (request, "bad_answers") &&
      !get_int_member (request, "bad_answers", "bad_answers", 0, G_MAXINT,
          &bad_answers, error))
    return false;
  if (json_object_has_member (request, "split_at") &&
      !json_object_has_member (request, "send_event")) {
    *error = "'split_at' needs 'send_event'";
    return false;
  }
  if (json_object_has_member (request, "send_event")) {
    if (!split_event (request, &out.event_pieces, error))
      return false;
    out.has_event = true;
  }
  call_fault_ = calls;
  mint_fault_ = mints;
  delay_count_ = static_cast<int> (delay_count);
  delay_ms_ = static_cast<int> (delay_ms);
  bad_answers_ = static_cast<int> (bad_answers);
  *actions = std::move (out);
  return true;
}

int ControlLog::take_answer_delay ()
{
  if (delay_count_ <= 0)
    return -1;
  delay_count_--;
  return delay_ms_;
}

bool ControlLog::take_bad_answer ()
{
  if (bad_answers_ <= 0)
    return false;
  bad_answers_--;
  return true;
}

bool ControlLog::take (HttpFault *pending, HttpFault *out)
{
  if (pending->remaining <= 0)
    return false;
  pending->remaining--;
  *out = *pending;
  return true;
}

std::string ControlLog::to_json () const
{
  JsonObject *root = json_object_new ();
  JsonArray *requests = json_array_new ();
  for (const auto &r : requests_) {
    JsonObject *o = json_object_new ();
    json_object_set_string_member (o, "method", r.method.c_str ());
    json_object_set_string_member (o, "path", r.path.c_str ());
    json_object_set_string_member (o, "query", r.query.c_str ());
    json_object_set_int_member (o, "status", r.status);
    json_array_add_object_element (requests, o);
  }
  json_object_set_array_member (root, "requests", requests);
  JsonArray *secrets = json_array_new ();
  for (const auto &s : secrets_) {
    JsonObject *o = json_object_new ();
    json_object_set_int_member (o, "ttl", s.ttl);
    json_object_set_member (o, "session", json_node_copy (s.session));
    json_object_set_string_member (o, "auth", s.auth);
    json_object_set_string_member (o, "flavor", flavor_name (s.flavor));
    json_array_add_object_element (secrets, o);
  }
  json_object_set_array_member (root, "secrets", secrets);
  JsonArray *calls = json_array_new ();
  for (const auto &c : calls_) {
    JsonObject *o = json_object_new ();
    json_object_set_string_member (o, "id", c->id.c_str ());
    json_object_set_string_member (o, "flavor", flavor_name (c->flavor));
    json_object_set_boolean_member (o, "webrtcfilter", c->webrtc_filter);
    json_object_set_string_member (o, "state", c->state.c_str ());
    json_object_set_boolean_member (o, "hangup", c->hangup);
    json_object_set_array_member (o, "events", json_array_ref (c->events));
    JsonArray *messages = json_array_new ();
    for (const auto &m : c->messages) {
      JsonObject *item = json_object_new ();
      json_object_set_string_member (item, "id", m.id.c_str ());
      json_object_set_string_member (item, "role", m.role.c_str ());
      json_object_set_string_member (item, "text", m.text.c_str ());
      json_array_add_object_element (messages, item);
    }
    json_object_set_array_member (o, "messages", messages);
    json_object_set_int_member (o, "conversation_items",
        static_cast<gint64> (c->conversation_items));
    json_object_set_string_member (o, "instructions", c->instructions.c_str ());
    JsonArray *function_calls = json_array_new ();
    for (const auto &f : c->function_calls) {
      JsonObject *call = json_object_new ();
      json_object_set_string_member (call, "call_id", f.call_id.c_str ());
      for (const auto &member : { std::make_pair ("name", &f.name),
               std::make_pair ("arguments", &f.arguments),
               std::make_pair ("output", &f.output) }) {
        if (*member.second)
          json_object_set_string_member (call, member.first,
              member.second->value ().c_str ());
        else
          json_object_set_null_member (call, member.first);
      }
      json_array_add_object_element (function_calls, call);
    }
    json_object_set_array_member (o, "function_calls", function_calls);
    JsonArray *images = json_array_new ();
    for (const auto &i : c->images) {
      JsonObject *image = json_object_new ();
      json_object_set_string_member (image, "item_id", i.item_id.c_str ());
      json_object_set_string_member (image, "format", i.format.c_str ());
      json_object_set_int_member (image, "width", i.width);
      json_object_set_int_member (image, "height", i.height);
      json_object_set_int_member (image, "bytes",
          static_cast<gint64> (i.bytes));
      json_object_set_string_member (image, "detail", i.detail.c_str ());
      json_object_set_int_member (image, "message_bytes",
          static_cast<gint64> (i.message_bytes));
      json_array_add_object_element (images, image);
    }
    json_object_set_array_member (o, "images", images);
    JsonObject *input_audio = json_object_new ();
    json_object_set_double_member (input_audio, "seconds",
        std::round (c->input_seconds * 1000) / 1000);
    JsonArray *windows = json_array_new ();
    for (const auto &w : c->input_windows) {
      JsonObject *window = json_object_new ();
      json_object_set_double_member (window, "t", w.t);
      json_object_set_double_member (window, "rms_dbfs", w.rms_dbfs);
      json_array_add_object_element (windows, window);
    }
    json_object_set_array_member (input_audio, "windows", windows);
    json_object_set_object_member (o, "input_audio", input_audio);
    const RelayStats &r = *c->relay;
    JsonObject *relay = json_object_new ();
    json_object_set_int_member (relay, "packets_in", r.packets_in.load ());
    json_object_set_int_member (relay, "packets_out", r.packets_out.load ());
    json_object_set_int_member (relay, "dropped_in", r.dropped_in.load ());
    json_object_set_int_member (relay, "dropped_out", r.dropped_out.load ());
    json_object_set_int_member (relay, "binding_requests",
        r.binding_requests.load ());
    json_object_set_int_member (relay, "use_candidate",
        r.use_candidate.load ());
    json_object_set_int_member (relay, "ignored_checks",
        r.ignored_checks.load ());
    json_object_set_int_member (relay, "binding_indications",
        r.binding_indications.load ());
    json_object_set_int_member (relay, "rtp_discarded",
        r.rtp_discarded.load ());
    json_object_set_object_member (o, "relay", relay);
    json_array_add_object_element (calls, o);
  }
  json_object_set_array_member (root, "calls", calls);
  std::string out = rts::to_json (root);
  json_object_unref (root);
  return out;
}

void ControlLog::reset ()
{
  requests_.clear ();
  for (auto &s : secrets_)
    json_node_unref (s.session);
  secrets_.clear ();
  calls_.clear ();
  calls_by_id_.clear ();
  call_fault_ = HttpFault ();
  mint_fault_ = HttpFault ();
  delay_count_ = delay_ms_ = bad_answers_ = 0;
}

}  // namespace rts
