/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gstwebrtcbroadcastsink.h"

#include "config.h"
#include "core/enums.h"

#include "broadcast/server.h"

#include <gio/gio.h>
#include <gst/app/gstappsink.h>

#include <map>
#include <memory>
#include <vector>

GST_DEBUG_CATEGORY_STATIC (broadcastsink_debug);
#define GST_CAT_DEFAULT broadcastsink_debug

extern "C" GResource *webrtcbroadcast_get_resource (void);

namespace {

/* One input: its own encoder, feeding the server under a stream name ("" for
 * the always pad, the client id for a client's pad). */
struct Branch {
  GstWebRTCBroadcastSink *sink;
  std::string stream;
  GstElement *convert = nullptr, *resample = nullptr, *filter = nullptr,
             *encoder = nullptr, *appsink = nullptr;
};

}  // namespace

struct _GstWebRTCBroadcastSink {
  GstBin parent;
  /* Under the object lock. */
  rt::broadcast::Config *config;
  gint bitrate;
  gboolean serve_page;
  std::map<std::string, std::unique_ptr<Branch>> *branches;
  /* Set in NULL→READY and cleared in READY→NULL, under the object lock;
   * read by the streaming threads without it (none runs in those changes). */
  rt::broadcast::Server *server;
};

enum {
  PROP_0,
  PROP_ADDRESS,
  PROP_PORT,
  PROP_BOUND_PORT,
  PROP_TLS_CERTIFICATE_FILE,
  PROP_TLS_KEY_FILE,
  PROP_DELIVERY,
  PROP_CHANNEL_LABEL,
  PROP_STUN_SERVER,
  PROP_TURN_SERVER,
  PROP_BUFFERED_AMOUNT_HIGH,
  PROP_BUFFERED_AMOUNT_LOW_THRESHOLD,
  PROP_MAX_CLIENTS,
  PROP_BITRATE,
  PROP_SERVE_PAGE,
  PROP_NUM_CLIENTS,
  PROP_STATS,
};

enum { SIGNAL_CLIENT_CONNECTED, SIGNAL_CLIENT_DISCONNECTED, N_SIGNALS };
static guint signals[N_SIGNALS];

static RT_DEFINE_ENUM (delivery_get_type, "GstWebRTCBroadcastDelivery",
    { (gint) rt::broadcast::Delivery::DataChannel,
        "Opus chunks on an ordered, reliable data channel, with utterance "
        "start/end/abort messages",
        "data-channel" },
    { (gint) rt::broadcast::Delivery::Track,
        "An Opus RTP track: the lowest latency, no utterance messages",
        "track" })

#define gst_webrtc_broadcast_sink_parent_class parent_class
    G_DEFINE_TYPE_WITH_CODE (GstWebRTCBroadcastSink, gst_webrtc_broadcast_sink,
        GST_TYPE_BIN,
        GST_DEBUG_CATEGORY_INIT (broadcastsink_debug, "webrtcbroadcastsink", 0,
            "Audio to many web pages over WebRTC"));
GST_ELEMENT_REGISTER_DEFINE (webrtcbroadcastsink, "webrtcbroadcastsink",
    GST_RANK_NONE, GST_TYPE_WEBRTC_BROADCAST_SINK);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS ("audio/x-raw"));

static GstStaticPadTemplate client_template = GST_STATIC_PAD_TEMPLATE (
    "client_%s", GST_PAD_SINK, GST_PAD_REQUEST,
    GST_STATIC_CAPS ("audio/x-raw"));

static constexpr const char *kClientPrefix = "client_";

/* ---- the branches ---- */

static GstFlowReturn on_sample (GstAppSink *appsink, gpointer data)
{
  auto *b = static_cast<Branch *> (data);
  GstSample *sample = gst_app_sink_pull_sample (appsink);
  if (!sample)
    return GST_FLOW_EOS;
  gint rate = 48000, channels = 1;
  if (GstCaps *caps = gst_sample_get_caps (sample)) {
    const GstStructure *s = gst_caps_get_structure (caps, 0);
    gst_structure_get_int (s, "rate", &rate);
    gst_structure_get_int (s, "channels", &channels);
  }
  if (rt::broadcast::Server *server = b->sink->server)
    server->deliver (b->stream, gst_sample_get_buffer (sample), rate, channels);
  gst_sample_unref (sample);
  return GST_FLOW_OK;
}

