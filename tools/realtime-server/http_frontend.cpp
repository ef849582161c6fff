/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "http_frontend.h"

#include "json_util.h"
#include "main_thread.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace rts {

namespace {

// libsoup has no reason phrase for some codes the service uses.
void set_status (SoupServerMessage *msg, unsigned status)
{
  soup_server_message_set_status (msg, status,
      status == 429 ? "Too Many Requests" : nullptr);
}

void reply (SoupServerMessage *msg, const HttpReply &r)
{
  set_status (msg, r.status);
  if (!r.content_type.empty ())
    soup_server_message_set_response (msg, r.content_type.c_str (),
        SOUP_MEMORY_COPY, r.body.data (), r.body.size ());
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  if (!r.location.empty ())
    soup_message_headers_replace (headers, "Location", r.location.c_str ());
  if (r.retry_after >= 0)
    soup_message_headers_replace (headers, "Retry-After",
        std::to_string (r.retry_after).c_str ());
}

HttpReply json_reply (unsigned status, const std::string &body)
{
  HttpReply r;
  r.status = status;
  r.content_type = "application/json";
  r.body = body;
  return r;
}

HttpReply error_reply (unsigned status, const std::string &message,
    const char *code, const char *param = nullptr)
{
  return json_reply (status,
      error_body (message, "invalid_request_error", code, param));
}

void reply_json (SoupServerMessage *msg, unsigned status,
    const std::string &body)
{
  reply (msg, json_reply (status, body));
}

void reply_error (SoupServerMessage *msg, unsigned status,
    const std::string &message, const char *code, const char *param = nullptr)
{
  reply (msg, error_reply (status, message, code, param));
}

// What a misconfigured proxy in front of the service may return: a success status and a call
// location, but an HTML page instead of the SDP answer.
HttpReply bad_answer (Flavor flavor)
{
  HttpReply r;
  r.status = 201;
  r.content_type = "text/html";
  r.body =
      "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
      "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
      "</body>\r\n</html>\r\n";
  r.location = std::string (flavor == Flavor::Azure ? "/openai" : "") +
      "/v1/realtime/calls/rtc_" + random_hex (12);
  return r;
}

std::string request_body (SoupServerMessage *msg)
{
  GBytes *bytes = soup_message_body_flatten (
      soup_server_message_get_request_body (msg));
  gsize size = 0;
  const char *data = static_cast<const char *> (
      g_bytes_get_data (bytes, &size));
  std::string out (data ? data : "", size);
  g_bytes_unref (bytes);
  return out;
}

// The token of "Authorization: Bearer <token>", or empty.
std::string bearer_token (SoupServerMessage *msg)
{
  const char *header = soup_message_headers_get_one (
      soup_server_message_get_request_headers (msg), "Authorization");
  if (!header || g_ascii_strncasecmp (header, "Bearer ", 7) != 0)
    return "";
  std::string token = header + 7;
  while (!token.empty () && token.front () == ' ')
    token.erase (0, 1);
  while (!token.empty () && token.back () == ' ')
    token.pop_back ();
  return token;
}

// A request header's value without surrounding blanks, or empty.
std::string header_value (SoupServerMessage *msg, const char *name)
{
  const char *value = soup_message_headers_get_one (
      soup_server_message_get_request_headers (msg), name);
  if (!value)
    return "";
  gchar *copy = g_strstrip (g_strdup (value));
  std::string out = copy;
  g_free (copy);
  return out;
}

// An Azure deployment name: 1 to 64 letters, digits, '.', '_' or '-'.
bool valid_deployment (JsonNode *model)
{
  if (!model || !JSON_NODE_HOLDS_VALUE (model) ||
      json_node_get_value_type (model) != G_TYPE_STRING)
    return false;
  std::string name = json_node_get_string (model);
  if (name.empty () || name.size () > 64)
    return false;
  for (char c : name)
    if (!g_ascii_isalnum (c) && c != '.' && c != '_' && c != '-')
      return false;
  return true;
}

std::string query_of (SoupServerMessage *msg)
{
  const char *query = g_uri_get_query (soup_server_message_get_uri (msg));
  return query ? query : "";
}

// CORS, as the service answers browsers: any origin, the SDP POST's Authorization and
// Content-Type among the headers allowed. The list is fixed, not an echo of what the browser
// asks for (the service is reported to refuse other headers, e.g. `originator`); the rest of it
// is this server's reading, not confirmed. Azure OpenAI adds its api-key header.
const char *const kCorsAllowMethods = "POST, OPTIONS";
const char *const kCorsAllowHeaders =
    "Authorization, Content-Type, OpenAI-Beta, OpenAI-Organization, OpenAI-Project";
const char *const kAzureCorsAllowHeaders =
    "Authorization, Content-Type, api-key";

const char *const kCallsPrefix = "/v1/realtime/calls/";

// The paths that take a POST, under either prefix: what a preflight may ask about.
bool is_service_endpoint (const std::string &rest)
{
  if (rest == "/v1/realtime/client_secrets" || rest == "/v1/realtime/calls")
    return true;
  if (!g_str_has_prefix (rest.c_str (), kCallsPrefix) ||
      !g_str_has_suffix (rest.c_str (), "/hangup"))
    return false;
  std::string id = rest.substr (strlen (kCallsPrefix),
      rest.size () - strlen (kCallsPrefix) - strlen ("/hangup"));
  return !id.empty () && id.find ('/') == std::string::npos;
}

// Azure OpenAI serves the same endpoints under this prefix.
const char *const kAzurePrefix = "/openai";
// A request whose client went away before the reply, as logged (nginx's convention).
constexpr unsigned kClientClosedRequest = 499;
const char *const kLoggedKey = "rts-logged";

}  // namespace

