/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The registration state machine alone (signalling/sip/registration): the
 * REGISTER a registrar sees, digest challenges answered once, a refused
 * password ending it without a retry, 423, refresh timing, removal. The
 * responses are shaped after Kamailio 5.6's. */
#include "signalling/sip/registration.h"

#include "kept.h"

#include <glib.h>

#include <cstring>
#include <deque>
#include <memory>
#include <string>

using namespace rt::sip;
using test::kept;
using State = Registration::State;

static Identity alice ()
{
  Identity id;
  id.aor = "sip:alice@example.org";
  id.password = "wonderland";
  id.display_name = "Alice \"A\"";
  id.instance = "urn:uuid:00000000-0000-4000-8000-000000000001";
  id.contact_uri = "sip:c0ntact@h0st.invalid;transport=ws";
  id.via_host = "h0st.invalid";
  id.user_agent = "test";
  id.expires = 600;
  return id;
}

/* Deterministic tokens: t1, t2, ... */
static std::function<std::string ()> counter ()
{
  auto n = std::make_shared<int> (0);
  return [n] { return "t" + std::to_string (++*n); };
}

/* The registrar's reply to a request, with its Via, From, To (tagged),
 * Call-ID and CSeq, and the extra headers given. */
static Message reply (const Message &req, int status, const char *reason,
    std::initializer_list<std::pair<const char *, std::string>> extra = {})
{
  Message r;
  r.status = status;
  r.reason = reason;
  for (const char *h : { "Via", "From", "Call-ID", "CSeq" })
    r.add_header (h, *req.header (h));
  r.add_header ("To", *req.header ("To") + ";tag=reg1");
  for (auto &[name, value] : extra)
    r.add_header (name, value);
  /* Through the wire and back, as a real reply would come. */
  return *parse (r.serialize ()).message;
}

static const char *kChallenge =
    "Digest realm=\"example.org\", nonce=\"n0nce1\", qop=\"auth\"";

static void test_register_and_refresh ()
{
  Registration reg (alice (), counter ());
  auto s = reg.start ();
  g_assert_true (s.state == State::Registering);
  g_assert_true (s.send.has_value ());
  const Message first = *s.send;
  /* What the registrar sees: a complete REGISTER that parses. */
  auto wire = parse (first.serialize ());
  g_assert_true (wire.message.has_value ());
  g_assert_cmpstr (first.uri.c_str (), ==, "sip:example.org");
  g_assert_cmpstr (first.header ("Contact")->c_str (), ==,
      "<sip:c0ntact@h0st.invalid;transport=ws>;+sip.ice;reg-id=1;"
      "+sip.instance=\"<urn:uuid:00000000-0000-4000-8000-000000000001>\";"
      "expires=600");
  g_assert_cmpstr (first.header ("From")->c_str (), ==,
      "\"Alice \\\"A\\\"\" <sip:alice@example.org>;tag=t3");
  g_assert_cmpstr (first.header ("Via")->c_str (), ==,
      "SIP/2.0/WS h0st.invalid;branch=z9hG4bKt4");
  g_assert_cmpstr (first.header ("CSeq")->c_str (), ==, "1 REGISTER");
  g_assert_null (first.header ("Authorization"));

  /* 401: answered once, with a new branch and the next CSeq. */
  Message challenge = reply (first, 401, "Unauthorized",
      { { "WWW-Authenticate", kChallenge } });
  g_assert_true (reg.matches (challenge));
  s = reg.on_response (challenge, 0.5);
  g_assert_true (s.send.has_value ());
  const Message second = *s.send;
  g_assert_cmpstr (second.header ("CSeq")->c_str (), ==, "2 REGISTER");
  g_assert_cmpstr (*second.header ("Call-ID") == *first.header ("Call-ID") ?
          "same" :
          "differs",
      ==, "same");
  g_assert_false (reg.matches (challenge)); /* an old transaction now */
  const std::string *auth = second.header ("Authorization");
  g_assert_nonnull (auth);
  g_assert_null (strstr (auth->c_str (), "wonderland"));
  /* The response the registrar would compute. */
  const std::string ha1 = digest_hex (DigestAlgorithm::Md5,
      "alice:example.org:wonderland");
  const std::string ha2 = digest_hex (DigestAlgorithm::Md5,
      "REGISTER:sip:example.org");
  const std::string expected = digest_hex (DigestAlgorithm::Md5,
      ha1 + ":n0nce1:00000001:t6:auth:" + ha2);
  g_assert_nonnull (
      strstr (auth->c_str (), kept ("response=\"" + expected + "\"")));

  /* 200: the binding's own expires wins over the Expires header; the
   * refresh comes in the second half of it. */
  Message ok = reply (second, 200, "OK",
      { { "Contact",
            "<sip:other@x.invalid;transport=ws>;expires=3600, "
            "<sip:c0ntact@h0st.invalid;transport=ws;alias=127.0.0.1~40000~5>;"
            "+sip.instance=\"<urn:uuid:00000000-0000-4000-8000-000000000001>\";"
            "expires=300" },
          { "Expires", "900" } });
  g_assert_true (reg.matches (ok));
  s = reg.on_response (ok, 0.0);
  g_assert_true (s.state == State::Registered);
  g_assert_false (s.send.has_value ());
  g_assert_cmpuint (s.expires_s, ==, 300);
  g_assert_cmpuint (s.refresh_in_ms, ==, 150000);
  g_assert_cmpuint (reg.on_response (ok, 1.0).refresh_in_ms, ==, 270000);

  /* The refresh: same Call-ID and tag, the next CSeq, challenged again;
   * the line stays registered all along. */
  s = reg.refresh ();
  g_assert_true (s.state == State::Registered);
  g_assert_cmpstr (s.send->header ("CSeq")->c_str (), ==, "3 REGISTER");
  g_assert_true (*s.send->header ("Call-ID") == *first.header ("Call-ID"));
  g_assert_true (*s.send->header ("From") == *first.header ("From"));
  s = reg.on_response (reply (*s.send, 401, "Unauthorized",
                           { { "WWW-Authenticate",
                               "Digest realm=\"example.org\", "
                               "nonce=\"n0nce2\", qop=\"auth\"" } }),
      0.5);
  g_assert_true (s.send.has_value ());
  g_assert_true (s.state == State::Registered);
  /* Without a Contact of ours, the Expires header says. */
  s = reg.on_response (reply (*s.send, 200, "OK", { { "Expires", "120" } }),
      0.5);
  g_assert_true (s.state == State::Registered);
  g_assert_cmpuint (s.expires_s, ==, 120);
  /* More than was asked for, from the network: held to what was asked. */
  s = reg.refresh ();
  s = reg.on_response (
      reply (*s.send, 200, "OK", { { "Expires", "999999999" } }), 1.0);
  g_assert_cmpuint (s.expires_s, ==, 600);
  g_assert_cmpuint (s.refresh_in_ms, ==, 540000);

  /* Removal. */
  s = reg.stop ();
  g_assert_true (s.state == State::Unregistering);
  g_assert_nonnull (
      strstr (s.send->header ("Contact")->c_str (), ";expires=0"));
  g_assert_cmpstr (s.send->header ("Expires")->c_str (), ==, "0");
  s = reg.on_response (reply (*s.send, 200, "OK"), 0.5);
  g_assert_true (s.state == State::Idle);
}

