/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: received data-channel messages through EventAssembler
 * and the event codec. Input: byte 0 is a separator that splits the rest
 * into messages wherever it occurs; byte 1 sets the assembler's limit
 * (64 bytes to 16 KiB, so inputs of libFuzzer's usual sizes reach it).
 * Beyond not crashing, it checks what the assembler promises. */
#include "openai/assembler.h"
#include "core/json_scan.h"
#include "openai/protocol.h"

#include <glib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

void expect (bool ok, const char *what)
{
  if (!ok) {
    std::fprintf (stderr, "fuzz-server-event: broken promise: %s\n", what);
    std::abort ();
  }
}

bool is_blank (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

void check (const rt::Assembled &r, std::size_t limit)
{
  using Kind = rt::Assembled::Kind;
  expect ((r.kind == Kind::Event) == r.event.has_value (),
      "an event exactly when the kind is Event");
  expect (r.pieces >= 1, "at least one piece");
  expect ((r.kind == Kind::Event) == r.why.empty (),
      "a reason unless an event");
  if (r.kind == Kind::Oversized) {
    expect (r.bytes > limit, "oversized only past the limit");
    expect (r.text.size () <= rt::Assembled::kOversizedHead,
        "only the head of an oversized event is kept");
  } else {
    expect (r.text.size () == r.bytes, "the text is all of the bytes");
    expect (r.bytes <= limit, "nothing past the limit is kept");
  }
  if (r.kind == Kind::Event)
    expect (!r.event->type.empty (), "events have a type");
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
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 2)
    return 0;
  const char sep = static_cast<char> (data[0]);
  const std::size_t limit = 64 * (static_cast<std::size_t> (data[1]) + 1);
  const std::string rest (reinterpret_cast<const char *> (data + 2), size - 2);

  std::vector<std::string> pieces;
  std::size_t from = 0;
  while (true) {
    std::size_t at = rest.find (sep, from);
    pieces.push_back (rest.substr (from,
        at == std::string::npos ? std::string::npos : at - from));
    if (at == std::string::npos)
      break;
    from = at + 1;
  }

  rt::EventAssembler assembler (limit);
  std::vector<rt::Assembled> out;
  for (const std::string &p : pieces) {
    for (auto &r : assembler.feed (p)) {
      check (r, limit);
      out.push_back (std::move (r));
    }
    expect (assembler.held_bytes () <= limit,
        "held text stays within the limit");
    expect (assembler.holding () || assembler.held_bytes () == 0,
        "nothing held unless holding");
  }
  for (auto &r : assembler.flush ()) {
    expect (r.kind == rt::Assembled::Kind::Truncated, "flush only truncates");
    check (r, limit);
    out.push_back (std::move (r));
  }
  expect (!assembler.holding () && assembler.held_bytes () == 0,
      "nothing held after flush");
  std::size_t accounted = 0;
  for (const auto &r : out)
    accounted += r.pieces;
  expect (accounted <= pieces.size (), "each message counted at most once");

  /* The codec on each message alone. What the strict scan accepts,
   * json-glib must accept too (the scan is the gate in front of it): then
   * only the object and "type" checks may refuse it. */
  std::vector<bool> is_event;
  for (const std::string &p : pieces) {
    std::string why;
    auto ev = rt::parse_server_event (p, &why);
    is_event.push_back (ev.has_value ());
    expect (ev ? !ev->type.empty () : !why.empty (), "a type or a reason");
    if (ev) {
      rt::is_known_server_event (ev->type);
      continue;
    }
    rt::JsonScanner scan;
    scan.feed (p);
    if (scan.finish () == rt::JsonScanner::State::Complete &&
        why.rfind ("not JSON", 0) == 0) {
      std::fprintf (stderr, "json-glib: %s\n", why.c_str ());
      expect (false, "json-glib parses what the scan accepts");
    }
  }

  /* An event cut anywhere inside itself comes back whole, unless a middle
   * piece is an event on its own (then the start counts as truncated). */
  std::string joined;
  for (const std::string &p : pieces)
    joined += p;
  const bool inside = !pieces.front ().empty () && !pieces.back ().empty () &&
      !joined.empty () && !is_blank (joined.front ()) &&
      !is_blank (joined.back ());
  if (inside && joined.size () <= limit &&
      rt::parse_server_event (joined, nullptr)) {
    bool middle_whole = false;
    for (std::size_t i = 1; i + 1 < pieces.size (); i++)
      middle_whole = middle_whole || is_event[i];
    if (!middle_whole) {
      expect (out.size () == 1, "one outcome for one event");
      expect (out[0].kind == rt::Assembled::Kind::Event, "the event is whole");
      expect (out[0].pieces == pieces.size (), "every piece counted");
      expect (out[0].text == joined, "the text rebuilt exactly");
    }
  }
  return 0;
}
