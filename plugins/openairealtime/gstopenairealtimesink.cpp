/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gstopenairealtimesink.h"

#include "config.h"
#include "core/enums.h"
#include "media/input_pacing.h"
#include "media/silence.h"
#include "openai/conversation.h"
#include "screenshare.h"

#include <gst/app/gstappsink.h>

#include <atomic>

GST_DEBUG_CATEGORY (sink_debug);
#define GST_CAT_DEFAULT sink_debug

/* The C++ state of the element, created in init and destroyed in
 * finalize. */
struct SinkState {
  explicit SinkState (GstElement *element) : screen (element) {}

  std::atomic<bool> mute { false };
  std::atomic<guint64> muted { 0 }; /* buffers sent as silence */
  std::atomic<bool> forward_dtmf { false };
  std::atomic<bool> conversation_per_call { true };
  std::atomic<guint64> dtmf_forwarded { 0 };
  ScreenShare screen;               /* locks of its own */
  GstElement *audio_sink = nullptr; /* the audio pad's appsink (the bin's) */
  GstElement *video_sink = nullptr; /* under the object lock: the video
                                      * pad's appsink, while requested */
};

struct _GstOpenAIRealtimeSink {
  GstOpenAIRealtimeBase parent;
  SinkState *priv;
};

enum {
  PROP_0,
  PROP_AUDIO_DROPPED,
  PROP_AUDIO_SENT,
  PROP_MUTE,
  PROP_AUDIO_MUTED,
  PROP_IMAGE_INTERVAL,
  PROP_IMAGE_MAX_SIZE,
  PROP_IMAGE_DETAIL,
  PROP_IMAGE_CHANGE_THRESHOLD,
  PROP_SHARE_START_TEXT,
  PROP_SHARE_STOP_TEXT,
  PROP_IMAGES_SENT,
  PROP_IMAGES_UNCHANGED,
  PROP_IMAGES_SKIPPED,
  PROP_FORWARD_DTMF,
  PROP_CONVERSATION_PER_CALL,
};

static RT_DEFINE_ENUM (image_detail_get_type, "GstOpenAIRealtimeImageDetail",
    { (gint) rt::ImageDetail::Auto, "The service decides", "auto" },
    { (gint) rt::ImageDetail::Low, "Fewer tokens, less detail", "low" },
    { (gint) rt::ImageDetail::High, "More tokens, fine detail", "high" })

#define gst_openai_realtime_sink_parent_class parent_class
    G_DEFINE_TYPE_WITH_CODE (GstOpenAIRealtimeSink, gst_openai_realtime_sink,
        GST_TYPE_OPENAI_REALTIME_BASE,
        GST_DEBUG_CATEGORY_INIT (sink_debug, "openairealtimesink", 0,
            "The user's audio to a realtime agent"));
GST_ELEMENT_REGISTER_DEFINE (openairealtimesink, "openairealtimesink",
    GST_RANK_NONE, GST_TYPE_OPENAI_REALTIME_SINK);

static std::shared_ptr<rt::Call> call_of (GstOpenAIRealtimeSink *self)
{
  return gst_openai_realtime_base_get_call (GST_OPENAI_REALTIME_BASE (self));
}

static GstStaticPadTemplate audio_template = GST_STATIC_PAD_TEMPLATE ("audio",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS ("audio/x-raw"));

static GstStaticPadTemplate video_template = GST_STATIC_PAD_TEMPLATE ("video",
    GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS ("video/x-raw"));

static GstFlowReturn on_video_sample (GstAppSink *appsink, gpointer data)
{
  auto *self = GST_OPENAI_REALTIME_SINK (data);
  GstSample *sample = gst_app_sink_pull_sample (appsink);
  if (!sample)
    return GST_FLOW_EOS;
  self->priv->screen.frame (sample, call_of (self));
  gst_sample_unref (sample);
  return GST_FLOW_OK;
}

static void on_video_eos (GstAppSink *, gpointer data)
{
  auto *self = GST_OPENAI_REALTIME_SINK (data);
  self->priv->screen.stop (call_of (self));
}

