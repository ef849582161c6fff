// The HTTP side: the service's endpoints and, with --control, the test control interface.
// Every request is served on the main context and never blocks it: answering an offer is
// asynchronous (the message is paused until webrtcbin has an answer).
#pragma once

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
  HttpFrontEnd(const Options &options, SecretStore &secrets, CallManager &calls, ControlLog &log);
  ~HttpFrontEnd();
  HttpFrontEnd(const HttpFrontEnd &) = delete;
  HttpFrontEnd &operator=(const HttpFrontEnd &) = delete;

  // Listen on options.address:options.port; the port actually bound is then port().
  bool start(std::string *error);
  int port() const { return port_; }

 private:
  static void on_request(SoupServer *, SoupServerMessage *msg, const char *path, GHashTable *,
                         gpointer self);
  static void on_request_finished(SoupServer *, SoupServerMessage *msg, gpointer self);

  void route(SoupServerMessage *msg, const std::string &path);
  void mint(SoupServerMessage *msg, Flavor flavor);
  void create_call(SoupServerMessage *msg, Flavor flavor);
  void control(SoupServerMessage *msg, const std::string &path);
  // A pending /control/fault failure to serve instead of the real answer; false if none.
  bool take_fault(bool for_calls, HttpReply *out);

  // The reply to a POST /calls, sent when ready but not before its (injected) delay is over.
  struct PendingReply;
  void deliver(const std::shared_ptr<PendingReply> &pending, const HttpReply &reply);
  void send_now(PendingReply &pending, const HttpReply &reply);

  const Options &options_;
  SecretStore &secrets_;
  CallManager &calls_;
  ControlLog &log_;
  SoupServer *server_ = nullptr;
  int port_ = 0;
  std::set<guint> delay_timers_;  // delayed replies still to go
};

}  // namespace rts
