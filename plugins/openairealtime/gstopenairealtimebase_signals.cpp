/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The signals of the sink and the src: the ones they emit (server events,
 * transcripts, function calls) and the actions an application calls, each
 * a client event sent on the element's call. */
#include "gstopenairealtimebase.h"

#include "openai/protocol.h"

#include <string>

#define GST_CAT_DEFAULT gst_openai_realtime_base_debug

static bool send_event (GstOpenAIRealtimeBase *self, const char *json)
{
  auto c = gst_openai_realtime_base_get_call (self);
  std::string error;
  if (!json)
    error = "no event given";
  else if (!c)
    error = "the element is not in a call (it starts in PAUSED)";
  else if (c->send_event (json, &error))
    return true;
  GST_WARNING_OBJECT (self, "send-client-event refused: %s", error.c_str ());
  return false;
}

static bool send_simple (GstOpenAIRealtimeBase *self, const char *type)
{
  return send_event (self, rt::build_simple_event (type).c_str ());
}

static gboolean send_event_action (GstOpenAIRealtimeBase *self,
    const gchar *json)
{
  return send_event (self, json);
}

static gboolean send_text_action (GstOpenAIRealtimeBase *self,
    const gchar *text, gboolean respond)
{
  if (!text || !*text) {
    GST_WARNING_OBJECT (self, "send-text refused: no text");
    return FALSE;
  }
  std::string item = rt::build_text_message ("user", text);
  return send_event (self, item.c_str ()) &&
      (!respond || send_simple (self, "response.create"));
}

static gboolean create_response_action (GstOpenAIRealtimeBase *self)
{
  return send_simple (self, "response.create");
}

static gboolean cancel_response_action (GstOpenAIRealtimeBase *self)
{
  return send_simple (self, "response.cancel");
}

static gboolean clear_audio_action (GstOpenAIRealtimeBase *self)
{
  /* The service wants the response cancelled before its output is
   * cleared; with no response in progress only the clear matters. */
  send_simple (self, "response.cancel");
  bool ok = send_simple (self, "output_audio_buffer.clear");
  if (auto c = gst_openai_realtime_base_get_call (self))
    c->interrupt ();
  return ok;
}

static gboolean new_conversation_action (GstOpenAIRealtimeBase *self)
{
  auto c = gst_openai_realtime_base_get_call (self);
  if (!c) {
    GST_WARNING_OBJECT (self,
        "new-conversation refused: the element is not in "
        "a call (it starts in PAUSED)");
    return FALSE;
  }
  c->new_conversation ();
  return TRUE;
}

static gboolean function_result_action (GstOpenAIRealtimeBase *self,
    const gchar *call_id, const gchar *output)
{
  auto c = gst_openai_realtime_base_get_call (self);
  std::string error;
  if (!c)
    error = "the element is not in a call (it starts in PAUSED)";
  else if (c->send_function_output (call_id ? call_id : "",
               output ? output : "", &error))
    return TRUE;
  GST_WARNING_OBJECT (self, "function-result refused: %s", error.c_str ());
  return FALSE;
}

void gst_openai_realtime_base_install_signals (GType type)
{
  /**
   * server-event:
   * @type: the event's "type"
   * @json: the whole event as JSON text
   *
   * Emitted, from an internal thread, for every event the service sends.
   * The same event is posted as an element message named
   * "openai-realtime-event" (fields type and json) by one element of the call.
   */
  g_signal_new ("server-event", type, G_SIGNAL_RUN_LAST, 0, nullptr, nullptr,
      nullptr, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  /**
   * transcript:
   * @role: "user" or "assistant"
   * @item_id: the conversation item the text belongs to
   * @text: a delta, or the whole text when @final
   * @final: TRUE for the complete text of the item
   *
   * The conversation as text, from an internal thread: the agent's speech
   * and text replies, and the user's speech when transcription-model is set.
   * Also posted as an element message "openai-realtime-transcript" (fields
   * role, item-id, text, final) by one element of the call.
   */
  g_signal_new ("transcript", type, G_SIGNAL_RUN_LAST, 0, nullptr, nullptr,
      nullptr, G_TYPE_NONE, 4, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING,
      G_TYPE_BOOLEAN);
  /**
   * function-call:
   * @call_id: to give back with function-result
   * @name: the function's name, one of the tools property's
   * @arguments: JSON text of the arguments, as the model wrote them
   *
   * The agent asks for a function to be run. Also posted as an element
   * message "openai-realtime-function-call" (fields call-id, name,
   * arguments).
   */
  g_signal_new ("function-call", type, G_SIGNAL_RUN_LAST, 0, nullptr, nullptr,
      nullptr, G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);

  const auto action = (GSignalFlags) (G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION);
  /* send-client-event (json): one client event as JSON text, e.g.
   * {"type":"response.create"}, on the call's data channel. FALSE, with a
   * warning, when the text is not a JSON event, is over the channel's
   * message size limit, or the channel is not open. */
  g_signal_new_class_handler ("send-client-event", type, action,
      G_CALLBACK (send_event_action), nullptr, nullptr, nullptr, G_TYPE_BOOLEAN,
      1, G_TYPE_STRING);
  /* send-text (text, respond): a user message; respond asks for a reply. */
  g_signal_new_class_handler ("send-text", type, action,
      G_CALLBACK (send_text_action), nullptr, nullptr, nullptr, G_TYPE_BOOLEAN,
      2, G_TYPE_STRING, G_TYPE_BOOLEAN);
  /* create-response (): asks the agent to respond now. */
  g_signal_new_class_handler ("create-response", type, action,
      G_CALLBACK (create_response_action), nullptr, nullptr, nullptr,
      G_TYPE_BOOLEAN, 0);
  /* cancel-response (): stops the response in progress. */
  g_signal_new_class_handler ("cancel-response", type, action,
      G_CALLBACK (cancel_response_action), nullptr, nullptr, nullptr,
      G_TYPE_BOOLEAN, 0);
  /* clear-audio (): cancels the response and silences the agent at once
   * (the service's output audio and what this element still holds). */
  g_signal_new_class_handler ("clear-audio", type, action,
      G_CALLBACK (clear_audio_action), nullptr, nullptr, nullptr,
      G_TYPE_BOOLEAN, 0);
  /* new-conversation (): the next user meets an agent that knows nothing of
   * the conversation so far, on the same call: the agent stops, and every
   * item of the service's conversation is deleted (the session's
   * instructions, tools and voice stay). A later reconnection replays
   * nothing from before. */
  g_signal_new_class_handler ("new-conversation", type, action,
      G_CALLBACK (new_conversation_action), nullptr, nullptr, nullptr,
      G_TYPE_BOOLEAN, 0);
  /* function-result (call_id, output): the result of a function-call; the
   * agent then goes on. */
  g_signal_new_class_handler ("function-result", type, action,
      G_CALLBACK (function_result_action), nullptr, nullptr, nullptr,
      G_TYPE_BOOLEAN, 2, G_TYPE_STRING, G_TYPE_STRING);
}