/* Unlinking the video pad (without releasing it) also ends the share. */
static void on_video_unlinked (GstPad *, GstPad *, gpointer data)
{
  auto *self = GST_OPENAI_REALTIME_SINK (data);
  self->priv->screen.stop (call_of (self));
}

static GstPad *gst_openai_realtime_sink_request_new_pad (GstElement *element,
    GstPadTemplate *templ, const gchar *name, const GstCaps *caps)
{
  auto *self = GST_OPENAI_REALTIME_SINK (element);
  GST_OBJECT_LOCK (self);
  const bool taken = self->priv->video_sink != nullptr;
  GST_OBJECT_UNLOCK (self);
  if (taken) {
    GST_WARNING_OBJECT (self, "there is only one video pad");
    return nullptr;
  }
  /* Frames are taken at the pipeline's pace (sync), one at a time: only
   * the latest matters. */
  GstElement *appsink = gst_element_factory_make ("appsink", "user-video");
  g_object_set (appsink, "sync", TRUE, "max-buffers", 1, "drop", TRUE, "async",
      FALSE, nullptr);
  GstAppSinkCallbacks callbacks = {};
  callbacks.new_sample = on_video_sample;
  callbacks.eos = on_video_eos;
  gst_app_sink_set_callbacks (GST_APP_SINK (appsink), &callbacks, self,
      nullptr);
  gst_bin_add (GST_BIN (self), appsink);
  GstPad *target = gst_element_get_static_pad (appsink, "sink");
  GstPad *ghost = gst_ghost_pad_new_from_template ("video", target, templ);
  gst_object_unref (target);
  GST_OBJECT_LOCK (self);
  /* A reference of our own: disposing the bin drops its children before
   * the request pads are released. */
  self->priv->video_sink = GST_ELEMENT (gst_object_ref (appsink));
  GST_OBJECT_UNLOCK (self);
  g_signal_connect (ghost, "unlinked", G_CALLBACK (on_video_unlinked), self);
  gst_pad_set_active (ghost, TRUE);
  gst_element_add_pad (element, ghost);
  gst_element_sync_state_with_parent (appsink);
  return ghost;
}

static void gst_openai_realtime_sink_release_pad (GstElement *element,
    GstPad *pad)
{
  auto *self = GST_OPENAI_REALTIME_SINK (element);
  GST_OBJECT_LOCK (self);
  GstElement *appsink = self->priv->video_sink;
  self->priv->video_sink = nullptr;
  GST_OBJECT_UNLOCK (self);
  gst_pad_set_active (pad, FALSE);
  gst_element_remove_pad (element, pad);
  if (appsink) {
    gst_element_set_state (appsink, GST_STATE_NULL);
    if (GST_OBJECT_PARENT (appsink) == GST_OBJECT (self))
      gst_bin_remove (GST_BIN (self), appsink);
    gst_object_unref (appsink);
  }
  self->priv->screen.stop (call_of (self));
}

static GstFlowReturn on_user_sample (GstAppSink *appsink, gpointer data)
{
  auto *self = GST_OPENAI_REALTIME_SINK (data);
  GstSample *sample = gst_app_sink_pull_sample (appsink);
  if (!sample)
    return GST_FLOW_EOS;
  if (auto call = call_of (self)) {
    GstBuffer *buffer = gst_sample_get_buffer (sample);
    if (self->priv->mute.load ()) {
      /* Silence of the same length rather than nothing: the service keeps
       * its clock and its turn detection sees the user stop. */
      GstBuffer *silence = rt::silence_like (buffer);
      call->push_audio (silence);
      gst_buffer_unref (silence);
      self->priv->muted++;
    } else {
      call->push_audio (buffer);
    }
  }
  gst_sample_unref (sample);
  return GST_FLOW_OK;
}

