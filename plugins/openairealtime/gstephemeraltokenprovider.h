/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ephemeraltokenprovider: holds the permanent API key and mints the
 * short-lived secrets that the media elements start calls with. */
#pragma once

#include <gst/gst.h>

#include "gst/openairealtime/tokenprovider.h"

#ifdef __cplusplus
#include <memory>
namespace rt {
class SecretMinter;
}
#endif

G_BEGIN_DECLS

#define GST_TYPE_EPHEMERAL_TOKEN_PROVIDER                                      \
  (gst_ephemeral_token_provider_get_type ())
G_DECLARE_FINAL_TYPE (GstEphemeralTokenProvider, gst_ephemeral_token_provider,
    GST, EPHEMERAL_TOKEN_PROVIDER, GstElement)

GST_ELEMENT_REGISTER_DECLARE (ephemeraltokenprovider);

/* The context that carries a provider is made by the application API
 * (gst/openairealtime), compiled into this plugin too. */
GstEphemeralTokenProvider *gst_ephemeral_token_provider_from_context (
    GstContext *context);

/* A provider configured from the environment, for pipelines without one. */
GstEphemeralTokenProvider *gst_ephemeral_token_provider_new_implicit (void);

G_END_DECLS

#ifdef __cplusplus
std::shared_ptr<rt::SecretMinter> gst_ephemeral_token_provider_get_minter (
    GstEphemeralTokenProvider *provider);
#endif
