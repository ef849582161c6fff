/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "webrtc/peer.h"

#include "core/debug.h"
#include "webrtc/guard.h"
#include "webrtc/latency_tap.h"
#include "webrtc/sdp.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/audio/audio.h>

#include <algorithm>

#define GST_CAT_DEFAULT rt_peer_debug

/* The peer's audio: the sender in front of webrtcbin, the receiver behind
 * it, and the codecs both speak. */

namespace rt {

using namespace peer_internal;

namespace {

struct Codec {
  const char *encoding;
  int clock_rate;
  const char *pay;
  const char *depay;
  const char *dec;
};

Codec codec_of (AudioCodec c)
{
  switch (c) {
    case AudioCodec::Pcmu:
      return { "PCMU", 8000, "rtppcmupay", "rtppcmudepay", "mulawdec" };
    case AudioCodec::Pcma:
      return { "PCMA", 8000, "rtppcmapay", "rtppcmadepay", "alawdec" };
    case AudioCodec::Opus:
    default:
      return { "OPUS", 48000, "rtpopuspay", "rtpopusdepay",
        "opusdec plc=true" };
  }
}

/* What webrtcbin offers for the codec: Opus as browsers offer it. */
GstCaps *codec_preferences (const PeerAudio &audio)
{
  Codec c = codec_of (audio.codec);
  GstCaps *caps = gst_caps_new_simple ("application/x-rtp", "media",
      G_TYPE_STRING, "audio", "encoding-name", G_TYPE_STRING, c.encoding,
      "payload", G_TYPE_INT, audio.payload_type, "clock-rate", G_TYPE_INT,
      c.clock_rate, nullptr);
  if (audio.codec == AudioCodec::Opus)
    gst_caps_set_simple (caps, "encoding-params", G_TYPE_STRING, "2",
        "minptime", G_TYPE_STRING, "10", "useinbandfec", G_TYPE_STRING, "1",
        nullptr);
  return caps;
}

GstWebRTCRTPTransceiverDirection direction_of (AudioDirection d)
{
  switch (d) {
    case AudioDirection::SendOnly:
      return GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY;
    case AudioDirection::RecvOnly:
      return GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY;
    default: return GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDRECV;
  }
}

}  // namespace

namespace {

/* Whether Opus's encoder takes (or its decoder gives) caps as they are, with
 * no audioconvert or audioresample around it: they are one of its pad
 * template's. (G.711's payloaders and depayloaders fix the rate at 8 kHz:
 * those always keep the converters.) */
bool opus_handles (const char *factory_name, GstPadDirection direction,
    GstCaps *caps)
{
  GstElementFactory *factory = gst_element_factory_find (factory_name);
  if (!factory)
    return false;
  bool as_is = false;
  for (const GList *t = gst_element_factory_get_static_pad_templates (factory);
       t; t = t->next) {
    auto *templ = static_cast<GstStaticPadTemplate *> (t->data);
    if (templ->direction != direction)
      continue;
    GstCaps *templ_caps = gst_static_pad_template_get_caps (templ);
    as_is = caps && gst_caps_is_fixed (caps) &&
        gst_caps_is_subset (caps, templ_caps);
    gst_caps_unref (templ_caps);
  }
  gst_object_unref (factory);
  return as_is;
}

/* The direct input's pad answers what an appsrc would: its caps, and that
 * it is live. */
gboolean input_query (GstPad *pad, GstObject *, GstQuery *query)
{
  switch (GST_QUERY_TYPE (query)) {
    case GST_QUERY_LATENCY:
      gst_query_set_latency (query, TRUE, 0, GST_CLOCK_TIME_NONE);
      return TRUE;
    case GST_QUERY_CAPS: {
      GstCaps *caps = gst_pad_get_current_caps (pad);
      if (!caps)
        caps = gst_caps_new_any ();
      GstCaps *filter = nullptr;
      gst_query_parse_caps (query, &filter);
      if (filter) {
        GstCaps *both = gst_caps_intersect_full (filter, caps,
            GST_CAPS_INTERSECT_FIRST);
        gst_caps_unref (caps);
        caps = both;
      }
      gst_query_set_caps_result (query, caps);
      gst_caps_unref (caps);
      return TRUE;
    }
    default: return FALSE;
  }
}

/* webrtcbin (since 1.20) puts a clocksync in front of each sink pad as it
 * links the pad to its RTP session, which holds every packet until its
 * time plus the pipeline's latency (a file would otherwise go out at
 * once). Audio pushed live by its caller is paced already: the wait would
 * only hold the caller for up to a frame each packet, and add the
 * encoder's look-ahead to the latency. */
void unsync_clocksync (GstBin *, GstBin *, GstElement *element, gpointer)
{
  GstElementFactory *factory = gst_element_get_factory (element);
  if (factory && g_str_equal (GST_OBJECT_NAME (factory), "clocksync"))
    g_object_set (element, "sync", FALSE, nullptr);
}

}  // namespace

/* What push_audio() feeds: an appsrc with its queue and thread, or with
 * direct_input a pad of our own, pushed on the caller's thread (returned
 * as nullptr, the pad in the guard). */
GstElement *Peer::make_input (GstCaps *input)
{
  const PeerAudio &audio = config_.audio;
  if (audio.direct_input) {
    GstPad *pad = gst_pad_new ("audio-in", GST_PAD_SRC);
    gst_pad_set_query_function (pad, input_query);
    gst_pad_set_active (pad, TRUE);
    /* Sent ahead of the first buffer, as an appsrc would (the pad keeps
     * a reference of its own to each). */
    auto store = [pad] (GstEvent *event) {
      gst_pad_store_sticky_event (pad, event);
      gst_event_unref (event);
    };
    gchar *stream_id = g_strdup_printf ("%s/audio-in", config_.name.c_str ());
    store (gst_event_new_stream_start (stream_id));
    g_free (stream_id);
    if (input && gst_caps_is_fixed (input))
      store (gst_event_new_caps (input));
    GstSegment segment;
    gst_segment_init (&segment, GST_FORMAT_TIME);
    store (gst_event_new_segment (&segment));
    std::lock_guard<std::mutex> l (guard_->lock);
    guard_->input = pad;
    return nullptr;
  }
  GstElement *src = gst_element_factory_make ("appsrc", "audio-in");
  if (!src)
    return nullptr;
  g_object_set (src, "is-live", TRUE, "format", GST_FORMAT_TIME, "do-timestamp",
      audio.stamp_input ? TRUE : FALSE, "block", FALSE, nullptr);
  if (input && !gst_caps_is_any (input))
    g_object_set (src, "caps", input, nullptr);
  GstAudioInfo info;
  if (input && gst_audio_info_from_caps (&info, input)) {
    /* Old audio is worthless to a live listener: drop the oldest. */
    g_object_set (src, "max-bytes",
        (guint64) GST_AUDIO_INFO_BPF (&info) * GST_AUDIO_INFO_RATE (&info) *
            audio.input_queue_ms / 1000,
        nullptr);
    gst_util_set_object_arg (G_OBJECT (src), "leaky-type", "downstream");
  }
  return src;
}

void Peer::release_input ()
{
  GstElement *src;
  GstPad *pad;
  {
    std::lock_guard<std::mutex> l (guard_->lock);
    src = guard_->appsrc;
    pad = guard_->input;
    guard_->appsrc = nullptr;
    guard_->input = nullptr;
  }
  if (src)
    gst_object_unref (src);
  if (pad) {
    /* A push under way holds a reference of its own; the next finds none. */
    gst_pad_set_active (pad, FALSE);
    gst_object_unref (pad);
  }
}

/* input ! [audioconvert ! audioresample !] [encoder !] payloader !
 * webrtcbin, or a receive-only transceiver. */
bool Peer::build_sender ()
{
  const PeerAudio &audio = config_.audio;
  if (audio.direction == AudioDirection::None)
    return true;
  GstCaps *prefs = codec_preferences (audio);
  if (audio.direction == AudioDirection::RecvOnly) {
    GstWebRTCRTPTransceiver *trans = nullptr;
    g_signal_emit_by_name (webrtc_, "add-transceiver",
        GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, prefs, &trans);
    gst_caps_unref (prefs);
    if (trans)
      gst_object_unref (trans);
    return true;
  }
  Codec codec = codec_of (audio.codec);
  GstCaps *input = gst_caps_from_string (audio.input_caps.c_str ());
  const bool raw = input && gst_caps_get_size (input) > 0 &&
      gst_structure_has_name (gst_caps_get_structure (input, 0), "audio/x-raw");
  const bool opus = audio.codec == AudioCodec::Opus;
  std::string chain = raw &&
          !(opus && opus_handles ("opusenc", GST_PAD_SINK, input)) ?
      "audioconvert ! audioresample ! " :
      "";
  if (raw && opus)
    chain += std::string ("opusenc frame-size=20") +
        (audio.opus_voice ? " audio-type=voice" : "") +
        (audio.opus_bitrate ?
                " bitrate=" + std::to_string (audio.opus_bitrate) :
                "") +
        " complexity=" +
        std::to_string (std::clamp (audio.opus_complexity, 0, 10)) + " ! ";
  else if (raw)
    chain += std::string (
                 audio.codec == AudioCodec::Pcmu ? "mulawenc" : "alawenc") +
        " ! ";
  chain += std::string (codec.pay) +
      " pt=" + std::to_string (audio.payload_type);
  /* Telephone events share the codec's SSRC and clock; the mux pauses the
   * audio while an event is sent. Both start their RTP time at 0 (the mux
   * puts its own base on both), so that the events sit on the audio's
   * timeline: rtpdtmfsrc's caps, which would tell the mux its offset, never
   * reach it (see the probe below). */
  if (audio.telephone_event_pt > 0)
    chain += " timestamp-offset=0 ! rtpdtmfmux name=te-mux "
             "rtpdtmfsrc name=te-src timestamp-offset=0 clock-rate=" +
        std::to_string (codec.clock_rate) +
        " pt=" + std::to_string (audio.telephone_event_pt) +
        " ! te-mux.priority_sink_0";
  GError *error = nullptr;
  GstElement *bin = gst_parse_bin_from_description (chain.c_str (), TRUE,
      &error);
  GstElement *src = bin ? make_input (input) : nullptr;
  if (!bin || (!src && !audio.direct_input)) {
    std::string why = error ? error->message : "appsrc";
    g_clear_error (&error);
    if (bin)
      gst_object_unref (bin);
    if (input)
      gst_caps_unref (input);
    gst_caps_unref (prefs);
    if (events_.error)
      events_.error (PeerError { PeerError::Kind::Missing,
          "missing GStreamer element(s): " + why });
    return false;
  }
  g_clear_error (&error);
  if (audio.telephone_event_pt > 0) {
    te_src_ = gst_bin_get_by_name (GST_BIN (bin), "te-src");
    /* webrtcbin takes the caps its sink pad saw last as the one codec to
     * offer: only the codec's may reach it. */
    GstPad *te_out = gst_element_get_static_pad (te_src_, "src");
    gst_pad_add_probe (
        te_out, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
        [] (GstPad *, GstPadProbeInfo *info, gpointer) {
          return GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) ==
                  GST_EVENT_CAPS ?
              GST_PAD_PROBE_DROP :
              GST_PAD_PROBE_OK;
        },
        nullptr, nullptr);
    gst_object_unref (te_out);
    gst_object_unref (te_src_); /* the pipeline holds it */
  }
  if (input)
    gst_caps_unref (input);
  gst_bin_add (GST_BIN (pipeline_), bin);
  bool linked;
  if (src) {
    gst_bin_add (GST_BIN (pipeline_), src);
    linked = gst_element_link (src, bin);
  } else {
    GstPad *in = gst_element_get_static_pad (bin, "sink");
    std::lock_guard<std::mutex> l (guard_->lock);
    linked = in && gst_pad_link (guard_->input, in) == GST_PAD_LINK_OK;
    if (in)
      gst_object_unref (in);
  }
  GstPad *out = gst_element_get_static_pad (bin, "src");
  if (audio.direct_input)
    g_signal_connect (webrtc_, "deep-element-added",
        G_CALLBACK (unsync_clocksync), nullptr);
  GstPad *sink = gst_element_request_pad_simple (webrtc_, "sink_%u");
  linked = linked && sink && gst_pad_link (out, sink) == GST_PAD_LINK_OK;

