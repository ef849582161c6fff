/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a process's first call would otherwise spend after PLAYING, done as
 * soon as an element exists, on a thread of its own: the DTLS certificate
 * (webrtc/dtls.h), what the first HTTP request needs (core/http.h), then
 * loading the plugins a call uses, in the order a call needs them.
 *
 * GStreamer loads a plugin when its first element is made, under one lock
 * for the whole process, and two of a call's plugins are slow to load on
 * Debian 12: webrtc (15-27 ms: libnice and what it links) and srtp
 * (25-30 ms: libsrtp2 starts NSS and runs its self-tests). Without this, a
 * fresh process's first call paid them between PLAYING and its offer
 * (a Python client pays the same in its imports, before any call). */
#pragma once

namespace rt {

/* Starts the thread, once per process; also keeps OpenSSL from tearing
 * itself down at exit under webrtcbin's threads. Idempotent, cheap. */
void prewarm_webrtc ();

/* prewarm_webrtc(), then waits until the certificate is made: a webrtcbin
 * that came first would make it itself, on a new key (every Peer calls it
 * before its webrtcbin is made; waiting costs nothing, as the webrtcbin
 * would wait for the certificate anyway). The plugins need no wait: an
 * element made while its plugin is being loaded waits for the load. */
void await_dtls_certificate ();

/* prewarm_webrtc(), then waits until all of it is done, for at most
 * timeout_ms (false if it was not: the caller goes on, and its call waits
 * where it needs a plugin still being loaded). For an element's NULL to
 * READY: what READY promises is that PLAYING starts the call at once. */
bool await_prewarm (unsigned timeout_ms);

/* The plugins prewarm_webrtc() loads, in that order. */
extern const char *const kCallPlugins[];

}  // namespace rt
