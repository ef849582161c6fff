/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The INVITE session alone (signalling/sip/invite_session), in a dialog:
 * BYE either way; hold either way and session-timer refreshes; DTMF by
 * INFO; transfer by REFER and its NOTIFYs; the description helpers. The
 * call set-up is in sip_session.cpp; what both use, in
 * sip_session_util.h. */
#include "sip_session_util.h"

#include <glib.h>

#include <string>

using namespace rt::sip;
using namespace test;

static void test_bye ()
{
  /* Bob hangs up. */
  InviteSession s = answered_call ();
  Step st = s.on_message (request (kBobCalling, "BYE", 102));
  g_assert_true (st.state == State::Ended);
  g_assert_cmpint (st.status, ==, 0);
  g_assert_cmpstr (st.reason.c_str (), ==, "the far end hung up");
  g_assert_cmpuint (st.send.size (), ==, 1);
  g_assert_cmpint (st.send[0].status, ==, 200);
  g_assert_cmpstr (header_of (st.send[0], "CSeq"), ==, "102 BYE");
  g_assert_cmpstr (header_of (st.send[0], "To"), ==,
      "<sip:alice@example.org>;tag=t1");

  /* Alice hangs up a call she took: to Bob's Contact, through the route
   * in its recorded order (RFC 3261 12.1.1), her first CSeq. */
  InviteSession in = answered_call ();
  st = in.hangup ();
  g_assert_true (st.state == State::Ending);
  g_assert_cmpstr (st.reason.c_str (), ==, "hung up here");
  g_assert_cmpuint (st.send.size (), ==, 1);
  const Message bye = wire (st.send[0]);
  g_assert_cmpstr (bye.method.c_str (), ==, "BYE");
  g_assert_cmpstr (bye.uri.c_str (), ==, "sip:bob@198.51.100.7;transport=ws");
  g_assert_cmpstr (values_of (bye, "Via"), ==,
      "SIP/2.0/WS h0st.invalid;branch=z9hG4bKt2");
  g_assert_cmpstr (values_of (bye, "Route"), ==,
      "<sip:p1.example.org;lr> | <sip:p2.example.org;lr>");
  g_assert_cmpstr (header_of (bye, "To"), ==,
      "\"Bob\" <sip:bob@example.org>;tag=b1");
  g_assert_cmpstr (header_of (bye, "From"), ==,
      "<sip:alice@example.org>;tag=t1");
  g_assert_cmpstr (header_of (bye, "Call-ID"), ==, "c4ll@198.51.100.7");
  g_assert_cmpstr (header_of (bye, "CSeq"), ==, "1 BYE");
  g_assert_true (in.waiting ());
  st = in.on_message (reply (bye, 200, "OK"));
  g_assert_true (st.state == State::Ended);
  g_assert_false (in.waiting ());

  /* Alice hangs up a call she made: the route in reverse, the CSeq after
   * the INVITE's. */
  InviteSession out = connected_call ();
  st = out.hangup ();
  g_assert_true (st.state == State::Ending);
  g_assert_cmpuint (st.send.size (), ==, 1);
  const Message bye_out = wire (st.send[0]);
  g_assert_cmpstr (bye_out.method.c_str (), ==, "BYE");
  g_assert_cmpstr (bye_out.uri.c_str (), ==,
      "sip:bob@198.51.100.20;transport=ws");
  g_assert_cmpstr (values_of (bye_out, "Route"), ==,
      "<sip:p1.example.org;lr> | <sip:p2.example.org;lr>");
  g_assert_cmpstr (header_of (bye_out, "To"), ==,
      "<sip:bob@example.org>;tag=ans1");
  g_assert_cmpstr (header_of (bye_out, "From"), ==,
      "\"Alice\" <sip:alice@example.org>;tag=t3");
  g_assert_cmpstr (header_of (bye_out, "CSeq"), ==, "2 BYE");
  g_assert_true (out.state () == State::Ending);
  g_assert_true (out.waiting ());
  st = out.on_message (reply (bye_out, 200, "OK"));
  g_assert_true (st.state == State::Ended);
  g_assert_cmpstr (st.reason.c_str (), ==, "hung up here");
  g_assert_false (out.waiting ());

  /* A request not above the last one's CSeq (RFC 3261 12.2.2). */
  InviteSession late = answered_call ();
  for (unsigned long n : { 101ul, 100ul }) {
    st = late.on_message (request (kBobCalling, "INFO", n));
    g_assert_cmpuint (st.send.size (), ==, 1);
    g_assert_cmpint (st.send[0].status, ==, 500);
    g_assert_false (st.state.has_value ());
  }
  st = late.on_message (request (kBobCalling, "INFO", 102));
  g_assert_cmpint (st.send.at (0).status, ==, 200);
  g_assert_true (late.state () == State::Connected);
}

