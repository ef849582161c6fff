/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The engine of the broadcast sink: the pages (one rt::Peer each, the
 * offerer), their signalling (rt::BrowserSignaller: the player page and a
 * WebSocket per page), and the fan-out of encoded Opus packets to those
 * pages, over a data channel or as an RTP track. It knows nothing of pads:
 * the element feeds it packets and utterance boundaries per stream ("" is
 * the stream every client hears; a client id names that client's own
 * stream).
 *
 * Threads: signalling, the peers' events and client teardown run on the
 * server's worker; deliver() and the utterance calls run on the callers'
 * streaming threads and never wait for the network. */
#pragma once

#include "signalling.h"

#include <gst/gst.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace rt::broadcast {

enum class Delivery { DataChannel, Track };

struct Config {
  std::string address = "127.0.0.1";
  int port = 8080; /* 0: any free port (see bound_port()) */
  std::string tls_certificate_file, tls_key_file;
  Delivery delivery = Delivery::DataChannel;
  std::string channel_label = "tts-audio";
  std::string stun_server, turn_server; /* webrtcbin's URI forms */
  std::uint64_t high_watermark = 256 * 1024;
  std::uint64_t low_watermark = 64 * 1024;
  unsigned max_clients = 100;
  std::string page;               /* served at "/" and "/index.html" when set */
  std::string name = "broadcast"; /* for logs and thread names */
};

struct ClientStats {
  std::string id;
  std::string state; /* signalling, connecting, connected, failed */
  bool own_stream = false;
  std::uint64_t buffered_amount = 0;
  std::uint64_t unreceipted = 0;  /* sent, not yet receipted by the page */
  bool receipts = false;          /* the page sends receipts */
  std::uint64_t bad_receipts = 0; /* receipts for more than was sent: ignored */
  std::uint64_t bytes_sent = 0, chunks_sent = 0;
  std::uint64_t drops = 0, discontinuities = 0;
};

struct Counters {
  std::uint64_t clients_total = 0, clients_refused = 0;
  std::uint64_t signalling_errors = 0; /* malformed or out-of-order messages */
};

struct Events {
  /* On the server's worker thread. */
  std::function<void (const std::string &id)> connected, disconnected;
  /* A problem the application should see (a warning, not an error). */
  std::function<void (const std::string &text)> warning;
};

class Server {
 public:
  Server (Config config, Events events);
  ~Server (); /* closes every client and stops listening */

  Server (const Server &) = delete;
  Server &operator= (const Server &) = delete;

  /* Binds and listens; false with *error set when it cannot. */
  bool start (std::string *error);
  int bound_port () const;

  /* One Opus packet of `stream`, from a streaming thread. */
  void deliver (const std::string &stream, GstBuffer *packet, int rate,
      int channels);
  /* The current utterance of `stream` played out (EOS, a gap) or was cut
   * short (a flush): pages finish it, or stop at once. */
  void end_utterance (const std::string &stream);
  void abort_utterance (const std::string &stream);
  /* The stream went silent at `at` (a gap, seen before the encoder): packets
   * stamped before it, which the encoder may still hold, finish the ended
   * utterance instead of starting a new one. */
  void end_utterance_at (const std::string &stream, GstClockTime at);

  /* Whether client `id` hears its own stream instead of the shared one.
   * May be set before the client connects (a page that reconnects with its
   * id finds its stream again). */
  void set_own_stream (const std::string &id, bool own);

  std::vector<ClientStats> stats () const;
  Counters counters () const;
  size_t clients () const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace rt::broadcast
