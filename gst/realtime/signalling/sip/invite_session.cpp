/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "signalling/sip/invite_session.h"

#include "signalling/sip/digest.h"
#include "signalling/sip/text.h"

#include <cstdlib>
#include <sstream>

namespace rt::sip {

namespace {

/* A header value without its tag parameter: the address of a dialog's
 * end, to which this side adds the tag it knows. */
std::string without_tag (const std::string &value)
{
  auto na = parse_name_addr (value);
  if (!na)
    return value;
  std::string params;
  std::string_view rest = na->params;
  while (!rest.empty ()) {
    size_t next = rest.find (';', 1);
    std::string_view p = rest.substr (0, next);
    if (!text::iequal (text::trim (p.substr (1, 3)), "tag") ||
        (p.size () > 4 && p[4] != '='))
      params += p;
    rest = next == rest.npos ? std::string_view () : rest.substr (next);
  }
  std::string out;
  if (!na->display.empty ())
    out = "\"" + na->display + "\" ";
  return out + "<" + na->uri + ">" + params;
}

}  // namespace

InviteSession::InviteSession (const Identity &identity, Role role,
    std::function<std::string ()> token)
    : id_ (identity), role_ (role), token_ (std::move (token))
{
  if (id_.auth_user.empty ())
    id_.auth_user = uri_user (id_.aor);
}

InviteSession InviteSession::outgoing (const Identity &identity,
    const std::string &target, std::function<std::string ()> token)
{
  InviteSession s (identity, Role::Caller, std::move (token));
  s.call_id_ = s.token_ () + s.token_ ();
  s.local_tag_ = s.token_ ();
  s.local_addr_ = address_of (s.id_);
  s.remote_addr_ = "<" + target + ">";
  s.remote_uri_ = target;
  s.request_uri_ = target;
  s.remote_target_ = target;
  return s;
}

InviteSession InviteSession::incoming (const Identity &identity,
    const Message &invite, Step *first, std::function<std::string ()> token)
{
  InviteSession s (identity, Role::Callee, std::move (token));
  s.state_ = State::Ringing;
  s.invite_in_ = invite;
  s.call_id_ = invite.header ("Call-ID") ? *invite.header ("Call-ID") : "";
  s.local_tag_ = s.token_ ();
  s.remote_tag_ = tag_of (invite, "From");
  s.local_addr_ = without_tag (
      invite.header ("To") ? *invite.header ("To") : "");
  s.remote_addr_ = without_tag (*invite.header ("From"));
  if (auto from = parse_name_addr (*invite.header ("From"))) {
    s.remote_uri_ = from->uri;
    s.remote_display_ = from->display;
  }
  auto contacts = invite.header_values ("Contact");
  auto contact = contacts.empty () ? std::nullopt :
                                     parse_name_addr (contacts.front ());
  s.route_set_ = invite.header_values ("Record-Route");
  if (auto cseq = cseq_of (invite))
    s.remote_cseq_ = cseq->number;
  *first = {};
  if (!contact || contact->uri.empty ()) {
    /* Nothing to send the dialog's requests to. */
    s.state_ = State::Ended;
    first->send.push_back (s.answer_to (invite, 400, "Missing Contact"));
    first->state = State::Ended;
    first->status = 400;
    first->reason = "an INVITE without a Contact";
    return s;
  }
  s.remote_target_ = contact->uri;
  first->send.push_back (s.answer_to (invite, 180, "Ringing"));
  first->state = State::Ringing;
  first->status = 180;
  first->reason = "Ringing";
  first->remote_sdp = body_is (invite, "application/sdp") ? invite.body :
                                                            std::string ();
  s.remote_sdp_given_ = true;
  return s;
}

Message InviteSession::dialog_request (const std::string &method)
{
  Message m;
  m.method = method;
  m.uri = remote_target_;
  m.add_header ("Via",
      "SIP/2.0/" + id_.transport + " " + id_.via_host + ";branch=z9hG4bK" +
          token_ ());
  m.add_header ("Max-Forwards", "70");
  for (const std::string &r : route_set_)
    m.add_header ("Route", r);
  m.add_header ("To",
      remote_addr_ + (remote_tag_.empty () ? "" : ";tag=" + remote_tag_));
  m.add_header ("From", local_addr_ + ";tag=" + local_tag_);
  m.add_header ("Call-ID", call_id_);
  m.add_header ("CSeq", std::to_string (++local_cseq_) + " " + method);
  if (method == "INVITE" || method == "UPDATE" || method == "REFER") {
    m.add_header ("Contact", "<" + id_.contact_uri + ";ob>");
    m.add_header ("Allow", kAllowedMethods);
  }
  if (method == "INVITE")
    m.add_header ("Supported", "outbound");
  if (!id_.user_agent.empty ())
    m.add_header ("User-Agent", id_.user_agent);
  return m;
}

/* The ACK of a final response other than 2xx, and a CANCEL: part of the
 * INVITE's own transaction (RFC 3261 17.1.1.3, 9.1), its branch and
 * route; to is the response's To (with its tag) or the INVITE's. */
Message InviteSession::same_transaction (const Message &invite,
    const char *method, const std::string &to)
{
  Message m;
  m.method = method;
  m.uri = invite.uri;
  m.add_header ("Via", invite.header_values ("Via").front ());
  m.add_header ("Max-Forwards", "70");
  for (const std::string &r : invite.header_values ("Route"))
    m.add_header ("Route", r);
  m.add_header ("To", to);
  m.add_header ("From", *invite.header ("From"));
  m.add_header ("Call-ID", call_id_);
  m.add_header ("CSeq",
      std::to_string (cseq_of (invite)->number) + " " + method);
  return m;
}

Message InviteSession::ack_for (const Message &response, const Message &invite)
{
  const std::string *to = response.header ("To");
  return same_transaction (invite, "ACK", to ? *to : "");
}

Message InviteSession::cancel_for (const Message &invite)
{
  return same_transaction (invite, "CANCEL", *invite.header ("To"));
}

Message InviteSession::answer_to (const Message &request, int status,
    const std::string &reason)
{
  Message r = response_to (request, status, reason, local_tag_);
  const bool dialog = request.method == "INVITE" || request.method == "UPDATE";
  if (dialog && status > 100 && status < 300) {
    for (const std::string &rr : request.header_values ("Record-Route"))
      r.add_header ("Record-Route", rr);
    r.add_header ("Contact", "<" + id_.contact_uri + ";ob>");
    r.add_header ("Allow", kAllowedMethods);
  }
  if (!id_.user_agent.empty ())
    r.add_header ("User-Agent", id_.user_agent);
  return r;
}

InviteSession::Step InviteSession::set_state (State s, int status,
    std::string reason, Step out)
{
  state_ = s;
  out.state = s;
  out.status = status;
  out.reason = std::move (reason);
  return out;
}

InviteSession::Step InviteSession::end (int status, std::string reason, Step s)
{
  awaiting_ack_ = false;
  pending_.clear ();
  return set_state (State::Ended, status, std::move (reason), std::move (s));
}

InviteSession::Step InviteSession::send_request (Message request)
{
  const unsigned long n = cseq_of (request)->number;
  Step out;
  out.send.push_back (request);
  pending_[n] = Pending { std::move (request), {}, false };
  pending_[n].sent = out.send.back ();
  return out;
}

/* The established direction: what this side's description says now. */
std::string InviteSession::local_sdp_for (const std::string &direction)
{
  if (direction != local_direction_) {
    local_direction_ = direction;
    sdp_version_++;
  }
  std::string sdp = sdp_with_direction (local_sdp_, direction, sdp_version_);
  /* The DTLS roles stay as first agreed (RFC 8842 5.5): a description
   * repeated as an answer may not say actpass. */
  if (!local_setup_.empty ()) {
    const std::string from = "a=setup:actpass\r\n";
    for (size_t at; (at = sdp.find (from)) != sdp.npos;)
      sdp.replace (at, from.size (), "a=setup:" + local_setup_ + "\r\n");
  }
  return sdp;
}

void InviteSession::take_local_sdp (const std::string &sdp)
{
  local_sdp_ = sdp;
  local_direction_ = sdp_direction (sdp);
  sdp_version_ = 0;
  for (const std::string &line : sdp_lines (sdp)) {
    if (line.rfind ("o=", 0) != 0)
      continue;
    std::istringstream f (line.substr (2));
    std::string user, id, version;
    f >> user >> id >> version;
    sdp_version_ = (unsigned) std::strtoul (version.c_str (), nullptr, 10);
  }
}

InviteSession::Step InviteSession::invite (const std::string &sdp)
{
  take_local_sdp (sdp);
  Message m = dialog_request ("INVITE");
  m.add_header ("Content-Type", "application/sdp");
  m.body = sdp;
  invite_cseq_ = local_cseq_;
  return set_state (State::Calling, 0, {}, send_request (std::move (m)));
}

InviteSession::Step InviteSession::answer (const std::string &sdp)
{
  if (role_ != Role::Callee || state_ != State::Ringing || !invite_in_)
    return {};
  take_local_sdp (sdp);
  for (const std::string &line : sdp_lines (sdp))
    if (line.rfind ("a=setup:", 0) == 0 && line != "a=setup:actpass")
      local_setup_ = line.substr (8);
  Message ok = answer_to (*invite_in_, 200, "OK");
  session_timer (*invite_in_, ok);
  ok.add_header ("Content-Type", "application/sdp");
  ok.body = sdp;
  awaiting_ack_ = true;
  Step out;
  out.send.push_back (std::move (ok));
  return set_state (State::Connected, 200, "OK", std::move (out));
}

InviteSession::Step InviteSession::reject (int status,
    const std::string &reason)
{
  if (role_ != Role::Callee || state_ != State::Ringing || !invite_in_)
    return {};
  if (status < 300 || status > 699)
    status = 603;
  /* The usual reason phrases of the statuses a phone turns calls away
   * with (RFC 3261 21). */
  static const std::map<int, const char *> phrases = { { 480,
                                                           "Temporarily "
                                                           "Unavailable" },
    { 486, "Busy Here" }, { 487, "Request Terminated" },
    { 488, "Not Acceptable Here" }, { 600, "Busy Everywhere" },
    { 603, "Decline" } };
  auto known = phrases.find (status);
  Step out;
  out.send.push_back (answer_to (*invite_in_, status,
      !reason.empty ()            ? reason :
          known != phrases.end () ? known->second :
                                    "Call Refused"));
  /* Read before out is moved into the call (arguments have no order). */
  std::string sent = out.send.back ().reason;
  return end (status, std::move (sent), std::move (out));
}

InviteSession::Step InviteSession::hangup ()
{
  switch (state_) {
    case State::Calling:
    case State::Ringing: {
      if (role_ == Role::Callee)
        return reject (603, "Decline");
      auto p = pending_.find (invite_cseq_);
      if (p == pending_.end ())
        return end (0, "hung up here");
      Step out;
      if (provisional_)
        out.send.push_back (cancel_for (p->second.sent));
      else
        cancel_wanted_ = true; /* a CANCEL may only follow a 1xx */
      return set_state (State::Ending, 0, "hung up here", std::move (out));
    }
    case State::Connected:
    case State::Held: {
      Step out = send_request (dialog_request ("BYE"));
      return set_state (State::Ending, 0, "hung up here", std::move (out));
    }
    case State::Ending:
    case State::Ended: return {};
  }
  return {};
}

std::optional<InviteSession::Step> InviteSession::hold (bool on)
{
  if ((state_ != State::Connected && state_ != State::Held) || reinvite_out_ ||
      local_sdp_.empty ())
    return std::nullopt;
  hold_before_ = local_hold_;
  local_hold_ = on;
  const std::string dir = on ? (remote_hold_ ? "inactive" : "sendonly") :
                               (remote_hold_ ? "recvonly" : "sendrecv");
  Message m = dialog_request ("INVITE");
  m.add_header ("Content-Type", "application/sdp");
  m.body = local_sdp_for (dir);
  reinvite_out_ = true;
  return send_request (std::move (m));
}

std::optional<InviteSession::Step> InviteSession::send_info_dtmf (char digit,
    unsigned ms)
{
  if (state_ != State::Connected && state_ != State::Held)
    return std::nullopt;
  Message m = dialog_request ("INFO");
  m.add_header ("Content-Type", "application/dtmf-relay");
  m.body = std::string ("Signal=") + digit +
      "\r\nDuration=" + std::to_string (ms) + "\r\n";
  return send_request (std::move (m));
}

std::optional<InviteSession::Step> InviteSession::refer (
    const std::string &target)
{
  if (state_ != State::Connected && state_ != State::Held)
    return std::nullopt;
  refer_sent_ = true;
  Message m = dialog_request ("REFER");
  m.add_header ("Refer-To", "<" + target + ">");
  m.add_header ("Referred-By", "<" + id_.aor + ">");
  return send_request (std::move (m));
}

bool InviteSession::matches (const Message &m) const
{
  const std::string *call_id = m.header ("Call-ID");
  if (!call_id || *call_id != call_id_)
    return false;
  if (m.is_request ()) {
    const std::string to_tag = tag_of (m, "To");
    return tag_of (m, "From") == remote_tag_ &&
        (to_tag.empty () || to_tag == local_tag_);
  }
  return tag_of (m, "From") == local_tag_;
}

bool InviteSession::waiting () const
{
  if (awaiting_ack_)
    return true;
  for (const auto &[n, p] : pending_) {
    /* Ringing may last: a call out waits for its answer unbounded once
     * the far end has said it rings (until hung up here). A 100 is a
     * proxy's, and says nothing of the far end. */
    if (n == invite_cseq_ && state_ == State::Ringing)
      continue;
    return true;
  }
  return false;
}

InviteSession::Step InviteSession::timeout ()
{
  if (awaiting_ack_ && pending_.empty ()) {
    /* A 200 never acknowledged (RFC 3261 13.3.1.4): the call is over. */
    awaiting_ack_ = false;
    Step out = send_request (dialog_request ("BYE"));
    return set_state (State::Ending, 408,
        "the far end never acknowledged "
        "the answer",
        std::move (out));
  }
  if (state_ == State::Ended)
    return {};
  return end (408, "no answer from the far end");
}

InviteSession::Step InviteSession::on_message (const Message &m)
{
  return m.is_request () ? on_request (m) : on_response (m);
}

void InviteSession::learn_dialog (const Message &response, bool confirms)
{
  /* The first tagged 1xx makes an early dialog; the initial INVITE's 2xx
   * makes the dialog, replacing an early one (another fork's, perhaps:
   * RFC 3261 13.2.2.4). */
  const std::string tag = tag_of (response, "To");
  if (tag.empty () || (!remote_tag_.empty () && !confirms))
    return;
  remote_tag_ = tag;
  auto contacts = response.header_values ("Contact");
  if (!contacts.empty ())
    if (auto c = parse_name_addr (contacts.front ()); c && !c->uri.empty ())
      remote_target_ = c->uri;
  /* The caller's route set is the Record-Route in reverse. */
  auto rr = response.header_values ("Record-Route");
  route_set_.assign (rr.rbegin (), rr.rend ());
}

std::optional<Message> InviteSession::authorised (const Message &response,
    Pending &p)
{
  if (p.authorised)
    return std::nullopt;
  const bool proxy = response.status == 407;
  std::optional<Challenge> challenge;
  for (const auto &value : response.header_values (
           proxy ? "Proxy-Authenticate" : "WWW-Authenticate"))
    if ((challenge = parse_challenge (value)))
      break;
  if (!challenge)
    return std::nullopt;
  Message again = p.request;
  again.set_header ("Via",
      "SIP/2.0/" + id_.transport + " " + id_.via_host + ";branch=z9hG4bK" +
          token_ ());
  again.set_header ("CSeq",
      std::to_string (++local_cseq_) + " " + again.method);
  nc_ = challenge->nonce == nonce_ ? nc_ + 1 : 1;
  nonce_ = challenge->nonce;
  DigestAnswer a { id_.auth_user, id_.password, again.method, again.uri,
    token_ (), nc_ };
  again.add_header (proxy ? "Proxy-Authorization" : "Authorization",
      authorization (*challenge, a));
  return again;
}

InviteSession::Step InviteSession::on_response (const Message &m)
{
  auto cseq = cseq_of (m);
  if (!cseq)
    return {};
  auto it = pending_.find (cseq->number);
  /* A CANCEL's response has the INVITE's number: not the INVITE's. */
  if (it != pending_.end () && it->second.sent.method != cseq->method)
    it = pending_.end ();
  if (it == pending_.end ()) {
    /* A 2xx repeated because the ACK was lost: the same ACK again
     * (RFC 3261 13.2.2.4). */
    Step out;
    if (cseq->method == "INVITE" && m.status >= 200 && m.status < 300 &&
        cseq->number == last_acked_)
      out.send.push_back (last_ack_);
    return out;
  }
  if (cseq->method == "INVITE")
    return on_invite_response (m, it->second);
  if (m.status < 200)
    return {};
  Pending p = std::move (it->second);
  pending_.erase (it);
  if (m.status == 401 || m.status == 407) {
    if (auto again = authorised (m, p)) {
      Step out = send_request (*again);
      pending_[cseq_of (*again)->number].request = p.request;
      pending_[cseq_of (*again)->number].authorised = true;
      return out;
    }
  }
  Step out;
  if (m.status == 481 || m.status == 408)
    return end (m.status, "the far end no longer knows this call");
  if (cseq->method == "BYE")
    return end (0, "hung up here");
  if (cseq->method == "REFER") {
    out.transfer_status = m.status;
    out.transfer_done = m.status >= 300;
  }
  return out;
}

InviteSession::Step InviteSession::on_invite_response (const Message &m,
    const Pending &pending)
{
  const unsigned long n = cseq_of (m)->number;
  const bool initial = n == invite_cseq_;
  Step out;
  if (m.status < 200) {
    if (!initial)
      return out;
    provisional_ = true;
    learn_dialog (m, false);
    if (cancel_wanted_) {
      cancel_wanted_ = false;
      out.send.push_back (cancel_for (pending.sent));
      return out;
    }
    if (state_ == State::Ending || tag_of (m, "To").empty ())
      return out;
    if (body_is (m, "application/sdp") && !remote_sdp_given_) {
      remote_sdp_given_ = true;
      out.remote_sdp = m.body;
      out.early = true;
      take_remote_setup (m.body);
    }
    return set_state (State::Ringing, m.status, m.reason, std::move (out));
  }

  Pending p = pending;
  pending_.erase (n);
  if (m.status >= 300) {
    out.send.push_back (ack_for (m, p.sent));
    if ((m.status == 401 || m.status == 407)) {
      if (auto again = authorised (m, p)) {
        Step more = send_request (*again);
        const unsigned long k = cseq_of (*again)->number;
        pending_[k].request = p.request;
        pending_[k].authorised = true;
        if (initial) {
          invite_cseq_ = k;
          provisional_ = false; /* a CANCEL waits for one to this INVITE */
        }
        out.send.push_back (std::move (more.send.front ()));
        return out;
      }
    }
    if (!initial) {
      /* A hold or resume refused: the call goes on as it was. */
      reinvite_out_ = false;
      local_hold_ = hold_before_;
      if (m.status == 481 || m.status == 408)
        return end (m.status, "the far end no longer knows this call",
            std::move (out));
      /* Said, with the refusal: the state stays what it was. */
      return set_state (state_, m.status,
          "the far end refused the change: " + m.reason, std::move (out));
    }
    return end (m.status, m.reason, std::move (out));
  }

  /* 2xx: acknowledged end to end, in the dialog. */
  learn_dialog (m, initial);
  Message ack = dialog_request ("ACK");
  local_cseq_--;
  ack.set_header ("CSeq", std::to_string (n) + " ACK");
  last_acked_ = n;
  last_ack_ = ack;
  out.send.push_back (std::move (ack));
  if (!initial) {
    reinvite_out_ = false;
    const State now = local_hold_ || remote_hold_ ? State::Held :
                                                    State::Connected;
    return set_state (now, m.status, local_hold_ ? "on hold" : "resumed",
        std::move (out));
  }
  if (state_ == State::Ending) {
    /* Answered as the CANCEL crossed it: the call is made, then ended. */
    Step bye = send_request (dialog_request ("BYE"));
    out.send.push_back (std::move (bye.send.front ()));
    return out;
  }
  if (body_is (m, "application/sdp") && !remote_sdp_given_) {
    remote_sdp_given_ = true;
    out.remote_sdp = m.body;
    take_remote_setup (m.body);
  }
  return set_state (State::Connected, m.status, m.reason, std::move (out));
}

void InviteSession::take_remote_setup (const std::string &answer)
{
  for (const std::string &line : sdp_lines (answer)) {
    if (line == "a=setup:active")
      local_setup_ = "passive";
    else if (line == "a=setup:passive")
      local_setup_ = "active";
  }
}

}  // namespace rt::sip
