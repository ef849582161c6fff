/* SPDX-License-Identifier: LGPL-2.1-or-later */
// One call: an answering rt::Peer (a webrtcbin in a pipeline of its own), the UDP relay in front
// of its ICE agent, the oai-events data channel, and the agent that drives them.
//
// call.cpp: the call's life (timers, faults, teardown) and what the agent asks of it;
// call_media.cpp: the peer, the answer and its candidates, the media in and out.
#pragma once

#include "agent.h"
#include "control.h"
#include "options.h"
#include "relay.h"
#include "session.h"
#include "speech.h"
#include "webrtc/peer.h"

#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace rts {

struct MediaTap;

class Call : public AgentHost {
 public:
  // status 201: text is the SDP answer. Otherwise text is the message for the HTTP error body.
  using AnswerCallback =
      std::function<void (unsigned status, const std::string &text)>;
  // The call ended on its own (expiry, peer gone, pipeline error); the owner may destroy it.
  using EndedCallback = std::function<void (const std::string &id)>;

  Call (const std::string &id, const Options &options, const Session &session,
      std::shared_ptr<CallRecord> record, SpeechSynth &synth,
      Recogniser *recogniser, StrictIce strict_ice, EndedCallback ended);
  ~Call () override;
  Call (const Call &) = delete;
  Call &operator= (const Call &) = delete;

  // Begin answering offer (taken over). answered runs once, on the server's worker.
  void start (GstSDPMessage *offer, int opus_pt, gint64 request_start_us,
      AnswerCallback answered);

  enum class Teardown {
    Quiet,  // everything goes at once and nothing is said: the peer notices only by silence
    // (peer gone, ICE failed, pipeline error, answer never delivered)
    Close,  // the events channel is closed (the peer sees the channel close within
    // milliseconds) and the media stops at once; the pipeline and relay linger
    // briefly so the close reaches the peer (hangup, expiry, drop, shutdown)
  };
  // End the call; state is what the control log reports (hungup|dropped|expired). A call
  // already silenced stays "dropped".
  void end (const char *state, Teardown how);
  // End as the service does at its 60-minute limit: session_expired, then the channel closes.
  void expire ();
  // Go silent: the relay drops every packet both ways from now on. The call is "dropped" but
  // lives on until the peer-timeout notices that nothing reaches the server any more.
  void silence ();
  bool silenced () const { return silenced_; }
  void set_strict_ice (StrictIce strict);
  // The answer reached the HTTP client: the peer timeout counts from now.
  void answer_delivered ();
  // Pipelines still lingering after a graceful end.
  static size_t lingering_pipelines ();
  static void release_lingering_pipelines ();
  bool ended () const { return ended_; }
  const std::string &id () const { return id_; }
  Flavor flavor () const { return record_->flavor; }

  // Send text as is on the data channel, if open (the control interface's send_event).
  void send_raw (const std::string &text) { send_text (text); }

  // AgentHost
  void send_text (const std::string &text) override;
  void push_audio (const int16_t *samples, size_t count) override;
  void set_echo (bool enabled) override;
  void item_created (JsonObject *item) override;
  void items_changed (size_t count) override;
  void instructions_changed (const std::string &instructions) override;
  void function_called (const std::string &call_id, const std::string &name,
      const std::string &arguments) override;
  void function_output (const std::string &call_id, bool issued,
      const std::string &name, const std::string &output) override;
  void image_received (const ReceivedImage &image) override;

 private:
  friend struct MediaTap;  // hands the caller's audio levels over on the worker

  // call_media.cpp
  bool start_peer (int opus_pt, std::string *error);
  // The peer's events, each finding the call again by serial (it may have ended meanwhile).
  rt::Peer::Events peer_events ();
  void fail_answer (unsigned status, const std::string &message);
  void on_peer_error (const rt::PeerError &error);
  void on_local_description (const std::string &sdp);
  void on_local_candidate (const std::string &candidate);
  void maybe_answer ();
  void deliver_answer ();
  void on_channel (const std::shared_ptr<rt::DataChannel> &channel);
  void on_channel_open ();
  void on_channel_message (const std::string &text);
  void on_channel_closed ();
  void on_ice_state_changed (GstWebRTCICEConnectionState state);
  void start_filler ();
  void stop_filler ();
  void start_minimal_sender ();

  // call.cpp
  // Decoded caller audio: seconds more of it, and the level windows it completed.
  void on_input_levels (double seconds,
      const std::vector<CallRecord::LevelWindow> &windows);
  void check_peer_activity ();
  // End for a reason of the call's own and tell the owner.
  void end_by_itself (const char *state, Teardown how);
  static Call *lookup (guint serial);

  const std::string id_;
  const guint serial_;
  const Options &options_;
  std::shared_ptr<CallRecord> record_;
  EndedCallback ended_cb_;
  // The caller's samples go to the agent too, for its recogniser.
  const bool recognise_;
  std::unique_ptr<Agent> agent_;

  std::unique_ptr<rt::Peer> peer_;
  std::shared_ptr<MediaTap> tap_;
  std::shared_ptr<rt::DataChannel> channel_;
  bool channel_announced_ = false;
  bool starting_ =
      false;  // inside peer_->start(): errors are reported by its result
  std::string start_error_;

  AnswerCallback answered_cb_;
  bool remote_set_ = false;
  std::string answer_sdp_;  // webrtcbin's answer, once set locally
  std::vector<std::string> local_candidates_;
  guint settle_timer_ =
      0;  // short pause after a candidate, in case siblings follow
  guint bound_timer_ =
      0;  // gathering may never complete in 1.22.0: answer anyway
  gint64 request_start_us_ = 0;

  std::unique_ptr<Relay> relay_;
  const StrictIce strict_ice_;
  GSource *filler_ =
      nullptr;  // silence between bursts of audio, on the relay's thread
  guint activity_timer_ = 0;  // watches for a peer that stopped sending
  bool silenced_ = false;

  guint max_duration_timer_ = 0;
  guint end_timer_ = 0;
  bool ended_ = false;
  GstWebRTCICEConnectionState ice_state_ = GST_WEBRTC_ICE_CONNECTION_STATE_NEW;
};

}  // namespace rts
