#include "realtimelink.h"

#include "credentials.h"
#include "gstephemeraltokenprovider.h"
#include "redact.h"

#include <atomic>

GST_DEBUG_CATEGORY_STATIC (link_debug);
#define GST_CAT_DEFAULT link_debug

namespace {

enum {
  PROP_SESSION = 0,
  PROP_CLIENT_SECRET,
  PROP_API_BASE,
  PROP_LATENCY,
  PROP_CONNECTION_STATE,
  PROP_ICE_DISCONNECT_GRACE,
  PROP_MEDIA_TIMEOUT,
  PROP_RECONNECT_DELAY,
  PROP_RECONNECT_DELAY_MAX,
  PROP_MAX_RECONNECT_ATTEMPTS,
  PROP_REPLAY_HISTORY,
  PROP_HISTORY_MAX_ITEMS,
  PROP_HISTORY_MAX_CHARS,
  PROP_HTTP_TIMEOUT,
  PROP_CONNECT_TIMEOUT,
  PROP_RECONNECTS,
  /* The session: applied at the start and, when changed, mid-call. */
  PROP_INSTRUCTIONS,
  PROP_VOICE,
  PROP_TURN_DETECTION,
  PROP_VAD_THRESHOLD,
  PROP_VAD_PREFIX_PADDING,
  PROP_VAD_SILENCE_DURATION,
  PROP_VAD_EAGERNESS,
  PROP_NOISE_REDUCTION,
  PROP_OUTPUT_MODALITIES,
  PROP_MAX_OUTPUT_TOKENS,
  PROP_SPEED,
  PROP_TRANSCRIPTION_MODEL,
  PROP_LANGUAGE,
  PROP_TOOLS,
  PROP_TOOL_CHOICE,
  PROP_STATS,
  N_PROPS
};

/* Enum nicks are what the properties take; values map to the wire's words. */
const char *const kEagerness[] = { "", "auto", "low", "medium", "high" };
const char *const kNoiseReduction[] = { "", "off", "near_field", "far_field" };
const char *const kModality[] = { "", "audio", "text" };

template <std::size_t N> int index_of (const char *const (&words)[N],
    const std::string &w)
{
  for (std::size_t i = 0; i < N; i++)
    if (w == words[i])
      return (int) i;
  return 0;
}

GQuark link_quark;

gboolean send_event_action (GstElement *element, const gchar *json)
{
  RealtimeLink *link = RealtimeLink::of (element);
  return link && link->send_event (json);
}

gboolean send_text_action (GstElement *element, const gchar *text,
    gboolean respond)
{
  RealtimeLink *link = RealtimeLink::of (element);
  return link && link->send_text (text, respond);
}

gboolean create_response_action (GstElement *element)
{
  RealtimeLink *link = RealtimeLink::of (element);
  return link && link->send_simple ("response.create");
}

gboolean cancel_response_action (GstElement *element)
{
  RealtimeLink *link = RealtimeLink::of (element);
  return link && link->send_simple ("response.cancel");
}

gboolean clear_audio_action (GstElement *element)
{
  RealtimeLink *link = RealtimeLink::of (element);
  return link && link->clear_audio ();
}

gboolean function_result_action (GstElement *element, const gchar *call_id,
    const gchar *output)
{
  RealtimeLink *link = RealtimeLink::of (element);
  return link && link->function_result (call_id, output);
}

GType register_enum (const char *name, const GEnumValue *values)
{
  return g_enum_register_static (name, values);
}

/* One call per outermost bin and session name. The bin gets a serial
 * number of its own (an address could be reused by a later pipeline while a
 * call of the old one is still held). */
std::string call_key (GstElement *element, const std::string &session)
{
  static GQuark serial_quark = g_quark_from_static_string ("openairealtime-serial");
  static std::atomic<guint64> next_serial { 1 };
  GstObject *top = GST_OBJECT (element);
  while (GST_OBJECT_PARENT (top))
    top = GST_OBJECT_PARENT (top);
  GST_OBJECT_LOCK (top);
  auto serial = GPOINTER_TO_SIZE (g_object_get_qdata (G_OBJECT (top), serial_quark));
  if (!serial) {
    serial = next_serial++;
    g_object_set_qdata (G_OBJECT (top), serial_quark, GSIZE_TO_POINTER (serial));
  }
  GST_OBJECT_UNLOCK (top);
  return std::to_string (serial) + "/" + (session.empty () ? "default" : session);
}

}  // namespace

GType
gst_openai_realtime_connection_state_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { (gint) rt::ConnectionState::Idle, "Not in a call", "idle" },
    { (gint) rt::ConnectionState::Connecting, "Making the first call",
      "connecting" },
    { (gint) rt::ConnectionState::Connected, "In a call", "connected" },
    { (gint) rt::ConnectionState::Reconnecting,
      "A fault ended the call; making a new one", "reconnecting" },
    { (gint) rt::ConnectionState::Failed, "Ended for good by a fault",
      "failed" },
    { (gint) rt::ConnectionState::Closed, "Ended by the application",
      "closed" },
    { 0, nullptr, nullptr },
  };
  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstOpenAIRealtimeConnectionState", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

#define DEFINE_ENUM_TYPE(func, TypeName, ...)                            \
  GType func (void)                                                      \
  {                                                                      \
    static GType type = 0;                                               \
    static const GEnumValue values[] = { __VA_ARGS__, { 0, nullptr, nullptr } }; \
    if (g_once_init_enter (&type))                                       \
      g_once_init_leave (&type, register_enum (TypeName, values));       \
    return type;                                                         \
  }

