/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The INVITE session alone (signalling/sip/invite_session), setting a
 * call up: a call out through its answer, early media, digest challenges,
 * refusals and CANCEL; a call in through its answer, refusal and CANCEL;
 * timeouts; which messages belong to a session. What follows in a dialog
 * is in sip_dialog.cpp; what both use, in sip_session_util.h. */
#include "sip_session_util.h"

#include <glib.h>

#include <cstring>
#include <string>
#include <utility>

using namespace rt::sip;
using namespace test;

static const char *kProxyChallenge =
    "Digest realm=\"example.org\", nonce=\"n0nce1\", qop=\"auth\"";

static void test_outgoing_call ()
{
  auto s = InviteSession::outgoing (alice (), kTarget, counter ());
  g_assert_true (s.role () == InviteSession::Role::Caller);
  /* Two tokens, in the order the compiler calls them. */
  g_assert_true (s.call_id () == "t1t2" || s.call_id () == "t2t1");
  g_assert_cmpstr (s.remote_uri ().c_str (), ==, kTarget);
  const std::string offer = alice_offer (1, "actpass", "sendrecv");
  Step st = s.invite (offer);
  g_assert_true (st.state == State::Calling);
  g_assert_true (s.state () == State::Calling);
  g_assert_cmpuint (st.send.size (), ==, 1);
  const Message invite = wire (st.send[0]);
  g_assert_cmpstr (invite.method.c_str (), ==, "INVITE");
  g_assert_cmpstr (invite.uri.c_str (), ==, kTarget);
  g_assert_cmpstr (values_of (invite, "Via"), ==,
      "SIP/2.0/WS h0st.invalid;branch=z9hG4bKt4");
  g_assert_cmpstr (header_of (invite, "Max-Forwards"), ==, "70");
  g_assert_cmpstr (header_of (invite, "To"), ==, "<sip:bob@example.org>");
  g_assert_cmpstr (header_of (invite, "From"), ==,
      "\"Alice\" <sip:alice@example.org>;tag=t3");
  g_assert_cmpstr (header_of (invite, "Call-ID"), ==, s.call_id ().c_str ());
  g_assert_cmpstr (header_of (invite, "CSeq"), ==, "1 INVITE");
  g_assert_cmpstr (header_of (invite, "Contact"), ==, kContact);
  g_assert_cmpstr (header_of (invite, "Allow"), ==, kAllow);
  g_assert_cmpstr (header_of (invite, "Supported"), ==, "outbound");
  g_assert_cmpstr (header_of (invite, "User-Agent"), ==, "test");
  g_assert_cmpstr (header_of (invite, "Route"), ==, "<none>");
  g_assert_cmpstr (header_of (invite, "Content-Type"), ==, "application/sdp");
  g_assert_cmpstr (invite.body.c_str (), ==, offer.c_str ());
  g_assert_true (s.waiting ());

  /* 100 Trying from the proxy says nothing of Bob: the call is still
   * calling, its answer still awaited within the bound. */
  Message trying = reply (invite, 100, "Trying");
  g_assert_true (s.matches (trying));
  st = s.on_message (trying);
  g_assert_false (st.state.has_value ());
  g_assert_cmpuint (st.send.size (), ==, 0);
  g_assert_true (s.state () == State::Calling);
  g_assert_true (s.waiting ());

  /* One of Bob's phones rings: for as long as it takes. */
  st = s.on_message (reply (invite, 180, "Ringing", "ring1",
      { { "Contact", "<sip:bob@198.51.100.10;transport=ws>" } }));
  g_assert_true (st.state == State::Ringing);
  g_assert_cmpint (st.status, ==, 180);
  g_assert_cmpstr (st.reason.c_str (), ==, "Ringing");
  g_assert_false (st.remote_sdp.has_value ());
  g_assert_cmpuint (st.send.size (), ==, 0);
  g_assert_true (s.state () == State::Ringing);
  g_assert_false (s.waiting ());

  /* Another answers (the proxy forked the call): its tag, its Contact and
   * the route its proxies recorded make the dialog (RFC 3261 13.2.2.4),
   * the route in reverse for the caller (12.1.2). */
  const std::string answer = bob_answer ("sendrecv");
  const Message ok = reply (invite, 200, "OK", "ans1", answered_headers (),
      answer);
  g_assert_true (s.matches (ok));
  st = s.on_message (ok);
  g_assert_true (st.state == State::Connected);
  g_assert_cmpint (st.status, ==, 200);
  g_assert_cmpstr (st.reason.c_str (), ==, "OK");
  g_assert_true (st.remote_sdp.has_value ());
  g_assert_cmpstr (st.remote_sdp->c_str (), ==, answer.c_str ());
  g_assert_false (st.early);
  g_assert_cmpuint (st.send.size (), ==, 1);
  const std::string first_ack = st.send[0].serialize ();
  const Message ack = wire (st.send[0]);
  g_assert_cmpstr (ack.method.c_str (), ==, "ACK");
  g_assert_cmpstr (ack.uri.c_str (), ==, "sip:bob@198.51.100.20;transport=ws");
  g_assert_cmpstr (values_of (ack, "Via"), ==,
      "SIP/2.0/WS h0st.invalid;branch=z9hG4bKt5");
  g_assert_cmpstr (values_of (ack, "Route"), ==,
      "<sip:p1.example.org;lr> | <sip:p2.example.org;lr>");
  g_assert_cmpstr (header_of (ack, "To"), ==, "<sip:bob@example.org>;tag=ans1");
  g_assert_cmpstr (header_of (ack, "From"), ==,
      "\"Alice\" <sip:alice@example.org>;tag=t3");
  g_assert_cmpstr (header_of (ack, "Call-ID"), ==, s.call_id ().c_str ());
  g_assert_cmpstr (header_of (ack, "CSeq"), ==, "1 ACK");
  g_assert_cmpstr (header_of (ack, "Content-Type"), ==, "<none>");
  g_assert_true (ack.body.empty ());
  g_assert_true (s.state () == State::Connected);
  g_assert_false (s.waiting ());

  /* The 200 again (the ACK was lost): the same ACK again, nothing else
   * (RFC 3261 13.2.2.4). */
  st = s.on_message (ok);
  g_assert_false (st.state.has_value ());
  g_assert_false (st.remote_sdp.has_value ());
  g_assert_cmpuint (st.send.size (), ==, 1);
  g_assert_cmpstr (kept (st.send[0].serialize ()), ==, first_ack.c_str ());
  g_assert_true (s.state () == State::Connected);
  g_assert_false (s.waiting ());
}