HttpFrontEnd::HttpFrontEnd (const Options &options, SecretStore &secrets,
    CallManager &calls, ControlLog &log)
    : options_ (options), secrets_ (secrets), calls_ (calls), log_ (log)
{
}

// One paused POST /calls message and when its reply may go.
struct HttpFrontEnd::PendingReply : rt::HeldMessage {
  PendingReply (SoupServerMessage *message, gint64 not_before)
      : HeldMessage (message), not_before_us (not_before)
  {
  }

  const gint64 not_before_us;  // 0: no delay
};

HttpFrontEnd::~HttpFrontEnd ()
{
  for (guint timer : delay_timers_)
    remove_timeout (timer);
  delay_timers_.clear ();
  server_.reset ();  // its last requests finish while the rest is still here
}

bool HttpFrontEnd::start (std::string *error)
{
  rt::HttpServerConfig config;
  config.address = options_.address;
  config.port = options_.port;
  config.server_header = "gst-openai-realtime-server";
  server_ = std::make_unique<rt::HttpServer> (config, error);
  if (!server_->soup ())
    return false;
  soup_server_add_handler (server_->soup (), nullptr, on_request, this,
      nullptr);
  g_signal_connect (server_->soup (), "request-finished",
      G_CALLBACK (on_request_finished), this);
  return server_->listen (error);
}

void HttpFrontEnd::on_request (SoupServer *, SoupServerMessage *msg,
    const char *path, GHashTable *, gpointer self)
{
  static_cast<HttpFrontEnd *> (self)->route (msg, path);
}

// Logged when the reply has gone out, so asynchronous replies log their real status.
// The control interface's own requests are left out: tests read the log through it.
void HttpFrontEnd::on_request_finished (SoupServer *, SoupServerMessage *msg,
    gpointer self)
{
  auto *front = static_cast<HttpFrontEnd *> (self);
  const char *path = g_uri_get_path (soup_server_message_get_uri (msg));
  if (g_str_has_prefix (path, "/control/") ||
      g_object_get_data (G_OBJECT (msg), kLoggedKey))
    return;
  front->log_.log_request (soup_server_message_get_method (msg), path,
      query_of (msg), soup_server_message_get_status (msg));
}

