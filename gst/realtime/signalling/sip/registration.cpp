/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "signalling/sip/registration.h"

#include "signalling/sip/text.h"

#include <glib.h>

#include <algorithm>
#include <cstdlib>

namespace rt::sip {

namespace {

unsigned parse_seconds (const std::string &v, unsigned fallback)
{
  std::string_view t = text::trim (v);
  if (t.empty () || t.size () > 9 ||
      t.find_first_not_of ("0123456789") != t.npos)
    return fallback;
  return (unsigned) std::strtoul (std::string (t).c_str (), nullptr, 10);
}

/* A Contact of the response is ours when it carries our instance or our
 * URI (registrars may add parameters to either). */
bool is_ours (const NameAddr &contact, const Identity &id)
{
  if (auto instance = param (contact.params, "+sip.instance"))
    return *instance == "<" + id.instance + ">";
  return contact.uri.compare (0, id.contact_uri.size (), id.contact_uri) == 0;
}

}  // namespace

std::string random_token (size_t length)
{
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  for (size_t i = 0; i < length; i++)
    out += alphabet[g_random_int_range (0, sizeof alphabet - 1)];
  return out;
}

std::string address_of (const Identity &id)
{
  if (id.display_name.empty ())
    return "<" + id.aor + ">";
  std::string quoted = "\"";
  for (char c : id.display_name) {
    if (c == '"' || c == '\\')
      quoted += '\\';
    quoted += c;
  }
  return quoted + "\" <" + id.aor + ">";
}

Registration::Registration (Identity identity,
    std::function<std::string ()> token)
    : id_ (std::move (identity)), token_ (std::move (token))
{
  if (id_.auth_user.empty ())
    id_.auth_user = uri_user (id_.aor);
  call_id_ = token_ () + token_ ();
  from_tag_ = token_ ();
}

Message Registration::request (unsigned expires)
{
  asked_ = expires;
  answered_nonce_.clear (); /* until an answer is added to it */
  branch_ = "z9hG4bK" + token_ ();
  Message m;
  m.method = "REGISTER";
  m.uri = "sip:" + uri_host (id_.aor);
  m.add_header ("Via",
      "SIP/2.0/" + id_.transport + " " + id_.via_host + ";branch=" + branch_);
  m.add_header ("Max-Forwards", "70");
  m.add_header ("To", "<" + id_.aor + ">");
  m.add_header ("From", address_of (id_) + ";tag=" + from_tag_);
  m.add_header ("Call-ID", call_id_);
  m.add_header ("CSeq", std::to_string (++cseq_) + " REGISTER");
  m.add_header ("Contact",
      "<" + id_.contact_uri + ">;+sip.ice;reg-id=1;+sip.instance=\"<" +
          id_.instance + ">\";expires=" + std::to_string (expires));
  m.add_header ("Expires", std::to_string (expires));
  m.add_header ("Allow", kAllowedMethods);
  m.add_header ("Supported", "path,gruu,outbound");
  if (!id_.user_agent.empty ())
    m.add_header ("User-Agent", id_.user_agent);
  return m;
}

Registration::Step Registration::step (State s, int status, std::string reason)
{
  state_ = s;
  Step out;
  out.state = s;
  out.status = status;
  out.reason = std::move (reason);
  return out;
}

Registration::Step Registration::start ()
{
  Step out = step (State::Registering);
  out.send = request (id_.expires);
  return out;
}

Registration::Step Registration::refresh ()
{
  /* The binding holds until it runs out: the line stays registered while
   * it is renewed (and while the renewal is challenged). */
  Step out = step (State::Registered);
  out.send = request (id_.expires);
  return out;
}

Registration::Step Registration::stop ()
{
  Step out = step (State::Unregistering);
  out.send = request (0);
  return out;
}

bool Registration::matches (const Message &r) const
{
  if (r.is_request ())
    return false;
  const std::string *call_id = r.header ("Call-ID");
  auto cseq = parse_cseq (r.header ("CSeq") ? *r.header ("CSeq") : "");
  auto via = r.header_values ("Via");
  return call_id && *call_id == call_id_ && cseq && cseq->number == cseq_ &&
      cseq->method == "REGISTER" && !via.empty () &&
      param (via[0], "branch").value_or ("") == branch_;
}

Registration::Step Registration::on_response (const Message &r, double when)
{
  const bool removing = asked_ == 0;
  if (r.status < 200)
    return step (state_, r.status, r.reason);

  if (r.status == 401 || r.status == 407) {
    const char *name = r.status == 401 ? "WWW-Authenticate" :
                                         "Proxy-Authenticate";
    /* Servers list their challenges by preference (RFC 8760): the first
     * this side can answer. */
    std::optional<Challenge> challenge;
    for (const auto &value : r.header_values (name))
      if ((challenge = parse_challenge (value)))
        break;
    if (!challenge)
      return step (State::Failed, r.status,
          std::string ("a challenge this phone cannot answer (") + name + ")");
    /* A challenge to a request that carried an answer: the password was
     * wrong (registrars give a new nonce each time). A stale one only
     * expired: answer it once more. */
    /* Stale once is an expired nonce; stale again, or stale on the nonce
     * just answered, is a server that will not take the answer. */
    const bool stale_again = challenge->stale &&
        (stale_answers_ >= 1 || challenge->nonce == answered_nonce_);
    if (!answered_nonce_.empty () && (!challenge->stale || stale_again)) {
      Step out = step (State::Failed, r.status,
          "the registrar refused the credentials of " + id_.auth_user);
      out.auth_failed = true;
      return out;
    }
    stale_answers_ = challenge->stale ? stale_answers_ + 1 : 0;
    nc_ = 0;
    Message again = request (asked_);
    answered_nonce_ = challenge->nonce;
    DigestAnswer a { id_.auth_user, id_.password, "REGISTER", again.uri,
      token_ (), ++nc_ };
    again.add_header (r.status == 401 ? "Authorization" : "Proxy-Authorization",
        authorization (*challenge, a));
    Step out = step (state_, r.status, r.reason);
    out.send = std::move (again);
    return out;
  }

  if (r.status == 423) {
    /* Interval Too Brief: ask again for what the registrar can take. */
    const std::string *min = r.header ("Min-Expires");
    unsigned at_least = min ? parse_seconds (*min, 0) : 0;
    if (at_least == 0 || at_least <= asked_ || removing)
      return step (State::Failed, r.status, "423 without a usable Min-Expires");
    id_.expires = at_least;
    Step out = step (state_, r.status, r.reason);
    out.send = request (at_least);
    return out;
  }

  if (r.status >= 300)
    return step (removing ? State::Idle : State::Failed, r.status, r.reason);

  if (removing)
    return step (State::Idle, r.status, r.reason);
  /* The granted time: our Contact's expires, else Expires, else asked. */
  unsigned granted = 0;
  for (const auto &value : r.header_values ("Contact")) {
    auto contact = parse_name_addr (value);
    if (!contact || !is_ours (*contact, id_))
      continue;
    granted = parse_seconds (param (contact->params, "expires").value_or (""),
        0);
  }
  if (!granted && r.header ("Expires"))
    granted = parse_seconds (*r.header ("Expires"), 0);
  /* A registrar may shorten the time asked for, never lengthen it (RFC
   * 3261 10.3): what comes from the network stays within what was asked. */
  if (!granted || granted > asked_)
    granted = asked_;
  stale_answers_ = 0;
  Step out = step (State::Registered, r.status, r.reason);
  out.expires_s = granted;
  /* In the second half of the granted time, never later than 90 % of it. */
  const double point = 0.5 + 0.4 * std::clamp (when, 0.0, 1.0);
  out.refresh_in_ms = (unsigned) (granted * 1000.0 * point);
  return out;
}

}  // namespace rt::sip
