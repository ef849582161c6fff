/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gstwebrtcbroadcastsink.h"

#include "config.h"
#include "core/debug.h"

static gboolean plugin_init (GstPlugin *plugin)
{
  rt::init_debug ();
  return GST_ELEMENT_REGISTER (webrtcbroadcastsink, plugin);
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, webrtcbroadcast,
    "Audio from a pipeline to many web pages over WebRTC", plugin_init,
    PACKAGE_VERSION, "LGPL", PACKAGE, PACKAGE_ORIGIN)
