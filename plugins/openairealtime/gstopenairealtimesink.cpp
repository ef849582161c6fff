#include "gstopenairealtimesink.h"

#include "realtimelink.h"

#include <gst/app/gstappsink.h>

#include <atomic>

GST_DEBUG_CATEGORY_STATIC (sink_debug);
#define GST_CAT_DEFAULT sink_debug

struct _GstOpenAIRealtimeSink {
  GstBin parent;
  RealtimeLink *link;
  std::atomic<bool> *mute;
  std::atomic<guint64> *muted;  /* buffers sent as silence */
};

enum { PROP_0, PROP_AUDIO_DROPPED, PROP_AUDIO_SENT, PROP_MUTE, PROP_AUDIO_MUTED };

#define gst_openai_realtime_sink_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstOpenAIRealtimeSink, gst_openai_realtime_sink,
    GST_TYPE_BIN,
    GST_DEBUG_CATEGORY_INIT (sink_debug, "openairealtimesink", 0,
        "The user's audio to a realtime agent"));
GST_ELEMENT_REGISTER_DEFINE (openairealtimesink, "openairealtimesink",
    GST_RANK_NONE, GST_TYPE_OPENAI_REALTIME_SINK);

static GstStaticPadTemplate audio_template = GST_STATIC_PAD_TEMPLATE ("audio",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS ("audio/x-raw"));

static GstFlowReturn on_user_sample (GstAppSink *appsink, gpointer data)
{
  auto *self = GST_OPENAI_REALTIME_SINK (data);
  GstSample *sample = gst_app_sink_pull_sample (appsink);
  if (!sample)
    return GST_FLOW_EOS;
  if (auto call = self->link->call ()) {
    GstBuffer *buffer = gst_sample_get_buffer (sample);
    if (self->mute->load ()) {
      /* Silence of the same length rather than nothing: the service keeps
       * its clock and its turn detection sees the user stop. */
      GstBuffer *silence = gst_buffer_new_allocate (nullptr,
          gst_buffer_get_size (buffer), nullptr);
      gst_buffer_memset (silence, 0, 0, gst_buffer_get_size (buffer));
      gst_buffer_copy_into (silence, buffer, GST_BUFFER_COPY_METADATA, 0, -1);
      call->push_audio (silence);
      gst_buffer_unref (silence);
      (*self->muted)++;
    } else {
      call->push_audio (buffer);
    }
  }
  gst_sample_unref (sample);
  return GST_FLOW_OK;
}