static void test_hold ()
{
  InviteSession s = connected_call ();
  auto held = s.hold (true);
  g_assert_true (held.has_value ());
  g_assert_false (held->state.has_value ());
  g_assert_cmpuint (held->send.size (), ==, 1);
  const Message reinvite = wire (held->send[0]);
  g_assert_cmpstr (reinvite.method.c_str (), ==, "INVITE");
  g_assert_cmpstr (reinvite.uri.c_str (), ==,
      "sip:bob@198.51.100.20;transport=ws");
  g_assert_cmpstr (values_of (reinvite, "Route"), ==,
      "<sip:p1.example.org;lr> | <sip:p2.example.org;lr>");
  g_assert_cmpstr (header_of (reinvite, "To"), ==,
      "<sip:bob@example.org>;tag=ans1");
  g_assert_cmpstr (header_of (reinvite, "CSeq"), ==, "2 INVITE");
  g_assert_cmpstr (header_of (reinvite, "Contact"), ==, kContact);
  g_assert_cmpstr (header_of (reinvite, "Content-Type"), ==, "application/sdp");
  /* sendonly in both sections, the next version, and the DTLS role the
   * answer fixed (Bob active, Alice passive: RFC 8842 5.5). */
  g_assert_cmpstr (reinvite.body.c_str (), ==,
      kept (alice_offer (2, "passive", "sendonly")));
  g_assert_true (s.waiting ());

  /* One re-INVITE at a time, either way (RFC 3261 14.1). */
  g_assert_false (s.hold (true).has_value ());
  g_assert_false (s.hold (false).has_value ());
  Step st = s.on_message (request (answered_by_bob (s), "INVITE", 1,
      "Contact: <sip:bob@198.51.100.20;transport=ws>\r\n"
      "Content-Type: application/sdp\r\n",
      bob_answer ("sendrecv")));
  g_assert_cmpuint (st.send.size (), ==, 1);
  g_assert_cmpint (st.send[0].status, ==, 491);
  g_assert_cmpstr (header_of (st.send[0], "CSeq"), ==, "1 INVITE");
  g_assert_false (st.state.has_value ());

  st = s.on_message (reply (reinvite, 200, "OK", nullptr,
      { { "Contact", "<sip:bob@198.51.100.20;transport=ws>" } },
      bob_answer ("recvonly")));
  g_assert_true (st.state == State::Held);
  g_assert_cmpint (st.status, ==, 200);
  g_assert_cmpstr (st.reason.c_str (), ==, "on hold");
  g_assert_false (st.remote_sdp.has_value ());
  g_assert_cmpuint (st.send.size (), ==, 1);
  const Message ack = wire (st.send[0]);
  g_assert_cmpstr (ack.method.c_str (), ==, "ACK");
  g_assert_cmpstr (ack.uri.c_str (), ==, "sip:bob@198.51.100.20;transport=ws");
  g_assert_cmpstr (header_of (ack, "CSeq"), ==, "2 ACK");
  g_assert_cmpstr (values_of (ack, "Route"), ==,
      "<sip:p1.example.org;lr> | <sip:p2.example.org;lr>");
  g_assert_true (s.state () == State::Held);
  g_assert_true (s.held_here ());
  g_assert_false (s.held_there ());
  g_assert_false (s.waiting ());

  /* Taken off hold: sendrecv, a version higher again. */
  held = s.hold (false);
  g_assert_true (held.has_value ());
  const Message resume = wire (held->send.at (0));
  g_assert_cmpstr (header_of (resume, "CSeq"), ==, "3 INVITE");
  g_assert_cmpstr (resume.body.c_str (), ==,
      kept (alice_offer (3, "passive", "sendrecv")));
  st = s.on_message (
      reply (resume, 200, "OK", nullptr, {}, bob_answer ("sendrecv")));
  g_assert_true (st.state == State::Connected);
  g_assert_cmpstr (st.reason.c_str (), ==, "resumed");
  g_assert_cmpstr (header_of (st.send.at (0), "CSeq"), ==, "3 ACK");
  g_assert_false (s.held_here ());

  /* Bob's own re-INVITE now: answered with the same description (no
   * change, no new version), passive still. */
  st = s.on_message (request (answered_by_bob (s), "INVITE", 2,
      "Contact: <sip:bob@198.51.100.20;transport=ws>\r\n"
      "Content-Type: application/sdp\r\n",
      bob_answer ("sendrecv")));
  g_assert_cmpuint (st.send.size (), ==, 1);
  g_assert_cmpint (st.send[0].status, ==, 200);
  g_assert_cmpstr (st.send[0].body.c_str (), ==,
      kept (alice_offer (3, "passive", "sendrecv")));
  g_assert_false (st.state.has_value ());

  /* Not before the call is answered. */
  auto early = InviteSession::outgoing (alice (), kTarget, counter ());
  early.invite (alice_offer (1, "actpass", "sendrecv"));
  g_assert_false (early.hold (true).has_value ());
}

