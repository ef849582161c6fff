/* Asynchronous HTTP over libsoup 3, bound to one Worker: requests are made and
 * answered on the worker's thread (a SoupSession belongs to one thread). */
#pragma once

#include "worker.h"

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
  std::string content_type;  /* empty: no body */
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct HttpResponse {
  int status = 0;               /* 0 when no HTTP answer came */
  std::string body;
  std::string content_type;
  std::string location;
  std::string retry_after;
  std::string transport_error;  /* plain words when status is 0 */
  bool tls_failure = false;     /* the transport error was TLS's */
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
  ~HttpClient ();  /* cancels what is in flight; call on the worker */

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

}  // namespace rt
