/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "core/http_server.h"

#include <gio/gio.h>
#include <libsoup/soup.h>

namespace rt {

HttpServer::HttpServer (const HttpServerConfig &config, std::string *error)
    : config_ (config)
{
  GTlsCertificate *cert = nullptr;
  if (!config_.tls_certificate_file.empty ()) {
    const std::string &key = config_.tls_key_file.empty () ?
        config_.tls_certificate_file :
        config_.tls_key_file;
    GError *err = nullptr;
    cert = g_tls_certificate_new_from_files (
        config_.tls_certificate_file.c_str (), key.c_str (), &err);
    if (!cert) {
      *error = std::string ("TLS certificate: ") + err->message;
      g_error_free (err);
      return;
    }
  }
  const char *header = config_.server_header.empty () ?
      nullptr :
      config_.server_header.c_str ();
  soup_ = soup_server_new ("server-header", header,
      cert ? "tls-certificate" : nullptr, cert, nullptr);
  tls_ = cert != nullptr;
  if (cert)
    g_object_unref (cert);
}

HttpServer::~HttpServer ()
{
  disconnect ();
  g_clear_object (&soup_);
}

bool HttpServer::listen (std::string *error)
{
  if (!soup_) {
    *error = "no server";
    return false;
  }
  const std::string where = config_.address + ":" +
      std::to_string (config_.port);
  if (config_.port < 0 || config_.port > 65535) {
    *error = "no such port: " + std::to_string (config_.port);
    return false;
  }
  GInetAddress *inet = g_inet_address_new_from_string (
      config_.address.c_str ());
  if (!inet) {
    *error = "not an IP address: " + config_.address;
    return false;
  }
  GSocketAddress *sa = g_inet_socket_address_new (inet, (guint16) config_.port);
  g_object_unref (inet);
  GError *err = nullptr;
  bool ok = soup_server_listen (soup_, sa,
      tls_ ? SOUP_SERVER_LISTEN_HTTPS : (SoupServerListenOptions) 0, &err);
  g_object_unref (sa);
  if (!ok) {
    /* The common case named plainly: the user then knows which port to free
     * or to change. */
    if (g_error_matches (err, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE))
      *error = "cannot listen on " + where + ": port " +
          std::to_string (config_.port) +
          " is taken (another program listens there)";
    else
      *error = "cannot listen on " + where + ": " + err->message;
    g_error_free (err);
    return false;
  }
  /* From the socket itself: soup_server_get_uris() leaks an address in
   * libsoup 3.2. With port 0 this is the port the kernel picked. */
  GSList *listeners = soup_server_get_listeners (soup_);
  if (listeners) {
    GSocketAddress *local = g_socket_get_local_address (
        G_SOCKET (listeners->data), nullptr);
    if (local) {
      port_ = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
      g_object_unref (local);
    }
  }
  g_slist_free (listeners);
  if (port_ == 0) {
    soup_server_disconnect (soup_);
    *error = "cannot listen on " + where + ": no bound port";
    return false;
  }
  return true;
}

void HttpServer::disconnect ()
{
  if (soup_)
    soup_server_disconnect (soup_);
  port_ = 0;
}

HeldMessage::HeldMessage (SoupServerMessage *message)
    : msg (SOUP_SERVER_MESSAGE (g_object_ref (message)))
{
  soup_server_message_pause (msg);
  handler_ = g_signal_connect_data (
      msg, "disconnected",
      G_CALLBACK (+[] (SoupServerMessage *, gpointer flag) {
        **static_cast<std::shared_ptr<bool> *> (flag) = true;
      }),
      new std::shared_ptr<bool> (gone_),
      [] (gpointer flag, GClosure *) {
        delete static_cast<std::shared_ptr<bool> *> (flag);
      },
      (GConnectFlags) 0);
}

HeldMessage::~HeldMessage ()
{
  release ();
}

void HeldMessage::release ()
{
  if (!msg)
    return;
  g_signal_handler_disconnect (msg, handler_);
  g_object_unref (msg);
  msg = nullptr;
}

}  // namespace rt
