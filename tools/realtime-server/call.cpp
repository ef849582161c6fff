#include "call.h"

#include "json_util.h"
#include "main_thread.h"
#include "sdp_util.h"

#include <gst/app/app.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

namespace rts {

namespace {

// Answer this long after the last local candidate when gathering has not said it is complete.
// Only host candidates on one address are gathered, so one candidate is the normal total.
constexpr guint kCandidateSettleMs = 1;
// Never wait longer than this for candidates: 1.22.0 may never report gathering complete.
constexpr guint kGatherBoundMs = 500;
// Time for the session_expired event to leave before the media goes away.
constexpr guint kExpiryGraceMs = 200;
// Silence filler: how often it looks, how much it pushes at a time, and how long the outgoing
// audio must have been quiet (after echo or speech) before it starts.
constexpr guint kFillerTickMs = 5;
constexpr size_t kFillerChunk = kSampleRate / 50;  // 20 ms, one Opus frame
constexpr gint64 kFillerGapUs = 30 * G_TIME_SPAN_MILLISECOND;
constexpr gint64 kFillerLeadUs = 5 * G_TIME_SPAN_MILLISECOND;
// How often a call checks that its peer still sends something.
constexpr guint kActivityCheckMs = 1000;

const char *const kAudioCaps = "audio/x-raw,format=S16LE,rate=48000,channels=1,layout=interleaved";

std::map<guint, Call *> &live_calls() {
  static std::map<guint, Call *> calls;
  return calls;
}

guint next_serial() {
  static guint serial = 0;
  return ++serial;
}

// REALTIME_SERVER_EVENT_LOG=FILE appends every event sent, one per line, for validate-events.
void log_sent_event(const std::string &text) {
  static FILE *file = [] {
    const char *path = g_getenv("REALTIME_SERVER_EVENT_LOG");
    return path && *path ? fopen(path, "a") : nullptr;
  }();
  if (!file) return;
  fprintf(file, "%s\n", text.c_str());
  fflush(file);
}

double now_ms_since(gint64 start_us) { return (g_get_monotonic_time() - start_us) / 1000.0; }

// Time for a data channel close to reach the peer before the media goes away.
constexpr guint kCloseLingerMs = 150;

// What carries a call's media: its pipeline and the relay in front of its ICE agent. The
// pipeline goes first, so that nothing sends into a relay that is gone.
struct MediaPath {
  GstElement *pipeline = nullptr;
  std::unique_ptr<Relay> relay;
};

void release_media(MediaPath media) {
  if (media.pipeline) {
    gst_element_set_state(media.pipeline, GST_STATE_NULL);
    gst_object_unref(media.pipeline);
  }
  media.relay.reset();
}

// Media of calls whose channel close is still on its way to the peer, by the timer that will
// release them.
std::map<guint, MediaPath> &lingering() {
  static std::map<guint, MediaPath> media;
  return media;
}

void linger_then_release(MediaPath media) {
  // The key is only known once the timer exists: the callback finds its entry by the pipeline.
  guint timer = g_timeout_add(
      kCloseLingerMs,
      [](gpointer p) -> gboolean {
        for (auto it = lingering().begin(); it != lingering().end(); ++it) {
          if (it->second.pipeline == p) {
            MediaPath media = std::move(it->second);
            lingering().erase(it);
            release_media(std::move(media));
            break;
          }
        }
        return G_SOURCE_REMOVE;
      },
      media.pipeline);
  lingering()[timer] = std::move(media);
}

// The fields of an ICE candidate ("[a=]candidate:<foundation> <component> <transport>
// <priority> <address> <port> typ <type> ..."), without the prefix.
std::vector<std::string> candidate_fields(const std::string &candidate) {
  const char *value = candidate.c_str();
  if (g_str_has_prefix(value, "a=")) value += 2;
  if (g_str_has_prefix(value, "candidate:")) value += strlen("candidate:");
  std::istringstream in(value);
  std::vector<std::string> fields;
  std::string field;
  while (in >> field) fields.push_back(field);
  return fields;
}

bool is_udp_rtp_candidate(const std::vector<std::string> &f) {
  return f.size() >= 8 && f[1] == "1" && g_ascii_strcasecmp(f[2].c_str(), "udp") == 0;
}

}  // namespace

// The part of a call its streaming thread touches: shared with the appsink callbacks so it
// lives as long as either needs it.
struct MediaTap {
  MediaTap(GstElement *src, guint call_serial, bool allowed)
      : appsrc(GST_ELEMENT(gst_object_ref(src))), serial(call_serial), echo_allowed(allowed) {}
  ~MediaTap() { gst_object_unref(appsrc); }
  MediaTap(const MediaTap &) = delete;
  MediaTap &operator=(const MediaTap &) = delete;

