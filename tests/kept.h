/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* g_assert_cmpstr keeps its arguments' pointers past the statement that
 * made them: what they point into must outlive it. For strings made by
 * the code under test (temporaries). */
#pragma once

#include <deque>
#include <optional>
#include <string>

namespace test {

inline const char *kept (std::optional<std::string> v)
{
  static std::deque<std::string> store;
  store.push_back (v ? *v : "<none>");
  return store.back ().c_str ();
}

inline const char *kept (std::string v)
{
  return kept (std::optional<std::string> (std::move (v)));
}

}  // namespace test
