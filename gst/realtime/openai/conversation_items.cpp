/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "openai/conversation_items.h"

#include "core/json_util.h"
#include "openai/conversation.h"

#include <json-glib/json-glib.h>

#include <algorithm>

namespace rt {
namespace {

using json::finish;
using json::object_member;
using json::string_member;

std::string delete_event (const std::string &item_id)
{
  JsonBuilder *b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "conversation.item.delete");
  json_builder_set_member_name (b, "item_id");
  json_builder_add_string_value (b, item_id.c_str ());
  json_builder_end_object (b);
  return finish (b);
}

/* Enough to recognise a late answer; older ones are long answered. */
constexpr std::size_t kMaxStaleCalls = 256;

}  // namespace

std::vector<std::string> ConversationItems::observe_server_event (
    const std::string &type, JsonObject *event)
{
  std::vector<std::string> follow;
  if (type == "response.created") {
    responding_ = !clearing ();
    if (clearing ()) {
      follow.push_back (build_simple_event ("response.cancel"));
      follow.push_back (build_simple_event ("output_audio_buffer.clear"));
      cancelled_++;
    }
  } else if (type == "response.done") {
    if (!responding_ && cancelled_ > 0)
      cancelled_--;
    responding_ = false;
  } else if (type == "output_audio_buffer.started") {
    playing_ = true;
  } else if (type == "output_audio_buffer.stopped" ||
      type == "output_audio_buffer.cleared") {
    playing_ = false;
  } else if (type == "conversation.item.added" ||
      type == "conversation.item.created") {
    /* The GA service sends .added (then .done), the beta .created; both
     * carry the whole item. */
    JsonObject *item = object_member (event, "item");
    const std::string id = string_member (item, "id");
    const std::string call_id = string_member (item, "call_id");
    if (string_member (item, "type") == "function_call" && !call_id.empty ())
      (clearing () ? stale_call_ids_ : call_ids_).insert (call_id);
    if (id.empty ())
      return follow;
    if (clearing ())
      follow.push_back (delete_event (id));
    else if (std::find (order_.begin (), order_.end (), id) == order_.end ())
      order_.push_back (id);
  } else if (type == "conversation.item.deleted") {
    const std::string id = string_member (event, "item_id");
    order_.erase (std::remove (order_.begin (), order_.end (), id),
        order_.end ());
  } else if (type == "input_audio_buffer.cleared") {
    clearing_ = false;
  }
  return follow;
}

std::vector<std::string> ConversationItems::clear_events ()
{
  std::vector<std::string> events;
  /* The service refuses a cancel with no response active
   * (response_cancel_not_active). Over WebRTC it plays the audio of a
   * reply on after response.done unless that is cleared too. */
  if (responding_) {
    events.push_back (build_simple_event ("response.cancel"));
    cancelled_++;
  }
  if (responding_ || playing_)
    events.push_back (build_simple_event ("output_audio_buffer.clear"));
  for (const std::string &id : order_)
    events.push_back (delete_event (id));
  events.push_back (build_simple_event ("input_audio_buffer.clear"));
  if (stale_call_ids_.size () + call_ids_.size () > kMaxStaleCalls)
    stale_call_ids_.clear ();
  stale_call_ids_.insert (call_ids_.begin (), call_ids_.end ());
  call_ids_.clear ();
  order_.clear ();
  responding_ = false; /* cancelled: no second cancel for it */
  clearing_ = true;
  return events;
}

bool ConversationItems::answers_stale_call (JsonObject *client_event) const
{
  if (string_member (client_event, "type") != "conversation.item.create")
    return false;
  JsonObject *item = object_member (client_event, "item");
  return string_member (item, "type") == "function_call_output" &&
      stale_call_ids_.count (string_member (item, "call_id")) > 0;
}

void ConversationItems::forget ()
{
  order_.clear ();
  call_ids_.clear ();
  responding_ = false;
  playing_ = false;
  clearing_ = false;
  cancelled_ = 0;
}

}  // namespace rt