static void test_held_there ()
{
  InviteSession s = answered_call ();
  const std::string contact = "Contact: <sip:bob@198.51.100.7;transport=ws>\r\n"
                              "Content-Type: application/sdp\r\n";
  Step st = s.on_message (
      request (kBobCalling, "INVITE", 102, contact, bob_offer (2, "sendonly")));
  g_assert_true (st.state == State::Held);
  g_assert_cmpint (st.status, ==, 200);
  g_assert_cmpstr (st.reason.c_str (), ==, "held by the far end");
  g_assert_false (st.remote_sdp.has_value ());
  g_assert_cmpuint (st.send.size (), ==, 1);
  const Message ok = wire (st.send[0]);
  g_assert_cmpint (ok.status, ==, 200);
  g_assert_cmpstr (header_of (ok, "CSeq"), ==, "102 INVITE");
  g_assert_cmpstr (header_of (ok, "To"), ==, "<sip:alice@example.org>;tag=t1");
  g_assert_cmpstr (header_of (ok, "Contact"), ==, kContact);
  g_assert_cmpstr (header_of (ok, "Content-Type"), ==, "application/sdp");
  g_assert_cmpstr (ok.body.c_str (), ==, kept (alice_answer (2, "recvonly")));
  g_assert_true (s.state () == State::Held);
  g_assert_true (s.held_there ());
  g_assert_false (s.held_here ());
  g_assert_true (s.waiting ());
  s.on_message (request (kBobCalling, "ACK", 102));
  g_assert_false (s.waiting ());

  st = s.on_message (
      request (kBobCalling, "INVITE", 103, contact, bob_offer (3, "sendrecv")));
  g_assert_true (st.state == State::Connected);
  g_assert_cmpstr (st.reason.c_str (), ==, "resumed by the far end");
  g_assert_cmpstr (st.send.at (0).body.c_str (), ==,
      kept (alice_answer (3, "sendrecv")));
  g_assert_false (s.held_there ());
  s.on_message (request (kBobCalling, "ACK", 103));
  g_assert_false (s.waiting ());

  /* A session timer's refresh by UPDATE without a body (RFC 4028). */
  st = s.on_message (request (kBobCalling, "UPDATE", 104,
      "Session-Expires: 90;refresher=uac\r\n"
      "Supported: timer\r\n"));
  g_assert_false (st.state.has_value ());
  g_assert_cmpuint (st.send.size (), ==, 1);
  const Message refreshed = wire (st.send[0]);
  g_assert_cmpint (refreshed.status, ==, 200);
  g_assert_cmpstr (header_of (refreshed, "CSeq"), ==, "104 UPDATE");
  g_assert_cmpstr (header_of (refreshed, "Session-Expires"), ==,
      "90;refresher=uac");
  g_assert_cmpstr (header_of (refreshed, "Require"), ==, "timer");
  g_assert_cmpstr (header_of (refreshed, "Content-Type"), ==, "<none>");
  g_assert_true (refreshed.body.empty ());
  g_assert_true (s.state () == State::Connected);
  g_assert_false (s.waiting ());
}

