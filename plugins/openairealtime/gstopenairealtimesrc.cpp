/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gstopenairealtimesrc.h"

#include "config.h"
#include "media/live_audio_src.h"
#include "agenttextsrc.h"
#include "core/enums.h"

#include <atomic>
#include <memory>
#include <mutex>

GST_DEBUG_CATEGORY_STATIC (src_debug);
#define GST_CAT_DEFAULT src_debug

/* Where the conversation's text goes: shared with the call's callbacks,
 * which may outlive the element briefly. */
struct TextOut {
  std::mutex lock;
  GstAgentTextSrc *src = nullptr; /* under lock; a reference */
  guint roles = 3;                /* under lock: GstOpenAIRealtimeTextRoles */
  bool prefix = true;             /* under lock */
  std::atomic<guint64> interrupted { 0 }; /* samples dropped by barge-in */

  void push (const rt::Transcript &t)
  {
    if (!t.final || t.text.empty ())
      return;
    const bool user = t.role == "user";
    std::lock_guard<std::mutex> l (lock);
    if (!src || !(roles & (user ? 1u : 2u)))
      return;
    std::string text = prefix ? (user ? "User: " : "Agent: ") + t.text : t.text;
    gst_agent_text_src_push (src, text.c_str ());
  }
};

/* The C++ state of the element, created in init and destroyed in
 * finalize. */
struct SrcState {
  GstLiveAudioSrc *audio = nullptr; /* a child of the bin */
  /* Shared with the call's callbacks; locks of its own. */
  std::shared_ptr<TextOut> text = std::make_shared<TextOut> ();
};

struct _GstOpenAIRealtimeSrc {
  GstOpenAIRealtimeBase parent;
  SrcState *priv;
};

static RT_DEFINE_FLAGS (text_roles_get_type, "GstOpenAIRealtimeTextRoles",
    { 1, "The user's speech (needs transcription-model)", "user" },
    { 2, "The agent's speech and text", "assistant" })

    enum {
      PROP_0,
      PROP_EVENTS_RECEIVED,
      PROP_EVENTS_MALFORMED,
      PROP_EVENTS_UNKNOWN,
      PROP_EVENTS_REASSEMBLED,
      PROP_EVENTS_OVERSIZED,
      PROP_SILENCE_INSERTED,
      PROP_AUDIO_INTERRUPTED,
      PROP_TEXT_ROLES,
      PROP_TEXT_PREFIX,
    };

#define gst_openai_realtime_src_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstOpenAIRealtimeSrc, gst_openai_realtime_src,
    GST_TYPE_OPENAI_REALTIME_BASE,
    GST_DEBUG_CATEGORY_INIT (src_debug, "openairealtimesrc", 0,
        "A realtime agent's voice"));
GST_ELEMENT_REGISTER_DEFINE (openairealtimesrc, "openairealtimesrc",
    GST_RANK_NONE, GST_TYPE_OPENAI_REALTIME_SRC);

static GstStaticPadTemplate audio_template = GST_STATIC_PAD_TEMPLATE ("audio",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("audio/x-raw, format=S16LE, rate=48000, channels=1, "
                     "layout=interleaved"));

static GstStaticPadTemplate text_template = GST_STATIC_PAD_TEMPLATE ("text",
    GST_PAD_SRC, GST_PAD_REQUEST, GST_STATIC_CAPS ("text/x-raw, format=utf8"));