  // Outgoing audio of n samples was pushed now (echo, speech or filler). Echo and speech are
  // live: they play from now. Filler is pushed slightly ahead and queues after what it follows.
  void note_pushed(size_t n, bool filler) {
    gint64 now = g_get_monotonic_time();
    gint64 from = filler ? std::max(now, supplied_until_us.load()) : now;
    supplied_until_us.store(from + static_cast<gint64>(n) * G_USEC_PER_SEC / kSampleRate);
    last_was_filler.store(filler);
  }

  // Streaming thread: add n samples of caller audio that arrived at now_us to the level
  // windows; completed windows go to *done. The timeline counts decoded samples from the first
  // one, except that a pause in the audio (nothing decoded while the clock ran on, e.g. a
  // client that stopped sending) moves it on to the clock, so t stays comparable to real time.
  void measure(const int16_t *s, size_t n, gint64 now_us,
               std::vector<CallRecord::LevelWindow> *done) {
    if (media_start_us < 0) media_start_us = now_us;
    gint64 clock_samples = (now_us - media_start_us) * kSampleRate / G_USEC_PER_SEC;
    if (clock_samples - timeline_samples > kLevelGapSamples) {
      timeline_samples = clock_samples;  // the window in progress is abandoned: it has a hole
      window_sum = 0;
      window_count = 0;
    }
    for (size_t i = 0; i < n; i++) {
      if (window_count == 0) window_start = timeline_samples;
      window_sum += double(s[i]) * s[i];
      window_count++;
      timeline_samples++;
      if (window_count < kLevelWindowSamples) continue;
      double rms = std::sqrt(window_sum / window_count) / 32768.0;
      double dbfs = window_sum == 0 ? -120.0 : std::max(-120.0, 20 * std::log10(rms));
      done->push_back(CallRecord::LevelWindow{
          std::round(double(window_start) / kSampleRate * 10) / 10, std::round(dbfs * 10) / 10});
      window_sum = 0;
      window_count = 0;
    }
  }

  GstElement *appsrc;
  const guint serial;
  const bool echo_allowed;          // --no-echo clears it
  std::atomic<bool> echo{true};     // false while the agent speaks
  // When the audio pushed so far runs out, and whether the last push was filler silence.
  std::atomic<gint64> supplied_until_us{0};
  std::atomic<bool> last_was_filler{false};
  std::atomic<bool> filling{false};  // the filler runs: the call is connected and not ending