  GstWebRTCRTPTransceiver *trans = nullptr;
  if (sink)
    g_object_get (sink, "transceiver", &trans, nullptr);
  if (trans) {
    g_object_set (trans, "direction", direction_of (audio.direction),
        "codec-preferences", prefs, nullptr);
    gst_object_unref (trans);
  }
  gst_caps_unref (prefs);
  if (config_.latency) {
    latency_tap_ = std::make_shared<LatencyTap> (config_.latency);
    latency_tap_->tap_sender (webrtc_, out, audio.payload_type);
  }
  gst_object_unref (out);
  if (sink)
    gst_object_unref (sink);
  if (!linked) {
    if (events_.error)
      events_.error (PeerError { PeerError::Kind::Missing,
          "cannot link the audio encoder to webrtcbin" });
    return false;
  }
  if (src) {
    std::lock_guard<std::mutex> l (guard_->lock);
    guard_->appsrc = GST_ELEMENT (gst_object_ref (src));
  }
  return true;
}

/* webrtcbin's src pad ! depayloader ! decoder ! [convert !] appsink. */
void Peer::add_receiver (GstPad *pad)
{
  AudioCodec codec = config_.audio.codec;
  bool events = false;
  int pt = -1;
  if (GstCaps *caps = gst_pad_get_current_caps (pad)) {
    gst_structure_get_int (gst_caps_get_structure (caps, 0), "payload", &pt);
    const char *name = gst_structure_get_string (
        gst_caps_get_structure (caps, 0), "encoding-name");
    if (name && g_ascii_strcasecmp (name, "TELEPHONE-EVENT") == 0)
      events = true;
    else if (name && g_ascii_strcasecmp (name, "PCMU") == 0)
      codec = AudioCodec::Pcmu;
    else if (name && g_ascii_strcasecmp (name, "PCMA") == 0)
      codec = AudioCodec::Pcma;
    else if (name && g_ascii_strcasecmp (name, "OPUS") == 0)
      codec = AudioCodec::Opus;
    gst_caps_unref (caps);
  }
  Codec c = codec_of (codec);
  GstCaps *output = gst_caps_from_string (config_.audio.output_caps.c_str ());
  const bool as_is = codec == AudioCodec::Opus &&
      opus_handles ("opusdec", GST_PAD_SRC, output);
  if (output)
    gst_caps_unref (output);
  std::string description = std::string (c.depay) + " ! " + c.dec + " ! " +
      (as_is ? "" : "audioconvert ! audioresample ! ") +
      config_.audio.output_caps +
      " ! appsink name=audio-out sync=false max-buffers=50 drop=true";
  /* The far end's telephone events (webrtcbin gives their payload type a
   * pad of its own): rtpdtmfdepay tells the bus of each event. */
  if (events)
    description = "rtpdtmfdepay ! fakesink sync=false async=false";
  GError *error = nullptr;
  GstElement *bin = gst_parse_bin_from_description (description.c_str (), TRUE,
      &error);
  if (!bin) {
    GST_ERROR ("peer %s: cannot build the audio receiver: %s",
        config_.name.c_str (), error ? error->message : "?");
    g_clear_error (&error);
    return;
  }
  g_clear_error (&error);
  if (GstElement *sink = gst_bin_get_by_name (GST_BIN (bin), "audio-out")) {
    GstAppSinkCallbacks callbacks = {};
    callbacks.new_sample = sample_cb;
    gst_app_sink_set_callbacks (GST_APP_SINK (sink), &callbacks, hold (guard_),
        release);
    gst_object_unref (sink);
  }
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, media_probe_cb,
      hold (guard_), release);
  if (config_.latency && !events) {
    if (!latency_tap_)
      latency_tap_ = std::make_shared<LatencyTap> (config_.latency);
    latency_tap_->tap_receiver (webrtc_, pad, pt);
  }
  gst_bin_add (GST_BIN (pipeline_), bin);
  gst_element_sync_state_with_parent (bin);
  GstPad *sinkpad = gst_element_get_static_pad (bin, "sink");
  if (gst_pad_link (pad, sinkpad) != GST_PAD_LINK_OK)
    GST_ERROR ("peer %s: cannot link the far end's audio to the decoder",
        config_.name.c_str ());
  gst_object_unref (sinkpad);
}

