/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One realtime call: reconnection over a Peer (webrtc/), a Signaller
 * (signalling/) and an AgentSession (openai/).
 *
 * A call outlives faults: each attempt is a fresh Peer (webrtcbin is not
 * meant to be reused after a failure) and a fresh signalling session (a
 * fresh secret); a Supervisor decides between reconnecting (with backoff)
 * and failing, and the agent session replays the conversation so far into
 * each new attempt.
 *
 * The call runs on its own Worker thread, apart from the user's pipeline:
 * the elements push the user's audio in (push_audio) and receive the agent's
 * audio and events through CallObserver. Several elements of one pipeline
 * share a call through Call::obtain(). */
#pragma once

#include "core/latency_probes.h"
#include "core/worker.h"
#include "openai/conversation.h"
#include "openai/credentials.h"
#include "openai/history.h"
#include "openai/protocol.h"
#include "signalling/signaller.h"
#include "supervision.h"
#include "webrtc/prewarm.h"

#include <gst/gst.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace rt {

/* Receives what a call produces. Called from the call's threads: the worker
 * for transitions, events and errors, a streaming thread for audio.
 *
 * announce: this observer is the one that should tell the application (post
 * the bus message, the element error), so that a call shared by two
 * elements reports each thing once. */
class CallObserver {
 public:
  virtual ~CallObserver () = default;
  /* Every change of connection state, and every new fault while
   * reconnecting (the attempt number then grows). */
  virtual void on_transition (const Transition &t, bool announce)
  {
    (void) t;
    (void) announce;
  }
  virtual void on_server_event (const std::string &type,
      const std::string &json, bool announce)
  {
    (void) type;
    (void) json;
    (void) announce;
  }
  /* The call failed for good; error says why in the service's words. */
  virtual void on_error (const ServiceError &error, bool announce)
  {
    (void) error;
    (void) announce;
  }
  /* Decoded agent audio: S16LE, 48 kHz, mono. */
  virtual void on_audio (GstBuffer *buffer) { (void) buffer; }
  /* A piece of either side's transcript, or of the agent's text. */
  virtual void on_transcript (const Transcript &t, bool announce)
  {
    (void) t;
    (void) announce;
  }
  /* The model asks for a function to be run (Call::send_function_output). */
  virtual void on_function_call (const FunctionCall &c, bool announce)
  {
    (void) c;
    (void) announce;
  }
  /* The user barged in (or the service cleared its output): agent audio
   * still held must be dropped now. Called on the worker, before the
   * event's on_server_event. */
  virtual void on_interrupt () {}
};

/* The observers of a call, one of them the announcer: the primary one (the
 * element that gives the agent's output) if any, else the first. Any
 * thread. */
class ObserverSet {
 public:
  void add (std::shared_ptr<CallObserver> observer, bool primary);
  void remove (const std::shared_ptr<CallObserver> &observer);
  std::vector<std::shared_ptr<CallObserver>> snapshot () const;
  /* fn (observer, announce) for each, with no lock held: an observer may
   * end the call from there. */
  template <typename Fn> void each (Fn fn) const
  {
    std::shared_ptr<CallObserver> announcer;
    std::vector<std::shared_ptr<CallObserver>> all;
    {
      std::lock_guard<std::mutex> l (lock_);
      all = observers_;
      announcer = primary_ ? primary_ : (all.empty () ? nullptr : all.front ());
    }
    for (auto &o : all)
      fn (*o, o == announcer);
  }

 private:
  mutable std::mutex lock_;
  std::vector<std::shared_ptr<CallObserver>> observers_;
  std::shared_ptr<CallObserver> primary_;
};

struct CallSettings {
  SessionConfig session;         /* applied with session.update once open */
  unsigned jitterbuffer_ms = 40; /* webrtcbin latency */
  /* The user's audio as Opus (see PeerAudio): speech for a model, which
   * hears it at 24 kHz. */
  unsigned opus_bitrate = 64000;
  int opus_complexity = 5;
  bool opus_voice = false;
  unsigned offer_wait_ms = 0; /* wait for local candidates before posting */
  unsigned http_timeout_s = 10;
  unsigned ice_disconnect_grace_ms = 2000;
  unsigned media_timeout_ms = 3000;    /* 0: never */
  unsigned connect_timeout_ms = 10000; /* per attempt, to the open channel */
  ReconnectPolicy reconnect;
  HistoryLimits history;
  /* The agent session on the `oai-events` channel. Without it the call is
   * media alone (a phone leg, a test peer): connected once the peer
   * connection is, and events are refused. */
  bool agent_session = true;
};