  // Level measurement, on the streaming thread only.
  static constexpr size_t kLevelWindowSamples = kSampleRate / 10;  // 100 ms
  static constexpr gint64 kLevelGapSamples = kSampleRate / 5;      // 200 ms
  gint64 media_start_us = -1;  // the first decoded caller audio
  gint64 timeline_samples = 0;
  gint64 window_start = 0;
  double window_sum = 0;
  size_t window_count = 0;
};

// Streaming thread: echo the decoded caller audio at once (so the round trip is measurable),
// then measure it, and hand its level to the agent on the main context.
GstFlowReturn Call::on_new_sample_cb(GstAppSink *sink, gpointer data) {
  MediaTap &tap = **static_cast<std::shared_ptr<MediaTap> *>(data);
  GstSample *sample = gst_app_sink_pull_sample(sink);
  if (!sample) return GST_FLOW_EOS;
  gint64 now_us = g_get_monotonic_time();
  GstBuffer *buffer = gst_sample_get_buffer(sample);
  GstMapInfo map;
  double sum = 0;
  size_t count = 0;
  const int16_t *s = nullptr;
  bool mapped = buffer && gst_buffer_map(buffer, &map, GST_MAP_READ);
  if (mapped) {
    s = reinterpret_cast<const int16_t *>(map.data);
    count = map.size / 2;
    for (size_t i = 0; i < count; i++) sum += double(s[i]) * s[i];
  }
  if (count > 0 && tap.echo_allowed && tap.echo.load()) {
    // A fresh buffer without timestamps: appsrc (do-timestamp) stamps it with its push time.
    GstBuffer *copy = gst_buffer_new();
    gst_buffer_copy_into(copy, buffer, GST_BUFFER_COPY_MEMORY, 0, -1);
    gst_app_src_push_buffer(GST_APP_SRC(tap.appsrc), copy);
    tap.note_pushed(count, false);
  }
  // After the echo has gone, so that measuring never delays it.
  std::vector<CallRecord::LevelWindow> windows;
  if (count > 0) tap.measure(s, count, now_us, &windows);
  if (mapped) gst_buffer_unmap(buffer, &map);
  gst_sample_unref(sample);
  if (count > 0) {
    double rms = std::sqrt(sum / count) / 32768.0;
    double chunk_ms = count * 1000.0 / kSampleRate;
    guint serial = tap.serial;
    run_on_main([serial, rms, chunk_ms, windows = std::move(windows)]() {
      Call *call = lookup(serial);
      if (!call || !call->agent_) return;
      call->on_input_levels(chunk_ms / 1000.0, windows);
      call->agent_->on_input_audio(rms, chunk_ms);
    });
  }
  return GST_FLOW_OK;
}

Call::Call(const std::string &id, const Options &options, const Session &session,
           std::shared_ptr<CallRecord> record, SpeechSynth &synth, StrictIce strict_ice,
           EndedCallback ended)
    : id_(id),
      serial_(next_serial()),
      options_(options),
      record_(std::move(record)),
      ended_cb_(std::move(ended)),
      agent_(std::make_unique<Agent>(*this, options, session, synth, record_->webrtc_filter)),
      strict_ice_(strict_ice) {
  live_calls()[serial_] = this;
  record_->instructions = get_string(session.object(), "instructions");
}

Call::~Call() {
  if (!ended_) end("dropped", Teardown::Quiet);
  live_calls().erase(serial_);
}

Call *Call::lookup(guint serial) {
  auto it = live_calls().find(serial);
  return it == live_calls().end() || it->second->ended_ ? nullptr : it->second;
}

bool Call::build_pipeline(int opus_pt, std::string *error) {
  // Outgoing: live appsrc stamped on push -> Opus at the offer's payload type -> webrtcbin.
  // Incoming: linked on pad-added -> decoded to S16LE 48 kHz mono -> appsink.
  gchar *description = g_strdup_printf(
      "webrtcbin name=webrtc bundle-policy=max-bundle latency=40 "
      "appsrc name=src is-live=true format=time do-timestamp=true caps=%s "
      "! audioconvert ! audioresample ! opusenc frame-size=20 audio-type=voice "
      "! rtpopuspay pt=%d "
      "! application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,payload=%d "
      "! webrtc.sink_0 "
      "rtpopusdepay name=depay ! opusdec ! audioconvert ! audioresample ! %s "
      "! appsink name=sink sync=false",
      kAudioCaps, opus_pt, opus_pt, kAudioCaps);
  GError *err = nullptr;
  pipeline_ = gst_parse_launch(description, &err);
  g_free(description);
  if (!pipeline_ || err) {
    *error = err ? err->message : "could not build the call pipeline";
    if (err) g_error_free(err);
    if (pipeline_) gst_object_unref(pipeline_);
    pipeline_ = nullptr;
    return false;
  }
  webrtc_ = gst_bin_get_by_name(GST_BIN(pipeline_), "webrtc");
  appsrc_ = gst_bin_get_by_name(GST_BIN(pipeline_), "src");
  // Old audio is worthless to a live listener: drop the oldest rather than queue.
  gst_util_set_object_arg(G_OBJECT(appsrc_), "leaky-type", "downstream");
  g_object_set(appsrc_, "max-bytes", static_cast<guint64>(kSampleRate * 2 / 5), nullptr);

  // Answer sendrecv: make the transceiver webrtcbin created for sink_0 say so explicitly.
  GstPad *sink_pad = gst_element_get_static_pad(webrtc_, "sink_0");
  GstWebRTCRTPTransceiver *trans = nullptr;
  g_object_get(sink_pad, "transceiver", &trans, nullptr);
  if (trans) {
    g_object_set(trans, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDRECV, nullptr);
    gst_object_unref(trans);
  }
  gst_object_unref(sink_pad);

  tap_ = std::make_shared<MediaTap>(appsrc_, serial_, options_.echo);
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline_), "sink");
  GstAppSinkCallbacks callbacks = {};
  callbacks.new_sample = on_new_sample_cb;
  gst_app_sink_set_callbacks(GST_APP_SINK(sink), &callbacks, new std::shared_ptr<MediaTap>(tap_),
                             [](gpointer p) { delete static_cast<std::shared_ptr<MediaTap> *>(p); });
  gst_object_unref(sink);

  GstElement *depay = gst_bin_get_by_name(GST_BIN(pipeline_), "depay");
  g_signal_connect_object(webrtc_, "pad-added", G_CALLBACK(on_pad_added_cb), depay,
                          static_cast<GConnectFlags>(0));
  gst_object_unref(depay);

  gpointer serial = GUINT_TO_POINTER(serial_);
  g_signal_connect(webrtc_, "on-ice-candidate", G_CALLBACK(on_ice_candidate_cb), serial);
  g_signal_connect(webrtc_, "on-data-channel", G_CALLBACK(on_data_channel_cb), serial);
  g_signal_connect(webrtc_, "notify::ice-connection-state", G_CALLBACK(on_ice_state_cb), serial);

  GstBus *bus = gst_element_get_bus(pipeline_);
  bus_watch_ = gst_bus_add_watch(
      bus,
      [](GstBus *, GstMessage *message, gpointer serial) -> gboolean {
        if (Call *call = lookup(GPOINTER_TO_UINT(serial))) call->on_bus_message(message);
        return G_SOURCE_CONTINUE;
      },
      serial);
  gst_object_unref(bus);
  configure_ice();
  return true;
}

