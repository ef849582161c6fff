/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The set-up every HTTP server of the project shares: a SoupServer listening
 * on one address and port (0 picks a free one, then read back), loopback
 * unless told otherwise, HTTPS when given a certificate. What it serves is
 * the owner's: handlers go on soup() before listen(). */
#pragma once

#include <memory>
#include <string>

typedef struct _SoupServer SoupServer;
typedef struct _SoupServerMessage SoupServerMessage;

namespace rt {

struct HttpServerConfig {
  std::string address = "127.0.0.1";
  int port = 0;              /* 0: any free port */
  std::string server_header; /* the Server: header's product */
  /* Both PEM files; the key may be in the certificate's file (key empty). */
  std::string tls_certificate_file;
  std::string tls_key_file;
};

class HttpServer {
 public:
  /* Makes the SoupServer (with its certificate, if any); error says why
   * not and soup() is then nullptr. */
  HttpServer (const HttpServerConfig &config, std::string *error);
  ~HttpServer (); /* disconnects every client */

  HttpServer (const HttpServer &) = delete;
  HttpServer &operator= (const HttpServer &) = delete;

  SoupServer *soup () const { return soup_; }

  /* Listens. Sources go to the thread-default main context: call it on the
   * thread that is to serve the requests. */
  bool listen (std::string *error);

  /* The bound port, 0 before listen() succeeded. */
  int port () const { return port_; }

  /* Closes the listening socket and every connection; idempotent. */
  void disconnect ();

 private:
  HttpServerConfig config_;
  SoupServer *soup_ = nullptr;
  bool tls_ = false;
  int port_ = 0;
};

/* A request answered later: paused until then, and known to be gone if its
 * client went away meanwhile (its message must not be answered then). */
class HeldMessage {
 public:
  explicit HeldMessage (SoupServerMessage *message);
  ~HeldMessage (); /* release () */
  HeldMessage (const HeldMessage &) = delete;
  HeldMessage &operator= (const HeldMessage &) = delete;

  bool gone () const { return *gone_; }
  /* Lets go of the message; msg is nullptr afterwards. */
  void release ();

  SoupServerMessage *msg;

 private:
  unsigned long handler_ = 0;
  std::shared_ptr<bool> gone_ = std::make_shared<bool> (false);
};

}  // namespace rt
