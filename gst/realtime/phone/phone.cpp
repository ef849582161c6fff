/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "phone/phone.h"

#include "core/debug.h"
#include "media/silence.h"
#include "webrtc/prewarm.h"
#include "webrtc/sdp.h"

#define GST_CAT_DEFAULT rt_signalling_debug

namespace rt {

namespace {

/* Browsers' SIP stacks wait at most this long for ICE gathering before
 * they send what they have (SIP.js: 5 s). */
constexpr unsigned kGatherMs = 5000;
/* Between two digits sent one after another. */
constexpr unsigned kDigitGapMs = 70;
/* What webrtcbin's offer carries for telephone events (browsers use 126
 * or 110; any dynamic type will do). */
constexpr int kTelephoneEventPt = 101;

int event_of (char digit)
{
  if (digit >= '0' && digit <= '9')
    return digit - '0';
  if (digit == '*')
    return 10;
  if (digit == '#')
    return 11;
  if (digit >= 'A' && digit <= 'D')
    return 12 + (digit - 'A');
  return -1;
}

char digit_of (int event)
{
  static const char digits[] = "0123456789*#ABCD";
  return event >= 0 && event < 16 ? digits[event] : 0;
}

}  // namespace

Phone::Phone (Worker &worker, PhoneConfig config, Events events)
    : worker_ (worker), config_ (std::move (config)),
      events_ (std::move (events))
{
  auto_answer_.store (config_.auto_answer);
  dtmf_info_.store (config_.dtmf == DtmfMethod::Info);
  sip::SipEvents e;
  e.registration = [this] (sip::Registration::State st, int status,
                       const std::string &reason) {
    if (events_.registration)
      events_.registration (st, status, reason);
  };
  e.call_state = [this] (const std::string &s, sip::InviteSession::State st,
                     int status, const std::string &reason) {
    on_state (s, st, status, reason);
  };
  e.incoming = [this] (const std::string &s, const std::string &from,
                   const std::string &display) {
    if (s != line_->session ())
      return;
    /* Said once the offer is here (session_requested), so that a handler
     * of incoming-call may answer or reject at once. */
    session_ = s;
    caller_ = { from, display };
  };
  e.dtmf = [this] (const std::string &s, char digit, unsigned) {
    if (s != session_)
      return;
    dtmf_in_.fetch_add (1);
    if (events_.dtmf)
      events_.dtmf (digit, "info");
  };
  e.transfer = [this] (const std::string &s, int status, bool done) {
    if (s != session_)
      return;
    if (events_.transfer)
      events_.transfer (status, done);
    /* Transferred: this side's part of the call is over. */
    if (done && status >= 200 && status < 300)
      hangup ();
  };
  line_ = std::make_unique<sip::SipSignaller> (worker_, config_.line, e);
  Signaller::Handlers h;
  h.session_requested = [this] (const std::string &s,
                            const std::optional<SessionDescription> &offer) {
    session_requested (s, offer);
  };
  h.remote_description = [this] (const std::string &s,
                             const SessionDescription &d, const std::string &) {
    if (s == session_ && peer_)
      peer_->set_remote_description (d.type, d.sdp);
  };
  h.session_ended = [this] (const std::string &s, const Fault &f) {
    if (s == session_) {
      end_call ();
      set_state (PhoneState::Ended, 0, f.error.message);
    }
  };
  line_->set_handlers (h);
}

Phone::~Phone ()
{
  stop ();
}

void Phone::start ()
{
  /* The DTLS certificate is made while the line registers, not when the
   * first call rings (100-450 ms). */
  prewarm_webrtc ();
  set_state (PhoneState::Registering, 0, {});
  line_->start ();
}

void Phone::stop ()
{
  if (!line_)
    return;
  end_call ();
  line_->stop ({});
}

void Phone::set_state (PhoneState s, int status, const std::string &reason)
{
  state_.store (s);
  if (events_.state)
    events_.state (s, status, reason);
}

bool Phone::in_call () const
{
  return in_call_.load ();
}

bool Phone::call (const std::string &uri)
{
  if (!session_.empty ())
    return false;
  session_ = line_->dial (uri);
  if (session_.empty ())
    return false;
  in_call_.store (true);
  set_state (PhoneState::Calling, 0, "calling " + uri);
  return true;
}

void Phone::session_requested (const std::string &s,
    const std::optional<SessionDescription> &offer)
{
  if (s != session_)
    return;
  if (!offer) {
    start_peer (PeerRole::Offerer, AudioCodec::Opus, 111);
    if (peer_)
      peer_->create_offer ();
    return;
  }
  in_call_.store (true);
  offer_ = offer;
  if (events_.incoming_call)
    events_.incoming_call (caller_.first, caller_.second, s);
  if (auto_answer_.load () && offer_ && !peer_ && s == session_)
    answer ();
}

bool Phone::answer ()
{
  if (!offer_ || peer_)
    return false;
  /* Opus when offered; G.711 when that is all the far end has. */
  const std::string &sdp = offer_->sdp;
  AudioCodec codec = AudioCodec::Opus;
  int pt = sdp_payload_type (sdp, "opus", 48000);
  if (pt < 0 && (pt = sdp_payload_type (sdp, "PCMU", 8000)) >= 0)
    codec = AudioCodec::Pcmu;
  else if (pt < 0 && (pt = sdp_payload_type (sdp, "PCMA", 8000)) >= 0)
    codec = AudioCodec::Pcma;
  if (pt < 0) {
    if (events_.warning)
      events_.warning ("the caller offers no codec this phone has "
                       "(Opus, PCMU, PCMA)");
    line_->reject (session_, 488);
    return false;
  }
  start_peer (PeerRole::Answerer, codec, pt);
  if (!peer_)
    return false;
  peer_->set_remote_description (GST_WEBRTC_SDP_TYPE_OFFER, sdp);
  return true;
}

bool Phone::reject (int status)
{
  if (!offer_ || peer_)
    return false;
  line_->reject (session_, status);
  return true;
}

void Phone::start_peer (PeerRole role, AudioCodec codec, int pt)
{
  PeerConfig c;
  c.name = "sipphone-call";
  c.role = role;
  c.latency_ms = config_.latency_ms;
  c.start_at_first_packet = true; /* the element's live source absorbs jitter */
  /* Browsers' phones reach each other over UDP. */
  c.ice_tcp = false;
  c.audio.codec = codec;
  c.audio.payload_type = pt;
  c.audio.telephone_event_pt = kTelephoneEventPt;
  /* push_audio() is the sipphone's streaming thread, paced already: it
   * encodes and sends, with no queue and no clock wait in between. */
  c.audio.direct_input = true;
  Peer::Events e;
  e.local_description = [this] (GstWebRTCSDPType, const std::string &) {
    local_ready_ = true;
    described ();
  };
  e.gathering_done = [this] {
    gathered_ = true;
    described ();
  };
  e.connection_state = [this] (GstWebRTCPeerConnectionState st) {
    if (st == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED) {
      if (events_.warning)
        events_.warning ("the call's media connection failed");
      hangup ();
    }
  };
  e.error = [this] (const PeerError &err) {
    if (events_.warning)
      events_.warning ("the call's media failed: " + err.message);
    hangup ();
  };
  e.audio = [this] (GstBuffer *buffer) {
    packets_in_.fetch_add (1);
    if (events_.audio)
      events_.audio (buffer);
  };
  e.telephone_event = [this] (int event) {
    if (char d = digit_of (event)) {
      dtmf_in_.fetch_add (1);
      if (events_.dtmf)
        events_.dtmf (d, "rtp");
    }
  };
  auto peer = std::make_shared<Peer> (worker_, c, e);
  local_ready_ = gathered_ = sent_ = false;
  if (!peer->start ()) {
    peer->stop ();
    if (events_.warning)
      events_.warning ("the call's media could not be set up");
    line_->end_session (session_);
    return;
  }
  {
    std::lock_guard<std::mutex> l (peer_lock_);
    peer_ = peer;
  }
  gather_timer_ = worker_.post_after (kGatherMs, [this] {
    gather_timer_ = 0;
    gathered_ = true;
    described ();
  });
}

/* SIP does not trickle: the description leaves once, with every candidate
 * gathered (or what there is after kGatherMs). */
void Phone::described ()
{
  if (!local_ready_ || !gathered_ || sent_ || !peer_)
    return;
  sent_ = true;
  if (gather_timer_)
    worker_.cancel_timeout (gather_timer_);
  gather_timer_ = 0;
  const auto type = peer_->config ().role == PeerRole::Offerer ?
      GST_WEBRTC_SDP_TYPE_OFFER :
      GST_WEBRTC_SDP_TYPE_ANSWER;
  line_->send_description (session_,
      SessionDescription { type, peer_->local_description_with_candidates () });
}

void Phone::on_state (const std::string &s, sip::InviteSession::State st,
    int status, const std::string &reason)
{
  if (s != session_)
    return;
  using S = sip::InviteSession::State;
  switch (st) {
    case S::Calling: set_state (PhoneState::Calling, status, reason); break;
    case S::Ringing: set_state (PhoneState::Ringing, status, reason); break;
    case S::Connected:
      if (!connected_at_us_.load ())
        connected_at_us_.store (g_get_monotonic_time ());
      sending_.store (true);
      set_state (PhoneState::Connected, status, reason);
      break;
    case S::Held:
      sending_.store (false);
      set_state (PhoneState::Held, status, reason);
      break;
    case S::Ending: break;
    case S::Ended:
      end_call ();
      set_state (PhoneState::Ended, status, reason);
      break;
  }
}

void Phone::end_call ()
{
  sending_.store (false);
  in_call_.store (false);
  if (const gint64 at = connected_at_us_.exchange (0))
    last_call_us_.store ((guint64) (g_get_monotonic_time () - at));
  for (guint *t : { &gather_timer_, &digit_timer_ }) {
    if (*t)
      worker_.cancel_timeout (*t);
    *t = 0;
  }
  digits_.clear ();
  std::shared_ptr<Peer> peer;
  {
    std::lock_guard<std::mutex> l (peer_lock_);
    peer = std::move (peer_);
    peer_.reset ();
  }
  if (peer)
    peer->stop ();
  if (!session_.empty () && line_->session () == session_)
    line_->end_session (session_);
  session_.clear ();
  offer_.reset ();
}

bool Phone::hangup ()
{
  if (session_.empty ())
    return false;
  line_->end_session (session_);
  if (!line_->call_state ()) {
    /* Nothing had gone out yet (the offer was still being made). */
    end_call ();
    set_state (PhoneState::Ended, 0, "hung up here");
  }
  return true;
}

bool Phone::hold (bool on)
{
  return !session_.empty () && line_->hold (session_, on);
}

bool Phone::send_dtmf (const std::string &digits)
{
  const auto st = line_->call_state ();
  if (!st ||
      (*st != sip::InviteSession::State::Connected &&
          *st != sip::InviteSession::State::Held))
    return false;
  for (char c : digits)
    if (event_of ((char) g_ascii_toupper (c)) >= 0)
      digits_.push_back ((char) g_ascii_toupper (c));
  if (!digit_timer_)
    next_digit ();
  return true;
}

void Phone::next_digit ()
{
  digit_timer_ = 0;
  if (digits_.empty ())
    return;
  const char d = digits_.front ();
  digits_.pop_front ();
  const unsigned ms = config_.dtmf_ms;
  bool sent = false;
  if (!dtmf_info_.load () && peer_ && peer_->telephone_event_pt () >= 0)
    sent = peer_->send_telephone_event (event_of (d), ms);
  /* INFO as asked, or when the far end takes no telephone events. */
  if (!sent)
    sent = line_->send_info_dtmf (session_, d, ms);
  if (sent)
    dtmf_out_.fetch_add (1);
  digit_timer_ = worker_.post_after (ms + kDigitGapMs,
      [this] { next_digit (); });
}

bool Phone::transfer (const std::string &uri)
{
  return !session_.empty () && line_->transfer (session_, uri);
}

void Phone::push_audio (GstBuffer *buffer)
{
  if (!sending_.load ())
    return;
  std::shared_ptr<Peer> peer;
  {
    std::lock_guard<std::mutex> l (peer_lock_);
    peer = peer_;
  }
  if (!peer)
    return;
  /* Muted: silence of the same length, not nothing (gateways hang up on
   * a call whose media stop). */
  GstBuffer *silence = mute_.load () ? silence_like (buffer) : nullptr;
  if (peer->push_audio (silence ? silence : buffer))
    packets_out_.fetch_add (1);
  if (silence)
    gst_buffer_unref (silence);
}

std::map<std::string, guint64> Phone::counters () const
{
  auto c = line_->counters ();
  c["audio-buffers-out"] = packets_out_.load ();
  c["audio-buffers-in"] = packets_in_.load ();
  c["dtmf-in"] = dtmf_in_.load ();
  c["dtmf-out"] = dtmf_out_.load ();
  const gint64 at = connected_at_us_.load ();
  c["call-duration-ms"] = (at ? (guint64) (g_get_monotonic_time () - at) :
                                last_call_us_.load ()) /
      1000;
  return c;
}

}  // namespace rt
