/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tokenprovider.h"

GstContext *gst_ephemeral_token_provider_make_context (GstElement *provider)
{
  /* By name: the type is registered by the plugin, which an application
   * loads but does not link. */
  GType type = g_type_from_name ("GstEphemeralTokenProvider");
  g_return_val_if_fail (
      type != 0 && G_TYPE_CHECK_INSTANCE_TYPE (provider, type), NULL);
  GstContext *context = gst_context_new (GST_EPHEMERAL_TOKEN_PROVIDER_CONTEXT,
      TRUE);
  gst_structure_set (gst_context_writable_structure (context), "provider", type,
      provider, NULL);
  return context;
}
