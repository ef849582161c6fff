/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Asynchronous HTTP over libsoup 3, bound to one Worker: requests are made and
 * answered on the worker's thread (a SoupSession belongs to one thread). */
#pragma once

#include "core/worker.h"

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

typedef struct _SoupSession SoupSession;
typedef struct _GCancellable GCancellable;

namespace rt {

struct HttpRequest {
  std::string url;
  std::string content_type; /* empty: no body */
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct HttpResponse {
  int status = 0; /* 0 when no HTTP answer came */
  std::string body;
  std::string content_type;
  std::string location;
  std::string retry_after;
  std::string transport_error; /* plain words when status is 0 */
  bool tls_failure = false;    /* the transport error was TLS's */
};

/* Shared by a client and its requests in flight, which may finish after it
 * (worker thread only). */
struct HttpFlight {
  int pending = 0;
  bool client_alive = true;
};

class HttpClient {
 public:
  /* timeout_s bounds each request (connect, send and the answer). */
  HttpClient (Worker &worker, unsigned timeout_s);
  ~HttpClient (); /* cancels what is in flight; call on the worker */

  HttpClient (const HttpClient &) = delete;
  HttpClient &operator= (const HttpClient &) = delete;

  /* POSTs on the worker; done runs on the worker, also when cancelled. */
  void post (HttpRequest request, std::function<void (HttpResponse)> done);

 private:
  Worker &worker_;
  SoupSession *session_;
  GCancellable *cancellable_;
  std::shared_ptr<HttpFlight> flight_ = std::make_shared<HttpFlight> ();
};

/* What a process's first request would otherwise spend, done ahead (from a
 * thread that prepares calls: webrtc/prewarm.h): loading GIO's proxy
 * resolver and TLS backend modules (10 ms each here), and libsoup's classes.
 * A first mint took 19 ms on loopback against 1 ms for the next. */
void prewarm_http ();

/* One worker for the HTTP of every call in the process, alive while someone
 * holds it. A call's own worker is busy building its peer when the call
 * starts: its secret, minted here meanwhile, is ready when the offer is. */
std::shared_ptr<Worker> shared_http_worker ();

}  // namespace rt