static void test_early_media ()
{
  auto s = InviteSession::outgoing (alice (), kTarget, counter ());
  Step st = s.invite (alice_offer (1, "actpass", "sendrecv"));
  const Message invite = st.send[0];
  const std::string answer = bob_answer ("sendrecv");
  st = s.on_message (reply (invite, 183, "Session Progress", "ans1",
      answered_headers (), answer));
  g_assert_true (st.state == State::Ringing);
  g_assert_cmpint (st.status, ==, 183);
  g_assert_cmpstr (st.reason.c_str (), ==, "Session Progress");
  g_assert_true (st.remote_sdp.has_value ());
  g_assert_cmpstr (st.remote_sdp->c_str (), ==, answer.c_str ());
  g_assert_true (st.early);
  g_assert_cmpuint (st.send.size (), ==, 0);

  /* The 200 repeats the answer: not given again. */
  st = s.on_message (
      reply (invite, 200, "OK", "ans1", answered_headers (), answer));
  g_assert_true (st.state == State::Connected);
  g_assert_false (st.remote_sdp.has_value ());
  g_assert_false (st.early);
  g_assert_cmpuint (st.send.size (), ==, 1);
  g_assert_cmpstr (st.send[0].method.c_str (), ==, "ACK");
  g_assert_cmpstr (header_of (st.send[0], "CSeq"), ==, "1 ACK");
}