// Only host candidates on --address, UDP only, no UPnP wait: gathering is then immediate and
// no traffic leaves the chosen address.
void Call::configure_ice() {
  GObject *ice = nullptr;
  g_object_get(webrtc_, "ice-agent", &ice, nullptr);
  if (!ice) return;
  if (g_object_class_find_property(G_OBJECT_GET_CLASS(ice), "ice-tcp"))
    g_object_set(ice, "ice-tcp", FALSE, nullptr);
  gboolean added = FALSE;
  g_signal_emit_by_name(ice, "add-local-ip-address", options_.address.c_str(), &added);
  if (!added) g_warning("call %s: could not restrict ICE to %s", id_.c_str(), options_.address.c_str());
  GObject *agent = nullptr;
  if (g_object_class_find_property(G_OBJECT_GET_CLASS(ice), "agent"))
    g_object_get(ice, "agent", &agent, nullptr);
  if (agent) {
    // upnp: libnice would otherwise wait its 200 ms upnp-timeout while gathering.
    // stun-pacing-timer: checks every 5 ms instead of 20 make ICE on loopback ~4x faster.
    g_object_set(agent, "upnp", FALSE, "stun-pacing-timer", 5u, nullptr);
    g_object_unref(agent);
  }
  g_object_unref(ice);
}

void Call::start(GstSDPMessage *offer, int opus_pt, gint64 request_start_us,
                 AnswerCallback answered) {
  answered_cb_ = std::move(answered);
  request_start_us_ = request_start_us;
  std::string error;
  relay_ = Relay::create(options_.address, id_, record_->relay, &error);
  if (!relay_) {
    gst_sdp_message_free(offer);
    fail_answer(500, "The call could not be set up: " + error);
    end_by_itself("dropped", Teardown::Quiet);
    return;
  }
  relay_->set_strict(strict_ice_);
  bool built = build_pipeline(opus_pt, &error);
  g_debug("call %s: pipeline built at %.1f ms", id_.c_str(), now_ms_since(request_start_us_));
  if (!built) {
    gst_sdp_message_free(offer);
    fail_answer(500, "The call could not be set up: " + error);
    end_by_itself("dropped", Teardown::Quiet);
    return;
  }
  if (gst_element_set_state(pipeline_, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    gst_sdp_message_free(offer);
    fail_answer(500, "The call pipeline failed to start.");
    end_by_itself("dropped", Teardown::Quiet);
    return;
  }
  g_debug("call %s: playing at %.1f ms", id_.c_str(), now_ms_since(request_start_us_));
  GstWebRTCSessionDescription *desc =
      gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_OFFER, offer);
  await_promise("set-remote-description", desc, &Call::on_remote_description_set);
  gst_webrtc_session_description_free(desc);

  if (options_.max_call_seconds > 0) {
    max_duration_timer_ = g_timeout_add_seconds(
        static_cast<guint>(options_.max_call_seconds),
        [](gpointer self) -> gboolean {
          auto *call = static_cast<Call *>(self);
          call->max_duration_timer_ = 0;
          g_message("call %s: maximum duration reached", call->id_.c_str());
          call->expire();
          return G_SOURCE_REMOVE;
        },
        this);
  }
  activity_timer_ = g_timeout_add(
      kActivityCheckMs,
      [](gpointer self) -> gboolean {
        static_cast<Call *>(self)->check_peer_activity();
        return G_SOURCE_CONTINUE;
      },
      this);
}

void Call::expire() {
  if (ended_ || silenced_ || end_timer_) return;
  if (max_duration_timer_) g_source_remove(max_duration_timer_);
  max_duration_timer_ = 0;
  if (agent_) agent_->on_session_expired();
  end_timer_ = g_timeout_add(
      kExpiryGraceMs,
      [](gpointer self) -> gboolean {
        auto *call = static_cast<Call *>(self);
        call->end_timer_ = 0;
        call->end_by_itself("expired", Teardown::Close);
        return G_SOURCE_REMOVE;
      },
      this);
}

void Call::silence() {
  if (ended_ || silenced_) return;
  silenced_ = true;
  record_->state = "dropped";
  if (relay_) relay_->set_silent(true);
  g_message("call %s: silenced: the relay drops everything both ways", id_.c_str());
}

void Call::answer_delivered() {
  // The client could not send anything before it had the answer (maybe delayed on purpose).
  if (relay_) relay_->note_activity();
}

void Call::set_strict_ice(StrictIce strict) {
  if (relay_) relay_->set_strict(strict);
}

// A peer that sends nothing for the peer timeout has gone (or, silenced, can no longer be
// heard): the call ends and is freed.
void Call::check_peer_activity() {
  if (ended_ || !relay_) return;
  gint64 idle_us = g_get_monotonic_time() - relay_->last_client_activity_us();
  if (idle_us < static_cast<gint64>(options_.peer_timeout_seconds) * G_USEC_PER_SEC) return;
  g_message("call %s: nothing from the peer for %.1f s", id_.c_str(), idle_us / 1e6);
  end_by_itself("dropped", Teardown::Quiet);
}

// Promise replies arrive on webrtcbin's thread; the next step runs on the main context, found
// again by serial in case the call is gone by then.
struct Call::PromiseStep {
  guint serial;
  void (Call::*step)(GstPromise *);
};

