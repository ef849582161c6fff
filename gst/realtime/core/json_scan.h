/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A strict, incremental JSON syntax check (RFC 8259, UTF-8 validated) that
 * builds nothing. It runs before json-glib sees any text, for two reasons:
 * json-glib 1.6 recurses once per nesting level (a message of a hundred
 * thousand '[' overflows the stack), leaks on a high surrogate escape not
 * followed by a low one and accepts non-JSON (trailing objects, single
 * quotes, comments); and, fed piece by piece, it tells a message cut short
 * from a broken one at O(1) cost per byte. Unpaired surrogate escapes are
 * refused (RFC 8259 leaves them undefined). */
#pragma once

#include <cstddef>
#include <string>

namespace rt {

/* Deeper nesting is refused. The service's events nest fewer than 20
 * levels; tool schemas echoed in session events add a few more. */
constexpr unsigned kMaxJsonDepth = 128;

class JsonScanner {
 public:
  enum class State {
    Incomplete, /* a viable prefix of a JSON text (or nothing yet) */
    Complete,   /* one whole value, maybe trailing whitespace */
    Error,      /* no continuation can make this JSON */
  };

  explicit JsonScanner (unsigned max_depth = kMaxJsonDepth);

  /* Scans more input; the state holds across calls. */
  State feed (const char *data, std::size_t len);
  State feed (const std::string &text)
  {
    return feed (text.data (), text.size ());
  }
  /* The input has ended: a top-level number completes, anything else
   * unfinished stays Incomplete. */
  State finish ();

  State state () const { return state_; }
  /* Why the state is Error, or what an Incomplete input lacks. */
  std::string error () const;
  /* For an Incomplete input: what it ends inside ("a string", "an
   * object", ...), nullptr if only blanks came. Costs no allocation. */
  const char *ends_inside () const;
  /* The first non-blank byte ('{', '[', ...) or 0 before any. */
  char root () const { return root_; }
  std::size_t scanned () const { return offset_; }
  void reset ();

 private:
  enum class Lex : unsigned char {
    Value,
    ValueOrClose,
    Key,
    KeyOrClose,
    Colon,
    CommaOrClose,
    Done,
    String,
    Escape,
    Unicode,
    Utf8,
    LowBackslash,
    LowU,
    Minus,
    Zero,
    Int,
    Dot,
    Frac,
    Exp,
    ExpSign,
    ExpDigits,
    Literal,
  };

  void fail (const char *what, unsigned char c);
  void value_done ();
  bool start_value (unsigned char c);

  unsigned max_depth_;
  State state_ = State::Incomplete;
  Lex lex_ = Lex::Value;
  std::string stack_;      /* '{' or '[' per open container */
  bool in_key_ = false;    /* the current string is an object key */
  unsigned hex_left_ = 0;  /* \uXXXX digits still expected */
  unsigned hex_value_ = 0; /* the code unit they make */
  bool want_low_ = false;  /* a high surrogate awaits its low half */
  unsigned utf8_left_ = 0; /* continuation bytes still expected */
  unsigned char utf8_lo_ = 0x80, utf8_hi_ = 0xbf; /* range of the next one */
  const char *literal_ = nullptr; /* the rest of true/false/null */
  char root_ = 0;
  std::size_t offset_ = 0;
  std::string error_;
};

}  // namespace rt
