/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gstephemeraltokenprovider.h"

#include "config.h"
#include "openai/credentials.h"
#include "core/debug.h"
#include "core/redact.h"
#include "core/enums.h"
#include "openai/secret_endpoint.h"

#include <atomic>
#include <memory>

GST_DEBUG_CATEGORY_STATIC (provider_debug);
#define GST_CAT_DEFAULT provider_debug

/* With no API key anywhere, the elements talk to the project's local
 * realtime server, so a first pipeline works offline. */
#define LOCAL_SERVER_URL "http://127.0.0.1:8765"
#define LOCAL_SERVER_KEY "local-dev-key"
#define DEFAULT_API_BASE "https://api.openai.com"
#define DEFAULT_MODEL "gpt-realtime"
#define DEFAULT_TTL 60
#define DEFAULT_HTTP_ADDRESS "127.0.0.1"
#define DEFAULT_HTTP_PORT -1

/* The C++ state of the element, created in init and destroyed in
 * finalize. */
struct ProviderState {
  /* Locks of their own. */
  std::shared_ptr<rt::SecretMinter> minter =
      std::make_shared<rt::SecretMinter> ();
  rt::SecretEndpoint endpoint {
    minter
  }; /* secrets for web pages (http-port) */

  /* Under the object lock; taken when the element goes to READY. */
  std::string http_address = DEFAULT_HTTP_ADDRESS;
  gint http_port = DEFAULT_HTTP_PORT;
  /* api-key was set as a property: $OPENAI_API_KEY no longer counts, and
   * a key file set later does not replace it. */
  bool key_set = false;
};

struct _GstEphemeralTokenProvider {
  GstElement parent;
  ProviderState *priv;
};

enum {
  PROP_0,
  PROP_API_KEY,
  PROP_API_BASE,
  PROP_MODEL,
  PROP_INSTRUCTIONS,
  PROP_VOICE,
  PROP_TOKEN_TTL,
  PROP_SECRETS_MINTED,
  PROP_API_FLAVOR,
  PROP_HTTP_ADDRESS,
  PROP_HTTP_PORT,
  PROP_HTTP_BOUND_PORT,
  PROP_ALLOWED_ORIGINS,
  PROP_RATE_LIMIT,
  PROP_SECRETS_SERVED,
  PROP_REQUESTS_REFUSED_ORIGIN,
  PROP_REQUESTS_RATE_LIMITED,
  PROP_API_KEY_FILE,
  N_PROPERTIES,
};

static GParamSpec *properties[N_PROPERTIES];

static RT_DEFINE_ENUM (api_flavor_get_type, "GstOpenAIRealtimeApiFlavor",
    { (gint) rt::ApiFlavor::Auto,
        "Azure OpenAI for *.openai.azure.com, "
        "*.cognitiveservices.azure.com and bases ending in /openai; OpenAI "
        "otherwise",
        "auto" },
    { (gint) rt::ApiFlavor::OpenAI,
        "OpenAI: {api-base}/v1/realtime, "
        "Authorization: Bearer",
        "openai" },
    { (gint) rt::ApiFlavor::Azure,
        "Azure OpenAI (GA): "
        "{api-base}/openai/v1/realtime, api-key header; model is the deployment "
        "name",
        "azure" })

#define gst_ephemeral_token_provider_parent_class parent_class
    G_DEFINE_TYPE_WITH_CODE (GstEphemeralTokenProvider,
        gst_ephemeral_token_provider, GST_TYPE_ELEMENT,
        GST_DEBUG_CATEGORY_INIT (provider_debug, "ephemeraltokenprovider", 0,
            "Ephemeral secrets for realtime calls"));
GST_ELEMENT_REGISTER_DEFINE (ephemeraltokenprovider, "ephemeraltokenprovider",
    GST_RANK_NONE, GST_TYPE_EPHEMERAL_TOKEN_PROVIDER);

static rt::SecretMinter &minter_of (GstEphemeralTokenProvider *self)
{
  return *self->priv->minter;
}

/* Key and base as a call will use them: the local server stands in when no
 * key is set (nor a key file) and the base was left at its default. Said
 * once per provider at WARNING, and with any error of a call. */
