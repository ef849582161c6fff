/* ephemeraltokenprovider: holds the permanent API key and mints the
 * short-lived secrets that the media elements start calls with. */
#pragma once

#include <gst/gst.h>

#ifdef __cplusplus
#include <memory>
namespace rt { class SecretMinter; }
#endif

G_BEGIN_DECLS

#define GST_TYPE_EPHEMERAL_TOKEN_PROVIDER (gst_ephemeral_token_provider_get_type ())
G_DECLARE_FINAL_TYPE (GstEphemeralTokenProvider, gst_ephemeral_token_provider,
    GST, EPHEMERAL_TOKEN_PROVIDER, GstElement)

GST_ELEMENT_REGISTER_DECLARE (ephemeraltokenprovider);

/* The GstContext type through which media elements find a provider; the
 * context's structure holds it in the field "provider". */
#define GST_EPHEMERAL_TOKEN_PROVIDER_CONTEXT "openai.realtime.token-provider"

GstContext *gst_ephemeral_token_provider_make_context (GstEphemeralTokenProvider *provider);
GstEphemeralTokenProvider *gst_ephemeral_token_provider_from_context (GstContext *context);

/* A provider configured from the environment, for pipelines without one. */
GstEphemeralTokenProvider *gst_ephemeral_token_provider_new_implicit (void);

G_END_DECLS

#ifdef __cplusplus
std::shared_ptr<rt::SecretMinter>
gst_ephemeral_token_provider_get_minter (GstEphemeralTokenProvider *provider);
#endif