static void test_info_dtmf ()
{
  InviteSession s = answered_call ();
  const std::string relay = "Content-Type: application/dtmf-relay\r\n";
  Step st = s.on_message (request (kBobCalling, "INFO", 102, relay,
      "Signal=5\r\nDuration=160\r\n"));
  g_assert_cmpuint (st.send.size (), ==, 1);
  g_assert_cmpint (st.send[0].status, ==, 200);
  g_assert_cmpstr (header_of (st.send[0], "CSeq"), ==, "102 INFO");
  g_assert_true (st.dtmf.has_value ());
  g_assert_cmpint (*st.dtmf, ==, '5');
  g_assert_cmpuint (st.dtmf_ms, ==, 160);
  g_assert_false (st.state.has_value ());

  st = s.on_message (request (kBobCalling, "INFO", 103, relay,
      "Signal=#\r\nDuration=100\r\n"));
  g_assert_cmpint (st.send.at (0).status, ==, 200);
  g_assert_true (st.dtmf.has_value ());
  g_assert_cmpint (*st.dtmf, ==, '#');
  g_assert_cmpuint (st.dtmf_ms, ==, 100);

  st = s.on_message (request (kBobCalling, "INFO", 104, relay,
      "Signal=x\r\nDuration=100\r\n"));
  g_assert_cmpint (st.send.at (0).status, ==, 400);
  g_assert_false (st.dtmf.has_value ());

  st = s.on_message (request (kBobCalling, "INFO", 105,
      "Content-Type: application/json\r\n", "{\"signal\":\"5\"}"));
  g_assert_cmpuint (st.send.size (), ==, 1);
  g_assert_cmpint (st.send[0].status, ==, 415);
  g_assert_cmpstr (header_of (st.send[0], "Accept"), ==,
      "application/dtmf-relay");
  g_assert_false (st.dtmf.has_value ());

  /* One sent. */
  auto sent = s.send_info_dtmf ('7', 100);
  g_assert_true (sent.has_value ());
  g_assert_cmpuint (sent->send.size (), ==, 1);
  const Message info = wire (sent->send[0]);
  g_assert_cmpstr (info.method.c_str (), ==, "INFO");
  g_assert_cmpstr (info.uri.c_str (), ==, "sip:bob@198.51.100.7;transport=ws");
  g_assert_cmpstr (header_of (info, "CSeq"), ==, "1 INFO");
  g_assert_cmpstr (header_of (info, "To"), ==,
      "\"Bob\" <sip:bob@example.org>;tag=b1");
  g_assert_cmpstr (header_of (info, "Content-Type"), ==,
      "application/dtmf-relay");
  g_assert_cmpstr (info.body.c_str (), ==, "Signal=7\r\nDuration=100\r\n");
  g_assert_true (s.waiting ());
  st = s.on_message (reply (info, 200, "OK"));
  g_assert_false (st.state.has_value ());
  g_assert_cmpuint (st.send.size (), ==, 0);
  g_assert_false (s.waiting ());

  /* Not before the call is answered. */
  Step first;
  InviteSession ringing = ringing_call (&first);
  g_assert_false (ringing.send_info_dtmf ('1', 100).has_value ());
}