DEFINE_ENUM_TYPE (gst_openai_realtime_turn_detection_get_type,
    "GstOpenAIRealtimeTurnDetection",
    { (gint) rt::TurnDetection::Default, "The service's default (server VAD)",
      "default" },
    { (gint) rt::TurnDetection::ServerVad, "Voice activity detection by "
      "loudness (server_vad)", "server-vad" },
    { (gint) rt::TurnDetection::SemanticVad, "Turns ended by what was said "
      "(semantic_vad)", "semantic-vad" },
    { (gint) rt::TurnDetection::None, "No turn detection: the application "
      "commits the audio and asks for responses", "none" })
DEFINE_ENUM_TYPE (gst_openai_realtime_eagerness_get_type,
    "GstOpenAIRealtimeEagerness",
    { 0, "The service's default", "default" },
    { 1, "auto", "auto" }, { 2, "Waits longest", "low" },
    { 3, "medium", "medium" }, { 4, "Answers soonest", "high" })
DEFINE_ENUM_TYPE (gst_openai_realtime_noise_reduction_get_type,
    "GstOpenAIRealtimeNoiseReduction",
    { 0, "The service's default (off)", "default" }, { 1, "Off", "off" },
    { 2, "For a close microphone (headset)", "near-field" },
    { 3, "For a distant microphone (laptop, room)", "far-field" })
DEFINE_ENUM_TYPE (gst_openai_realtime_modality_get_type,
    "GstOpenAIRealtimeModality",
    { 0, "The service's default (audio)", "default" },
    { 1, "Speech with its transcript", "audio" },
    { 2, "Text only", "text" })

/* Holds only a weak reference: the call may outlive an element briefly. */
class RealtimeLink::Observer : public rt::CallObserver {
 public:
  Observer (GstElement *element, std::function<void (GstBuffer *)> audio)
      : audio_ (std::move (audio))
  {
    g_weak_ref_init (&element_, element);
  }
  ~Observer () override { g_weak_ref_clear (&element_); }

  void on_transition (const rt::Transition &t, bool announce) override
  {
    GstElement *e = GST_ELEMENT (g_weak_ref_get (&element_));
    if (!e)
      return;
    if (RealtimeLink *link = RealtimeLink::of (e))
      link->set_connection_state (t.state);
    if (announce) {
      GstStructure *s = gst_structure_new ("openai-realtime-connection",
          "state", GST_TYPE_OPENAI_REALTIME_CONNECTION_STATE, (gint) t.state,
          "attempt", G_TYPE_UINT, t.attempt,
          "reason", G_TYPE_STRING, rt::redact (t.reason).c_str (),
          "category", G_TYPE_STRING, t.category.c_str (), nullptr);
      gst_element_post_message (e, gst_message_new_element (GST_OBJECT (e), s));
    }
    gst_object_unref (e);
  }

  void on_server_event (const std::string &type, const std::string &json,
      bool announce) override
  {
    GstElement *e = GST_ELEMENT (g_weak_ref_get (&element_));
    if (!e)
      return;
    g_signal_emit_by_name (e, "server-event", type.c_str (), json.c_str ());
    if (announce) {
      GstStructure *s = gst_structure_new ("openai-realtime-event",
          "type", G_TYPE_STRING, type.c_str (),
          "json", G_TYPE_STRING, json.c_str (), nullptr);
      gst_element_post_message (e, gst_message_new_element (GST_OBJECT (e), s));
    }
    gst_object_unref (e);
  }

  void on_error (const rt::ServiceError &error, bool announce) override
  {
    if (!announce)
      return;
    GstElement *e = GST_ELEMENT (g_weak_ref_get (&element_));
    if (!e)
      return;
    std::string text = rt::redact (error.describe ());
    const bool auth = error.http_status == 401 || error.http_status == 403;
    if (auth)
      GST_ELEMENT_ERROR (e, RESOURCE, NOT_AUTHORIZED,
          ("The realtime service refused the credentials: %s", text.c_str ()),
          (nullptr));
    else if (error.http_status == 0)
      GST_ELEMENT_ERROR (e, RESOURCE, OPEN_READ_WRITE,
          ("The realtime call could not be made: %s", text.c_str ()), (nullptr));
    else
      GST_ELEMENT_ERROR (e, RESOURCE, FAILED,
          ("The realtime service refused the call: %s", text.c_str ()),
          (nullptr));
    gst_object_unref (e);
  }

  void on_audio (GstBuffer *buffer) override
  {
    if (audio_)
      audio_ (buffer);
  }

  void on_interrupt () override
  {
    if (interrupt_)
      interrupt_ ();
  }

  void on_transcript (const rt::Transcript &t, bool announce) override
  {
    if (transcript_)
      transcript_ (t);
    GstElement *e = GST_ELEMENT (g_weak_ref_get (&element_));
    if (!e)
      return;
    g_signal_emit_by_name (e, "transcript", t.role.c_str (), t.item_id.c_str (),
        t.text.c_str (), (gboolean) t.final);
    if (announce) {
      GstStructure *s = gst_structure_new ("openai-realtime-transcript",
          "role", G_TYPE_STRING, t.role.c_str (),
          "item-id", G_TYPE_STRING, t.item_id.c_str (),
          "text", G_TYPE_STRING, t.text.c_str (),
          "final", G_TYPE_BOOLEAN, (gboolean) t.final, nullptr);
      gst_element_post_message (e, gst_message_new_element (GST_OBJECT (e), s));
    }
    gst_object_unref (e);
  }

  void on_function_call (const rt::FunctionCall &c, bool announce) override
  {
    GstElement *e = GST_ELEMENT (g_weak_ref_get (&element_));
    if (!e)
      return;
    g_signal_emit_by_name (e, "function-call", c.call_id.c_str (),
        c.name.c_str (), c.arguments.c_str ());
    if (announce) {
      GstStructure *s = gst_structure_new ("openai-realtime-function-call",
          "call-id", G_TYPE_STRING, c.call_id.c_str (),
          "name", G_TYPE_STRING, c.name.c_str (),
          "arguments", G_TYPE_STRING, c.arguments.c_str (), nullptr);
      gst_element_post_message (e, gst_message_new_element (GST_OBJECT (e), s));
    }
    gst_object_unref (e);
  }