static void test_challenge ()
{
  auto s = InviteSession::outgoing (alice (), kTarget, counter ());
  const std::string offer = alice_offer (1, "actpass", "sendrecv");
  Step st = s.invite (offer);
  const Message first = st.send[0];

  /* 407: acknowledged in the INVITE's own transaction (RFC 3261
   * 17.1.1.3), and the INVITE sent again with the answer. */
  st = s.on_message (reply (first, 407, "Proxy Authentication Required", "px1",
      { { "Proxy-Authenticate", kProxyChallenge } }));
  g_assert_false (st.state.has_value ());
  g_assert_true (s.state () == State::Calling);
  g_assert_cmpuint (st.send.size (), ==, 2);
  const Message ack = wire (st.send[0]);
  g_assert_cmpstr (ack.method.c_str (), ==, "ACK");
  g_assert_cmpstr (ack.uri.c_str (), ==, kTarget);
  g_assert_cmpstr (values_of (ack, "Via"), ==,
      "SIP/2.0/WS h0st.invalid;branch=z9hG4bKt4");
  g_assert_cmpstr (header_of (ack, "To"), ==, "<sip:bob@example.org>;tag=px1");
  g_assert_cmpstr (header_of (ack, "From"), ==, header_of (first, "From"));
  g_assert_cmpstr (header_of (ack, "Call-ID"), ==, s.call_id ().c_str ());
  g_assert_cmpstr (header_of (ack, "CSeq"), ==, "1 ACK");

  const Message second = wire (st.send[1]);
  g_assert_cmpstr (second.method.c_str (), ==, "INVITE");
  g_assert_cmpstr (second.uri.c_str (), ==, kTarget);
  g_assert_cmpstr (values_of (second, "Via"), ==,
      "SIP/2.0/WS h0st.invalid;branch=z9hG4bKt5");
  g_assert_cmpstr (header_of (second, "CSeq"), ==, "2 INVITE");
  g_assert_cmpstr (header_of (second, "To"), ==, "<sip:bob@example.org>");
  g_assert_cmpstr (header_of (second, "From"), ==, header_of (first, "From"));
  g_assert_cmpstr (header_of (second, "Call-ID"), ==, s.call_id ().c_str ());
  g_assert_cmpstr (header_of (second, "Contact"), ==, kContact);
  g_assert_cmpstr (second.body.c_str (), ==, offer.c_str ());
  g_assert_null (second.header ("Authorization"));
  const std::string *auth = second.header ("Proxy-Authorization");
  g_assert_nonnull (auth);
  g_assert_null (strstr (auth->c_str (), "wonderland"));
  /* The response the proxy would compute (cnonce t6). */
  const std::string ha1 = digest_hex (DigestAlgorithm::Md5,
      "alice:example.org:wonderland");
  const std::string ha2 = digest_hex (DigestAlgorithm::Md5,
      "INVITE:sip:bob@example.org");
  const std::string expected = digest_hex (DigestAlgorithm::Md5,
      ha1 + ":n0nce1:00000001:t6:auth:" + ha2);
  for (const std::string &field : { std::string ("Digest username=\"alice\""),
           std::string ("realm=\"example.org\""),
           std::string ("nonce=\"n0nce1\""),
           std::string ("uri=\"sip:bob@example.org\""),
           "response=\"" + expected + "\"", std::string ("nc=00000001"),
           std::string ("cnonce=\"t6\""), std::string ("qop=auth") })
    g_assert_nonnull (strstr (auth->c_str (), field.c_str ()));
  g_assert_true (s.waiting ());

  /* A challenge to the answer: the password is wrong; acknowledged, and
   * the call ends. */
  st = s.on_message (reply (second, 407, "Proxy Authentication Required", "px2",
      { { "Proxy-Authenticate",
          "Digest realm=\"example.org\", nonce=\"n0nce2\", qop=\"auth\"" } }));
  g_assert_true (st.state == State::Ended);
  g_assert_cmpint (st.status, ==, 407);
  g_assert_cmpstr (st.reason.c_str (), ==, "Proxy Authentication Required");
  g_assert_cmpuint (st.send.size (), ==, 1);
  g_assert_cmpstr (st.send[0].method.c_str (), ==, "ACK");
  g_assert_cmpstr (values_of (st.send[0], "Via"), ==,
      "SIP/2.0/WS h0st.invalid;branch=z9hG4bKt5");
  g_assert_cmpstr (header_of (st.send[0], "To"), ==,
      "<sip:bob@example.org>;tag=px2");
  g_assert_cmpstr (header_of (st.send[0], "CSeq"), ==, "2 ACK");
  g_assert_true (s.state () == State::Ended);
  g_assert_false (s.waiting ());

  /* A 100 before the challenge (as Asterisk sends it) counts for the
   * first INVITE only: hung up before anything comes back to the second,
   * its CANCEL waits for a provisional response to it (RFC 3261 9.1). */
  auto a = InviteSession::outgoing (alice (), kTarget, counter ());
  st = a.invite (offer);
  const Message challenged = st.send[0];
  st = a.on_message (reply (challenged, 100, "Trying"));
  st = a.on_message (reply (challenged, 401, "Unauthorized", "as1",
      { { "WWW-Authenticate",
          "Digest realm=\"asterisk\", nonce=\"abc\", opaque=\"o1\"" } }));
  g_assert_cmpuint (st.send.size (), ==, 2);
  const Message again = st.send[1];
  g_assert_cmpstr (header_of (again, "CSeq"), ==, "2 INVITE");
  g_assert_nonnull (again.header ("Authorization"));
  g_assert_nonnull (
      strstr (header_of (again, "Authorization"), "opaque=\"o1\""));
  g_assert_true (a.waiting ());
  st = a.hangup ();
  g_assert_true (st.state == State::Ending);
  g_assert_cmpuint (st.send.size (), ==, 0);
  g_assert_true (a.waiting ());
  st = a.on_message (reply (again, 100, "Trying"));
  g_assert_cmpuint (st.send.size (), ==, 1);
  g_assert_cmpstr (st.send[0].method.c_str (), ==, "CANCEL");
  g_assert_cmpstr (values_of (st.send[0], "Via"), ==, values_of (again, "Via"));
  g_assert_cmpstr (header_of (st.send[0], "CSeq"), ==, "2 CANCEL");
}

