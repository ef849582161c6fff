/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:element-sipphone
 *
 * A phone in a pipeline: it registers `user` with the SIP server at
 * `registrar` over a WebSocket (RFC 7118), keeps the registration up (and
 * makes it again when the connection comes back), removes it when the
 * element stops, and makes and takes calls with WebRTC media (Opus, or
 * G.711 when that is all the far end has). Audio into the sink pad is what
 * the line says; the src pad gives what the line hears, timestamped silence
 * while no call is up, so a recording downstream stays continuous.
 *
 * Every change of `call-state` is also an element message named
 * `sipphone-state` (`state`, `status`, `reason`). A password the server
 * refuses is one error on the bus, not a retry storm.
 *
 * |[
 * SIP_PASSWORD=... gst-launch-1.0 audiotestsrc is-live=true ! \
 *     sipphone registrar=ws://127.0.0.1:8080 user=sip:alice@example.org \
 *     dial=sip:bob@example.org ! autoaudiosink
 * ]|
 *
 * `call-state` is notified, `sipphone-state` posted and the signals emitted
 * from the line's own thread (and from the thread changing the element's
 * state, as it starts and stops). As with streaming threads, an application
 * changes the pipeline's state from its main loop, not from those handlers;
 * an action called from them runs at once. An action of one sipphone called
 * from another's handler waits for that line's thread: two lines doing so
 * at the same moment would wait for each other.
 */
#include "sipphone_private.h"

#include "config.h"
#include "core/debug.h"
#include "core/enums.h"
#include "core/redact.h"
#include "media/input_pacing.h"
#include "media/live_audio_src.h"
#include "signalling/sip/transport.h"

#include <gio/gio.h>
#include <gst/app/gstappsink.h>

#include <algorithm>

GST_DEBUG_CATEGORY (sipphone_debug);
#define GST_CAT_DEFAULT sipphone_debug

RT_DEFINE_ENUM (gst_sip_phone_state_get_type, "GstSipPhoneState",
    { GST_SIP_PHONE_IDLE, "Not registered, no call", "idle" },
    { GST_SIP_PHONE_REGISTERING,
        "Connecting to the registrar or registering (again after a lost "
        "connection)",
        "registering" },
    { GST_SIP_PHONE_REGISTERED, "Registered: calls can be made and taken",
        "registered" },
    { GST_SIP_PHONE_CALLING, "Calling out, no answer yet", "calling" },
    { GST_SIP_PHONE_RINGING, "A call is ringing here or at the far end",
        "ringing" },
    { GST_SIP_PHONE_CONNECTED, "In a call", "connected" },
    { GST_SIP_PHONE_HELD, "In a call on hold", "held" },
    { GST_SIP_PHONE_ENDED, "The last call ended", "ended" },
    { GST_SIP_PHONE_FAILED,
        "The line cannot work as set (refused credentials, a bad registrar "
        "URI)",
        "failed" })

RT_DEFINE_ENUM (gst_sip_phone_dtmf_method_get_type, "GstSipPhoneDtmfMethod",
    { GST_SIP_PHONE_DTMF_RTP,
        "RFC 4733 telephone events in the media (SIP INFO when the far end "
        "takes none)",
        "rtp" },
    { GST_SIP_PHONE_DTMF_INFO, "SIP INFO, application/dtmf-relay", "info" })

using sipphone::Line;
using sipphone::Settings;

enum {
  PROP_0,
  PROP_REGISTRAR,
  PROP_USER,
  PROP_AUTH_USER,
  PROP_PASSWORD,
  PROP_DISPLAY_NAME,
  PROP_DIAL,
  PROP_CA_FILE,
  PROP_AUTO_ANSWER,
  PROP_MUTE,
  PROP_DTMF_METHOD,
  PROP_CALL_STATE,
  PROP_STATS,
  N_PROPS
};
static GParamSpec *props[N_PROPS];

#define gst_sip_phone_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstSipPhone, gst_sip_phone, GST_TYPE_BIN,
    GST_DEBUG_CATEGORY_INIT (sipphone_debug, "sipphone", 0,
        "A phone line over SIP on a WebSocket"));