static std::function<void (rt::SecretMinter::Settings &)> local_fallback ()
{
  auto warned = std::make_shared<std::atomic<bool>> (false);
  return [warned] (rt::SecretMinter::Settings &s) {
    if (!s.api_key.empty () || !s.api_key_file.empty () ||
        s.api_base != DEFAULT_API_BASE)
      return;
    const char *url = g_getenv ("OPENAI_REALTIME_LOCAL_URL");
    const char *key = g_getenv ("REALTIME_SERVER_API_KEY");
    s.api_base = url && *url ? url : LOCAL_SERVER_URL;
    s.api_key = key && *key ? key : LOCAL_SERVER_KEY;
    s.stand_in = "no API key is set, so the local realtime server at " +
        s.api_base +
        " stands in for the service; set api-key, api-key-file or "
        "OPENAI_API_KEY to reach it";
    if (!warned->exchange (true))
      GST_WARNING ("%s", s.stand_in.c_str ());
  };
}

static void gst_ephemeral_token_provider_set_property (GObject *object,
    guint prop_id, const GValue *value, GParamSpec *pspec)
{
  auto *self = GST_EPHEMERAL_TOKEN_PROVIDER (object);
  const char *str = nullptr;
  if (G_VALUE_HOLDS_STRING (value))
    str = g_value_get_string (value);
  std::string s = str ? str : "";
  switch (prop_id) {
    case PROP_HTTP_ADDRESS:
      GST_OBJECT_LOCK (self);
      self->priv->http_address = s.empty () ? DEFAULT_HTTP_ADDRESS : s;
      GST_OBJECT_UNLOCK (self);
      return;
    case PROP_HTTP_PORT:
      GST_OBJECT_LOCK (self);
      self->priv->http_port = g_value_get_int (value);
      GST_OBJECT_UNLOCK (self);
      return;
    case PROP_ALLOWED_ORIGINS:
      self->priv->endpoint.policy ().set_allowed_origins (s);
      for (const auto &bad : self->priv->endpoint.policy ().rejected_origins ())
        GST_WARNING_OBJECT (self,
            "allowed-origins: '%s' is not an origin "
            "(scheme://host[:port]); ignored",
            bad.c_str ());
      return;
    case PROP_RATE_LIMIT:
      self->priv->endpoint.policy ().set_rate_limit (g_value_get_uint (value));
      return;
    default: break;
  }
  if (prop_id == PROP_API_KEY) {
    GST_OBJECT_LOCK (self);
    self->priv->key_set = true;
    GST_OBJECT_UNLOCK (self);
  }
  GST_OBJECT_LOCK (self);
  const bool key_set = self->priv->key_set;
  GST_OBJECT_UNLOCK (self);
  minter_of (self).configure ([&] (rt::SecretMinter::Settings &st) {
    switch (prop_id) {
      case PROP_API_KEY: st.api_key = s; break;
      case PROP_API_KEY_FILE:
        st.api_key_file = s;
        /* The file replaces a key from the environment, not one set. */
        if (!key_set)
          st.api_key.clear ();
        break;
      case PROP_API_BASE:
        st.api_base = s.empty () ? DEFAULT_API_BASE : s;
        break;
      case PROP_MODEL: st.session.model = s.empty () ? DEFAULT_MODEL : s; break;
      case PROP_INSTRUCTIONS: st.session.instructions = s; break;
      case PROP_VOICE: st.session.voice = s; break;
      case PROP_TOKEN_TTL: st.ttl_seconds = g_value_get_int (value); break;
      case PROP_API_FLAVOR:
        st.flavor = (rt::ApiFlavor) g_value_get_enum (value);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
        break;
    }
  });
  if (prop_id == PROP_API_KEY)
    GST_DEBUG_OBJECT (self, "api-key set: %s",
        rt::describe_secret (s).c_str ());
}