static void test_refused ()
{
  const std::pair<int, const char *> refusals[] = { { 486, "Busy Here" },
    { 603, "Decline" } };
  for (const auto &[status, reason] : refusals) {
    auto s = InviteSession::outgoing (alice (), kTarget, counter ());
    Step st = s.invite (alice_offer (1, "actpass", "sendrecv"));
    const Message invite = st.send[0];
    st = s.on_message (
        reply (invite, 180, "Ringing", "ans1", answered_headers ()));
    g_assert_true (st.state == State::Ringing);
    st = s.on_message (reply (invite, status, reason, "ans1"));
    g_assert_true (st.state == State::Ended);
    g_assert_cmpint (st.status, ==, status);
    g_assert_cmpstr (st.reason.c_str (), ==, reason);
    g_assert_cmpuint (st.send.size (), ==, 1);
    const Message ack = wire (st.send[0]);
    g_assert_cmpstr (ack.method.c_str (), ==, "ACK");
    g_assert_cmpstr (ack.uri.c_str (), ==, kTarget);
    g_assert_cmpstr (values_of (ack, "Via"), ==, values_of (invite, "Via"));
    g_assert_cmpstr (header_of (ack, "To"), ==,
        "<sip:bob@example.org>;tag=ans1");
    g_assert_cmpstr (header_of (ack, "CSeq"), ==, "1 ACK");
    g_assert_true (s.state () == State::Ended);
    g_assert_false (s.waiting ());
  }
}

