#include "agentaudiosrc.h"

#include <gst/audio/audio.h>
#include <gst/base/gstadapter.h>

GST_DEBUG_CATEGORY_STATIC (agent_audio_debug);
#define GST_CAT_DEFAULT agent_audio_debug

namespace {
constexpr int kRate = 48000;
constexpr int kBytesPerSample = 2;
constexpr int kBlockSamples = kRate / 100;            /* 10 ms */
constexpr gsize kBlockBytes = kBlockSamples * kBytesPerSample;
/* After running dry, wait for one Opus frame (20 ms) before playing again,
 * or every packet would be split by a gap. */
constexpr gsize kResumeBytes = 2 * kBlockBytes;
/* More than this queued means a burst or clock drift: drop the oldest. */
constexpr gsize kMaxQueuedBytes = kRate * kBytesPerSample / 5;  /* 200 ms */
}  // namespace

struct _GstAgentAudioSrc {
  GstPushSrc parent;

  GMutex lock;
  GstAdapter *queue;        /* under lock */
  gboolean playing_out;     /* under lock: FALSE after running dry */
  guint64 dropped_samples;  /* under lock */
  guint64 silent_samples;   /* under lock */

  /* Streaming thread only. */
  GstClockTime start_time;  /* running time of sample 0 */
  guint64 samples_out;
  GstClockID wait_id;       /* under the object lock, for unlock() */
  gboolean flushing;        /* under the object lock */
};

