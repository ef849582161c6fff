/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A phone: one SIP line (SipSignaller) and, for the call in progress, one
 * WebRTC Peer. It places and takes calls, carries audio both ways, DTMF
 * (RFC 4733 or SIP INFO), hold and transfer, and says where it stands.
 * The sipphone element is its GStreamer face; this is testable without a
 * pipeline. Runs on the owner's worker, except where a method says. */
#pragma once

#include "core/worker.h"
#include "signalling/sip/sip_signaller.h"
#include "webrtc/peer.h"

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <utility>

namespace rt {

enum class PhoneState {
  Idle,
  Registering,
  Registered,
  Calling,
  Ringing,
  Connected,
  Held,
  Ended,
  Failed,
};

enum class DtmfMethod { Rtp, Info };

struct PhoneConfig {
  sip::UserAgentConfig line;
  bool auto_answer = false;
  DtmfMethod dtmf = DtmfMethod::Rtp;
  unsigned latency_ms = 40; /* the jitter buffer */
  unsigned dtmf_ms = 100;   /* each digit's length */
};

class Phone {
 public:
  struct Events {
    /* The line's registration (from SipEvents), for the application to
     * hear of a lost line or refused credentials. */
    std::function<void (sip::Registration::State, int status,
        const std::string &reason)>
        registration;
    /* Every change of a call, with the SIP status and reason that made it. */
    std::function<void (PhoneState, int status, const std::string &reason)>
        state;
    std::function<void (const std::string &from, const std::string &display,
        const std::string &call_id)>
        incoming_call;
    /* A digit from the far end: 0-9 * # A-D; method "rtp" or "info". */
    std::function<void (char digit, const char *method)> dtmf;
    std::function<void (int status, bool done)> transfer;
    /* Something the application should hear of (a call that could not
     * be set up here). */
    std::function<void (const std::string &message)> warning;
    /* The far end's audio, S16LE 48 kHz mono: on a streaming thread. */
    std::function<void (GstBuffer *)> audio;
  };

  Phone (Worker &worker, PhoneConfig config, Events events);
  ~Phone (); /* stop() */

  void start ();
  /* Hangs up, unregisters (bounded) and closes the line. */
  void stop ();

  /* false when a call is already under way. */
  bool call (const std::string &uri);
  bool answer ();
  bool reject (int status);
  bool hangup ();
  bool hold (bool on);
  /* Digits 0-9 * # A-D (others skipped), one after another. */
  bool send_dtmf (const std::string &digits);
  bool transfer (const std::string &uri);
  void set_auto_answer (bool on) { auto_answer_.store (on); }
  /* Any thread. */
  void set_mute (bool on) { mute_.store (on); }
  void set_dtmf_method (DtmfMethod m)
  {
    dtmf_info_.store (m == DtmfMethod::Info);
  }

  /* Any thread: audio to send (S16LE 48 kHz mono), taken only while a
   * call is connected and not held; silence instead while muted. */
  void push_audio (GstBuffer *buffer);

  PhoneState state () const { return state_.load (); }
  /* Any thread: a call is being made, rings, or is up. */
  bool in_call () const;
  /* On the worker: the line is registered now. */
  bool registered () const
  {
    return line_->registration () == sip::Registration::State::Registered;
  }
  /* Any thread: the line's counters, calls and audio packets. */
  std::map<std::string, guint64> counters () const;

 private:
  void on_state (const std::string &s, sip::InviteSession::State st, int status,
      const std::string &reason);
  void session_requested (const std::string &s,
      const std::optional<SessionDescription> &offer);
  void start_peer (PeerRole role, AudioCodec codec, int pt);
  void described ();
  void end_call ();
  void set_state (PhoneState s, int status, const std::string &reason);
  void next_digit ();

  Worker &worker_;
  PhoneConfig config_;
  Events events_;
  std::unique_ptr<sip::SipSignaller> line_;
  /* Written on the worker; push_audio() takes a reference under the
   * lock. */
  std::shared_ptr<Peer> peer_;
  std::mutex peer_lock_;
  std::string session_;
  std::optional<SessionDescription> offer_;    /* a call in, until answered */
  std::pair<std::string, std::string> caller_; /* its URI, display name */
  bool local_ready_ = false, gathered_ = false, sent_ = false;
  guint gather_timer_ = 0;
  std::deque<char> digits_;
  guint digit_timer_ = 0;
  std::atomic<PhoneState> state_ { PhoneState::Idle };
  std::atomic<bool> auto_answer_ { false };
  std::atomic<bool> mute_ { false };
  std::atomic<bool> dtmf_info_ { false };
  std::atomic<bool> sending_ { false };
  std::atomic<bool> in_call_ { false };
  std::atomic<gint64> connected_at_us_ { 0 };
  std::atomic<guint64> last_call_us_ { 0 }; /* the last call's length */
  std::atomic<guint64> packets_out_ { 0 }, packets_in_ { 0 }, dtmf_in_ { 0 },
      dtmf_out_ { 0 };
};

}  // namespace rt