void Call::await_promise(const char *signal, GstWebRTCSessionDescription *desc,
                         void (Call::*step)(GstPromise *)) {
  GstPromise *promise = gst_promise_new_with_change_func(
      promise_to_main, new PromiseStep{serial_, step},
      [](gpointer p) { delete static_cast<PromiseStep *>(p); });
  if (desc)
    g_signal_emit_by_name(webrtc_, signal, desc, promise);
  else
    g_signal_emit_by_name(webrtc_, signal, nullptr, promise);
  gst_promise_unref(promise);
}

void Call::promise_to_main(GstPromise *promise, gpointer data) {
  PromiseStep step = *static_cast<PromiseStep *>(data);
  gst_promise_ref(promise);
  run_on_main([step, promise]() {
    if (Call *call = lookup(step.serial)) (call->*step.step)(promise);
    gst_promise_unref(promise);
  });
}

namespace {
// An error reported through a webrtcbin promise, or empty.
std::string promise_error(GstPromise *promise) {
  if (gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED) return "no reply from webrtcbin";
  const GstStructure *reply = gst_promise_get_reply(promise);
  if (!reply || !gst_structure_has_field(reply, "error")) return "";
  GError *error = nullptr;
  gst_structure_get(reply, "error", G_TYPE_ERROR, &error, nullptr);
  std::string out = error ? error->message : "unknown error";
  if (error) g_error_free(error);
  return out;
}
}  // namespace

void Call::on_remote_description_set(GstPromise *promise) {
  g_debug("call %s: remote description set at %.1f ms", id_.c_str(), now_ms_since(request_start_us_));
  std::string error = promise_error(promise);
  if (!error.empty()) {
    fail_answer(400, "Invalid SDP offer: " + error);
    end_by_itself("dropped", Teardown::Quiet);
    return;
  }
  await_promise("create-answer", nullptr, &Call::on_answer_created);
}

void Call::on_answer_created(GstPromise *promise) {
  g_debug("call %s: answer created at %.1f ms", id_.c_str(), now_ms_since(request_start_us_));
  std::string error = promise_error(promise);
  const GstStructure *reply = gst_promise_get_reply(promise);
  if (error.empty() && reply)
    gst_structure_get(reply, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer_, nullptr);
  if (!answer_) {
    fail_answer(400, "Could not answer the SDP offer: " + (error.empty() ? "no answer" : error));
    end_by_itself("dropped", Teardown::Quiet);
    return;
  }
  await_promise("set-local-description", answer_, &Call::on_local_description_set);
  bound_timer_ = g_timeout_add(
      kGatherBoundMs,
      [](gpointer self) -> gboolean {
        auto *call = static_cast<Call *>(self);
        call->bound_timer_ = 0;
        g_warning("call %s: answering after %u ms with %zu local candidate(s)", call->id_.c_str(),
                  kGatherBoundMs, call->local_candidates_.size());
        call->deliver_answer();
        return G_SOURCE_REMOVE;
      },
      this);
}

void Call::on_local_description_set(GstPromise *promise) {
  std::string error = promise_error(promise);
  if (!error.empty()) {
    fail_answer(500, "Could not apply the SDP answer: " + error);
    end_by_itself("dropped", Teardown::Quiet);
    return;
  }
  local_set_ = true;
  g_debug("call %s: local description set at %.1f ms", id_.c_str(), now_ms_since(request_start_us_));
  maybe_answer();
}

void Call::on_local_candidate(const std::string &candidate) {
  g_debug("call %s: local candidate at %.1f ms: %s", id_.c_str(), now_ms_since(request_start_us_),
          candidate.c_str());
  std::vector<std::string> f = candidate_fields(candidate);
  // The first UDP candidate of the RTP component is where the relay forwards to; the answer
  // advertises the relay in its place (see deliver_answer).
  if (!is_udp_rtp_candidate(f)) return;
  if (local_candidates_.empty()) {
    if (!relay_ || !relay_->set_target(f[4], atoi(f[5].c_str()))) {
      g_warning("call %s: cannot relay to candidate %s", id_.c_str(), candidate.c_str());
      return;
    }
    g_debug("call %s: relay port %d forwards to %s:%s", id_.c_str(), relay_->port(),
            f[4].c_str(), f[5].c_str());
  }
  local_candidates_.push_back(candidate);
  maybe_answer();
}

void Call::maybe_answer() {
  if (!answered_cb_ || !local_set_ || local_candidates_.empty()) return;
  if (settle_timer_) g_source_remove(settle_timer_);
  settle_timer_ = g_timeout_add(
      kCandidateSettleMs,
      [](gpointer self) -> gboolean {
        auto *call = static_cast<Call *>(self);
        call->settle_timer_ = 0;
        call->deliver_answer();
        return G_SOURCE_REMOVE;
      },
      this);
}