static void gst_ephemeral_token_provider_get_property (GObject *object,
    guint prop_id, GValue *value, GParamSpec *pspec)
{
  auto *self = GST_EPHEMERAL_TOKEN_PROVIDER (object);
  rt::SecretMinter::Settings st = minter_of (self).snapshot ();
  switch (prop_id) {
    case PROP_API_BASE: g_value_set_string (value, st.api_base.c_str ()); break;
    case PROP_API_KEY_FILE:
      g_value_set_string (value, st.api_key_file.c_str ());
      break;
    case PROP_MODEL:
      g_value_set_string (value, st.session.model.c_str ());
      break;
    case PROP_INSTRUCTIONS:
      g_value_set_string (value, st.session.instructions.c_str ());
      break;
    case PROP_VOICE:
      g_value_set_string (value, st.session.voice.c_str ());
      break;
    case PROP_TOKEN_TTL: g_value_set_int (value, st.ttl_seconds); break;
    case PROP_API_FLAVOR: g_value_set_enum (value, (gint) st.flavor); break;
    case PROP_SECRETS_MINTED:
      g_value_set_uint (value, minter_of (self).minted ());
      break;
    case PROP_HTTP_ADDRESS:
      GST_OBJECT_LOCK (self);
      g_value_set_string (value, self->priv->http_address.c_str ());
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_HTTP_PORT:
      GST_OBJECT_LOCK (self);
      g_value_set_int (value, self->priv->http_port);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_HTTP_BOUND_PORT:
      g_value_set_int (value, self->priv->endpoint.port ());
      break;
    case PROP_ALLOWED_ORIGINS:
      g_value_set_string (value,
          self->priv->endpoint.policy ().allowed_origins ().c_str ());
      break;
    case PROP_RATE_LIMIT:
      g_value_set_uint (value, self->priv->endpoint.policy ().rate_limit ());
      break;
    case PROP_SECRETS_SERVED:
      g_value_set_uint (value, self->priv->endpoint.counters ().served);
      break;
    case PROP_REQUESTS_REFUSED_ORIGIN:
      g_value_set_uint (value, self->priv->endpoint.counters ().refused_origin);
      break;
    case PROP_REQUESTS_RATE_LIMITED:
      g_value_set_uint (value, self->priv->endpoint.counters ().rate_limited);
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec); break;
  }
}

/* Starts the secret endpoint when http-port asks for it. */
static gboolean start_http (GstEphemeralTokenProvider *self)
{
  GST_OBJECT_LOCK (self);
  std::string address = self->priv->http_address;
  int port = self->priv->http_port;
  GST_OBJECT_UNLOCK (self);
  if (port < 0)
    return TRUE;
  std::string error;
  if (!self->priv->endpoint.start (address, port, &error)) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ_WRITE,
        ("Cannot serve client secrets over HTTP: %s", error.c_str ()),
        ("http-address=%s http-port=%d", address.c_str (), port));
    return FALSE;
  }
  const std::string origins = self->priv->endpoint.policy ().allowed_origins ();
  GST_INFO_OBJECT (self,
      "client secrets at http://%s:%d%s (allowed origins: "
      "%s; %u a minute per client)",
      address.c_str (), self->priv->endpoint.port (), rt::SecretPolicy::kPath,
      origins.empty () ? "none" : origins.c_str (),
      self->priv->endpoint.policy ().rate_limit ());
  if (origins.empty ())
    GST_WARNING_OBJECT (self,
        "allowed-origins is empty: web pages will be "
        "refused (403); only clients that send no Origin are served");
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HTTP_BOUND_PORT]);
  return TRUE;
}

static GstStateChangeReturn gst_ephemeral_token_provider_change_state (
    GstElement *element, GstStateChange transition)
{
  auto *self = GST_EPHEMERAL_TOKEN_PROVIDER (element);
  if (transition == GST_STATE_CHANGE_NULL_TO_READY) {
    if (!start_http (self))
      return GST_STATE_CHANGE_FAILURE;
    /* Bins keep the context and hand it to the media elements when they ask
     * for it (need-context), whatever order they change state in. */
    GstContext *context = gst_ephemeral_token_provider_make_context (element);
    gst_element_post_message (element,
        gst_message_new_have_context (GST_OBJECT (element), context));
  }
  GstStateChangeReturn ret =
      GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_READY_TO_NULL ||
      (transition == GST_STATE_CHANGE_NULL_TO_READY &&
          ret == GST_STATE_CHANGE_FAILURE)) {
    bool was_serving = self->priv->endpoint.port () != 0;
    self->priv->endpoint.stop ();
    if (was_serving)
      g_object_notify_by_pspec (G_OBJECT (self),
          properties[PROP_HTTP_BOUND_PORT]);
  }
  return ret;
}

