/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the INVITE session's tests (sip_session.cpp, the call set-up;
 * sip_dialog.cpp, what follows in a dialog) share: Alice's identity,
 * deterministic tokens, the descriptions either end offers and answers,
 * the far end's messages (shaped after Kamailio 5.6 proxying for JsSIP
 * phones, through the parser as they would come off the wire), and the
 * calls both start from. */
#pragma once

#include "signalling/sip/invite_session.h"

#include "kept.h"

#include <glib.h>

#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace test {

using rt::sip::Identity;
using rt::sip::InviteSession;
using rt::sip::Message;
using rt::sip::parse;
using rt::sip::ParseResult;
using rt::sip::response_to;
using State = InviteSession::State;
using Step = InviteSession::Step;
using Headers = std::vector<std::pair<std::string, std::string>>;

inline Identity alice ()
{
  Identity id;
  id.aor = "sip:alice@example.org";
  id.password = "wonderland";
  id.display_name = "Alice";
  id.instance = "urn:uuid:00000000-0000-4000-8000-000000000001";
  id.contact_uri = "sip:c0ntact@h0st.invalid;transport=ws";
  id.via_host = "h0st.invalid";
  id.user_agent = "test";
  return id;
}

/* Deterministic tokens: t1, t2, ... A call out takes t1 and t2 for its
 * Call-ID and t3 for its tag, a call in t1 for its tag; then one a
 * branch (and one a cnonce). */
inline std::function<std::string ()> counter ()
{
  auto n = std::make_shared<int> (0);
  return [n] { return "t" + std::to_string (++*n); };
}

inline constexpr const char *kTarget = "sip:bob@example.org";
inline constexpr const char *kContact =
    "<sip:c0ntact@h0st.invalid;transport=ws;ob>";
inline constexpr const char *kAllow =
    "INVITE,ACK,CANCEL,BYE,UPDATE,OPTIONS,REFER,INFO,NOTIFY";

/* Lines, each ended with CRLF. */
inline std::string crlf (std::initializer_list<std::string> lines)
{
  std::string out;
  for (const std::string &line : lines)
    out += line + "\r\n";
  return out;
}

/* Alice's description as a caller (audio and video, as a browser makes
 * it), and Bob's answer to it. */
inline std::string alice_offer (unsigned version, const std::string &setup,
    const std::string &dir)
{
  return crlf ({
      "v=0",
      "o=- 4611 " + std::to_string (version) + " IN IP4 127.0.0.1",
      "s=-",
      "t=0 0",
      "a=group:BUNDLE 0 1",
      "m=audio 9 UDP/TLS/RTP/SAVPF 111",
      "c=IN IP4 0.0.0.0",
      "a=mid:0",
      "a=setup:" + setup,
      "a=rtpmap:111 opus/48000/2",
      "a=" + dir,
      "m=video 9 UDP/TLS/RTP/SAVPF 96",
      "c=IN IP4 0.0.0.0",
      "a=mid:1",
      "a=setup:" + setup,
      "a=rtpmap:96 VP8/90000",
      "a=" + dir,
  });
}

inline std::string bob_answer (const std::string &dir)
{
  return crlf ({
      "v=0",
      "o=- 9000 1 IN IP4 198.51.100.20",
      "s=-",
      "t=0 0",
      "m=audio 40000 UDP/TLS/RTP/SAVPF 111",
      "c=IN IP4 198.51.100.20",
      "a=setup:active",
      "a=rtpmap:111 opus/48000/2",
      "a=" + dir,
      "m=video 40002 UDP/TLS/RTP/SAVPF 96",
      "c=IN IP4 198.51.100.20",
      "a=setup:active",
      "a=rtpmap:96 VP8/90000",
      "a=" + dir,
  });
}

/* Bob's offer when he calls Alice (a SIP phone: audio only), and her
 * answer. */
inline std::string bob_offer (unsigned version, const std::string &dir)
{
  return crlf ({
      "v=0",
      "o=bob 7000 " + std::to_string (version) + " IN IP4 198.51.100.7",
      "s=call",
      "t=0 0",
      "m=audio 41000 UDP/TLS/RTP/SAVPF 0",
      "c=IN IP4 198.51.100.7",
      "a=setup:actpass",
      "a=rtpmap:0 PCMU/8000",
      "a=" + dir,
  });
}

inline std::string alice_answer (unsigned version, const std::string &dir)
{
  return crlf ({
      "v=0",
      "o=- 5150 " + std::to_string (version) + " IN IP4 127.0.0.1",
      "s=-",
      "t=0 0",
      "m=audio 9 UDP/TLS/RTP/SAVPF 0",
      "c=IN IP4 0.0.0.0",
      "a=setup:active",
      "a=rtpmap:0 PCMU/8000",
      "a=" + dir,
  });
}

/* A message from its text (CRLF line endings). */
inline Message parsed (const std::string &text)
{
  ParseResult r = parse (text);
  if (!r.message)
    g_error ("does not parse (%s):\n%s", r.error.c_str (), text.c_str ());
  return *r.message;
}

/* What the far end gets: the message through the wire and back. */
inline Message wire (const Message &m)
{
  return parsed (m.serialize ());
}

/* A header's value, or "<none>". */
inline const char *header_of (const Message &m, const char *name)
{
  const std::string *v = m.header (name);
  return v ? v->c_str () : "<none>";
}