static void on_eos (GstAppSink *, gpointer data)
{
  auto *b = static_cast<Branch *> (data);
  if (rt::broadcast::Server *server = b->sink->server)
    server->end_utterance (b->stream);
}

/* The events that bound an utterance for the pages, seen where they enter
 * the branch (opusenc does not pass gaps on): a gap ends it, a flush cuts it
 * short (a barge-in). */
static GstPadProbeReturn on_event (GstPad *, GstPadProbeInfo *info,
    gpointer data)
{
  auto *b = static_cast<Branch *> (data);
  rt::broadcast::Server *server = b->sink->server;
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  if (server && GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_START) {
    server->abort_utterance (b->stream);
  } else if (server && GST_EVENT_TYPE (event) == GST_EVENT_GAP) {
    GstClockTime at;
    gst_event_parse_gap (event, &at, nullptr);
    server->end_utterance_at (b->stream, at);
  }
  return GST_PAD_PROBE_OK;
}

static Branch *make_branch (GstWebRTCBroadcastSink *self,
    const std::string &stream, gint bitrate)
{
  auto b = std::make_unique<Branch> ();
  b->sink = self;
  b->stream = stream;
  b->convert = gst_element_factory_make ("audioconvert", nullptr);
  b->resample = gst_element_factory_make ("audioresample", nullptr);
  b->filter = gst_element_factory_make ("capsfilter", nullptr);
  b->encoder = gst_element_factory_make ("opusenc", nullptr);
  b->appsink = gst_element_factory_make ("appsink", nullptr);
  if (!b->convert || !b->resample || !b->filter || !b->encoder || !b->appsink) {
    for (GstElement *e :
        { b->convert, b->resample, b->filter, b->encoder, b->appsink })
      if (e)
        gst_object_unref (e);
    GST_ELEMENT_ERROR (self, CORE, MISSING_PLUGIN,
        ("opusenc or a base element is missing"),
        ("install gstreamer1.0-plugins-base"));
    return nullptr;
  }
  /* Opus runs at 48 kHz, one or two channels, whatever comes in. */
  GstCaps *caps = gst_caps_from_string (
      "audio/x-raw,rate=48000,channels=[1,2]");
  g_object_set (b->filter, "caps", caps, nullptr);
  gst_caps_unref (caps);
  g_object_set (b->encoder, "bitrate", bitrate, nullptr);
  /* Packets leave at the pipeline's pace (a file plays in real time), and a
   * branch added while playing never holds the pipeline's state change. */
  g_object_set (b->appsink, "sync", TRUE, "async", FALSE, "max-buffers", 8,
      nullptr);
  GstAppSinkCallbacks callbacks = {};
  callbacks.new_sample = on_sample;
  callbacks.eos = on_eos;
  gst_app_sink_set_callbacks (GST_APP_SINK (b->appsink), &callbacks, b.get (),
      nullptr);
  GstPad *pad = gst_element_get_static_pad (b->convert, "sink");
  gst_pad_add_probe (pad,
      GstPadProbeType (
          GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM | GST_PAD_PROBE_TYPE_EVENT_FLUSH),
      on_event, b.get (), nullptr);
  gst_object_unref (pad);
  gst_bin_add_many (GST_BIN (self), b->convert, b->resample, b->filter,
      b->encoder, b->appsink, nullptr);
  gst_element_link_many (b->convert, b->resample, b->filter, b->encoder,
      b->appsink, nullptr);
  Branch *raw = b.get ();
  GST_OBJECT_LOCK (self);
  (*self->branches)[stream] = std::move (b);
  GST_OBJECT_UNLOCK (self);
  return raw;
}

/* Claims a stream name for a branch about to be made: two requests for one
 * client cannot both go ahead. */
static bool claim (GstWebRTCBroadcastSink *self, const std::string &stream)
{
  GST_OBJECT_LOCK (self);
  bool ok = self->branches->emplace (stream, nullptr).second;
  GST_OBJECT_UNLOCK (self);
  return ok;
}

static GstPad *ghost_for (Branch *b, const char *name, GstPadTemplate *templ)
{
  GstPad *target = gst_element_get_static_pad (b->convert, "sink");
  GstPad *ghost = gst_ghost_pad_new_from_template (name, target, templ);
  gst_object_unref (target);
  return ghost;
}

