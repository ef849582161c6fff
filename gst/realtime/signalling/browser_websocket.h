/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The browser signalling of webrtcbroadcastsink: an HTTP server (libsoup)
 * that serves the player page and takes each page's WebSocket at /ws. One
 * page is one session, named by its client id: a page that connects asks
 * for a session (it never offers; the owner's offer goes to it as
 * `webrtc-offer`), its `webrtc-answer` is the remote description, and
 * candidates trickle both ways as `webrtc-ice`. The session ends when the
 * page's WebSocket closes. The wire format is broadcast/signalling.h; each
 * malformed or out-of-order message gets an error reply and is counted.
 *
 * Everything runs on the owner's worker, where listen() is called. */
#pragma once

#include "broadcast/signalling.h"
#include "signalling/signaller.h"

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

typedef struct _SoupServer SoupServer;
typedef struct _SoupServerMessage SoupServerMessage;
typedef struct _SoupWebsocketConnection SoupWebsocketConnection;

namespace rt {

class HttpServer;

struct BrowserSignallerConfig {
  std::string address = "127.0.0.1";
  int port = 8080; /* 0: any free port (see port()) */
  std::string tls_certificate_file, tls_key_file;
  std::string page; /* served at "/" and "/index.html" when set */
  /* webrtcbin-style URIs, told to each page with the offer. */
  std::string stun_server, turn_server;
  unsigned max_sessions = 100;    /* pages over this are refused */
  std::string name = "broadcast"; /* for logs */
};

class BrowserSignaller : public Signaller {
 public:
  explicit BrowserSignaller (BrowserSignallerConfig config);
  ~BrowserSignaller () override;

  SignallerCapabilities capabilities () const override;

  /* On the worker: binds and listens; false with *error when it cannot. */
  bool listen (std::string *error);
  int port () const { return port_.load (); }

  /* Pages are taken as sessions from now on. */
  void start () override;
  /* Closes every page's WebSocket and stops listening; done runs at once. */
  void stop (std::function<void ()> done) override;

  /* An offer, as `webrtc-offer` with the page's id and ICE servers. */
  void send_description (const std::string &session,
      const SessionDescription &description) override;
  void send_candidate (const std::string &session, unsigned mline,
      const std::string &candidate) override;
  /* Closes the page's WebSocket; no session_ended follows. */
  void end_session (const std::string &session) override;

  /* Tells the page what went wrong with its session (an error reply with
   * this code), counted with the signalling errors. */
  void report (const std::string &session, const std::string &code,
      const std::string &message);

  /* "refused" (pages over max_sessions), "signalling-errors". Any thread. */
  std::map<std::string, guint64> counters () const override;

  struct Session;

 private:
  void accept (SoupServerMessage *msg, SoupWebsocketConnection *ws);
  void on_message (const std::shared_ptr<Session> &s, int type, GBytes *bytes);
  void on_closed (const std::shared_ptr<Session> &s);
  void reject (Session &s, const char *code, const std::string &message);
  void close (const std::shared_ptr<Session> &s, bool tell_page);
  std::shared_ptr<Session> find (const std::string &id) const;
  static void http_cb (SoupServer *, SoupServerMessage *, const char *,
      GHashTable *, gpointer);
  static void ws_cb (SoupServer *, SoupServerMessage *, const char *,
      SoupWebsocketConnection *, gpointer);
  static void text_cb (SoupWebsocketConnection *, gint, GBytes *, gpointer);
  static void closed_cb (SoupWebsocketConnection *, gpointer);

  BrowserSignallerConfig config_;
  std::vector<broadcast::IceServer> ice_servers_;
  std::unique_ptr<HttpServer> http_;
  bool accepting_ = false;
  std::map<std::string, std::shared_ptr<Session>> sessions_;
  std::atomic<int> port_ { 0 };
  std::atomic<guint64> refused_ { 0 }, errors_ { 0 };
};

}  // namespace rt