static void gst_openai_realtime_sink_get_property (GObject *object, guint prop_id,
    GValue *value, GParamSpec *pspec)
{
  auto *self = GST_OPENAI_REALTIME_SINK (object);
  auto call = self->link->call ();
  rt::CallStats stats = call ? call->stats () : rt::CallStats ();
  switch (prop_id) {
    case PROP_AUDIO_DROPPED: g_value_set_uint64 (value, stats.audio_in_dropped); break;
    case PROP_AUDIO_SENT: g_value_set_uint64 (value, stats.audio_in_sent); break;
    case PROP_MUTE: g_value_set_boolean (value, self->mute->load ()); break;
    case PROP_AUDIO_MUTED: g_value_set_uint64 (value, self->muted->load ()); break;
    default:
      if (!self->link->get_property (prop_id, value))
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void gst_openai_realtime_sink_set_property (GObject *object, guint prop_id,
    const GValue *value, GParamSpec *pspec)
{
  auto *self = GST_OPENAI_REALTIME_SINK (object);
  if (prop_id == PROP_MUTE) {
    self->mute->store (g_value_get_boolean (value));
    GST_INFO_OBJECT (self, "%s", self->mute->load () ? "muted" : "unmuted");
  } else {
    RealtimeLink::set_property_any (object, prop_id, value, pspec);
  }
}

static void gst_openai_realtime_sink_finalize (GObject *object)
{
  auto *self = GST_OPENAI_REALTIME_SINK (object);
  delete self->link;
  delete self->mute;
  delete self->muted;
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void gst_openai_realtime_sink_init (GstOpenAIRealtimeSink *self)
{
  self->link = new RealtimeLink (GST_ELEMENT (self), false);
  self->mute = new std::atomic<bool> (false);
  self->muted = new std::atomic<guint64> (0);

  /* Conversion happens here, in the user's streaming thread; the call only
   * encodes. sync=true paces file sources at real time, as a live call needs. */
  GstElement *convert = gst_element_factory_make ("audioconvert", nullptr);
  GstElement *resample = gst_element_factory_make ("audioresample", nullptr);
  GstElement *capsfilter = gst_element_factory_make ("capsfilter", nullptr);
  GstElement *appsink = gst_element_factory_make ("appsink", "user-audio");
  GstCaps *caps = gst_caps_from_string (
      "audio/x-raw,format=S16LE,rate=48000,channels=1,layout=interleaved");
  g_object_set (capsfilter, "caps", caps, nullptr);
  gst_caps_unref (caps);
  g_object_set (appsink, "sync", TRUE, "max-buffers", 5, "drop", TRUE, nullptr);
  GstAppSinkCallbacks callbacks = {};
  callbacks.new_sample = on_user_sample;
  gst_app_sink_set_callbacks (GST_APP_SINK (appsink), &callbacks, self, nullptr);
  gst_bin_add_many (GST_BIN (self), convert, resample, capsfilter, appsink, nullptr);
  gst_element_link_many (convert, resample, capsfilter, appsink, nullptr);

  GstPad *target = gst_element_get_static_pad (convert, "sink");
  GstPad *ghost = gst_ghost_pad_new_from_template ("audio", target,
      gst_element_class_get_pad_template (GST_ELEMENT_GET_CLASS (self), "audio"));
  gst_object_unref (target);
  gst_element_add_pad (GST_ELEMENT (self), ghost);
}

static void gst_openai_realtime_sink_class_init (GstOpenAIRealtimeSinkClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  gobject_class->get_property = gst_openai_realtime_sink_get_property;
  gobject_class->set_property = gst_openai_realtime_sink_set_property;
  gobject_class->finalize = gst_openai_realtime_sink_finalize;

  const auto ro = (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_property (gobject_class, PROP_AUDIO_DROPPED,
      g_param_spec_uint64 ("audio-dropped", "Audio dropped",
          "Buffers of user audio dropped because the call was not up (sending "
          "a backlog later would delay everything after it)", 0, G_MAXUINT64,
          0, ro));
  g_object_class_install_property (gobject_class, PROP_AUDIO_SENT,
      g_param_spec_uint64 ("audio-sent", "Audio sent",
          "Buffers of user audio handed to the call", 0, G_MAXUINT64, 0, ro));
  g_object_class_install_property (gobject_class, PROP_MUTE,
      g_param_spec_boolean ("mute", "Mute",
          "Send silence instead of the user's audio: nothing the user says "
          "leaves while muted", FALSE, (GParamFlags) (G_PARAM_READWRITE |
              G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property (gobject_class, PROP_AUDIO_MUTED,
      g_param_spec_uint64 ("audio-muted", "Audio muted",
          "Buffers of user audio sent as silence because of mute", 0,
          G_MAXUINT64, 0, ro));
  RealtimeLink::install (element_class);
  /* install() took set_property for the shared ones: the element's own
   * handler forwards those. */
  gobject_class->set_property = gst_openai_realtime_sink_set_property;

  gst_element_class_add_static_pad_template (element_class, &audio_template);
  gst_element_class_set_static_metadata (element_class,
      "OpenAI Realtime sink", "Sink/Audio/Network/WebRTC",
      "Sends the user's audio to an OpenAI Realtime agent over WebRTC "
      "(converted, resampled and Opus-encoded); shares its call with "
      "openairealtimesrc", "gst-openai-realtime maintainers");
}
