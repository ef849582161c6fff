/* SPDX-License-Identifier: LGPL-2.1-or-later */
// A call's media: the answering peer, the answer with the relay's candidate, the data channel,
// the caller's audio (echoed and measured) and the server's (speech, echo, filler).
#include "call.h"

#include "json_util.h"
#include "main_thread.h"
#include "media_tap.h"
#include "minimal_media.h"
#include "sdp_util.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>

namespace rts {

namespace {

// Answer this long after the last local candidate when gathering has not said it is complete.
// Only host candidates on one address are gathered, so one candidate is the normal total.
constexpr guint kCandidateSettleMs = 1;
// Never wait longer than this for candidates: 1.22.0 may never report gathering complete.
constexpr guint kGatherBoundMs = 500;
// An answer needs one candidate (without, the call cannot connect): for the first one a loaded
// machine gets this much more before the call is refused.
constexpr guint kFirstCandidateBoundMs = 10000;
// Silence filler: how often it looks, how much it pushes at a time, and how long the outgoing
// audio must have been quiet (after echo or speech) before it starts.
constexpr guint kFillerTickMs = 5;
constexpr size_t kFillerChunk = kSampleRate / 50;  // 20 ms, one Opus frame
constexpr gint64 kFillerGapUs = 30 * G_TIME_SPAN_MILLISECOND;
constexpr gint64 kFillerLeadUs = 5 * G_TIME_SPAN_MILLISECOND;
constexpr gint64 kFillerChunkUs = 20 * G_TIME_SPAN_MILLISECOND;
// What the server sends and hears: everything it handles is S16LE 48 kHz mono.
const char *const kAudioCaps =
    "audio/x-raw,format=S16LE,rate=48000,channels=1,layout=interleaved";

// REALTIME_SERVER_EVENT_LOG=FILE appends every event sent, one per line, for validate-events.
void log_sent_event (const std::string &text)
{
  static FILE *file = [] {
    const char *path = g_getenv ("REALTIME_SERVER_EVENT_LOG");
    return path && *path ? fopen (path, "a") : nullptr;
  }();
  if (!file)
    return;
  fprintf (file, "%s\n", text.c_str ());
  fflush (file);
}

double now_ms_since (gint64 start_us)
{
  return (g_get_monotonic_time () - start_us) / 1000.0;
}

// The fields of an ICE candidate ("[a=]candidate:<foundation> <component> <transport>
// <priority> <address> <port> typ <type> ..."), without the prefix.
std::vector<std::string> candidate_fields (const std::string &candidate)
{
  const char *value = candidate.c_str ();
  if (g_str_has_prefix (value, "a="))
    value += 2;
  if (g_str_has_prefix (value, "candidate:"))
    value += strlen ("candidate:");
  std::istringstream in (value);
  std::vector<std::string> fields;
  std::string field;
  while (in >> field)
    fields.push_back (field);
  return fields;
}

bool is_udp_rtp_candidate (const std::vector<std::string> &f)
{
  return f.size () >= 8 && f[1] == "1" &&
      g_ascii_strcasecmp (f[2].c_str (), "udp") == 0;
}

}  // namespace

// ---- MediaTap ----

bool MediaTap::push (GstBuffer *buffer)
{
  std::lock_guard<std::mutex> l (lock_);
  return peer_ && peer_->push_audio (buffer);
}

void MediaTap::set_peer (rt::Peer *p)
{
  std::lock_guard<std::mutex> l (lock_);
  peer_ = p;
}

void MediaTap::note_pushed (size_t n, bool filler)
{
  gint64 now = g_get_monotonic_time ();
  gint64 from = filler ? std::max (now, supplied_until_us.load ()) : now;
  supplied_until_us.store (
      from + static_cast<gint64> (n) * G_USEC_PER_SEC / kSampleRate);
  last_was_filler.store (filler);
}

void MediaTap::measure (const int16_t *s, size_t n, gint64 now_us,
    std::vector<CallRecord::LevelWindow> *done)
{
  if (media_start_us < 0)
    media_start_us = now_us;
  gint64 clock_samples = (now_us - media_start_us) * kSampleRate /
      G_USEC_PER_SEC;
  if (clock_samples - timeline_samples > kLevelGapSamples) {
    timeline_samples =
        clock_samples;  // the window in progress is abandoned: it has a hole
    window_sum = 0;
    window_count = 0;
  }
  for (size_t i = 0; i < n; i++) {
    if (window_count == 0)
      window_start = timeline_samples;
    window_sum += double (s[i]) * s[i];
    window_count++;
    timeline_samples++;
    if (window_count < kLevelWindowSamples)
      continue;
    double rms = std::sqrt (window_sum / window_count) / 32768.0;
    double dbfs = window_sum == 0 ? -120.0 :
                                    std::max (-120.0, 20 * std::log10 (rms));
    done->push_back (CallRecord::LevelWindow {
        std::round (double (window_start) / kSampleRate * 10) / 10,
        std::round (dbfs * 10) / 10 });
    window_sum = 0;
    window_count = 0;
  }
}

void MediaTap::on_audio (GstBuffer *buffer)
{
  gint64 now_us = g_get_monotonic_time ();
  GstMapInfo map;
  if (!gst_buffer_map (buffer, &map, GST_MAP_READ))
    return;
  const int16_t *s = reinterpret_cast<const int16_t *> (map.data);
  const size_t count = map.size / 2;
  double sum = 0;
  for (size_t i = 0; i < count; i++)
    sum += double (s[i]) * s[i];
  // The peer restamps it on arrival: the echo plays from now.
  if (count > 0 && echo_allowed && echo.load () && push (buffer))
    note_pushed (count, false);
  // After the echo has gone, so that measuring never delays it.
  std::vector<CallRecord::LevelWindow> windows;
  if (count > 0)
    measure (s, count, now_us, &windows);
  Pcm samples;
  if (keep_samples)
    samples.assign (s, s + count);
  gst_buffer_unmap (buffer, &map);
  if (count == 0)
    return;
  double rms = std::sqrt (sum / count) / 32768.0;
  double chunk_ms = count * 1000.0 / kSampleRate;
  guint call_serial = serial;
  server_worker ().post (
      [call_serial, rms, chunk_ms, windows = std::move (windows),
          samples = std::move (samples)] () {
        Call *call = Call::lookup (call_serial);
        if (!call || !call->agent_)
          return;
        call->on_input_levels (chunk_ms / 1000.0, windows);
        call->agent_->on_input_audio (rms, chunk_ms, samples);
      });
}

// ---- the peer and the answer ----

// Only host candidates on --address, UDP only, no UPnP wait (the peer's ICE tuning): gathering
// is then immediate and no traffic leaves the chosen address.
bool Call::start_peer (int opus_pt, std::string *error)
{
  rt::PeerConfig config;
  config.name = id_;
  config.role = rt::PeerRole::Answerer;
  config.latency_ms = 40;
  config.local_addresses = { options_.address };
  config.ice_tcp = false;
  config.audio.direction = rt::AudioDirection::SendRecv;
  config.audio.codec = rt::AudioCodec::Opus;
  config.audio.payload_type = opus_pt;
  config.audio.input_caps = kAudioCaps;
  config.audio.output_caps = kAudioCaps;
  // Old audio is worthless to a live listener: at most 200 ms queue before the oldest goes.
  config.audio.input_queue_ms = 200;
  config.audio.opus_voice = true;
  config.audio.stamp_input = true;
  const bool minimal = options_.media == MediaMode::Minimal;
  if (minimal) {
    // Ready packets, only payloaded, stamped by the sender (start_minimal_sender) and sent on
    // its thread: no queue and no thread of the peer's per packet.
    config.audio.input_caps = kMinimalOpusCaps;
    config.audio.stamp_input = false;
    config.audio.direct_input = true;
  }

  tap_ = std::make_shared<MediaTap> (serial_, options_.echo, recognise_);
  peer_ = std::make_unique<rt::Peer> (server_worker (), std::move (config),
      peer_events ());
  tap_->set_peer (peer_.get ());
  starting_ = true;
  start_error_.clear ();
  bool ok = peer_->start ();
  starting_ = false;
  if (!ok)
    *error = start_error_.empty () ? "the call pipeline failed to start" :
                                     start_error_;
  return ok;
}

rt::Peer::Events Call::peer_events ()
{
  const guint s = serial_;
  rt::Peer::Events events;
  events.remote_description_set = [s] () {
    Call *call = lookup (s);
    if (!call)
      return;
    call->remote_set_ = true;
    g_debug ("call %s: remote description set at %.1f ms", call->id_.c_str (),
        now_ms_since (call->request_start_us_));
  };
  events.local_description = [s] (GstWebRTCSDPType, const std::string &sdp) {
    if (Call *call = lookup (s))
      call->on_local_description (sdp);
  };
  events.local_candidate = [s] (unsigned, const std::string &candidate) {
    if (Call *call = lookup (s))
      call->on_local_candidate (candidate);
  };
  events.ice_state = [s] (GstWebRTCICEConnectionState state) {
    if (Call *call = lookup (s))
      call->on_ice_state_changed (state);
  };
  // The minimal sender pushes into webrtcbin on the relay's thread, where webrtcbin holds
  // packets until DTLS is done: it starts once the connection is up, or it would hold the very
  // thread that forwards the handshake.
  events.connection_state = [s] (GstWebRTCPeerConnectionState state) {
    Call *call = lookup (s);
    if (call && call->options_.media == MediaMode::Minimal &&
        state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED)
      call->start_filler ();
  };
  events.data_channel = [s] (std::shared_ptr<rt::DataChannel> channel) {
    if (Call *call = lookup (s))
      call->on_channel (channel);
  };
  events.error = [s] (const rt::PeerError &error) {
    if (Call *call = lookup (s))
      call->on_peer_error (error);
  };
  std::shared_ptr<MediaTap> tap = tap_;
  events.audio = [tap] (GstBuffer *buffer) { tap->on_audio (buffer); };
  return events;
}

void Call::on_peer_error (const rt::PeerError &error)
{
  // An offer webrtcbin cannot take is the client's fault, answered with a 400; the rest is ours.
  if (error.kind == rt::PeerError::Kind::Negotiation)
    g_message ("call %s: %s", id_.c_str (), error.message.c_str ());
  else
    g_warning ("call %s: %s", id_.c_str (), error.message.c_str ());
  if (starting_) {
    // start_peer() answers for it once the peer's start() has returned.
    if (start_error_.empty ())
      start_error_ = error.message;
    return;
  }
  if (error.kind == rt::PeerError::Kind::Negotiation && answer_sdp_.empty ())
    fail_answer (400,
        (remote_set_ ? "Could not answer the SDP offer: " :
                       "Invalid SDP offer: ") +
            error.message);
  else
    fail_answer (500, "The call could not be set up.");
  end_by_itself ("dropped", Teardown::Quiet);
}

void Call::on_local_description (const std::string &sdp)
{
  g_debug ("call %s: answer created at %.1f ms", id_.c_str (),
      now_ms_since (request_start_us_));
  answer_sdp_ = sdp;
  if (!bound_timer_ && answered_cb_) {
    bound_timer_ = add_timeout (
        kGatherBoundMs,
        [] (gpointer self) -> gboolean {
          auto *call = static_cast<Call *> (self);
          call->bound_timer_ = 0;
          if (call->local_candidates_.empty ()) {
            // The first candidate answers (maybe_answer), or the call is refused.
            g_warning ("call %s: no local candidate after %u ms, waiting",
                call->id_.c_str (), kGatherBoundMs);
            call->bound_timer_ = add_timeout (
                kFirstCandidateBoundMs,
                [] (gpointer self) -> gboolean {
                  auto *call = static_cast<Call *> (self);
                  call->bound_timer_ = 0;
                  g_warning ("call %s: no local candidate gathered",
                      call->id_.c_str ());
                  call->fail_answer (500, "The call could not be set up.");
                  call->end_by_itself ("dropped", Teardown::Quiet);
                  return G_SOURCE_REMOVE;
                },
                call);
            return G_SOURCE_REMOVE;
          }
          g_warning (
              "call %s: answering after %u ms with %zu local candidate(s)",
              call->id_.c_str (), kGatherBoundMs,
              call->local_candidates_.size ());
          call->deliver_answer ();
          return G_SOURCE_REMOVE;
        },
        this);
  }
  maybe_answer ();
}

void Call::on_local_candidate (const std::string &candidate)
{
  g_debug ("call %s: local candidate at %.1f ms: %s", id_.c_str (),
      now_ms_since (request_start_us_), candidate.c_str ());
  std::vector<std::string> f = candidate_fields (candidate);
  // The first UDP candidate of the RTP component is where the relay forwards to; the answer
  // advertises the relay in its place (see deliver_answer).
  if (!is_udp_rtp_candidate (f))
    return;
  if (local_candidates_.empty ()) {
    if (!relay_ || !relay_->set_target (f[4], atoi (f[5].c_str ()))) {
      g_warning ("call %s: cannot relay to candidate %s", id_.c_str (),
          candidate.c_str ());
      return;
    }
    g_debug ("call %s: relay port %d forwards to %s:%s", id_.c_str (),
        relay_->port (), f[4].c_str (), f[5].c_str ());
  }
  local_candidates_.push_back (candidate);
  maybe_answer ();
}

void Call::maybe_answer ()
{
  if (!answered_cb_ || answer_sdp_.empty () || local_candidates_.empty ())
    return;
  if (settle_timer_)
    remove_timeout (settle_timer_);
  settle_timer_ = add_timeout (
      kCandidateSettleMs,
      [] (gpointer self) -> gboolean {
        auto *call = static_cast<Call *> (self);
        call->settle_timer_ = 0;
        call->deliver_answer ();
        return G_SOURCE_REMOVE;
      },
      this);
}

void Call::deliver_answer ()
{
  if (settle_timer_)
    remove_timeout (settle_timer_);
  if (bound_timer_)
    remove_timeout (bound_timer_);
  settle_timer_ = bound_timer_ = 0;
  if (!answered_cb_ || answer_sdp_.empty ())
    return;
  // Only the relay is advertised: libnice's own port must never be reached directly.
  std::vector<std::string> candidates;
  if (!local_candidates_.empty () && relay_) {
    std::vector<std::string> f = candidate_fields (local_candidates_.front ());
    f[5] = std::to_string (relay_->port ());
    std::string relayed = "candidate:" + f[0];
    for (size_t i = 1; i < f.size (); i++)
      relayed += " " + f[i];
    candidates.push_back (relayed);
  }
  std::string sdp = answer_with_candidates (answer_sdp_, candidates);
  g_message ("call %s: answer ready %.1f ms after the request (relay port %d)",
      id_.c_str (), now_ms_since (request_start_us_),
      relay_ ? relay_->port () : 0);
  AnswerCallback cb = std::move (answered_cb_);
  answered_cb_ = nullptr;
  cb (201, sdp);
}

void Call::fail_answer (unsigned status, const std::string &message)
{
  if (!answered_cb_)
    return;
  AnswerCallback cb = std::move (answered_cb_);
  answered_cb_ = nullptr;
  cb (status, message);
}

void Call::on_ice_state_changed (GstWebRTCICEConnectionState state)
{
  if (state == ice_state_)
    return;  // 1.22.0 notifies some states twice
  ice_state_ = state;
  GEnumClass *klass = G_ENUM_CLASS (
      g_type_class_ref (GST_TYPE_WEBRTC_ICE_CONNECTION_STATE));
  GEnumValue *value = g_enum_get_value (klass, state);
  g_message ("call %s: ICE %s (%.1f ms)", id_.c_str (),
      value ? value->value_nick : "?", now_ms_since (request_start_us_));
  g_type_class_unref (klass);
  if ((state == GST_WEBRTC_ICE_CONNECTION_STATE_CONNECTED ||
          state == GST_WEBRTC_ICE_CONNECTION_STATE_COMPLETED) &&
      options_.media != MediaMode::Minimal)
    start_filler ();
  if (state == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED)
    end_by_itself ("dropped", Teardown::Quiet);
}

// ---- the data channel ----

void Call::on_channel (const std::shared_ptr<rt::DataChannel> &channel)
{
  g_message ("call %s: data channel '%s' (%.1f ms)", id_.c_str (),
      channel->label ().c_str (), now_ms_since (request_start_us_));
  if (channel->label () != "oai-events" || channel_)
    return;
  channel_ = channel;
  const guint s = serial_;
  channel_->on_open = [s] () {
    if (Call *call = lookup (s))
      call->on_channel_open ();
  };
  channel_->on_text = [s] (const std::string &text) {
    if (Call *call = lookup (s))
      call->on_channel_message (text);
  };
  channel_->on_close = [s] () {
    if (Call *call = lookup (s))
      call->on_channel_closed ();
  };
  if (channel_->is_open ())
    on_channel_open ();
}

void Call::on_channel_open ()
{
  if (!channel_ || channel_announced_ || !agent_)
    return;
  channel_announced_ = true;
  agent_->on_channel_open ();
}

void Call::on_channel_message (const std::string &text)
{
  if (!channel_ || !agent_)
    return;
  std::string error;
  JsonNode *node = parse_json (text, &error);
  // The log keeps what arrived: parsed JSON, or the raw text when it was not JSON.
  json_array_add_element (record_->events,
      node ? deep_copy (node) :
             json_node_init_string (json_node_alloc (), text.c_str ()));
  agent_->on_client_event (node, error, text.size ());
  if (node)
    json_node_unref (node);
}

void Call::on_channel_closed ()
{
  if (!channel_)
    return;
  g_message ("call %s: the peer closed the data channel", id_.c_str ());
  end_by_itself ("dropped", Teardown::Quiet);
}

void Call::send_text (const std::string &text)
{
  if (!channel_ || ended_)
    return;
  std::string error;
  // DataChannel sends with send_string_full: plain send-string silently drops messages over
  // 64 KiB in 1.22.0.
  if (!channel_->send_text (text, &error)) {
    g_warning ("call %s: could not send an event: %s", id_.c_str (),
        error.c_str ());
    return;
  }
  log_sent_event (text);
}

// ---- audio out ----

void Call::push_audio (const int16_t *samples, size_t count)
{
  // Minimal media: the agent's replies keep their events, and the tone loop goes on as audio.
  if (!peer_ || !tap_ || ended_ || options_.media == MediaMode::Minimal)
    return;
  GstBuffer *buffer = gst_buffer_new_memdup (samples, count * sizeof (int16_t));
  if (tap_->push (buffer))
    tap_->note_pushed (count, false);
  gst_buffer_unref (buffer);
}

void Call::set_echo (bool enabled)
{
  if (tap_)
    tap_->echo.store (enabled);
}

// A live peer sends media all the time; so does this server while the call is connected:
// whenever neither the echo nor the agent has pushed audio for a while, 20 ms of digital
// silence at a time keeps the RTP stream going. The filler runs on the relay's thread, so a
// busy worker does not make gaps in it.
void Call::start_filler ()
{
  if (filler_ || !relay_ || !tap_ || ended_)
    return;
  tap_->filling.store (true);
  if (options_.media == MediaMode::Minimal) {
    start_minimal_sender ();
    return;
  }
  filler_ = g_timeout_source_new (kFillerTickMs);
  g_source_set_priority (filler_, G_PRIORITY_HIGH);
  g_source_set_callback (
      filler_,
      [] (gpointer data) -> gboolean {
        MediaTap &tap = **static_cast<std::shared_ptr<MediaTap> *> (data);
        if (!tap.filling.load ())
          return G_SOURCE_CONTINUE;
        gint64 now = g_get_monotonic_time ();
        gint64 until = tap.supplied_until_us.load ();
        // Right after real audio, wait for a real gap; while filling, keep the cadence.
        bool due = tap.last_was_filler.load () ? now >= until - kFillerLeadUs :
                                                 now >= until + kFillerGapUs;
        if (!due)
          return G_SOURCE_CONTINUE;
        GstBuffer *buffer = gst_buffer_new_allocate (nullptr,
            kFillerChunk * sizeof (int16_t), nullptr);
        gst_buffer_memset (buffer, 0, 0, kFillerChunk * sizeof (int16_t));
        if (tap.push (buffer))
          tap.note_pushed (kFillerChunk, true);
        gst_buffer_unref (buffer);
        return G_SOURCE_CONTINUE;
      },
      new std::shared_ptr<MediaTap> (tap_),
      [] (gpointer p) { delete static_cast<std::shared_ptr<MediaTap> *> (p); });
  g_source_attach (filler_, relay_->context ());
}

// Minimal media: the pre-encoded loop, one packet per 20 ms on the relay's thread. Paced on the
// monotonic clock rather than by counting ticks, so that it never drifts below 50 packets/s
// (the client would hear that as underruns of its own), and stamped with that pace on the
// peer's running time, so that RTP timestamps step by exactly one frame as an encoder's do. A
// 10 ms tick halves the wake-ups of the silence filler's.
void Call::start_minimal_sender ()
{
  struct Sender {
    std::shared_ptr<MediaTap> tap;
    // The peer's webrtcbin: its pipeline's clock and base time.
    GstElement *webrtc = nullptr;
    size_t index = 0;
    gint64 next_us = 0;
    GstClockTimeDiff offset_ns = 0;  // running time minus monotonic time
    ~Sender ()
    {
      if (webrtc)
        gst_object_unref (webrtc);
    }
  };
  GstElement *webrtc = peer_->webrtcbin ();
  if (!webrtc)
    return;
  auto *sender = new Sender { tap_, GST_ELEMENT (gst_object_ref (webrtc)) };
  filler_ = g_timeout_source_new (2 * kFillerTickMs);
  g_source_set_priority (filler_, G_PRIORITY_HIGH);
  g_source_set_callback (
      filler_,
      [] (gpointer data) -> gboolean {
        auto &s = *static_cast<Sender *> (data);
        if (!s.tap->filling.load ())
          return G_SOURCE_CONTINUE;
        gint64 now = g_get_monotonic_time ();
        // At the start, or behind by more than two packets (a stalled thread): start again
        // from now rather than sending a burst.
        if (s.next_us == 0 || now - s.next_us > 2 * kFillerChunkUs) {
          GstClock *clock = gst_element_get_clock (s.webrtc);
          if (!clock)
            return G_SOURCE_CONTINUE;
          s.offset_ns = GstClockTimeDiff (gst_clock_get_time (clock) -
                            gst_element_get_base_time (s.webrtc)) -
              now * 1000;
          gst_object_unref (clock);
          s.next_us = now;
        }
        while (s.next_us <= now + kFillerLeadUs) {
          GstBuffer *packet = next_minimal_packet (&s.index);
          if (!packet)
            break;
          GST_BUFFER_PTS (packet) = GstClockTime (
              s.next_us * 1000 + s.offset_ns);
          GST_BUFFER_DURATION (packet) = kFillerChunkUs * 1000;
          s.tap->push (packet);
          gst_buffer_unref (packet);
          s.next_us += kFillerChunkUs;
        }
        return G_SOURCE_CONTINUE;
      },
      sender, [] (gpointer p) { delete static_cast<Sender *> (p); });
  g_source_attach (filler_, relay_->context ());
}

void Call::stop_filler ()
{
  if (tap_)
    tap_->filling.store (false);
  if (!filler_)
    return;
  g_source_destroy (filler_);
  g_source_unref (filler_);
  filler_ = nullptr;
}

}  // namespace rts