void HttpFrontEnd::route (SoupServerMessage *msg, const std::string &path)
{
  const std::string method = soup_server_message_get_method (msg);
  if (g_str_has_prefix (path.c_str (), "/control/")) {
    if (options_.control) {
      control (msg, path);
      return;
    }
  } else {
    // OpenAI's /v1/realtime/..., or the same under Azure OpenAI's /openai/v1/realtime/...
    Flavor flavor = Flavor::OpenAI;
    std::string rest = path;
    if (g_str_has_prefix (path.c_str (), kAzurePrefix) &&
        g_str_has_prefix (path.c_str () + strlen (kAzurePrefix), "/v1/")) {
      flavor = Flavor::Azure;
      rest = path.substr (strlen (kAzurePrefix));
    }
    // Every reply of the service carries this, errors included: a page can read why it
    // failed. The control interface is for tests, not pages, and has none.
    SoupMessageHeaders *headers = soup_server_message_get_response_headers (
        msg);
    soup_message_headers_replace (headers, "Access-Control-Allow-Origin", "*");
    if (method == "OPTIONS" && is_service_endpoint (rest)) {
      // A preflight: the browser then sends the real request if what it asked for is listed.
      soup_message_headers_replace (headers, "Access-Control-Allow-Methods",
          kCorsAllowMethods);
      soup_message_headers_replace (headers, "Access-Control-Allow-Headers",
          flavor == Flavor::Azure ? kAzureCorsAllowHeaders : kCorsAllowHeaders);
      set_status (msg, 200);
      return;
    }
    if (method == "POST" && rest == "/v1/realtime/client_secrets") {
      mint (msg, flavor);
      return;
    }
    if (method == "POST" && rest == "/v1/realtime/calls") {
      create_call (msg, flavor);
      return;
    }
    if (method == "POST" && is_service_endpoint (rest)) {
      // What is left: POST /v1/realtime/calls/{id}/hangup.
      std::string id = rest.substr (strlen (kCallsPrefix),
          rest.size () - strlen (kCallsPrefix) - strlen ("/hangup"));
      reply (msg, calls_.hangup (id, flavor));
      return;
    }
  }
  reply_json (msg, 404,
      error_body ("Invalid URL (" + method + " " + path + ")",
          "invalid_request_error", nullptr));
}

bool HttpFrontEnd::take_fault (bool for_calls, HttpReply *out)
{
  HttpFault fault;
  if (!(for_calls ? log_.take_call_fault (&fault) :
                    log_.take_mint_fault (&fault)))
    return false;
  std::string body = fault.has_body ?
      fault.body :
      error_body ("The server is temporarily unable to handle the request.",
          "server_error", nullptr);
  std::string error;
  JsonNode *parsed = body.empty () ? nullptr : parse_json (body, &error);
  HttpReply r;
  r.status = fault.status;
  if (!body.empty ()) {
    r.content_type = parsed ? "application/json" : "text/plain";
    r.body = body;
  }
  if (parsed)
    json_node_unref (parsed);
  r.retry_after = fault.retry_after;
  *out = r;
  return true;
}