GstPadProbeReturn Peer::media_probe_cb (GstPad *, GstPadProbeInfo *,
    gpointer data)
{
  const GuardRef &g = *static_cast<GuardRef *> (data);
  /* The pipeline stops before the peer goes: its streaming threads have
   * ended by then. */
  if (Peer *p = g->peer)
    p->last_media_us_.store (g_get_monotonic_time ());
  return GST_PAD_PROBE_OK;
}

GstFlowReturn Peer::sample_cb (GstAppSink *sink, gpointer data)
{
  const GuardRef &g = *static_cast<GuardRef *> (data);
  GstSample *sample = gst_app_sink_pull_sample (sink);
  if (!sample)
    return GST_FLOW_EOS;
  Peer *p = g->peer;
  GstBuffer *buffer = gst_sample_get_buffer (sample);
  if (p && buffer && p->events_.audio)
    p->events_.audio (buffer);
  gst_sample_unref (sample);
  return GST_FLOW_OK;
}

GstElement *Peer::ref_audio_input () const
{
  std::lock_guard<std::mutex> l (guard_->lock);
  return guard_->appsrc ? GST_ELEMENT (gst_object_ref (guard_->appsrc)) :
                          nullptr;
}

bool Peer::push_audio (GstBuffer *buffer)
{
  GstElement *src = nullptr, *pipeline = nullptr;
  GstPad *pad = nullptr;
  {
    /* stop() takes the input away before it ends the pipeline. */
    std::lock_guard<std::mutex> l (guard_->lock);
    if (guard_->appsrc) {
      src = GST_ELEMENT (gst_object_ref (guard_->appsrc));
    } else if (guard_->input) {
      pad = GST_PAD (gst_object_ref (guard_->input));
      pipeline = GST_ELEMENT (gst_object_ref (pipeline_));
    } else {
      return false;
    }
  }
  GstBuffer *copy = gst_buffer_copy (buffer);
  if (src) {
    /* appsrc stamps it with the peer pipeline's running time. */
    if (config_.audio.stamp_input)
      GST_BUFFER_PTS (copy) = GST_BUFFER_DTS (copy) = GST_CLOCK_TIME_NONE;
    gst_app_src_push_buffer (GST_APP_SRC (src), copy);
    gst_object_unref (src);
    return true;
  }
  /* As appsrc's do-timestamp would: the peer pipeline's running time. */
  if (config_.audio.stamp_input) {
    GST_BUFFER_PTS (copy) = GST_BUFFER_DTS (copy) = GST_CLOCK_TIME_NONE;
    if (GstClock *clock = gst_element_get_clock (pipeline)) {
      const GstClockTime now = gst_clock_get_time (clock);
      const GstClockTime base = gst_element_get_base_time (pipeline);
      GST_BUFFER_PTS (copy) = now > base ? now - base : 0;
      gst_object_unref (clock);
    }
  }
  GstFlowReturn flow;
  {
    std::lock_guard<std::mutex> l (guard_->push_lock);
    flow = gst_pad_push (pad, copy);
  }
  gst_object_unref (pad);
  gst_object_unref (pipeline);
  return flow == GST_FLOW_OK;
}