void Call::deliver_answer() {
  if (settle_timer_) g_source_remove(settle_timer_);
  if (bound_timer_) g_source_remove(bound_timer_);
  settle_timer_ = bound_timer_ = 0;
  if (!answered_cb_ || !answer_) return;
  // Only the relay is advertised: libnice's own port must never be reached directly.
  std::vector<std::string> candidates;
  if (!local_candidates_.empty() && relay_) {
    std::vector<std::string> f = candidate_fields(local_candidates_.front());
    f[5] = std::to_string(relay_->port());
    std::string relayed = "candidate:" + f[0];
    for (size_t i = 1; i < f.size(); i++) relayed += " " + f[i];
    candidates.push_back(relayed);
  }
  std::string sdp = answer_with_candidates(answer_->sdp, candidates);
  g_message("call %s: answer ready %.1f ms after the request (relay port %d)", id_.c_str(),
            now_ms_since(request_start_us_), relay_ ? relay_->port() : 0);
  AnswerCallback cb = std::move(answered_cb_);
  answered_cb_ = nullptr;
  cb(201, sdp);
}

void Call::fail_answer(unsigned status, const std::string &message) {
  if (!answered_cb_) return;
  AnswerCallback cb = std::move(answered_cb_);
  answered_cb_ = nullptr;
  cb(status, message);
}

void Call::on_ice_candidate_cb(GstElement *, guint, gchar *candidate, gpointer serial) {
  std::string text = candidate;
  guint s = GPOINTER_TO_UINT(serial);
  run_on_main([s, text]() {
    if (Call *call = lookup(s)) call->on_local_candidate(text);
  });
}

void Call::on_pad_added_cb(GstElement *, GstPad *pad, gpointer depay) {
  // Runs on a streaming thread: link at once, data is already flowing.
  if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC) return;
  GstPad *sink = gst_element_get_static_pad(GST_ELEMENT(depay), "sink");
  if (!gst_pad_is_linked(sink) && gst_pad_link(pad, sink) != GST_PAD_LINK_OK)
    g_warning("could not link the incoming audio");
  gst_object_unref(sink);
}

void Call::on_ice_state_cb(GObject *, GParamSpec *, gpointer serial) {
  guint s = GPOINTER_TO_UINT(serial);
  run_on_main([s]() {
    if (Call *call = lookup(s)) call->on_ice_state_changed();
  });
}

void Call::on_ice_state_changed() {
  GstWebRTCICEConnectionState state;
  g_object_get(webrtc_, "ice-connection-state", &state, nullptr);
  if (state == ice_state_) return;  // 1.22.0 notifies some states twice
  ice_state_ = state;
  GEnumClass *klass = G_ENUM_CLASS(g_type_class_ref(GST_TYPE_WEBRTC_ICE_CONNECTION_STATE));
  GEnumValue *value = g_enum_get_value(klass, state);
  g_message("call %s: ICE %s (%.1f ms)", id_.c_str(), value ? value->value_nick : "?",
            now_ms_since(request_start_us_));
  g_type_class_unref(klass);
  if (state == GST_WEBRTC_ICE_CONNECTION_STATE_CONNECTED ||
      state == GST_WEBRTC_ICE_CONNECTION_STATE_COMPLETED)
    start_filler();
  if (state == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED) end_by_itself("dropped", Teardown::Quiet);
}

// on-data-channel and the channel's own signals run under webrtcbin's lock: touching webrtcbin
// there deadlocks in 1.22.0, so they only queue work.
void Call::on_data_channel_cb(GstElement *, GstWebRTCDataChannel *channel, gpointer serial) {
  guint s = GPOINTER_TO_UINT(serial);
  // Connected here, not later on the main context, so no early message can be missed.
  g_signal_connect(channel, "on-open", G_CALLBACK(+[](GstWebRTCDataChannel *, gpointer serial) {
                     guint s = GPOINTER_TO_UINT(serial);
                     run_on_main([s]() {
                       if (Call *call = lookup(s)) call->on_channel_open();
                     });
                   }),
                   serial);
  g_signal_connect(channel, "on-message-string",
                   G_CALLBACK(+[](GstWebRTCDataChannel *, gchar *text, gpointer serial) {
                     guint s = GPOINTER_TO_UINT(serial);
                     std::string copy = text ? text : "";
                     run_on_main([s, copy]() {
                       if (Call *call = lookup(s)) call->on_channel_message(copy);
                     });
                   }),
                   serial);
  g_signal_connect(channel, "on-close", G_CALLBACK(+[](GstWebRTCDataChannel *, gpointer serial) {
                     guint s = GPOINTER_TO_UINT(serial);
                     run_on_main([s]() {
                       if (Call *call = lookup(s)) call->on_channel_closed();
                     });
                   }),
                   serial);
  gst_object_ref(channel);
  run_on_main([s, channel]() {
    if (Call *call = lookup(s))
      call->on_channel(channel);
    else
      g_signal_handlers_disconnect_by_data(channel, GUINT_TO_POINTER(s));
    gst_object_unref(channel);
  });
}

