/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SIP messages and digest authentication alone (signalling/sip): what
 * Kamailio and JsSIP send, what a peer may send by mistake or on purpose,
 * and the digest vectors of RFC 2617 and RFC 7616. No network. */
#include "signalling/sip/digest.h"
#include "signalling/sip/message.h"

#include "kept.h"

#include <glib.h>

#include <cstring>
#include <deque>
#include <optional>
#include <string>
#include <vector>

using namespace rt::sip;
using test::kept;

/* g_assert_cmpstr keeps its arguments' pointers past the statement that
 * made them: what they point into must outlive it. */
/* A REGISTER as JsSIP 3.13 sends it (ids shortened). */
static const std::string kRegister =
    "REGISTER sip:example.org SIP/2.0\r\n"
    "Via: SIP/2.0/WS 4c8m2n.invalid;branch=z9hG4bK5580457\r\n"
    "Max-Forwards: 69\r\n"
    "To: <sip:alice@example.org>\r\n"
    "From: \"Alice\" <sip:alice@example.org>;tag=mj4gq0l5ke\r\n"
    "Call-ID: 4dqoa0eugq6pfh4t4cmk0m\r\n"
    "CSeq: 1 REGISTER\r\n"
    "Contact: <sip:r4n7qv2b@4c8m2n.invalid;transport=ws>;+sip.ice;reg-id=1;"
    "+sip.instance=\"<urn:uuid:6f2b3c52-0b0e-4a0a-9b8e-2f1c2d3e4f50>\";"
    "expires=600\r\n"
    "Expires: 600\r\n"
    "Allow: INVITE,ACK,CANCEL,BYE,UPDATE,MESSAGE,OPTIONS,REFER,INFO,NOTIFY\r\n"
    "Supported: path,gruu,outbound\r\n"
    "User-Agent: JsSIP 3.13.8\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

/* Kamailio 5.6's challenge to it. */
static const std::string kChallenge =
    "SIP/2.0 401 Unauthorized\r\n"
    "Via: SIP/2.0/WS 4c8m2n.invalid;branch=z9hG4bK5580457;rport=51234;"
    "received=127.0.0.1\r\n"
    "To: <sip:alice@example.org>;tag=b27e1a1d33761e85846fc98f5f3a7e58.0b5f\r\n"
    "From: \"Alice\" <sip:alice@example.org>;tag=mj4gq0l5ke\r\n"
    "Call-ID: 4dqoa0eugq6pfh4t4cmk0m\r\n"
    "CSeq: 1 REGISTER\r\n"
    "WWW-Authenticate: Digest realm=\"example.org\", "
    "nonce=\"ZW1pdHRlZC1ub25jZQ==\", qop=\"auth\"\r\n"
    "Server: kamailio (5.6.3 (x86_64/linux))\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

static void test_parse_register ()
{
  ParseResult r = parse (kRegister);
  g_assert_true (r.message.has_value ());
  const Message &m = *r.message;
  g_assert_true (m.is_request ());
  g_assert_cmpstr (m.method.c_str (), ==, "REGISTER");
  g_assert_cmpstr (m.uri.c_str (), ==, "sip:example.org");
  g_assert_cmpstr (m.header ("call-id")->c_str (), ==,
      "4dqoa0eugq6pfh4t4cmk0m");
  g_assert_cmpstr (m.header ("i")->c_str (), ==, "4dqoa0eugq6pfh4t4cmk0m");
  auto from = parse_name_addr (*m.header ("From"));
  g_assert_true (from.has_value ());
  g_assert_cmpstr (from->display.c_str (), ==, "Alice");
  g_assert_cmpstr (from->uri.c_str (), ==, "sip:alice@example.org");
  g_assert_cmpstr (kept (param (from->params, "tag")), ==, "mj4gq0l5ke");
  auto contact = parse_name_addr (*m.header ("Contact"));
  g_assert_true (contact.has_value ());
  g_assert_cmpstr (kept (param (contact->params, "+sip.instance")), ==,
      "<urn:uuid:6f2b3c52-0b0e-4a0a-9b8e-2f1c2d3e4f50>");
  g_assert_cmpstr (kept (param (contact->params, "expires")), ==, "600");
  g_assert_cmpstr (kept (param (contact->params, "+sip.ice")), ==, "");
  g_assert_false (param (contact->params, "q").has_value ());
  g_assert_cmpuint (m.header_values ("Allow").size (), ==, 10);
  g_assert_cmpuint (m.header_values ("Supported").size (), ==, 3);
  auto cseq = parse_cseq (*m.header ("CSeq"));
  g_assert_cmpuint (cseq->number, ==, 1);
  g_assert_cmpstr (cseq->method.c_str (), ==, "REGISTER");
  g_assert_true (m.body.empty ());

  /* What goes out parses back to the same message. */
  ParseResult again = parse (m.serialize ());
  g_assert_true (again.message.has_value ());
  g_assert_cmpuint (again.message->headers.size (), ==, m.headers.size ());
  g_assert_true (again.message->serialize () == m.serialize ());
}