static GstPad *gst_webrtc_broadcast_sink_request_new_pad (GstElement *element,
    GstPadTemplate *templ, const gchar *name, const GstCaps *)
{
  auto *self = GST_WEBRTC_BROADCAST_SINK (element);
  std::string id = name && g_str_has_prefix (name, kClientPrefix) ?
      name + strlen (kClientPrefix) :
      "";
  if (!rt::broadcast::valid_client_id (id)) {
    GST_WARNING_OBJECT (self,
        "request a client pad by name: client_<id> with the id of "
        "client-connected (letters, digits, '-' and '_', at most 32)");
    return nullptr;
  }
  if (!claim (self, id)) {
    GST_WARNING_OBJECT (self, "client %s already has a pad", id.c_str ());
    return nullptr;
  }
  GST_OBJECT_LOCK (self);
  gint bitrate = self->bitrate;
  GST_OBJECT_UNLOCK (self);
  Branch *b = make_branch (self, id, bitrate);
  if (!b) {
    GST_OBJECT_LOCK (self);
    self->branches->erase (id);
    GST_OBJECT_UNLOCK (self);
    return nullptr;
  }
  for (GstElement *e :
      { b->convert, b->resample, b->filter, b->encoder, b->appsink })
    gst_element_sync_state_with_parent (e);
  GstPad *ghost = ghost_for (b, name, templ);
  gst_pad_set_active (ghost, TRUE);
  gst_element_add_pad (element, ghost);
  GST_OBJECT_LOCK (self);
  if (self->server)
    self->server->set_own_stream (id, true);
  GST_OBJECT_UNLOCK (self);
  GST_INFO_OBJECT (self, "client %s has its own stream", id.c_str ());
  return ghost;
}

static void gst_webrtc_broadcast_sink_release_pad (GstElement *element,
    GstPad *pad)
{
  auto *self = GST_WEBRTC_BROADCAST_SINK (element);
  gchar *name = gst_pad_get_name (pad);
  std::string id = g_str_has_prefix (name, kClientPrefix) ?
      name + strlen (kClientPrefix) :
      "";
  g_free (name);
  std::unique_ptr<Branch> b;
  GST_OBJECT_LOCK (self);
  auto it = self->branches->find (id);
  if (!id.empty () && it != self->branches->end ()) {
    b = std::move (it->second);
    self->branches->erase (it);
  }
  if (self->server)
    self->server->set_own_stream (id, false);
  GST_OBJECT_UNLOCK (self);
  gst_element_remove_pad (element, pad);
  if (!b)
    return;
  for (GstElement *e :
      { b->convert, b->resample, b->filter, b->encoder, b->appsink }) {
    gst_element_set_locked_state (e, TRUE);
    gst_element_set_state (e, GST_STATE_NULL);
    gst_bin_remove (GST_BIN (self), e);
  }
}

/* ---- the server ---- */

struct Emit {
  GstWebRTCBroadcastSink *self;
  guint signal;
  std::string id;
};

