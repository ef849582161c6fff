/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a listener would notice about a stretch of audio: how loud it is and
 * which frequency dominates it. */
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace test {

inline double rms (const std::vector<int16_t> &s, size_t from, size_t n)
{
  double acc = 0;
  for (size_t i = from; i < from + n && i < s.size (); i++)
    acc += double (s[i]) * s[i];
  return n ? std::sqrt (acc / n) / 32768.0 : 0;
}

/* Goertzel power at f over s[from, from+n). */
inline double power_at (const std::vector<int16_t> &s, size_t from, size_t n,
    double f, int rate)
{
  double w = 2 * M_PI * f / rate, c = 2 * std::cos (w), s1 = 0, s2 = 0;
  for (size_t i = from; i < from + n && i < s.size (); i++) {
    double s0 = s[i] / 32768.0 + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - c * s1 * s2;
}

/* The strongest frequency between 50 and 4000 Hz, to 5 Hz. */
inline double dominant_frequency (const std::vector<int16_t> &s, size_t from,
    size_t n, int rate = 48000)
{
  double best_f = 0, best_p = -1;
  for (double f = 50; f <= 4000; f += 5) {
    double p = power_at (s, from, n, f, rate);
    if (p > best_p) {
      best_p = p;
      best_f = f;
    }
  }
  return best_f;
}

/* Whether the 10 ms at i carry the tone: loud enough, and most of the
 * power at freq. */
inline bool tone_at (const std::vector<int16_t> &a, size_t i, double freq,
    int rate = 48000)
{
  const size_t n = rate / 100;
  if (i + n > a.size ())
    return false;
  double r = rms (a, i, n);
  if (r < 0.01)
    return false;
  return power_at (a, i, n, freq, rate) / (double (n) * n) > 0.2 * r * r;
}

/* Index of the first window of n samples whose RMS exceeds level, or -1. */
inline long first_loud_window (const std::vector<int16_t> &s, size_t from,
    size_t n, double level)
{
  for (size_t i = from; i + n <= s.size (); i += n / 4)
    if (rms (s, i, n) > level)
      return long (i);
  return -1;
}

}  // namespace test
