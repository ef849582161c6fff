/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "signalling/sip/digest.h"
#include "signalling/sip/text.h"

#include <glib.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <vector>

namespace rt::sip {

namespace {

using text::iequal;
using text::trim;

/* key=value or key="quoted, value" pairs separated by commas. */
std::vector<std::pair<std::string, std::string>> auth_params (
    std::string_view s)
{
  std::vector<std::pair<std::string, std::string>> out;
  size_t i = 0;
  while (i < s.size () && out.size () < 32) {
    while (i < s.size () && (s[i] == ' ' || s[i] == '\t' || s[i] == ','))
      i++;
    size_t eq = s.find ('=', i);
    if (eq == s.npos)
      break;
    std::string key (trim (s.substr (i, eq - i)));
    i = eq + 1;
    while (i < s.size () && (s[i] == ' ' || s[i] == '\t'))
      i++;
    std::string value;
    if (i < s.size () && s[i] == '"') {
      for (i++; i < s.size () && s[i] != '"'; i++) {
        if (s[i] == '\\' && i + 1 < s.size ())
          i++;
        value += s[i];
      }
      i++; /* the closing quote */
    } else {
      size_t comma = s.find (',', i);
      value = std::string (trim (s.substr (i, comma - i)));
      i = comma == s.npos ? s.size () : comma;
    }
    out.emplace_back (std::move (key), std::move (value));
  }
  return out;
}

/* Quoted-string content: a backslash or quote escaped. */
std::string quoted (std::string_view v)
{
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string digest_hex (DigestAlgorithm algorithm, std::string_view text)
{
  GChecksum *sum = g_checksum_new (algorithm == DigestAlgorithm::Sha256 ?
          G_CHECKSUM_SHA256 :
          G_CHECKSUM_MD5);
  g_checksum_update (sum, reinterpret_cast<const guchar *> (text.data ()),
      text.size ());
  std::string hex = g_checksum_get_string (sum);
  g_checksum_free (sum);
  return hex;
}

std::optional<Challenge> parse_challenge (std::string_view value)
{
  std::string_view v = trim (value);
  if (v.size () < 7 || !iequal (v.substr (0, 6), "Digest") ||
      (v[6] != ' ' && v[6] != '\t'))
    return std::nullopt;
  Challenge c;
  bool qop_listed = false;
  for (auto &[key, val] : auth_params (v.substr (7))) {
    if (iequal (key, "realm"))
      c.realm = val;
    else if (iequal (key, "nonce"))
      c.nonce = val;
    else if (iequal (key, "opaque"))
      c.opaque = val;
    else if (iequal (key, "stale"))
      c.stale = iequal (val, "true");
    else if (iequal (key, "algorithm")) {
      if (iequal (val, "MD5"))
        c.algorithm = DigestAlgorithm::Md5;
      else if (iequal (val, "SHA-256"))
        c.algorithm = DigestAlgorithm::Sha256;
      else
        return std::nullopt; /* MD5-sess, SHA-512-256: not offered here */
    } else if (iequal (key, "qop")) {
      qop_listed = true;
      gchar **options = g_strsplit (val.c_str (), ",", -1);
      for (gchar **o = options; *o; o++)
        if (iequal (trim (*o), "auth"))
          c.qop_auth = true;
      g_strfreev (options);
    }
  }
  if (c.realm.empty () || c.nonce.empty () || (qop_listed && !c.qop_auth))
    return std::nullopt;
  return c;
}

std::string authorization (const Challenge &c, const DigestAnswer &a)
{
  const std::string ha1 = digest_hex (c.algorithm,
      a.username + ":" + c.realm + ":" + a.password);
  const std::string ha2 = digest_hex (c.algorithm, a.method + ":" + a.uri);
  char nc[9];
  g_snprintf (nc, sizeof nc, "%08x", a.nc);
  const std::string response = c.qop_auth ?
      digest_hex (c.algorithm,
          ha1 + ":" + c.nonce + ":" + nc + ":" + a.cnonce + ":auth:" + ha2) :
      digest_hex (c.algorithm, ha1 + ":" + c.nonce + ":" + ha2);
  std::string out = "Digest username=" + quoted (a.username) +
      ", realm=" + quoted (c.realm) + ", nonce=" + quoted (c.nonce) +
      ", uri=" + quoted (a.uri) + ", response=" + quoted (response) +
      ", algorithm=" +
      (c.algorithm == DigestAlgorithm::Sha256 ? "SHA-256" : "MD5");
  if (!c.opaque.empty ())
    out += ", opaque=" + quoted (c.opaque);
  if (c.qop_auth)
    out += ", qop=auth, nc=" + std::string (nc) +
        ", cnonce=" + quoted (a.cnonce);
  return out;
}

}  // namespace rt::sip