GST_ELEMENT_REGISTER_DEFINE (sipphone, "sipphone", GST_RANK_NONE,
    GST_TYPE_SIP_PHONE);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS ("audio/x-raw"));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("audio/x-raw,format=S16LE,rate=48000,channels=1,"
                     "layout=interleaved"));

const char *sipphone::state_nick (int state)
{
  GEnumClass *klass = G_ENUM_CLASS (
      g_type_class_ref (GST_TYPE_SIP_PHONE_STATE));
  GEnumValue *v = g_enum_get_value (klass, state);
  const char *nick = v ? v->value_nick : "?";
  g_type_class_unref (klass);
  return nick;
}

std::shared_ptr<Line> sipphone::line_of (GstSipPhone *self)
{
  GST_OBJECT_LOCK (self);
  std::shared_ptr<Line> line = *self->line;
  GST_OBJECT_UNLOCK (self);
  return line;
}

void sipphone::release_elsewhere (GstSipPhone *self, std::shared_ptr<Line> line)
{
  gst_element_call_async (
      GST_ELEMENT (self),
      [] (GstElement *, gpointer data) {
        delete static_cast<std::shared_ptr<Line> *> (data);
      },
      new std::shared_ptr<Line> (std::move (line)), nullptr);
}

void sipphone::set_state (GstSipPhone *self, GstSipPhoneState state, int status,
    const std::string &reason)
{
  int before = self->state->exchange (state);
  /* The same state again says something only with a status or a reason
   * (a challenge, a lost connection). */
  if (before == state && status == 0 && reason.empty ())
    return;
  GST_INFO_OBJECT (self, "%s (%d %s)", state_nick (state), status,
      rt::redact (reason).c_str ());
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self),
          gst_structure_new ("sipphone-state", "state", G_TYPE_STRING,
              state_nick (state), "status", G_TYPE_INT, status, "reason",
              G_TYPE_STRING, rt::redact (reason).c_str (), nullptr)));
  if (before != state)
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_CALL_STATE]);
}

static bool start_line (GstSipPhone *self)
{
  rt::PhoneConfig config;
  GST_OBJECT_LOCK (self);
  const Settings s = *self->settings;
  GST_OBJECT_UNLOCK (self);
  if (s.registrar.empty () || s.user.empty ()) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("sipphone needs registrar (a ws:// or wss:// URI) and user (a SIP "
         "address such as sip:alice@example.org)"),
        (nullptr));
    return false;
  }
  if (!g_str_has_prefix (s.registrar.c_str (), "ws://") &&
      !g_str_has_prefix (s.registrar.c_str (), "wss://")) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("registrar must be a ws:// or wss:// URI, not \"%s\"",
            s.registrar.c_str ()),
        (nullptr));
    return false;
  }
  if (rt::sip::uri_user (s.user).empty ()) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("user must be a SIP address such as sip:alice@example.org, not "
         "\"%s\"",
            s.user.c_str ()),
        (nullptr));
    return false;
  }
  /* Each goes into SIP headers as it is: a line break would forge more. */
  for (const std::string *v :
      { &s.registrar, &s.user, &s.auth_user, &s.display_name, &s.dial }) {
    if (std::any_of (v->begin (), v->end (),
            [] (char c) { return (unsigned char) c < 0x20 || c == 0x7f; })) {
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          ("registrar, user, auth-user, display-name and dial may not hold "
           "control characters"),
          (nullptr));
      return false;
    }
  }
  if (!s.dial.empty () && !g_str_has_prefix (s.dial.c_str (), "sip:")) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("dial must be a SIP URI such as sip:bob@example.org, not \"%s\"",
            s.dial.c_str ()),
        (nullptr));
    return false;
  }
  if (!s.ca_file.empty ()) {
    std::string why;
    GTlsDatabase *cas = rt::sip::load_ca_file (s.ca_file, &why);
    if (!cas) {
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          ("ca-file: %s", why.c_str ()), (nullptr));
      return false;
    }
    g_object_unref (cas);
  }
  config.line.registrar_url = s.registrar;
  config.line.ca_file = s.ca_file;
  config.auto_answer = self->auto_answer->load ();
  config.dtmf = s.dtmf_method == GST_SIP_PHONE_DTMF_INFO ?
      rt::DtmfMethod::Info :
      rt::DtmfMethod::Rtp;
  rt::sip::Identity &id = config.line.identity;
  id.aor = s.user;
  id.auth_user = s.auth_user;
  id.password = s.password;
  id.display_name = s.display_name;
  id.instance = *self->instance;
  const std::string host = rt::sip::random_token (12) + ".invalid";
  id.via_host = host;
  id.contact_uri = "sip:" + rt::sip::random_token (8) + "@" + host +
      ";transport=ws";
  id.transport = g_str_has_prefix (s.registrar.c_str (), "wss://") ? "WSS" :
                                                                     "WS";
  id.user_agent = "gst-sipphone/" PACKAGE_VERSION;

  /* Said before the line starts, so that nothing it reports is overwritten. */
  sipphone::set_state (self, GST_SIP_PHONE_REGISTERING, 0, "");
  auto line = std::make_shared<Line> ();
  Line *l = line.get ();
  l->worker.run_sync ([self, l, config] {
    auto phone = std::make_unique<rt::Phone> (l->worker, config,
        sipphone::phone_events (self, l));
    phone->set_mute (self->mute->load ());
    {
      std::lock_guard<std::mutex> lock (l->lock);
      l->phone = std::move (phone);
    }
    l->phone->start ();
  });
  GST_OBJECT_LOCK (self);
  *self->line = line;
  GST_OBJECT_UNLOCK (self);
  return true;
}

