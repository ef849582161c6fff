/* SPDX-License-Identifier: LGPL-2.1-or-later */
// The HTTP side: the service's endpoints and, with --control, the test control interface.
// Every request is served on the server's worker and never blocks it: answering an offer is
// asynchronous (the message is paused until webrtcbin has an answer).
#pragma once

#include "core/http_server.h"

#include "call_manager.h"
#include "control.h"
#include "options.h"
#include "secrets.h"

#include <libsoup/soup.h>

#include <memory>
#include <set>
#include <string>

namespace rts {

class HttpFrontEnd {
 public:
  HttpFrontEnd (const Options &options, SecretStore &secrets,
      CallManager &calls, ControlLog &log);
  ~HttpFrontEnd ();
  HttpFrontEnd (const HttpFrontEnd &) = delete;
  HttpFrontEnd &operator= (const HttpFrontEnd &) = delete;

  // Listen on options.address:options.port; the port actually bound is then port().
  bool start (std::string *error);
  int port () const { return server_ ? server_->port () : 0; }

 private:
  static void on_request (SoupServer *, SoupServerMessage *msg,
      const char *path, GHashTable *, gpointer self);
  static void on_request_finished (SoupServer *, SoupServerMessage *msg,
      gpointer self);

  void route (SoupServerMessage *msg, const std::string &path);
  void mint (SoupServerMessage *msg, Flavor flavor);
  void create_call (SoupServerMessage *msg, Flavor flavor);
  void control (SoupServerMessage *msg, const std::string &path);
  // A pending /control/fault failure to serve instead of the real answer; false if none.
  bool take_fault (bool for_calls, HttpReply *out);

  // The reply to a POST /calls, sent when ready but not before its (injected) delay is over.
  struct PendingReply;
  void deliver (const std::shared_ptr<PendingReply> &pending,
      const HttpReply &reply);
  void send_now (PendingReply &pending, const HttpReply &reply);

  const Options &options_;
  SecretStore &secrets_;
  CallManager &calls_;
  ControlLog &log_;
  std::unique_ptr<rt::HttpServer> server_;
  std::set<guint> delay_timers_;  // delayed replies still to go
  // An answer that comes after the front end is gone (a call still gathering at shutdown) has
  // nobody to go to: its callback holds this weakly.
  std::shared_ptr<bool> alive_ = std::make_shared<bool> (true);
};

}  // namespace rts