void Call::on_channel(GstWebRTCDataChannel *channel) {
  gchar *label = nullptr;
  GstWebRTCDataChannelState state;
  g_object_get(channel, "label", &label, "ready-state", &state, nullptr);
  bool events = g_strcmp0(label, "oai-events") == 0;
  g_message("call %s: data channel '%s' (%.1f ms)", id_.c_str(), label ? label : "",
            now_ms_since(request_start_us_));
  g_free(label);
  if (!events || channel_) {
    g_signal_handlers_disconnect_by_data(channel, GUINT_TO_POINTER(serial_));
    return;
  }
  channel_ = GST_WEBRTC_DATA_CHANNEL(gst_object_ref(channel));
  if (state == GST_WEBRTC_DATA_CHANNEL_STATE_OPEN) on_channel_open();
}

void Call::on_channel_open() {
  if (!channel_ || channel_announced_ || !agent_) return;
  channel_announced_ = true;
  agent_->on_channel_open();
}

void Call::on_channel_message(const std::string &text) {
  if (!channel_ || !agent_) return;  // a message on some other channel
  std::string error;
  JsonNode *node = parse_json(text, &error);
  // The log keeps what arrived: parsed JSON, or the raw text when it was not JSON.
  json_array_add_element(record_->events,
                         node ? deep_copy(node)
                              : json_node_init_string(json_node_alloc(), text.c_str()));
  agent_->on_client_event(node, error, text.size());
  if (node) json_node_unref(node);
}

void Call::on_channel_closed() {
  if (!channel_) return;
  g_message("call %s: the peer closed the data channel", id_.c_str());
  end_by_itself("dropped", Teardown::Quiet);
}

void Call::on_bus_message(GstMessage *message) {
  if (GST_MESSAGE_TYPE(message) != GST_MESSAGE_ERROR) return;
  GError *error = nullptr;
  gchar *debug = nullptr;
  gst_message_parse_error(message, &error, &debug);
  g_warning("call %s: %s (%s)", id_.c_str(), error->message, debug ? debug : "");
  g_error_free(error);
  g_free(debug);
  fail_answer(500, "The call could not be set up.");
  end_by_itself("dropped", Teardown::Quiet);
}

void Call::send_text(const std::string &text) {
  if (!channel_ || ended_) return;
  GError *error = nullptr;
  // send_string_full: plain send-string silently drops messages over 64 KiB in 1.22.0.
  if (!gst_webrtc_data_channel_send_string_full(channel_, text.c_str(), &error)) {
    g_warning("call %s: could not send an event: %s", id_.c_str(),
              error ? error->message : "unknown error");
    if (error) g_error_free(error);
    return;
  }
  log_sent_event(text);
}

void Call::push_audio(const int16_t *samples, size_t count) {
  if (!appsrc_ || ended_) return;
  GstBuffer *buffer = gst_buffer_new_memdup(samples, count * sizeof(int16_t));
  gst_app_src_push_buffer(GST_APP_SRC(appsrc_), buffer);
  if (tap_) tap_->note_pushed(count, false);
}

// A live peer sends media all the time; so does this server while the call is connected:
// whenever neither the echo nor the agent has pushed audio for a while, 20 ms of digital
// silence at a time keeps the RTP stream going. The filler runs on the relay's thread, so a
// busy main loop does not make gaps in it.
void Call::start_filler() {
  if (filler_ || !relay_ || !tap_ || ended_) return;
  tap_->filling.store(true);
  filler_ = g_timeout_source_new(kFillerTickMs);
  g_source_set_priority(filler_, G_PRIORITY_HIGH);
  g_source_set_callback(
      filler_,
      [](gpointer data) -> gboolean {
        MediaTap &tap = **static_cast<std::shared_ptr<MediaTap> *>(data);
        if (!tap.filling.load()) return G_SOURCE_CONTINUE;
        gint64 now = g_get_monotonic_time();
        gint64 until = tap.supplied_until_us.load();
        // Right after real audio, wait for a real gap; while filling, keep the cadence.
        bool due = tap.last_was_filler.load() ? now >= until - kFillerLeadUs
                                              : now >= until + kFillerGapUs;
        if (!due) return G_SOURCE_CONTINUE;
        GstBuffer *buffer = gst_buffer_new_allocate(nullptr, kFillerChunk * sizeof(int16_t),
                                                    nullptr);
        gst_buffer_memset(buffer, 0, 0, kFillerChunk * sizeof(int16_t));
        gst_app_src_push_buffer(GST_APP_SRC(tap.appsrc), buffer);
        tap.note_pushed(kFillerChunk, true);
        return G_SOURCE_CONTINUE;
      },
      new std::shared_ptr<MediaTap>(tap_),
      [](gpointer p) { delete static_cast<std::shared_ptr<MediaTap> *>(p); });
  g_source_attach(filler_, relay_->context());
}

