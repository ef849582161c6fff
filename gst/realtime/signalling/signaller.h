/* How an offer reaches the far end. A call knows only this interface; each
 * protocol (the service's single HTTP POST today) is one implementation in
 * this folder. */
#pragma once

#include "../credentials.h"
#include "../http.h"
#include "../protocol.h"

#include <functional>
#include <string>

namespace rt {

struct Answer {
  bool ok = false;
  std::string sdp;
  std::string call_id;
  ServiceError error;  /* when !ok */
};

class Signaller {
 public:
  virtual ~Signaller () = default;
  /* Sends the complete offer, answers on the worker owning http. */
  virtual void exchange (HttpClient &http, const Credentials &credentials,
      const std::string &offer_sdp, std::function<void (Answer)> done) = 0;
  /* Ends the call at the far end; done runs whatever the outcome. */
  virtual void hangup (HttpClient &http, const Credentials &credentials,
      const std::string &call_id, std::function<void ()> done) = 0;
};

}  // namespace rt