static void gst_openai_realtime_src_get_property (GObject *object,
    guint prop_id, GValue *value, GParamSpec *pspec)
{
  auto *self = GST_OPENAI_REALTIME_SRC (object);
  auto call = gst_openai_realtime_base_get_call (
      GST_OPENAI_REALTIME_BASE (self));
  rt::CallStats stats = call ? call->stats () : rt::CallStats ();
  guint64 silent = 0;
  switch (prop_id) {
    case PROP_EVENTS_RECEIVED:
      g_value_set_uint64 (value, stats.events_in);
      break;
    case PROP_EVENTS_MALFORMED:
      g_value_set_uint64 (value, stats.events_malformed);
      break;
    case PROP_EVENTS_UNKNOWN:
      g_value_set_uint64 (value, stats.events_unknown);
      break;
    case PROP_EVENTS_REASSEMBLED:
      g_value_set_uint64 (value, stats.events_reassembled);
      break;
    case PROP_EVENTS_OVERSIZED:
      g_value_set_uint64 (value, stats.events_oversized);
      break;
    case PROP_SILENCE_INSERTED:
      gst_live_audio_src_get_counters (self->priv->audio, nullptr, &silent);
      g_value_set_uint64 (value, silent);
      break;
    case PROP_AUDIO_INTERRUPTED:
      g_value_set_uint64 (value, self->priv->text->interrupted.load ());
      break;
    case PROP_TEXT_ROLES: {
      std::lock_guard<std::mutex> l (self->priv->text->lock);
      g_value_set_flags (value, self->priv->text->roles);
      break;
    }
    case PROP_TEXT_PREFIX: {
      std::lock_guard<std::mutex> l (self->priv->text->lock);
      g_value_set_boolean (value, self->priv->text->prefix);
      break;
    }
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void gst_openai_realtime_src_set_property (GObject *object,
    guint prop_id, const GValue *value, GParamSpec *pspec)
{
  auto *self = GST_OPENAI_REALTIME_SRC (object);
  TextOut &text = *self->priv->text;
  switch (prop_id) {
    case PROP_TEXT_ROLES: {
      std::lock_guard<std::mutex> l (text.lock);
      text.roles = g_value_get_flags (value);
      break;
    }
    case PROP_TEXT_PREFIX: {
      std::lock_guard<std::mutex> l (text.lock);
      text.prefix = g_value_get_boolean (value);
      break;
    }
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static GstPad *gst_openai_realtime_src_request_new_pad (GstElement *element,
    GstPadTemplate *templ, const gchar *name, const GstCaps *caps)
{
  auto *self = GST_OPENAI_REALTIME_SRC (element);
  TextOut &out = *self->priv->text;
  auto *text = GST_AGENT_TEXT_SRC (
      g_object_new (GST_TYPE_AGENT_TEXT_SRC, "name", "agent-text", nullptr));
  {
    std::lock_guard<std::mutex> l (out.lock);
    if (out.src) {
      GST_WARNING_OBJECT (self, "there is only one text pad");
      gst_object_unref (gst_object_ref_sink (text));
      return nullptr;
    }
    out.src = GST_AGENT_TEXT_SRC (gst_object_ref (text));
  }
  gst_bin_add (GST_BIN (self), GST_ELEMENT (text));
  GstPad *target = gst_element_get_static_pad (GST_ELEMENT (text), "src");
  GstPad *ghost = gst_ghost_pad_new_from_template ("text", target, templ);
  gst_object_unref (target);
  gst_pad_set_active (ghost, TRUE);
  gst_element_add_pad (element, ghost);
  gst_element_sync_state_with_parent (GST_ELEMENT (text));
  return ghost;
}

static void gst_openai_realtime_src_release_pad (GstElement *element,
    GstPad *pad)
{
  auto *self = GST_OPENAI_REALTIME_SRC (element);
  TextOut &out = *self->priv->text;
  GstAgentTextSrc *text;
  {
    std::lock_guard<std::mutex> l (out.lock);
    text = out.src;
    out.src = nullptr;
  }
  gst_pad_set_active (pad, FALSE);
  gst_element_remove_pad (element, pad);
  if (text) {
    /* Disposing the bin drops its children before the request pads are
     * released: the element may have left already. */
    gst_element_set_state (GST_ELEMENT (text), GST_STATE_NULL);
    if (GST_OBJECT_PARENT (text) == GST_OBJECT (self))
      gst_bin_remove (GST_BIN (self), GST_ELEMENT (text));
    gst_object_unref (text);
  }
}

static void gst_openai_realtime_src_finalize (GObject *object)
{
  auto *self = GST_OPENAI_REALTIME_SRC (object);
  {
    std::lock_guard<std::mutex> l (self->priv->text->lock);
    if (self->priv->text->src)
      gst_object_unref (self->priv->text->src);
    self->priv->text->src = nullptr;
  }
  delete self->priv;
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

/* With the latency probes: the far end's audio leaves, stamped with its
 * packet's arrival. */
static GstPadProbeReturn on_audio_leaves (GstPad *, GstPadProbeInfo *info,
    gpointer data)
{
  GstClockTime stamped = rt::LatencyProbes::stamp_of (
      GST_PAD_PROBE_INFO_BUFFER (info));
  if (!GST_CLOCK_TIME_IS_VALID (stamped))
    return GST_PAD_PROBE_OK;
  auto call = gst_openai_realtime_base_get_call (
      GST_OPENAI_REALTIME_BASE (data));
  if (call && call->latency ())
    call->latency ()->record (rt::LatencyProbes::Direction::Down,
        GST_CLOCK_DIFF (stamped, rt::LatencyProbes::now ()));
  return GST_PAD_PROBE_OK;
}

static void gst_openai_realtime_src_init (GstOpenAIRealtimeSrc *self)
{
  SrcState *priv = self->priv = new SrcState ();
  priv->audio = GST_LIVE_AUDIO_SRC (
      g_object_new (GST_TYPE_LIVE_AUDIO_SRC, "name", "agent-audio", nullptr));
  /* A reference of its own: a call shared with a sink may deliver audio
   * after this element is gone. */
  std::shared_ptr<GstLiveAudioSrc> audio (
      GST_LIVE_AUDIO_SRC (gst_object_ref (priv->audio)), gst_object_unref);
  std::shared_ptr<TextOut> text = priv->text;
  GstOpenAIRealtimeMediaHooks hooks;
  hooks.audio = [audio] (GstBuffer *buffer) {
    gst_live_audio_src_push (audio.get (), buffer);
  };
  hooks.interrupt = [audio, text] {
    guint64 n = gst_live_audio_src_flush (audio.get ());
    text->interrupted += n;
    GST_DEBUG ("barge-in: %" G_GUINT64_FORMAT " samples of agent audio dropped",
        n);
  };
  hooks.transcript = [text] (const rt::Transcript &t) { text->push (t); };
  gst_openai_realtime_base_set_hooks (GST_OPENAI_REALTIME_BASE (self),
      std::move (hooks));
  gst_bin_add (GST_BIN (self), GST_ELEMENT (priv->audio));
  GstPad *target = gst_element_get_static_pad (GST_ELEMENT (priv->audio),
      "src");
  GstPad *ghost = gst_ghost_pad_new_from_template ("audio", target,
      gst_element_class_get_pad_template (GST_ELEMENT_GET_CLASS (self),
          "audio"));
  gst_object_unref (target);
  if (rt::LatencyProbes::enabled ())
    gst_pad_add_probe (ghost, GST_PAD_PROBE_TYPE_BUFFER, on_audio_leaves, self,
        nullptr);
  gst_element_add_pad (GST_ELEMENT (self), ghost);
}

static void gst_openai_realtime_src_class_init (
    GstOpenAIRealtimeSrcClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  gobject_class->get_property = gst_openai_realtime_src_get_property;
  gobject_class->set_property = gst_openai_realtime_src_set_property;
  gobject_class->finalize = gst_openai_realtime_src_finalize;
  element_class->request_new_pad = gst_openai_realtime_src_request_new_pad;
  element_class->release_pad = gst_openai_realtime_src_release_pad;
  GST_OPENAI_REALTIME_BASE_CLASS (klass)->gives_output = TRUE;

  const auto ro = (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_property (gobject_class, PROP_EVENTS_RECEIVED,
      g_param_spec_uint64 ("events-received", "Events received",
          "Server events received on the data channel", 0, G_MAXUINT64, 0, ro));
  g_object_class_install_property (gobject_class, PROP_EVENTS_MALFORMED,
      g_param_spec_uint64 ("events-malformed", "Malformed events",
          "Server messages that were not JSON events, or were cut short "
          "(ignored)",
          0, G_MAXUINT64, 0, ro));
  g_object_class_install_property (gobject_class, PROP_EVENTS_UNKNOWN,
      g_param_spec_uint64 ("events-unknown", "Unknown events",
          "Server events of a type this version does not know (still passed "
          "on: the service adds types over time)",
          0, G_MAXUINT64, 0, ro));
  g_object_class_install_property (gobject_class, PROP_EVENTS_REASSEMBLED,
      g_param_spec_uint64 ("events-reassembled", "Reassembled events",
          "Server events that arrived split in pieces by the transport and "
          "were put back together",
          0, G_MAXUINT64, 0, ro));
  g_object_class_install_property (gobject_class, PROP_EVENTS_OVERSIZED,
      g_param_spec_uint64 ("events-oversized", "Oversized events",
          "Server messages dropped for being larger than any event may be "
          "(1 MiB)",
          0, G_MAXUINT64, 0, ro));
  g_object_class_install_property (gobject_class, PROP_SILENCE_INSERTED,
      g_param_spec_uint64 ("silence-inserted", "Silence inserted",
          "Samples of silence played out because no agent audio was there", 0,
          G_MAXUINT64, 0, ro));
  g_object_class_install_property (gobject_class, PROP_AUDIO_INTERRUPTED,
      g_param_spec_uint64 ("audio-interrupted", "Audio interrupted",
          "Samples of agent audio dropped because the user barged in (or the "
          "output was cleared)",
          0, G_MAXUINT64, 0, ro));
  const auto rw = (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_PLAYING);
  g_object_class_install_property (gobject_class, PROP_TEXT_ROLES,
      g_param_spec_flags ("text-roles", "Text roles",
          "Whose words the text pad carries (final transcripts): the user's "
          "(with transcription-model set) and the agent's",
          text_roles_get_type (), 3, rw));
  g_object_class_install_property (gobject_class, PROP_TEXT_PREFIX,
      g_param_spec_boolean ("text-prefix", "Text prefix",
          "Start each text buffer with \"User: \" or \"Agent: \"", TRUE, rw));

  gst_element_class_add_static_pad_template (element_class, &audio_template);
  gst_element_class_add_static_pad_template (element_class, &text_template);
  rt_mark_enums_as_plugin_api (gobject_class);
  gst_element_class_set_static_metadata (element_class,
      "OpenAI Realtime source", "Source/Network/Audio/Text/WebRTC",
      "Gives an OpenAI Realtime agent's voice as live raw audio (48 kHz) and "
      "its events as signals and element messages; shares its call with "
      "openairealtimesink",
      "gst-openai-realtime maintainers");
  gst_element_class_add_static_metadata (element_class,
      GST_ELEMENT_METADATA_DOC_URI, PACKAGE_DOC_URI "#openairealtimesrc");
}