/* With the latency probes: the user's audio is stamped as it arrives. */
static GstPadProbeReturn on_audio_arrives (GstPad *, GstPadProbeInfo *info,
    gpointer)
{
  GST_PAD_PROBE_INFO_DATA (info) = rt::LatencyProbes::stamp (
      GST_PAD_PROBE_INFO_BUFFER (info), rt::LatencyProbes::now ());
  return GST_PAD_PROBE_OK;
}

/* A phone call upstream ended (sipphone's sipphone-call event): the next
 * caller starts a conversation of their own. */
static void on_call_event (GstOpenAIRealtimeSink *self, const GstStructure *s)
{
  const char *state = gst_structure_get_string (s, "state");
  if (!self->priv->conversation_per_call.load () || !state ||
      !g_str_equal (state, "ended"))
    return;
  if (auto call = call_of (self)) {
    GST_INFO_OBJECT (self, "the phone call ended: a new conversation");
    call->new_conversation ();
  }
}

/* A key the caller pressed (GStreamer's dtmf-event, as sipphone sends it
 * downstream) becomes a message to the agent, which answers it. */
static GstPadProbeReturn on_audio_event (GstPad *, GstPadProbeInfo *info,
    gpointer data)
{
  auto *self = GST_OPENAI_REALTIME_SINK (data);
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  const GstStructure *s = gst_event_get_structure (event);
  gint number = -1;
  gboolean start = TRUE;
  if (GST_EVENT_TYPE (event) == GST_EVENT_CUSTOM_DOWNSTREAM && s &&
      gst_structure_has_name (s, "sipphone-call")) {
    on_call_event (self, s);
    return GST_PAD_PROBE_OK;
  }
  if (GST_EVENT_TYPE (event) != GST_EVENT_CUSTOM_DOWNSTREAM || !s ||
      !gst_structure_has_name (s, "dtmf-event") ||
      !self->priv->forward_dtmf.load () ||
      !gst_structure_get_int (s, "number", &number) || number < 0 ||
      number > 15)
    return GST_PAD_PROBE_OK;
  /* Only the start of a tone says that a key went down. */
  if (gst_structure_get_boolean (s, "start", &start) && !start)
    return GST_PAD_PROBE_OK;
  static const char keys[] = "0123456789*#ABCD";
  auto call = call_of (self);
  const std::string text = std::string ("The caller pressed ") + keys[number] +
      " on the keypad.";
  std::string error;
  if (call &&
      call->send_event (rt::build_text_message ("user", text), &error) &&
      call->send_event (rt::build_simple_event ("response.create"), &error)) {
    self->priv->dtmf_forwarded++;
    GST_INFO_OBJECT (self, "key %c told to the agent", keys[number]);
  } else {
    GST_WARNING_OBJECT (self, "key %c not told to the agent: %s", keys[number],
        call ? error.c_str () : "not in a call");
  }
  return GST_PAD_PROBE_OK;
}

