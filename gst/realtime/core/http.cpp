/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/http.h"

#include "config.h"
#include "core/redact.h"

#include <gio/gio.h>
#include <libsoup/soup.h>

#include <mutex>

namespace rt {
namespace {

struct Pending {
  SoupMessage *message;
  std::string host;
  std::function<void (HttpResponse)> done;
  std::shared_ptr<HttpFlight> flight;
};

/* Transport failures in words a user can act on. */
std::string describe_transport_error (const GError *error,
    const std::string &host)
{
  if (error->domain == G_RESOLVER_ERROR)
    return "cannot resolve host " + host + ": " + error->message;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    return "connection refused by " + host;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return "no answer from " + host + " in time";
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE))
    return "host " + host + " is unreachable";
  if (error->domain == G_TLS_ERROR ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED))
    return "TLS failure talking to " + host + ": " + error->message;
  return "request to " + host + " failed: " + error->message;
}

void on_sent (GObject *source, GAsyncResult *result, gpointer data)
{
  std::unique_ptr<Pending> pending (static_cast<Pending *> (data));
  GError *error = nullptr;
  GBytes *bytes = soup_session_send_and_read_finish (SOUP_SESSION (source),
      result, &error);
  pending->flight->pending--;
  if (!pending->flight->client_alive) {
    g_clear_error (&error);
    if (bytes)
      g_bytes_unref (bytes);
    g_object_unref (pending->message);
    return;
  }
  HttpResponse r;
  if (error) {
    r.transport_error = redact (
        describe_transport_error (error, pending->host));
    r.tls_failure = error->domain == G_TLS_ERROR ||
        g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
    g_error_free (error);
  } else {
    r.status = soup_message_get_status (pending->message);
    gsize size = 0;
    const char *data = static_cast<const char *> (
        g_bytes_get_data (bytes, &size));
    r.body.assign (data ? data : "", size);
    g_bytes_unref (bytes);
    SoupMessageHeaders *h = soup_message_get_response_headers (
        pending->message);
    auto header = [h] (const char *name) {
      const char *v = soup_message_headers_get_one (h, name);
      return std::string (v ? v : "");
    };
    r.content_type = header ("Content-Type");
    r.location = header ("Location");
    r.retry_after = header ("Retry-After");
  }
  g_object_unref (pending->message);
  pending->done (std::move (r));
}

}  // namespace

HttpClient::HttpClient (Worker &worker, unsigned timeout_s)
    : worker_ (worker), session_ (soup_session_new_with_options ("timeout",
                            timeout_s, "idle-timeout", 30, "user-agent",
                            PACKAGE "/" PACKAGE_VERSION, nullptr)),
      cancellable_ (g_cancellable_new ())
{
}

HttpClient::~HttpClient ()
{
  g_cancellable_cancel (cancellable_);
  /* Cancelled requests finish on this context, soon but not always at once:
   * wait for them (bounded), and let any later one find the client gone. */
  auto flight = flight_;
  worker_.iterate_until ([flight] { return flight->pending == 0; }, 1000);
  flight_->client_alive = false;
  g_object_unref (cancellable_);
  soup_session_abort (session_);
  g_object_unref (session_);
}

void HttpClient::post (HttpRequest request,
    std::function<void (HttpResponse)> done)
{
  GError *error = nullptr;
  GUri *uri = g_uri_parse (request.url.c_str (),
      (GUriFlags) SOUP_HTTP_URI_FLAGS, &error);
  if (!uri) {
    HttpResponse r;
    r.transport_error = "invalid URL " + request.url + ": " + error->message;
    g_error_free (error);
    done (std::move (r));
    return;
  }
  SoupMessage *msg = soup_message_new_from_uri ("POST", uri);
  std::string host = g_uri_get_host (uri) ? g_uri_get_host (uri) : "";
  g_uri_unref (uri);
  SoupMessageHeaders *h = soup_message_get_request_headers (msg);
  for (const auto &kv : request.headers)
    soup_message_headers_replace (h, kv.first.c_str (), kv.second.c_str ());
  GBytes *body = g_bytes_new (request.body.data (), request.body.size ());
  soup_message_set_request_body_from_bytes (msg,
      request.content_type.empty () ? nullptr : request.content_type.c_str (),
      body);
  g_bytes_unref (body);
  auto *pending = new Pending { msg, host, std::move (done), flight_ };
  flight_->pending++;
  soup_session_send_and_read_async (session_, msg, G_PRIORITY_DEFAULT,
      cancellable_, on_sent, pending);
}

void prewarm_http ()
{
  /* Both are the process's own, kept by GIO (transfer none). */
  g_proxy_resolver_get_default ();
  g_tls_backend_get_default ();
  g_object_unref (soup_session_new ());
}

std::shared_ptr<Worker> shared_http_worker ()
{
  static std::mutex lock;
  static std::weak_ptr<Worker> current;
  std::lock_guard<std::mutex> l (lock);
  auto w = current.lock ();
  if (!w) {
    w = std::make_shared<Worker> ("rt-http");
    current = w;
  }
  return w;
}

}  // namespace rt
