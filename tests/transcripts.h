/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The transcript signal of a Session's src, recorded for the call tests'
 * assertions. */
#pragma once

#include "session.h"

/* The transcript signal's pieces, recorded under the session's lock so
 * that Session::wait sees them. */
struct Transcripts {
  struct Piece {
    std::string role, item_id, text;
    bool final;
    GstClockTime running_time;
  };
  Session &s;
  std::vector<Piece> pieces; /* under s.m */

  explicit Transcripts (Session &session) : s (session)
  {
    g_signal_connect (s.src, "transcript", G_CALLBACK (on_transcript), this);
  }

  ~Transcripts () { g_signal_handlers_disconnect_by_data (s.src, this); }

  static void on_transcript (GstElement *, const char *role, const char *item,
      const char *text, gboolean final, gpointer data)
  {
    auto *self = static_cast<Transcripts *> (data);
    GstClockTime rt = GST_CLOCK_TIME_NONE;
    if (GstClock *clock = gst_element_get_clock (self->s.pipeline)) {
      rt = gst_clock_get_time (clock) -
          gst_element_get_base_time (self->s.pipeline);
      gst_object_unref (clock);
    }
    std::lock_guard<std::mutex> l (self->s.m);
    self->pieces.push_back ({ role, item, text, (bool) final, rt });
    self->s.cv.notify_all ();
  }

  /* Waits for the n-th final piece of role; false on timeout. */
  bool wait_final (const std::string &role, size_t n = 1,
      std::chrono::milliseconds t = 20s)
  {
    return s.wait (
        [&] {
          return (size_t) std::count_if (pieces.begin (), pieces.end (),
                     [&] (const Piece &p) {
                       return p.final && p.role == role;
                     }) >= n;
        },
        t);
  }

  std::vector<Piece> finals (const std::string &role)
  {
    std::lock_guard<std::mutex> l (s.m);
    std::vector<Piece> out;
    for (auto &p : pieces)
      if (p.final && p.role == role)
        out.push_back (p);
    return out;
  }

  std::string deltas (const std::string &role, const std::string &item)
  {
    std::lock_guard<std::mutex> l (s.m);
    std::string out;
    for (auto &p : pieces)
      if (!p.final && p.role == role && p.item_id == item)
        out += p.text;
    return out;
  }

  size_t count ()
  {
    std::lock_guard<std::mutex> l (s.m);
    return pieces.size ();
  }
};