static void test_wrong_password ()
{
  Registration reg (alice (), counter ());
  auto s = reg.start ();
  s = reg.on_response (reply (*s.send, 401, "Unauthorized",
                           { { "WWW-Authenticate", kChallenge } }),
      0.5);
  g_assert_true (s.send.has_value ());
  /* A challenge to the answer (Kamailio's has a new nonce each time):
   * refused, and nothing more is sent. */
  s = reg.on_response (reply (*s.send, 401, "Unauthorized",
                           { { "WWW-Authenticate",
                               "Digest realm=\"example.org\", "
                               "nonce=\"n0nce9\", qop=\"auth\"" } }),
      0.5);
  g_assert_true (s.state == State::Failed);
  g_assert_true (s.auth_failed);
  g_assert_false (s.send.has_value ());
  g_assert_nonnull (strstr (s.reason.c_str (), "alice"));

  /* An expired (stale) nonce is answered again, once; a 403 ends it. */
  const std::string stale = "Digest realm=\"example.org\", nonce=\"n0nce2\", "
                            "qop=\"auth\", stale=true";
  Registration again (alice (), counter ());
  s = again.start ();
  s = again.on_response (reply (*s.send, 407, "Proxy Authentication Required",
                             { { "Proxy-Authenticate", kChallenge } }),
      0.5);
  g_assert_nonnull (s.send->header ("Proxy-Authorization"));
  s = again.on_response (reply (*s.send, 407, "Proxy Authentication Required",
                             { { "Proxy-Authenticate", stale } }),
      0.5);
  g_assert_true (s.send.has_value ());
  g_assert_nonnull (strstr (s.send->header ("Proxy-Authorization")->c_str (),
      "nonce=\"n0nce2\""));
  g_assert_nonnull (
      strstr (s.send->header ("Proxy-Authorization")->c_str (), "nc=00000001"));
  s = again.on_response (reply (*s.send, 403, "Forbidden"), 0.5);
  g_assert_true (s.state == State::Failed);
  g_assert_cmpint (s.status, ==, 403);
  g_assert_false (s.auth_failed);

  /* Stale again, or stale on the nonce just answered: no loop. */
  for (const char *second : { "n0nce3", "n0nce2" }) {
    Registration loop (alice (), counter ());
    s = loop.start ();
    s = loop.on_response (reply (*s.send, 401, "Unauthorized",
                              { { "WWW-Authenticate", kChallenge } }),
        0.5);
    s = loop.on_response (
        reply (*s.send, 401, "Unauthorized", { { "WWW-Authenticate", stale } }),
        0.5);
    g_assert_true (s.send.has_value ());
    s = loop.on_response (
        reply (*s.send, 401, "Unauthorized",
            { { "WWW-Authenticate",
                std::string ("Digest realm=\"example.org\", nonce=\"") +
                    second + "\", qop=\"auth\", stale=true" } }),
        0.5);
    g_assert_true (s.state == State::Failed);
    g_assert_false (s.send.has_value ());
  }

  /* Several challenges: the first this side can answer (RFC 8760 lists
   * them by preference). */
  Registration several (alice (), counter ());
  s = several.start ();
  Message multi = reply (*s.send, 401, "Unauthorized",
      { { "WWW-Authenticate",
            "Digest realm=\"example.org\", nonce=\"x\", "
            "algorithm=SHA-512-256, qop=\"auth\"" },
          { "WWW-Authenticate",
              "Digest realm=\"example.org\", nonce=\"y\", "
              "algorithm=SHA-256, qop=\"auth\"" } });
  s = several.on_response (multi, 0.5);
  g_assert_true (s.send.has_value ());
  g_assert_nonnull (
      strstr (s.send->header ("Authorization")->c_str (), "algorithm=SHA-256"));

  /* A challenge in a scheme this side cannot answer. */
  Registration basic (alice (), counter ());
  s = basic.start ();
  s = basic.on_response (reply (*s.send, 401, "Unauthorized",
                             { { "WWW-Authenticate", "Basic realm=\"x\"" } }),
      0.5);
  g_assert_true (s.state == State::Failed);
  g_assert_false (s.send.has_value ());
}

