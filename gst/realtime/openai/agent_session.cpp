/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "openai/agent_session.h"

#include "core/debug.h"
#include "openai/answer.h"

#include <json-glib/json-glib.h>

#define GST_CAT_DEFAULT rt_agent_debug

namespace rt {

AgentSession::AgentSession (std::string name, Events events)
    : name_ (std::move (name)), events_ (std::move (events)),
      max_message_ (kMaxDataChannelMessage)
{
}

void AgentSession::configure (const SessionConfig &session,
    HistoryLimits limits, unsigned jitterbuffer_ms)
{
  session_ = session;
  history_.set_limits (limits);
  std::lock_guard<std::mutex> l (lock_);
  reply_audio_ = ReplyAudio (jitterbuffer_ms);
}

void AgentSession::attach (std::shared_ptr<DataChannel> channel,
    gsize max_message)
{
  detach ();
  channel_ = std::move (channel);
  assembler_ = std::make_unique<EventAssembler> ();
  const unsigned attachment = ++attachment_;
  {
    std::lock_guard<std::mutex> l (lock_);
    max_message_ = max_message;
  }
  if (!channel_)
    return;
  /* Each handler checks that its channel is still the attached one. */
  channel_->on_open = [this, attachment] {
    if (attachment == attachment_)
      opened ();
  };
  channel_->on_close = [this, attachment] {
    if (attachment == attachment_ && events_.fault)
      events_.fault (FaultKind::ChannelClosed,
          "the far end closed the oai-events data channel");
  };
  channel_->on_error = [this, attachment] (const std::string &message) {
    if (attachment == attachment_ && events_.fault)
      events_.fault (FaultKind::ChannelClosed,
          "data channel error: " + message);
  };
  auto message = [this, attachment] (const std::string &text) {
    if (attachment == attachment_)
      handle (text);
  };
  channel_->on_text = message;
  channel_->on_data = message;
}

void AgentSession::set_max_message (gsize max_message)
{
  std::lock_guard<std::mutex> l (lock_);
  max_message_ = max_message;
}

void AgentSession::detach ()
{
  attachment_++;
  {
    std::lock_guard<std::mutex> l (lock_);
    open_ = false;
    max_message_ = kMaxDataChannelMessage;
  }
  if (assembler_) {
    for (Assembled &piece : assembler_->flush ()) {
      std::lock_guard<std::mutex> l (lock_);
      stats_.events_malformed++;
      GST_WARNING ("call %s: a server event was cut short by the end of the "
                   "call (%zu bytes)",
          name_.c_str (), piece.bytes);
    }
  }
  assembler_.reset ();
  if (channel_) {
    channel_->on_open = nullptr;
    channel_->on_close = nullptr;
    channel_->on_error = nullptr;
    channel_->on_text = nullptr;
    channel_->on_data = nullptr;
  }
  channel_.reset ();
}

void AgentSession::opened ()
{
  gsize limit;
  {
    std::lock_guard<std::mutex> l (lock_);
    open_ = true;
    agent_spoke_ = false;
    reply_audio_.reset ();
    limit = max_message_;
  }
  items_.forget ();
  std::string error;
  if (!transmit (build_session_update (session_), "session.update", &error))
    GST_WARNING ("call %s: session.update not sent: %s", name_.c_str (),
        error.c_str ());
  /* The conversation so far, so that the agent keeps its context. */
  guint64 replayed = 0;
  for (const auto &item : history_.replay_events (limit))
    replayed += transmit (item, "conversation.item.create", &error) ? 1 : 0;
  if (replayed)
    GST_INFO ("call %s: %" G_GUINT64_FORMAT " conversation items replayed",
        name_.c_str (), replayed);
  {
    std::lock_guard<std::mutex> l (lock_);
    stats_.history_replayed += replayed;
  }
  if (events_.opened)
    events_.opened ();
}

void AgentSession::update_session (const SessionConfig &full, unsigned changed)
{
  session_ = full;
  /* Not open: the next call starts with the whole session anyway. */
  std::string error;
  if (is_open () &&
      !transmit (build_session_update (full, changed), "session.update",
          &error))
    GST_WARNING ("call %s: session.update not sent: %s", name_.c_str (),
        error.c_str ());
}

/* One received message: an event, part of one (the transport splits
 * messages over its limit), or junk, which is counted and never fatal. */
void AgentSession::handle (const std::string &text)
{
  if (!assembler_)
    return;
  const unsigned attachment = attachment_;
  for (Assembled &piece : assembler_->feed (text)) {
    handle_piece (piece);
    /* An event may end the attempt (session_expired) or the call. */
    if (attachment != attachment_)
      return;
  }
}

void AgentSession::handle_piece (Assembled &piece)
{
  if (piece.kind != Assembled::Kind::Event) {
    {
      std::lock_guard<std::mutex> l (lock_);
      (piece.kind == Assembled::Kind::Oversized ? stats_.events_oversized :
                                                  stats_.events_malformed)++;
    }
    GST_WARNING ("call %s: ignoring a %s server message (%zu bytes in %u "
                 "piece(s)): %s",
        name_.c_str (), assembled_kind_name (piece.kind), piece.bytes,
        piece.pieces, piece.why.c_str ());
    return;
  }
  const ServerEvent &event = *piece.event;
  /* Read once, by the assembler: everything below uses that reading. */
  const EventMeaning meaning = interpret_server_event (event.type,
      event.object ());
  bool interrupts = false;
  {
    std::lock_guard<std::mutex> l (lock_);
    stats_.events_in++;
    stats_.events_reassembled += piece.reassembled () ? 1 : 0;
    stats_.events_unknown += is_known_server_event (event.type) ? 0 : 1;
    stats_.events_in_by_type[event.type]++;
    if (meaning.usage)
      stats_.tokens += *meaning.usage;
    agent_spoke_ = agent_spoke_ || meaning.agent_spoke;
    interrupts = reply_audio_.interrupts (event.type, g_get_monotonic_time ());
  }
  GST_LOG ("call %s: server event %s", name_.c_str (), event.type.c_str ());
  /* What arrives while the conversation is being emptied belongs to the
   * old one: not remembered for a later call, and removed at the service
   * too. */
  if (!items_.clearing ())
    history_.observe_server_event (event.type, event.object ());
  for (const std::string &json :
      items_.observe_server_event (event.type, event.object ()))
    send_own (json);
  /* First: the audio of an interrupted reply must go before anything else
   * is done with the event. */
  if (interrupts && events_.interrupt)
    events_.interrupt ();
  const unsigned attachment = attachment_;
  if (events_.event)
    events_.event (event.type, piece.text, meaning);
  if (attachment != attachment_)
    return;
  if (event.type == "error" && event.error_code == "session_expired" &&
      events_.fault)
    events_.fault (FaultKind::SessionExpired,
        "the service ended the call at "
        "its time limit: " +
            event.error_message);
}

void AgentSession::new_conversation ()
{
  history_.clear ();
  std::vector<std::string> events = items_.clear_events ();
  {
    std::lock_guard<std::mutex> l (lock_);
    stats_.conversations_cleared++;
  }
  if (!is_open ())
    return; /* the next attempt's conversation starts empty */
  guint sent = 0;
  for (const std::string &json : events)
    sent += send_own (json) ? 1 : 0;
  /* The service's answer to the last one ends the clearing: without it,
   * every later reply would be cancelled. The channel is going; the next
   * call starts empty. */
  if (sent < events.size ())
    items_.forget ();
  GST_INFO ("call %s: a new conversation (%u of %zu client events sent)",
      name_.c_str (), sent, events.size ());
}

bool AgentSession::send_own (const std::string &json)
{
  std::string error;
  /* The type, for the counters; these texts are ours. */
  auto type = admit (json, &error);
  if (type && transmit (json, *type, &error))
    return true;
  GST_WARNING ("call %s: %s not sent: %s", name_.c_str (),
      type ? type->c_str () : "an event", error.c_str ());
  return false;
}

bool AgentSession::answers_stale_call (const std::string &json) const
{
  if (json.find ("function_call_output") == std::string::npos)
    return false;
  JsonNode *root = json_from_string (json.c_str (), nullptr);
  const bool stale = root && JSON_NODE_HOLDS_OBJECT (root) &&
      items_.answers_stale_call (json_node_get_object (root));
  if (root)
    json_node_unref (root);
  return stale;
}

void AgentSession::refused ()
{
  std::lock_guard<std::mutex> l (lock_);
  stats_.events_refused++;
}

std::optional<std::string> AgentSession::admit (const std::string &json,
    std::string *error)
{
  std::string why;
  auto type = check_client_event (json, &why);
  if (!type) {
    if (error)
      *error = "not a client event: " + why;
    refused ();
    return std::nullopt;
  }
  std::lock_guard<std::mutex> l (lock_);
  std::string problem;
  if (!open_)
    problem = "the oai-events data channel is not open";
  else if (json.size () > max_message_)
    problem = "the event is " + std::to_string (json.size ()) +
        " bytes, over the channel's limit of " + std::to_string (max_message_);
  if (!problem.empty ()) {
    if (error)
      *error = problem;
    stats_.events_refused++;
    return std::nullopt;
  }
  return type;
}

bool AgentSession::send (const std::string &json, const std::string &type,
    std::string *error)
{
  if (type == "conversation.item.create" && answers_stale_call (json)) {
    if (error)
      *error = "the function call belongs to a conversation that was "
               "cleared (new-conversation)";
    refused ();
    return false;
  }
  if (!transmit (json, type, error))
    return false;
  history_.observe_client_event (json);
  return true;
}

bool AgentSession::transmit (const std::string &json, const std::string &type,
    std::string *error)
{
  if (!channel_ || !is_open ()) {
    if (error)
      *error = "the oai-events data channel is not open";
    refused ();
    return false;
  }
  if (!channel_->send_text (json, error)) {
    refused ();
    return false;
  }
  std::lock_guard<std::mutex> l (lock_);
  stats_.events_out++;
  stats_.events_out_by_type[type]++;
  return true;
}

bool AgentSession::is_open () const
{
  std::lock_guard<std::mutex> l (lock_);
  return open_;
}

bool AgentSession::agent_spoke () const
{
  std::lock_guard<std::mutex> l (lock_);
  return agent_spoke_;
}

gsize AgentSession::max_message_size () const
{
  std::lock_guard<std::mutex> l (lock_);
  return max_message_;
}

AgentStats AgentSession::stats () const
{
  std::lock_guard<std::mutex> l (lock_);
  return stats_;
}

}  // namespace rt
