/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What an application does with a call: observe it, start it, give it
 * audio and events. Each operation is posted to the call's worker. */
#include "call_impl.h"

#include "core/debug.h"
#include "openai/conversation.h"
#include "signalling/openai_http.h"

#define GST_CAT_DEFAULT rt_call_debug

namespace rt {

void Call::add_observer (std::shared_ptr<CallObserver> observer, bool primary)
{
  impl_->observers.add (std::move (observer), primary);
}

void Call::remove_observer (const std::shared_ptr<CallObserver> &observer)
{
  impl_->observers.remove (observer);
}

void Call::start (std::shared_ptr<CredentialSource> credentials,
    CallSettings settings)
{
  const unsigned timeout_s = settings.http_timeout_s;
  /* Read on the worker only after start() has posted to it. */
  impl_->error_context = [credentials] { return credentials->stand_in (); };
  Impl *impl = impl_.get ();
  start (
      [impl, credentials, timeout_s] (
          Worker &worker) -> std::shared_ptr<Signaller> {
        if (auto prepared = impl->prepared->signaller_for (credentials))
          return prepared;
        return std::make_shared<OpenAIHttpSignaller> (worker, credentials,
            timeout_s);
      },
      std::move (settings));
}

void Call::prepare (std::shared_ptr<CredentialSource> credentials,
    CallSettings settings, std::function<void (bool)> ready)
{
  if (started_.load ())
    return;
  impl_->worker.post ([this, credentials, settings, ready] {
    impl_->prepare (credentials, settings, ready);
  });
}

void Call::start (SignallerFactory make_signaller, CallSettings settings)
{
  if (started_.exchange (true))
    return;
  impl_->worker.post ([this, make_signaller, settings] {
    impl_->make_signaller = make_signaller;
    impl_->settings = settings;
    impl_->start ();
  });
}

void Call::push_audio (GstBuffer *buffer)
{
  /* Unless the call is connected: a backlog sent in a burst would add its
   * length to the latency of the rest of the call. */
  std::shared_ptr<Peer> p;
  if (state_.load () == ConnectionState::Connected)
    p = impl_->current_peer ();
  const bool sent = p && p->push_audio (buffer);
  std::lock_guard<std::mutex> l (impl_->lock);
  (sent ? impl_->stats.audio_in_sent : impl_->stats.audio_in_dropped)++;
}

bool Call::send_event (const std::string &json, std::string *error)
{
  auto type = impl_->agent->admit (json, error);
  if (!type)
    return false;
  Impl *impl = impl_.get ();
  std::string t = *type;
  impl_->worker.post ([impl, json, t] {
    if (impl->closing)
      return;
    std::string err;
    if (!impl->agent->send (json, t, &err))
      GST_WARNING ("call %s: event not sent: %s", impl->name.c_str (),
          err.c_str ());
  });
  return true;
}

bool Call::update_session (const SessionConfig &full, unsigned changed,
    std::string *error)
{
  AgentSession *agent = impl_->agent.get ();
  if ((changed & kSessionVoice) && agent->agent_spoke () && agent->is_open ()) {
    if (error)
      *error = "the voice cannot change once the agent has spoken in a call";
    return false;
  }
  Impl *impl = impl_.get ();
  impl_->worker.post ([impl, full, changed] {
    if (impl->closing)
      return;
    impl->settings.session = full;
    impl->agent->update_session (full, changed);
  });
  return true;
}

void Call::interrupt ()
{
  Impl *impl = impl_.get ();
  impl_->worker.post ([impl] {
    if (!impl->closing)
      impl->interrupt ();
  });
}

void Call::new_conversation ()
{
  Impl *impl = impl_.get ();
  impl_->worker.post ([impl] {
    if (impl->closing)
      return;
    impl->interrupt ();
    impl->agent->new_conversation ();
  });
}

bool Call::send_function_output (const std::string &call_id,
    const std::string &output, std::string *error)
{
  if (call_id.empty ()) {
    if (error)
      *error = "no call_id given";
    return false;
  }
  return send_event (build_function_call_output (call_id, output), error) &&
      send_event (build_simple_event ("response.create"), error);
}

gsize Call::max_message_size () const
{
  return impl_->agent->max_message_size ();
}

CallStats Call::stats () const
{
  CallStats s;
  {
    std::lock_guard<std::mutex> l (impl_->lock);
    s = impl_->stats;
  }
  {
    AgentStats a = impl_->agent->stats ();
    s.events_in = a.events_in;
    s.events_malformed = a.events_malformed;
    s.events_unknown = a.events_unknown;
    s.events_reassembled = a.events_reassembled;
    s.events_oversized = a.events_oversized;
    s.events_out = a.events_out;
    s.events_refused += a.events_refused;
    s.history_replayed = a.history_replayed;
    s.conversations_cleared = a.conversations_cleared;
    s.events_in_by_type = a.events_in_by_type;
    s.events_out_by_type = a.events_out_by_type;
    s.tokens = a.tokens;
  }
  return s;
}

}  // namespace rt
