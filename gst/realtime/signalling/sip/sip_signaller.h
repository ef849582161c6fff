/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SIP over WebSocket as a Signaller: the line (UserAgent: registration,
 * transport) and one call at a time on it (InviteSession). A session is a
 * call, named by its Call-ID. SIP does not trickle: the owner sends its
 * description once gathering is done, with the candidates in it. A call
 * in is a session the far end requested with its offer; the owner answers
 * it when the application says so (the phone rings meanwhile).
 *
 * What SIP adds to the common interface (ringing, hold, DTMF by INFO,
 * transfer, statuses) comes through SipEvents and the methods below. On
 * the owner's worker, like every Signaller. */
#pragma once

#include "signalling/signaller.h"
#include "signalling/sip/invite_session.h"
#include "signalling/sip/user_agent.h"

#include <atomic>
#include <memory>
#include <optional>

namespace rt::sip {

struct SipEvents {
  std::function<void (Registration::State, int status,
      const std::string &reason)>
      registration;
  /* A call's state changed (or said something new: 183 after 180); from a
   * dispatch of its own, like every event here. */
  std::function<void (const std::string &session, InviteSession::State,
      int status, const std::string &reason)>
      call_state;
  /* A call arrives: said before session_requested brings its offer. */
  std::function<void (const std::string &session, const std::string &from,
      const std::string &display)>
      incoming;
  std::function<void (const std::string &session, char digit,
      unsigned duration_ms)>
      dtmf;
  /* A transfer's progress (a status in the far end's NOTIFY, or the REFER
   * refused); done when it is over either way. */
  std::function<void (const std::string &session, int status, bool done)>
      transfer;
};

class SipSignaller : public Signaller {
 public:
  SipSignaller (Worker &worker, UserAgentConfig config, SipEvents events);
  ~SipSignaller () override;

  SignallerCapabilities capabilities () const override;
  /* Starts the line (registers); calls come with dial() or from the far
   * end. */
  void start () override;
  /* Ends the call (BYE or CANCEL, not waited for), removes the
   * registration (bounded) and closes the line. */
  void stop (std::function<void ()> done) override;
  void send_description (const std::string &session,
      const SessionDescription &description) override;
  void end_session (const std::string &session) override;
  std::map<std::string, guint64> counters () const override;

  /* A call out: session_requested follows (without an offer) and the
   * owner's offer makes the INVITE. Empty when a call is already up. */
  std::string dial (const std::string &target);
  /* A call in, still ringing, turned away with status (486, 603...). */
  void reject (const std::string &session, int status);
  bool hold (const std::string &session, bool on);
  bool send_info_dtmf (const std::string &session, char digit, unsigned ms);
  bool transfer (const std::string &session, const std::string &target);

  /* The call in progress (empty: none), and its state. */
  const std::string &session () const { return session_; }
  std::optional<InviteSession::State> call_state () const;
  Registration::State registration () const { return line_->state (); }

 private:
  bool on_request (const Message &m);
  void on_response (const Message &m);
  void apply (const InviteSession::Step &step);
  void arm_timer ();
  void later (std::function<void ()> fn);
  void count_status (int status);

  Worker &worker_;
  SipEvents events_;
  std::unique_ptr<UserAgent> line_;
  std::optional<InviteSession> call_;
  std::string session_;
  std::string target_; /* dialled, until the offer comes */
  guint timer_ = 0;
  bool stopping_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool> (true);
  std::atomic<guint64> calls_in_ { 0 }, calls_out_ { 0 }, busy_ { 0 },
      status_1xx_ { 0 }, status_2xx_ { 0 }, status_3xx_ { 0 },
      status_4xx_ { 0 }, status_5xx_ { 0 }, status_6xx_ { 0 };
};

}  // namespace rt::sip
