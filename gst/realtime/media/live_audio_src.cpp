/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "media/live_audio_src.h"

#include "core/latency_probes.h"

#include <gst/audio/audio.h>
#include <gst/base/gstadapter.h>

#include <deque>
#include <utility>

GST_DEBUG_CATEGORY_STATIC (live_audio_debug);
#define GST_CAT_DEFAULT live_audio_debug

namespace {
constexpr int kRate = 48000;
constexpr int kBytesPerSample = 2;
constexpr int kBlockSamples = kRate / 100; /* 10 ms */
constexpr gsize kBlockBytes = kBlockSamples * kBytesPerSample;
/* After running dry, wait for one Opus frame (20 ms) before playing again,
 * or every packet would be split by a gap. */
constexpr gsize kResumeBytes = 2 * kBlockBytes;
/* More than this queued means a burst or clock drift: drop the oldest. */
constexpr gsize kMaxQueuedBytes = kRate * kBytesPerSample / 5; /* 200 ms */
/* Audio that was always queued over a window of half a second, beyond the
 * block about to be played and a margin, is latency nothing drains at the
 * playing rate. Right after the start or a flush it is what a burst left
 * (the decoder starting late): dropped at once. Later it is what the last
 * jitter spike left, which guards against the next one, or a sender whose
 * clock runs fast: dropped only once it has stood for kStandingWindows,
 * a block at most per window, so that spikes every few seconds never turn
 * into a cut after each one. */
constexpr int kWindowBlocks = 50;
constexpr gsize kMarginBytes = kBlockBytes;
constexpr int kStandingWindows = 8;
}  // namespace

struct _GstLiveAudioSrc {
  GstPushSrc parent;

  GMutex lock;
  GstAdapter *queue;       /* under lock */
  gboolean playing_out;    /* under lock: FALSE after running dry */
  guint64 dropped_samples; /* under lock */
  guint64 silent_samples;  /* under lock */
  gsize least_queued;      /* under lock: before a take, in this window */
  int window_blocks;       /* under lock */
  int standing_windows;    /* under lock: windows in a row with excess */
  gboolean settling;       /* under lock: no window done since start/flush */
  /* With the latency probes: bytes ever queued and ever taken out (played
   * or dropped), and where each stamped packet's first sample sits. */
  guint64 in_pos, out_pos;                              /* under lock */
  std::deque<std::pair<guint64, GstClockTime>> *stamps; /* under lock */

  /* Streaming thread only. */
  GstClockTime start_time; /* running time of sample 0 */
  guint64 samples_out;
  GstClockID wait_id; /* under the object lock, for unlock() */
  gboolean flushing;  /* under the object lock */
};

