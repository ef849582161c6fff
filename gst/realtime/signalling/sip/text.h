/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Text helpers of the SIP code: header values are ASCII with linear
 * whitespace (spaces and tabs), names compared without case. */
#pragma once

#include <algorithm>
#include <cctype>
#include <string_view>

namespace rt::sip::text {

inline bool iequal (std::string_view a, std::string_view b)
{
  return a.size () == b.size () &&
      std::equal (a.begin (), a.end (), b.begin (), [] (char x, char y) {
        return std::tolower ((unsigned char) x) ==
            std::tolower ((unsigned char) y);
      });
}

inline std::string_view trim (std::string_view s)
{
  while (!s.empty () && (s.front () == ' ' || s.front () == '\t'))
    s.remove_prefix (1);
  while (!s.empty () && (s.back () == ' ' || s.back () == '\t'))
    s.remove_suffix (1);
  return s;
}

}  // namespace rt::sip::text