/* Telephone events. webrtcbin 1.22 offers and answers one codec per
 * transceiver once its sink pad has caps, so the descriptions get them
 * here: the offer on the configured payload type, the answer on the
 * offer's, and only when this peer was configured for them. */

namespace {

/* To rtpdtmfsrc as if from downstream, where it takes its requests. */
bool send_upstream (GstElement *src, GstStructure *request)
{
  GstPad *pad = gst_element_get_static_pad (src, "src");
  bool taken = gst_pad_send_event (pad,
      gst_event_new_custom (GST_EVENT_CUSTOM_UPSTREAM, request));
  gst_object_unref (pad);
  return taken;
}

}  // namespace

int Peer::telephone_event_rate () const
{
  return codec_of (config_.audio.codec).clock_rate;
}

void Peer::remote_telephone_events (GstWebRTCSDPType type,
    const std::string &sdp)
{
  if (config_.audio.telephone_event_pt <= 0)
    return;
  te_pt_ = sdp_telephone_event_pt (sdp, telephone_event_rate ());
  if (te_pt_ >= 0 && te_src_)
    g_object_set (te_src_, "pt", (guint) te_pt_, nullptr);
  GST_DEBUG ("peer %s: the far end's %s %s telephone events",
      config_.name.c_str (),
      type == GST_WEBRTC_SDP_TYPE_OFFER ? "offer" : "answer",
      te_pt_ >= 0 ? "has" : "has no");
}