static void test_parse_response ()
{
  ParseResult r = parse (kChallenge);
  g_assert_true (r.message.has_value ());
  const Message &m = *r.message;
  g_assert_false (m.is_request ());
  g_assert_cmpint (m.status, ==, 401);
  g_assert_cmpstr (m.reason.c_str (), ==, "Unauthorized");
  auto via = m.header_values ("v");
  g_assert_cmpuint (via.size (), ==, 1);
  g_assert_cmpstr (kept (param (via[0], "branch")), ==, "z9hG4bK5580457");
  g_assert_cmpstr (kept (param (via[0], "received")), ==, "127.0.0.1");
  auto c = parse_challenge (*m.header ("WWW-Authenticate"));
  g_assert_true (c.has_value ());
  g_assert_cmpstr (c->realm.c_str (), ==, "example.org");
  g_assert_cmpstr (c->nonce.c_str (), ==, "ZW1pdHRlZC1ub25jZQ==");
  g_assert_true (c->qop_auth);
  g_assert_true (c->algorithm == DigestAlgorithm::Md5);
}

/* What peers send that is odd but valid. */
static void test_parse_forms ()
{
  /* Compact names, folded lines, two Vias in one header, a body cut at
   * its Content-Length, a reason phrase with spaces, LF-only lines. */
  const std::string invite =
      "INVITE sip:bob@example.org;alias=127.0.0.1~5060~6 SIP/2.0\n"
      "v: SIP/2.0/WS a.invalid;branch=z9hG4bK1, SIP/2.0/TCP\n"
      " 127.0.0.1:5060;branch=z9hG4bK2\n"
      "f: <sip:alice@example.org>;tag=1\n"
      "t: sip:bob@example.org\n"
      "i: abc\n"
      "CSeq: 7 INVITE\n"
      "m: <sip:x@a.invalid;transport=ws;ob>\n"
      "c: application/sdp\n"
      "l: 4\n"
      "\n"
      "v=0\r\nextra";
  ParseResult r = parse (invite);
  g_assert_true (r.message.has_value ());
  const Message &m = *r.message;
  g_assert_cmpstr (m.body.c_str (), ==, "v=0\r");
  auto via = m.header_values ("Via");
  g_assert_cmpuint (via.size (), ==, 2);
  g_assert_cmpstr (kept (param (via[1], "branch")), ==, "z9hG4bK2");
  g_assert_cmpstr (m.header ("Content-Type")->c_str (), ==, "application/sdp");
  auto to = parse_name_addr (*m.header ("To"));
  g_assert_cmpstr (to->uri.c_str (), ==, "sip:bob@example.org");
  g_assert_true (to->display.empty ());
  g_assert_cmpstr (kept (uri_user (m.uri)), ==, "bob");
  g_assert_cmpstr (kept (uri_host (m.uri)), ==, "example.org");
  g_assert_cmpstr (kept (uri_host ("sips:alice:pw@[::1]:5061;transport=ws")),
      ==, "[::1]:5061");
  g_assert_cmpstr (kept (uri_user ("sip:alice:pw@h")), ==, "alice");
  g_assert_cmpstr (kept (uri_user ("sip:example.org;x=a@b")), ==, "");
  g_assert_cmpstr (kept (uri_user ("tel:+123")), ==, "");

  ParseResult ok = parse (
      "SIP/2.0 183 Session Progress\r\nVia: SIP/2.0/WS "
      "a.invalid;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
      "To: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n"
      "\r\n");
  g_assert_true (ok.message.has_value ());
  g_assert_cmpstr (ok.message->reason.c_str (), ==, "Session Progress");

  /* Keep-alives are not messages. */
  g_assert_true (parse ("\r\n\r\n").keepalive);
  g_assert_true (parse ("\r\n").keepalive);
  g_assert_false (parse ("").keepalive);

  /* Display names, quoted and not. */
  auto q = parse_name_addr ("\"A \\\"B\\\" C\" <sip:a@b>;tag=x");
  g_assert_cmpstr (q->display.c_str (), ==, "A \"B\" C");
  auto plain = parse_name_addr ("Bob Smith <sip:bob@h>");
  g_assert_cmpstr (plain->display.c_str (), ==, "Bob Smith");
  auto spec = parse_name_addr ("sip:bob@h;tag=9");
  g_assert_cmpstr (spec->uri.c_str (), ==, "sip:bob@h");
  g_assert_cmpstr (kept (param (spec->params, "tag")), ==, "9");
}

