/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "call_impl.h"

#include "core/debug.h"
#include "core/redact.h"
#include "openai/answer.h"

#include <thread>

#define GST_CAT_DEFAULT rt_call_debug

namespace rt {

namespace {

FaultKind fault_of (PeerError::Kind kind)
{
  switch (kind) {
    case PeerError::Kind::Missing: return FaultKind::Unsupported;
    case PeerError::Kind::Dtls: return FaultKind::Dtls;
    case PeerError::Kind::Negotiation: return FaultKind::BadAnswer;
    case PeerError::Kind::Pipeline:
    default: return FaultKind::Pipeline;
  }
}

}  // namespace

Call::Impl::Impl (Call *c, std::string n)
    : owner (c), name (std::move (n)),
      agent (std::make_unique<AgentSession> (name, agent_events ())),
      worker (("rtcall-" + name).c_str ())
{
  watch = std::make_unique<AttemptWatch> (worker, watch_events ());
  CallPreparation::Hooks hooks;
  hooks.signaller_handlers = [this] { return signaller_handlers (); };
  hooks.peer_events = [this] { return peer_events (); };
  hooks.peer_config = [this] (const CallSettings &s, Signaller &sig) {
    return peer_config (s, sig, 1);
  };
  hooks.offer_made = [this] { return early_offer.has_value (); };
  hooks.new_peer = [this] { early_offer.reset (); };
  prepared = std::make_unique<CallPreparation> (worker, std::move (hooks));
}

void Call::Impl::publish (const Transition &t)
{
  owner->state_.store (t.state);
  {
    std::lock_guard<std::mutex> l (lock);
    stats.state = t.state;
  }
  GST_INFO ("call %s: %s (attempt %u)%s%s", name.c_str (),
      connection_state_name (t.state), t.attempt, t.reason.empty () ? "" : ": ",
      redact (t.reason).c_str ());
  observers.each (
      [&] (CallObserver &o, bool announce) { o.on_transition (t, announce); });
}

void Call::Impl::interrupt ()
{
  discard_until_us.store (g_get_monotonic_time () +
      (gint64) (settings.jitterbuffer_ms + 20) * 1000);
  for (auto &o : observers.snapshot ())
    o->on_interrupt ();
}

void Call::Impl::start ()
{
  running = true;
  signaller = make_signaller (worker);
  signaller->set_handlers (signaller_handlers ());
  supervisor = Supervisor (settings.reconnect);
  agent->configure (settings.session, settings.history,
      settings.jitterbuffer_ms);
  {
    std::lock_guard<std::mutex> l (lock);
    stats.started_us = g_get_monotonic_time ();
  }
  publish (supervisor.start ());
  if (!closing)
    begin_attempt ();
}

void Call::Impl::fault (FaultKind kind, const std::string &message)
{
  Fault f;
  f.kind = kind;
  f.error.message = message;
  fault (f);
}

void Call::Impl::fault (const Fault &f)
{
  if (closing || !current_peer ())
    return;
  Decision d = supervisor.fault (f, g_random_double ());
  const char *category = fault_category (f.kind);
  ServiceError said = f.error;
  if (error_context)
    said.context = error_context ();
  GST_WARNING ("call %s: %s fault: %s", name.c_str (), category,
      redact (said.describe ()).c_str ());
  {
    std::lock_guard<std::mutex> l (lock);
    stats.faults[category]++;
  }
  end_attempt (true);
  publish (d.transition);
  if (closing)
    return;
  if (!d.retry) {
    ServiceError error = said;
    if (!fault_is_fatal (f.kind)) {
      /* Attempts exhausted: say so, with the last fault. */
      error = ServiceError ();
      error.message = d.transition.reason;
      error.context = said.context;
    }
    observers.each (
        [&] (CallObserver &o, bool announce) { o.on_error (error, announce); });
    return;
  }
  GST_INFO ("call %s: attempt %u in %u ms", name.c_str (), d.transition.attempt,
      d.delay_ms);
  retry_timer = worker.post_after (d.delay_ms, [this] {
    retry_timer = 0;
    if (closing)
      return;
    supervisor.retrying ();
    {
      std::lock_guard<std::mutex> l (lock);
      stats.reconnects++;
    }
    begin_attempt ();
  });
}

void Call::Impl::begin_attempt ()
{
  generation++;
  attempt_connected = false;
  {
    std::lock_guard<std::mutex> l (lock);
    stats.attempts++;
    stats.call_id.clear ();
  }
  const PeerConfig config = peer_config (settings, *signaller, generation);
  std::shared_ptr<Peer> p;
  if (generation == 1)
    p = prepared->take_peer (config, *signaller);
  else
    prepared->drop ();
  if (p) {
    GST_INFO ("call %s: using the peer prepared ahead", name.c_str ());
    offer_pending = !early_offer;
  } else {
    early_offer.reset ();
    offer_pending = false;
    p = std::make_shared<Peer> (worker, config, peer_events ());
  }
  const bool built = p->started ();
  {
    std::lock_guard<std::mutex> l (lock);
    peer = p;
  }
  /* First: what the far end needs before our offer (a secret to mint)
     * goes on while the peer is built. Its events come later, on this
     * worker, once the peer is started or has failed. */
  signaller->start ();
  if (!built && !p->start ())
    return; /* the error event has ended the attempt */
  if (settings.agent_session)
    agent->attach (p->channel (kCallEventsChannel), kMaxDataChannelMessage);
  AttemptWatch::Limits limits;
  limits.connect_timeout_ms = settings.connect_timeout_ms;
  limits.ice_disconnect_grace_ms = settings.ice_disconnect_grace_ms;
  limits.media_timeout_ms = settings.media_timeout_ms;
  limits.stable_after_ms = settings.reconnect.stable_after_ms;
  watch->begin (p, limits);
}

PeerConfig Call::Impl::peer_config (const CallSettings &s, Signaller &sig,
    unsigned gen) const
{
  return attempt_peer_config ("realtime-call-" + name + "-" +
          std::to_string (gen),
      s, sig.capabilities ().far_end_local, owner->latency_);
}

void Call::Impl::prepare (std::shared_ptr<CredentialSource> source,
    CallSettings s, std::function<void (bool)> ready)
{
  if (running || closing)
    return;
  GST_INFO ("call %s: preparing", name.c_str ());
  prepared->prepare (std::move (source), s, std::move (ready));
}

void Call::Impl::end_attempt (bool hangup)
{
  std::shared_ptr<Peer> p;
  {
    std::lock_guard<std::mutex> l (lock);
    p = std::move (peer);
    if (stats.connected_us) {
      stats.connected_total_us += g_get_monotonic_time () - stats.connected_us;
      stats.connected_us = 0;
    }
  }
  if (!p)
    return;
  watch->end ();
  agent->detach ();
  if (hangup && !session.empty ())
    signaller->end_session (session);
  session.clear ();
  p->stop ();
  note_counters ();
  /* Freed later: this may run from inside one of the peer's own events. */
  worker.post ([p] {});
}

void Call::Impl::note_counters ()
{
  auto counters = signaller->counters ();
  std::lock_guard<std::mutex> l (lock);
  stats.secrets = counters["secrets"];
}

Signaller::Handlers Call::Impl::signaller_handlers ()
{
  Signaller::Handlers h;
  h.session_requested = [this] (const std::string &id,
                            const std::optional<SessionDescription> &offer) {
    auto p = current_peer ();
    if (closing || !p)
      return;
    session = id;
    note_counters ();
    if (offer) {
      p->set_remote_description (GST_WEBRTC_SDP_TYPE_OFFER, offer->sdp);
    } else if (early_offer) {
      /* Made ahead (prepare()): sent as it would have been. */
      auto d = std::move (*early_offer);
      early_offer.reset ();
      send_description (d.type, d.sdp);
    } else if (!offer_pending) {
      p->create_offer ();
    }
  };
  h.remote_description = [this] (const std::string &id,
                             const SessionDescription &d,
                             const std::string &far_end_id) {
    auto p = current_peer ();
    if (closing || !p || id != session)
      return;
    note_counters ();
    {
      std::lock_guard<std::mutex> l (lock);
      stats.call_id = far_end_id;
    }
    agent->set_max_message (check_answer_sdp (d.sdp).max_message_size);
    GST_INFO ("call %s: answered, call id %s", name.c_str (),
        far_end_id.c_str ());
    p->set_remote_description (d.type, d.sdp);
  };
  h.remote_candidate = [this] (const std::string &id, unsigned mline,
                           const std::string &candidate) {
    auto p = current_peer ();
    if (!closing && p && id == session)
      p->add_remote_candidate (mline, candidate);
  };
  /* A signalling failure may come before the session was offered (a
     * secret refused at once): the signaller only reports its current
     * session, so an attempt without one takes it. */
  h.session_ended = [this] (const std::string &id, const Fault &f) {
    note_counters ();
    if (session.empty () || id == session)
      fault (f);
  };
  return h;
}

void Call::Impl::send_description (GstWebRTCSDPType type,
    const std::string &sdp)
{
  if (signaller->capabilities ().trickle) {
    signaller->send_description (session, SessionDescription { type, sdp });
    return;
  }
  auto p = current_peer ();
  if (settings.offer_wait_ms > 0 && !p->gathering_done ()) {
    watch->deadline (settings.offer_wait_ms,
        [this, type] { send_gathered (type); });
    return;
  }
  send_gathered (type);
}

void Call::Impl::send_gathered (GstWebRTCSDPType type)
{
  watch->cancel_deadline ();
  auto p = current_peer ();
  if (p && !session.empty ())
    signaller->send_description (session,
        SessionDescription { type, p->local_description_with_candidates () });
}

Peer::Events Call::Impl::peer_events ()
{
  Peer::Events e;
  e.local_description = [this] (GstWebRTCSDPType type, const std::string &sdp) {
    offer_pending = false;
    if (!running || session.empty ()) {
      /* Made ahead of its session: kept for it. */
      early_offer = SessionDescription { type, sdp };
      prepared->progress ();
      return;
    }
    send_description (type, sdp);
  };
  e.local_candidate = [this] (unsigned mline, const std::string &candidate) {
    if (!session.empty ())
      signaller->send_candidate (session, mline, candidate);
  };
  e.gathering_done = [this] {
    if (!running) {
      prepared->progress ();
      return;
    }
    if (watch->deadline_pending ())
      send_gathered (GST_WEBRTC_SDP_TYPE_OFFER);
  };
  e.ice_state = [this] (GstWebRTCICEConnectionState state) {
    watch->ice_state (state);
  };
  e.connection_state = [this] (GstWebRTCPeerConnectionState state) {
    if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED)
      fault (FaultKind::PeerFailed, "the peer connection failed");
    else if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED &&
        !settings.agent_session && !attempt_connected)
      connected ();
  };
  e.error = [this] (const PeerError &error) {
    if (!running) {
      GST_WARNING ("call %s: could not prepare: %s", name.c_str (),
          error.message.c_str ());
      prepared->failed ();
      return;
    }
    fault (fault_of (error.kind), error.message);
  };
  e.audio = [this] (GstBuffer *buffer) {
    if (g_get_monotonic_time () < discard_until_us.load ()) {
      std::lock_guard<std::mutex> l (lock);
      stats.agent_audio_discarded++;
      return;
    }
    for (auto &o : observers.snapshot ())
      o->on_audio (buffer);
  };
  return e;
}

