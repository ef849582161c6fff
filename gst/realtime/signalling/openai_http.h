/* The OpenAI Realtime (GA) WebRTC signalling: one POST of the SDP offer to
 * {api-base}/v1/realtime/calls with the ephemeral secret; 201 Created with the
 * SDP answer and the call id in Location; POST .../calls/{id}/hangup to end. */
#pragma once

#include "signaller.h"

namespace rt {

class OpenAIHttpSignaller : public Signaller {
 public:
  void exchange (HttpClient &http, const Credentials &credentials,
      const std::string &offer_sdp, std::function<void (Answer)> done) override;
  void hangup (HttpClient &http, const Credentials &credentials,
      const std::string &call_id, std::function<void ()> done) override;
};

/* The call id from a Location header: its last path segment. */
std::string call_id_from_location (const std::string &location);

}  // namespace rt
