/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: a 201 reply's body through check_answer_sdp, the same
 * bytes as a Location header through call_id_from_location, and as a far
 * end's description through the telephone-event edits. Beyond not
 * crashing, it checks what each promises. */
#include "openai/answer.h"
#include "signalling/openai_http.h"
#include "webrtc/sdp.h"

#include <gst/gst.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

void expect (bool ok, const char *what)
{
  if (!ok) {
    std::fprintf (stderr, "fuzz-sdp-answer: broken promise: %s\n", what);
    std::abort ();
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize (int *argc, char ***argv)
{
  /* GLib reads G_SLICE as it loads, before this runs. Its slice caches
   * hide leaks from LeakSanitizer and set off a full leak scan after every
   * input: start again on plain malloc. */
  if (g_strcmp0 (g_getenv ("G_SLICE"), "always-malloc") != 0) {
    g_setenv ("G_SLICE", "always-malloc", TRUE);
    execv ("/proc/self/exe", *argv);
  }
  /* Nothing here needs a plugin: skip the registry scan. */
  g_setenv ("GST_REGISTRY_DISABLE", "yes", TRUE);
  gst_init (argc, argv);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const std::string body (reinterpret_cast<const char *> (data), size);

  rt::AnswerCheck c = rt::check_answer_sdp (body);
  expect (c.usable == c.problem.empty (), "a problem exactly when unusable");
  expect (!c.usable || c.is_sdp, "usable answers are SDP");
  expect (c.max_message_size >= 1 &&
          c.max_message_size <= rt::kMaxDataChannelMessage,
      "max-message-size within 1..65536");
  expect (c.problem.size () < 200, "problems are short");
  for (char ch : c.problem)
    expect (static_cast<unsigned char> (ch) >= 0x20 &&
            static_cast<unsigned char> (ch) < 0x7f,
        "problems are printable");

  const std::string id = rt::call_id_from_location (body);
  expect (id.find_first_of ("/?#") == std::string::npos,
      "a call id is one path segment");
  expect (id != "." && id != "..", "a call id is not a dot segment");
  for (char ch : id)
    expect (g_ascii_isalnum (ch) || ch == '-' || ch == '_' || ch == '.' ||
            ch == '~',
        "a call id needs no escaping in a URL");

  /* The far end's description, searched for and given telephone events. */
  const int pt = rt::sdp_telephone_event_pt (body, 8000);
  expect (pt >= -1 && pt <= 127, "a payload type or -1");
  const std::string with = rt::sdp_with_telephone_event (body, 101, 8000);
  expect (with == body || with.size () > body.size (), "only ever added to");
  expect (rt::sdp_with_telephone_event (with, 101, 8000) == with, "added once");
  return 0;
}
