/* SPDX-License-Identifier: LGPL-2.1-or-later */
// The live calls: starting them from an offer, hanging up, and the control interface's
// bulk actions.
#pragma once

#include "call.h"
#include "control.h"
#include "options.h"
#include "recogniser.h"
#include "session.h"
#include "speech.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace rts {

struct HttpReply {
  unsigned status = 500;
  std::string content_type;  // empty: no body
  std::string body;
  std::string location;
  int retry_after = -1;  // seconds; -1: no Retry-After header
  std::string
      call_id;  // the call a 201 answer starts (dropped if it cannot be delivered)
};

class CallManager {
 public:
  using Done = std::function<void (const HttpReply &)>;

  CallManager (const Options &options, ControlLog &log);
  ~CallManager ();
  CallManager (const CallManager &) = delete;
  CallManager &operator= (const CallManager &) = delete;

  // Answer an offer for a session, posted on flavor's endpoint (webrtc_filter: Azure's
  // ?webrtcfilter=on). done runs once on the server's worker (maybe before return).
  void start_call (const std::string &offer, const Session &session,
      Flavor flavor, bool webrtc_filter, gint64 request_start_us, Done done);
  // The answer for this call never reached its client: drop the call without a word.
  void abandon (const std::string &id);
  // The answer for this call went out to its client.
  void answer_delivered (const std::string &id);
  // 200 and the call is torn down, or 404 for an id never seen on flavor's endpoint.
  HttpReply hangup (const std::string &id, Flavor flavor);
  // Every live call ends at once: its events channel closes (no event), its media stops.
  void drop_all ();
  // Every live call goes silent: nothing passes its relay any more, either way.
  void silence_all ();
  // Every live call ends as at the maximum duration (session_expired, then the close).
  void expire_all ();
  // Strict ICE on or off, for live calls and the ones to come.
  void set_strict_ice (StrictIce strict);
  // Back to the command line's settings (POST /control/reset).
  void reset_faults () { set_strict_ice (options_.strict_ice); }
  // Send each piece as one message on every live call's events channel.
  void broadcast (const std::vector<std::string> &pieces);
  // Server shutdown.
  void end_all ();
  // Loads the speech recogniser's model now (--recognition eager), waiting at most timeout_s;
  // false, after a warning, when it did not load in time. True without a recogniser.
  bool load_recogniser (unsigned timeout_s);

 private:
  void forget_later (const std::string &id);

  const Options &options_;
  ControlLog &log_;
  std::unique_ptr<SpeechSynth> synth_;
  // None with --media minimal or --recognition off, or when pocketsphinx is missing.
  std::unique_ptr<Recogniser> recogniser_;
  std::map<std::string, std::unique_ptr<Call>> calls_;
  StrictIce strict_ice_;
};

}  // namespace rts