AttemptWatch::Events Call::Impl::watch_events ()
{
  AttemptWatch::Events e;
  e.fault = [this] (FaultKind kind, const std::string &message) {
    fault (kind, message);
  };
  e.stable = [this] { supervisor.stable (); };
  e.sampled = [this] (const PeerStats &s) {
    std::lock_guard<std::mutex> l (lock);
    stats.audio_packets_sent = s.packets_sent;
    stats.audio_bytes_sent = s.bytes_sent;
    stats.audio_packets_received = s.packets_received;
    stats.audio_bytes_received = s.bytes_received;
    stats.audio_packets_lost = s.packets_lost;
    stats.audio_jitter_s = s.jitter_s;
    if (s.round_trip_s >= 0)
      stats.round_trip_s = s.round_trip_s;
  };
  return e;
}

void Call::Impl::connected ()
{
  if (closing)
    return;
  attempt_connected = true;
  watch->connected ();
  {
    std::lock_guard<std::mutex> l (lock);
    stats.connected_us = g_get_monotonic_time ();
    if (stats.connect_time_us < 0)
      stats.connect_time_us = stats.connected_us - stats.started_us;
  }
  publish (supervisor.connected ());
}

AgentSession::Events Call::Impl::agent_events ()
{
  AgentSession::Events e;
  e.opened = [this] { connected (); };
  e.fault = [this] (FaultKind kind, const std::string &message) {
    fault (kind, message);
  };
  e.interrupt = [this] { interrupt (); };
  e.event = [this] (const std::string &type, const std::string &json,
                const EventMeaning &meaning) {
    observers.each ([&] (CallObserver &o, bool announce) {
      o.on_server_event (type, json, announce);
      if (meaning.transcript)
        o.on_transcript (*meaning.transcript, announce);
      if (meaning.function_call)
        o.on_function_call (*meaning.function_call, announce);
    });
  };
  return e;
}

