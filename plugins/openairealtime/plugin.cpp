#include "gstephemeraltokenprovider.h"
#include "gstopenairealtimesink.h"
#include "gstopenairealtimesrc.h"

#include "debug.h"

static gboolean plugin_init (GstPlugin *plugin)
{
  /* First, so that the permanent key is masked in every later log line. */
  rt::init_debug ();
  return GST_ELEMENT_REGISTER (ephemeraltokenprovider, plugin) &&
      GST_ELEMENT_REGISTER (openairealtimesink, plugin) &&
      GST_ELEMENT_REGISTER (openairealtimesrc, plugin);
}

#define PACKAGE "gst-openai-realtime"
GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, openairealtime,
    "Realtime AI agents (OpenAI Realtime over WebRTC) in a pipeline",
    plugin_init, "0.1.0", "LGPL", PACKAGE, "https://github.com/gst-openai-realtime")
