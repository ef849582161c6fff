/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gstsipphone.h"

#include "config.h"
#include "core/debug.h"

static gboolean plugin_init (GstPlugin *plugin)
{
  rt::init_debug ();
  return GST_ELEMENT_REGISTER (sipphone, plugin);
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, sipphone,
    "A phone line over SIP on a WebSocket, with WebRTC media", plugin_init,
    PACKAGE_VERSION, "LGPL", PACKAGE, PACKAGE_ORIGIN)