  std::function<void ()> interrupt_;
  std::function<void (const rt::Transcript &)> transcript_;

 private:
  GWeakRef element_;
  std::function<void (GstBuffer *)> audio_;
};

RealtimeLink::RealtimeLink (GstElement *element, bool primary)
    : element_ (element), primary_ (primary)
{
  g_object_set_qdata (G_OBJECT (element), link_quark, this);
  /* As early as an element exists: a call starts right after. */
  rt::prewarm_dtls ();
}

RealtimeLink::~RealtimeLink ()
{
  leave ();
  if (provider_)
    gst_object_unref (provider_);
}

RealtimeLink *RealtimeLink::of (gpointer element)
{
  return static_cast<RealtimeLink *> (g_object_get_qdata (G_OBJECT (element),
          link_quark));
}

static GstElementClass *parent_of (gpointer element)
{
  return GST_ELEMENT_CLASS (g_type_class_peek_parent (G_OBJECT_GET_CLASS (element)));
}

GstStateChangeReturn RealtimeLink::change_state_cb (GstElement *element,
    GstStateChange transition)
{
  RealtimeLink *link = of (element);
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED)
    link->join ();
  GstStateChangeReturn ret = parent_of (element)->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    link->leave ();
  return ret;
}

void RealtimeLink::set_context_cb (GstElement *element, GstContext *context)
{
  of (element)->set_context (context);
  parent_of (element)->set_context (element, context);
}

void RealtimeLink::set_property_cb (GObject *object, guint prop_id,
    const GValue *value, GParamSpec *pspec)
{
  if (prop_id < kFirstProp || prop_id >= kFirstProp + N_PROPS)
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  else
    of (object)->set_property (prop_id, value);
}

