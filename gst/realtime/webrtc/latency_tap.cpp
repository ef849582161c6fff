/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "webrtc/latency_tap.h"

#include <atomic>

namespace rt {

struct LatencyTap::Shared {
  std::shared_ptr<LatencyProbes> probes;
  std::atomic<int> send_pt { -1 };
  std::atomic<int> recv_pt { -1 };
  std::atomic<bool> wire_out { false }; /* the ICE sink is tapped */
  std::atomic<bool> wire_in { false };  /* the ICE source is tapped */
};

namespace {

using SharedRef = std::shared_ptr<LatencyTap::Shared>;

void release (gpointer data)
{
  delete static_cast<SharedRef *> (data);
}

/* Each packet of a buffer or a list, in order. */
template <typename F> void each_buffer (GstPadProbeInfo *info, F &&f)
{
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    f (GST_PAD_PROBE_INFO_BUFFER (info));
    return;
  }
  GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST (info);
  for (guint i = 0; i < gst_buffer_list_length (list); i++)
    f (gst_buffer_list_get (list, i));
}

/* Every pad of the factory's elements inside webrtcbin (the ICE transport:
 * its elements are webrtcbin's own, out of the application's reach). */
bool probe_inside (GstElement *webrtc, const char *factory, const char *pad,
    GstPadProbeCallback cb, const SharedRef &shared)
{
  bool found = false;
  GstIterator *it = gst_bin_iterate_recurse (GST_BIN (webrtc));
  GValue v = G_VALUE_INIT;
  while (gst_iterator_next (it, &v) == GST_ITERATOR_OK) {
    auto *e = GST_ELEMENT (g_value_get_object (&v));
    GstElementFactory *f = gst_element_get_factory (e);
    if (f && g_str_equal (GST_OBJECT_NAME (f), factory)) {
      if (GstPad *p = gst_element_get_static_pad (e, pad)) {
        gst_pad_add_probe (p,
            (GstPadProbeType) (GST_PAD_PROBE_TYPE_BUFFER |
                GST_PAD_PROBE_TYPE_BUFFER_LIST),
            cb, new SharedRef (shared), release);
        gst_object_unref (p);
        found = true;
      }
    }
    g_value_reset (&v);
  }
  g_value_unset (&v);
  gst_iterator_free (it);
  return found;
}

GstPadProbeReturn on_wire_out (GstPad *, GstPadProbeInfo *info, gpointer data)
{
  const SharedRef &s = *static_cast<SharedRef *> (data);
  const GstClockTime now = LatencyProbes::now ();
  each_buffer (info, [&] (GstBuffer *b) {
    guint32 ts;
    if (LatencyProbes::rtp_timestamp (b, s->send_pt.load (), &ts))
      s->probes->sent (ts, now);
  });
  return GST_PAD_PROBE_OK;
}

GstPadProbeReturn on_wire_in (GstPad *, GstPadProbeInfo *info, gpointer data)
{
  const SharedRef &s = *static_cast<SharedRef *> (data);
  const GstClockTime now = LatencyProbes::now ();
  each_buffer (info, [&] (GstBuffer *b) {
    guint32 ts;
    if (LatencyProbes::rtp_timestamp (b, s->recv_pt.load (), &ts))
      s->probes->arrived (ts, now);
  });
  return GST_PAD_PROBE_OK;
}

struct SenderRef {
  SharedRef shared;
  GstElement *webrtc; /* a reference: webrtcbin does not hold the pad */
};

GstPadProbeReturn on_payloaded (GstPad *, GstPadProbeInfo *info, gpointer data)
{
  auto *r = static_cast<SenderRef *> (data);
  const SharedRef &s = r->shared;
  /* webrtcbin makes its transport with the local description, before any
   * audio is let through: the first packet finds it. */
  if (!s->wire_out.load () &&
      probe_inside (r->webrtc, "nicesink", "sink", on_wire_out, s))
    s->wire_out.store (true);
  GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER (info);
  const GstClockTime stamped = LatencyProbes::stamp_of (b);
  guint32 ts;
  if (GST_CLOCK_TIME_IS_VALID (stamped) &&
      LatencyProbes::rtp_timestamp (b, s->send_pt.load (), &ts)) {
    s->probes->payloaded (ts, stamped);
    /* No ICE transport of libnice's: the payloader is as far as we see. */
    if (!s->wire_out.load ())
      s->probes->sent (ts, LatencyProbes::now ());
  }
  return GST_PAD_PROBE_OK;
}

GstPadProbeReturn on_rtp_out (GstPad *, GstPadProbeInfo *info, gpointer data)
{
  const SharedRef &s = *static_cast<SharedRef *> (data);
  GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER (info);
  guint32 ts;
  if (!LatencyProbes::rtp_timestamp (b, s->recv_pt.load (), &ts))
    return GST_PAD_PROBE_OK;
  GstClockTime t = s->probes->arrival_of (ts);
  if (!GST_CLOCK_TIME_IS_VALID (t))
    t = LatencyProbes::now ();
  GST_PAD_PROBE_INFO_DATA (info) = LatencyProbes::stamp (b, t);
  return GST_PAD_PROBE_OK;
}

}  // namespace

LatencyTap::LatencyTap (std::shared_ptr<LatencyProbes> probes)
    : shared_ (std::make_shared<Shared> ())
{
  shared_->probes = std::move (probes);
}

void LatencyTap::tap_sender (GstElement *webrtc, GstPad *payloaded, int pt)
{
  shared_->send_pt.store (pt);
  gst_pad_add_probe (payloaded, GST_PAD_PROBE_TYPE_BUFFER, on_payloaded,
      new SenderRef { shared_, GST_ELEMENT (gst_object_ref (webrtc)) },
      [] (gpointer data) {
        auto *r = static_cast<SenderRef *> (data);
        gst_object_unref (r->webrtc);
        delete r;
      });
}

void LatencyTap::tap_receiver (GstElement *webrtc, GstPad *rtp_out, int pt)
{
  shared_->recv_pt.store (pt);
  if (!shared_->wire_in.exchange (true) &&
      !probe_inside (webrtc, "nicesrc", "src", on_wire_in, shared_))
    shared_->wire_in.store (false);
  gst_pad_add_probe (rtp_out, GST_PAD_PROBE_TYPE_BUFFER, on_rtp_out,
      new SharedRef (shared_), release);
}

}  // namespace rt
