/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The agent session: what the service's `oai-events` data channel means.
 * Once the channel opens, the session is applied (session.update) and the
 * conversation so far replayed; each server event is put back together
 * (the transport splits long ones), read once, counted, remembered for the
 * next call and handed on; client events are checked before they leave.
 *
 * One per call, across its attempts: attach() each attempt's channel,
 * detach() it when the attempt ends. Runs on the call's worker, except the
 * few calls marked "any thread". */
#pragma once

#include "openai/assembler.h"
#include "openai/conversation.h"
#include "openai/conversation_items.h"
#include "openai/history.h"
#include "openai/protocol.h"
#include "supervision.h"
#include "webrtc/peer.h"

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace rt {

struct AgentStats {
  guint64 events_in = 0;
  guint64 events_malformed = 0; /* not JSON, no type, or cut short */
  guint64 events_unknown = 0; /* valid, of a type this version does not know */
  guint64 events_reassembled = 0; /* arrived split by the transport, rebuilt */
  guint64 events_oversized = 0;   /* larger than any event is allowed to be */
  guint64 events_out = 0;
  guint64 events_refused = 0;
  guint64 history_replayed = 0;      /* items given to new calls */
  guint64 conversations_cleared = 0; /* new_conversation() */
  std::map<std::string, guint64> events_in_by_type;
  std::map<std::string, guint64> events_out_by_type;
  TokenUsage tokens; /* summed from response.done */
};

class AgentSession {
 public:
  struct Events {
    /* The channel is open, the session applied: the call is connected. */
    std::function<void ()> opened;
    /* The channel closed or failed, or the service ended the call. */
    std::function<void (FaultKind, const std::string &)> fault;
    /* The user barged in: agent audio held anywhere must go now. Before
     * the event that caused it is handed on. */
    std::function<void ()> interrupt;
    /* Every valid server event, read. */
    std::function<void (const std::string &type, const std::string &json,
        const EventMeaning &meaning)>
        event;
  };

  AgentSession (std::string name, Events events);

  /* Before the first attach(). jitterbuffer_ms: the call's, for how long
   * a reply's end may still be held here. */
  void configure (const SessionConfig &session, HistoryLimits limits,
      unsigned jitterbuffer_ms);

  /* This attempt's channel; max_message is the far end's limit. */
  void attach (std::shared_ptr<DataChannel> channel, gsize max_message);
  void set_max_message (gsize max_message);
  /* The attempt is over: what is held is reported cut short. */
  void detach ();

  /* The session every later attempt starts with. */
  void set_session (const SessionConfig &session) { session_ = session; }
  /* Sends the changed fields now, if open. */
  void update_session (const SessionConfig &full, unsigned changed);

  /* A new conversation on the same call: the service's is emptied (when
   * the channel is open) and nothing of the old one is replayed to a later
   * attempt; the session's settings stay. */
  void new_conversation ();

  /* Any thread: whether the text may be sent now (a JSON client event,
   * within the channel's limit, channel open); its type when it may. */
  std::optional<std::string> admit (const std::string &json,
      std::string *error);
  /* Sends an admitted event; remembered for the next call when sent. */
  bool send (const std::string &json, const std::string &type,
      std::string *error);

  /* Any thread. */
  bool is_open () const;
  bool agent_spoke () const;
  gsize max_message_size () const;
  AgentStats stats () const;

 private:
  void opened ();
  void handle (const std::string &text);
  void handle_piece (Assembled &piece);
  void refused ();
  /* Sends an event of our own (admitted first), warning if it cannot. */
  bool send_own (const std::string &json);
  bool answers_stale_call (const std::string &json) const;
  /* Sends without remembering (the session, replayed items). */
  bool transmit (const std::string &json, const std::string &type,
      std::string *error);

  const std::string name_;
  SessionConfig session_;
  ConversationHistory history_;
  ConversationItems items_;
  Events events_;
  std::shared_ptr<DataChannel> channel_;
  std::unique_ptr<EventAssembler> assembler_;
  unsigned attachment_ = 0; /* which attempt's channel */

  mutable std::mutex lock_;
  bool open_ = false;        /* under lock_ */
  bool agent_spoke_ = false; /* under lock_: this attempt's */
  ReplyAudio reply_audio_;   /* under lock_ */
  gsize max_message_;        /* under lock_ */
  AgentStats stats_;         /* under lock_ */
};

}  // namespace rt
