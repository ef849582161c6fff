/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "agenttextsrc.h"

#include <deque>
#include <string>

GST_DEBUG_CATEGORY_STATIC (agent_text_debug);
#define GST_CAT_DEFAULT agent_text_debug

namespace {
/* Gaps this often while nobody speaks: a consumer that waits for text
 * (textoverlay's wait-text) waits at most this long. */
constexpr GstClockTime kGapInterval = 100 * GST_MSECOND;

struct Pending {
  std::string text;
  GstClockTime at; /* running time */
};

/* How long a caption stays: reading time, within bounds. */
GstClockTime reading_time (const std::string &text)
{
  glong chars = g_utf8_strlen (text.c_str (), text.size ());
  return CLAMP ((GstClockTime) chars * 60 * GST_MSECOND, 1500 * GST_MSECOND,
      10 * GST_SECOND);
}
}  // namespace

struct _GstAgentTextSrc {
  GstElement parent;
  GstPad *srcpad;

  GMutex lock;
  GCond cond;
  std::deque<Pending> *queue; /* under lock */
  gboolean flushing;          /* under lock */
  gboolean playing;           /* under lock */
  gboolean eos;               /* under lock: EOS asked for (gst-launch -e) */
  guint64 pushed, dropped;    /* under lock */

  /* Streaming thread only. */
  gboolean started;
  GstClockTime position; /* running time of the last buffer or gap end */
  GstClockTime covered;  /* end of the last caption's display */
};