static void stop_line (GstSipPhone *self)
{
  GST_OBJECT_LOCK (self);
  std::shared_ptr<Line> line = std::move (*self->line);
  self->line->reset ();
  GST_OBJECT_UNLOCK (self);
  if (!line)
    return;
  /* Bounded: a registrar that does not answer must not hold the state
   * change up. */
  Line *l = line.get ();
  /* Nothing of a line being stopped reaches the application. */
  l->quiet.store (true);
  auto stop = [l] {
    if (!l->phone)
      return;
    l->phone->stop ();
    std::lock_guard<std::mutex> lock (l->lock);
    l->phone.reset ();
  };
  if (l->worker.is_current ()) {
    /* From one of the line's own handlers: stopped here (its events come
     * from dispatches of their own, so the removal's answer can come in
     * meanwhile), and its thread joined from GStreamer's, which holds the
     * last reference: a thread cannot join itself. */
    stop ();
    sipphone::release_elsewhere (self, std::move (line));
  } else {
    l->worker.run_sync (stop);
  }
  sipphone::set_state (self, GST_SIP_PHONE_IDLE, 0, "");
}

static GstStateChangeReturn gst_sip_phone_change_state (GstElement *element,
    GstStateChange transition)
{
  auto *self = GST_SIP_PHONE (element);
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED && !start_line (self))
    return GST_STATE_CHANGE_FAILURE;
  GstStateChangeReturn ret =
      GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (ret == GST_STATE_CHANGE_FAILURE &&
      transition == GST_STATE_CHANGE_READY_TO_PAUSED)
    stop_line (self);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    stop_line (self);
    self->ended_unsaid->store (false);
  }
  if (transition == GST_STATE_CHANGE_PAUSED_TO_PLAYING) {
    self->playing->store (true);
    if (self->ended_unsaid->exchange (false))
      sipphone::send_call_event (self, rt::PhoneState::Ended, 0);
    if (auto line = sipphone::line_of (self)) {
      /* Weak: the last reference to a line must not die on its thread. */
      std::weak_ptr<Line> weak = line;
      line->worker.post ([self, weak] {
        if (auto l = weak.lock ()) {
          sipphone::dial_if_due (self, l.get ());
          /* Not the last reference while the element holds the line;
           * after stop_line, let go elsewhere. */
          sipphone::release_elsewhere (self, std::move (l));
        }
      });
    }
  }
  if (transition == GST_STATE_CHANGE_PLAYING_TO_PAUSED)
    self->playing->store (false);
  return ret;
}

