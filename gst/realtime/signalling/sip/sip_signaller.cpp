/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "signalling/sip/sip_signaller.h"

#include "core/debug.h"
#include "signalling/sip/text.h"

#define GST_CAT_DEFAULT rt_signalling_debug

namespace rt::sip {

namespace {

/* RFC 3261 timer B and F: how long a request waits for its answer. */
constexpr unsigned kTransactionMs = 32000;

}  // namespace

SipSignaller::SipSignaller (Worker &worker, UserAgentConfig config,
    SipEvents events)
    : worker_ (worker), events_ (std::move (events))
{
  UserAgent::Events e;
  e.registration = events_.registration;
  e.request = [this] (const Message &m) { return on_request (m); };
  e.response = [this] (const Message &m) { on_response (m); };
  line_ = std::make_unique<UserAgent> (worker_, std::move (config), e);
}

SipSignaller::~SipSignaller ()
{
  *alive_ = false;
  if (timer_)
    worker_.cancel_timeout (timer_);
  line_.reset ();
}

SignallerCapabilities SipSignaller::capabilities () const
{
  SignallerCapabilities caps;
  caps.trickle = false;
  caps.remote_offers = true;
  return caps;
}

void SipSignaller::start ()
{
  stopping_ = false;
  line_->start ();
}

void SipSignaller::stop (std::function<void ()> done)
{
  /* While the registration is removed (the worker's loop runs meanwhile),
   * no call is taken or made. */
  stopping_ = true;
  if (call_ && call_->state () != InviteSession::State::Ended) {
    /* Said, not waited for: the far end learns that the call is over. */
    InviteSession::Step step = call_->hangup ();
    for (const Message &m : step.send)
      line_->send_message (m);
  }
  call_.reset ();
  session_.clear ();
  if (timer_)
    worker_.cancel_timeout (timer_);
  timer_ = 0;
  line_->stop (2000);
  if (done)
    done ();
}

/* Events leave from a dispatch of their own: a handler may end the call
 * or stop the line, which the message being handled must not see. */
void SipSignaller::later (std::function<void ()> fn)
{
  auto alive = alive_;
  worker_.post ([alive, fn = std::move (fn)] {
    if (*alive)
      fn ();
  });
}

void SipSignaller::count_status (int status)
{
  std::atomic<guint64> *by_class[] = { &status_1xx_, &status_2xx_, &status_3xx_,
    &status_4xx_, &status_5xx_, &status_6xx_ };
  if (status >= 100 && status < 700)
    by_class[status / 100 - 1]->fetch_add (1);
}

std::string SipSignaller::dial (const std::string &target)
{
  if (call_ || !target_.empty () || stopping_)
    return {};
  target_ = target;
  /* Named now, so that the owner's offer finds it. */
  session_ = random_token () + random_token ();
  calls_out_.fetch_add (1);
  const std::string s = session_;
  later ([this, s] { emit_session_requested (s, std::nullopt); });
  return s;
}

void SipSignaller::send_description (const std::string &session,
    const SessionDescription &d)
{
  if (session != session_)
    return;
  if (d.type == GST_WEBRTC_SDP_TYPE_OFFER && !target_.empty () && !call_) {
    call_.emplace (InviteSession::outgoing (line_->identity (), target_));
    target_.clear ();
    apply (call_->invite (d.sdp));
  } else if (d.type == GST_WEBRTC_SDP_TYPE_ANSWER && call_) {
    apply (call_->answer (d.sdp));
  }
}

void SipSignaller::end_session (const std::string &session)
{
  if (session != session_)
    return;
  if (!call_) {
    /* Dialled, but the offer never came: nothing was sent. */
    target_.clear ();
    session_.clear ();
    return;
  }
  apply (call_->hangup ());
}

void SipSignaller::reject (const std::string &session, int status)
{
  if (call_ && session == session_)
    apply (call_->reject (status, {}));
}

bool SipSignaller::hold (const std::string &session, bool on)
{
  if (!call_ || session != session_)
    return false;
  auto step = call_->hold (on);
  if (step)
    apply (*step);
  return step.has_value ();
}

bool SipSignaller::send_info_dtmf (const std::string &session, char digit,
    unsigned ms)
{
  if (!call_ || session != session_)
    return false;
  auto step = call_->send_info_dtmf (digit, ms);
  if (step)
    apply (*step);
  return step.has_value ();
}

bool SipSignaller::transfer (const std::string &session,
    const std::string &target)
{
  if (!call_ || session != session_)
    return false;
  auto step = call_->refer (target);
  if (step)
    apply (*step);
  return step.has_value ();
}

std::optional<InviteSession::State> SipSignaller::call_state () const
{
  if (!call_)
    return std::nullopt;
  return call_->state ();
}

bool SipSignaller::on_request (const Message &m)
{
  if (call_ && call_->matches (m)) {
    apply (call_->on_message (m));
    return true;
  }
  const std::string *to = m.header ("To");
  const bool in_dialog = to && param (*to, "tag").has_value ();
  if (m.method != "INVITE" || in_dialog)
    return false; /* the line answers: 481 for a call it does not know */
  if (stopping_) {
    line_->send_message (
        response_to (m, 480, "Temporarily Unavailable", random_token ()));
    return true;
  }
  /* Extensions the caller requires and this phone lacks (100rel, ...):
   * 420 with the list (RFC 3261 8.2.2.3; Proxy-Require is the proxies').
   * Session timers are taken. */
  std::string unsupported;
  for (const std::string &tag : m.header_values ("Require"))
    if (!text::iequal (text::trim (tag), "timer"))
      unsupported += (unsupported.empty () ? "" : ",") +
          std::string (text::trim (tag));
  if (!unsupported.empty ()) {
    Message bad = response_to (m, 420, "Bad Extension", random_token ());
    bad.add_header ("Unsupported", unsupported);
    count_status (420);
    line_->send_message (bad);
    return true;
  }
  if (call_ || !target_.empty ()) {
    /* One call at a time. */
    busy_.fetch_add (1);
    Message busy = response_to (m, 486, "Busy Here", random_token ());
    count_status (486);
    line_->send_message (busy);
    return true;
  }
  InviteSession::Step first;
  call_.emplace (InviteSession::incoming (line_->identity (), m, &first));
  session_ = call_->call_id ();
  calls_in_.fetch_add (1);
  const std::string s = session_;
  const std::string from = call_->remote_uri ();
  const std::string display = call_->remote_display ();
  if (call_->state () == InviteSession::State::Ended) {
    apply (first);
    return true;
  }
  std::optional<std::string> offer = std::move (first.remote_sdp);
  first.remote_sdp.reset ();
  /* The owner hears of the call, then that it rings, then its offer. */
  later ([this, s, from, display] {
    if (events_.incoming)
      events_.incoming (s, from, display);
  });
  apply (first);
  later ([this, s, offer] {
    if (session_ != s)
      return;
    if (!offer || offer->empty ()) {
      /* A late offer (none in the INVITE): not taken. */
      reject (s, 488);
      return;
    }
    emit_session_requested (s,
        SessionDescription { GST_WEBRTC_SDP_TYPE_OFFER, *offer });
  });
  return true;
}

void SipSignaller::on_response (const Message &m)
{
  if (call_ && call_->matches (m)) {
    count_status (m.status);
    apply (call_->on_message (m));
  }
}

void SipSignaller::apply (const InviteSession::Step &step)
{
  for (const Message &m : step.send) {
    if (!m.is_request ())
      count_status (m.status);
    line_->send_message (m);
  }
  const std::string s = session_;
  if (step.state) {
    const auto state = *step.state;
    const int status = step.status;
    const std::string reason = step.reason;
    later ([this, s, state, status, reason] {
      if (events_.call_state)
        events_.call_state (s, state, status, reason);
    });
  }
  if (step.remote_sdp && !step.remote_sdp->empty ()) {
    SessionDescription d { GST_WEBRTC_SDP_TYPE_ANSWER, *step.remote_sdp };
    later ([this, s, d] { emit_remote_description (s, d, s); });
  }
  if (step.dtmf) {
    const char digit = *step.dtmf;
    const unsigned ms = step.dtmf_ms;
    later ([this, s, digit, ms] {
      if (events_.dtmf)
        events_.dtmf (s, digit, ms);
    });
  }
  if (step.transfer_status) {
    const int status = step.transfer_status;
    const bool done = step.transfer_done;
    later ([this, s, status, done] {
      if (events_.transfer)
        events_.transfer (s, status, done);
    });
  }
  if (call_ && call_->state () == InviteSession::State::Ended) {
    call_.reset ();
    session_.clear ();
    Fault f;
    f.kind = FaultKind::ChannelClosed;
    f.error.message = step.reason.empty () ? "the call ended" : step.reason;
    later ([this, s, f] { emit_session_ended (s, f); });
  }
  arm_timer ();
}

void SipSignaller::arm_timer ()
{
  if (timer_)
    worker_.cancel_timeout (timer_);
  timer_ = 0;
  if (!call_ || !call_->waiting ())
    return;
  timer_ = worker_.post_after (kTransactionMs, [this] {
    timer_ = 0;
    if (call_ && call_->waiting ())
      apply (call_->timeout ());
  });
}

std::map<std::string, guint64> SipSignaller::counters () const
{
  auto c = line_->counters ();
  c["calls-in"] = calls_in_.load ();
  c["calls-out"] = calls_out_.load ();
  c["busy"] = busy_.load ();
  const char *names[] = { "status-1xx", "status-2xx", "status-3xx",
    "status-4xx", "status-5xx", "status-6xx" };
  const std::atomic<guint64> *by_class[] = { &status_1xx_, &status_2xx_,
    &status_3xx_, &status_4xx_, &status_5xx_, &status_6xx_ };
  for (size_t i = 0; i < 6; i++)
    c[names[i]] = by_class[i]->load ();
  return c;
}

}  // namespace rt::sip
