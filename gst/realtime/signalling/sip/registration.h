/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Registration of one address of record with its registrar (RFC 3261 10,
 * RFC 5626 outbound as browsers' SIP stacks do it over WebSocket). A pure
 * state machine: it makes the REGISTER requests and reads the responses;
 * its owner sends them, keeps the clock and calls refresh() when told. */
#pragma once

#include "signalling/sip/digest.h"
#include "signalling/sip/message.h"

#include <functional>
#include <optional>
#include <string>

namespace rt::sip {

/* Who this side is, the same for its registration and its calls. */
struct Identity {
  std::string aor;              /* sip:alice@example.org */
  std::string auth_user;        /* empty: the AOR's user */
  std::string password;         /* never in a message, only its digest */
  std::string display_name;     /* may be empty */
  std::string instance;         /* urn:uuid:... (RFC 5626), stable per phone */
  std::string contact_uri;      /* sip:<random>@<random>.invalid;transport=ws */
  std::string via_host;         /* <random>.invalid */
  std::string transport = "WS"; /* or WSS */
  std::string user_agent;
  unsigned expires = 600; /* asked for, in seconds */
};

/* A random token of letters and digits (for tags, branches, Call-IDs). */
std::string random_token (size_t length = 10);
/* The identity's From/To address: "Name" <aor>. */
std::string address_of (const Identity &id);

class Registration {
 public:
  enum class State { Idle, Registering, Registered, Unregistering, Failed };

  /* What a call decided: a request to send, and where it stands. */
  struct Step {
    std::optional<Message> send;
    State state = State::Idle;
    int status = 0;             /* of the response that decided it */
    std::string reason;         /* its reason phrase, or why it failed here */
    unsigned expires_s = 0;     /* Registered: what the registrar granted */
    unsigned refresh_in_ms = 0; /* Registered: when to call refresh() */
    bool auth_failed = false;   /* the credentials were refused */
  };

  explicit Registration (
      Identity identity,
      std::function<std::string ()> token = [] { return random_token (); });

  Step start ();
  /* Before the granted time runs out: the same Call-ID, the next CSeq. */
  Step refresh ();
  /* Removes the binding (expires=0). */
  Step stop ();
  /* A response to the last request; `when` in [0, 1) picks the refresh
   * point in the second half of the granted time (as browsers' stacks do,
   * so that many phones do not refresh together). */
  Step on_response (const Message &response, double when);
  /* Whether a response belongs to the last request (Call-ID, CSeq, and the
   * branch of its Via). */
  bool matches (const Message &response) const;

  State state () const { return state_; }

 private:
  Message request (unsigned expires);
  Step step (State s, int status = 0, std::string reason = {});

  Identity id_;
  std::function<std::string ()> token_;
  std::string call_id_;
  std::string from_tag_;
  unsigned long cseq_ = 0;
  std::string branch_;
  unsigned asked_ = 0; /* expires of the last request */
  State state_ = State::Idle;
  /* The challenge the last request answered (empty: it answered none), so
   * that a second challenge means the password is wrong. */
  std::string answered_nonce_;
  unsigned nc_ = 0;
  unsigned stale_answers_ = 0; /* in a row */
};

}  // namespace rt::sip