G_DEFINE_TYPE_WITH_CODE (GstLiveAudioSrc, gst_live_audio_src, GST_TYPE_PUSH_SRC,
    GST_DEBUG_CATEGORY_INIT (live_audio_debug, "liveaudiosrc", 0,
        "Far-end audio, played out live"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("audio/x-raw, format=S16LE, rate=48000, channels=1, "
                     "layout=interleaved"));

void gst_live_audio_src_push (GstLiveAudioSrc *self, GstBuffer *buffer)
{
  const GstClockTime stamped = rt::LatencyProbes::enabled () ?
      rt::LatencyProbes::stamp_of (buffer) :
      GST_CLOCK_TIME_NONE;
  g_mutex_lock (&self->lock);
  if (GST_CLOCK_TIME_IS_VALID (stamped)) {
    /* Bounded while nothing pulls (PAUSED): the oldest have been dropped
     * by the cap anyway. */
    while (
        !self->stamps->empty () && self->stamps->front ().first < self->out_pos)
      self->stamps->pop_front ();
    self->stamps->emplace_back (self->in_pos, stamped);
  }
  self->in_pos += gst_buffer_get_size (buffer);
  gst_adapter_push (self->queue, gst_buffer_ref (buffer));
  gsize queued = gst_adapter_available (self->queue);
  if (queued > kMaxQueuedBytes) {
    gsize excess = queued - kMaxQueuedBytes;
    excess -= excess % kBytesPerSample;
    gst_adapter_flush (self->queue, excess);
    self->out_pos += excess;
    self->dropped_samples += excess / kBytesPerSample;
  }
  g_mutex_unlock (&self->lock);
}

/* Under lock: a new window, and what follows a start or a flush. */
static void reset_window (GstLiveAudioSrc *self)
{
  self->least_queued = G_MAXSIZE;
  self->window_blocks = 0;
  self->standing_windows = 0;
  self->settling = TRUE;
}

/* Drops what is queued (bytes returned), as if it had been played. */
static gsize drop_queued (GstLiveAudioSrc *self)
{
  g_mutex_lock (&self->lock);
  const gsize queued = gst_adapter_available (self->queue);
  gst_adapter_clear (self->queue);
  self->out_pos = self->in_pos;
  self->stamps->clear ();
  self->playing_out = FALSE;
  reset_window (self);
  g_mutex_unlock (&self->lock);
  return queued;
}

guint64 gst_live_audio_src_flush (GstLiveAudioSrc *self)
{
  return drop_queued (self) / kBytesPerSample;
}

guint64 gst_live_audio_src_get_queued (GstLiveAudioSrc *self)
{
  g_mutex_lock (&self->lock);
  gsize queued = gst_adapter_available (self->queue);
  g_mutex_unlock (&self->lock);
  return queued / kBytesPerSample;
}

void gst_live_audio_src_get_counters (GstLiveAudioSrc *self,
    guint64 *dropped_samples, guint64 *silent_samples)
{
  g_mutex_lock (&self->lock);
  if (dropped_samples)
    *dropped_samples = self->dropped_samples;
  if (silent_samples)
    *silent_samples = self->silent_samples;
  g_mutex_unlock (&self->lock);
}

/* Fills out with the next block: queued audio, then silence; with the
 * latency probes, stamps out with the packets that start in it. */
static void take_block (GstLiveAudioSrc *self, guint8 *out, GstBuffer *buf)
{
  g_mutex_lock (&self->lock);
  gsize queued = gst_adapter_available (self->queue);
  if (!self->playing_out && queued >= kResumeBytes)
    self->playing_out = TRUE;
  self->least_queued = self->playing_out ? MIN (self->least_queued, queued) : 0;
  if (++self->window_blocks == kWindowBlocks) {
    gsize excess = 0;
    if (self->least_queued > kBlockBytes + kMarginBytes) {
      excess = self->least_queued - kBlockBytes - kMarginBytes;
      self->standing_windows++;
      if (!self->settling)
        excess = self->standing_windows >= kStandingWindows ?
            MIN (excess, kBlockBytes) :
            0;
    } else {
      self->standing_windows = 0;
    }
    excess -= excess % kBytesPerSample;
    if (excess > 0) {
      GST_DEBUG_OBJECT (self, "dropping %" G_GSIZE_FORMAT " ms of latency",
          excess / kBytesPerSample * 1000 / kRate);
      gst_adapter_flush (self->queue, excess);
      self->out_pos += excess;
      self->dropped_samples += excess / kBytesPerSample;
      queued -= excess;
    }
    /* A window that played throughout ends the settling. */
    if (self->least_queued > 0)
      self->settling = FALSE;
    self->window_blocks = 0;
    self->least_queued = G_MAXSIZE;
  }
  gsize take = self->playing_out ? MIN (queued, kBlockBytes) : 0;
  take -= take % kBytesPerSample;
  if (take > 0)
    gst_adapter_copy (self->queue, out, 0, take);
  gst_adapter_flush (self->queue, take);
  self->out_pos += take;
  auto &stamps = *self->stamps;
  while (!stamps.empty () && stamps.front ().first < self->out_pos) {
    /* What was dropped before it could be played is not counted. */
    if (stamps.front ().first >= self->out_pos - take)
      rt::LatencyProbes::stamp (buf, stamps.front ().second);
    stamps.pop_front ();
  }
  if (take < kBlockBytes) {
    memset (out + take, 0, kBlockBytes - take);
    self->silent_samples += (kBlockBytes - take) / kBytesPerSample;
    self->playing_out = FALSE;
  }
  g_mutex_unlock (&self->lock);
}

static GstFlowReturn gst_live_audio_src_create (GstPushSrc *psrc,
    GstBuffer **out)
{
  auto *self = GST_LIVE_AUDIO_SRC (psrc);
  GstClock *clock = gst_element_get_clock (GST_ELEMENT (self));
  if (!clock) {
    GST_ELEMENT_ERROR (self, CORE, CLOCK,
        ("No clock to play the far end's audio by"),
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
  take_block (self, map.data, buf);
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

static gboolean gst_live_audio_src_query (GstBaseSrc *bsrc, GstQuery *query)
{
  if (GST_QUERY_TYPE (query) == GST_QUERY_LATENCY) {
    /* A block is late by its own length when it is handed out; up to the
     * queue's bound can wait here (a sink downstream that needs more than
     * one block of latency must not be told we cannot hold it). */
    GstClockTime block = gst_util_uint64_scale_int (kBlockSamples, GST_SECOND,
        kRate);
    GstClockTime most = gst_util_uint64_scale_int (
        kMaxQueuedBytes / kBytesPerSample, GST_SECOND, kRate);
    gst_query_set_latency (query, TRUE, block, most);
    return TRUE;
  }
  return GST_BASE_SRC_CLASS (gst_live_audio_src_parent_class)
      ->query (bsrc, query);
}

static gboolean gst_live_audio_src_unlock (GstBaseSrc *bsrc)
{
  auto *self = GST_LIVE_AUDIO_SRC (bsrc);
  GST_OBJECT_LOCK (self);
  self->flushing = TRUE;
  if (self->wait_id)
    gst_clock_id_unschedule (self->wait_id);
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean gst_live_audio_src_unlock_stop (GstBaseSrc *bsrc)
{
  auto *self = GST_LIVE_AUDIO_SRC (bsrc);
  GST_OBJECT_LOCK (self);
  self->flushing = FALSE;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean gst_live_audio_src_start (GstBaseSrc *bsrc)
{
  auto *self = GST_LIVE_AUDIO_SRC (bsrc);
  self->start_time = GST_CLOCK_TIME_NONE;
  self->samples_out = 0;
  drop_queued (self);
  return TRUE;
}

static void gst_live_audio_src_finalize (GObject *object)
{
  auto *self = GST_LIVE_AUDIO_SRC (object);
  g_object_unref (self->queue);
  delete self->stamps;
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (gst_live_audio_src_parent_class)->finalize (object);
}

static void gst_live_audio_src_init (GstLiveAudioSrc *self)
{
  g_mutex_init (&self->lock);
  self->queue = gst_adapter_new ();
  self->stamps = new std::deque<std::pair<guint64, GstClockTime>> ();
  self->least_queued = G_MAXSIZE;
  self->start_time = GST_CLOCK_TIME_NONE;
  gst_base_src_set_live (GST_BASE_SRC (self), TRUE);
  gst_base_src_set_format (GST_BASE_SRC (self), GST_FORMAT_TIME);
}

static void gst_live_audio_src_class_init (GstLiveAudioSrcClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSrcClass *basesrc_class = GST_BASE_SRC_CLASS (klass);
  gobject_class->finalize = gst_live_audio_src_finalize;
  basesrc_class->query = gst_live_audio_src_query;
  basesrc_class->unlock = gst_live_audio_src_unlock;
  basesrc_class->unlock_stop = gst_live_audio_src_unlock_stop;
  basesrc_class->start = gst_live_audio_src_start;
  GST_PUSH_SRC_CLASS (klass)->create = gst_live_audio_src_create;
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "Live audio source",
      "Source/Audio", "Plays out far-end audio live, with silence in gaps",
      "gst-openai-realtime maintainers");
}