static const char kNulInHeader[] = "OPTIONS sip:a SIP/2.0\r\nX: a\0b\r\n\r\n";

/* Each refused with a reason, none crashes. */
static void test_parse_refused ()
{
  const std::string ok_headers = "Via: SIP/2.0/WS a.invalid;branch=z9hG4bK1\r\n"
                                 "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\n"
                                 "Call-ID: x\r\n";
  struct {
    std::string text;
    const char *why;
  } const cases[] = {
    { "", "no end of the headers" },
    { "garbage", "no end of the headers" },
    { "OPTIONS sip:a SIP/2.0\r\n" + ok_headers + "\r\n", "no CSeq header" },
    { "OPTIONS sip:a SIP/2.0\r\n" + ok_headers + "CSeq: 1 INVITE\r\n\r\n",
        "CSeq method differs from the request's" },
    { "OPTIONS sip:a SIP/2.0\r\n" + ok_headers + "CSeq: x OPTIONS\r\n\r\n",
        "bad CSeq" },
    { "OPTIONS sip:a SIP/3.0\r\n" + ok_headers + "CSeq: 1 OPTIONS\r\n\r\n",
        "bad request line" },
    { "OPTIONS  sip:a SIP/2.0\r\n" + ok_headers + "CSeq: 1 OPTIONS\r\n\r\n",
        "bad request line" },
    { "OPT<ONS sip:a SIP/2.0\r\n" + ok_headers + "CSeq: 1 OPT<ONS\r\n\r\n",
        "bad request line" },
    { "SIP/2.0 99 Low\r\n" + ok_headers + "CSeq: 1 OPTIONS\r\n\r\n",
        "bad status line" },
    { "SIP/2.0 2000 OK\r\n" + ok_headers + "CSeq: 1 OPTIONS\r\n\r\n",
        "bad status line" },
    { "OPTIONS sip:a SIP/2.0\r\n" + ok_headers +
            "CSeq: 1 OPTIONS\r\nContent-Length: 10\r\n\r\nshort",
        "body shorter than its Content-Length" },
    { "OPTIONS sip:a SIP/2.0\r\n" + ok_headers +
            "CSeq: 1 OPTIONS\r\nContent-Length: -1\r\n\r\n",
        "bad Content-Length" },
    { "OPTIONS sip:a SIP/2.0\r\n" + ok_headers +
            "CSeq: 1 OPTIONS\r\nContent-Length: 99999999999\r\n\r\n",
        "bad Content-Length" },
    { "OPTIONS sip:a SIP/2.0\r\n" + ok_headers + "CSeq 1 OPTIONS\r\n\r\n",
        "header without a colon" },
    { "OPTIONS sip:a SIP/2.0\r\n" + ok_headers + "Bad Name: 1\r\n\r\n",
        "bad header name" },
    { "OPTIONS sip:a SIP/2.0\r\n folded\r\n" + ok_headers + "\r\n",
        "continuation before any header" },
    { std::string (kNulInHeader, sizeof kNulInHeader - 1),
        "NUL byte in the headers" },
  };
  for (const auto &c : cases) {
    ParseResult r = parse (c.text);
    g_assert_false (r.message.has_value ());
    g_assert_cmpstr (r.error.c_str (), ==, c.why);
  }

  /* Bounds: size and header count. */
  std::string many = "OPTIONS sip:a SIP/2.0\r\n" + ok_headers +
      "CSeq: 1 OPTIONS\r\n";
  for (int i = 0; i < 200; i++)
    many += "X-" + std::to_string (i) + ": 1\r\n";
  many += "\r\n";
  g_assert_cmpstr (kept (parse (many).error), ==, "more than 128 headers");
  ParseLimits small;
  small.max_size = 100;
  g_assert_cmpstr (kept (parse (many, small).error), ==,
      "message larger than 100 bytes");

  g_assert_false (parse_name_addr ("").has_value ());
  g_assert_false (parse_name_addr ("<sip:a@b").has_value ());
  g_assert_false (parse_name_addr ("\"unterminated <sip:a@b>").has_value ());
  g_assert_false (parse_name_addr ("<nocolon>").has_value ());
  g_assert_false (parse_name_addr ("<sip:a@b> junk").has_value ());
  g_assert_false (parse_cseq ("1").has_value ());
  g_assert_false (parse_cseq ("99999999999 INVITE").has_value ());
}

