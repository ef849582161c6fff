/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: one WebSocket frame from a SIP peer through the message
 * parser, its header values through the pieces that read them, and any
 * digest challenge through the answer. Beyond not crashing, it checks what
 * each promises. */
#include "signalling/sip/digest.h"
#include "signalling/sip/message.h"

#include <glib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

void expect (bool ok, const char *what)
{
  if (!ok) {
    std::fprintf (stderr, "fuzz-sip-message: broken promise: %s\n", what);
    std::abort ();
  }
}

bool printable (const std::string &s)
{
  for (char c : s)
    if (static_cast<unsigned char> (c) < 0x20 ||
        static_cast<unsigned char> (c) >= 0x7f)
      return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize (int *, char ***argv)
{
  /* GLib's slice caches (GChecksum uses them) hide leaks from
   * LeakSanitizer and set off a full leak scan after every input: start
   * again on plain malloc (docs/fuzzing.md). */
  if (g_strcmp0 (g_getenv ("G_SLICE"), "always-malloc") != 0) {
    g_setenv ("G_SLICE", "always-malloc", TRUE);
    execv ("/proc/self/exe", *argv);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  using namespace rt::sip;
  const std::string frame (reinterpret_cast<const char *> (data), size);
  ParseLimits limits;
  limits.max_size = 16 * 1024;
  limits.max_headers = 32;
  ParseResult r = parse (frame, limits);

  expect (r.message.has_value () + !r.error.empty () + r.keepalive == 1,
      "a message, a reason or a keep-alive: exactly one");
  expect (r.error.size () < 80 && printable (r.error),
      "reasons are short and printable");
  if (!r.message)
    return 0;
  const Message &m = *r.message;
  expect (m.headers.size () <= limits.max_headers, "the header bound holds");
  expect (m.body.size () <= frame.size (), "the body comes from the frame");
  expect (m.is_request () != (m.status != 0), "a request or a response");
  expect (m.is_request () || (m.status >= 100 && m.status <= 699),
      "statuses are 100..699");

  /* What goes out parses back to what came in, and is stable. */
  const std::string out = m.serialize ();
  ParseLimits roomy;
  roomy.max_size = out.size () + 1;
  roomy.max_headers = limits.max_headers + 1;
  ParseResult again = parse (out, roomy);
  expect (again.message.has_value (), "a serialised message parses");
  expect (again.message->method == m.method && again.message->uri == m.uri &&
          again.message->status == m.status && again.message->body == m.body,
      "the start line and body survive serialising");
  expect (again.message->serialize () == out, "serialising is stable");

  for (const auto &h : m.headers) {
    if (auto na = parse_name_addr (h.value)) {
      expect (!na->uri.empty () && na->uri.find (':') != std::string::npos,
          "a name-addr has a URI with a scheme");
      (void) uri_user (na->uri);
      (void) uri_host (na->uri);
      (void) param (na->params, "tag");
    }
    (void) param (h.value, "branch");
    if (auto c = parse_challenge (h.value)) {
      expect (!c->nonce.empty (), "a challenge has a nonce");
      DigestAnswer a { "user", "secret",
        m.method.empty () ? "REGISTER" : m.method, "sip:example.org", "cnonce",
        1 };
      const std::string auth = authorization (*c, a);
      expect (auth.find ("secret") == std::string::npos ||
              c->realm.find ("secret") != std::string::npos ||
              c->nonce.find ("secret") != std::string::npos ||
              c->opaque.find ("secret") != std::string::npos,
          "the password never appears in an answer");
    }
  }
  for (const auto &v : m.header_values ("Via"))
    (void) param (v, "branch");
  return 0;
}