static void gst_ephemeral_token_provider_finalize (GObject *object)
{
  auto *self = GST_EPHEMERAL_TOKEN_PROVIDER (object);
  delete self->priv;
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void gst_ephemeral_token_provider_init (GstEphemeralTokenProvider *self)
{
  rt::init_debug ();
  self->priv = new ProviderState ();
  const char *env_key = g_getenv ("OPENAI_API_KEY");
  const char *env_file = g_getenv ("OPENAI_API_KEY_FILE");
  minter_of (self).configure ([&] (rt::SecretMinter::Settings &st) {
    st.api_base = DEFAULT_API_BASE;
    st.api_key = env_key ? env_key : "";
    if (st.api_key.empty () && env_file)
      st.api_key_file = env_file;
    st.session.model = DEFAULT_MODEL;
    st.ttl_seconds = DEFAULT_TTL;
  });
  minter_of (self).set_resolver (local_fallback ());
}

static void gst_ephemeral_token_provider_class_init (
    GstEphemeralTokenProviderClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  gobject_class->set_property = gst_ephemeral_token_provider_set_property;
  gobject_class->get_property = gst_ephemeral_token_provider_get_property;
  gobject_class->finalize = gst_ephemeral_token_provider_finalize;
  element_class->change_state = gst_ephemeral_token_provider_change_state;

  const auto rw = (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_PLAYING);
  g_object_class_install_property (gobject_class, PROP_API_KEY,
      g_param_spec_string ("api-key", "API key",
          "The permanent API key used to mint ephemeral secrets. Write-only: it "
          "is never readable, logged or posted. Defaults to $OPENAI_API_KEY "
          "(see also api-key-file); with no key and the default api-base, the "
          "local realtime server (" LOCAL_SERVER_URL
          ", or $OPENAI_REALTIME_LOCAL_URL) is used, with a warning",
          nullptr,
          (GParamFlags) (G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property (gobject_class, PROP_API_BASE,
      g_param_spec_string ("api-base", "API base URL",
          "Base URL of the realtime service; secrets are minted at "
          "{api-base}/v1/realtime/client_secrets and calls posted to "
          "{api-base}/v1/realtime/calls (Azure OpenAI: the resource's URL, "
          "e.g. https://NAME.openai.azure.com, see api-flavor)",
          DEFAULT_API_BASE, rw));
  g_object_class_install_property (gobject_class, PROP_API_FLAVOR,
      g_param_spec_enum ("api-flavor", "API flavor",
          "Which service api-base is: OpenAI, or Azure OpenAI (paths under "
          "/openai/v1/realtime, the key sent as an api-key header, model = "
          "the deployment's name)",
          api_flavor_get_type (), (gint) rt::ApiFlavor::Auto, rw));
  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "The realtime model the secrets are minted for (it cannot change "
          "during a call)",
          DEFAULT_MODEL, rw));
  g_object_class_install_property (gobject_class, PROP_INSTRUCTIONS,
      g_param_spec_string ("instructions", "Instructions",
          "System instructions for the agent, sent when minting and again "
          "with session.update once the call is up",
          nullptr, rw));
  g_object_class_install_property (gobject_class, PROP_VOICE,
      g_param_spec_string ("voice", "Voice",
          "The agent's voice (alloy, ash, ballad, coral, echo, sage, shimmer, "
          "verse, marin, cedar); empty for the service's default",
          nullptr, rw));
  g_object_class_install_property (gobject_class, PROP_TOKEN_TTL,
      g_param_spec_int ("token-ttl", "Token TTL",
          "Lifetime of each minted secret in seconds: how long it may be used "
          "to start a call (a started call outlives it)",
          10, 7200, DEFAULT_TTL, rw));
  g_object_class_install_property (gobject_class, PROP_SECRETS_MINTED,
      g_param_spec_uint ("secrets-minted", "Secrets minted",
          "How many secrets this provider has minted (for calls and for web "
          "pages)",
          0, G_MAXUINT, 0,
          (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  /* The secret endpoint for web pages. */
  /* Taken when the endpoint starts (NULL to READY): changeable in NULL only. */
  const auto at_ready = (GParamFlags) (G_PARAM_READWRITE |
      G_PARAM_STATIC_STRINGS);
  const auto counter = (GParamFlags) (G_PARAM_READABLE |
      G_PARAM_STATIC_STRINGS);
  properties[PROP_HTTP_ADDRESS] = g_param_spec_string ("http-address",
      "HTTP address",
      "IP address the secret endpoint listens on (see http-port). The default, "
      "loopback, serves pages on this machine only; 0.0.0.0 or :: would offer "
      "secrets to the network. Taken when the element goes to READY",
      DEFAULT_HTTP_ADDRESS, at_ready);
  properties[PROP_HTTP_PORT] = g_param_spec_int ("http-port", "HTTP port",
      "Serve fresh client secrets to web pages at "
      "POST http://{http-address}:{port}/api/generate-client-secret: -1 = off, "
      "0 = any free port (read http-bound-port), else that port. Pages must "
      "be listed in allowed-origins. Taken when the element goes to READY",
      -1, 65535, DEFAULT_HTTP_PORT, at_ready);
  properties[PROP_HTTP_BOUND_PORT] = g_param_spec_int ("http-bound-port",
      "HTTP bound port",
      "The port the secret endpoint listens on; 0 when it is off. Notified "
      "when it starts (READY) and stops (NULL)",
      0, 65535, 0, counter);
  properties[PROP_ALLOWED_ORIGINS] = g_param_spec_string ("allowed-origins",
      "Allowed origins",
      "Comma-separated web origins (scheme://host[:port], e.g. "
      "http://127.0.0.1:8080) whose pages may ask for secrets; \"*\" allows any "
      "page (development only). Requests with any other Origin get 403 and no "
      "CORS headers; requests without an Origin (not from a browser) are "
      "served. Empty (the default): no page is served",
      "", rw);
  properties[PROP_RATE_LIMIT] = g_param_spec_uint ("rate-limit", "Rate limit",
      "Secrets per minute per client address (also the largest burst); over "
      "it, 429 with Retry-After. 0 = no limit",
      0, G_MAXUINT, rt::SecretPolicy::kDefaultRateLimit, rw);
  properties[PROP_SECRETS_SERVED] = g_param_spec_uint ("secrets-served",
      "Secrets served", "Secrets handed out by the HTTP endpoint", 0, G_MAXUINT,
      0, counter);
  properties[PROP_REQUESTS_REFUSED_ORIGIN] = g_param_spec_uint (
      "requests-refused-origin", "Requests refused (origin)",
      "HTTP requests (preflights included) refused with 403 because of their "
      "Origin",
      0, G_MAXUINT, 0, counter);
  properties[PROP_REQUESTS_RATE_LIMITED] = g_param_spec_uint (
      "requests-rate-limited", "Requests rate-limited",
      "Requests for secrets refused with 429 by rate-limit", 0, G_MAXUINT, 0,
      counter);
  properties[PROP_API_KEY_FILE] = g_param_spec_string ("api-key-file",
      "API key file",
      "A file holding the permanent API key (its text, surrounding whitespace "
      "ignored), read each time a secret is minted: for systemd's "
      "LoadCredential= ($CREDENTIALS_DIRECTORY/NAME) or a mounted secret. "
      "Used when api-key is not set; defaults to $OPENAI_API_KEY_FILE when "
      "$OPENAI_API_KEY is unset. The key itself is never logged",
      nullptr,
      /* The instance's value comes from the environment: documentation
       * shows the declared default instead. */
      (GParamFlags) (rw | GST_PARAM_DOC_SHOW_DEFAULT));
  for (guint id = PROP_HTTP_ADDRESS; id < N_PROPERTIES; id++)
    g_object_class_install_property (gobject_class, id, properties[id]);

  rt_mark_enums_as_plugin_api (gobject_class);
  gst_element_class_set_static_metadata (element_class,
      "Ephemeral token provider", "Generic/Network",
      "Holds the permanent OpenAI API key and mints short-lived client "
      "secrets for openairealtimesink and openairealtimesrc",
      "gst-openai-realtime maintainers");
  gst_element_class_add_static_metadata (element_class,
      GST_ELEMENT_METADATA_DOC_URI, PACKAGE_DOC_URI "#ephemeraltokenprovider");
}

GstEphemeralTokenProvider *gst_ephemeral_token_provider_from_context (
    GstContext *context)
{
  GstEphemeralTokenProvider *provider = nullptr;
  if (g_strcmp0 (gst_context_get_context_type (context),
          GST_EPHEMERAL_TOKEN_PROVIDER_CONTEXT) != 0)
    return nullptr;
  gst_structure_get (gst_context_get_structure (context), "provider",
      GST_TYPE_EPHEMERAL_TOKEN_PROVIDER, &provider, nullptr);
  return provider;
}

GstEphemeralTokenProvider *gst_ephemeral_token_provider_new_implicit (void)
{
  auto *provider = GST_EPHEMERAL_TOKEN_PROVIDER (
      g_object_new (GST_TYPE_EPHEMERAL_TOKEN_PROVIDER, "name",
          "implicit-token-provider", nullptr));
  return GST_EPHEMERAL_TOKEN_PROVIDER (gst_object_ref_sink (provider));
}

std::shared_ptr<rt::SecretMinter> gst_ephemeral_token_provider_get_minter (
    GstEphemeralTokenProvider *provider)
{
  return provider->priv->minter;
}
