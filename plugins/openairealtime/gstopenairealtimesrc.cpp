#include "gstopenairealtimesrc.h"

#include "agentaudiosrc.h"
#include "realtimelink.h"

#include <memory>

GST_DEBUG_CATEGORY_STATIC (src_debug);
#define GST_CAT_DEFAULT src_debug

struct _GstOpenAIRealtimeSrc {
  GstBin parent;
  RealtimeLink *link;
  GstAgentAudioSrc *audio;
};

enum {
  PROP_0,
  PROP_EVENTS_RECEIVED,
  PROP_EVENTS_MALFORMED,
  PROP_EVENTS_UNKNOWN,
  PROP_EVENTS_REASSEMBLED,
  PROP_EVENTS_OVERSIZED,
  PROP_SILENCE_INSERTED
};

#define gst_openai_realtime_src_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstOpenAIRealtimeSrc, gst_openai_realtime_src,
    GST_TYPE_BIN,
    GST_DEBUG_CATEGORY_INIT (src_debug, "openairealtimesrc", 0,
        "A realtime agent's voice"));
GST_ELEMENT_REGISTER_DEFINE (openairealtimesrc, "openairealtimesrc",
    GST_RANK_NONE, GST_TYPE_OPENAI_REALTIME_SRC);

static GstStaticPadTemplate audio_template = GST_STATIC_PAD_TEMPLATE ("audio",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("audio/x-raw, format=S16LE, rate=48000, channels=1, "
        "layout=interleaved"));

static void gst_openai_realtime_src_get_property (GObject *object, guint prop_id,
    GValue *value, GParamSpec *pspec)
{
  auto *self = GST_OPENAI_REALTIME_SRC (object);
  auto call = self->link->call ();
  rt::CallStats stats = call ? call->stats () : rt::CallStats ();
  guint64 silent = 0;
  switch (prop_id) {
    case PROP_EVENTS_RECEIVED: g_value_set_uint64 (value, stats.events_in); break;
    case PROP_EVENTS_MALFORMED:
      g_value_set_uint64 (value, stats.events_malformed);
      break;
    case PROP_EVENTS_UNKNOWN: g_value_set_uint64 (value, stats.events_unknown); break;
    case PROP_EVENTS_REASSEMBLED:
      g_value_set_uint64 (value, stats.events_reassembled);
      break;
    case PROP_EVENTS_OVERSIZED:
      g_value_set_uint64 (value, stats.events_oversized);
      break;
    case PROP_SILENCE_INSERTED:
      gst_agent_audio_src_get_counters (self->audio, nullptr, &silent);
      g_value_set_uint64 (value, silent);
      break;
    default:
      if (!self->link->get_property (prop_id, value))
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void gst_openai_realtime_src_finalize (GObject *object)
{
  delete GST_OPENAI_REALTIME_SRC (object)->link;
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void gst_openai_realtime_src_init (GstOpenAIRealtimeSrc *self)
{
  self->link = new RealtimeLink (GST_ELEMENT (self), true);
  self->audio = GST_AGENT_AUDIO_SRC (g_object_new (GST_TYPE_AGENT_AUDIO_SRC,
          "name", "agent-audio", nullptr));
  /* A reference of its own: a call shared with a sink may deliver audio
   * after this element is gone. */
  std::shared_ptr<GstAgentAudioSrc> audio (
      GST_AGENT_AUDIO_SRC (gst_object_ref (self->audio)), gst_object_unref);
  self->link->on_audio = [audio] (GstBuffer *buffer) {
    gst_agent_audio_src_push (audio.get (), buffer);
  };
  gst_bin_add (GST_BIN (self), GST_ELEMENT (self->audio));
  GstPad *target = gst_element_get_static_pad (GST_ELEMENT (self->audio), "src");
  GstPad *ghost = gst_ghost_pad_new_from_template ("audio", target,
      gst_element_class_get_pad_template (GST_ELEMENT_GET_CLASS (self), "audio"));
  gst_object_unref (target);
  gst_element_add_pad (GST_ELEMENT (self), ghost);
}

static void gst_openai_realtime_src_class_init (GstOpenAIRealtimeSrcClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  gobject_class->get_property = gst_openai_realtime_src_get_property;
  gobject_class->finalize = gst_openai_realtime_src_finalize;

  const auto ro = (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_property (gobject_class, PROP_EVENTS_RECEIVED,
      g_param_spec_uint64 ("events-received", "Events received",
          "Server events received on the data channel", 0, G_MAXUINT64, 0, ro));
  g_object_class_install_property (gobject_class, PROP_EVENTS_MALFORMED,
      g_param_spec_uint64 ("events-malformed", "Malformed events",
          "Server messages that were not JSON events, or were cut short "
          "(ignored)", 0, G_MAXUINT64, 0, ro));
  g_object_class_install_property (gobject_class, PROP_EVENTS_UNKNOWN,
      g_param_spec_uint64 ("events-unknown", "Unknown events",
          "Server events of a type this version does not know (still passed "
          "on: the service adds types over time)", 0, G_MAXUINT64, 0, ro));
  g_object_class_install_property (gobject_class, PROP_EVENTS_REASSEMBLED,
      g_param_spec_uint64 ("events-reassembled", "Reassembled events",
          "Server events that arrived split in pieces by the transport and "
          "were put back together", 0, G_MAXUINT64, 0, ro));
  g_object_class_install_property (gobject_class, PROP_EVENTS_OVERSIZED,
      g_param_spec_uint64 ("events-oversized", "Oversized events",
          "Server messages dropped for being larger than any event may be "
          "(1 MiB)", 0, G_MAXUINT64, 0, ro));
  g_object_class_install_property (gobject_class, PROP_SILENCE_INSERTED,
      g_param_spec_uint64 ("silence-inserted", "Silence inserted",
          "Samples of silence played out because no agent audio was there", 0,
          G_MAXUINT64, 0, ro));
  RealtimeLink::install (element_class);

  gst_element_class_add_static_pad_template (element_class, &audio_template);
  gst_element_class_set_static_metadata (element_class,
      "OpenAI Realtime source", "Source/Audio/Network/WebRTC",
      "Gives an OpenAI Realtime agent's voice as live raw audio (48 kHz) and "
      "its events as signals and element messages; shares its call with "
      "openairealtimesink", "gst-openai-realtime maintainers");
}
