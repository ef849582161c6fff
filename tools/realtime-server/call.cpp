/* SPDX-License-Identifier: LGPL-2.1-or-later */
// A call's life: its timers (maximum duration, expiry grace, peer activity), the faults the
// control interface injects, its teardown, and what its agent asks of it.
#include "call.h"

#include "json_util.h"
#include "main_thread.h"
#include "media_tap.h"

#include <algorithm>
#include <map>

namespace rts {

namespace {

// Time for the session_expired event to leave before the media goes away.
constexpr guint kExpiryGraceMs = 200;
// How often a call checks that its peer still sends something.
constexpr guint kActivityCheckMs = 1000;
// Time for a data channel close to reach the peer before the media goes away.
constexpr guint kCloseLingerMs = 150;

std::map<guint, Call *> &live_calls ()
{
  static std::map<guint, Call *> calls;
  return calls;
}

guint next_serial ()
{
  static guint serial = 0;
  return ++serial;
}

// What carries a call's media: its peer and the relay in front of its ICE agent. The peer stops
// first, so that nothing sends into a relay that is gone.
struct MediaPath {
  std::unique_ptr<rt::Peer> peer;
  std::unique_ptr<Relay> relay;
};

void release_media (MediaPath media)
{
  if (media.peer)
    media.peer->stop ();
  media.relay.reset ();
  // The call may be ending inside one of the peer's own events: the peer object goes once that
  // has returned (stopped, it calls nothing any more).
  if (media.peer) {
    std::shared_ptr<rt::Peer> stopped (std::move (media.peer));
    server_worker ().post ([stopped] () {});
  }
}

// Media of calls whose channel close is still on its way to the peer, by the timer that will
// release them.
std::map<guint, MediaPath> &lingering ()
{
  static std::map<guint, MediaPath> media;
  return media;
}

void linger_then_release (MediaPath media)
{
  // The key is only known once the timer exists: the callback finds its entry by the peer.
  rt::Peer *key = media.peer.get ();
  guint timer = add_timeout (
      kCloseLingerMs,
      [] (gpointer p) -> gboolean {
        for (auto it = lingering ().begin (); it != lingering ().end (); ++it) {
          if (it->second.peer.get () == p) {
            MediaPath media = std::move (it->second);
            lingering ().erase (it);
            release_media (std::move (media));
            break;
          }
        }
        return G_SOURCE_REMOVE;
      },
      key);
  lingering ()[timer] = std::move (media);
}

}  // namespace

Call::Call (const std::string &id, const Options &options,
    const Session &session, std::shared_ptr<CallRecord> record,
    SpeechSynth &synth, Recogniser *recogniser, StrictIce strict_ice,
    EndedCallback ended)
    : id_ (id), serial_ (next_serial ()), options_ (options),
      record_ (std::move (record)), ended_cb_ (std::move (ended)),
      recognise_ (recogniser != nullptr),
      agent_ (std::make_unique<Agent> (*this, options, session, synth,
          recogniser, record_->webrtc_filter)),
      strict_ice_ (strict_ice)
{
  live_calls ()[serial_] = this;
  record_->instructions = rt::json::string_member (session.object (),
      "instructions");
}

Call::~Call ()
{
  if (!ended_)
    end ("dropped", Teardown::Quiet);
  live_calls ().erase (serial_);
}

Call *Call::lookup (guint serial)
{
  auto it = live_calls ().find (serial);
  return it == live_calls ().end () || it->second->ended_ ? nullptr :
                                                            it->second;
}

void Call::start (GstSDPMessage *offer, int opus_pt, gint64 request_start_us,
    AnswerCallback answered)
{
  answered_cb_ = std::move (answered);
  request_start_us_ = request_start_us;
  gchar *offer_text = gst_sdp_message_as_text (offer);
  const std::string offer_sdp = offer_text ? offer_text : "";
  g_free (offer_text);
  gst_sdp_message_free (offer);
  std::string error;
  relay_ = Relay::create (options_.address, id_, record_->relay, &error);
  if (!relay_) {
    fail_answer (500, "The call could not be set up: " + error);
    end_by_itself ("dropped", Teardown::Quiet);
    return;
  }
  relay_->set_strict (strict_ice_);
  relay_->set_discard_rtp (options_.media == MediaMode::Minimal);
  bool started = start_peer (opus_pt, &error);
  g_debug ("call %s: playing at %.1f ms", id_.c_str (),
      (g_get_monotonic_time () - request_start_us_) / 1000.0);
  if (!started) {
    fail_answer (500, "The call could not be set up: " + error);
    end_by_itself ("dropped", Teardown::Quiet);
    return;
  }
  // The answer follows as the peer's local description (see on_local_description).
  peer_->set_remote_description (GST_WEBRTC_SDP_TYPE_OFFER, offer_sdp);
  if (ended_)
    return;

  if (options_.max_call_seconds > 0) {
    max_duration_timer_ = add_timeout (
        static_cast<guint> (std::min<guint64> (
            options_.max_call_seconds * guint64 (1000), G_MAXUINT)),
        [] (gpointer self) -> gboolean {
          auto *call = static_cast<Call *> (self);
          call->max_duration_timer_ = 0;
          g_message ("call %s: maximum duration reached", call->id_.c_str ());
          call->expire ();
          return G_SOURCE_REMOVE;
        },
        this);
  }
  activity_timer_ = add_timeout (
      kActivityCheckMs,
      [] (gpointer self) -> gboolean {
        static_cast<Call *> (self)->check_peer_activity ();
        return G_SOURCE_CONTINUE;
      },
      this);
}

void Call::expire ()
{
  if (ended_ || silenced_ || end_timer_)
    return;
  if (max_duration_timer_)
    remove_timeout (max_duration_timer_);
  max_duration_timer_ = 0;
  if (agent_)
    agent_->on_session_expired ();
  end_timer_ = add_timeout (
      kExpiryGraceMs,
      [] (gpointer self) -> gboolean {
        auto *call = static_cast<Call *> (self);
        call->end_timer_ = 0;
        call->end_by_itself ("expired", Teardown::Close);
        return G_SOURCE_REMOVE;
      },
      this);
}

void Call::silence ()
{
  if (ended_ || silenced_)
    return;
  silenced_ = true;
  record_->state = "dropped";
  if (relay_)
    relay_->set_silent (true);
  g_message ("call %s: silenced: the relay drops everything both ways",
      id_.c_str ());
}

void Call::answer_delivered ()
{
  // The client could not send anything before it had the answer (maybe delayed on purpose).
  if (relay_)
    relay_->note_activity ();
}

void Call::set_strict_ice (StrictIce strict)
{
  if (relay_)
    relay_->set_strict (strict);
}

// A peer that sends nothing for the peer timeout has gone (or, silenced, can no longer be
// heard): the call ends and is freed.
void Call::check_peer_activity ()
{
  if (ended_ || !relay_)
    return;
  gint64 idle_us = g_get_monotonic_time () - relay_->last_client_activity_us ();
  if (idle_us <
      static_cast<gint64> (options_.peer_timeout_seconds) * G_USEC_PER_SEC)
    return;
  g_message ("call %s: nothing from the peer for %.1f s", id_.c_str (),
      idle_us / 1e6);
  end_by_itself ("dropped", Teardown::Quiet);
}

// The control log keeps the text of message items, so tests can see which history a client
// gave a new call.
void Call::item_created (JsonObject *item)
{
  if (rt::json::string_member (item, "type") != "message")
    return;
  JsonNode *content = json_object_get_member (item, "content");
  if (!content || !JSON_NODE_HOLDS_ARRAY (content))
    return;
  JsonArray *parts = json_node_get_array (content);
  std::string text;
  bool has_text = false;
  for (guint i = 0; i < json_array_get_length (parts); i++) {
    JsonNode *node = json_array_get_element (parts, i);
    JsonObject *part = JSON_NODE_HOLDS_OBJECT (node) ?
        json_node_get_object (node) :
        nullptr;
    for (const char *member : { "text", "transcript" }) {
      if (has_member_of_type (part, member, JSON_NODE_VALUE)) {
        text += rt::json::string_member (part, member);
        has_text = true;
      }
    }
  }
  if (!has_text)
    return;
  record_->messages.push_back (
      CallRecord::Message { rt::json::string_member (item, "id"),
          rt::json::string_member (item, "role"), text });
}

void Call::items_changed (size_t count)
{
  record_->conversation_items = count;
}

void Call::instructions_changed (const std::string &instructions)
{
  record_->instructions = instructions;
}

void Call::function_called (const std::string &call_id, const std::string &name,
    const std::string &arguments)
{
  // A client may answer before the arguments are done (it knows the call_id from the item).
  for (auto &call : record_->function_calls) {
    if (call.call_id == call_id) {
      call.name = name;
      call.arguments = arguments;
      return;
    }
  }
  record_->function_calls.push_back (
      CallRecord::FunctionCall { call_id, name, arguments, {} });
}

// An output fills in its call's entry; one for a call never made gets an entry of its own.
void Call::function_output (const std::string &call_id, bool issued,
    const std::string &name, const std::string &output)
{
  for (auto &call : record_->function_calls) {
    if (call.call_id == call_id) {
      call.output = output;
      return;
    }
  }
  CallRecord::FunctionCall entry { call_id, {}, {}, output };
  if (!issued && !name.empty ())
    entry.name = name;
  record_->function_calls.push_back (entry);
}

void Call::image_received (const ReceivedImage &image)
{
  record_->images.push_back (
      CallRecord::Image { image.item_id, image.format, image.detail,
          image.width, image.height, image.bytes, image.message_bytes });
}

void Call::on_input_levels (double seconds,
    const std::vector<CallRecord::LevelWindow> &windows)
{
  record_->input_seconds += seconds;
  for (const auto &window : windows)
    record_->input_windows.push_back (window);
  while (record_->input_windows.size () > CallRecord::kMaxLevelWindows)
    record_->input_windows.pop_front ();
}

void Call::end_by_itself (const char *state, Teardown how)
{
  if (ended_)
    return;
  end (state, how);
  if (ended_cb_)
    ended_cb_ (id_);
}

void Call::end (const char *state, Teardown how)
{
  if (ended_)
    return;
  ended_ = true;
  if (silenced_)
    state = "dropped";  // nothing the server does now reaches the peer
  record_->state = state;
  g_message ("call %s: ended (%s)", id_.c_str (), state);
  fail_answer (500, "The call ended before it was answered.");
  for (guint *timer : { &settle_timer_, &bound_timer_, &max_duration_timer_,
           &end_timer_, &activity_timer_ }) {
    if (*timer)
      remove_timeout (*timer);
    *timer = 0;
  }
  stop_filler ();
  agent_.reset ();  // stops speech and any synthesis in flight
  // The media stops at once: nothing more is pushed into the peer, even while it lingers.
  if (tap_) {
    tap_->echo.store (false);
    tap_->set_peer (nullptr);
  }
  bool close_channel = how == Teardown::Close && !silenced_ && channel_ &&
      channel_announced_;
  // Its callbacks stay (one of them may be running): they find no call any more.
  if (channel_) {
    if (close_channel)
      channel_->close ();
    channel_.reset ();
  }
  answer_sdp_.clear ();
  MediaPath media;
  media.peer = std::move (peer_);
  media.relay = std::move (relay_);
  if (close_channel && media.peer)
    linger_then_release (std::move (media));
  else
    release_media (std::move (media));
  tap_.reset ();
}

size_t Call::lingering_pipelines ()
{
  return lingering ().size ();
}

void Call::release_lingering_pipelines ()
{
  for (auto &entry : lingering ()) {
    remove_timeout (entry.first);
    release_media (std::move (entry.second));
  }
  lingering ().clear ();
}

}  // namespace rts