static void test_cancel ()
{
  const std::string offer = alice_offer (1, "actpass", "sendrecv");

  /* Hung up before anything came back: no CANCEL yet (RFC 3261 9.1). */
  auto s = InviteSession::outgoing (alice (), kTarget, counter ());
  Step st = s.invite (offer);
  const Message invite = st.send[0];
  st = s.hangup ();
  g_assert_true (st.state == State::Ending);
  g_assert_cmpint (st.status, ==, 0);
  g_assert_cmpstr (st.reason.c_str (), ==, "hung up here");
  g_assert_cmpuint (st.send.size (), ==, 0);
  g_assert_true (s.waiting ());
  /* The 180 lets it go: the INVITE's branch, Request-URI, To (without the
   * 180's tag) and CSeq number. */
  st = s.on_message (
      reply (invite, 180, "Ringing", "ring1", answered_headers ()));
  g_assert_false (st.state.has_value ());
  g_assert_cmpuint (st.send.size (), ==, 1);
  const Message cancel = wire (st.send[0]);
  g_assert_cmpstr (cancel.method.c_str (), ==, "CANCEL");
  g_assert_cmpstr (cancel.uri.c_str (), ==, kTarget);
  g_assert_cmpstr (values_of (cancel, "Via"), ==,
      "SIP/2.0/WS h0st.invalid;branch=z9hG4bKt4");
  g_assert_cmpstr (header_of (cancel, "Max-Forwards"), ==, "70");
  g_assert_cmpstr (header_of (cancel, "To"), ==, "<sip:bob@example.org>");
  g_assert_cmpstr (header_of (cancel, "From"), ==, header_of (invite, "From"));
  g_assert_cmpstr (header_of (cancel, "Call-ID"), ==, s.call_id ().c_str ());
  g_assert_cmpstr (header_of (cancel, "CSeq"), ==, "1 CANCEL");
  g_assert_true (cancel.body.empty ());
  g_assert_true (s.state () == State::Ending);
  g_assert_true (s.waiting ());
  /* The CANCEL's 200 (its CSeq number is the INVITE's) ends nothing: the
   * INVITE's 487 does. */
  st = s.on_message (reply (cancel, 200, "OK", "ring1"));
  g_assert_false (st.state.has_value ());
  g_assert_cmpuint (st.send.size (), ==, 0);
  g_assert_true (s.state () == State::Ending);
  g_assert_true (s.waiting ());
  st = s.on_message (reply (invite, 487, "Request Terminated", "ring1"));
  g_assert_true (st.state == State::Ended);
  g_assert_cmpint (st.status, ==, 487);
  g_assert_cmpuint (st.send.size (), ==, 1);
  g_assert_cmpstr (st.send[0].method.c_str (), ==, "ACK");
  g_assert_cmpstr (values_of (st.send[0], "Via"), ==,
      "SIP/2.0/WS h0st.invalid;branch=z9hG4bKt4");
  g_assert_cmpstr (header_of (st.send[0], "To"), ==,
      "<sip:bob@example.org>;tag=ring1");
  g_assert_cmpstr (header_of (st.send[0], "CSeq"), ==, "1 ACK");
  g_assert_false (s.waiting ());
  g_assert_cmpuint (s.hangup ().send.size (), ==, 0);

  /* Hung up while it rings: the CANCEL at once. */
  auto r = InviteSession::outgoing (alice (), kTarget, counter ());
  st = r.invite (offer);
  const Message ringing = st.send[0];
  r.on_message (reply (ringing, 180, "Ringing", "ring1", answered_headers ()));
  st = r.hangup ();
  g_assert_true (st.state == State::Ending);
  g_assert_cmpuint (st.send.size (), ==, 1);
  g_assert_cmpstr (st.send[0].method.c_str (), ==, "CANCEL");
  g_assert_cmpstr (values_of (st.send[0], "Via"), ==,
      values_of (ringing, "Via"));
  g_assert_cmpstr (header_of (st.send[0], "To"), ==, "<sip:bob@example.org>");
  g_assert_cmpstr (header_of (st.send[0], "CSeq"), ==, "1 CANCEL");
  g_assert_true (r.waiting ());

  /* Answered as the CANCEL crossed it: acknowledged, then ended by BYE
   * in the new dialog. */
  const Message crossing = st.send[0];
  st = r.on_message (reply (crossing, 200, "OK", "ring1"));
  g_assert_cmpuint (st.send.size (), ==, 0);
  st = r.on_message (reply (ringing, 200, "OK", "ring1", answered_headers (),
      bob_answer ("sendrecv")));
  g_assert_false (st.state.has_value ());
  g_assert_false (st.remote_sdp.has_value ());
  g_assert_cmpuint (st.send.size (), ==, 2);
  g_assert_cmpstr (st.send[0].method.c_str (), ==, "ACK");
  g_assert_cmpstr (header_of (st.send[0], "CSeq"), ==, "1 ACK");
  g_assert_cmpstr (st.send[0].uri.c_str (), ==,
      "sip:bob@198.51.100.20;transport=ws");
  const Message bye = wire (st.send[1]);
  g_assert_cmpstr (bye.method.c_str (), ==, "BYE");
  g_assert_cmpstr (bye.uri.c_str (), ==, "sip:bob@198.51.100.20;transport=ws");
  g_assert_cmpstr (values_of (bye, "Route"), ==,
      "<sip:p1.example.org;lr> | <sip:p2.example.org;lr>");
  g_assert_cmpstr (header_of (bye, "To"), ==,
      "<sip:bob@example.org>;tag=ring1");
  g_assert_cmpstr (header_of (bye, "CSeq"), ==, "2 BYE");
  g_assert_true (r.state () == State::Ending);
  g_assert_true (r.waiting ());
  st = r.on_message (reply (bye, 200, "OK"));
  g_assert_true (st.state == State::Ended);
  g_assert_false (r.waiting ());
}

