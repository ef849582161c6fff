/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/json_scan.h"

#include <cstdio>

namespace rt {
namespace {

bool is_blank (unsigned char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool is_digit (unsigned char c)
{
  return c >= '0' && c <= '9';
}

/* The value of a hex digit, or -1. */
int hex_digit (unsigned char c)
{
  if (is_digit (c))
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

std::string describe_byte (unsigned char c)
{
  char buf[16];
  if (c >= 0x20 && c < 0x7f)
    std::snprintf (buf, sizeof buf, "'%c'", c);
  else
    std::snprintf (buf, sizeof buf, "byte 0x%02x", c);
  return buf;
}

}  // namespace

JsonScanner::JsonScanner (unsigned max_depth) : max_depth_ (max_depth)
{
}

void JsonScanner::reset ()
{
  state_ = State::Incomplete;
  lex_ = Lex::Value;
  stack_.clear ();
  in_key_ = false;
  hex_left_ = 0;
  hex_value_ = 0;
  want_low_ = false;
  utf8_left_ = 0;
  literal_ = nullptr;
  root_ = 0;
  offset_ = 0;
  error_.clear ();
}

void JsonScanner::fail (const char *what, unsigned char c)
{
  state_ = State::Error;
  error_ = std::string (what) + ": " + describe_byte (c) + " at byte " +
      std::to_string (offset_);
}

void JsonScanner::value_done ()
{
  if (stack_.empty ()) {
    lex_ = Lex::Done;
    state_ = State::Complete;
  } else {
    lex_ = Lex::CommaOrClose;
  }
}

bool JsonScanner::start_value (unsigned char c)
{
  switch (c) {
    case '{':
    case '[':
      if (stack_.size () >= max_depth_) {
        state_ = State::Error;
        error_ = "nested deeper than " + std::to_string (max_depth_) +
            " levels at byte " + std::to_string (offset_);
        return true;
      }
      stack_.push_back (static_cast<char> (c));
      lex_ = c == '{' ? Lex::KeyOrClose : Lex::ValueOrClose;
      return true;
    case '"':
      in_key_ = false;
      lex_ = Lex::String;
      return true;
    case '-': lex_ = Lex::Minus; return true;
    case '0': lex_ = Lex::Zero; return true;
    case 't':
      literal_ = "rue";
      lex_ = Lex::Literal;
      return true;
    case 'f':
      literal_ = "alse";
      lex_ = Lex::Literal;
      return true;
    case 'n':
      literal_ = "ull";
      lex_ = Lex::Literal;
      return true;
    default:
      if (c >= '1' && c <= '9') {
        lex_ = Lex::Int;
        return true;
      }
      return false;
  }
}

JsonScanner::State JsonScanner::feed (const char *data, std::size_t len)
{
  std::size_t i = 0;
  while (i < len && state_ != State::Error) {
    const unsigned char c = static_cast<unsigned char> (data[i]);
    /* A number ends at the first byte that is not part of it; that byte is
     * then scanned again in the state after the value. */
    bool consumed = true;
    switch (lex_) {
      case Lex::Value:
        if (is_blank (c))
          break;
        if (stack_.empty () && root_ == 0)
          root_ = static_cast<char> (c);
        if (!start_value (c))
          fail ("expected a value", c);
        break;
      case Lex::ValueOrClose:
        if (is_blank (c))
          break;
        if (c == ']') {
          stack_.pop_back ();
          value_done ();
        } else if (!start_value (c)) {
          fail ("expected a value or ']'", c);
        }
        break;
      case Lex::KeyOrClose:
      case Lex::Key:
        if (is_blank (c))
          break;
        if (c == '"') {
          in_key_ = true;
          lex_ = Lex::String;
        } else if (c == '}' && lex_ == Lex::KeyOrClose) {
          stack_.pop_back ();
          value_done ();
        } else {
          fail ("expected a member name", c);
        }
        break;
      case Lex::Colon:
        if (is_blank (c))
          break;
        if (c == ':')
          lex_ = Lex::Value;
        else
          fail ("expected ':'", c);
        break;
      case Lex::CommaOrClose:
        if (is_blank (c))
          break;
        if (c == ',') {
          lex_ = stack_.back () == '{' ? Lex::Key : Lex::Value;
        } else if ((c == '}' && stack_.back () == '{') ||
            (c == ']' && stack_.back () == '[')) {
          stack_.pop_back ();
          value_done ();
        } else {
          fail (stack_.back () == '{' ? "expected ',' or '}'" :
                                        "expected ',' or ']'",
              c);
        }
        break;
      case Lex::Done:
        if (!is_blank (c))
          fail ("data after the end of the JSON text", c);
        break;
      case Lex::String:
        if (c == '"') {
          if (in_key_) {
            in_key_ = false;
            lex_ = Lex::Colon;
          } else {
            value_done ();
          }
        } else if (c == '\\') {
          lex_ = Lex::Escape;
        } else if (c < 0x20) {
          fail ("a control character inside a string", c);
        } else if (c >= 0x80) {
          /* RFC 3629: no overlong forms, no surrogates, nothing past
           * U+10FFFF; the first continuation byte carries the limits. */
          utf8_lo_ = 0x80;
          utf8_hi_ = 0xbf;
          if (c >= 0xc2 && c <= 0xdf) {
            utf8_left_ = 1;
          } else if (c >= 0xe0 && c <= 0xef) {
            utf8_left_ = 2;
            if (c == 0xe0)
              utf8_lo_ = 0xa0;
            else if (c == 0xed)
              utf8_hi_ = 0x9f;
          } else if (c >= 0xf0 && c <= 0xf4) {
            utf8_left_ = 3;
            if (c == 0xf0)
              utf8_lo_ = 0x90;
            else if (c == 0xf4)
              utf8_hi_ = 0x8f;
          } else {
            fail ("invalid UTF-8", c);
            break;
          }
          lex_ = Lex::Utf8;
        }
        break;
      case Lex::Utf8:
        if (c < utf8_lo_ || c > utf8_hi_) {
          fail ("invalid UTF-8", c);
          break;
        }
        utf8_lo_ = 0x80;
        utf8_hi_ = 0xbf;
        if (--utf8_left_ == 0)
          lex_ = Lex::String;
        break;
      case Lex::Escape:
        if (c == 'u') {
          hex_left_ = 4;
          hex_value_ = 0;
          lex_ = Lex::Unicode;
        } else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' ||
            c == 'n' || c == 'r' || c == 't') {
          lex_ = Lex::String;
        } else {
          fail ("an invalid escape", c);
        }
        break;
      case Lex::Unicode: {
        const int digit = hex_digit (c);
        if (digit < 0) {
          fail ("expected a hex digit", c);
          break;
        }
        hex_value_ = hex_value_ * 16 + static_cast<unsigned> (digit);
        if (--hex_left_ > 0)
          break;
        /* UTF-16 surrogates only come in high-low pairs. */
        const bool high = hex_value_ >= 0xd800 && hex_value_ <= 0xdbff;
        const bool low = hex_value_ >= 0xdc00 && hex_value_ <= 0xdfff;
        if (want_low_ && !low) {
          fail ("a high surrogate escape without its low half", c);
        } else if (!want_low_ && low) {
          fail ("a low surrogate escape without its high half", c);
        } else if (high) {
          want_low_ = true;
          lex_ = Lex::LowBackslash;
        } else {
          want_low_ = false;
          lex_ = Lex::String;
        }
        break;
      }
      case Lex::LowBackslash:
      case Lex::LowU:
        if (c != (lex_ == Lex::LowBackslash ? '\\' : 'u')) {
          fail ("a high surrogate escape without its low half", c);
        } else if (lex_ == Lex::LowBackslash) {
          lex_ = Lex::LowU;
        } else {
          hex_left_ = 4;
          hex_value_ = 0;
          lex_ = Lex::Unicode;
        }
        break;
      case Lex::Minus:
        if (c == '0')
          lex_ = Lex::Zero;
        else if (is_digit (c))
          lex_ = Lex::Int;
        else
          fail ("expected a digit", c);
        break;
      case Lex::Zero:
      case Lex::Int:
      case Lex::Frac:
      case Lex::ExpDigits:
        if (is_digit (c)) {
          if (lex_ == Lex::Zero)
            fail ("a number with a leading zero", c);
        } else if (c == '.' && (lex_ == Lex::Zero || lex_ == Lex::Int)) {
          lex_ = Lex::Dot;
        } else if ((c == 'e' || c == 'E') && lex_ != Lex::ExpDigits) {
          lex_ = Lex::Exp;
        } else {
          consumed = false;
          value_done ();
        }
        break;
      case Lex::Dot:
        if (is_digit (c))
          lex_ = Lex::Frac;
        else
          fail ("expected a digit", c);
        break;
      case Lex::Exp:
        if (c == '+' || c == '-')
          lex_ = Lex::ExpSign;
        else if (is_digit (c))
          lex_ = Lex::ExpDigits;
        else
          fail ("expected a digit", c);
        break;
      case Lex::ExpSign:
        if (is_digit (c))
          lex_ = Lex::ExpDigits;
        else
          fail ("expected a digit", c);
        break;
      case Lex::Literal:
        if (c != static_cast<unsigned char> (*literal_)) {
          fail ("expected true, false or null", c);
        } else if (*++literal_ == '\0') {
          literal_ = nullptr;
          value_done ();
        }
        break;
    }
    if (consumed) {
      i++;
      offset_++;
    }
  }
  return state_;
}

JsonScanner::State JsonScanner::finish ()
{
  if (state_ == State::Incomplete && stack_.empty () &&
      (lex_ == Lex::Zero || lex_ == Lex::Int || lex_ == Lex::Frac ||
          lex_ == Lex::ExpDigits))
    value_done ();
  return state_;
}

const char *JsonScanner::ends_inside () const
{
  if (root_ == 0)
    return nullptr;
  switch (lex_) {
    case Lex::String:
    case Lex::Escape:
    case Lex::Unicode:
    case Lex::Utf8:
    case Lex::LowBackslash:
    case Lex::LowU: return "a string";
    case Lex::Literal: return "a literal";
    case Lex::Minus:
    case Lex::Zero:
    case Lex::Int:
    case Lex::Dot:
    case Lex::Frac:
    case Lex::Exp:
    case Lex::ExpSign:
    case Lex::ExpDigits: return "a number";
    default:
      return stack_.empty ()    ? "a value" :
          stack_.back () == '{' ? "an object" :
                                  "an array";
  }
}

std::string JsonScanner::error () const
{
  switch (state_) {
    case State::Complete: return {};
    case State::Error: return error_;
    case State::Incomplete: break;
  }
  if (const char *where = ends_inside ())
    return std::string ("ends inside ") + where + " after " +
        std::to_string (offset_) + " bytes";
  return offset_ == 0 ? "empty" : "only whitespace";
}

}  // namespace rt
