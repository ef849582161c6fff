/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "openai/credentials.h"

#include "core/redact.h"
#include "supervision.h"

#include "core/debug.h"

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
    if (flavor != ApiFlavor::OpenAI &&
        g_str_has_suffix (e.base.c_str (), tail)) {
      e.base.resize (e.base.size () - strlen (tail));
      suffix = true;
      break;
    }
  }
  bool azure_host = false;
  if (GUri *uri = g_uri_parse (e.base.c_str (), G_URI_FLAGS_NONE, nullptr)) {
    const char *host = g_uri_get_host (uri);
    azure_host = host &&
        (g_str_has_suffix (host, ".openai.azure.com") ||
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

std::string read_api_key_file (const std::string &path, std::string *why)
{
  /* A key is some 200 bytes: anything far larger is not one. */
  constexpr gsize kMaxBytes = 16384;
  gchar *text = nullptr;
  gsize size = 0;
  GError *error = nullptr;
  if (!g_file_get_contents (path.c_str (), &text, &size, &error)) {
    *why = error->message;
    g_error_free (error);
    return {};
  }
  std::string key;
  if (size > kMaxBytes)
    *why = "the file holds " + std::to_string (size) + " bytes, not a key";
  else
    key = g_strstrip (text);
  if (size <= kMaxBytes && key.empty ())
    *why = "the file is empty";
  /* The file's bytes are the secret whatever became of them. */
  memset (text, 0, size);
  g_free (text);
  if (!key.empty ())
    register_secret (key);
  return key;
}

SecretMinter::Settings SecretMinter::resolved () const
{
  std::lock_guard<std::mutex> lock (lock_);
  Settings s = settings_;
  if (s.api_key.empty () && !s.api_key_file.empty ())
    s.api_key = read_api_key_file (s.api_key_file, &s.key_file_problem);
  if (resolve_)
    resolve_ (s);
  return s;
}

std::string SecretMinter::api_base () const
{
  const Settings s = resolved ();
  return resolve_endpoint (s.api_base, s.flavor).base;
}

std::string SecretMinter::stand_in () const
{
  return resolved ().stand_in;
}

namespace {

std::string digest (const std::string &text)
{
  gchar *d = g_compute_checksum_for_string (G_CHECKSUM_SHA256, text.c_str (),
      (gssize) text.size ());
  std::string out (d ? d : "");
  g_free (d);
  return out;
}

}  // namespace

std::string SecretMinter::fingerprint () const
{
  const Settings s = resolved ();
  const ApiEndpoint endpoint = resolve_endpoint (s.api_base, s.flavor);
  return digest (endpoint.realtime + '\n' + s.api_key + '\n' +
      build_client_secret_request (s.session, s.ttl_seconds));
}

std::string FixedSecret::fingerprint () const
{
  return digest (credentials_.api_base + '\n' + credentials_.secret);
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
    r.error.message = s.key_file_problem.empty () ?
        "no API key: set the provider's api-key or api-key-file property, "
        "or OPENAI_API_KEY" :
        "no API key could be read from " + s.api_key_file + ": " +
            s.key_file_problem;
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

void FixedSecret::fetch (HttpClient &,
    std::function<void (CredentialsResult)> done)
{
  CredentialsResult r;
  r.ok = true;
  r.credentials = credentials_;
  done (std::move (r));
}

}  // namespace rt
