/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HTTP digest authentication as SIP uses it (RFC 3261 22, RFC 2617 with
 * qop=auth, RFC 8760 for SHA-256): read a 401/407 challenge, answer it.
 * Pure; the password goes in and only the response hash comes out. */
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace rt::sip {

enum class DigestAlgorithm { Md5, Sha256 };

struct Challenge {
  std::string realm;
  std::string nonce;
  std::string opaque;
  DigestAlgorithm algorithm = DigestAlgorithm::Md5;
  bool qop_auth = false; /* the server offers qop=auth */
  bool stale = false;    /* the nonce expired, not the credentials */
};

/* A WWW-Authenticate or Proxy-Authenticate value. nullopt when it is not
 * Digest, lacks a realm or nonce, or asks for an algorithm or qop this
 * side cannot do (MD5-sess, auth-int only). */
std::optional<Challenge> parse_challenge (std::string_view value);

struct DigestAnswer {
  std::string username;
  std::string password;
  std::string method; /* of the request being authorised */
  std::string uri;    /* its Request-URI */
  std::string cnonce; /* the client's nonce (qop=auth) */
  unsigned nc = 1;    /* how many times this nonce was used */
};

/* The Authorization / Proxy-Authorization value answering the challenge. */
std::string authorization (const Challenge &c, const DigestAnswer &a);

/* The hex digest of text in the challenge's algorithm (for tests). */
std::string digest_hex (DigestAlgorithm algorithm, std::string_view text);

}  // namespace rt::sip
