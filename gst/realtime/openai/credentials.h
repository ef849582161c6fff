/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where a call gets the ephemeral secret it starts with.
 *
 * A SecretMinter holds the permanent key and mints a fresh GA client secret
 * (POST {api-base}/v1/realtime/client_secrets) for every connection attempt;
 * a FixedSecret hands out one secret an application already holds. Calls only
 * ever see the resulting `ek_` value and the base URL to post offers to. */
#pragma once

#include "core/http.h"
#include "openai/protocol.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace rt {

/* Which shape of the service a base URL has. */
enum class ApiFlavor { Auto, OpenAI, Azure };

/* The realtime endpoints under a base URL. OpenAI: {base}/v1/realtime, the
 * permanent key as "Authorization: Bearer". Azure OpenAI (GA):
 * {resource}/openai/v1/realtime, the permanent key in an "api-key" header.
 * Auto is Azure for hosts under .openai.azure.com or
 * .cognitiveservices.azure.com and for bases that end in /openai or
 * /openai/v1; OpenAI otherwise. */
struct ApiEndpoint {
  std::string base;     /* no trailing slash, no /openai suffix */
  std::string realtime; /* base + the realtime path */
  bool azure = false;
};
ApiEndpoint resolve_endpoint (const std::string &api_base, ApiFlavor flavor);

struct Credentials {
  std::string secret; /* ek_... */
  std::string
      api_base; /* the realtime endpoints' URL (ApiEndpoint::realtime) */
  std::int64_t expires_at =
      0; /* unix seconds; 0 when unknown (a given secret) */
};

/* Either credentials or the reason there are none. */
struct CredentialsResult {
  bool ok = false;
  Credentials credentials;
  ServiceError error;
};

class CredentialSource {
 public:
  virtual ~CredentialSource () = default;
  /* Called and answered on the worker that owns http. */
  virtual void fetch (HttpClient &http,
      std::function<void (CredentialsResult)> done) = 0;
  /* Where calls will go, known before fetching (the call prepares ICE for
   * it while the secret is minted). */
  virtual std::string api_base () const = 0;
  /* Set when calls go to a stand-in for the service because nothing was
   * configured: which, in words that go with any error of the call. */
  virtual std::string stand_in () const { return {}; }
  /* What a secret fetched now depends on (where, with what key, for what
   * session), as a digest: a secret fetched ahead is used only while this
   * stays the same. */
  virtual std::string fingerprint () const { return {}; }
};

/* The API key kept in a file (systemd's LoadCredential=, a secret mounted
 * by a container runtime): the file's text without surrounding whitespace.
 * Empty, and *why, when it cannot be read or holds no key. */
std::string read_api_key_file (const std::string &path, std::string *why);

class SecretMinter : public CredentialSource,
                     public std::enable_shared_from_this<SecretMinter> {
 public:
  struct Settings {
    std::string api_base;
    std::string api_key;
    /* Read at each fetch when api_key is empty. */
    std::string api_key_file;
    SessionConfig session;
    int ttl_seconds = 60;
    ApiFlavor flavor = ApiFlavor::Auto;
    /* Set by resolved(): why api_key_file gave no key. */
    std::string key_file_problem;
    /* Set by a resolver that sends calls to a stand-in (stand_in()). */
    std::string stand_in;
  };

  /* Settings can change between attempts; each fetch takes a snapshot. */
  void configure (std::function<void (Settings &)> edit);
  /* Applied to each snapshot a fetch uses (not to the stored settings): for
   * defaults that depend on what else is set. */
  void set_resolver (std::function<void (Settings &)> resolve);
  Settings snapshot () const;
  /* The snapshot a fetch would use: the key file read, the resolver
   * applied. */
  Settings resolved () const;

  void fetch (HttpClient &http,
      std::function<void (CredentialsResult)> done) override;
  std::string api_base () const override;
  std::string stand_in () const override;
  std::string fingerprint () const override;

  /* Secrets minted so far (for statistics and tests). */
  unsigned minted () const;

 private:
  mutable std::mutex lock_;
  Settings settings_;
  std::function<void (Settings &)> resolve_;
  unsigned minted_ = 0;
};

class FixedSecret : public CredentialSource {
 public:
  /* api_base as the elements' property takes it (resolve_endpoint, Auto). */
  FixedSecret (std::string secret, std::string api_base);
  void fetch (HttpClient &http,
      std::function<void (CredentialsResult)> done) override;
  std::string api_base () const override { return base_; }
  std::string fingerprint () const override;

 private:
  Credentials credentials_;
  std::string base_;
};

/* "https://host/" → "https://host": URLs are joined with paths that start with
 * a slash. */
std::string normalize_base (const std::string &base);

}  // namespace rt
