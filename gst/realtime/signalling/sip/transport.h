/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SIP over one WebSocket (RFC 7118): the client side a phone keeps open to
 * its registrar. Subprotocol "sip", one message per frame (text or binary
 * taken), CRLF keep-alives (RFC 5626 4.4.1) that also find a dead server,
 * and every malformed frame counted and dropped. Runs on the owner's
 * worker: open() and send() there, and the events come there. */
#pragma once

#include "core/worker.h"
#include "signalling/sip/message.h"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>

typedef struct _SoupSession SoupSession;
typedef struct _SoupWebsocketConnection SoupWebsocketConnection;
typedef struct _GCancellable GCancellable;
typedef struct _GObject GObject;
typedef struct _GAsyncResult GAsyncResult;
typedef struct _GTlsDatabase GTlsDatabase;

namespace rt::sip {

/* The certificate authorities of a PEM file, for a wss:// server's
 * certificate to chain to; nullptr, and *why, when the file cannot be
 * used. */
GTlsDatabase *load_ca_file (const std::string &path, std::string *why);

class Transport {
 public:
  struct Events {
    std::function<void ()> opened;
    std::function<void (const Message &)> message;
    /* Once, when the connection could not be made or was lost (not after
     * close()). */
    std::function<void (const std::string &why)> closed;
  };

  /* keepalive_s: a CRLF ping this often; from a server that answers them,
   * nothing back by the next one means the connection is lost (0: none).
   * ca_file: PEM certificate authorities a wss:// server's certificate must
   * chain to, instead of the system's (a private PBX's own CA).
   * user_agent: the WebSocket handshake's User-Agent (empty: none). */
  Transport (Worker &worker, std::string url, Events events,
      unsigned keepalive_s = 30, std::string ca_file = {},
      std::string user_agent = {});
  ~Transport (); /* close(); on the worker */

  Transport (const Transport &) = delete;
  Transport &operator= (const Transport &) = delete;

  void open ();
  bool is_open () const { return ws_ != nullptr; }
  /* false when not open. */
  bool send (const Message &m);
  void close ();

  /* "messages-in", "messages-out", "malformed", "keepalives". Any
   * thread. */
  std::map<std::string, guint64> counters () const
  {
    return { { "messages-in", messages_in_.load () },
      { "messages-out", messages_out_.load () },
      { "malformed", malformed_.load () },
      { "keepalives", keepalives_.load () } };
  }

  struct Flight; /* shared with the connect in progress */

 private:
  static void connected_cb (GObject *source, GAsyncResult *result,
      gpointer data);
  static void message_cb (SoupWebsocketConnection *ws, gint type, GBytes *bytes,
      gpointer data);
  static void closed_cb (SoupWebsocketConnection *ws, gpointer data);
  void lost (const std::string &why);
  void drop_connection ();
  void keepalive ();

  Worker &worker_;
  std::string url_;
  Events events_;
  unsigned keepalive_s_;
  std::string ca_file_;
  std::string user_agent_;
  SoupSession *session_ = nullptr;
  SoupWebsocketConnection *ws_ = nullptr;
  std::shared_ptr<Flight> flight_;
  guint keepalive_timer_ = 0;
  bool heard_since_ping_ = true;
  bool answers_keepalives_ = false; /* this server answers CRLF with CRLF */
  std::atomic<guint64> messages_in_ { 0 }, messages_out_ { 0 },
      malformed_ { 0 }, keepalives_ { 0 };
};

}  // namespace rt::sip
