/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One WebRTC peer: a webrtcbin in a pipeline of its own, as offerer or
 * answerer, with audio in and out and data channels.
 *
 * The peer knows nothing of signalling: it hands out its local description
 * and candidates and takes the remote ones; its owner carries them. Every
 * webrtcbin callback (they run on webrtcbin's threads, some holding its
 * lock) is marshalled to the owner's Worker behind one guard, so that
 * nothing reaches the owner once stop() has begun. Decoded audio is the one
 * exception: it is handed over on the streaming thread, where it is made. */
#pragma once

#include "core/latency_probes.h"
#include "core/worker.h"
#include "webrtc/data_channel.h"
#include "webrtc/stats.h"

#include <gst/gst.h>
#include <gst/webrtc/webrtc.h>

typedef struct _GstAppSink GstAppSink;

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace rt {

struct PeerGuard;
class LatencyTap;

enum class PeerRole { Offerer, Answerer };

/* Opus for browsers and the service; G.711 for phones. */
enum class AudioCodec { Opus, Pcmu, Pcma };

enum class AudioDirection { None, SendRecv, SendOnly, RecvOnly };

struct PeerAudio {
  AudioDirection direction = AudioDirection::SendRecv;
  AudioCodec codec = AudioCodec::Opus;
  int payload_type = 111;
  /* What push_audio() takes. Raw audio caps are encoded here; empty caps
   * mean ready Opus frames, only payloaded (one frame a buffer). */
  std::string input_caps =
      "audio/x-raw,format=S16LE,rate=48000,channels=1,layout=interleaved";
  /* A live sender queues at most this much before dropping the oldest: a
   * backlog sent in a burst would add its length to the latency. */
  unsigned input_queue_ms = 200;
  /* What the audio callback gets: decoded and converted to these caps. */
  std::string output_caps =
      "audio/x-raw,format=S16LE,rate=48000,channels=1,layout=interleaved";
  /* Opus encoder settings: the bitrate in bit/s (0: the encoder's default,
   * 64000 for mono) and the complexity, from 0 (least CPU) to 10 (the
   * encoder's default). */
  unsigned opus_bitrate = 0;
  int opus_complexity = 10;
  bool opus_voice = true;
  /* push_audio() encodes and sends on the caller's own thread instead of
   * queueing the buffer for a thread of the peer's: one thread hand-off
   * fewer a buffer, for a caller that is a live streaming thread already.
   * Nothing after the encoder waits (no synchronising sink, no bounded
   * queue, sends that never block on the network), so the caller is held
   * for the encoding alone; what the peer cannot take is dropped. Without
   * it, a queue of input_queue_ms in front of the encoder. */
  bool direct_input = false;
  /* Stamp what push_audio() takes on arrival (live capture); otherwise the
   * buffers keep their own timestamps. */
  bool stamp_input = true;
  /* RFC 4733 telephone events (DTMF) beside the codec, at its clock rate:
   * offered on this payload type (an answerer takes the offer's); 0: none. */
  int telephone_event_pt = 0;
};

struct PeerConfig {
  std::string name; /* of the pipeline and in logs */
  PeerRole role = PeerRole::Offerer;
  unsigned latency_ms = 40; /* webrtcbin's jitter buffer */
  /* The jitter buffer passes a stream's first packet at once instead of
   * holding it for latency_ms in case an earlier one comes late
   * (rtpjitterbuffer's faststart): for a receiver that absorbs jitter
   * downstream of it anyway, as the elements' live source does. */
  bool start_at_first_packet = false;
  std::string stun_server;
  std::string turn_server;
  /* Gather on these addresses (libnice leaves loopback out whenever another
   * interface exists: a far end on this host needs "127.0.0.1" here). */
  std::vector<std::string> local_addresses;
  bool ice_tcp = true;
  PeerAudio audio;
  /* Ordered, reliable channels the offerer makes before its offer (in
   * READY, as webrtcbin prefers); see Peer::channel(). */
  std::vector<std::string> channels;
  /* Where the audio's latency through this peer is recorded; none: no
   * probes (see core/latency_probes.h). */
  std::shared_ptr<LatencyProbes> latency;
};

struct PeerError {
  enum class Kind {
    Missing,     /* an element is not installed or cannot do what is asked:
                  * this machine cannot make the call */
    Pipeline,    /* an internal element failed */
    Dtls,        /* the DTLS handshake or an alert */
    Negotiation, /* a description webrtcbin could not make or refused */
  };
  Kind kind;
  std::string message;
};

class Peer {
 public:
  /* Each runs on the worker; a peer being stopped calls none. */
  struct Events {
    /* The description made here (offer or answer), already set locally. */
    std::function<void (GstWebRTCSDPType type, const std::string &sdp)>
        local_description;
    std::function<void (unsigned mline, const std::string &candidate)>
        local_candidate;
    std::function<void ()> gathering_done;
    std::function<void (GstWebRTCICEConnectionState)> ice_state;
    std::function<void (GstWebRTCPeerConnectionState)> connection_state;
    /* A channel the far end opened. */
    std::function<void (std::shared_ptr<DataChannel>)> data_channel;
    /* The remote description was accepted. */
    std::function<void ()> remote_description_set;
    std::function<void (const PeerError &)> error;
    /* Decoded far-end audio in output_caps: on a streaming thread. */
    std::function<void (GstBuffer *)> audio;
    /* An RFC 4733 event from the far end as it starts (0-9, 10 '*', 11 '#',
     * 12-15 A-D, 16 flash). */
    std::function<void (int event)> telephone_event;
  };

  Peer (Worker &worker, PeerConfig config, Events events);
  ~Peer (); /* stop() */

  Peer (const Peer &) = delete;
  Peer &operator= (const Peer &) = delete;

  /* On the worker. Builds the pipeline, makes the configured channels and
   * sets it playing; false (after an error event) when that cannot be
   * done. */
  bool start ();
  bool started () const { return webrtc_ != nullptr; }
  /* A channel made by start() or by create_data_channel(), by label. */
  std::shared_ptr<DataChannel> channel (const std::string &label) const;
  /* On the worker, bounded: waits for webrtcbin's pending get-stats (1.22.0
   * races them with the reset to NULL), then ends the pipeline. No event
   * follows. Idempotent. */
  void stop ();

  /* On the worker. */
  std::shared_ptr<DataChannel> create_data_channel (const std::string &label,
      bool ordered = true);
  void create_offer ();
  /* An offer (answerer: the answer follows as local_description) or an
   * answer (offerer). */
  void set_remote_description (GstWebRTCSDPType type, const std::string &sdp);
  void add_remote_candidate (unsigned mline, const std::string &candidate);
  /* The local description with the candidates gathered so far, for
   * signalling that does not trickle. */
  std::string local_description_with_candidates () const;
  bool gathering_done () const;
  /* webrtcbin's statistics, answered on the worker (not when stopped). */
  void request_stats (std::function<void (const PeerStats &)> done);

  /* On the worker. Sends an RFC 4733 event for duration_ms (40 to 1000;
   * the codec's packets pause meanwhile), after those queued before it;
   * false when both ends have not agreed on telephone events. */
  bool send_telephone_event (int event, unsigned duration_ms);
  /* Both descriptions carry telephone events (the payload type, or -1). */
  int telephone_event_pt () const { return te_pt_; }

  /* Any thread. Audio in input_caps, stamped on arrival; dropped (false)
   * before start(), after stop() and, with direct_input, until the peer's
   * pipeline plays. */
  bool push_audio (GstBuffer *buffer);
  /* Any thread: a new reference to the appsrc that push_audio() feeds (its
   * queue level, its caps, its pipeline's clock), nullptr before start(),
   * after stop(), without audio in or with direct_input. */
  GstElement *ref_audio_input () const;
  /* Monotonic time of the last RTP packet from the far end (0: none). */
  gint64 last_media_us () const { return last_media_us_.load (); }

  const PeerConfig &config () const { return config_; }
  /* For what this class does not cover (and for tests). */
  GstElement *webrtcbin () const { return webrtc_; }
  GstElement *pipeline () const { return pipeline_; }

 private:
  bool build_sender ();
  GstElement *make_input (GstCaps *input);
  void release_input ();
  void tune_ice ();
  void connect_signals ();
  void add_receiver (GstPad *pad);
  /* With GST_DEBUG_DUMP_DOT_DIR set, a dot file of this peer's pipeline
   * beside the application's, named after the peer and what happened. */
  void dump_dot (const char *what) const;
  static void offer_created_cb (GstPromise *, gpointer);
  static void answer_created_cb (GstPromise *, gpointer);
  static void remote_set_cb (GstPromise *, gpointer);
  static void stats_cb (GstPromise *, gpointer);
  static void candidate_cb (GstElement *, guint, gchar *, gpointer);
  static void gathering_cb (GstElement *, GParamSpec *, gpointer);
  static void ice_state_cb (GstElement *, GParamSpec *, gpointer);
  static void connection_state_cb (GstElement *, GParamSpec *, gpointer);
  static void data_channel_cb (GstElement *, GstWebRTCDataChannel *, gpointer);
  static void pad_added_cb (GstElement *, GstPad *, gpointer);
  static gboolean bus_cb (GstBus *, GstMessage *, gpointer);
  static GstFlowReturn sample_cb (GstAppSink *, gpointer);
  static GstPadProbeReturn media_probe_cb (GstPad *, GstPadProbeInfo *,
      gpointer);
  void described (GstWebRTCSessionDescription *desc);
  int telephone_event_rate () const;
  void remote_telephone_events (GstWebRTCSDPType type, const std::string &sdp);
  std::string with_telephone_events (GstWebRTCSDPType type,
      const std::string &sdp);
  void next_telephone_event ();
  void fail (const PeerError &error);
  static void take_description (GstPromise *promise, gpointer data,
      const char *field);

  Worker &worker_;
  PeerConfig config_;
  Events events_;
  std::shared_ptr<PeerGuard> guard_;
  GstElement *pipeline_ = nullptr;
  GstElement *webrtc_ = nullptr;
  GstElement *appsrc_ = nullptr; /* under the guard's lock once started */
  guint bus_watch_ = 0;
  std::vector<gulong> handlers_;
  std::string local_sdp_;
  GstWebRTCSDPType local_type_ = GST_WEBRTC_SDP_TYPE_OFFER;
  std::vector<std::shared_ptr<DataChannel>> channels_;
  std::atomic<gint64> last_media_us_ { 0 };
  GstElement *te_src_ = nullptr;            /* rtpdtmfsrc, in the pipeline */
  std::shared_ptr<LatencyTap> latency_tap_; /* with config_.latency */
  int te_pt_ = -1;                          /* agreed (answerer: offered) */
  guint te_stop_ = 0;                       /* ends an event, or its gap */
  std::deque<std::pair<int, unsigned>> te_queue_; /* events, durations */
  bool stopped_ = false;
};

}  // namespace rt