void HttpFrontEnd::mint (SoupServerMessage *msg, Flavor flavor)
{
  HttpReply fault;
  if (take_fault (false, &fault)) {
    reply (msg, fault);
    return;
  }
  if (flavor == Flavor::OpenAI &&
      !secure_equal (bearer_token (msg), options_.api_key)) {
    // OpenAI knows no api-key header: a key sent that way is no key at all.
    reply_error (msg, 401, "Incorrect API key provided.", "invalid_api_key");
    return;
  }
  if (flavor == Flavor::Azure &&
      !secure_equal (header_value (msg, "api-key"), options_.api_key)) {
    // Azure takes the key in an api-key header; a bearer token would have to be a Microsoft
    // Entra ID token, which the key is not (and this server has no Entra ID).
    bool bearer_only = !bearer_token (msg).empty () &&
        header_value (msg, "api-key").empty ();
    reply_error (msg, 401,
        bearer_only ?
            "Invalid bearer token: this endpoint takes a Microsoft Entra ID token, or "
            "the key in an 'api-key' header." :
            "Access denied due to invalid subscription key or wrong API endpoint. Make "
            "sure to provide a valid key for an active subscription and use a correct "
            "regional API endpoint for your resource.",
        "invalid_api_key");
    return;
  }
  std::string text = request_body (msg);
  JsonObject *request = nullptr;
  if (!text.empty ()) {
    std::string error;
    request = parse_json_object (text, &error);
    if (!request) {
      reply_error (msg, 400,
          "We could not parse the JSON body of your request. (HINT: This likely means "
          "you aren't using your HTTP library correctly.)",
          nullptr);
      return;
    }
  }
  int ttl = 600;
  JsonObject *expires = rt::json::object_member (request, "expires_after");
  if (expires) {
    if (json_object_has_member (expires, "anchor") &&
        rt::json::string_member (expires, "anchor") != "created_at") {
      reply_error (msg, 400,
          "Invalid value for 'expires_after.anchor': expected 'created_at'.",
          "invalid_value", "expires_after.anchor");
      if (request)
        json_object_unref (request);
      return;
    }
    double seconds = get_number (expires, "seconds", 600);
    if (seconds < 10 || seconds > 7200 ||
        seconds != static_cast<int> (seconds)) {
      reply_error (msg, 400,
          "Invalid 'expires_after.seconds': integer must be between 10 and 7200.",
          seconds < 10 ? "integer_below_min_value" : "integer_above_max_value",
          "expires_after.seconds");
      if (request)
        json_object_unref (request);
      return;
    }
    ttl = static_cast<int> (seconds);
  }
  JsonObject *requested = rt::json::object_member (request, "session");
  if (flavor == Flavor::Azure && requested &&
      json_object_has_member (requested, "model") &&
      !valid_deployment (json_object_get_member (requested, "model"))) {
    // On Azure the model is the name of a deployment of the resource.
    reply_error (msg, 400,
        "Invalid value for 'session.model': expected a deployment name of 1 to 64 "
        "letters, digits, '.', '_' or '-'.",
        "invalid_value", "session.model");
    json_object_unref (request);
    return;
  }
  SessionError session_error;
  std::unique_ptr<Session> session = Session::from_request (requested,
      &session_error);
  if (!session) {
    reply_error (msg, 400, session_error.message, session_error.code.c_str (),
        session_error.param.c_str ());
    if (request)
      json_object_unref (request);
    return;
  }
  log_.log_secret (ttl, requested,
      flavor == Flavor::Azure ? "api-key" : "bearer", flavor);
  JsonObject *wire = copy_object (session->object ());
  gint64 expires_at = 0;
  std::string value = secrets_.mint (std::move (session), flavor, ttl,
      &expires_at);
  JsonObject *out = json_object_new ();
  json_object_set_string_member (out, "value", value.c_str ());
  json_object_set_int_member (out, "expires_at", expires_at);
  json_object_set_object_member (out, "session", wire);
  reply_json (msg, 200, to_json (out));
  json_object_unref (out);
  if (request)
    json_object_unref (request);
}

void HttpFrontEnd::create_call (SoupServerMessage *msg, Flavor flavor)
{
  gint64 start_us = g_get_monotonic_time ();
  // The GA URL takes no query: the service answers ?model= with a 400 and an empty body.
  const std::string query = query_of (msg);
  if (query.find ("model=") != std::string::npos) {
    set_status (msg, 400);
    return;
  }
  // Azure's ?webrtcfilter=on limits what the data channel carries; OpenAI knows no such thing.
  bool webrtc_filter = false;
  if (flavor == Flavor::Azure && !query.empty ()) {
    GHashTable *params = g_uri_parse_params (query.c_str (), -1, "&",
        G_URI_PARAMS_NONE, nullptr);
    if (params) {
      const char *value = static_cast<const char *> (
          g_hash_table_lookup (params, "webrtcfilter"));
      webrtc_filter = value && g_ascii_strcasecmp (value, "on") == 0;
      g_hash_table_unref (params);
    }
  }
  // Every reply from here on goes through deliver(): it may have to wait out an injected delay,
  // and answering an offer is asynchronous (the message stays paused until webrtcbin is done).
  int delay_ms = log_.take_answer_delay ();
  auto pending = std::make_shared<PendingReply> (msg,
      delay_ms >= 0 ? start_us + delay_ms * G_TIME_SPAN_MILLISECOND : 0);
  HttpReply fault;
  if (take_fault (true, &fault)) {
    deliver (pending, fault);
    return;
  }
  if (log_.take_bad_answer ()) {
    deliver (pending, bad_answer (flavor));
    return;
  }
  std::shared_ptr<const Session> session;
  switch (secrets_.find (bearer_token (msg), flavor, &session)) {
    case SecretStore::Lookup::Unknown:
      deliver (pending,
          error_reply (401, "Invalid ephemeral key provided.",
              "invalid_api_key"));
      return;
    case SecretStore::Lookup::Expired:
      deliver (pending,
          error_reply (401,
              "The ephemeral key has expired. Create a new client secret.",
              "invalid_api_key"));
      return;
    case SecretStore::Lookup::Ok: break;
  }
  const char *content_type = soup_message_headers_get_content_type (
      soup_server_message_get_request_headers (msg), nullptr);
  if (g_strcmp0 (content_type, "application/sdp") != 0) {
    deliver (pending,
        error_reply (400,
            std::string ("Unsupported content type: '") +
                (content_type ? content_type : "") +
                "'. This endpoint expects 'application/sdp'.",
            "unsupported_content_type"));
    return;
  }
  calls_.start_call (request_body (msg), *session, flavor, webrtc_filter,
      start_us,
      [this, pending, alive = std::weak_ptr<bool> (alive_)] (
          const HttpReply &r) {
        if (alive.lock ())
          deliver (pending, r);
      });
}