static GstStructure *stats_of (GstSipPhone *self)
{
  GstStructure *s = gst_structure_new_empty ("sipphone-stats");
  std::shared_ptr<Line> line = sipphone::line_of (self);
  std::map<std::string, guint64> counters;
  if (line) {
    std::lock_guard<std::mutex> lock (line->lock);
    if (line->phone)
      counters = line->phone->counters ();
  }
  for (const auto &[name, value] : counters)
    gst_structure_set (s, name.c_str (), G_TYPE_UINT64, value, nullptr);
  return s;
}

static void gst_sip_phone_set_property (GObject *object, guint id,
    const GValue *value, GParamSpec *pspec)
{
  auto *self = GST_SIP_PHONE (object);
  const char *v = G_VALUE_HOLDS_STRING (value) ? g_value_get_string (value) :
                                                 nullptr;
  GST_OBJECT_LOCK (self);
  Settings &s = *self->settings;
  switch (id) {
    case PROP_REGISTRAR: s.registrar = v ? v : ""; break;
    case PROP_USER: s.user = v ? v : ""; break;
    case PROP_AUTH_USER: s.auth_user = v ? v : ""; break;
    case PROP_PASSWORD:
      s.password = v ? v : "";
      rt::register_secret (s.password);
      break;
    case PROP_DISPLAY_NAME: s.display_name = v ? v : ""; break;
    case PROP_DIAL: s.dial = v ? v : ""; break;
    case PROP_CA_FILE: s.ca_file = v ? v : ""; break;
    case PROP_DTMF_METHOD: {
      s.dtmf_method = (GstSipPhoneDtmfMethod) g_value_get_enum (value);
      const auto m = s.dtmf_method == GST_SIP_PHONE_DTMF_INFO ?
          rt::DtmfMethod::Info :
          rt::DtmfMethod::Rtp;
      GST_OBJECT_UNLOCK (self);
      if (auto line = sipphone::line_of (self)) {
        std::lock_guard<std::mutex> lock (line->lock);
        if (line->phone)
          line->phone->set_dtmf_method (m);
      }
      return;
    }
    case PROP_AUTO_ANSWER:
    case PROP_MUTE: {
      const bool on = g_value_get_boolean (value);
      (id == PROP_MUTE ? self->mute : self->auto_answer)->store (on);
      GST_OBJECT_UNLOCK (self);
      /* Live: the phone of a running line takes it at once. */
      if (auto line = sipphone::line_of (self)) {
        std::lock_guard<std::mutex> lock (line->lock);
        if (line->phone && id == PROP_MUTE)
          line->phone->set_mute (on);
        else if (line->phone)
          line->phone->set_auto_answer (on);
      }
      return;
    }
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec);
  }
  GST_OBJECT_UNLOCK (self);
}

static void gst_sip_phone_get_property (GObject *object, guint id,
    GValue *value, GParamSpec *pspec)
{
  auto *self = GST_SIP_PHONE (object);
  if (id == PROP_CALL_STATE) {
    g_value_set_enum (value, self->state->load ());
    return;
  }
  if (id == PROP_STATS) {
    g_value_take_boxed (value, stats_of (self));
    return;
  }
  if (id == PROP_AUTO_ANSWER || id == PROP_MUTE) {
    g_value_set_boolean (value,
        (id == PROP_MUTE ? self->mute : self->auto_answer)->load ());
    return;
  }
  GST_OBJECT_LOCK (self);
  const Settings &s = *self->settings;
  switch (id) {
    case PROP_REGISTRAR:
      g_value_set_string (value, s.registrar.c_str ());
      break;
    case PROP_USER: g_value_set_string (value, s.user.c_str ()); break;
    case PROP_AUTH_USER:
      g_value_set_string (value, s.auth_user.c_str ());
      break;
    case PROP_DISPLAY_NAME:
      g_value_set_string (value, s.display_name.c_str ());
      break;
    case PROP_DIAL: g_value_set_string (value, s.dial.c_str ()); break;
    case PROP_CA_FILE: g_value_set_string (value, s.ca_file.c_str ()); break;
    case PROP_DTMF_METHOD: g_value_set_enum (value, s.dtmf_method); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec);
  }
  GST_OBJECT_UNLOCK (self);
}

