/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "secrets.h"

#include "json_util.h"

namespace rts {

namespace {
// Expired secrets are kept this long so a late caller gets "expired" instead of "invalid".
constexpr gint64 kKeepExpiredSeconds = 3600;
}  // namespace

std::string SecretStore::mint (std::unique_ptr<Session> session, Flavor flavor,
    int ttl_seconds, gint64 *expires_at)
{
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  forget_stale (now);
  std::string value = "ek_" + random_hex (16);
  *expires_at = now + ttl_seconds;
  secrets_[value] = Entry { *expires_at, flavor,
    std::shared_ptr<const Session> (std::move (session)) };
  return value;
}

SecretStore::Lookup SecretStore::find (const std::string &value, Flavor flavor,
    std::shared_ptr<const Session> *session) const
{
  auto it = secrets_.find (value);
  if (it == secrets_.end () || it->second.flavor != flavor)
    return Lookup::Unknown;
  if (g_get_real_time () / G_USEC_PER_SEC >= it->second.expires_at)
    return Lookup::Expired;
  *session = it->second.session;
  return Lookup::Ok;
}

void SecretStore::forget_stale (gint64 now)
{
  for (auto it = secrets_.begin (); it != secrets_.end ();) {
    if (now > it->second.expires_at + kKeepExpiredSeconds)
      it = secrets_.erase (it);
    else
      ++it;
  }
}

bool secure_equal (const std::string &a, const std::string &b)
{
  if (a.size () != b.size ())
    return false;  // the length of a key is no secret
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size (); i++)
    diff |= static_cast<unsigned char> (a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace rts
