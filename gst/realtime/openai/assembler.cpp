/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "openai/assembler.h"

#include <utility>

namespace rt {
namespace {

bool is_blank (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Cheap test before a full parse: a whole object starts with '{' and ends
 * with '}' (blanks aside). */
bool looks_whole (const std::string &text)
{
  std::size_t first = 0, last = text.size ();
  while (first < last && is_blank (text[first]))
    first++;
  while (last > first && is_blank (text[last - 1]))
    last--;
  return last - first >= 2 && text[first] == '{' && text[last - 1] == '}';
}

/* The text as a complete message: an event, or Malformed saying why. */
Assembled complete (std::string text, unsigned pieces)
{
  Assembled a;
  a.pieces = pieces;
  a.bytes = text.size ();
  a.event = parse_server_event (text, &a.why);
  a.kind = a.event ? Assembled::Kind::Event : Assembled::Kind::Malformed;
  if (a.event)
    a.why.clear ();
  a.text = std::move (text);
  return a;
}

Assembled oversized (const std::string &head, std::size_t bytes,
    unsigned pieces, std::size_t limit)
{
  Assembled a;
  a.kind = Assembled::Kind::Oversized;
  a.text = head.substr (0, Assembled::kOversizedHead);
  a.pieces = pieces;
  a.bytes = bytes;
  a.why = std::to_string (bytes) + " bytes in " + std::to_string (pieces) +
      (pieces == 1 ? " message" : " messages") + " exceed the limit of " +
      std::to_string (limit) + " bytes";
  return a;
}

}  // namespace

const char *assembled_kind_name (Assembled::Kind kind)
{
  switch (kind) {
    case Assembled::Kind::Event: return "event";
    case Assembled::Kind::Malformed: return "malformed";
    case Assembled::Kind::Truncated: return "truncated";
    case Assembled::Kind::Oversized: return "oversized";
  }
  return "unknown";
}

EventAssembler::EventAssembler (std::size_t max_bytes) : max_bytes_ (max_bytes)
{
}

std::vector<Assembled> EventAssembler::feed (std::string text)
{
  std::vector<Assembled> out;
  switch (mode_) {
    case Mode::Idle: start (std::move (text), out); break;
    case Mode::Holding: extend (std::move (text), out); break;
    case Mode::Skipping: skip (std::move (text), out); break;
  }
  return out;
}

std::vector<Assembled> EventAssembler::flush ()
{
  std::vector<Assembled> out;
  if (mode_ == Mode::Holding)
    out.push_back (truncated (scan_.error ()));
  /* A skipped event was reported when it passed the limit. */
  mode_ = Mode::Idle;
  return out;
}

void EventAssembler::hold (std::string text)
{
  held_ = std::move (text);
  held_pieces_ = 1;
  mode_ = Mode::Holding;
}

Assembled EventAssembler::truncated (const std::string &why)
{
  Assembled a;
  a.kind = Assembled::Kind::Truncated;
  a.pieces = held_pieces_;
  a.bytes = held_.size ();
  a.why = "the event was cut short: " + why;
  a.text = std::move (held_);
  held_.clear ();
  held_pieces_ = 0;
  mode_ = Mode::Idle;
  return a;
}

void EventAssembler::start (std::string text, std::vector<Assembled> &out)
{
  mode_ = Mode::Idle;
  scan_.reset ();
  scan_.feed (text);
  const bool open_object = scan_.state () == JsonScanner::State::Incomplete &&
      scan_.root () == '{';
  if (text.size () > max_bytes_) {
    out.push_back (oversized (text, text.size (), 1, max_bytes_));
    /* Its continuations are dropped quietly, not reported one by one. */
    if (open_object)
      mode_ = Mode::Skipping;
    return;
  }
  if (open_object)
    hold (std::move (text));
  else
    out.push_back (complete (std::move (text), 1));
}

void EventAssembler::extend (std::string text, std::vector<Assembled> &out)
{
  /* What the held start lacks, in case it turns out to be truncated
   * (the words are made only then). */
  const char *held_inside = scan_.ends_inside ();
  const std::size_t held_size = held_.size ();
  auto held_why = [&] {
    return std::string ("ends inside ") +
        (held_inside ? held_inside : "a value") + " after " +
        std::to_string (held_size) + " bytes";
  };
  const std::size_t total = held_.size () + text.size ();
  const bool over = total > max_bytes_;
  /* Only the new bytes are scanned: the scanner's state is that of the
   * end of held_, so holding costs O(1) per byte received. */
  const JsonScanner::State st = scan_.feed (text);

  if (st == JsonScanner::State::Complete && !over) {
    held_ += text;
    const unsigned pieces = held_pieces_ + 1;
    held_pieces_ = 0;
    mode_ = Mode::Idle;
    out.push_back (complete (std::move (held_), pieces));
    held_.clear ();
    return;
  }

  /* A whole event on its own means the held start lost its rest. */
  if (looks_whole (text) && text.size () <= max_bytes_) {
    Assembled alone = complete (text, 1);
    if (alone.kind == Assembled::Kind::Event) {
      out.push_back (truncated (held_why ()));
      out.push_back (std::move (alone));
      return;
    }
  }

  if (st == JsonScanner::State::Incomplete) {
    if (!over) {
      held_ += text;
      held_pieces_++;
      return;
    }
    out.push_back (oversized (held_, total, held_pieces_ + 1, max_bytes_));
    held_.clear ();
    held_pieces_ = 0;
    mode_ = Mode::Skipping;
    return;
  }

  if (st == JsonScanner::State::Complete) {
    out.push_back (oversized (held_, total, held_pieces_ + 1, max_bytes_));
    held_.clear ();
    held_pieces_ = 0;
    mode_ = Mode::Idle;
    return;
  }

  /* The new message does not continue the held one. If it is a message
   * (or the start of one) in its own right, the held start was cut short. */
  JsonScanner alone;
  alone.feed (text);
  if (text.size () <= max_bytes_ && alone.root () == '{' &&
      alone.state () != JsonScanner::State::Error) {
    out.push_back (truncated (held_why ()));
    start (std::move (text), out);
    return;
  }
  const unsigned pieces = held_pieces_ + 1;
  if (over) {
    out.push_back (oversized (held_, total, pieces, max_bytes_));
    held_.clear ();
    held_pieces_ = 0;
    mode_ = Mode::Idle;
    return;
  }
  const std::string why = "not JSON: " + scan_.error ();
  held_ += text;
  Assembled a;
  a.kind = Assembled::Kind::Malformed;
  a.pieces = pieces;
  a.bytes = held_.size ();
  a.why = why;
  a.text = std::move (held_);
  held_.clear ();
  held_pieces_ = 0;
  mode_ = Mode::Idle;
  out.push_back (std::move (a));
}

void EventAssembler::skip (std::string text, std::vector<Assembled> &out)
{
  if (looks_whole (text) && text.size () <= max_bytes_) {
    Assembled alone = complete (text, 1);
    if (alone.kind == Assembled::Kind::Event) {
      mode_ = Mode::Idle;
      out.push_back (std::move (alone));
      return;
    }
  }
  switch (scan_.feed (text)) {
    case JsonScanner::State::Incomplete: return;
    case JsonScanner::State::Complete:
      /* The end of the oversized event. */
      mode_ = Mode::Idle;
      return;
    case JsonScanner::State::Error: start (std::move (text), out); return;
  }
}

}  // namespace rt