static void test_incoming_call ()
{
  Step first;
  InviteSession s = ringing_call (&first);
  g_assert_true (s.role () == InviteSession::Role::Callee);
  g_assert_true (s.state () == State::Ringing);
  g_assert_cmpstr (s.call_id ().c_str (), ==, "c4ll@198.51.100.7");
  g_assert_cmpstr (s.remote_uri ().c_str (), ==, "sip:bob@example.org");
  g_assert_cmpstr (s.remote_display ().c_str (), ==, "Bob");
  g_assert_true (first.state == State::Ringing);
  g_assert_cmpint (first.status, ==, 180);
  g_assert_true (first.remote_sdp.has_value ());
  g_assert_cmpstr (first.remote_sdp->c_str (), ==,
      kept (bob_offer (1, "sendrecv")));
  g_assert_false (first.early);
  g_assert_cmpuint (first.send.size (), ==, 1);
  const Message ringing = wire (first.send[0]);
  g_assert_false (ringing.is_request ());
  g_assert_cmpint (ringing.status, ==, 180);
  g_assert_cmpstr (ringing.reason.c_str (), ==, "Ringing");
  g_assert_cmpstr (values_of (ringing, "Via"), ==,
      "SIP/2.0/WSS 192.0.2.5;branch=z9hG4bKp1 | "
      "SIP/2.0/WS 198.51.100.7;branch=z9hG4bKbob1");
  g_assert_cmpstr (header_of (ringing, "From"), ==,
      "\"Bob\" <sip:bob@example.org>;tag=b1");
  g_assert_cmpstr (header_of (ringing, "To"), ==,
      "<sip:alice@example.org>;tag=t1");
  g_assert_cmpstr (header_of (ringing, "Call-ID"), ==, "c4ll@198.51.100.7");
  g_assert_cmpstr (header_of (ringing, "CSeq"), ==, "101 INVITE");
  g_assert_cmpstr (values_of (ringing, "Record-Route"), ==,
      "<sip:p1.example.org;lr> | <sip:p2.example.org;lr>");
  g_assert_cmpstr (header_of (ringing, "Contact"), ==, kContact);
  g_assert_true (ringing.body.empty ());
  g_assert_false (s.waiting ());

  /* Answered: waiting for the ACK. */
  const std::string answer = alice_answer (1, "sendrecv");
  Step st = s.answer (answer);
  g_assert_true (st.state == State::Connected);
  g_assert_cmpint (st.status, ==, 200);
  g_assert_cmpuint (st.send.size (), ==, 1);
  const Message ok = wire (st.send[0]);
  g_assert_cmpint (ok.status, ==, 200);
  g_assert_cmpstr (header_of (ok, "To"), ==, "<sip:alice@example.org>;tag=t1");
  g_assert_cmpstr (header_of (ok, "CSeq"), ==, "101 INVITE");
  g_assert_cmpstr (values_of (ok, "Record-Route"), ==,
      "<sip:p1.example.org;lr> | <sip:p2.example.org;lr>");
  g_assert_cmpstr (header_of (ok, "Contact"), ==, kContact);
  g_assert_cmpstr (header_of (ok, "Allow"), ==, kAllow);
  g_assert_cmpstr (header_of (ok, "Content-Type"), ==, "application/sdp");
  g_assert_cmpstr (ok.body.c_str (), ==, answer.c_str ());
  g_assert_true (s.state () == State::Connected);
  g_assert_true (s.waiting ());
  /* Not answered twice. */
  g_assert_cmpuint (s.answer (answer).send.size (), ==, 0);
  st = s.on_message (request (kBobCalling, "ACK", 101));
  g_assert_cmpuint (st.send.size (), ==, 0);
  g_assert_false (st.state.has_value ());
  g_assert_false (s.waiting ());

  /* Turned away. */
  InviteSession busy = ringing_call (&first);
  st = busy.reject (486, "");
  g_assert_true (st.state == State::Ended);
  g_assert_cmpint (st.status, ==, 486);
  g_assert_cmpstr (st.reason.c_str (), ==, "Busy Here");
  g_assert_cmpuint (st.send.size (), ==, 1);
  g_assert_cmpint (st.send[0].status, ==, 486);
  g_assert_cmpstr (st.send[0].reason.c_str (), ==, "Busy Here");
  g_assert_cmpstr (header_of (st.send[0], "To"), ==,
      "<sip:alice@example.org>;tag=t1");
  g_assert_cmpstr (header_of (st.send[0], "CSeq"), ==, "101 INVITE");
  g_assert_cmpstr (header_of (st.send[0], "Contact"), ==, "<none>");
  g_assert_true (busy.state () == State::Ended);
  g_assert_false (busy.waiting ());

  /* Without a Contact there is nowhere to send the dialog's requests. */
  InviteSession nowhere = InviteSession::incoming (alice (), bob_invite (false),
      &first, counter ());
  g_assert_true (first.state == State::Ended);
  g_assert_cmpint (first.status, ==, 400);
  g_assert_cmpuint (first.send.size (), ==, 1);
  g_assert_cmpint (first.send[0].status, ==, 400);
  g_assert_cmpstr (header_of (first.send[0], "CSeq"), ==, "101 INVITE");
  g_assert_true (nowhere.state () == State::Ended);

  /* Bob gives up while it rings: 200 to his CANCEL, 487 to his INVITE. */
  InviteSession cancelled = ringing_call (&first);
  Message cancel = request ({ "\"Bob\" <sip:bob@example.org>;tag=b1",
                                "<sip:alice@example.org>",
                                "c4ll@198.51.100.7" },
      "CANCEL", 101);
  g_assert_true (cancelled.matches (cancel));
  st = cancelled.on_message (cancel);
  g_assert_true (st.state == State::Ended);
  g_assert_cmpint (st.status, ==, 487);
  g_assert_cmpuint (st.send.size (), ==, 2);
  g_assert_cmpint (st.send[0].status, ==, 200);
  g_assert_cmpstr (header_of (st.send[0], "CSeq"), ==, "101 CANCEL");
  g_assert_cmpstr (header_of (st.send[0], "To"), ==,
      "<sip:alice@example.org>;tag=t1");
  g_assert_cmpint (st.send[1].status, ==, 487);
  g_assert_cmpstr (st.send[1].reason.c_str (), ==, "Request Terminated");
  g_assert_cmpstr (header_of (st.send[1], "CSeq"), ==, "101 INVITE");
  g_assert_cmpstr (values_of (st.send[1], "Via"), ==,
      values_of (ringing, "Via"));
  g_assert_true (cancelled.state () == State::Ended);
}