G_DEFINE_TYPE_WITH_CODE (GstAgentTextSrc, gst_agent_text_src, GST_TYPE_ELEMENT,
    GST_DEBUG_CATEGORY_INIT (agent_text_debug, "agenttextsrc", 0,
        "The conversation as a text stream"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS ("text/x-raw, format=utf8"));

static GstClockTime running_time_now (GstAgentTextSrc *self)
{
  GstClock *clock = gst_element_get_clock (GST_ELEMENT (self));
  if (!clock)
    return GST_CLOCK_TIME_NONE;
  GstClockTime now = gst_clock_get_time (clock);
  GstClockTime base = gst_element_get_base_time (GST_ELEMENT (self));
  gst_object_unref (clock);
  return now > base ? now - base : 0;
}

void gst_agent_text_src_push (GstAgentTextSrc *self, const gchar *text)
{
  GstClockTime at = running_time_now (self);
  g_mutex_lock (&self->lock);
  if (!self->playing || !GST_CLOCK_TIME_IS_VALID (at)) {
    self->dropped++;
  } else {
    self->queue->push_back ({ text, at });
    g_cond_signal (&self->cond);
  }
  g_mutex_unlock (&self->lock);
}

void gst_agent_text_src_get_counters (GstAgentTextSrc *self, guint64 *pushed,
    guint64 *dropped)
{
  g_mutex_lock (&self->lock);
  if (pushed)
    *pushed = self->pushed;
  if (dropped)
    *dropped = self->dropped;
  g_mutex_unlock (&self->lock);
}

static void start_stream (GstAgentTextSrc *self)
{
  gchar *id = gst_pad_create_stream_id (self->srcpad, GST_ELEMENT (self),
      "text");
  GstEvent *ev = gst_event_new_stream_start (id);
  gst_event_set_stream_flags (ev, GST_STREAM_FLAG_SPARSE);
  g_free (id);
  gst_pad_push_event (self->srcpad, ev);
  GstCaps *caps = gst_pad_get_pad_template_caps (self->srcpad);
  gst_pad_push_event (self->srcpad, gst_event_new_caps (caps));
  gst_caps_unref (caps);
  GstSegment segment;
  gst_segment_init (&segment, GST_FORMAT_TIME);
  gst_pad_push_event (self->srcpad, gst_event_new_segment (&segment));
  self->started = TRUE;
}

static void loop (gpointer data)
{
  auto *self = GST_AGENT_TEXT_SRC (data);
  std::deque<Pending> ready;
  g_mutex_lock (&self->lock);
  if (self->queue->empty () && !self->flushing) {
    gint64 until = g_get_monotonic_time () + kGapInterval / GST_USECOND;
    g_cond_wait_until (&self->cond, &self->lock, until);
  }
  if (self->flushing) {
    g_mutex_unlock (&self->lock);
    gst_pad_pause_task (self->srcpad);
    return;
  }
  ready.swap (*self->queue);
  const gboolean playing = self->playing;
  const gboolean eos = self->eos;
  g_mutex_unlock (&self->lock);

  GstClockTime now = running_time_now (self);
  const gboolean timed = playing && GST_CLOCK_TIME_IS_VALID (now);
  if (!timed && !eos)
    return;
  if (!self->started) {
    start_stream (self);
    self->position = self->covered = timed ? now : 0;
  }

  GstFlowReturn ret = GST_FLOW_OK;
  for (Pending &p : ready) {
    GstClockTime pts = MAX (p.at, self->position);
    /* A gap only where no caption is showing. */
    GstClockTime gap_from = MAX (self->position, self->covered);
    if (pts > gap_from)
      gst_pad_push_event (self->srcpad,
          gst_event_new_gap (gap_from, pts - gap_from));
    GstBuffer *buf = gst_buffer_new_memdup (p.text.data (), p.text.size ());
    GST_BUFFER_PTS (buf) = pts;
    GST_BUFFER_DURATION (buf) = reading_time (p.text);
    GST_DEBUG_OBJECT (self, "text at %" GST_TIME_FORMAT ": %s",
        GST_TIME_ARGS (pts), p.text.c_str ());
    self->position = pts;
    self->covered = MAX (self->covered, pts + GST_BUFFER_DURATION (buf));
    ret = gst_pad_push (self->srcpad, buf);
    g_mutex_lock (&self->lock);
    self->pushed++;
    g_mutex_unlock (&self->lock);
    if (ret != GST_FLOW_OK && ret != GST_FLOW_NOT_LINKED)
      break;
  }
  if (eos || ret == GST_FLOW_EOS) {
    /* What was queued went out above; the stream ends here. */
    gst_pad_push_event (self->srcpad, gst_event_new_eos ());
    gst_pad_pause_task (self->srcpad);
    return;
  }
  if (ret == GST_FLOW_FLUSHING) {
    gst_pad_pause_task (self->srcpad);
    return;
  }
  if (ret != GST_FLOW_OK && ret != GST_FLOW_NOT_LINKED) {
    /* As GstBaseSrc does: the error, and EOS so that nothing waits. */
    GST_ELEMENT_FLOW_ERROR (self, ret);
    gst_pad_push_event (self->srcpad, gst_event_new_eos ());
    gst_pad_pause_task (self->srcpad);
    return;
  }
  GstClockTime gap_from = MAX (self->position, self->covered);
  if (ready.empty () && timed && now > gap_from) {
    gst_pad_push_event (self->srcpad,
        gst_event_new_gap (gap_from, now - gap_from));
    self->position = now;
  }
}

static GstStateChangeReturn gst_agent_text_src_change_state (
    GstElement *element, GstStateChange transition)
{
  auto *self = GST_AGENT_TEXT_SRC (element);
  switch (transition) {
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      g_mutex_lock (&self->lock);
      self->flushing = FALSE;
      self->eos = FALSE;
      self->queue->clear ();
      g_mutex_unlock (&self->lock);
      self->started = FALSE;
      self->position = self->covered = 0;
      break;
    case GST_STATE_CHANGE_PAUSED_TO_PLAYING:
      g_mutex_lock (&self->lock);
      self->playing = TRUE;
      g_mutex_unlock (&self->lock);
      break;
    case GST_STATE_CHANGE_PLAYING_TO_PAUSED:
      g_mutex_lock (&self->lock);
      self->playing = FALSE;
      g_mutex_unlock (&self->lock);
      break;
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      g_mutex_lock (&self->lock);
      self->flushing = TRUE;
      g_cond_signal (&self->cond);
      g_mutex_unlock (&self->lock);
      gst_pad_stop_task (self->srcpad);
      break;
    default: break;
  }
  GstStateChangeReturn ret = GST_ELEMENT_CLASS (gst_agent_text_src_parent_class)
                                 ->change_state (element, transition);
  if (ret != GST_STATE_CHANGE_FAILURE &&
      transition == GST_STATE_CHANGE_READY_TO_PAUSED)
    gst_pad_start_task (self->srcpad, loop, self, nullptr);
  /* Live: nothing to preroll. */
  if (ret == GST_STATE_CHANGE_SUCCESS &&
      (transition == GST_STATE_CHANGE_READY_TO_PAUSED ||
          transition == GST_STATE_CHANGE_PLAYING_TO_PAUSED))
    ret = GST_STATE_CHANGE_NO_PREROLL;
  return ret;
}

/* A source gets EOS from the application (a bin forwards it to its
 * sources): it ends its stream from its own thread, like GstBaseSrc. */
static gboolean gst_agent_text_src_send_event (GstElement *element,
    GstEvent *event)
{
  auto *self = GST_AGENT_TEXT_SRC (element);
  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    g_mutex_lock (&self->lock);
    self->eos = TRUE;
    g_cond_signal (&self->cond);
    g_mutex_unlock (&self->lock);
    gst_event_unref (event);
    return TRUE;
  }
  return GST_ELEMENT_CLASS (gst_agent_text_src_parent_class)
      ->send_event (element, event);
}

static gboolean src_query (GstPad *pad, GstObject *parent, GstQuery *query)
{
  if (GST_QUERY_TYPE (query) == GST_QUERY_LATENCY) {
    gst_query_set_latency (query, TRUE, 0, GST_CLOCK_TIME_NONE);
    return TRUE;
  }
  return gst_pad_query_default (pad, parent, query);
}

static void gst_agent_text_src_finalize (GObject *object)
{
  auto *self = GST_AGENT_TEXT_SRC (object);
  delete self->queue;
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  G_OBJECT_CLASS (gst_agent_text_src_parent_class)->finalize (object);
}

static void gst_agent_text_src_init (GstAgentTextSrc *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  self->queue = new std::deque<Pending> ();
  self->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_set_query_function (self->srcpad, src_query);
  gst_pad_use_fixed_caps (self->srcpad);
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);
  GST_OBJECT_FLAG_SET (self, GST_ELEMENT_FLAG_SOURCE);
}

static void gst_agent_text_src_class_init (GstAgentTextSrcClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  gobject_class->finalize = gst_agent_text_src_finalize;
  element_class->change_state = gst_agent_text_src_change_state;
  element_class->send_event = gst_agent_text_src_send_event;
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "Agent text source",
      "Source/Network/Text",
      "The conversation's text, live, with gaps in between",
      "gst-openai-realtime maintainers");
}
