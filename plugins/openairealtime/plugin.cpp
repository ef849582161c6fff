/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gstephemeraltokenprovider.h"
#include "gstopenairealtimesink.h"
#include "gstopenairealtimesrc.h"

#include "config.h"
#include "core/debug.h"

static gboolean plugin_init (GstPlugin *plugin)
{
  /* First, so that the permanent key is masked in every later log line. */
  rt::init_debug ();
  return GST_ELEMENT_REGISTER (ephemeraltokenprovider, plugin) &&
      GST_ELEMENT_REGISTER (openairealtimesink, plugin) &&
      GST_ELEMENT_REGISTER (openairealtimesrc, plugin);
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, openairealtime,
    "Realtime AI agents (OpenAI Realtime over WebRTC) in a pipeline",
    plugin_init, PACKAGE_VERSION, "LGPL", PACKAGE, PACKAGE_ORIGIN)