void RealtimeLink::install (GstElementClass *element_class)
{
  GObjectClass *klass = G_OBJECT_CLASS (element_class);
  klass->set_property = set_property_cb;
  element_class->change_state = change_state_cb;
  element_class->set_context = set_context_cb;
  const guint first_prop = kFirstProp;
  static std::once_flag once;
  std::call_once (once, [] {
    GST_DEBUG_CATEGORY_INIT (link_debug, "openairealtimelink", 0,
        "What the realtime media elements share");
    link_quark = g_quark_from_static_string ("openairealtime-link");
  });
  const auto rw = (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_READY);
  g_object_class_install_property (klass, first_prop + PROP_SESSION,
      g_param_spec_string ("session", "Session",
          "Name of the call this element belongs to: a sink and a src with the "
          "same name in one pipeline share one call (default: one call per "
          "pipeline)", nullptr, rw));
  g_object_class_install_property (klass, first_prop + PROP_CLIENT_SECRET,
      g_param_spec_string ("client-secret", "Client secret",
          "An ephemeral secret (ek_...) the application already holds; when "
          "set, no provider is used. Write-only", nullptr,
          (GParamFlags) (G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property (klass, first_prop + PROP_API_BASE,
      g_param_spec_string ("api-base", "API base URL",
          "Where calls started with client-secret are posted; without "
          "client-secret the provider's api-base is used", "https://api.openai.com",
          rw));
  g_object_class_install_property (klass, first_prop + PROP_LATENCY,
      g_param_spec_uint ("latency", "Latency",
          "Jitter buffer of the agent's incoming audio, in milliseconds (set "
          "by the element that starts the call)", 0, 2000, 40, rw));
  g_object_class_install_property (klass, first_prop + PROP_CONNECTION_STATE,
      g_param_spec_enum ("connection-state", "Connection state",
          "Where the call stands; notified on every change, and each change "
          "is also posted as an element message named "
          "\"openai-realtime-connection\" (fields state, attempt, reason, "
          "category)", GST_TYPE_OPENAI_REALTIME_CONNECTION_STATE,
          (gint) rt::ConnectionState::Idle,
          (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
  /* The rest configure the call: they are read by the element that starts
   * it (the first of the pipeline's sink and src to reach PAUSED). */
  g_object_class_install_property (klass, first_prop + PROP_ICE_DISCONNECT_GRACE,
      g_param_spec_uint ("ice-disconnect-grace", "ICE disconnect grace",
          "How long ICE may report the far end disconnected before the call "
          "is rebuilt, in milliseconds (brief losses are normal on real "
          "networks)", 0, 60000, 2000, rw));
  g_object_class_install_property (klass, first_prop + PROP_MEDIA_TIMEOUT,
      g_param_spec_uint ("media-timeout", "Media timeout",
          "Rebuild the call when no audio packet has come from the service for "
          "this long while connected, in milliseconds (a network that drops "
          "packets silently reports nothing else); 0 turns this off",
          0, 600000, 3000, rw));
  g_object_class_install_property (klass, first_prop + PROP_RECONNECT_DELAY,
      g_param_spec_uint ("reconnect-delay", "Reconnect delay",
          "Backoff before the first new call after a fault, in milliseconds; "
          "it doubles with each failed attempt and each wait is drawn "
          "uniformly below it (full jitter)", 0, 600000, 500, rw));
  g_object_class_install_property (klass, first_prop + PROP_RECONNECT_DELAY_MAX,
      g_param_spec_uint ("reconnect-delay-max", "Reconnect delay cap",
          "Upper bound of the backoff, in milliseconds (a 429's Retry-After is "
          "honoured even above it)", 0, 3600000, 30000, rw));
  g_object_class_install_property (klass, first_prop + PROP_MAX_RECONNECT_ATTEMPTS,
      g_param_spec_uint ("max-reconnect-attempts", "Maximum reconnect attempts",
          "New calls tried after faults before the element gives up with an "
          "error; the count starts over once a call has stayed up for 10 s. "
          "0: a fault ends the call with an error", 0, G_MAXUINT, 10, rw));
  g_object_class_install_property (klass, first_prop + PROP_REPLAY_HISTORY,
      g_param_spec_boolean ("replay-history", "Replay history",
          "Give each new call the conversation so far (transcripts and text "
          "messages, as conversation items) so the agent keeps its context "
          "across reconnections and the service's 60-minute limit",
          TRUE, rw));
  g_object_class_install_property (klass, first_prop + PROP_HISTORY_MAX_ITEMS,
      g_param_spec_uint ("history-max-items", "History items",
          "Most conversation items kept for replay (the oldest go first)",
          0, 10000, 50, rw));
  g_object_class_install_property (klass, first_prop + PROP_HISTORY_MAX_CHARS,
      g_param_spec_uint ("history-max-chars", "History characters",
          "Most characters of conversation kept for replay, all items "
          "together (the oldest items go first)", 0, 10000000, 20000, rw));
  g_object_class_install_property (klass, first_prop + PROP_HTTP_TIMEOUT,
      g_param_spec_uint ("http-timeout", "HTTP timeout",
          "Seconds to wait for the service's answer to a request (minting a "
          "secret, posting the offer) before the attempt counts as failed",
          1, 300, 10, rw));
  g_object_class_install_property (klass, first_prop + PROP_CONNECT_TIMEOUT,
      g_param_spec_uint ("connect-timeout", "Connect timeout",
          "Milliseconds an attempt may take from its start to an open events "
          "channel before it counts as failed and a new one is made",
          1000, 600000, 10000, rw));
  g_object_class_install_property (klass, first_prop + PROP_RECONNECTS,
      g_param_spec_uint64 ("reconnects", "Reconnects",
          "New calls made after faults since the element joined its call",
          0, G_MAXUINT64, 0,
          (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  /* The session. Changes reach a running call at once (session.update). */
  const auto live = (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_PLAYING);
  g_object_class_install_property (klass, first_prop + PROP_INSTRUCTIONS,
      g_param_spec_string ("instructions", "Instructions",
          "The agent's system instructions (over the token provider's); a "
          "change mid-call is sent at once", nullptr, live));
  g_object_class_install_property (klass, first_prop + PROP_VOICE,
      g_param_spec_string ("voice", "Voice",
          "The agent's voice (alloy, ash, ballad, coral, echo, sage, shimmer, "
          "verse, marin, cedar); can change only until the agent first speaks "
          "in a call", nullptr, live));
  g_object_class_install_property (klass, first_prop + PROP_TURN_DETECTION,
      g_param_spec_enum ("turn-detection", "Turn detection",
          "How the service decides that the user has finished speaking: "
          "server-vad (loudness; tuned by vad-threshold, vad-prefix-padding, "
          "vad-silence-duration), semantic-vad (meaning; tuned by "
          "vad-eagerness) or none (the application asks for responses)",
          gst_openai_realtime_turn_detection_get_type (),
          (gint) rt::TurnDetection::Default, live));
  g_object_class_install_property (klass, first_prop + PROP_VAD_THRESHOLD,
      g_param_spec_double ("vad-threshold", "VAD threshold",
          "Server VAD activation threshold, 0..1 (higher needs louder "
          "speech); -1: the service's default", -1, 1, -1, live));
  g_object_class_install_property (klass, first_prop + PROP_VAD_PREFIX_PADDING,
      g_param_spec_int ("vad-prefix-padding", "VAD prefix padding",
          "Server VAD: milliseconds of audio kept from before speech was "
          "detected; -1: the service's default", -1, 10000, -1, live));
  g_object_class_install_property (klass, first_prop + PROP_VAD_SILENCE_DURATION,
      g_param_spec_int ("vad-silence-duration", "VAD silence duration",
          "Server VAD: milliseconds of silence that end the user's turn; -1: "
          "the service's default", -1, 10000, -1, live));
  g_object_class_install_property (klass, first_prop + PROP_VAD_EAGERNESS,
      g_param_spec_enum ("vad-eagerness", "Semantic VAD eagerness",
          "Semantic VAD: how soon the agent answers",
          gst_openai_realtime_eagerness_get_type (), 0, live));
  g_object_class_install_property (klass, first_prop + PROP_NOISE_REDUCTION,
      g_param_spec_enum ("noise-reduction", "Noise reduction",
          "Noise reduction of the user's audio by the service, for the kind "
          "of microphone", gst_openai_realtime_noise_reduction_get_type (), 0,
          live));
  g_object_class_install_property (klass, first_prop + PROP_OUTPUT_MODALITIES,
      g_param_spec_enum ("output-modalities", "Output modalities",
          "What the agent answers with: speech (with its transcript) or text "
          "only", gst_openai_realtime_modality_get_type (), 0, live));
  g_object_class_install_property (klass, first_prop + PROP_MAX_OUTPUT_TOKENS,
      g_param_spec_int ("max-output-tokens", "Maximum output tokens",
          "Most tokens in one response, 1..4096; 0: no limit (\"inf\"); -1: "
          "the service's default", -1, 4096, -1, live));
  g_object_class_install_property (klass, first_prop + PROP_SPEED,
      g_param_spec_double ("speed", "Speed",
          "Speaking speed of the agent, 0.25..1.5; 0: the service's default",
          0, 1.5, 0, live));
  g_object_class_install_property (klass, first_prop + PROP_TRANSCRIPTION_MODEL,
      g_param_spec_string ("transcription-model", "Transcription model",
          "Transcribe the user's speech with this model (e.g. "
          "gpt-4o-mini-transcribe), reported by the transcript signal and "
          "message; unset: no transcription of the user", nullptr, live));
  g_object_class_install_property (klass, first_prop + PROP_LANGUAGE,
      g_param_spec_string ("language", "Language",
          "The user's language for transcription (ISO-639-1, e.g. en), a hint",
          nullptr, live));
  g_object_class_install_property (klass, first_prop + PROP_TOOLS,
      g_param_spec_string ("tools", "Tools",
          "Functions the agent may call, as a JSON array of "
          "{\"type\":\"function\",\"name\",\"description\",\"parameters\"}; "
          "checked when set (an invalid value is refused with a warning). "
          "Calls arrive by the function-call signal; answer with "
          "function-result", nullptr, live));
  g_object_class_install_property (klass, first_prop + PROP_TOOL_CHOICE,
      g_param_spec_string ("tool-choice", "Tool choice",
          "auto, none, required, or the name of one function to call",
          nullptr, live));
  g_object_class_install_property (klass, first_prop + PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Statistics of the call (never its content): state, call id, "
          "time to connect, time connected, reconnects, faults by category, "
          "secrets, audio packets, bytes, loss, jitter and round trip, events "
          "in and out by type, tokens used, and the element's own counters",
          GST_TYPE_STRUCTURE,
          (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  /**
   * server-event:
   * @type: the event's "type"
   * @json: the whole event as JSON text
   *
   * Emitted, from an internal thread, for every event the service sends.
   * The same event is posted as an element message named
   * "openai-realtime-event" (fields type and json) by one element of the call.
   */
  GType type = G_OBJECT_CLASS_TYPE (klass);
  g_signal_new ("server-event", type, G_SIGNAL_RUN_LAST, 0, nullptr, nullptr,
      nullptr, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  /**
   * send-event:
   * @json: one client event as JSON text, e.g. {"type":"response.create"}
   *
   * Sends a client event on the call's data channel. Returns FALSE, with a
   * warning, when the text is not a JSON event, is over the channel's message
   * size limit, or the channel is not open.
   */
  g_signal_new_class_handler ("send-event", type,
      (GSignalFlags) (G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION),
      G_CALLBACK (send_event_action), nullptr, nullptr, nullptr,
      G_TYPE_BOOLEAN, 1, G_TYPE_STRING);
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
  /* send-text (text, respond): a user message; respond asks for a reply. */
  g_signal_new_class_handler ("send-text", type, action,
      G_CALLBACK (send_text_action), nullptr, nullptr, nullptr,
      G_TYPE_BOOLEAN, 2, G_TYPE_STRING, G_TYPE_BOOLEAN);
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
  /* function-result (call_id, output): the result of a function-call; the
   * agent then goes on. */
  g_signal_new_class_handler ("function-result", type, action,
      G_CALLBACK (function_result_action), nullptr, nullptr, nullptr,
      G_TYPE_BOOLEAN, 2, G_TYPE_STRING, G_TYPE_STRING);
}

unsigned RealtimeLink::set_session_property (guint id, const GValue *value,
    std::string *warning)
{
  rt::SessionConfig &c = session_;
  const char *s = G_VALUE_HOLDS_STRING (value) ? g_value_get_string (value) : nullptr;
  std::string str = s ? s : "";
  switch (id) {
    case PROP_INSTRUCTIONS: c.instructions = str; return rt::kSessionInstructions;
    case PROP_VOICE: c.voice = str; return rt::kSessionVoice;
    case PROP_TURN_DETECTION:
      c.turn_detection = (rt::TurnDetection) g_value_get_enum (value);
      return rt::kSessionTurnDetection;
    case PROP_VAD_THRESHOLD: {
      double v = g_value_get_double (value);
      c.vad_threshold = v < 0 ? std::nullopt : std::optional<double> (v);
      return rt::kSessionTurnDetection;
    }
    case PROP_VAD_PREFIX_PADDING: {
      int v = g_value_get_int (value);
      c.vad_prefix_padding_ms = v < 0 ? std::nullopt : std::optional<int> (v);
      return rt::kSessionTurnDetection;
    }
    case PROP_VAD_SILENCE_DURATION: {
      int v = g_value_get_int (value);
      c.vad_silence_duration_ms = v < 0 ? std::nullopt : std::optional<int> (v);
      return rt::kSessionTurnDetection;
    }
    case PROP_VAD_EAGERNESS:
      c.vad_eagerness = kEagerness[g_value_get_enum (value)];
      return rt::kSessionTurnDetection;
    case PROP_NOISE_REDUCTION:
      c.noise_reduction = kNoiseReduction[g_value_get_enum (value)];
      return rt::kSessionNoiseReduction;
    case PROP_OUTPUT_MODALITIES:
      c.output_modality = kModality[g_value_get_enum (value)];
      return rt::kSessionOutputModalities;
    case PROP_MAX_OUTPUT_TOKENS: {
      int v = g_value_get_int (value);
      c.max_output_tokens = v < 0 ? std::nullopt : std::optional<int> (v);
      return rt::kSessionMaxOutputTokens;
    }
    case PROP_SPEED: {
      double v = g_value_get_double (value);
      if (v > 0 && v < 0.25) {
        gchar *w = g_strdup_printf ("speed %.2f is below the service's minimum "
            "of 0.25: ignored", v);
        *warning = w;
        g_free (w);
        return 0;
      }
      c.speed = v <= 0 ? std::nullopt : std::optional<double> (v);
      return rt::kSessionSpeed;
    }
    case PROP_TRANSCRIPTION_MODEL:
      c.transcription_model = str;
      return rt::kSessionTranscription;
    case PROP_LANGUAGE:
      c.transcription_language = str;
      return rt::kSessionTranscription;
    case PROP_TOOLS: {
      if (str.empty ()) {
        c.tools.clear ();
        return rt::kSessionTools;
      }
      std::string why;
      auto tools = rt::check_tools (str, &why);
      if (!tools) {
        *warning = "The tools property was not changed: " + why;
        return 0;
      }
      c.tools = *tools;
      return rt::kSessionTools;
    }
    case PROP_TOOL_CHOICE: c.tool_choice = str; return rt::kSessionToolChoice;
  }
  return 0;
}

/* Sends what changed to a running call; otherwise the call starts with it.
 * False when the call refused it. */
bool RealtimeLink::apply_session (unsigned changed)
{
  std::shared_ptr<rt::Call> call;
  rt::SessionConfig full;
  {
    std::lock_guard<std::mutex> l (lock_);
    if (!call_ || !changed)
      return true;
    call = call_;
    full = rt::merge_session (provider_session_, session_);
  }
  std::string error;
  if (call->update_session (full, changed, &error))
    return true;
  GST_ELEMENT_WARNING (element_, LIBRARY, SETTINGS,
      ("The session was not updated: %s", error.c_str ()), (nullptr));
  return false;
}

void RealtimeLink::set_property (guint prop_id, const GValue *value)
{
  if (prop_id - kFirstProp >= PROP_INSTRUCTIONS) {
    unsigned changed;
    std::string warning, old_voice;
    {
      std::lock_guard<std::mutex> l (lock_);
      old_voice = session_.voice;
      changed = set_session_property (prop_id - kFirstProp, value, &warning);
    }
    /* Posted unlocked: a bus sync handler may read properties. */
    if (!warning.empty ())
      GST_ELEMENT_WARNING (element_, LIBRARY, SETTINGS, ("%s", warning.c_str ()),
          (nullptr));
    if (!apply_session (changed) && (changed & rt::kSessionVoice)) {
      /* Refused: the property, and later calls, keep the voice in use. */
      std::lock_guard<std::mutex> l (lock_);
      session_.voice = old_voice;
    }
    return;
  }
  std::lock_guard<std::mutex> l (lock_);
  const char *s = G_VALUE_HOLDS_STRING (value) ? g_value_get_string (value) : nullptr;
  switch (prop_id - kFirstProp) {
    case PROP_SESSION: session_name_ = s ? s : ""; break;
    case PROP_CLIENT_SECRET:
      client_secret_ = s ? s : "";
      rt::register_secret (client_secret_);
      break;
    case PROP_API_BASE: api_base_ = s ? s : ""; break;
    case PROP_LATENCY: latency_ms_ = g_value_get_uint (value); break;
    case PROP_ICE_DISCONNECT_GRACE:
      tuning_.ice_disconnect_grace_ms = g_value_get_uint (value);
      break;
    case PROP_MEDIA_TIMEOUT: tuning_.media_timeout_ms = g_value_get_uint (value); break;
    case PROP_RECONNECT_DELAY:
      tuning_.reconnect.initial_delay_ms = g_value_get_uint (value);
      break;
    case PROP_RECONNECT_DELAY_MAX:
      tuning_.reconnect.max_delay_ms = g_value_get_uint (value);
      break;
    case PROP_MAX_RECONNECT_ATTEMPTS:
      tuning_.reconnect.max_attempts = g_value_get_uint (value);
      break;
    case PROP_REPLAY_HISTORY: tuning_.history.enabled = g_value_get_boolean (value); break;
    case PROP_HISTORY_MAX_ITEMS: tuning_.history.max_items = g_value_get_uint (value); break;
    case PROP_HISTORY_MAX_CHARS: tuning_.history.max_chars = g_value_get_uint (value); break;
    case PROP_HTTP_TIMEOUT: tuning_.http_timeout_s = g_value_get_uint (value); break;
    case PROP_CONNECT_TIMEOUT:
      tuning_.connect_timeout_ms = g_value_get_uint (value);
      break;
  }
}

bool RealtimeLink::get_property (guint prop_id, GValue *value)
{
  if (prop_id < kFirstProp || prop_id >= kFirstProp + N_PROPS)
    return false;
  if (prop_id == kFirstProp + PROP_STATS) {
    g_value_take_boxed (value, make_stats ());
    return true;
  }
  std::lock_guard<std::mutex> l (lock_);
  switch (prop_id - kFirstProp) {
    case PROP_SESSION:
      g_value_set_string (value, session_name_.empty () ? nullptr :
          session_name_.c_str ());
      break;
    case PROP_API_BASE:
      g_value_set_string (value, api_base_.empty () ? "https://api.openai.com" :
          api_base_.c_str ());
      break;
    case PROP_LATENCY: g_value_set_uint (value, latency_ms_); break;
    case PROP_CONNECTION_STATE: g_value_set_enum (value, connection_state_); break;
    case PROP_ICE_DISCONNECT_GRACE:
      g_value_set_uint (value, tuning_.ice_disconnect_grace_ms);
      break;
    case PROP_MEDIA_TIMEOUT: g_value_set_uint (value, tuning_.media_timeout_ms); break;
    case PROP_RECONNECT_DELAY:
      g_value_set_uint (value, tuning_.reconnect.initial_delay_ms);
      break;
    case PROP_RECONNECT_DELAY_MAX:
      g_value_set_uint (value, tuning_.reconnect.max_delay_ms);
      break;
    case PROP_MAX_RECONNECT_ATTEMPTS:
      g_value_set_uint (value, tuning_.reconnect.max_attempts);
      break;
    case PROP_REPLAY_HISTORY: g_value_set_boolean (value, tuning_.history.enabled); break;
    case PROP_HISTORY_MAX_ITEMS: g_value_set_uint (value, tuning_.history.max_items); break;
    case PROP_HISTORY_MAX_CHARS: g_value_set_uint (value, tuning_.history.max_chars); break;
    case PROP_HTTP_TIMEOUT: g_value_set_uint (value, tuning_.http_timeout_s); break;
    case PROP_CONNECT_TIMEOUT:
      g_value_set_uint (value, tuning_.connect_timeout_ms);
      break;
    case PROP_RECONNECTS:
      g_value_set_uint64 (value, call_ ? call_->stats ().reconnects : 0);
      break;
    case PROP_INSTRUCTIONS:
      g_value_set_string (value, session_.instructions.empty () ? nullptr :
          session_.instructions.c_str ());
      break;
    case PROP_VOICE:
      g_value_set_string (value, session_.voice.empty () ? nullptr :
          session_.voice.c_str ());
      break;
    case PROP_TURN_DETECTION:
      g_value_set_enum (value, (gint) session_.turn_detection);
      break;
    case PROP_VAD_THRESHOLD:
      g_value_set_double (value, session_.vad_threshold.value_or (-1));
      break;
    case PROP_VAD_PREFIX_PADDING:
      g_value_set_int (value, session_.vad_prefix_padding_ms.value_or (-1));
      break;
    case PROP_VAD_SILENCE_DURATION:
      g_value_set_int (value, session_.vad_silence_duration_ms.value_or (-1));
      break;
    case PROP_VAD_EAGERNESS:
      g_value_set_enum (value, index_of (kEagerness, session_.vad_eagerness));
      break;
    case PROP_NOISE_REDUCTION:
      g_value_set_enum (value, index_of (kNoiseReduction, session_.noise_reduction));
      break;
    case PROP_OUTPUT_MODALITIES:
      g_value_set_enum (value, index_of (kModality, session_.output_modality));
      break;
    case PROP_MAX_OUTPUT_TOKENS:
      g_value_set_int (value, session_.max_output_tokens.value_or (-1));
      break;
    case PROP_SPEED: g_value_set_double (value, session_.speed.value_or (0)); break;
    case PROP_TRANSCRIPTION_MODEL:
      g_value_set_string (value, session_.transcription_model.empty () ? nullptr :
          session_.transcription_model.c_str ());
      break;
    case PROP_LANGUAGE:
      g_value_set_string (value, session_.transcription_language.empty () ?
          nullptr : session_.transcription_language.c_str ());
      break;
    case PROP_TOOLS:
      g_value_set_string (value, session_.tools.empty () ? nullptr :
          session_.tools.c_str ());
      break;
    case PROP_TOOL_CHOICE:
      g_value_set_string (value, session_.tool_choice.empty () ? nullptr :
          session_.tool_choice.c_str ());
      break;
    case PROP_STATS:
      /* Built outside the lock: the element adds its own counters. */
      return false;
    default: return false;  /* client-secret is write-only */
  }
  return true;
}

void RealtimeLink::set_context (GstContext *context)
{
  GstEphemeralTokenProvider *p = gst_ephemeral_token_provider_from_context (context);
  if (!p)
    return;
  std::lock_guard<std::mutex> l (lock_);
  if (provider_)
    gst_object_unref (provider_);
  provider_ = p;
}

bool RealtimeLink::join ()
{
  bool have_provider;
  {
    std::lock_guard<std::mutex> l (lock_);
    if (call_)
      return true;
    have_provider = provider_ != nullptr;
  }
  /* The standard context dance: an application or the bin (which keeps the
   * provider's have-context) answers need-context synchronously, through
   * set_context(). */
  if (!have_provider) {
    if (GstContext *ctx = gst_element_get_context (element_,
            GST_EPHEMERAL_TOKEN_PROVIDER_CONTEXT)) {
      set_context (ctx);
      gst_context_unref (ctx);
    } else {
      gst_element_post_message (element_, gst_message_new_need_context (
              GST_OBJECT (element_), GST_EPHEMERAL_TOKEN_PROVIDER_CONTEXT));
    }
  }

  std::lock_guard<std::mutex> l (lock_);
  GstEphemeralTokenProvider *provider = provider_ ?
      GST_EPHEMERAL_TOKEN_PROVIDER (gst_object_ref (provider_)) : nullptr;
  if (!provider && client_secret_.empty ()) {
    GST_INFO_OBJECT (element_, "no token provider in the pipeline: using one "
        "configured from the environment");
    provider = gst_ephemeral_token_provider_new_implicit ();
  }

  std::shared_ptr<rt::CredentialSource> source;
  rt::CallSettings settings = tuning_;
  settings.jitterbuffer_ms = latency_ms_;
  if (provider) {
    auto minter = gst_ephemeral_token_provider_get_minter (provider);
    provider_session_ = minter->snapshot ().session;
    if (!client_secret_.empty ()) {
      /* The provider's service and shape (not its local fallback, which
       * only stands in for a missing key). */
      auto st = minter->snapshot ();
      auto endpoint = rt::resolve_endpoint (st.api_base, st.flavor);
      source = std::make_shared<rt::FixedSecret> (client_secret_,
          !api_base_.empty () ? api_base_ :
          endpoint.base + (endpoint.azure ? "/openai" : ""));
    }
    else
      source = minter;
    gst_object_unref (provider);
  } else {
    source = std::make_shared<rt::FixedSecret> (client_secret_,
        api_base_.empty () ? "https://api.openai.com" : api_base_);
  }

  settings.session = rt::merge_session (provider_session_, session_);
  call_ = rt::Call::obtain (call_key (element_, session_name_));
  observer_ = std::make_shared<Observer> (element_, on_audio);
  observer_->interrupt_ = on_interrupt;
  observer_->transcript_ = on_transcript;
  call_->add_observer (observer_, primary_);
  call_->start (source, settings);
  GST_DEBUG_OBJECT (element_, "joined call %s", call_key (element_, session_name_).c_str ());
  return true;
}

void RealtimeLink::leave ()
{
  std::shared_ptr<rt::Call> call;
  std::shared_ptr<Observer> observer;
  {
    std::lock_guard<std::mutex> l (lock_);
    call = std::move (call_);
    observer = std::move (observer_);
  }
  if (!call)
    return;
  if (observer)
    call->remove_observer (observer);
  /* If this was the last holder, the call hangs up here. */
  call.reset ();
  gint state;
  {
    std::lock_guard<std::mutex> l (lock_);
    state = connection_state_;
  }
  if (state != (gint) rt::ConnectionState::Failed)
    set_connection_state (rt::ConnectionState::Closed);
}

void RealtimeLink::set_connection_state (rt::ConnectionState state)
{
  {
    std::lock_guard<std::mutex> l (lock_);
    if (connection_state_ == (gint) state)
      return;
    connection_state_ = (gint) state;
  }
  /* By name: the sink's and the src's classes each have their own pspec. */
  g_object_notify (G_OBJECT (element_), "connection-state");
}

std::shared_ptr<rt::Call> RealtimeLink::call () const
{
  std::lock_guard<std::mutex> l (lock_);
  return call_;
}

bool RealtimeLink::send_text (const char *text, gboolean respond)
{
  if (!text || !*text) {
    GST_WARNING_OBJECT (element_, "send-text refused: no text");
    return false;
  }
  std::string item = rt::build_text_message ("user", text);
  return send_event (item.c_str ()) &&
      (!respond || send_simple ("response.create"));
}

bool RealtimeLink::send_simple (const char *type)
{
  return send_event (rt::build_simple_event (type).c_str ());
}

bool RealtimeLink::clear_audio ()
{
  /* The service wants the response cancelled before its output is
   * cleared; with no response in progress only the clear matters. */
  send_simple ("response.cancel");
  bool ok = send_simple ("output_audio_buffer.clear");
  if (auto c = call ())
    c->interrupt ();
  return ok;
}

bool RealtimeLink::function_result (const char *call_id, const char *output)
{
  auto c = call ();
  std::string error;
  if (!c)
    error = "the element is not in a call (it starts in PAUSED)";
  else if (c->send_function_output (call_id ? call_id : "", output ? output : "",
          &error))
    return true;
  GST_WARNING_OBJECT (element_, "function-result refused: %s", error.c_str ());
  return false;
}

GstStructure *RealtimeLink::make_stats ()
{
  auto c = call ();
  rt::CallStats st = c ? c->stats () : rt::CallStats ();
  const gint64 now = g_get_monotonic_time ();
  const guint64 connected_ms = (guint64) (st.connected_total_us +
      (st.connected_us ? now - st.connected_us : 0)) / 1000;
  GEnumClass *states = G_ENUM_CLASS (g_type_class_ref (
          GST_TYPE_OPENAI_REALTIME_CONNECTION_STATE));
  GEnumValue *state = g_enum_get_value (states, (gint) st.state);
  GstStructure *s = gst_structure_new ("openai-realtime-stats",
      "state", G_TYPE_STRING, state ? state->value_nick : "idle",
      "call-id", G_TYPE_STRING, st.call_id.c_str (),
      "time-to-connect-ms", G_TYPE_INT64,
      st.connect_time_us < 0 ? (gint64) -1 : st.connect_time_us / 1000,
      "connected-ms", G_TYPE_UINT64, connected_ms,
      "attempts", G_TYPE_UINT64, st.attempts,
      "reconnects", G_TYPE_UINT64, st.reconnects,
      "secrets", G_TYPE_UINT64, st.secrets,
      "audio-packets-sent", G_TYPE_UINT64, st.audio_packets_sent,
      "audio-bytes-sent", G_TYPE_UINT64, st.audio_bytes_sent,
      "audio-packets-received", G_TYPE_UINT64, st.audio_packets_received,
      "audio-bytes-received", G_TYPE_UINT64, st.audio_bytes_received,
      "audio-packets-lost", G_TYPE_INT64, st.audio_packets_lost,
      "audio-jitter-ms", G_TYPE_DOUBLE, st.audio_jitter_s * 1000,
      "round-trip-ms", G_TYPE_DOUBLE,
      st.round_trip_s < 0 ? -1.0 : st.round_trip_s * 1000,
      "events-received", G_TYPE_UINT64, st.events_in,
      "events-sent", G_TYPE_UINT64, st.events_out,
      "events-refused", G_TYPE_UINT64, st.events_refused,
      "history-replayed", G_TYPE_UINT64, st.history_replayed, nullptr);
  g_type_class_unref (states);
  auto counts = [s] (const char *field, const char *name,
      const std::map<std::string, guint64> &m) {
    GstStructure *sub = gst_structure_new_empty (name);
    for (const auto &[k, v] : m)
      gst_structure_set (sub, k.c_str (), G_TYPE_UINT64, v, nullptr);
    gst_structure_set (s, field, GST_TYPE_STRUCTURE, sub, nullptr);
    gst_structure_free (sub);
  };
  counts ("faults", "faults", st.faults);
  counts ("events-in", "events-in", st.events_in_by_type);
  counts ("events-out", "events-out", st.events_out_by_type);
  GstStructure *tokens = gst_structure_new ("tokens",
      "input", G_TYPE_INT64, (gint64) st.tokens.input,
      "output", G_TYPE_INT64, (gint64) st.tokens.output,
      "total", G_TYPE_INT64, (gint64) st.tokens.total,
      "input-text", G_TYPE_INT64, (gint64) st.tokens.input_text,
      "input-audio", G_TYPE_INT64, (gint64) st.tokens.input_audio,
      "input-image", G_TYPE_INT64, (gint64) st.tokens.input_image,
      "input-cached", G_TYPE_INT64, (gint64) st.tokens.input_cached,
      "output-text", G_TYPE_INT64, (gint64) st.tokens.output_text,
      "output-audio", G_TYPE_INT64, (gint64) st.tokens.output_audio, nullptr);
  gst_structure_set (s, "tokens", GST_TYPE_STRUCTURE, tokens, nullptr);
  gst_structure_free (tokens);
  if (add_stats)
    add_stats (s);
  return s;
}

bool RealtimeLink::send_event (const char *json)
{
  auto c = call ();
  std::string error;
  if (!json) {
    error = "no event given";
  } else if (!c) {
    error = "the element is not in a call (it starts in PAUSED)";
  } else if (c->send_event (json, &error)) {
    return true;
  }
  GST_WARNING_OBJECT (element_, "send-event refused: %s", error.c_str ());
  return false;
}