void HttpFrontEnd::deliver (const std::shared_ptr<PendingReply> &pending,
    const HttpReply &r)
{
  gint64 wait_us = pending->not_before_us - g_get_monotonic_time ();
  if (wait_us <= 0) {
    send_now (*pending, r);
    return;
  }
  struct Delayed {
    HttpFrontEnd *self;
    std::shared_ptr<PendingReply> pending;
    HttpReply reply;
    guint timer;
  };
  auto *delayed = new Delayed { this, pending, r, 0 };
  delayed->timer = add_timeout (
      static_cast<guint> ((wait_us + 999) / 1000),
      [] (gpointer data) -> gboolean {
        auto *d = static_cast<Delayed *> (data);
        d->self->delay_timers_.erase (d->timer);
        d->self->send_now (*d->pending, d->reply);
        return G_SOURCE_REMOVE;
      },
      delayed, [] (gpointer data) { delete static_cast<Delayed *> (data); });
  delay_timers_.insert (delayed->timer);
}

namespace {
// libsoup notices a client that closed its connection only when it next reads or writes, which
// a paused message does not: look at the socket for the end of the stream.
bool peer_closed (SoupServerMessage *msg)
{
  GSocket *socket = soup_server_message_get_socket (msg);
  if (!socket)
    return true;
  char byte;
  ssize_t n = recv (g_socket_get_fd (socket), &byte, 1,
      MSG_PEEK | MSG_DONTWAIT);
  return n == 0 ||
      (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}
}  // namespace

void HttpFrontEnd::send_now (PendingReply &pending, const HttpReply &r)
{
  if (!pending.msg)
    return;
  if (pending.gone () || peer_closed (pending.msg)) {
    // The client gave up first: a call it will never hear about is dropped quietly. The log
    // shows the request with nginx's "client closed request" status.
    if (!r.call_id.empty ())
      calls_.abandon (r.call_id);
    log_.log_request (soup_server_message_get_method (pending.msg),
        g_uri_get_path (soup_server_message_get_uri (pending.msg)),
        query_of (pending.msg), kClientClosedRequest);
    g_object_set_data (G_OBJECT (pending.msg), kLoggedKey, GINT_TO_POINTER (1));
  } else {
    reply (pending.msg, r);
    soup_server_message_unpause (pending.msg);
    if (!r.call_id.empty ())
      calls_.answer_delivered (r.call_id);
  }
  pending.release ();
}

void HttpFrontEnd::control (SoupServerMessage *msg, const std::string &path)
{
  const std::string method = soup_server_message_get_method (msg);
  if (method == "GET" && path == "/control/log") {
    reply_json (msg, 200, log_.to_json ());
  } else if (method == "POST" && path == "/control/reset") {
    log_.reset ();
    calls_.reset_faults ();
    reply_json (msg, 200, "{}");
  } else if (method == "POST" && path == "/control/fault") {
    std::string error;
    JsonObject *request = parse_json_object (request_body (msg), &error);
    FaultActions actions;
    if (!request || !log_.apply_fault (request, &actions, &error)) {
      reply_error (msg, 400, "Bad fault request: " + error, nullptr);
    } else {
      if (actions.has_strict_ice)
        calls_.set_strict_ice (actions.strict_ice);
      if (actions.has_event)
        calls_.broadcast (actions.event_pieces);
      if (actions.expire_calls)
        calls_.expire_all ();
      if (actions.drop_calls == FaultActions::Drop::Abrupt)
        calls_.drop_all ();
      if (actions.drop_calls == FaultActions::Drop::Silent)
        calls_.silence_all ();
      reply_json (msg, 200, "{}");
    }
    if (request)
      json_object_unref (request);
  } else {
    reply_json (msg, 404,
        error_body ("Invalid URL (" + method + " " + path + ")",
            "invalid_request_error", nullptr));
  }
}

}  // namespace rts
