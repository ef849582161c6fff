/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The conversation so far, as text, so that a new call after a fault (or
 * after the service's 60-minute limit) starts with the agent's context.
 *
 * It learns from the events that pass: the user's transcribed speech, the
 * agent's transcripts and text, and message items the application sent.
 * Bounded by items and characters; the oldest go first. Pure json-glib. */
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <vector>

typedef struct _JsonObject JsonObject;

namespace rt {

struct HistoryLimits {
  bool enabled = true;
  std::size_t max_items = 50;
  std::size_t max_chars = 20000; /* Unicode characters, all items together */
};

class ConversationHistory {
 public:
  struct Entry {
    std::string role; /* user, assistant or system */
    std::string text;
  };

  explicit ConversationHistory (HistoryLimits limits = {}) : limits_ (limits) {}

  void set_limits (HistoryLimits limits);
  void observe_server_event (const std::string &type, const std::string &json);
  /* The same, from the event already parsed. */
  void observe_server_event (const std::string &type, JsonObject *event);
  void observe_client_event (const std::string &json);
  void add (const std::string &role, const std::string &text);
  void clear ();

  const std::deque<Entry> &entries () const { return entries_; }
  std::size_t chars () const { return chars_; }

  /* conversation.item.create events that give a new call this history, in
   * order; each fits max_message_bytes (long texts are cut at a character
   * boundary). */
  std::vector<std::string> replay_events (std::size_t max_message_bytes) const;

 private:
  void trim ();
  static bool remembers (const std::string &type);

  HistoryLimits limits_;
  std::deque<Entry> entries_;
  std::size_t chars_ = 0;
};

}  // namespace rt
