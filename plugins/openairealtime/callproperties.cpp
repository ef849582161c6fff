/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "callproperties.h"

#include "core/enums.h"
#include "core/redact.h"

#include <atomic>
#include <vector>

RT_DEFINE_ENUM (gst_openai_realtime_connection_state_get_type,
    "GstOpenAIRealtimeConnectionState",
    { (gint) rt::ConnectionState::Idle, "Not in a call", "idle" },
    { (gint) rt::ConnectionState::Connecting, "Making the first call",
        "connecting" },
    { (gint) rt::ConnectionState::Connected, "In a call", "connected" },
    { (gint) rt::ConnectionState::Reconnecting,
        "A fault ended the call; making a new one", "reconnecting" },
    { (gint) rt::ConnectionState::Failed, "Ended for good by a fault",
        "failed" },
    { (gint) rt::ConnectionState::Closed, "Ended by the application",
        "closed" })

RT_DEFINE_ENUM (gst_openai_realtime_turn_detection_get_type,
    "GstOpenAIRealtimeTurnDetection",
    { (gint) rt::TurnDetection::Default, "The service's default (server VAD)",
        "default" },
    { (gint) rt::TurnDetection::ServerVad,
        "Voice activity detection by "
        "loudness (server_vad)",
        "server-vad" },
    { (gint) rt::TurnDetection::SemanticVad,
        "Turns ended by what was said "
        "(semantic_vad)",
        "semantic-vad" },
    { (gint) rt::TurnDetection::None,
        "No turn detection: the application "
        "commits the audio and asks for responses",
        "none" })

/* The values of these three index the service's words below. */
RT_DEFINE_ENUM (gst_openai_realtime_eagerness_get_type,
    "GstOpenAIRealtimeEagerness", { 0, "The service's default", "default" },
    { 1, "auto", "auto" }, { 2, "Waits longest", "low" },
    { 3, "medium", "medium" }, { 4, "Answers soonest", "high" })
RT_DEFINE_ENUM (gst_openai_realtime_noise_reduction_get_type,
    "GstOpenAIRealtimeNoiseReduction",
    { 0, "The service's default (off)", "default" }, { 1, "Off", "off" },
    { 2, "For a close microphone (headset)", "near-field" },
    { 3, "For a distant microphone (laptop, room)", "far-field" })
RT_DEFINE_ENUM (gst_openai_realtime_modality_get_type,
    "GstOpenAIRealtimeModality",
    { 0, "The service's default (audio)", "default" },
    { 1, "Speech with its transcript", "audio" }, { 2, "Text only", "text" })