static bool start_server (GstWebRTCBroadcastSink *self)
{
  GST_OBJECT_LOCK (self);
  rt::broadcast::Config config = *self->config;
  bool serve_page = self->serve_page;
  GST_OBJECT_UNLOCK (self);
  config.name = GST_OBJECT_NAME (self);
  if (serve_page) {
    GBytes *page = g_resource_lookup_data (webrtcbroadcast_get_resource (),
        "/org/gstreamer/webrtcbroadcast/player.html",
        G_RESOURCE_LOOKUP_FLAGS_NONE, nullptr);
    if (page) {
      gsize size = 0;
      const char *data = static_cast<const char *> (
          g_bytes_get_data (page, &size));
      config.page.assign (data, size);
      g_bytes_unref (page);
    }
  }
  rt::broadcast::Events events;
  /* The server's worker emits these; the element's weak ref is not needed:
   * the server (and its worker) ends before the element does. */
  events.connected = [self] (const std::string &id) {
    g_signal_emit (self, signals[SIGNAL_CLIENT_CONNECTED], 0, id.c_str ());
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (GST_OBJECT (self),
            gst_structure_new ("webrtcbroadcastsink-client", "event",
                G_TYPE_STRING, "connected", "client-id", G_TYPE_STRING,
                id.c_str (), nullptr)));
  };
  events.disconnected = [self] (const std::string &id) {
    g_signal_emit (self, signals[SIGNAL_CLIENT_DISCONNECTED], 0, id.c_str ());
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (GST_OBJECT (self),
            gst_structure_new ("webrtcbroadcastsink-client", "event",
                G_TYPE_STRING, "disconnected", "client-id", G_TYPE_STRING,
                id.c_str (), nullptr)));
  };
  events.warning = [self] (const std::string &text) {
    GST_ELEMENT_WARNING (self, RESOURCE, FAILED, ("%s", text.c_str ()),
        (nullptr));
  };
  auto *server = new rt::broadcast::Server (std::move (config),
      std::move (events));
  std::string error;
  if (!server->start (&error)) {
    delete server;
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ_WRITE, ("%s", error.c_str ()),
        (nullptr));
    return false;
  }
  /* Pads requested since the snapshot above count too. */
  GST_OBJECT_LOCK (self);
  for (auto &kv : *self->branches)
    if (!kv.first.empty ())
      server->set_own_stream (kv.first, true);
  self->server = server;
  GST_OBJECT_UNLOCK (self);
  g_object_notify (G_OBJECT (self), "bound-port");
  return true;
}

static GstStateChangeReturn gst_webrtc_broadcast_sink_change_state (
    GstElement *element, GstStateChange transition)
{
  auto *self = GST_WEBRTC_BROADCAST_SINK (element);
  if (transition == GST_STATE_CHANGE_NULL_TO_READY && !start_server (self))
    return GST_STATE_CHANGE_FAILURE;
  GstStateChangeReturn ret =
      GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_READY_TO_NULL ||
      (transition == GST_STATE_CHANGE_NULL_TO_READY &&
          ret == GST_STATE_CHANGE_FAILURE)) {
    /* Taken under the lock, deleted outside it: the server's thread may be
     * in a handler that requests a pad. */
    GST_OBJECT_LOCK (self);
    rt::broadcast::Server *server = self->server;
    self->server = nullptr;
    GST_OBJECT_UNLOCK (self);
    delete server;
  }
  return ret;
}

/* ---- properties ---- */

static GstStructure *make_stats (GstWebRTCBroadcastSink *self)
{
  GstStructure *s = gst_structure_new_empty ("webrtcbroadcastsink-stats");
  if (!self->server) {
    gst_structure_set (s, "num-clients", G_TYPE_UINT, 0u, nullptr);
    return s;
  }
  rt::broadcast::Counters n = self->server->counters ();
  auto clients = self->server->stats ();
  gst_structure_set (s, "num-clients", G_TYPE_UINT, (guint) clients.size (),
      "clients-total", G_TYPE_UINT64, n.clients_total, "clients-refused",
      G_TYPE_UINT64, n.clients_refused, "signalling-errors", G_TYPE_UINT64,
      n.signalling_errors, nullptr);
  /* One field per client, as webrtcbin's own stats are keyed by id. */
  for (const auto &c : clients) {
    GstStructure *cs = gst_structure_new ("client", "id", G_TYPE_STRING,
        c.id.c_str (), "state", G_TYPE_STRING, c.state.c_str (), "own-stream",
        G_TYPE_BOOLEAN, (gboolean) c.own_stream, "buffered-amount",
        G_TYPE_UINT64, c.buffered_amount, "unreceipted", G_TYPE_UINT64,
        c.unreceipted, "receipts", G_TYPE_BOOLEAN, (gboolean) c.receipts,
        "bad-receipts", G_TYPE_UINT64, c.bad_receipts, "bytes-sent",
        G_TYPE_UINT64, c.bytes_sent, "chunks-sent", G_TYPE_UINT64,
        c.chunks_sent, "drops", G_TYPE_UINT64, c.drops, "discontinuities",
        G_TYPE_UINT64, c.discontinuities, nullptr);
    gst_structure_set (s, ("client-" + c.id).c_str (), GST_TYPE_STRUCTURE, cs,
        nullptr);
    gst_structure_free (cs);
  }
  return s;
}

