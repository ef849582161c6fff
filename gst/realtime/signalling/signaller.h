/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* How descriptions and candidates travel between two peers: one interface,
 * one implementation per protocol in this folder (the service's HTTP POST,
 * a direct in-process one for tests; the browser WebSocket and SIP follow
 * the same shape).
 *
 * A signaller carries sessions. Its owner calls it on the owner's worker,
 * and it answers there through Handlers, naming the session each time, so
 * that news of a session the owner has given up on is recognised. Faults
 * arrive already classified (supervision.h): an owner never sees the
 * transport (HTTP statuses, WebSocket closes) underneath. */
#pragma once

#include "supervision.h"

#include <gst/webrtc/webrtc.h>

#include <functional>
#include <map>
#include <optional>
#include <string>

namespace rt {

struct SessionDescription {
  GstWebRTCSDPType type = GST_WEBRTC_SDP_TYPE_OFFER;
  std::string sdp;
};

struct SignallerCapabilities {
  /* Candidates travel one by one; otherwise the description carries them
   * all (send_description wants the local description with candidates). */
  bool trickle = false;
  /* The far end may make the offer (session_requested carries it). */
  bool remote_offers = false;
  /* The far end is on this host: gather ICE candidates on loopback. */
  bool far_end_local = false;
};

class Signaller {
 public:
  struct Handlers {
    /* A session may begin: without an offer, the owner makes one and sends
     * it; with one (the far end offered), the owner answers it. */
    std::function<void (const std::string &session,
        const std::optional<SessionDescription> &offer)>
        session_requested;
    /* The far end's answer (or, renegotiating, its offer). far_end_id names
     * the session at the far end (the service's call id), if it has one. */
    std::function<void (const std::string &session, const SessionDescription &,
        const std::string &far_end_id)>
        remote_description;
    std::function<void (const std::string &session, unsigned mline,
        const std::string &candidate)>
        remote_candidate;
    /* The session is over: the far end hung up (FaultKind::ChannelClosed) or the
     * signalling failed (the fault says how). */
    std::function<void (const std::string &session, const Fault &)>
        session_ended;
  };

  virtual ~Signaller () = default;

  void set_handlers (Handlers handlers) { handlers_ = std::move (handlers); }
  virtual SignallerCapabilities capabilities () const = 0;

  /* Opens a new session: the signaller gets ready (connects, obtains a
   * secret) and says session_requested. Several may follow one another;
   * each start() supersedes the previous session. */
  virtual void start () = 0;
  /* Before any session: gets what the next start() needs and can have
   * ahead (the service's exchange mints its secret), so that start() does
   * not wait for it. ready runs on the owner's worker once that is in hand
   * or failed (at once when there is nothing to get). */
  virtual void prepare (std::function<void ()> ready) { ready (); }
  /* Ends every session, telling the far end; done runs once that is said
   * or given up on (the owner bounds its wait). */
  virtual void stop (std::function<void ()> done) = 0;

  virtual void send_description (const std::string &session,
      const SessionDescription &description) = 0;
  /* Without trickle, a signaller may still add a candidate to a
   * description that has not left yet. */
  virtual void send_candidate (const std::string &session, unsigned mline,
      const std::string &candidate)
  {
    (void) session;
    (void) mline;
    (void) candidate;
  }
  /* Ends one session at the far end without waiting. */
  virtual void end_session (const std::string &session) = 0;

  /* Counters for the owner's statistics (e.g. "secrets"). */
  virtual std::map<std::string, guint64> counters () const { return {}; }

 protected:
  /* Each calls its handler through a copy: the owner may drop the
   * signaller from inside a handler (a fault that ends the call). */
  void emit_session_requested (const std::string &session,
      const std::optional<SessionDescription> &offer)
  {
    if (auto h = handlers_.session_requested)
      h (session, offer);
  }
  void emit_remote_description (const std::string &session,
      const SessionDescription &d, const std::string &far_end_id)
  {
    if (auto h = handlers_.remote_description)
      h (session, d, far_end_id);
  }
  void emit_remote_candidate (const std::string &session, unsigned mline,
      const std::string &candidate)
  {
    if (auto h = handlers_.remote_candidate)
      h (session, mline, candidate);
  }
  void emit_session_ended (const std::string &session, const Fault &f)
  {
    if (auto h = handlers_.session_ended)
      h (session, f);
  }

  Handlers handlers_;
};

}  // namespace rt