static void test_timeout ()
{
  /* No answer at all, or only the proxy's 100. */
  for (bool trying : { false, true }) {
    auto s = InviteSession::outgoing (alice (), kTarget, counter ());
    Step st = s.invite (alice_offer (1, "actpass", "sendrecv"));
    if (trying)
      s.on_message (reply (st.send[0], 100, "Trying"));
    g_assert_true (s.waiting ());
    st = s.timeout ();
    g_assert_true (st.state == State::Ended);
    g_assert_cmpint (st.status, ==, 408);
    g_assert_cmpuint (st.send.size (), ==, 0);
    g_assert_true (s.state () == State::Ended);
    g_assert_false (s.waiting ());
  }

  /* A 200 never acknowledged (RFC 3261 13.3.1.4): BYE. */
  Step first;
  InviteSession in = ringing_call (&first);
  in.answer (alice_answer (1, "sendrecv"));
  g_assert_true (in.waiting ());
  Step st = in.timeout ();
  g_assert_true (st.state == State::Ending);
  g_assert_cmpint (st.status, ==, 408);
  g_assert_cmpuint (st.send.size (), ==, 1);
  const Message bye = wire (st.send[0]);
  g_assert_cmpstr (bye.method.c_str (), ==, "BYE");
  g_assert_cmpstr (bye.uri.c_str (), ==, "sip:bob@198.51.100.7;transport=ws");
  g_assert_cmpstr (header_of (bye, "CSeq"), ==, "1 BYE");
  g_assert_true (in.state () == State::Ending);
  g_assert_true (in.waiting ());
  st = in.on_message (reply (bye, 200, "OK"));
  g_assert_true (st.state == State::Ended);
  g_assert_false (in.waiting ());
}