static void gst_openai_realtime_sink_get_property (GObject *object,
    guint prop_id, GValue *value, GParamSpec *pspec)
{
  auto *self = GST_OPENAI_REALTIME_SINK (object);
  SinkState *priv = self->priv;
  auto call = call_of (self);
  rt::CallStats stats = call ? call->stats () : rt::CallStats ();
  switch (prop_id) {
    case PROP_AUDIO_DROPPED:
      g_value_set_uint64 (value, stats.audio_in_dropped);
      break;
    case PROP_AUDIO_SENT:
      g_value_set_uint64 (value, stats.audio_in_sent);
      break;
    case PROP_MUTE:
      g_value_set_boolean (value, self->priv->mute.load ());
      break;
    case PROP_IMAGE_INTERVAL:
      g_value_set_uint (value, priv->screen.settings ().interval_ms);
      break;
    case PROP_IMAGE_MAX_SIZE:
      g_value_set_uint (value, priv->screen.settings ().max_size);
      break;
    case PROP_IMAGE_DETAIL:
      g_value_set_enum (value, (gint) priv->screen.settings ().detail);
      break;
    case PROP_IMAGE_CHANGE_THRESHOLD:
      g_value_set_double (value, priv->screen.settings ().threshold);
      break;
    case PROP_SHARE_START_TEXT:
      g_value_set_string (value, priv->screen.settings ().start_text.c_str ());
      break;
    case PROP_SHARE_STOP_TEXT:
      g_value_set_string (value, priv->screen.settings ().stop_text.c_str ());
      break;
    case PROP_IMAGES_SENT:
      g_value_set_uint64 (value, priv->screen.counters ().sent);
      break;
    case PROP_IMAGES_UNCHANGED:
      g_value_set_uint64 (value, priv->screen.counters ().unchanged);
      break;
    case PROP_IMAGES_SKIPPED:
      g_value_set_uint64 (value, priv->screen.counters ().skipped);
      break;
    case PROP_AUDIO_MUTED:
      g_value_set_uint64 (value, priv->muted.load ());
      break;
    case PROP_FORWARD_DTMF:
      g_value_set_boolean (value, priv->forward_dtmf.load ());
      break;
    case PROP_CONVERSATION_PER_CALL:
      g_value_set_boolean (value, priv->conversation_per_call.load ());
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void gst_openai_realtime_sink_set_property (GObject *object,
    guint prop_id, const GValue *value, GParamSpec *pspec)
{
  auto *self = GST_OPENAI_REALTIME_SINK (object);
  const char *str = G_VALUE_HOLDS_STRING (value) ? g_value_get_string (value) :
                                                   nullptr;
  switch (prop_id) {
    case PROP_MUTE:
      self->priv->mute.store (g_value_get_boolean (value));
      GST_INFO_OBJECT (self, "%s",
          self->priv->mute.load () ? "muted" : "unmuted");
      break;
    case PROP_FORWARD_DTMF:
      self->priv->forward_dtmf.store (g_value_get_boolean (value));
      break;
    case PROP_CONVERSATION_PER_CALL:
      self->priv->conversation_per_call.store (g_value_get_boolean (value));
      break;
    case PROP_IMAGE_INTERVAL:
    case PROP_IMAGE_MAX_SIZE:
    case PROP_IMAGE_DETAIL:
    case PROP_IMAGE_CHANGE_THRESHOLD:
    case PROP_SHARE_START_TEXT:
    case PROP_SHARE_STOP_TEXT:
      self->priv->screen.configure ([&] (ScreenShare::Settings &s) {
        switch (prop_id) {
          case PROP_IMAGE_INTERVAL:
            s.interval_ms = g_value_get_uint (value);
            break;
          case PROP_IMAGE_MAX_SIZE:
            s.max_size = g_value_get_uint (value);
            break;
          case PROP_IMAGE_DETAIL:
            s.detail = (rt::ImageDetail) g_value_get_enum (value);
            break;
          case PROP_IMAGE_CHANGE_THRESHOLD:
            s.threshold = g_value_get_double (value);
            break;
          case PROP_SHARE_START_TEXT: s.start_text = str ? str : ""; break;
          case PROP_SHARE_STOP_TEXT: s.stop_text = str ? str : ""; break;
        }
      });
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void gst_openai_realtime_sink_finalize (GObject *object)
{
  auto *self = GST_OPENAI_REALTIME_SINK (object);
  delete self->priv;
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void gst_openai_realtime_sink_init (GstOpenAIRealtimeSink *self)
{
  self->priv = new SinkState (GST_ELEMENT (self));

  /* Conversion happens here, in the user's streaming thread; the call only
   * encodes. The appsink syncs so that a file, or a live source that runs
   * ahead, goes out at real time; at the buffer's running time, not that
   * plus the pipeline's latency (send_event). */
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
  gst_app_sink_set_callbacks (GST_APP_SINK (appsink), &callbacks, self,
      nullptr);
  gst_bin_add_many (GST_BIN (self), convert, resample, capsfilter, appsink,
      nullptr);
  gst_element_link_many (convert, resample, capsfilter, appsink, nullptr);
  self->priv->audio_sink = appsink;

  GstPad *target = gst_element_get_static_pad (convert, "sink");
  GstPad *ghost = gst_ghost_pad_new_from_template ("audio", target,
      gst_element_class_get_pad_template (GST_ELEMENT_GET_CLASS (self),
          "audio"));
  gst_object_unref (target);
  gst_pad_add_probe (ghost, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_audio_event,
      self, nullptr);
  if (rt::LatencyProbes::enabled ())
    gst_pad_add_probe (ghost, GST_PAD_PROBE_TYPE_BUFFER, on_audio_arrives,
        nullptr, nullptr);
  gst_element_add_pad (GST_ELEMENT (self), ghost);
}

static void gst_openai_realtime_sink_add_stats (GstOpenAIRealtimeBase *base,
    GstStructure *s)
{
  SinkState *priv = GST_OPENAI_REALTIME_SINK (base)->priv;
  ScreenShare::Counters c = priv->screen.counters ();
  gst_structure_set (s, "images-sent", G_TYPE_UINT64, c.sent,
      "images-unchanged", G_TYPE_UINT64, c.unchanged, "images-skipped",
      G_TYPE_UINT64, c.skipped, "image-bytes", G_TYPE_UINT64, c.bytes,
      "screen-share-ms", G_TYPE_UINT64, c.share_ms, "audio-muted",
      G_TYPE_UINT64, priv->muted.load (), "dtmf-forwarded", G_TYPE_UINT64,
      priv->dtmf_forwarded.load (), nullptr);
}

/* Audio going out to the agent need not wait for the pipeline's latency. */
static gboolean gst_openai_realtime_sink_send_event (GstElement *element,
    GstEvent *event)
{
  rt::pace_input_at_running_time (
      GST_OPENAI_REALTIME_SINK (element)->priv->audio_sink, event);
  return GST_ELEMENT_CLASS (parent_class)->send_event (element, event);
}

static void gst_openai_realtime_sink_class_init (
    GstOpenAIRealtimeSinkClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  gobject_class->get_property = gst_openai_realtime_sink_get_property;
  gobject_class->set_property = gst_openai_realtime_sink_set_property;
  gobject_class->finalize = gst_openai_realtime_sink_finalize;
  element_class->request_new_pad = gst_openai_realtime_sink_request_new_pad;
  element_class->release_pad = gst_openai_realtime_sink_release_pad;
  element_class->send_event = gst_openai_realtime_sink_send_event;
  GST_OPENAI_REALTIME_BASE_CLASS (klass)->add_stats =
      gst_openai_realtime_sink_add_stats;

  const auto ro = (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_property (gobject_class, PROP_FORWARD_DTMF,
      g_param_spec_boolean ("forward-dtmf", "Forward DTMF",
          "Tell the agent of each key the caller presses: a dtmf-event "
          "arriving with the audio (as sipphone sends them) becomes the user "
          "message \"The caller pressed 5 on the keypad.\", and the agent "
          "answers it",
          FALSE,
          (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property (gobject_class, PROP_CONVERSATION_PER_CALL,
      g_param_spec_boolean ("conversation-per-call", "Conversation per call",
          "Give each phone call upstream a conversation of its own: when a "
          "call ends (the sipphone-call event sipphone sends with its audio), "
          "the agent stops and its conversation is emptied on the same "
          "connection (the new-conversation action), so the next caller "
          "meets an agent that knows nothing of the last one. Off: one "
          "conversation runs through all calls",
          TRUE,
          (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property (gobject_class, PROP_AUDIO_DROPPED,
      g_param_spec_uint64 ("audio-dropped", "Audio dropped",
          "Buffers of user audio dropped because the call was not up (sending "
          "a backlog later would delay everything after it)",
          0, G_MAXUINT64, 0, ro));
  g_object_class_install_property (gobject_class, PROP_AUDIO_SENT,
      g_param_spec_uint64 ("audio-sent", "Audio sent",
          "Buffers of user audio handed to the call", 0, G_MAXUINT64, 0, ro));
  g_object_class_install_property (gobject_class, PROP_MUTE,
      g_param_spec_boolean ("mute", "Mute",
          "Send silence instead of the user's audio: nothing the user says "
          "leaves while muted",
          FALSE,
          (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property (gobject_class, PROP_AUDIO_MUTED,
      g_param_spec_uint64 ("audio-muted", "Audio muted",
          "Buffers of user audio sent as silence because of mute", 0,
          G_MAXUINT64, 0, ro));
  const auto live = (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_PLAYING);
  g_object_class_install_property (gobject_class, PROP_IMAGE_INTERVAL,
      g_param_spec_uint ("image-interval", "Image interval",
          "Milliseconds between frames of the video pad offered to the agent "
          "(a frame is sent only when it differs enough from the last one "
          "sent); 0: every frame",
          0, 3600000, 2000, live));
  g_object_class_install_property (gobject_class, PROP_IMAGE_MAX_SIZE,
      g_param_spec_uint ("image-max-size", "Image maximum size",
          "Longest side of the images sent, in pixels (frames are scaled down "
          "to it, never up; further down if the image must shrink to fit the "
          "events channel)",
          64, 8192, 1024, live));
  g_object_class_install_property (gobject_class, PROP_IMAGE_DETAIL,
      g_param_spec_enum ("image-detail", "Image detail",
          "How closely the model looks at each image (and what it costs)",
          image_detail_get_type (), (gint) rt::ImageDetail::Auto, live));
  g_object_class_install_property (gobject_class, PROP_IMAGE_CHANGE_THRESHOLD,
      g_param_spec_double ("image-change-threshold", "Image change threshold",
          "Share of the picture (0..1, measured in cells of a 128-cell-wide "
          "thumbnail) that must have changed since the last image sent for a "
          "frame to be sent, so an unchanged screen costs no tokens; 0: send "
          "every offered frame",
          0, 1, 0.005, live));
  g_object_class_install_property (gobject_class, PROP_SHARE_START_TEXT,
      g_param_spec_string ("share-start-text", "Share start text",
          "What the agent is told (a system message) when frames start "
          "coming on the video pad; empty: nothing",
          "The user started sharing their screen with you; you will see it "
          "as images.",
          live));
  g_object_class_install_property (gobject_class, PROP_SHARE_STOP_TEXT,
      g_param_spec_string ("share-stop-text", "Share stop text",
          "What the agent is told when the video pad ends (EOS, released); "
          "empty: nothing",
          "The user stopped sharing their screen.", live));
  g_object_class_install_property (gobject_class, PROP_IMAGES_SENT,
      g_param_spec_uint64 ("images-sent", "Images sent",
          "Frames sent to the agent as images", 0, G_MAXUINT64, 0, ro));
  g_object_class_install_property (gobject_class, PROP_IMAGES_UNCHANGED,
      g_param_spec_uint64 ("images-unchanged", "Images unchanged",
          "Frames offered but not sent because they looked like the last "
          "image sent",
          0, G_MAXUINT64, 0, ro));
  g_object_class_install_property (gobject_class, PROP_IMAGES_SKIPPED,
      g_param_spec_uint64 ("images-skipped", "Images skipped",
          "Frames that should have been sent but were not (unreadable, no "
          "size that fits the channel, channel closed)",
          0, G_MAXUINT64, 0, ro));

  gst_element_class_add_static_pad_template (element_class, &audio_template);
  gst_element_class_add_static_pad_template (element_class, &video_template);
  rt_mark_enums_as_plugin_api (gobject_class);
  gst_element_class_set_static_metadata (element_class, "OpenAI Realtime sink",
      "Sink/Network/Audio/Video/WebRTC",
      "Sends the user's audio to an OpenAI Realtime agent over WebRTC "
      "(converted, resampled and Opus-encoded); shares its call with "
      "openairealtimesrc",
      "gst-openai-realtime maintainers");
  gst_element_class_add_static_metadata (element_class,
      GST_ELEMENT_METADATA_DOC_URI, PACKAGE_DOC_URI "#openairealtimesink");
}