static void test_digest ()
{
  /* RFC 2617 3.5 (MD5, qop=auth). */
  auto md5 = parse_challenge (
      "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", "
      "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
      "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
  g_assert_true (md5.has_value ());
  g_assert_true (md5->qop_auth);
  DigestAnswer a;
  a.username = "Mufasa";
  a.password = "Circle Of Life";
  a.method = "GET";
  a.uri = "/dir/index.html";
  a.cnonce = "0a4f113b";
  a.nc = 1;
  std::string h = authorization (*md5, a);
  g_assert_nonnull (
      strstr (h.c_str (), "response=\"6629fae49393a05397450978507c4ef1\""));
  g_assert_nonnull (strstr (h.c_str (),
      "qop=auth, nc=00000001, "
      "cnonce=\"0a4f113b\""));
  g_assert_nonnull (
      strstr (h.c_str (), "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""));
  g_assert_null (strstr (h.c_str (), "Circle"));

  /* RFC 7616 3.9.1 (SHA-256, qop=auth). */
  auto sha = parse_challenge (
      "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", "
      "algorithm=SHA-256, "
      "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
      "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"");
  g_assert_true (sha.has_value ());
  g_assert_true (sha->algorithm == DigestAlgorithm::Sha256);
  a.password = "Circle of Life";
  a.cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
  h = authorization (*sha, a);
  g_assert_nonnull (strstr (h.c_str (),
      "response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db58"
      "56cb6c1\""));
  g_assert_nonnull (strstr (h.c_str (), "algorithm=SHA-256"));

  /* Without qop (RFC 2069 style): no nc, no cnonce. */
  auto old = parse_challenge ("Digest realm=\"r\", nonce=\"n\"");
  g_assert_false (old->qop_auth);
  h = authorization (*old, a);
  g_assert_null (strstr (h.c_str (), "cnonce"));
  g_assert_nonnull (strstr (h.c_str (),
      ("response=\"" +
          digest_hex (DigestAlgorithm::Md5,
              digest_hex (DigestAlgorithm::Md5, "Mufasa:r:Circle of Life") +
                  ":n:" +
                  digest_hex (DigestAlgorithm::Md5, "GET:/dir/index.html")) +
          "\"")
          .c_str ()));

  /* Quotes in a username are escaped, not closing the string. */
  a.username = "a\"b";
  g_assert_nonnull (
      strstr (authorization (*old, a).c_str (), "username=\"a\\\"b\""));

  /* What cannot be answered here. */
  g_assert_true (
      parse_challenge ("Digest realm=\"r\", nonce=\"n\", stale=TRUE")->stale);
  g_assert_false (parse_challenge ("Basic realm=\"r\"").has_value ());
  g_assert_false (parse_challenge ("Digest realm=\"r\"").has_value ());
  g_assert_false (
      parse_challenge ("Digest realm=\"r\", nonce=\"n\", algorithm=MD5-sess")
          .has_value ());
  g_assert_false (
      parse_challenge ("Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\"")
          .has_value ());
  g_assert_false (parse_challenge ("Digest").has_value ());
  g_assert_false (
      parse_challenge ("Digestrealm=\"r\", nonce=\"n\"").has_value ());
  g_assert_false (
      parse_challenge ("Digest realm=\"unterminated, nonce=n").has_value ());
}

static void test_response_to ()
{
  Message req = *parse (kRegister).message;
  req.add_header ("Via", "SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKproxy");
  Message r = response_to (req, 200, "OK", "t0");
  g_assert_cmpint (r.status, ==, 200);
  auto via = r.header_values ("Via");
  g_assert_cmpuint (via.size (), ==, 2); /* every Via, in order */
  g_assert_cmpstr (kept (param (via[1], "branch")), ==, "z9hG4bKproxy");
  g_assert_cmpstr (r.header ("To")->c_str (), ==,
      "<sip:alice@example.org>;tag=t0");
  g_assert_true (*r.header ("Call-ID") == *req.header ("Call-ID"));
  g_assert_true (*r.header ("CSeq") == *req.header ("CSeq"));
  g_assert_true (parse (r.serialize ()).message.has_value ());
  /* A To that has its tag keeps it. */
  req.set_header ("To", "<sip:alice@example.org>;tag=old");
  g_assert_cmpstr (
      kept (*response_to (req, 486, "Busy Here", "new").header ("To")), ==,
      "<sip:alice@example.org>;tag=old");
}

int main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/sip/parse-register", test_parse_register);
  g_test_add_func ("/sip/parse-response", test_parse_response);
  g_test_add_func ("/sip/parse-forms", test_parse_forms);
  g_test_add_func ("/sip/parse-refused", test_parse_refused);
  g_test_add_func ("/sip/digest", test_digest);
  g_test_add_func ("/sip/response-to", test_response_to);
  return g_test_run ();
}
