#include "credentials.h"

#include "redact.h"
#include "supervision.h"

#include "debug.h"

#include <cstring>

#define GST_CAT_DEFAULT rt_credentials_debug

namespace rt {

std::string normalize_base (const std::string &base)
{
  std::string out = base;
  while (!out.empty () && out.back () == '/')
    out.pop_back ();
  return out;
}

ApiEndpoint resolve_endpoint (const std::string &api_base, ApiFlavor flavor)
{
  ApiEndpoint e;
  e.base = normalize_base (api_base);
  bool suffix = false;
  /* An explicit OpenAI flavor keeps the path as given (a gateway's). */
  for (const char *tail : { "/openai/v1", "/openai" }) {
    if (flavor != ApiFlavor::OpenAI && g_str_has_suffix (e.base.c_str (), tail)) {
      e.base.resize (e.base.size () - strlen (tail));
      suffix = true;
      break;
    }
  }
  bool azure_host = false;
  if (GUri *uri = g_uri_parse (e.base.c_str (), G_URI_FLAGS_NONE, nullptr)) {
    const char *host = g_uri_get_host (uri);
    azure_host = host && (g_str_has_suffix (host, ".openai.azure.com") ||
        g_str_has_suffix (host, ".cognitiveservices.azure.com"));
    g_uri_unref (uri);
  }
  e.azure = flavor == ApiFlavor::Azure ||
      (flavor == ApiFlavor::Auto && (suffix || azure_host));
  e.realtime = e.base + (e.azure ? "/openai/v1/realtime" : "/v1/realtime");
  return e;
}

void SecretMinter::configure (std::function<void (Settings &)> edit)
{
  std::lock_guard<std::mutex> lock (lock_);
  edit (settings_);
  if (!settings_.api_key.empty ())
    register_secret (settings_.api_key);
}

void SecretMinter::set_resolver (std::function<void (Settings &)> resolve)
{
  std::lock_guard<std::mutex> lock (lock_);
  resolve_ = std::move (resolve);
}

SecretMinter::Settings SecretMinter::snapshot () const
{
  std::lock_guard<std::mutex> lock (lock_);
  return settings_;
}

SecretMinter::Settings SecretMinter::resolved () const
{
  std::lock_guard<std::mutex> lock (lock_);
  Settings s = settings_;
  if (resolve_)
    resolve_ (s);
  return s;
}

std::string SecretMinter::api_base () const
{
  return resolve_endpoint (resolved ().api_base, resolved ().flavor).base;
}

unsigned SecretMinter::minted () const
{
  std::lock_guard<std::mutex> lock (lock_);
  return minted_;
}

void SecretMinter::fetch (HttpClient &http,
    std::function<void (CredentialsResult)> done)
{
  Settings s = resolved ();
  register_secret (s.api_key);
  const ApiEndpoint endpoint = resolve_endpoint (s.api_base, s.flavor);
  const std::string base = endpoint.realtime;
  if (s.api_key.empty ()) {
    CredentialsResult r;
    /* Our own code: a configuration error, which no retry mends. */
    r.error.code = "missing_api_key";
    r.error.message = "no API key: set the provider's api-key property or "
        "OPENAI_API_KEY";
    done (std::move (r));
    return;
  }
  HttpRequest req;
  req.url = base + "/client_secrets";
  req.content_type = "application/json";
  req.body = build_client_secret_request (s.session, s.ttl_seconds);
  /* Azure takes its permanent key in a header of its own; the secret it
   * mints is a bearer token like OpenAI's. */
  if (endpoint.azure)
    req.headers.emplace_back ("api-key", s.api_key);
  else
    req.headers.emplace_back ("Authorization", "Bearer " + s.api_key);
  GST_DEBUG ("minting a client secret at %s (ttl %d s, key %s)",
      req.url.c_str (), s.ttl_seconds, describe_secret (s.api_key).c_str ());
  auto self = shared_from_this ();
  http.post (std::move (req), [self, base, done] (HttpResponse resp) {
    CredentialsResult r;
    if (resp.status == 0) {
      r.error.message = resp.transport_error;
      r.error.tls_failure = resp.tls_failure;
    } else if (resp.status != 200 && resp.status != 201) {
      r.error = parse_error_body (resp.status, resp.body);
      r.error.retry_after_s = parse_retry_after (resp.retry_after);
    } else {
      std::string why;
      auto secret = parse_client_secret (resp.body, &why);
      if (!secret) {
        r.error.http_status = resp.status;
        r.error.message = "the minting reply was unusable: " + why;
      } else {
        register_secret (secret->value);
        r.ok = true;
        r.credentials = { secret->value, base, secret->expires_at };
        std::lock_guard<std::mutex> lock (self->lock_);
        self->minted_++;
      }
    }
    if (r.ok)
      GST_INFO ("minted %s", describe_secret (r.credentials.secret).c_str ());
    else
      GST_WARNING ("minting failed: %s", r.error.describe ().c_str ());
    done (std::move (r));
  });
}

FixedSecret::FixedSecret (std::string secret, std::string api_base)
    : credentials_ { std::move (secret),
        resolve_endpoint (api_base, ApiFlavor::Auto).realtime },
      base_ (resolve_endpoint (api_base, ApiFlavor::Auto).base)
{
  register_secret (credentials_.secret);
}

void FixedSecret::fetch (HttpClient &, std::function<void (CredentialsResult)> done)
{
  CredentialsResult r;
  r.ok = true;
  r.credentials = credentials_;
  done (std::move (r));
}

}  // namespace rt