std::string Peer::with_telephone_events (GstWebRTCSDPType type,
    const std::string &sdp)
{
  if (config_.audio.telephone_event_pt <= 0)
    return sdp;
  if (type == GST_WEBRTC_SDP_TYPE_OFFER)
    return sdp_with_telephone_event (sdp, config_.audio.telephone_event_pt,
        telephone_event_rate ());
  return te_pt_ >= 0 ?
      sdp_with_telephone_event (sdp, te_pt_, telephone_event_rate ()) :
      sdp;
}

bool Peer::send_telephone_event (int event, unsigned duration_ms)
{
  if (stopped_ || !te_src_ || te_pt_ < 0 || event < 0 || event > 16)
    return false;
  /* RFC 4733's duration field is 16 bits of the clock: 1.36 s at 48 kHz.
   * A digit is 40 ms to 1 s. */
  te_queue_.emplace_back (event, std::clamp (duration_ms, 40u, 1000u));
  if (!te_stop_)
    next_telephone_event ();
  return true;
}

/* One event at a time, each followed by the gap that tells two equal
 * digits apart (70 ms, as browsers' DTMF senders leave). */
void Peer::next_telephone_event ()
{
  if (te_queue_.empty () || stopped_)
    return;
  auto [event, duration_ms] = te_queue_.front ();
  te_queue_.pop_front ();
  GstStructure *start = gst_structure_new ("dtmf-event", "type", G_TYPE_INT, 1,
      "number", G_TYPE_INT, event, "volume", G_TYPE_INT, 10, "start",
      G_TYPE_BOOLEAN, TRUE, nullptr);
  if (!send_upstream (te_src_, start))
    GST_WARNING ("peer %s: rtpdtmfsrc refused event %d", config_.name.c_str (),
        event);
  te_stop_ = worker_.post_after (duration_ms, [this] {
    GstStructure *stop = gst_structure_new ("dtmf-event", "type", G_TYPE_INT, 1,
        "start", G_TYPE_BOOLEAN, FALSE, nullptr);
    send_upstream (te_src_, stop);
    te_stop_ = worker_.post_after (70, [this] {
      te_stop_ = 0;
      next_telephone_event ();
    });
  });
}

}  // namespace rt