static void gst_webrtc_broadcast_sink_set_property (GObject *object, guint id,
    const GValue *value, GParamSpec *pspec)
{
  auto *self = GST_WEBRTC_BROADCAST_SINK (object);
  std::vector<GstElement *> encoders;
  GST_OBJECT_LOCK (self);
  rt::broadcast::Config &c = *self->config;
  auto str = [value] {
    const char *s = g_value_get_string (value);
    return std::string (s ? s : "");
  };
  switch (id) {
    case PROP_ADDRESS: c.address = str (); break;
    case PROP_PORT: c.port = g_value_get_int (value); break;
    case PROP_TLS_CERTIFICATE_FILE: c.tls_certificate_file = str (); break;
    case PROP_TLS_KEY_FILE: c.tls_key_file = str (); break;
    case PROP_DELIVERY:
      c.delivery = (rt::broadcast::Delivery) g_value_get_enum (value);
      break;
    case PROP_CHANNEL_LABEL: c.channel_label = str (); break;
    case PROP_STUN_SERVER: c.stun_server = str (); break;
    case PROP_TURN_SERVER: c.turn_server = str (); break;
    case PROP_BUFFERED_AMOUNT_HIGH:
      c.high_watermark = g_value_get_uint64 (value);
      break;
    case PROP_BUFFERED_AMOUNT_LOW_THRESHOLD:
      c.low_watermark = g_value_get_uint64 (value);
      break;
    case PROP_MAX_CLIENTS: c.max_clients = g_value_get_uint (value); break;
    case PROP_SERVE_PAGE: self->serve_page = g_value_get_boolean (value); break;
    case PROP_BITRATE:
      self->bitrate = g_value_get_int (value);
      for (auto &kv : *self->branches)
        if (kv.second) /* not a branch still being made */
          encoders.push_back (
              GST_ELEMENT (gst_object_ref (kv.second->encoder)));
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec);
  }
  if (c.low_watermark > c.high_watermark) {
    GST_WARNING_OBJECT (self,
        "buffered-amount-low-threshold above buffered-amount-high: "
        "using the high mark for both");
    c.low_watermark = c.high_watermark;
  }
  gint bitrate = self->bitrate;
  GST_OBJECT_UNLOCK (self);
  /* Not under the lock: a child's notify climbs to its parent's. */
  for (GstElement *e : encoders) {
    g_object_set (e, "bitrate", bitrate, nullptr);
    gst_object_unref (e);
  }
}

static void gst_webrtc_broadcast_sink_get_property (GObject *object, guint id,
    GValue *value, GParamSpec *pspec)
{
  auto *self = GST_WEBRTC_BROADCAST_SINK (object);
  GST_OBJECT_LOCK (self);
  if (id == PROP_STATS) {
    g_value_take_boxed (value, make_stats (self));
    GST_OBJECT_UNLOCK (self);
    return;
  }
  if (id == PROP_NUM_CLIENTS) {
    g_value_set_uint (value,
        self->server ? (guint) self->server->clients () : 0u);
    GST_OBJECT_UNLOCK (self);
    return;
  }
  if (id == PROP_BOUND_PORT) {
    g_value_set_int (value, self->server ? self->server->bound_port () : 0);
    GST_OBJECT_UNLOCK (self);
    return;
  }
  const rt::broadcast::Config &c = *self->config;
  switch (id) {
    case PROP_ADDRESS: g_value_set_string (value, c.address.c_str ()); break;
    case PROP_PORT: g_value_set_int (value, c.port); break;
    case PROP_TLS_CERTIFICATE_FILE:
      g_value_set_string (value, c.tls_certificate_file.c_str ());
      break;
    case PROP_TLS_KEY_FILE:
      g_value_set_string (value, c.tls_key_file.c_str ());
      break;
    case PROP_DELIVERY: g_value_set_enum (value, (gint) c.delivery); break;
    case PROP_CHANNEL_LABEL:
      g_value_set_string (value, c.channel_label.c_str ());
      break;
    case PROP_STUN_SERVER:
      g_value_set_string (value, c.stun_server.c_str ());
      break;
    /* A TURN URI carries a password: it is never read back. */
    case PROP_TURN_SERVER:
      g_value_set_string (value,
          c.turn_server.empty () ? nullptr : "turn://***");
      break;
    case PROP_BUFFERED_AMOUNT_HIGH:
      g_value_set_uint64 (value, c.high_watermark);
      break;
    case PROP_BUFFERED_AMOUNT_LOW_THRESHOLD:
      g_value_set_uint64 (value, c.low_watermark);
      break;
    case PROP_MAX_CLIENTS: g_value_set_uint (value, c.max_clients); break;
    case PROP_SERVE_PAGE: g_value_set_boolean (value, self->serve_page); break;
    case PROP_BITRATE: g_value_set_int (value, self->bitrate); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec);
  }
  GST_OBJECT_UNLOCK (self);
}