static void test_refer ()
{
  InviteSession s = connected_call ();
  auto st = s.refer ("sip:carol@example.org");
  g_assert_true (st.has_value ());
  g_assert_cmpuint (st->send.size (), ==, 1);
  const Message refer = wire (st->send[0]);
  g_assert_cmpstr (refer.method.c_str (), ==, "REFER");
  g_assert_cmpstr (refer.uri.c_str (), ==,
      "sip:bob@198.51.100.20;transport=ws");
  g_assert_cmpstr (header_of (refer, "Refer-To"), ==,
      "<sip:carol@example.org>");
  g_assert_cmpstr (header_of (refer, "Referred-By"), ==,
      "<sip:alice@example.org>");
  g_assert_cmpstr (header_of (refer, "Contact"), ==, kContact);
  g_assert_cmpstr (header_of (refer, "CSeq"), ==, "2 REFER");
  g_assert_cmpstr (values_of (refer, "Route"), ==,
      "<sip:p1.example.org;lr> | <sip:p2.example.org;lr>");

  Step step = s.on_message (reply (refer, 202, "Accepted"));
  g_assert_cmpint (step.transfer_status, ==, 202);
  g_assert_false (step.transfer_done);
  g_assert_false (step.state.has_value ());

  const std::string frag = "Event: refer\r\n"
                           "Content-Type: message/sipfrag;version=2.0\r\n";
  step = s.on_message (request (answered_by_bob (s), "NOTIFY", 1,
      frag + "Subscription-State: active;expires=60\r\n",
      "SIP/2.0 100 Trying\r\n"));
  g_assert_cmpuint (step.send.size (), ==, 1);
  g_assert_cmpint (step.send[0].status, ==, 200);
  g_assert_cmpstr (header_of (step.send[0], "CSeq"), ==, "1 NOTIFY");
  g_assert_cmpint (step.transfer_status, ==, 100);
  g_assert_false (step.transfer_done);

  step = s.on_message (request (answered_by_bob (s), "NOTIFY", 2,
      frag + "Subscription-State: terminated;reason=noresource\r\n",
      "SIP/2.0 200 OK\r\n"));
  g_assert_cmpint (step.send.at (0).status, ==, 200);
  g_assert_cmpint (step.transfer_status, ==, 200);
  g_assert_true (step.transfer_done);
  g_assert_true (s.state () == State::Connected);

  /* A NOTIFY of another event package. */
  step = s.on_message (request (answered_by_bob (s), "NOTIFY", 3,
      "Event: dialog\r\nSubscription-State: active\r\n"));
  g_assert_cmpuint (step.send.size (), ==, 1);
  g_assert_cmpint (step.send[0].status, ==, 489);
  g_assert_cmpint (step.transfer_status, ==, 0);

  /* Refused: its status, and no more to come. */
  st = s.refer ("sip:dave@example.org");
  step = s.on_message (reply (st->send.at (0), 603, "Decline"));
  g_assert_cmpint (step.transfer_status, ==, 603);
  g_assert_true (step.transfer_done);
  g_assert_true (s.state () == State::Connected);

  /* Not before the call is answered. */
  auto early = InviteSession::outgoing (alice (), kTarget, counter ());
  g_assert_false (early.refer ("sip:carol@example.org").has_value ());
}