void Call::Impl::shutdown ()
{
  ConnectionState before = owner->state_.load ();
  closing = true;
  if (retry_timer)
    worker.cancel_timeout (retry_timer);
  retry_timer = 0;
  agent->detach ();
  if (signaller) {
    /* Shared: the answer may come after this wait has given up. */
    auto done = std::make_shared<bool> (false);
    signaller->stop ([done] { *done = true; });
    /* Bounded: a dead network must not hold up the user's state change. */
    worker.iterate_until ([done] { return *done; }, 2000);
  }
  session.clear ();
  end_attempt (false);
  prepared->drop ();
  if (before != ConnectionState::Failed && before != ConnectionState::Idle) {
    owner->state_.store (ConnectionState::Closed);
    std::lock_guard<std::mutex> l (lock);
    stats.state = ConnectionState::Closed;
  }
  signaller.reset ();
}

Call::Call (std::string name)
    : latency_ (LatencyProbes::enabled () ? std::make_shared<LatencyProbes> () :
                                            nullptr),
      impl_ (std::make_unique<Impl> (this, std::move (name)))
{
  init_debug ();
  prewarm_webrtc ();
}

Call::~Call ()
{
  if (impl_->worker.is_current ()) {
    /* The last reference went from a callback on the call's own thread
     * (e.g. an application stopping its pipeline from a server-event
     * handler): tear down here, join the thread from another one once this
     * dispatch has returned. */
    impl_->shutdown ();
    std::thread ([impl = std::move (impl_)] () mutable {
      impl.reset ();
    }).detach ();
    return;
  }
  impl_->worker.run_sync ([this] { impl_->shutdown (); });
}

}  // namespace rt
