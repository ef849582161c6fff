/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "signalling/direct.h"

#include <atomic>
#include <mutex>

namespace rt {

struct DirectSignaller::Link {
  std::mutex lock;
  std::weak_ptr<DirectSignaller> ends[2];
  std::atomic<unsigned> sessions { 0 };
};

std::pair<std::shared_ptr<DirectSignaller>, std::shared_ptr<DirectSignaller>>
DirectSignaller::pair (Worker &a, Worker &b)
{
  auto link = std::make_shared<Link> ();
  auto first = std::make_shared<DirectSignaller> (a);
  auto second = std::make_shared<DirectSignaller> (b);
  first->link_ = second->link_ = link;
  link->ends[0] = first;
  link->ends[1] = second;
  return { first, second };
}

SignallerCapabilities DirectSignaller::capabilities () const
{
  SignallerCapabilities caps;
  caps.trickle = true;
  caps.remote_offers = true;
  caps.far_end_local = true;
  return caps;
}

void DirectSignaller::to_peer (std::function<void (DirectSignaller &)> fn)
{
  std::shared_ptr<DirectSignaller> other;
  {
    std::lock_guard<std::mutex> l (link_->lock);
    for (auto &end : link_->ends) {
      auto e = end.lock ();
      if (e && e.get () != this)
        other = e;
    }
  }
  if (!other)
    return;
  std::weak_ptr<DirectSignaller> weak = other;
  other->worker_.post ([weak, fn] {
    if (auto o = weak.lock ())
      fn (*o);
  });
}

void DirectSignaller::start ()
{
  session_ = "direct-" + std::to_string (++link_->sessions);
  std::weak_ptr<DirectSignaller> weak = shared_from_this ();
  const std::string id = session_;
  worker_.post ([weak, id] {
    auto self = weak.lock ();
    if (self && self->session_ == id)
      self->emit_session_requested (id, std::nullopt);
  });
}

void DirectSignaller::send_description (const std::string &session,
    const SessionDescription &description)
{
  to_peer ([session, description] (DirectSignaller &o) {
    if (description.type == GST_WEBRTC_SDP_TYPE_OFFER &&
        o.session_ != session) {
      /* A new session from the far end. */
      o.session_ = session;
      o.emit_session_requested (session, description);
      return;
    }
    if (o.session_ == session)
      o.emit_remote_description (session, description, session);
  });
}

void DirectSignaller::send_candidate (const std::string &session,
    unsigned mline, const std::string &candidate)
{
  to_peer ([session, mline, candidate] (DirectSignaller &o) {
    if (o.session_ == session)
      o.emit_remote_candidate (session, mline, candidate);
  });
}

void DirectSignaller::end_session (const std::string &session)
{
  if (session != session_)
    return;
  session_.clear ();
  to_peer ([session] (DirectSignaller &o) {
    if (o.session_ != session)
      return;
    o.session_.clear ();
    Fault f;
    f.kind = FaultKind::ChannelClosed;
    f.error.message = "the far end hung up";
    o.emit_session_ended (session, f);
  });
}

void DirectSignaller::stop (std::function<void ()> done)
{
  if (!session_.empty ())
    end_session (session_);
  done ();
}

}  // namespace rt
