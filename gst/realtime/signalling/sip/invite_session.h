/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One call as SIP sees it: the INVITE dialog and its offer/answer (RFC 3261
 * 12-17, RFC 3264), from either side. A pure state machine: its owner feeds
 * it the far end's messages and the application's wishes, and sends what
 * each step says; it keeps no clock (the owner calls timeout() when a
 * transaction it was told is waiting gets no answer in time) and touches no
 * media (the descriptions are strings, made and used by the owner's peer).
 *
 * In the dialog: BYE either way; CANCEL before an answer; hold and resume
 * by re-INVITE; re-INVITE and UPDATE from the far end (session timers
 * refresh with them) answered with this side's description, its direction
 * answering the offer's; DTMF by SIP INFO (application/dtmf-relay) both
 * ways; transfer by REFER with its NOTIFY progress. Digest challenges (401,
 * 407) are answered once per request. */
#pragma once

#include "signalling/sip/message.h"
#include "signalling/sip/registration.h"
#include "signalling/sip/session_sdp.h"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rt::sip {

class InviteSession {
 public:
  enum class Role { Caller, Callee };
  enum class State {
    Calling,   /* INVITE sent, nothing back but 100 */
    Ringing,   /* the far end rings (180/183), or this side does */
    Connected, /* answered */
    Held,      /* answered; on hold at either end */
    Ending,    /* BYE or CANCEL sent, its answer awaited */
    Ended,
  };

  struct Step {
    std::vector<Message> send;
    /* The session's state after this step, when the step changed it (or
     * said something new of it: an early 183 after a 180). */
    std::optional<State> state;
    int status = 0;     /* the response that decided it, or the one sent */
    std::string reason; /* its reason phrase, or what happened */
    /* The far end's description, to give to the peer: the caller gets the
     * answer (early from a 183), the callee the offer (when the call
     * arrives). Once per session: a later one repeating it is not given. */
    std::optional<std::string> remote_sdp;
    bool early = false; /* remote_sdp came with a provisional response */
    /* A digit the far end sent by SIP INFO: 0-9, '*', '#', A-D. */
    std::optional<char> dtmf;
    unsigned dtmf_ms = 0;
    /* A transfer's progress: the status line in a NOTIFY's sipfrag (or a
     * REFER refused: its own status); transfer_done when no more come. */
    int transfer_status = 0;
    bool transfer_done = false;
  };

  /* A call out, to target (a SIP URI), offering sdp (complete, with its
   * candidates: SIP does not trickle). */
  static InviteSession outgoing (
      const Identity &identity, const std::string &target,
      std::function<std::string ()> token = [] { return random_token (); });
  Step invite (const std::string &sdp);

  /* A call in: an INVITE outside any dialog. The step answers it with 180
   * Ringing and gives its offer (remote_sdp, empty for a late offer). */
  static InviteSession incoming (
      const Identity &identity, const Message &invite, Step *first,
      std::function<std::string ()> token = [] { return random_token (); });

  /* The callee takes the call: 200 with sdp (its answer). */
  Step answer (const std::string &sdp);
  /* The callee turns it away (486 Busy Here, 603 Decline...). */
  Step reject (int status, const std::string &reason);
  /* Whatever ends it now: CANCEL (or once the far end answers with 1xx),
   * BYE, or 603 to a call still ringing here. */
  Step hangup ();
  /* Puts the far end on hold (sendonly) or takes it off (sendrecv), by
   * re-INVITE; false when not connected or a re-INVITE is under way. */
  std::optional<Step> hold (bool on);
  /* One digit (0-9 * # A-D) by SIP INFO, lasting ms. */
  std::optional<Step> send_info_dtmf (char digit, unsigned ms);
  /* Asks the far end to call target (REFER); progress follows as
   * transfer_status. */
  std::optional<Step> refer (const std::string &target);

  /* Whether a message belongs to this session (Call-ID and tags). */
  bool matches (const Message &m) const;
  /* A request or response of this session. */
  Step on_message (const Message &m);
  /* What waited for an answer (waiting()) did not get one in time. */
  Step timeout ();
  /* A transaction of this side waits: a request for its final response,
   * or a 200 for its ACK. The owner bounds the wait (RFC 3261 timer B/F,
   * 32 s). */
  bool waiting () const;

  Role role () const { return role_; }
  State state () const { return state_; }
  const std::string &call_id () const { return call_id_; }
  /* The far end as it named itself (From or To), and its display name. */
  const std::string &remote_uri () const { return remote_uri_; }
  const std::string &remote_display () const { return remote_display_; }
  bool held_here () const { return local_hold_; }
  bool held_there () const { return remote_hold_; }

 private:
  InviteSession (const Identity &identity, Role role,
      std::function<std::string ()> token);

  struct Pending {
    Message request; /* as first made, without credentials */
    Message sent;    /* as sent (its branch, its credentials) */
    bool authorised = false;
  };

  Message dialog_request (const std::string &method);
  Message same_transaction (const Message &invite, const char *method,
      const std::string &to);
  Message ack_for (const Message &response, const Message &invite);
  Message cancel_for (const Message &invite);
  Message answer_to (const Message &request, int status,
      const std::string &reason);
  Step send_request (Message request);
  Step on_request (const Message &m);
  Step on_response (const Message &m);
  Step on_invite_response (const Message &m, const Pending &p);
  Step end (int status, std::string reason, Step out);
  Step end (int status, std::string reason)
  {
    return end (status, std::move (reason), Step ());
  }
  Step set_state (State s, int status, std::string reason, Step out);
  std::optional<Message> authorised (const Message &response, Pending &p);
  void learn_dialog (const Message &response, bool confirms);
  std::string local_sdp_for (const std::string &direction);
  static void session_timer (const Message &request, Message &ok);
  void take_local_sdp (const std::string &sdp);
  void take_remote_setup (const std::string &answer);

  Identity id_;
  Role role_;
  std::function<std::string ()> token_;
  State state_ = State::Calling;
  std::string call_id_;
  std::string local_tag_, remote_tag_;
  std::string local_addr_, remote_addr_; /* name-addr, without tags */
  std::string remote_uri_, remote_display_;
  std::string request_uri_;   /* of the initial INVITE */
  std::string remote_target_; /* the far end's Contact */
  std::vector<std::string> route_set_;
  unsigned long local_cseq_ = 0;
  unsigned long remote_cseq_ = 0;
  std::map<unsigned long, Pending> pending_; /* by CSeq number */
  unsigned long invite_cseq_ = 0;            /* of the INVITE under way */
  bool cancel_wanted_ = false;               /* once a 1xx comes */
  bool provisional_ = false;                 /* a 1xx has come */
  bool remote_sdp_given_ = false;
  std::optional<Message> invite_in_; /* the callee's INVITE */
  bool awaiting_ack_ = false;
  unsigned long last_acked_ = 0; /* the INVITE whose 2xx was ACKed */
  Message last_ack_;             /* that ACK, for the 2xx repeated */
  std::string local_sdp_;
  std::string local_direction_;
  std::string local_setup_; /* the DTLS role agreed: active or passive */
  unsigned sdp_version_ = 0;
  bool local_hold_ = false, remote_hold_ = false;
  bool reinvite_out_ = false;
  bool hold_before_ = false; /* restored when a hold is refused */
  bool refer_sent_ = false;
  std::string nonce_; /* the last challenge answered, for nc */
  unsigned nc_ = 0;
};

}  // namespace rt::sip
