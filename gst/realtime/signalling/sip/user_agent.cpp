/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "signalling/sip/user_agent.h"

#include "core/debug.h"

#define GST_CAT_DEFAULT rt_signalling_debug

namespace rt::sip {

UserAgent::UserAgent (Worker &worker, UserAgentConfig config, Events events)
    : worker_ (worker), config_ (std::move (config)),
      events_ (std::move (events)), registration_ (config_.identity),
      backoff_ms_ (config_.backoff_min_ms)
{
  Transport::Events te;
  te.opened = [this] { connected (); };
  te.message = [this] (const Message &m) { on_message (m); };
  te.closed = [this] (const std::string &why) { lost (why); };
  transport_ = std::make_unique<Transport> (worker_, config_.registrar_url, te,
      config_.keepalive_s, config_.ca_file, config_.identity.user_agent);
}

UserAgent::~UserAgent ()
{
  *alive_ = false;
  for (guint *t : { &retry_timer_, &refresh_timer_, &transaction_timer_ })
    cancel (t);
  transport_.reset ();
}

void UserAgent::cancel (guint *timer)
{
  if (*timer)
    worker_.cancel_timeout (*timer);
  *timer = 0;
}

void UserAgent::start ()
{
  stopping_ = false;
  given_up_ = false;
  transport_->open ();
}

void UserAgent::connected ()
{
  apply (registration_.start ());
}

void UserAgent::send (const Message &m)
{
  if (!transport_->send (m))
    return;
  if (m.is_request ()) {
    cancel (&transaction_timer_);
    transaction_timer_ = worker_.post_after (config_.transaction_timeout_ms,
        [this] {
          transaction_timer_ = 0;
          /* No final answer from the registrar: the connection is as good
           * as lost. */
          transport_->close ();
          lost ("the registrar did not answer within " +
              std::to_string (config_.transaction_timeout_ms) + " ms");
        });
  }
}

void UserAgent::apply (const Registration::Step &step)
{
  if (step.send) {
    if (step.send->method == "REGISTER" && !step.status)
      registrations_.fetch_add (1);
    send (*step.send);
  }
  /* A granted registration (not a refresh on its way, nor its challenge):
   * the next refresh is due. */
  if (step.state == Registration::State::Registered && step.refresh_in_ms) {
    backoff_ms_ = config_.backoff_min_ms;
    cancel (&refresh_timer_);
    refresh_timer_ = worker_.post_after (step.refresh_in_ms, [this] {
      refresh_timer_ = 0;
      apply (registration_.refresh ());
    });
  }
  /* A refused password, or a refusal of this request as such (4xx): the
   * same request would be refused again. */
  if (step.auth_failed ||
      (step.state == Registration::State::Failed && step.status >= 400 &&
          step.status < 500 && step.status != 408))
    given_up_ = true;
  if (given_up_ && step.state == Registration::State::Failed) {
    /* Nothing more to say to this registrar: the line closes. */
    transport_->close ();
  } else if (step.state == Registration::State::Failed && !stopping_) {
    /* A server in trouble (5xx, 6xx, 408): the line tries again later, as
     * after a lost connection. */
    transport_->close ();
    lost ("the registrar answered " + std::to_string (step.status) + " " +
        step.reason);
    return;
  }
  if (step.status >= 200 || step.status == 0)
    report (step.state, step.status, step.reason);
}

/* Events go out from a dispatch of their own, never from inside the
 * connection's: a handler may stop the line, and the line's removal needs
 * the connection's input to come back. */
void UserAgent::report (Registration::State state, int status,
    const std::string &reason)
{
  if (!events_.registration)
    return;
  auto alive = alive_;
  auto fn = events_.registration;
  worker_.post ([alive, fn, state, status, reason] {
    if (*alive)
      fn (state, status, reason);
  });
}

void UserAgent::on_message (const Message &m)
{
  if (!m.is_request ()) {
    if (!registration_.matches (m)) {
      if (events_.response)
        events_.response (m);
      return;
    }
    if (m.status >= 200)
      cancel (&transaction_timer_);
    apply (registration_.on_response (m, g_random_double ()));
    return;
  }
  if (events_.request && events_.request (m))
    return;
  answer_unhandled (m);
}

/* What no one took: OPTIONS (a proxy's or a peer's probe) is answered,
 * anything else refused without a crash or a hang. ACK has no response. */
void UserAgent::answer_unhandled (const Message &request)
{
  if (request.method == "ACK")
    return;
  const std::string &m = request.method;
  /* A request of a dialog (its To has a tag) or a CANCEL that matches no
   * call here: 481 (RFC 3261 12.2.2, 9.2). A call no one takes is one this
   * line cannot take now (480: the caller may try elsewhere). */
  const std::string *to = request.header ("To");
  const bool in_dialog = to && param (*to, "tag").has_value ();
  Message r = m == "OPTIONS" && !in_dialog ?
      response_to (request, 200, "OK", random_token ()) :
      in_dialog || m == "CANCEL" ?
      response_to (request, 481, "Call/Transaction Does Not Exist",
          random_token ()) :
      m == "INVITE" ?
      response_to (request, 480, "Temporarily Unavailable", random_token ()) :
      response_to (request, 501, "Not Implemented", random_token ());
  if (m == "OPTIONS")
    r.add_header ("Allow", kAllowedMethods);
  send (r);
}

void UserAgent::lost (const std::string &why)
{
  cancel (&transaction_timer_);
  cancel (&refresh_timer_);
  /* Given up: the failure was said once, with its reason. */
  if (stopping_ || given_up_)
    return;
  report (Registration::State::Registering, 0, why);
  if (retry_timer_)
    return;
  /* Jittered, so that phones that lost one server do not all come back at
   * the same instant. */
  const unsigned delay = backoff_ms_ / 2 +
      (unsigned) g_random_int_range (0, (gint32) backoff_ms_ / 2 + 1);
  backoff_ms_ = std::min (backoff_ms_ * 2, config_.backoff_max_ms);
  GST_INFO ("sip: connecting again in %u ms", delay);
  retry_timer_ = worker_.post_after (delay, [this] {
    retry_timer_ = 0;
    reconnects_.fetch_add (1);
    transport_->open ();
  });
}

void UserAgent::stop (unsigned timeout_ms)
{
  cancel (&retry_timer_);
  cancel (&refresh_timer_);
  const bool registered = transport_->is_open () &&
      registration_.state () == Registration::State::Registered;
  stopping_ = true;
  if (registered) {
    apply (registration_.stop ());
    worker_.iterate_until (
        [this] {
          return registration_.state () != Registration::State::Unregistering;
        },
        timeout_ms);
  }
  cancel (&transaction_timer_);
  transport_->close ();
}

std::map<std::string, guint64> UserAgent::counters () const
{
  auto c = transport_->counters ();
  c["registrations"] = registrations_.load ();
  c["reconnects"] = reconnects_.load ();
  return c;
}

}  // namespace rt::sip
