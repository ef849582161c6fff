/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The API of gst-openai-realtime for applications (pkg-config
 * gst-openai-realtime-0.1): what they need to give the media elements an
 * ephemeraltokenprovider that is not in the same pipeline. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#ifdef BUILDING_GST_OPENAI_REALTIME
#define GST_OPENAI_REALTIME_API GST_API_EXPORT
#else
#define GST_OPENAI_REALTIME_API GST_API_IMPORT
#endif

/* The GstContext type through which openairealtimesink and openairealtimesrc
 * find a provider; its structure holds the provider in the field
 * "provider". */
#define GST_EPHEMERAL_TOKEN_PROVIDER_CONTEXT "openai.realtime.token-provider"

/* A new context that hands @provider (an ephemeraltokenprovider element) to
 * the media elements it is set on, with gst_element_set_context(); NULL if
 * @provider is another element. */
GST_OPENAI_REALTIME_API
GstContext *gst_ephemeral_token_provider_make_context (GstElement *provider);

G_END_DECLS
