/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GstOpenAIRealtimeBase: what openairealtimesink and openairealtimesrc
 * share. An abstract bin carrying the shared properties (callproperties.h),
 * the signals, finding credentials (GstContext, an implicit provider, or a
 * client secret), and the join and leave of the call of its pipeline:
 *
 *   NULL→READY    registers with the call's group (top-level bin + session)
 *   READY→PAUSED  joins the call; the first element to get here starts it
 *                 with the settings of every registered element merged
 *   PAUSED→READY  leaves it (the last one to leave hangs up)
 *   READY→NULL    unregisters
 *
 * Subclasses chain up change_state, finalize and set_context as usual. */
#pragma once

#include <gst/gst.h>

#ifdef __cplusplus
#include "call.h"

#include <functional>
#include <memory>
#endif

G_BEGIN_DECLS

#define GST_TYPE_OPENAI_REALTIME_BASE (gst_openai_realtime_base_get_type ())
G_DECLARE_DERIVABLE_TYPE (GstOpenAIRealtimeBase, gst_openai_realtime_base, GST,
    OPENAI_REALTIME_BASE, GstBin)

struct _GstOpenAIRealtimeBaseClass {
  GstBinClass parent_class;

  /* TRUE for the element that gives the agent's output: it posts the call's
   * bus messages and errors when several elements share the call. */
  gboolean gives_output;

  /* Adds the element's own counters to the `stats` structure. */
  void (*add_stats) (GstOpenAIRealtimeBase *self, GstStructure *stats);

  gpointer _gst_reserved[GST_PADDING];
};

G_END_DECLS

#ifdef __cplusplus
/* What the call gives the element, called from the call's threads: the
 * agent's audio (a streaming thread), barge-in and transcripts (the call's
 * worker). Plain functions rather than vfuncs: a call shared with another
 * element may still deliver after this one is gone, so they hold their own
 * references to what they feed. Set from the subclass's instance init. */
struct GstOpenAIRealtimeMediaHooks {
  std::function<void (GstBuffer *)> audio;
  std::function<void ()> interrupt;
  std::function<void (const rt::Transcript &)> transcript;
};

void gst_openai_realtime_base_set_hooks (GstOpenAIRealtimeBase *self,
    GstOpenAIRealtimeMediaHooks hooks);

/* The call this element is in, or nullptr. */
std::shared_ptr<rt::Call> gst_openai_realtime_base_get_call (
    GstOpenAIRealtimeBase *self);

/* The class's signals, emitted and action
 * (gstopenairealtimebase_signals.cpp). */
void gst_openai_realtime_base_install_signals (GType type);
GST_DEBUG_CATEGORY_EXTERN (gst_openai_realtime_base_debug);
#endif