static void test_interval_too_brief ()
{
  Identity id = alice ();
  id.expires = 60;
  Registration reg (id, counter ());
  auto s = reg.start ();
  s = reg.on_response (
      reply (*s.send, 423, "Interval Too Brief", { { "Min-Expires", "1200" } }),
      0.5);
  g_assert_true (s.send.has_value ());
  g_assert_cmpstr (s.send->header ("Expires")->c_str (), ==, "1200");
  /* Refreshes keep asking for what the registrar takes. */
  s = reg.on_response (reply (*s.send, 200, "OK"), 0.5);
  g_assert_cmpuint (s.expires_s, ==, 1200);
  s = reg.refresh ();
  g_assert_cmpstr (s.send->header ("Expires")->c_str (), ==, "1200");
  /* A 423 to an answered challenge: the new request carries no answer,
   * so the challenge to it is answered, not taken for a wrong password. */
  Registration authed (alice (), counter ());
  s = authed.start ();
  s = authed.on_response (reply (*s.send, 401, "Unauthorized",
                              { { "WWW-Authenticate", kChallenge } }),
      0.5);
  s = authed.on_response (
      reply (*s.send, 423, "Interval Too Brief", { { "Min-Expires", "1200" } }),
      0.5);
  g_assert_null (s.send->header ("Authorization"));
  s = authed.on_response (reply (*s.send, 401, "Unauthorized",
                              { { "WWW-Authenticate", kChallenge } }),
      0.5);
  g_assert_true (s.state == State::Registering);
  g_assert_nonnull (s.send->header ("Authorization"));

  /* A 423 that asks for nothing more is a failure, not a loop. */
  Registration bad (alice (), counter ());
  s = bad.start ();
  s = bad.on_response (
      reply (*s.send, 423, "Interval Too Brief", { { "Min-Expires", "10" } }),
      0.5);
  g_assert_true (s.state == State::Failed);
}

static void test_matching ()
{
  Registration reg (alice (), counter ());
  auto s = reg.start ();
  Message ok = reply (*s.send, 200, "OK");
  g_assert_true (reg.matches (ok));
  Message other = ok;
  other.set_header ("Call-ID", "someone-else");
  g_assert_false (reg.matches (other));
  other = ok;
  other.set_header ("CSeq", "1 INVITE");
  g_assert_false (reg.matches (other));
  other = ok;
  other.set_header ("Via", "SIP/2.0/WS h0st.invalid;branch=z9hG4bKother");
  g_assert_false (reg.matches (other));
  g_assert_false (reg.matches (*s.send)); /* a request */
  /* Provisional responses change nothing. */
  s = reg.on_response (reply (*s.send, 100, "Trying"), 0.5);
  g_assert_true (s.state == State::Registering);
  g_assert_false (s.send.has_value ());
}

int main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/registration/register-and-refresh",
      test_register_and_refresh);
  g_test_add_func ("/registration/wrong-password", test_wrong_password);
  g_test_add_func ("/registration/interval-too-brief", test_interval_too_brief);
  g_test_add_func ("/registration/matching", test_matching);
  return g_test_run ();
}