static void gst_webrtc_broadcast_sink_init (GstWebRTCBroadcastSink *self)
{
  self->config = new rt::broadcast::Config ();
  self->bitrate = 64000;
  self->serve_page = TRUE;
  self->branches = new std::map<std::string, std::unique_ptr<Branch>> ();
  self->server = nullptr;
  /* The always pad: what every client hears unless it has a pad of its own. */
  if (Branch *b = make_branch (self, "", self->bitrate)) {
    GstPad *ghost = ghost_for (b, "sink",
        gst_element_class_get_pad_template (GST_ELEMENT_GET_CLASS (self),
            "sink"));
    gst_element_add_pad (GST_ELEMENT (self), ghost);
  }
  GST_OBJECT_FLAG_SET (self, GST_ELEMENT_FLAG_SINK);
}

static void gst_webrtc_broadcast_sink_finalize (GObject *object)
{
  auto *self = GST_WEBRTC_BROADCAST_SINK (object);
  delete self->server;
  delete self->branches;
  delete self->config;
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void gst_webrtc_broadcast_sink_class_init (
    GstWebRTCBroadcastSinkClass *klass)
{
  auto *gobject_class = G_OBJECT_CLASS (klass);
  auto *element_class = GST_ELEMENT_CLASS (klass);
  gobject_class->set_property = gst_webrtc_broadcast_sink_set_property;
  gobject_class->get_property = gst_webrtc_broadcast_sink_get_property;
  gobject_class->finalize = gst_webrtc_broadcast_sink_finalize;
  element_class->change_state = gst_webrtc_broadcast_sink_change_state;
  element_class->request_new_pad = gst_webrtc_broadcast_sink_request_new_pad;
  element_class->release_pad = gst_webrtc_broadcast_sink_release_pad;

  /* Read when the element goes to READY. */
  const auto rw = GParamFlags (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  const auto ro = GParamFlags (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  rt::broadcast::Config d;
  g_object_class_install_property (gobject_class, PROP_ADDRESS,
      g_param_spec_string ("address", "Address",
          "IP address the HTTP/WebSocket server listens on (loopback by default; "
          "0.0.0.0 or :: to serve other machines)",
          d.address.c_str (), rw));
  g_object_class_install_property (gobject_class, PROP_PORT,
      g_param_spec_int ("port", "Port",
          "TCP port of the server; 0 picks a free one (see bound-port). Pages load the "
          "player at / and signal on /ws",
          0, 65535, d.port, rw));
  g_object_class_install_property (gobject_class, PROP_BOUND_PORT,
      g_param_spec_int ("bound-port", "Bound port",
          "The port the server listens on, from READY on (0 before)", 0, 65535,
          0, ro));
  g_object_class_install_property (gobject_class, PROP_TLS_CERTIFICATE_FILE,
      g_param_spec_string ("tls-certificate-file", "TLS certificate file",
          "PEM certificate: when set, the server speaks HTTPS and WSS only (browsers allow "
          "the microphone and WebRTC off loopback only on secure pages)",
          nullptr, rw));
  g_object_class_install_property (gobject_class, PROP_TLS_KEY_FILE,
      g_param_spec_string ("tls-key-file", "TLS key file",
          "PEM private key of tls-certificate-file (unset: the key is in that file)",
          nullptr, rw));
  g_object_class_install_property (gobject_class, PROP_DELIVERY,
      g_param_spec_enum ("delivery", "Delivery",
          "How audio reaches the pages: Opus chunks on a data channel (with utterance "
          "messages, played gap-free by the page) or an Opus RTP track (lowest latency)",
          delivery_get_type (), (gint) d.delivery, rw));
  g_object_class_install_property (gobject_class, PROP_CHANNEL_LABEL,
      g_param_spec_string ("channel-label", "Channel label",
          "Label of the audio data channel (delivery=data-channel)",
          d.channel_label.c_str (), rw));
  g_object_class_install_property (gobject_class, PROP_STUN_SERVER,
      g_param_spec_string ("stun-server", "STUN server",
          "stun://host:port, for the server's peer connections and offered to the pages",
          nullptr, rw));
  g_object_class_install_property (gobject_class, PROP_TURN_SERVER,
      g_param_spec_string ("turn-server", "TURN server",
          "turn(s)://user:password@host:port, for the server's peer connections and offered "
          "to the pages (write-only in effect: reads back masked)",
          nullptr, rw));
  g_object_class_install_property (gobject_class, PROP_BUFFERED_AMOUNT_HIGH,
      g_param_spec_uint64 ("buffered-amount-high",
          "Buffered amount high watermark",
          "Bytes a page may be behind (queued on its data channel, or sent and not yet "
          "receipted by the page) above which its chunks are dropped (counted in stats) "
          "until it is back to buffered-amount-low-threshold",
          1024, G_MAXUINT64, d.high_watermark, rw));
  g_object_class_install_property (gobject_class,
      PROP_BUFFERED_AMOUNT_LOW_THRESHOLD,
      g_param_spec_uint64 ("buffered-amount-low-threshold",
          "Buffered amount low watermark",
          "Bytes behind at or below which a dropping page is fed again (also set as the "
          "channel's own buffered-amount-low-threshold)",
          0, G_MAXUINT64, d.low_watermark, rw));
  g_object_class_install_property (gobject_class, PROP_MAX_CLIENTS,
      g_param_spec_uint ("max-clients", "Max clients",
          "Pages served at once; more are refused with a server-full error", 1,
          10000, d.max_clients, rw));
  g_object_class_install_property (gobject_class, PROP_BITRATE,
      g_param_spec_int ("bitrate", "Bitrate",
          "Opus bitrate in bit/s of every stream (libopus caps it at 256 kbit/s per channel)",
          6000, 512000, 64000, GParamFlags (rw | GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property (gobject_class, PROP_SERVE_PAGE,
      g_param_spec_boolean ("serve-page", "Serve page",
          "Serve the bundled player page at / (off: the application serves its own page, "
          "which only needs the WebSocket at /ws)",
          TRUE, rw));
  g_object_class_install_property (gobject_class, PROP_NUM_CLIENTS,
      g_param_spec_uint ("num-clients", "Clients", "Pages connected now", 0,
          G_MAXUINT, 0, ro));
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "num-clients, clients-total, clients-refused, signalling-errors, and for each "
          "client a structure in the field client-<id>: id, state, own-stream, "
          "buffered-amount, unreceipted, receipts, bad-receipts, bytes-sent, chunks-sent, drops, "
          "discontinuities",
          GST_TYPE_STRUCTURE, ro));

  /**
   * GstWebRTCBroadcastSink::client-connected:
   * @id: the client's id
   *
   * A page connected. Request the pad "client_<id>" (from this handler or
   * later) to give that page a stream of its own; until then it hears the
   * sink pad. Emitted from the server's thread.
   */
  signals[SIGNAL_CLIENT_CONNECTED] = g_signal_new ("client-connected",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, nullptr, nullptr,
      nullptr, G_TYPE_NONE, 1, G_TYPE_STRING);
  /**
   * GstWebRTCBroadcastSink::client-disconnected:
   * @id: the client's id
   *
   * A page went away and everything the server held for it is released. Its
   * pad, if any, stays until released: a page that reconnects with its id
   * hears it again.
   */
  signals[SIGNAL_CLIENT_DISCONNECTED] = g_signal_new ("client-disconnected",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, nullptr, nullptr,
      nullptr, G_TYPE_NONE, 1, G_TYPE_STRING);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &client_template);
  rt_mark_enums_as_plugin_api (gobject_class);
  gst_element_class_set_static_metadata (element_class, "WebRTC broadcast sink",
      "Sink/Network/Audio/WebRTC",
      "Streams audio to any number of web pages over WebRTC, with its own signalling "
      "server and player page; one stream for all, or one per page",
      "gst-openai-realtime maintainers");
  gst_element_class_add_static_metadata (element_class,
      GST_ELEMENT_METADATA_DOC_URI, PACKAGE_DOC_URI "#webrtcbroadcastsink");
}
