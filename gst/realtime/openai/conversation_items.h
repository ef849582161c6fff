/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the service's conversation holds, learnt from its events, so that it
 * can be emptied for a new conversation on the same call: the next caller
 * of a phone line meets an agent that knows nothing of the last one,
 * without the time and cost of a new call. Pure json-glib, unit-tested
 * alone (tests/supervision.cpp). */
#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <vector>

typedef struct _JsonObject JsonObject;

namespace rt {

class ConversationItems {
 public:
  /* Reads one server event. While the conversation is being emptied, what
   * was already on its way from before (a reply the service had begun, an
   * item it had added) must go as well: the client events that see to it,
   * to be sent at once. */
  std::vector<std::string> observe_server_event (const std::string &type,
      JsonObject *event);

  /* The client events that empty the conversation, in the order the
   * service wants them: the reply under way cancelled, the audio it still
   * plays cleared, every item deleted, and last the user's uncommitted
   * audio cleared, whose answer (input_audio_buffer.cleared) says that the
   * service has done all of it (it handles client events in order). Until
   * that answer, and until every reply cancelled meanwhile is done (a reply
   * goes on sending events after later client events are handled),
   * clearing() holds. */
  std::vector<std::string> clear_events ();
  bool clearing () const { return clearing_ || cancelled_ > 0; }

  /* A client event that answers a function call of an emptied
   * conversation: sent, it would start a reply to the next user about the
   * last one's request. */
  bool answers_stale_call (JsonObject *client_event) const;

  /* A new call: its conversation starts empty. */
  void forget ();

  std::size_t size () const { return order_.size (); }
  bool responding () const { return responding_; }
  bool playing () const { return playing_; }

 private:
  std::vector<std::string> order_; /* item ids, as the service added them */
  std::set<std::string> call_ids_; /* function calls of this conversation */
  std::set<std::string> stale_call_ids_; /* of emptied ones (bounded) */
  bool responding_ = false; /* response.created, no response.done yet */
  bool playing_ = false;    /* the service's output buffer is playing */
  bool clearing_ = false;   /* until input_audio_buffer.cleared */
  unsigned cancelled_ = 0;  /* replies cancelled, not yet done */
};

}  // namespace rt
