#include "gstwebrtcbroadcastsink.h"

#include "debug.h"

static gboolean plugin_init (GstPlugin *plugin)
{
  rt::init_debug ();
  return GST_ELEMENT_REGISTER (webrtcbroadcastsink, plugin);
}

#define PACKAGE "gst-openai-realtime"
GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, webrtcbroadcast,
    "Audio from a pipeline to many web pages over WebRTC",
    plugin_init, "0.1.0", "LGPL", PACKAGE, "https://github.com/gst-openai-realtime")