static void test_sdp_helpers ()
{
  /* The first audio section's own direction, else the session's, else
   * sendrecv. */
  g_assert_cmpstr (
      kept (sdp_direction (alice_offer (1, "actpass", "recvonly"))), ==,
      "recvonly");
  g_assert_cmpstr (kept (sdp_direction ("v=0\r\na=sendonly\r\n"
                                        "m=audio 9 RTP/AVP 0\r\n")),
      ==, "sendonly");
  g_assert_cmpstr (kept (sdp_direction ("v=0\r\na=sendonly\r\n"
                                        "m=audio 9 RTP/AVP 0\r\n"
                                        "a=recvonly\r\n")),
      ==, "recvonly");
  g_assert_cmpstr (kept (sdp_direction ("v=0\r\n"
                                        "m=video 9 RTP/AVP 96\r\n"
                                        "a=inactive\r\n"
                                        "m=audio 9 RTP/AVP 0\r\n"
                                        "a=sendonly\r\n"
                                        "m=audio 9 RTP/AVP 8\r\n"
                                        "a=recvonly\r\n")),
      ==, "sendonly");
  g_assert_cmpstr (kept (sdp_direction ("v=0\r\n"
                                        "m=video 9 RTP/AVP 96\r\n"
                                        "a=inactive\r\n"
                                        "m=audio 9 RTP/AVP 0\r\n")),
      ==, "sendrecv");
  g_assert_cmpstr (kept (sdp_direction ("v=0\nm=audio 9 RTP/AVP 0\n"
                                        "a=inactive\n")),
      ==, "inactive");
  g_assert_cmpstr (kept (sdp_direction ("")), ==, "sendrecv");

  /* Every media section's direction replaced (one added where there was
   * none), the session's removed, the version replaced, CRLF endings. */
  g_assert_cmpstr (kept (sdp_with_direction ("v=0\n"
                                             "o=- 42 5 IN IP4 127.0.0.1\n"
                                             "s=-\n"
                                             "t=0 0\n"
                                             "a=sendonly\n"
                                             "m=audio 9 RTP/AVP 0\n"
                                             "a=recvonly\n"
                                             "a=rtpmap:0 PCMU/8000\n"
                                             "\n"
                                             "m=video 9 RTP/AVP 96\n"
                                             "a=rtpmap:96 VP8/90000\n",
                       "inactive", 7)),
      ==,
      "v=0\r\n"
      "o=- 42 7 IN IP4 127.0.0.1\r\n"
      "s=-\r\n"
      "t=0 0\r\n"
      "m=audio 9 RTP/AVP 0\r\n"
      "a=rtpmap:0 PCMU/8000\r\n"
      "a=inactive\r\n"
      "m=video 9 RTP/AVP 96\r\n"
      "a=rtpmap:96 VP8/90000\r\n"
      "a=inactive\r\n");
  g_assert_cmpstr (kept (sdp_with_direction (
                       alice_offer (1, "actpass", "sendrecv"), "sendonly", 12)),
      ==, kept (alice_offer (12, "actpass", "sendonly")));

  /* RFC 3264 6.1, with this side holding or not. */
  const struct {
    const char *offered;
    bool hold_here;
    const char *answer;
  } table[] = {
    { "sendrecv", false, "sendrecv" },
    { "sendrecv", true, "sendonly" },
    { "sendonly", false, "recvonly" },
    { "sendonly", true, "inactive" },
    { "recvonly", false, "sendonly" },
    { "recvonly", true, "sendonly" },
    { "inactive", false, "inactive" },
    { "inactive", true, "inactive" },
  };
  for (const auto &row : table)
    g_assert_cmpstr (kept (answer_direction (row.offered, row.hold_here)), ==,
        row.answer);
}

int main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/session/bye", test_bye);
  g_test_add_func ("/session/hold", test_hold);
  g_test_add_func ("/session/held-there", test_held_there);
  g_test_add_func ("/session/info-dtmf", test_info_dtmf);
  g_test_add_func ("/session/refer", test_refer);
  g_test_add_func ("/session/sdp-helpers", test_sdp_helpers);
  return g_test_run ();
}
