/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The process's DTLS certificate, made ahead of the first call, on a key
 * kept between processes.
 *
 * GStreamer 1.22's dtls elements make one certificate per process, on an
 * RSA-2048 key generated when the first dtlsdec is created (100-450 ms:
 * most of a cold call). Nothing can hand them a key beforehand, but they
 * generate it through OpenSSL's RSA method: while the first dtlsdec is made
 * here, a key generator of ours gives them the key kept by an earlier
 * process, or makes one (as they would) and keeps it for the next. */
#pragma once

#include <ctime>
#include <string>

typedef struct evp_pkey_st EVP_PKEY;

namespace rt {

/* Makes the process's certificate (dtlsdec makes it when it is created),
 * on the kept key unless keeping is off. Once, from prewarm_webrtc()'s
 * thread (webrtc/prewarm.h). */
void make_dtls_certificate ();

namespace dtls_key {

/* A kept key older than this is made anew. */
constexpr std::time_t kMaxAgeSeconds = 7 * 24 * 3600;

/* Where the key is kept: $GST_REALTIME_DTLS_KEY, else
 * $XDG_CACHE_HOME/gst-realtime/dtls-key.pem; empty when keeping is off
 * (GST_REALTIME_DTLS_KEY=none). */
std::string path ();

/* The key kept at path if it can be trusted: a regular file of this user's
 * that no one else may read (not a link), in a folder others cannot write
 * in, younger than max_age, holding an unencrypted RSA key of 2048 bits
 * with e = 65537 whose parts agree. Otherwise nullptr and *why.
 * The caller frees it (EVP_PKEY_free). */
EVP_PKEY *load (const std::string &path, std::time_t now, std::string *why,
    std::time_t max_age = kMaxAgeSeconds);

/* Keeps key at path, readable by this user only (the folder made, 0700),
 * replacing what was there in one step. */
bool store (const std::string &path, EVP_PKEY *key, std::string *why);

/* Whether the process's certificate was made on a kept key (or on one made
 * and kept): not when keeping is off, when another webrtcbin made the
 * certificate first, or with dtls elements that make another kind of key
 * (GStreamer 1.28's ECDSA). */
bool in_use ();

}  // namespace dtls_key
}  // namespace rt