G_DEFINE_TYPE_WITH_CODE (GstAgentAudioSrc, gst_agent_audio_src, GST_TYPE_PUSH_SRC,
    GST_DEBUG_CATEGORY_INIT (agent_audio_debug, "agentaudiosrc", 0,
        "The agent's audio, played out live"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("audio/x-raw, format=S16LE, rate=48000, channels=1, "
        "layout=interleaved"));

void gst_agent_audio_src_push (GstAgentAudioSrc *self, GstBuffer *buffer)
{
  g_mutex_lock (&self->lock);
  gst_adapter_push (self->queue, gst_buffer_ref (buffer));
  gsize queued = gst_adapter_available (self->queue);
  if (queued > kMaxQueuedBytes) {
    gsize excess = queued - kMaxQueuedBytes;
    excess -= excess % kBytesPerSample;
    gst_adapter_flush (self->queue, excess);
    self->dropped_samples += excess / kBytesPerSample;
  }
  g_mutex_unlock (&self->lock);
}

guint64 gst_agent_audio_src_flush (GstAgentAudioSrc *self)
{
  g_mutex_lock (&self->lock);
  gsize queued = gst_adapter_available (self->queue);
  gst_adapter_clear (self->queue);
  self->playing_out = FALSE;
  g_mutex_unlock (&self->lock);
  return queued / kBytesPerSample;
}

void gst_agent_audio_src_get_counters (GstAgentAudioSrc *self,
    guint64 *dropped_samples, guint64 *silent_samples)
{
  g_mutex_lock (&self->lock);
  if (dropped_samples)
    *dropped_samples = self->dropped_samples;
  if (silent_samples)
    *silent_samples = self->silent_samples;
  g_mutex_unlock (&self->lock);
}

/* Fills out with the next block: queued audio, then silence. */
static void take_block (GstAgentAudioSrc *self, guint8 *out)
{
  g_mutex_lock (&self->lock);
  gsize queued = gst_adapter_available (self->queue);
  if (!self->playing_out && queued >= kResumeBytes)
    self->playing_out = TRUE;
  gsize take = self->playing_out ? MIN (queued, kBlockBytes) : 0;
  take -= take % kBytesPerSample;
  if (take > 0)
    gst_adapter_copy (self->queue, out, 0, take);
  gst_adapter_flush (self->queue, take);
  if (take < kBlockBytes) {
    memset (out + take, 0, kBlockBytes - take);
    self->silent_samples += (kBlockBytes - take) / kBytesPerSample;
    self->playing_out = FALSE;
  }
  g_mutex_unlock (&self->lock);
}

static GstFlowReturn gst_agent_audio_src_create (GstPushSrc *psrc, GstBuffer **out)
{
  auto *self = GST_AGENT_AUDIO_SRC (psrc);
  GstClock *clock = gst_element_get_clock (GST_ELEMENT (self));
  if (!clock) {
    GST_ELEMENT_ERROR (self, CORE, CLOCK, ("No clock to play the agent's audio by"),
        ("a live source needs the pipeline clock"));
    return GST_FLOW_ERROR;
  }
  GstClockTime base = gst_element_get_base_time (GST_ELEMENT (self));
  if (!GST_CLOCK_TIME_IS_VALID (self->start_time)) {
    GstClockTime now = gst_clock_get_time (clock);
    self->start_time = now > base ? now - base : 0;
    self->samples_out = 0;
  }
  GstClockTime ts = self->start_time +
      gst_util_uint64_scale_int (self->samples_out, GST_SECOND, kRate);
  GstClockTime end = self->start_time +
      gst_util_uint64_scale_int (self->samples_out + kBlockSamples, GST_SECOND,
      kRate);

  /* A live source hands out a block once it has been "captured": at its
   * end time on the pipeline clock. */
  GST_OBJECT_LOCK (self);
  if (self->flushing) {
    GST_OBJECT_UNLOCK (self);
    gst_object_unref (clock);
    return GST_FLOW_FLUSHING;
  }
  self->wait_id = gst_clock_new_single_shot_id (clock, base + end);
  GST_OBJECT_UNLOCK (self);
  GstClockReturn ret = gst_clock_id_wait (self->wait_id, nullptr);
  GST_OBJECT_LOCK (self);
  gst_clock_id_unref (self->wait_id);
  self->wait_id = nullptr;
  GST_OBJECT_UNLOCK (self);
  gst_object_unref (clock);
  if (ret == GST_CLOCK_UNSCHEDULED)
    return GST_FLOW_FLUSHING;

  GstBuffer *buf = gst_buffer_new_allocate (nullptr, kBlockBytes, nullptr);
  GstMapInfo map;
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  take_block (self, map.data);
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = ts;
  GST_BUFFER_DURATION (buf) = end - ts;
  GST_BUFFER_OFFSET (buf) = self->samples_out;
  GST_BUFFER_OFFSET_END (buf) = self->samples_out + kBlockSamples;
  if (self->samples_out == 0)
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
  self->samples_out += kBlockSamples;
  *out = buf;
  return GST_FLOW_OK;
}

static gboolean gst_agent_audio_src_query (GstBaseSrc *bsrc, GstQuery *query)
{
  if (GST_QUERY_TYPE (query) == GST_QUERY_LATENCY) {
    /* A block is late by its own length when it is handed out; up to the
     * queue's bound can wait here (a sink downstream that needs more than
     * one block of latency must not be told we cannot hold it). */
    GstClockTime block = gst_util_uint64_scale_int (kBlockSamples, GST_SECOND, kRate);
    GstClockTime most = gst_util_uint64_scale_int (kMaxQueuedBytes / kBytesPerSample,
        GST_SECOND, kRate);
    gst_query_set_latency (query, TRUE, block, most);
    return TRUE;
  }
  return GST_BASE_SRC_CLASS (gst_agent_audio_src_parent_class)->query (bsrc, query);
}

static gboolean gst_agent_audio_src_unlock (GstBaseSrc *bsrc)
{
  auto *self = GST_AGENT_AUDIO_SRC (bsrc);
  GST_OBJECT_LOCK (self);
  self->flushing = TRUE;
  if (self->wait_id)
    gst_clock_id_unschedule (self->wait_id);
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean gst_agent_audio_src_unlock_stop (GstBaseSrc *bsrc)
{
  auto *self = GST_AGENT_AUDIO_SRC (bsrc);
  GST_OBJECT_LOCK (self);
  self->flushing = FALSE;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean gst_agent_audio_src_start (GstBaseSrc *bsrc)
{
  auto *self = GST_AGENT_AUDIO_SRC (bsrc);
  self->start_time = GST_CLOCK_TIME_NONE;
  self->samples_out = 0;
  g_mutex_lock (&self->lock);
  gst_adapter_clear (self->queue);
  self->playing_out = FALSE;
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static void gst_agent_audio_src_finalize (GObject *object)
{
  auto *self = GST_AGENT_AUDIO_SRC (object);
  g_object_unref (self->queue);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (gst_agent_audio_src_parent_class)->finalize (object);
}

static void gst_agent_audio_src_init (GstAgentAudioSrc *self)
{
  g_mutex_init (&self->lock);
  self->queue = gst_adapter_new ();
  self->start_time = GST_CLOCK_TIME_NONE;
  gst_base_src_set_live (GST_BASE_SRC (self), TRUE);
  gst_base_src_set_format (GST_BASE_SRC (self), GST_FORMAT_TIME);
}

static void gst_agent_audio_src_class_init (GstAgentAudioSrcClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSrcClass *basesrc_class = GST_BASE_SRC_CLASS (klass);
  gobject_class->finalize = gst_agent_audio_src_finalize;
  basesrc_class->query = gst_agent_audio_src_query;
  basesrc_class->unlock = gst_agent_audio_src_unlock;
  basesrc_class->unlock_stop = gst_agent_audio_src_unlock_stop;
  basesrc_class->start = gst_agent_audio_src_start;
  GST_PUSH_SRC_CLASS (klass)->create = gst_agent_audio_src_create;
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "Agent audio source",
      "Source/Audio", "Plays out the agent's audio live, with silence in gaps",
      "gst-openai-realtime maintainers");
}
