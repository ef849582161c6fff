/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* InviteSession: the far end's requests in a call (invite_session.cpp has
 * the rest). */
#include "signalling/sip/invite_session.h"

#include "signalling/sip/text.h"

#include <cstdlib>

namespace rt::sip {

namespace {

/* "Signal=5\r\nDuration=160" (application/dtmf-relay, as SIP phones send
 * it) -> '5', 160. */
std::optional<char> dtmf_relay (const std::string &body, unsigned *ms)
{
  std::optional<char> digit;
  *ms = 100;
  for (const std::string &line : sdp_lines (body)) {
    size_t eq = line.find ('=');
    if (eq == line.npos)
      continue;
    std::string_view name = text::trim (std::string_view (line).substr (0, eq));
    std::string_view value = text::trim (
        std::string_view (line).substr (eq + 1));
    if (text::iequal (name, "Signal") && value.size () == 1) {
      char c = (char) std::toupper ((unsigned char) value[0]);
      if ((c >= '0' && c <= '9') || c == '*' || c == '#' ||
          (c >= 'A' && c <= 'D'))
        digit = c;
    } else if (text::iequal (name, "Duration") && !value.empty () &&
        value.size () < 6 &&
        value.find_first_not_of ("0123456789") == value.npos) {
      *ms = (unsigned) std::strtoul (std::string (value).c_str (), nullptr, 10);
    }
  }
  return digit;
}

}  // namespace

InviteSession::Step InviteSession::on_request (const Message &m)
{
  auto cseq = cseq_of (m);
  if (m.method == "ACK") {
    if (awaiting_ack_ && cseq && cseq->number == remote_cseq_)
      awaiting_ack_ = false;
    return {};
  }
  Step out;
  if (m.method == "CANCEL") {
    out.send.push_back (answer_to (m, 200, "OK"));
    if (role_ == Role::Callee && state_ == State::Ringing && invite_in_) {
      out.send.push_back (answer_to (*invite_in_, 487, "Request Terminated"));
      return end (487, "the caller hung up before an answer", std::move (out));
    }
    return out;
  }
  /* A request older than the last one (RFC 3261 12.2.2). */
  if (cseq && remote_cseq_ && cseq->number <= remote_cseq_) {
    out.send.push_back (answer_to (m, 500, "Server Internal Error"));
    return out;
  }
  if (cseq)
    remote_cseq_ = cseq->number;

  if (m.method == "BYE") {
    out.send.push_back (answer_to (m, 200, "OK"));
    return end (0, "the far end hung up", std::move (out));
  }
  if (m.method == "INVITE" || m.method == "UPDATE") {
    if (state_ != State::Connected && state_ != State::Held) {
      out.send.push_back (answer_to (m, 491, "Request Pending"));
      return out;
    }
    if (m.method == "INVITE" && reinvite_out_) {
      out.send.push_back (answer_to (m, 491, "Request Pending"));
      return out;
    }
    /* The media stay as they are (same ICE, same DTLS): an offer only
     * changes the direction, answered here without the peer. */
    std::string dir = local_direction_;
    if (body_is (m, "application/sdp")) {
      const std::string offered = sdp_direction (m.body);
      remote_hold_ = offered == "sendonly" || offered == "inactive";
      dir = answer_direction (offered, local_hold_);
    }
    Message ok = answer_to (m, 200, "OK");
    session_timer (m, ok);
    if (body_is (m, "application/sdp") || m.method == "INVITE") {
      ok.add_header ("Content-Type", "application/sdp");
      ok.body = local_sdp_for (dir);
    }
    out.send.push_back (std::move (ok));
    if (m.method == "INVITE")
      awaiting_ack_ = true;
    const State now = local_hold_ || remote_hold_ ? State::Held :
                                                    State::Connected;
    if (now != state_)
      return set_state (now, 200,
          remote_hold_ ? "held by the far end" : "resumed by the far end",
          std::move (out));
    return out;
  }
  if (m.method == "INFO") {
    const std::string *type = m.header ("Content-Type");
    if (m.body.empty ()) {
      out.send.push_back (answer_to (m, 200, "OK"));
    } else if (type &&
        text::iequal (text::trim (type->substr (0, type->find (';'))),
            "application/dtmf-relay")) {
      out.dtmf = dtmf_relay (m.body, &out.dtmf_ms);
      out.send.push_back (out.dtmf ? answer_to (m, 200, "OK") :
                                     answer_to (m, 400, "Bad DTMF Relay"));
    } else {
      Message r = answer_to (m, 415, "Unsupported Media Type");
      r.add_header ("Accept", "application/dtmf-relay");
      out.send.push_back (std::move (r));
    }
    return out;
  }
  if (m.method == "NOTIFY") {
    const std::string *event = m.header ("Event");
    if (!refer_sent_) {
      /* Progress of a transfer this side never asked for. */
      out.send.push_back (answer_to (m, 481, "Subscription Does Not Exist"));
      return out;
    }
    if (!event ||
        !text::iequal (text::trim (event->substr (0, event->find (';'))),
            "refer")) {
      out.send.push_back (answer_to (m, 489, "Bad Event"));
      return out;
    }
    out.send.push_back (answer_to (m, 200, "OK"));
    /* message/sipfrag: "SIP/2.0 180 Ringing" */
    const std::string first = sdp_lines (m.body).empty () ?
        std::string () :
        sdp_lines (m.body).front ();
    if (first.rfind ("SIP/2.0 ", 0) == 0 && first.size () >= 11)
      out.transfer_status = std::atoi (first.substr (8, 3).c_str ());
    const std::string *sub = m.header ("Subscription-State");
    out.transfer_done = (sub &&
                            text::iequal (
                                text::trim (sub->substr (0, sub->find (';'))),
                                "terminated")) ||
        out.transfer_status >= 200;
    return out;
  }
  if (m.method == "OPTIONS") {
    Message r = answer_to (m, 200, "OK");
    r.add_header ("Allow", kAllowedMethods);
    out.send.push_back (std::move (r));
    return out;
  }
  if (m.method == "REFER") {
    /* This side does not let the far end transfer it. */
    out.send.push_back (answer_to (m, 603, "Decline"));
    return out;
  }
  Message r = answer_to (m, 405, "Method Not Allowed");
  r.add_header ("Allow", kAllowedMethods);
  out.send.push_back (std::move (r));
  return out;
}

/* Session timers (RFC 4028): the far end refreshes. Its Session-Expires is
 * taken with refresher=uac when it supports timers and has not asked this
 * side to refresh; otherwise none is answered, which says this side does
 * not take part (the far end refreshes if it wants to). */
void InviteSession::session_timer (const Message &request, Message &ok)
{
  const std::string *se = request.header ("Session-Expires");
  if (!se)
    return;
  bool supported = false;
  for (const std::string &s : request.header_values ("Supported"))
    supported = supported || text::iequal (text::trim (s), "timer");
  const auto refresher = param (*se, "refresher");
  if (!supported || (refresher && text::iequal (*refresher, "uas")))
    return;
  const std::string delta (
      text::trim (std::string_view (*se).substr (0, se->find (';'))));
  ok.add_header ("Session-Expires", delta + ";refresher=uac");
  ok.add_header ("Require", "timer");
}

}  // namespace rt::sip