struct CallStats {
  ConnectionState state = ConnectionState::Idle;
  std::string call_id;
  guint64 audio_in_dropped = 0; /* user buffers dropped while not connected */
  guint64 audio_in_sent = 0;
  guint64 events_in = 0;
  guint64 events_malformed = 0; /* not JSON, no type, or cut short */
  guint64 events_unknown = 0; /* valid, of a type this version does not know */
  guint64 events_reassembled = 0; /* arrived split by the transport, rebuilt */
  guint64 events_oversized = 0;   /* larger than any event is allowed to be */
  guint64 events_out = 0;
  guint64 agent_audio_discarded = 0; /* buffers of an interrupted reply */
  guint64 events_refused = 0;
  guint64 attempts = 0; /* calls tried, the first one included */
  guint64 reconnects = 0;
  guint64 history_replayed = 0;          /* items given to new calls */
  guint64 conversations_cleared = 0;     /* new_conversation() */
  std::map<std::string, guint64> faults; /* by fault_category() */
  std::map<std::string, guint64> events_in_by_type;
  std::map<std::string, guint64> events_out_by_type;
  guint64 secrets = 0;         /* credentials obtained, one per attempt */
  gint64 started_us = 0;       /* monotonic: start() */
  gint64 connect_time_us = -1; /* start() to the first connection */
  gint64 connected_us = 0; /* monotonic: the current call came up; 0 if down */
  gint64 connected_total_us = 0; /* time connected, calls that ended */
  TokenUsage tokens;             /* summed from response.done */
  /* From webrtcbin's statistics of the current call (sampled each second). */
  guint64 audio_packets_sent = 0, audio_bytes_sent = 0;
  guint64 audio_packets_received = 0, audio_bytes_received = 0;
  gint64 audio_packets_lost = 0;
  double audio_jitter_s = 0, round_trip_s = -1;
};

class Call {
 public:
  /* The call shared under key (typically the top-level pipeline and a
   * session name); created on first use, gone when the last holder drops. */
  static std::shared_ptr<Call> obtain (const std::string &key);

  explicit Call (std::string name);
  ~Call (); /* hangs up (bounded wait) and releases everything */

  Call (const Call &) = delete;
  Call &operator= (const Call &) = delete;

  /* A primary observer (the element that gives the agent's output) is
   * preferred as the announcer; otherwise the first one added. */
  void add_observer (std::shared_ptr<CallObserver> observer, bool primary);
  void remove_observer (const std::shared_ptr<CallObserver> &observer);

  /* Makes the call's signaller, on the call's worker. */
  using SignallerFactory = std::function<std::shared_ptr<Signaller> (Worker &)>;

  /* Starts the call once; later calls do nothing. The service's HTTP
   * signalling with secrets from credentials, or any signaller. The
   * signaller is released on the call's worker. */
  void start (std::shared_ptr<CredentialSource> credentials,
      CallSettings settings);
  void start (SignallerFactory make_signaller, CallSettings settings);
  /* Gets the call ready before it is wanted (an application parked in
   * READY): its peer built, the offer made and gathered, and the secret
   * minted. Nothing reaches the service before start(), which uses what
   * was prepared when it has the same credentials and media settings and
   * lets it go otherwise. A second prepare() keeps what still fits. ready
   * runs on the call's worker: with true once all of it is in hand (a
   * secret that could not be minted counts: start() will say why), with
   * false if the peer failed; not at all if start() or another prepare()
   * came first. */
  void prepare (std::shared_ptr<CredentialSource> credentials,
      CallSettings settings, std::function<void (bool)> ready);
  ConnectionState state () const { return state_.load (); }

  /* User audio (any timestamps; S16LE 48 kHz mono). Dropped, and counted,
   * unless the call is connected: a backlog sent in a burst would add its
   * length to the latency of the rest of the call. */
  void push_audio (GstBuffer *buffer);

  /* Sends one client event (JSON text). False, with *error set, when the
   * text is not a JSON event, too large, or the channel is not open. */
  bool send_event (const std::string &json, std::string *error);

  /* Applies session settings mid-call with a session.update carrying the
   * `changed` fields (protocol.h); `full` becomes what every later attempt
   * of the call starts with. False, with *error, for a voice change once
   * the agent has spoken (the service refuses it). */
  bool update_session (const SessionConfig &full, unsigned changed,
      std::string *error);

  /* Silences the agent here at once: observers drop what they hold and
   * audio still in the jitter buffer is dropped (a local barge-in; the
   * service is told separately). */
  void interrupt ();

  /* A new conversation on the same call (the next caller of a phone line):
   * the agent stops, held agent audio goes, and the service's conversation
   * is emptied; the session's settings stay. Any thread. */
  void new_conversation ();

  /* Answers a function call: function_call_output, then response.create
   * so that the model goes on. */
  bool send_function_output (const std::string &call_id,
      const std::string &output, std::string *error);

  CallStats stats () const;

  /* The audio's latency through the engine, measured by probes while
   * GST_REALTIME_LATENCY is set (core/latency_probes.h); null otherwise. */
  const std::shared_ptr<LatencyProbes> &latency () const { return latency_; }

  /* The largest client event the current call's channel takes. */
  gsize max_message_size () const;

 private:
  struct Impl;
  std::shared_ptr<LatencyProbes> latency_;
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> started_ { false };
  std::atomic<ConnectionState> state_ { ConnectionState::Idle };
  friend struct Impl;
};

}  // namespace rt
