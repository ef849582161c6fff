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
  N_PROPS
};

GQuark link_quark;

gboolean send_event_action (GstElement *element, const gchar *json)
{
  RealtimeLink *link = RealtimeLink::of (element);
  return link && link->send_event (json);
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
}

void RealtimeLink::set_property (guint prop_id, const GValue *value)
{
  std::lock_guard<std::mutex> l (lock_);
  const char *s = G_VALUE_HOLDS_STRING (value) ? g_value_get_string (value) : nullptr;
  switch (prop_id - kFirstProp) {
    case PROP_SESSION: session_ = s ? s : ""; break;
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
  std::lock_guard<std::mutex> l (lock_);
  switch (prop_id - kFirstProp) {
    case PROP_SESSION:
      g_value_set_string (value, session_.empty () ? nullptr : session_.c_str ());
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
    settings.session = minter->snapshot ().session;
    if (!client_secret_.empty ())
      source = std::make_shared<rt::FixedSecret> (client_secret_,
          api_base_.empty () ? minter->snapshot ().api_base : api_base_);
    else
      source = minter;
    gst_object_unref (provider);
  } else {
    source = std::make_shared<rt::FixedSecret> (client_secret_,
        api_base_.empty () ? "https://api.openai.com" : api_base_);
  }

  call_ = rt::Call::obtain (call_key (element_, session_));
  observer_ = std::make_shared<Observer> (element_, on_audio);
  call_->add_observer (observer_, primary_);
  call_->start (source, settings);
  GST_DEBUG_OBJECT (element_, "joined call %s", call_key (element_, session_).c_str ());
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
