// The live calls: starting them from an offer, hanging up, and the control interface's
// bulk actions.
#pragma once

#include "call.h"
#include "control.h"
#include "options.h"
#include "session.h"
#include "speech.h"

#include <functional>
#include <map>
#include <memory>
#include <string>

namespace rts {

struct HttpReply {
  unsigned status = 500;
  std::string content_type;  // empty: no body
  std::string body;
  std::string location;
};

class CallManager {
 public:
  using Done = std::function<void(const HttpReply &)>;

  CallManager(const Options &options, ControlLog &log);
  ~CallManager();
  CallManager(const CallManager &) = delete;
  CallManager &operator=(const CallManager &) = delete;

  // Answer an offer for a session. done runs once on the main context (maybe before return).
  void start_call(const std::string &offer, const Session &session, gint64 request_start_us,
                  Done done);
  // 200 and the call is torn down, or 404 for an id never seen.
  HttpReply hangup(const std::string &id);
  // Tear every live call down abruptly, without the caller asking.
  void drop_all();
  // Send text as is on every open events channel.
  void broadcast(const std::string &text);
  // Server shutdown.
  void end_all();

 private:
  void forget_later(const std::string &id);

  const Options &options_;
  ControlLog &log_;
  std::unique_ptr<SpeechSynth> synth_;
  std::map<std::string, std::unique_ptr<Call>> calls_;
};

}  // namespace rts
