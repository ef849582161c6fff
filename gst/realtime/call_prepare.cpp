/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "call_prepare.h"

#include "core/debug.h"
#include "signalling/openai_http.h"

#define GST_CAT_DEFAULT rt_call_debug

namespace rt {

PeerConfig attempt_peer_config (const std::string &name, const CallSettings &s,
    bool far_end_local, std::shared_ptr<LatencyProbes> latency)
{
  PeerConfig config;
  config.name = name;
  config.role = PeerRole::Offerer;
  config.latency_ms = s.jitterbuffer_ms;
  config.start_at_first_packet = true; /* the src's queue absorbs jitter */
  config.audio.opus_bitrate = s.opus_bitrate;
  config.audio.opus_complexity = s.opus_complexity;
  config.audio.opus_voice = s.opus_voice;
  config.audio.direct_input = true; /* push_audio() is the sink's thread */
  config.latency = std::move (latency);
  if (s.agent_session)
    config.channels = { kCallEventsChannel };
  /* libnice leaves loopback out whenever another interface exists, so a
   * far end on this host (the local server) would be unreachable: gather
   * on loopback alone then, which also keeps that traffic on the host. */
  if (far_end_local)
    config.local_addresses = { "127.0.0.1" };
  return config;
}

bool same_media (const PeerConfig &a, const PeerConfig &b)
{
  const PeerAudio &x = a.audio, &y = b.audio;
  return a.role == b.role && a.latency_ms == b.latency_ms &&
      a.start_at_first_packet == b.start_at_first_packet &&
      a.stun_server == b.stun_server && a.turn_server == b.turn_server &&
      a.local_addresses == b.local_addresses && a.ice_tcp == b.ice_tcp &&
      a.channels == b.channels && a.latency == b.latency &&
      x.direction == y.direction && x.codec == y.codec &&
      x.payload_type == y.payload_type && x.input_caps == y.input_caps &&
      x.input_queue_ms == y.input_queue_ms && x.output_caps == y.output_caps &&
      x.opus_bitrate == y.opus_bitrate &&
      x.opus_complexity == y.opus_complexity && x.opus_voice == y.opus_voice &&
      x.direct_input == y.direct_input && x.stamp_input == y.stamp_input &&
      x.telephone_event_pt == y.telephone_event_pt;
}

bool same_source (const std::shared_ptr<CredentialSource> &a,
    const std::shared_ptr<CredentialSource> &b)
{
  if (a == b)
    return true;
  if (!a || !b)
    return false;
  const std::string fa = a->fingerprint ();
  return !fa.empty () && fa == b->fingerprint ();
}

void CallPreparation::prepare (std::shared_ptr<CredentialSource> source,
    const CallSettings &settings, std::function<void (bool)> ready)
{
  const bool same_secret = signaller_ && same_source (source_, source);
  if (peer_ && same_secret &&
      same_media (config_, hooks_.peer_config (settings, *signaller_))) {
    ready_.push_back (std::move (ready));
    progress ();
    return;
  }
  /* Other media settings: a new peer; the secret, which does not depend on
   * them, is kept. */
  auto keep_source = same_secret ? source_ : nullptr;
  auto keep_signaller = same_secret ? signaller_ : nullptr;
  const bool keep_secret = same_secret && secret_;
  drop ();
  hooks_.new_peer ();
  ready_.push_back (std::move (ready));
  if (keep_signaller) {
    source_ = std::move (keep_source);
    signaller_ = std::move (keep_signaller);
    secret_ = keep_secret;
  } else {
    source_ = source;
    signaller_ = std::make_shared<OpenAIHttpSignaller> (worker_, source,
        settings.http_timeout_s);
    signaller_->set_handlers (hooks_.signaller_handlers ());
    signaller_->prepare ([this] {
      secret_ = true;
      progress ();
    });
  }
  config_ = hooks_.peer_config (settings, *signaller_);
  made_us_ = g_get_monotonic_time ();
  peer_ = std::make_shared<Peer> (worker_, config_, hooks_.peer_events ());
  if (!peer_->start ())
    return; /* its error event has let it go */
  if (peer_)
    peer_->create_offer ();
}

std::shared_ptr<Signaller> CallPreparation::signaller_for (
    const std::shared_ptr<CredentialSource> &source) const
{
  return signaller_ && same_source (source_, source) ? signaller_ : nullptr;
}

std::shared_ptr<Peer> CallPreparation::take_peer (const PeerConfig &config,
    const Signaller &signaller)
{
  std::shared_ptr<Peer> p;
  if (peer_ && same_media (config_, config) &&
      !signaller.capabilities ().trickle &&
      g_get_monotonic_time () - made_us_ <
          (gint64) kPeerMaxAgeS * G_USEC_PER_SEC)
    p = std::move (peer_);
  drop ();
  return p;
}

void CallPreparation::progress ()
{
  if (peer_ && (!hooks_.offer_made () || !peer_->gathering_done () || !secret_))
    return;
  auto ready = std::move (ready_);
  ready_.clear ();
  for (auto &fn : ready)
    fn (peer_ != nullptr);
}

void CallPreparation::failed ()
{
  auto ready = std::move (ready_);
  drop ();
  for (auto &fn : ready)
    fn (false);
}

void CallPreparation::drop ()
{
  /* The peer later, as it may be what is calling. */
  if (auto p = std::move (peer_)) {
    p->stop ();
    worker_.post ([p] {});
  }
  source_.reset ();
  signaller_.reset ();
  config_ = PeerConfig ();
  secret_ = false;
  made_us_ = 0;
  ready_.clear ();
}

}  // namespace rt