static void gst_sip_phone_finalize (GObject *object)
{
  auto *self = GST_SIP_PHONE (object);
  stop_line (self);
  delete self->settings;
  delete self->instance;
  delete self->state;
  delete self->auto_answer;
  delete self->mute;
  delete self->playing;
  delete self->ended_unsaid;
  delete self->line;
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void gst_sip_phone_init (GstSipPhone *self)
{
  self->settings = new Settings ();
  /* A password on a gst-launch-1.0 command line is logged by GStreamer's
   * parser (GST_DEBUG=*:5 and up) before any plugin can mask it: the
   * environment keeps it off the command line. */
  if (const char *env = g_getenv ("SIP_PASSWORD")) {
    self->settings->password = env;
    rt::register_secret (env);
  }
  self->state = new std::atomic<int> (GST_SIP_PHONE_IDLE);
  self->auto_answer = new std::atomic<bool> (false);
  self->mute = new std::atomic<bool> (false);
  self->playing = new std::atomic<bool> (false);
  self->ended_unsaid = new std::atomic<bool> (false);
  self->line = new std::shared_ptr<Line> ();
  /* One instance id per phone (RFC 5626): the registrar replaces this
   * phone's binding when it registers again, instead of adding one. */
  gchar *uuid = g_uuid_string_random ();
  self->instance = new std::string (std::string ("urn:uuid:") + uuid);
  g_free (uuid);

  /* The sink pad's audio, in what the call's peer takes, goes into the
   * call (or nowhere, between calls), encoded on this streaming thread;
   * the src pad plays out the far end. The appsink syncs so that a file,
   * or a live source that runs ahead, goes out at real time; at the
   * buffer's running time, not that plus the pipeline's latency
   * (send_event). */
  GstElement *in = gst_parse_bin_from_description (
      "audioconvert ! audioresample ! capsfilter caps=audio/x-raw,"
      "format=S16LE,rate=48000,channels=1,layout=interleaved ! "
      "appsink name=to-call sync=true async=false emit-signals=false "
      "max-buffers=10 drop=true",
      TRUE, nullptr);
  self->to_call = gst_bin_get_by_name (GST_BIN (in), "to-call");
  GstAppSinkCallbacks callbacks = {};
  callbacks.new_sample = [] (GstAppSink *sink, gpointer data) {
    auto *self = static_cast<GstSipPhone *> (data);
    GstSample *sample = gst_app_sink_pull_sample (sink);
    if (!sample)
      return GST_FLOW_EOS;
    if (auto line = sipphone::line_of (self)) {
      std::lock_guard<std::mutex> lock (line->lock);
      if (line->phone)
        line->phone->push_audio (gst_sample_get_buffer (sample));
    }
    gst_sample_unref (sample);
    return GST_FLOW_OK;
  };
  gst_app_sink_set_callbacks (GST_APP_SINK (self->to_call), &callbacks, self,
      nullptr);
  gst_object_unref (self->to_call);
  self->from_call = GST_ELEMENT (
      g_object_new (GST_TYPE_LIVE_AUDIO_SRC, "name", "from-call", nullptr));
  gst_bin_add_many (GST_BIN (self), in, self->from_call, nullptr);
  /* The ghost pads take the templates without a reference of their own. */
  auto ghost = [self] (GstElement *inner, const char *name,
                   GstStaticPadTemplate *templ) {
    GstPad *target = gst_element_get_static_pad (inner, name);
    GstPadTemplate *t = gst_static_pad_template_get (templ);
    gst_element_add_pad (GST_ELEMENT (self),
        gst_ghost_pad_new_from_template (name, target, t));
    gst_object_unref (t);
    gst_object_unref (target);
  };
  ghost (in, "sink", &sink_template);
  ghost (self->from_call, "src", &src_template);
}

/* What goes into the call need not wait for the pipeline's latency. */
static gboolean gst_sip_phone_send_event (GstElement *element, GstEvent *event)
{
  rt::pace_input_at_running_time (GST_SIP_PHONE (element)->to_call, event);
  return GST_ELEMENT_CLASS (parent_class)->send_event (element, event);
}

static void gst_sip_phone_class_init (GstSipPhoneClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  gobject_class->set_property = gst_sip_phone_set_property;
  gobject_class->get_property = gst_sip_phone_get_property;
  gobject_class->finalize = gst_sip_phone_finalize;
  element_class->change_state = gst_sip_phone_change_state;
  element_class->send_event = gst_sip_phone_send_event;

  const auto rw = (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_READY);
  props[PROP_REGISTRAR] = g_param_spec_string ("registrar", "Registrar",
      "The SIP server's WebSocket: a ws:// or wss:// URI (RFC 7118). The "
      "line registers there when the element goes to PAUSED",
      nullptr, rw);
  props[PROP_USER] = g_param_spec_string ("user", "User",
      "The address of record this line registers and calls from, such as "
      "sip:alice@example.org",
      nullptr, rw);
  props[PROP_AUTH_USER] = g_param_spec_string ("auth-user",
      "Authentication user",
      "The user name for digest authentication (MD5 or SHA-256); empty: the "
      "user part of user",
      nullptr, rw);
  props[PROP_PASSWORD] = g_param_spec_string ("password", "Password",
      "The digest password. Write-only: it never reads back and is masked "
      "in every log line. Defaults to $SIP_PASSWORD, the way to give it to "
      "gst-launch-1.0 (whose own parser logs its command line)",
      nullptr,
      (GParamFlags) (G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  props[PROP_DISPLAY_NAME] = g_param_spec_string ("display-name",
      "Display name", "The name the far end shows for this line (empty: none)",
      nullptr, rw);
  props[PROP_DIAL] = g_param_spec_string ("dial", "Dial",
      "A SIP URI to call once the line is registered and the element "
      "PLAYING (empty: wait for calls); once per start",
      nullptr, rw);
  props[PROP_CA_FILE] = g_param_spec_string ("ca-file", "CA file",
      "A PEM file of the certificate authorities a wss:// registrar's "
      "certificate must chain to, in place of the system's (a private SIP "
      "server's own CA); empty: the system's. A certificate that does not "
      "chain is refused, never ignored",
      nullptr, rw);
  props[PROP_AUTO_ANSWER] = g_param_spec_boolean ("auto-answer", "Auto-answer",
      "Answer every incoming call at once (otherwise: the incoming-call "
      "signal, then the answer or reject action)",
      FALSE,
      (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  props[PROP_MUTE] = g_param_spec_boolean ("mute", "Mute",
      "Send silence into the call instead of what the sink pad gets (the "
      "media keep flowing); the far end is still heard",
      FALSE,
      (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  props[PROP_DTMF_METHOD] = g_param_spec_enum ("dtmf-method", "DTMF method",
      "How send-dtmf sends digits. Digits from the far end are taken both "
      "ways",
      GST_TYPE_SIP_PHONE_DTMF_METHOD, GST_SIP_PHONE_DTMF_RTP,
      (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  props[PROP_CALL_STATE] = g_param_spec_enum ("call-state", "Call state",
      "Where the line stands; notified on every change, each also an "
      "element message named sipphone-state",
      GST_TYPE_SIP_PHONE_STATE, GST_SIP_PHONE_IDLE,
      (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  props[PROP_STATS] = g_param_spec_boxed ("stats", "Statistics",
      "Counters of the line and its calls: registrations, reconnects, SIP "
      "messages in and out, malformed messages dropped, keep-alives, calls "
      "in and out, busy refusals, SIP responses by class (status-2xx...), "
      "audio buffers each way, digits each way, and call-duration-ms (the "
      "call up now, else the last one). No content",
      GST_TYPE_STRUCTURE,
      (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_properties (gobject_class, N_PROPS, props);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  rt_mark_enums_as_plugin_api (gobject_class);
  gst_element_class_set_static_metadata (element_class, "SIP phone",
      "Sink/Source/Network/Audio/WebRTC",
      "A phone line over SIP on a WebSocket, with WebRTC media",
      "gst-openai-realtime maintainers");
  gst_element_class_add_static_metadata (element_class,
      GST_ELEMENT_METADATA_DOC_URI, PACKAGE_DOC_URI "#sipphone");
  sipphone::install_signals (G_TYPE_FROM_CLASS (klass));
}