/* Every value of a header, " | " between them. */
inline const char *values_of (const Message &m, const char *name)
{
  std::string out;
  for (const std::string &v : m.header_values (name))
    out += (out.empty () ? "" : " | ") + v;
  return kept (out);
}

/* The far end's response to a request of Alice's: its Vias, From, Call-ID
 * and CSeq, its To with to_tag added (when it has none), the extra
 * headers and an SDP body. */
inline Message reply (const Message &req, int status, const char *reason,
    const char *to_tag = nullptr, const Headers &extra = {},
    const std::string &sdp = {})
{
  Message r = response_to (req, status, reason, to_tag ? to_tag : "");
  for (const auto &[name, value] : extra)
    r.add_header (name, value);
  if (!sdp.empty ()) {
    r.add_header ("Content-Type", "application/sdp");
    r.body = sdp;
  }
  return wire (r);
}

/* The far end's side of a dialog: its From and To (both tagged) and the
 * Call-ID. */
struct Dialog {
  std::string from, to, call_id;
};

/* Bob calling Alice (whose tag is t1)... */
inline const Dialog kBobCalling = { "\"Bob\" <sip:bob@example.org>;tag=b1",
  "<sip:alice@example.org>;tag=t1", "c4ll@198.51.100.7" };
/* ...and Bob answering Alice's call (her tag t3). */
inline Dialog answered_by_bob (const InviteSession &s)
{
  return { "<sip:bob@example.org>;tag=ans1",
    "\"Alice\" <sip:alice@example.org>;tag=t3", s.call_id () };
}

/* A request of the far end's in a dialog; headers each end with CRLF. */
inline Message request (const Dialog &d, const std::string &method,
    unsigned long cseq, const std::string &headers = {},
    const std::string &body = {})
{
  const std::string n = std::to_string (cseq);
  return parsed (method + " sip:c0ntact@h0st.invalid;transport=ws SIP/2.0\r\n" +
      "Via: SIP/2.0/WSS 192.0.2.5;branch=z9hG4bKp" + method + n + "\r\n" +
      "Via: SIP/2.0/WS 198.51.100.7;branch=z9hG4bKb" + method + n + "\r\n" +
      "Max-Forwards: 69\r\n" + "From: " + d.from + "\r\n" + "To: " + d.to +
      "\r\n" + "Call-ID: " + d.call_id + "\r\n" + "CSeq: " + n + " " + method +
      "\r\n" + headers + "Content-Length: " + std::to_string (body.size ()) +
      "\r\n\r\n" + body);
}

/* Bob's INVITE through two proxies that record the route. */
inline Message bob_invite (bool with_contact = true)
{
  const std::string sdp = bob_offer (1, "sendrecv");
  return parsed (
      std::string ("INVITE sip:c0ntact@h0st.invalid;transport=ws SIP/2.0\r\n"
                   "Via: SIP/2.0/WSS 192.0.2.5;branch=z9hG4bKp1\r\n"
                   "Via: SIP/2.0/WS 198.51.100.7;branch=z9hG4bKbob1\r\n"
                   "Max-Forwards: 69\r\n"
                   "Record-Route: <sip:p1.example.org;lr>\r\n"
                   "Record-Route: <sip:p2.example.org;lr>\r\n"
                   "From: \"Bob\" <sip:bob@example.org>;tag=b1\r\n"
                   "To: <sip:alice@example.org>\r\n"
                   "Call-ID: c4ll@198.51.100.7\r\n"
                   "CSeq: 101 INVITE\r\n") +
      (with_contact ? "Contact: <sip:bob@198.51.100.7;transport=ws>\r\n" : "") +
      "Content-Type: application/sdp\r\n"
      "Content-Length: " +
      std::to_string (sdp.size ()) + "\r\n\r\n" + sdp);
}

/* What Bob's 200 carries besides its tag and description: his phone's
 * Contact and the route two proxies recorded (the one nearest him
 * first). */
inline const Headers &answered_headers ()
{
  static const Headers h = { { "Contact",
                                 "<sip:bob@198.51.100.20;transport=ws>" },
    { "Record-Route", "<sip:p2.example.org;lr>" },
    { "Record-Route", "<sip:p1.example.org;lr>" } };
  return h;
}

/* Alice called Bob and he answered: t4 was the INVITE's branch, t5 the
 * ACK's. */
inline InviteSession connected_call ()
{
  auto s = InviteSession::outgoing (alice (), kTarget, counter ());
  Step st = s.invite (alice_offer (1, "actpass", "sendrecv"));
  st = s.on_message (reply (st.send.at (0), 200, "OK", "ans1",
      answered_headers (), bob_answer ("sendrecv")));
  g_assert_true (st.state == State::Connected);
  g_assert_cmpuint (st.send.size (), ==, 1);
  return s;
}

/* Bob calls Alice; she has not answered yet (t1 is her tag). */
inline InviteSession ringing_call (Step *first)
{
  return InviteSession::incoming (alice (), bob_invite (), first, counter ());
}

/* ...she answered and Bob acknowledged it. */
inline InviteSession answered_call ()
{
  Step first;
  InviteSession s = ringing_call (&first);
  Step st = s.answer (alice_answer (1, "sendrecv"));
  g_assert_true (st.state == State::Connected);
  st = s.on_message (request (kBobCalling, "ACK", 101));
  g_assert_cmpuint (st.send.size (), ==, 0);
  g_assert_false (s.waiting ());
  return s;
}

}  // namespace test
