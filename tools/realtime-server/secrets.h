/* SPDX-License-Identifier: LGPL-2.1-or-later */
// Ephemeral client secrets ("ek_...") minted with the permanent key.
#pragma once

#include "options.h"
#include "session.h"

#include <glib.h>

#include <map>
#include <memory>
#include <string>

namespace rts {

class SecretStore {
 public:
  enum class Lookup { Ok, Unknown, Expired };

  // Remember a new secret for the session, minted on flavor's endpoint; returns its value and
  // sets *expires_at (unix s).
  std::string mint (std::unique_ptr<Session> session, Flavor flavor,
      int ttl_seconds, gint64 *expires_at);

  // The session a secret stands for. The expiry only bounds starting calls: one secret may
  // start any number of calls until then. A secret is only known to the service (flavor) that
  // minted it: OpenAI and Azure OpenAI are separate services.
  Lookup find (const std::string &value, Flavor flavor,
      std::shared_ptr<const Session> *session) const;

 private:
  struct Entry {
    gint64 expires_at;  // unix seconds
    Flavor flavor;
    std::shared_ptr<const Session> session;
  };
  void forget_stale (gint64 now);

  std::map<std::string, Entry> secrets_;
};

// Constant-time comparison, so the permanent key cannot be guessed byte by byte.
bool secure_equal (const std::string &a, const std::string &b);

}  // namespace rts