static void test_matching ()
{
  /* A call out: responses carry its tag in From, the far end's requests
   * its tag in To and the far end's in From. */
  InviteSession out = connected_call ();
  auto info = out.send_info_dtmf ('1', 100);
  Message ok = reply (info->send.at (0), 200, "OK");
  g_assert_true (out.matches (ok));
  Message other = ok;
  other.set_header ("Call-ID", "someone-else");
  g_assert_false (out.matches (other));
  other = ok;
  other.set_header ("From", "\"Alice\" <sip:alice@example.org>;tag=t9");
  g_assert_false (out.matches (other));

  const Dialog bob = answered_by_bob (out);
  Message bye = request (bob, "BYE", 5);
  g_assert_true (out.matches (bye));
  g_assert_false (out.matches (request (
      { bob.from, "<sip:alice@example.org>;tag=t9", bob.call_id }, "BYE", 5)));
  g_assert_false (out.matches (request (
      { "<sip:bob@example.org>;tag=ans2", bob.to, bob.call_id }, "BYE", 5)));
  g_assert_false (
      out.matches (request ({ bob.from, bob.to, "other" }, "BYE", 5)));

  /* A call in: its own INVITE, and what follows in the dialog. */
  Step first;
  InviteSession in = ringing_call (&first);
  g_assert_true (in.matches (bob_invite ()));
  g_assert_true (in.matches (request (kBobCalling, "BYE", 102)));
  g_assert_false (in.matches (request (
      { kBobCalling.from, kBobCalling.to, "c4ll@198.51.100.8" }, "BYE", 102)));
  g_assert_false (
      in.matches (request ({ "\"Bob\" <sip:bob@example.org>;tag=b2",
                               kBobCalling.to, kBobCalling.call_id },
          "BYE", 102)));
  g_assert_false (
      in.matches (request ({ kBobCalling.from, "<sip:alice@example.org>;tag=t2",
                               kBobCalling.call_id },
          "BYE", 102)));
}

int main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/session/outgoing-call", test_outgoing_call);
  g_test_add_func ("/session/early-media", test_early_media);
  g_test_add_func ("/session/challenge", test_challenge);
  g_test_add_func ("/session/refused", test_refused);
  g_test_add_func ("/session/cancel", test_cancel);
  g_test_add_func ("/session/incoming-call", test_incoming_call);
  g_test_add_func ("/session/timeout", test_timeout);
  g_test_add_func ("/session/matching", test_matching);
  return g_test_run ();
}