void Call::stop_filler() {
  if (tap_) tap_->filling.store(false);
  if (!filler_) return;
  g_source_destroy(filler_);
  g_source_unref(filler_);
  filler_ = nullptr;
}

void Call::set_echo(bool enabled) {
  if (tap_) tap_->echo.store(enabled);
}

// The control log keeps the text of message items, so tests can see which history a client
// gave a new call.
void Call::item_created(JsonObject *item) {
  if (get_string(item, "type") != "message") return;
  JsonNode *content = json_object_get_member(item, "content");
  if (!content || !JSON_NODE_HOLDS_ARRAY(content)) return;
  JsonArray *parts = json_node_get_array(content);
  std::string text;
  bool has_text = false;
  for (guint i = 0; i < json_array_get_length(parts); i++) {
    JsonNode *node = json_array_get_element(parts, i);
    JsonObject *part = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : nullptr;
    for (const char *member : {"text", "transcript"}) {
      if (has_member_of_type(part, member, JSON_NODE_VALUE)) {
        text += get_string(part, member);
        has_text = true;
      }
    }
  }
  if (!has_text) return;
  record_->messages.push_back(
      CallRecord::Message{get_string(item, "id"), get_string(item, "role"), text});
}

void Call::instructions_changed(const std::string &instructions) {
  record_->instructions = instructions;
}

void Call::function_called(const std::string &call_id, const std::string &name,
                           const std::string &arguments) {
  // A client may answer before the arguments are done (it knows the call_id from the item).
  for (auto &call : record_->function_calls) {
    if (call.call_id == call_id) {
      call.name = name;
      call.arguments = arguments;
      return;
    }
  }
  record_->function_calls.push_back(CallRecord::FunctionCall{call_id, name, arguments, {}});
}

// An output fills in its call's entry; one for a call never made gets an entry of its own.
void Call::function_output(const std::string &call_id, bool issued, const std::string &name,
                           const std::string &output) {
  for (auto &call : record_->function_calls) {
    if (call.call_id == call_id) {
      call.output = output;
      return;
    }
  }
  CallRecord::FunctionCall entry{call_id, {}, {}, output};
  if (!issued && !name.empty()) entry.name = name;
  record_->function_calls.push_back(entry);
}

void Call::image_received(const ReceivedImage &image) {
  record_->images.push_back(CallRecord::Image{image.item_id, image.format, image.detail,
                                              image.width, image.height, image.bytes,
                                              image.message_bytes});
}

void Call::on_input_levels(double seconds, const std::vector<CallRecord::LevelWindow> &windows) {
  record_->input_seconds += seconds;
  for (const auto &window : windows) record_->input_windows.push_back(window);
  while (record_->input_windows.size() > CallRecord::kMaxLevelWindows)
    record_->input_windows.pop_front();
}

void Call::end_by_itself(const char *state, Teardown how) {
  if (ended_) return;
  end(state, how);
  if (ended_cb_) ended_cb_(id_);
}

void Call::end(const char *state, Teardown how) {
  if (ended_) return;
  ended_ = true;
  if (silenced_) state = "dropped";  // nothing the server does now reaches the peer
  record_->state = state;
  g_message("call %s: ended (%s)", id_.c_str(), state);
  fail_answer(500, "The call ended before it was answered.");
  for (guint *timer :
       {&settle_timer_, &bound_timer_, &max_duration_timer_, &end_timer_, &activity_timer_}) {
    if (*timer) g_source_remove(*timer);
    *timer = 0;
  }
  stop_filler();
  agent_.reset();  // stops speech and any synthesis in flight
  bool close_channel =
      how == Teardown::Close && !silenced_ && channel_ && channel_announced_;
  if (channel_) {
    g_signal_handlers_disconnect_by_data(channel_, GUINT_TO_POINTER(serial_));
    if (close_channel) gst_webrtc_data_channel_close(channel_);
    gst_object_unref(channel_);
    channel_ = nullptr;
  }
  if (answer_) gst_webrtc_session_description_free(answer_);
  answer_ = nullptr;
  if (pipeline_) {
    g_signal_handlers_disconnect_by_data(webrtc_, GUINT_TO_POINTER(serial_));
    if (bus_watch_) g_source_remove(bus_watch_);
    bus_watch_ = 0;
    if (tap_) tap_->echo.store(false);
    gst_object_unref(webrtc_);
    gst_object_unref(appsrc_);
    webrtc_ = appsrc_ = nullptr;
  }
  MediaPath media;
  media.pipeline = pipeline_;
  media.relay = std::move(relay_);
  pipeline_ = nullptr;
  if (close_channel && media.pipeline)
    linger_then_release(std::move(media));
  else
    release_media(std::move(media));
  tap_.reset();
}

size_t Call::lingering_pipelines() { return lingering().size(); }

void Call::release_lingering_pipelines() {
  for (auto &entry : lingering()) {
    g_source_remove(entry.first);
    release_media(std::move(entry.second));
  }
  lingering().clear();
}

}  // namespace rts