namespace callprops {
namespace {

const char *const kEagerness[] = { "", "auto", "low", "medium", "high" };
const char *const kNoiseReduction[] = { "", "off", "near_field", "far_field" };
const char *const kModality[] = { "", "audio", "text" };

std::string str (const GValue *v)
{
  const char *s = g_value_get_string (v);
  return s ? s : "";
}

/* -1 leaves the service's default. */
std::optional<int> opt_int (const GValue *v)
{
  int i = g_value_get_int (v);
  return i < 0 ? std::nullopt : std::optional<int> (i);
}

bool check_tools (GValue *value, std::string *warning)
{
  std::string s = str (value);
  if (s.empty ())
    return true;
  std::string why;
  auto tools = rt::check_tools (s, &why);
  if (!tools) {
    *warning = "The tools property was not changed: " + why;
    return false;
  }
  g_value_set_string (value, tools->c_str ());
  return true;
}

bool check_secret (GValue *value, std::string *)
{
  rt::register_secret (str (value));
  return true;
}

using C = CallConfig;
using V = const GValue *;

Property string (const char *name, const char *nick, const char *blurb,
    Scope scope, const char *def, unsigned fields, void (*apply) (V, C &),
    bool (*check) (GValue *, std::string *) = nullptr)
{
  return { name, nick, blurb, Kind::String, scope, 0, 0, 0, def, nullptr,
    fields, check, apply };
}

Property number (Kind kind, const char *name, const char *nick,
    const char *blurb, Scope scope, double min, double max, double def,
    unsigned fields, void (*apply) (V, C &),
    bool (*check) (GValue *, std::string *) = nullptr)
{
  return { name, nick, blurb, kind, scope, min, max, def, nullptr, nullptr,
    fields, check, apply };
}

Property enumeration (const char *name, const char *nick, const char *blurb,
    Scope scope, GType (*type) (), int def, unsigned fields,
    void (*apply) (V, C &))
{
  return { name, nick, blurb, Kind::Enum, scope, 0, 0, (double) def, nullptr,
    type, fields, nullptr, apply };
}

const std::vector<Property> &properties ()
{
  static const std::vector<Property> t = {
    string ("session", "Session",
        "Name of the call this element belongs to: a sink and a src with the "
        "same name in one pipeline share one call (default: one call per "
        "pipeline)",
        Scope::Key, nullptr, 0, nullptr),
    string (
        "client-secret", "Client secret",
        "An ephemeral secret (ek_...) the application already holds; when "
        "set, no provider is used. Write-only",
        Scope::Secret, nullptr, 0,
        [] (V v, C &c) { c.client_secret = str (v); }, check_secret),
    string ("api-base", "API base URL",
        "Where calls started with client-secret are posted; without "
        "client-secret the provider's api-base is used",
        Scope::Start, "https://api.openai.com", 0,
        [] (V v, C &c) { c.api_base = str (v); }),
    number (Kind::Uint, "latency", "Latency",
        "Jitter buffer of the agent's incoming audio, in milliseconds (set "
        "on either element of the call)",
        Scope::Start, 0, 2000, 40, 0,
        [] (V v, C &c) { c.settings.jitterbuffer_ms = g_value_get_uint (v); }),
    number (Kind::Uint, "opus-bitrate", "Opus bitrate",
        "Bit rate of the user's audio as Opus, in bit/s (the model hears it "
        "at 24 kHz; 32000 is what browsers send for speech)",
        Scope::Start, 6000, 510000, 64000, 0,
        [] (V v, C &c) { c.settings.opus_bitrate = g_value_get_uint (v); }),
    number (Kind::Int, "opus-complexity", "Opus complexity",
        "CPU the Opus encoder of the user's audio may spend, from 0 (least) "
        "to 10 (the most, Opus's own default)",
        Scope::Start, 0, 10, 5, 0,
        [] (V v, C &c) { c.settings.opus_complexity = g_value_get_int (v); }),
    enumeration ("connection-state", "Connection state",
        "Where the call stands; notified on every change, and each change "
        "is also posted as an element message named "
        "\"openai-realtime-connection\" (fields state, attempt, reason, "
        "category)",
        Scope::Status, gst_openai_realtime_connection_state_get_type,
        (int) rt::ConnectionState::Idle, 0, nullptr),

    /* How the call behaves: taken when it starts. */
    number (Kind::Uint, "ice-disconnect-grace", "ICE disconnect grace",
        "How long ICE may report the far end disconnected before the call "
        "is rebuilt, in milliseconds (brief losses are normal on real "
        "networks)",
        Scope::Start, 0, 60000, 2000, 0,
        [] (V v, C &c) {
          c.settings.ice_disconnect_grace_ms = g_value_get_uint (v);
        }),
    number (Kind::Uint, "media-timeout", "Media timeout",
        "Rebuild the call when no audio packet has come from the service for "
        "this long while connected, in milliseconds (a network that drops "
        "packets silently reports nothing else); 0 turns this off",
        Scope::Start, 0, 600000, 3000, 0,
        [] (V v, C &c) { c.settings.media_timeout_ms = g_value_get_uint (v); }),
    number (Kind::Uint, "reconnect-delay", "Reconnect delay",
        "Backoff before the first new call after a fault, in milliseconds; "
        "it doubles with each failed attempt and each wait is drawn "
        "uniformly below it (full jitter)",
        Scope::Start, 0, 600000, 500, 0,
        [] (V v, C &c) {
          c.settings.reconnect.initial_delay_ms = g_value_get_uint (v);
        }),
    number (Kind::Uint, "reconnect-delay-max", "Reconnect delay cap",
        "Upper bound of the backoff, in milliseconds (a 429's Retry-After is "
        "honoured even above it)",
        Scope::Start, 0, 3600000, 30000, 0,
        [] (V v, C &c) {
          c.settings.reconnect.max_delay_ms = g_value_get_uint (v);
        }),
    number (Kind::Uint, "max-reconnect-attempts", "Maximum reconnect attempts",
        "New calls tried after faults before the element gives up with an "
        "error; the count starts over once a call has stayed up for 10 s. "
        "0: a fault ends the call with an error",
        Scope::Start, 0, G_MAXUINT, 10, 0,
        [] (V v, C &c) {
          c.settings.reconnect.max_attempts = g_value_get_uint (v);
        }),
    number (Kind::Boolean, "replay-history", "Replay history",
        "Give each new call the conversation so far (transcripts and text "
        "messages, as conversation items) so the agent keeps its context "
        "across reconnections and the service's 60-minute limit",
        Scope::Start, 0, 1, TRUE, 0,
        [] (V v, C &c) {
          c.settings.history.enabled = g_value_get_boolean (v);
        }),
    number (Kind::Uint, "history-max-items", "History items",
        "Most conversation items kept for replay (the oldest go first)",
        Scope::Start, 0, 10000, 50, 0,
        [] (V v, C &c) {
          c.settings.history.max_items = g_value_get_uint (v);
        }),
    number (Kind::Uint, "history-max-chars", "History characters",
        "Most characters of conversation kept for replay, all items "
        "together (the oldest items go first)",
        Scope::Start, 0, 10000000, 20000, 0,
        [] (V v, C &c) {
          c.settings.history.max_chars = g_value_get_uint (v);
        }),
    number (Kind::Uint, "http-timeout", "HTTP timeout",
        "Seconds to wait for the service's answer to a request (minting a "
        "secret, posting the offer) before the attempt counts as failed",
        Scope::Start, 1, 300, 10, 0,
        [] (V v, C &c) { c.settings.http_timeout_s = g_value_get_uint (v); }),
    number (Kind::Uint, "connect-timeout", "Connect timeout",
        "Milliseconds an attempt may take from its start to an open events "
        "channel before it counts as failed and a new one is made",
        Scope::Start, 1000, 600000, 10000, 0,
        [] (V v, C &c) {
          c.settings.connect_timeout_ms = g_value_get_uint (v);
        }),
    number (Kind::Uint64, "reconnects", "Reconnects",
        "New calls made after faults since the element joined its call",
        Scope::Status, 0, 0, 0, 0, nullptr),

    /* The session. Changes reach a running call at once (session.update). */
    string ("instructions", "Instructions",
        "The agent's system instructions (over the token provider's); a "
        "change mid-call is sent at once",
        Scope::Session, nullptr, rt::kSessionInstructions,
        [] (V v, C &c) { c.settings.session.instructions = str (v); }),
    string ("voice", "Voice",
        "The agent's voice (alloy, ash, ballad, coral, echo, sage, shimmer, "
        "verse, marin, cedar); can change only until the agent first speaks "
        "in a call",
        Scope::Session, nullptr, rt::kSessionVoice,
        [] (V v, C &c) { c.settings.session.voice = str (v); }),
    enumeration ("turn-detection", "Turn detection",
        "How the service decides that the user has finished speaking: "
        "server-vad (loudness; tuned by vad-threshold, vad-prefix-padding, "
        "vad-silence-duration), semantic-vad (meaning; tuned by "
        "vad-eagerness) or none (the application asks for responses)",
        Scope::Session, gst_openai_realtime_turn_detection_get_type,
        (int) rt::TurnDetection::Default, rt::kSessionTurnDetection,
        [] (V v, C &c) {
          c.settings.session.turn_detection = (rt::TurnDetection)
              g_value_get_enum (v);
        }),
    number (Kind::Double, "vad-threshold", "VAD threshold",
        "Server VAD activation threshold, 0..1 (higher needs louder "
        "speech); -1: the service's default",
        Scope::Session, -1, 1, -1, rt::kSessionTurnDetection,
        [] (V v, C &c) {
          double d = g_value_get_double (v);
          c.settings.session.vad_threshold = d < 0 ? std::nullopt :
                                                     std::optional<double> (d);
        }),
    number (Kind::Int, "vad-prefix-padding", "VAD prefix padding",
        "Server VAD: milliseconds of audio kept from before speech was "
        "detected; -1: the service's default",
        Scope::Session, -1, 10000, -1, rt::kSessionTurnDetection,
        [] (V v, C &c) {
          c.settings.session.vad_prefix_padding_ms = opt_int (v);
        }),
    number (Kind::Int, "vad-silence-duration", "VAD silence duration",
        "Server VAD: milliseconds of silence that end the user's turn; -1: "
        "the service's default",
        Scope::Session, -1, 10000, -1, rt::kSessionTurnDetection,
        [] (V v, C &c) {
          c.settings.session.vad_silence_duration_ms = opt_int (v);
        }),
    enumeration ("vad-eagerness", "Semantic VAD eagerness",
        "Semantic VAD: how soon the agent answers", Scope::Session,
        gst_openai_realtime_eagerness_get_type, 0, rt::kSessionTurnDetection,
        [] (V v, C &c) {
          c.settings.session.vad_eagerness = kEagerness[g_value_get_enum (v)];
        }),
    enumeration ("noise-reduction", "Noise reduction",
        "Noise reduction of the user's audio by the service, for the kind "
        "of microphone",
        Scope::Session, gst_openai_realtime_noise_reduction_get_type, 0,
        rt::kSessionNoiseReduction,
        [] (V v, C &c) {
          c.settings.session.noise_reduction =
              kNoiseReduction[g_value_get_enum (v)];
        }),
    enumeration ("output-modalities", "Output modalities",
        "What the agent answers with: speech (with its transcript) or text "
        "only",
        Scope::Session, gst_openai_realtime_modality_get_type, 0,
        rt::kSessionOutputModalities,
        [] (V v, C &c) {
          c.settings.session.output_modality = kModality[g_value_get_enum (v)];
        }),
    number (Kind::Int, "max-output-tokens", "Maximum output tokens",
        "Most tokens in one response, 1..4096; 0: no limit (\"inf\"); -1: "
        "the service's default",
        Scope::Session, -1, 4096, -1, rt::kSessionMaxOutputTokens,
        [] (V v, C &c) { c.settings.session.max_output_tokens = opt_int (v); }),
    number (Kind::Double, "speed", "Speed",
        "Speaking speed of the agent, as a factor of its normal speed (the "
        "service's range, 0.25..1.5)",
        Scope::Session, 0.25, 1.5, 1.0, rt::kSessionSpeed,
        [] (V v, C &c) { c.settings.session.speed = g_value_get_double (v); }),
    string ("transcription-model", "Transcription model",
        "Transcribe the user's speech with this model (e.g. "
        "gpt-4o-mini-transcribe), reported by the transcript signal and "
        "message; unset: no transcription of the user",
        Scope::Session, nullptr, rt::kSessionTranscription,
        [] (V v, C &c) { c.settings.session.transcription_model = str (v); }),
    string ("language", "Language",
        "The user's language for transcription (ISO-639-1, e.g. en), a hint",
        Scope::Session, nullptr, rt::kSessionTranscription,
        [] (V v, C &c) {
          c.settings.session.transcription_language = str (v);
        }),
    string (
        "tools", "Tools",
        "Functions the agent may call, as a JSON array of "
        "{\"type\":\"function\",\"name\",\"description\",\"parameters\"}; "
        "checked when set (an invalid value is refused with a warning). "
        "Calls arrive by the function-call signal; answer with "
        "function-result",
        Scope::Session, nullptr, rt::kSessionTools,
        [] (V v, C &c) { c.settings.session.tools = str (v); }, check_tools),
    string ("tool-choice", "Tool choice",
        "auto, none, required, or the name of one function to call",
        Scope::Session, nullptr, rt::kSessionToolChoice,
        [] (V v, C &c) { c.settings.session.tool_choice = str (v); }),
    { "stats", "Statistics",
        "Statistics of the call (never its content): state, call id, "
        "time to connect, time connected, reconnects, faults by category, "
        "secrets, audio packets, bytes, loss, jitter and round trip, events "
        "in and out by type, tokens used, and the element's own counters",
        Kind::Boxed, Scope::Status, 0, 0, 0, nullptr,
        [] { return GST_TYPE_STRUCTURE; }, 0, nullptr, nullptr },
  };
  return t;
}

std::vector<GParamSpec *> &pspecs ()
{
  static std::vector<GParamSpec *> v (properties ().size ());
  return v;
}

GParamSpec *make_pspec (const Property &p)
{
  auto flags = (GParamFlags) G_PARAM_STATIC_STRINGS;
  switch (p.scope) {
    case Scope::Status: flags = (GParamFlags) (flags | G_PARAM_READABLE); break;
    case Scope::Secret:
      flags = (GParamFlags) (flags | G_PARAM_WRITABLE |
          GST_PARAM_MUTABLE_READY);
      break;
    case Scope::Session:
      flags = (GParamFlags) (flags | G_PARAM_READWRITE |
          GST_PARAM_MUTABLE_PLAYING);
      break;
    case Scope::Key:
    case Scope::Start:
      flags = (GParamFlags) (flags | G_PARAM_READWRITE |
          GST_PARAM_MUTABLE_READY);
      break;
  }
  switch (p.kind) {
    case Kind::String:
      return g_param_spec_string (p.name, p.nick, p.blurb, p.def_string, flags);
    case Kind::Uint:
      return g_param_spec_uint (p.name, p.nick, p.blurb, (guint) p.min,
          (guint) p.max, (guint) p.def, flags);
    case Kind::Int:
      return g_param_spec_int (p.name, p.nick, p.blurb, (gint) p.min,
          (gint) p.max, (gint) p.def, flags);
    case Kind::Double:
      return g_param_spec_double (p.name, p.nick, p.blurb, p.min, p.max, p.def,
          flags);
    case Kind::Boolean:
      return g_param_spec_boolean (p.name, p.nick, p.blurb, p.def != 0, flags);
    case Kind::Enum:
      return g_param_spec_enum (p.name, p.nick, p.blurb, p.type (),
          (gint) p.def, flags);
    case Kind::Uint64:
      return g_param_spec_uint64 (p.name, p.nick, p.blurb, 0, G_MAXUINT64, 0,
          flags);
    case Kind::Boxed:
      return g_param_spec_boxed (p.name, p.nick, p.blurb, p.type (), flags);
  }
  return nullptr;
}

}  // namespace

const Property *table ()
{
  return properties ().data ();
}

guint table_size ()
{
  return properties ().size ();
}

void install (GObjectClass *klass)
{
  auto &specs = pspecs ();
  for (guint i = 0; i < table_size (); i++) {
    specs[i] = make_pspec (table ()[i]);
    g_object_class_install_property (klass, i + 1, specs[i]);
  }
}

guint index (const char *name)
{
  for (guint i = 0; i < table_size (); i++)
    if (g_str_equal (table ()[i].name, name))
      return i;
  g_assert_not_reached ();
  return 0;
}

GParamSpec *pspec (guint i)
{
  return pspecs ()[i];
}

std::string describe (guint i, const GValue *value)
{
  const Property &p = table ()[i];
  if (p.scope == Scope::Secret)
    return "(hidden)";
  if (p.kind == Kind::String) {
    const char *s = g_value_get_string (value);
    return s ? "\"" + std::string (s) + "\"" : "(none)";
  }
  if (p.kind == Kind::Enum) {
    GEnumClass *ec = G_ENUM_CLASS (g_type_class_ref (p.type ()));
    GEnumValue *ev = g_enum_get_value (ec, g_value_get_enum (value));
    std::string nick = ev ? ev->value_nick : "?";
    g_type_class_unref (ec);
    return nick;
  }
  gchar *text = g_strdup_value_contents (value);
  std::string out = text;
  g_free (text);
  return out;
}

Values::Values ()
    : values_ (table_size (), GValue G_VALUE_INIT), set_at_ (table_size (), 0)
{
  for (guint i = 0; i < table_size (); i++) {
    g_value_init (&values_[i], G_PARAM_SPEC_VALUE_TYPE (pspec (i)));
    g_param_value_set_default (pspec (i), &values_[i]);
  }
}

Values::Values (const Values &other)
{
  copy_from (other);
}

Values &Values::operator= (const Values &other)
{
  if (this != &other) {
    clear ();
    copy_from (other);
  }
  return *this;
}

Values::~Values ()
{
  clear ();
}

void Values::copy_from (const Values &other)
{
  values_.assign (other.values_.size (), GValue G_VALUE_INIT);
  for (std::size_t i = 0; i < values_.size (); i++) {
    g_value_init (&values_[i], G_VALUE_TYPE (&other.values_[i]));
    g_value_copy (&other.values_[i], &values_[i]);
  }
  set_at_ = other.set_at_;
}

void Values::clear ()
{
  for (auto &v : values_)
    g_value_unset (&v);
  values_.clear ();
}

void Values::set (guint i, const GValue *value)
{
  static std::atomic<guint64> sequence { 0 };
  g_value_copy (value, &values_[i]);
  set_at_[i] = ++sequence;
}

void Values::restore (guint i, const GValue *value, guint64 set_at)
{
  g_value_copy (value, &values_[i]);
  set_at_[i] = set_at;
}

}  // namespace callprops
