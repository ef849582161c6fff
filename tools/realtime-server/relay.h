/* SPDX-License-Identifier: LGPL-2.1-or-later */
// A per-call UDP relay in front of the call's ICE agent (libnice).
//
// The answer advertises the relay's port instead of libnice's. Datagrams from the client are
// forwarded to libnice from a second socket (one per client address, like a NAT mapping), and
// libnice's replies go back to the client from the advertised socket. libnice therefore sees
// the client as a peer-reflexive candidate at the relay's address, and every packet of the call
// passes through here, where faults are injected: strict ICE (binding requests without
// USE-CANDIDATE are ignored, see StrictIce) and silence (everything is dropped both ways).
//
// The relay runs on its own thread and GMainContext so that forwarding never waits on the
// server's worker (HTTP, agents). Its settings and counters are atomics, safe to touch from any thread.
#pragma once

#include "options.h"

#include <glib.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <sys/socket.h>
#include <vector>

namespace rts {

// Counters of one call's relay. Shared with the call's log record, which outlives the relay.
struct RelayStats {
  std::atomic<guint64> packets_in { 0 };   // datagrams received from the client
  std::atomic<guint64> packets_out { 0 };  // datagrams sent to the client
  std::atomic<guint64> dropped_in {
    0
  };  // from the client, not forwarded (silenced, no target)
  std::atomic<guint64> dropped_out {
    0
  };  // to the client, not forwarded (silenced)
  std::atomic<guint64> binding_requests {
    0
  };  // STUN Binding requests from the client
  std::atomic<guint64> use_candidate {
    0
  };  // ... of which carried USE-CANDIDATE
  std::atomic<guint64> ignored_checks { 0 };  // ... of which strict ICE dropped
  std::atomic<guint64> binding_indications {
    0
  };  // STUN Binding indications (keepalives)
  std::atomic<guint64> rtp_discarded {
    0
  };  // client RTP (not RTCP) the call has no use for, not forwarded
};

class Relay {
 public:
  // Bind the advertised socket on address (a literal IP) and start the relay thread.
  // nullptr (with *error) on failure.
  static std::unique_ptr<Relay> create (const std::string &address,
      const std::string &call_id, std::shared_ptr<RelayStats> stats,
      std::string *error);
  // Stops the thread, then closes every socket.
  ~Relay ();
  Relay (const Relay &) = delete;
  Relay &operator= (const Relay &) = delete;

  // The advertised port (on the address given to create()).
  int port () const { return port_; }
  // Where libnice listens (its host candidate). Client packets are dropped until this is set.
  bool set_target (const std::string &ip, int port);
  void set_strict (StrictIce strict) { strict_.store (strict); }
  void set_silent (bool silent) { silent_.store (silent); }
  // Client RTP (RTCP, STUN and DTLS still pass) ends here: a call that never
  // listens (--media minimal) then pays nothing per packet beyond this
  // thread's receive, instead of libnice's, SRTP's and a jitter buffer's.
  void set_discard_rtp (bool discard) { discard_rtp_.store (discard); }
  bool silent () const { return silent_.load (); }
  // Monotonic time of the last client packet that reached libnice (or of creation).
  gint64 last_client_activity_us () const { return last_activity_us_.load (); }
  // Count now as activity (the client only now got the answer it needs to start sending).
  void note_activity () { last_activity_us_.store (g_get_monotonic_time ()); }
  // The relay thread's context, for other per-call work that must not wait on the server's worker.
  GMainContext *context () const { return context_; }

 private:
  struct Endpoint {
    sockaddr_storage addr {};
    socklen_t len = 0;
    bool operator<(const Endpoint &other) const;
    bool operator== (const Endpoint &other) const;
  };
  // One client address and the socket its packets reach libnice from.
  struct Mapping {
    Relay *relay = nullptr;
    Endpoint client;
    int fd = -1;
    GSource *source = nullptr;
  };

  Relay (const std::string &call_id, std::shared_ptr<RelayStats> stats);
  bool open (const std::string &address, std::string *error);
  static gpointer thread_main (gpointer self);
  static gboolean on_client_readable (gint fd, GIOCondition, gpointer self);
  static gboolean on_inner_readable (gint fd, GIOCondition, gpointer mapping);
  void from_client (const Endpoint &from, size_t size);
  void from_server (Mapping &mapping, const Endpoint &from, size_t size);
  Mapping *mapping_for (const Endpoint &client);
  double elapsed_s () const
  {
    return (g_get_monotonic_time () - created_us_) / 1e6;
  }

  const std::string call_id_;
  std::shared_ptr<RelayStats> stats_;
  const gint64 created_us_;
  sockaddr_storage local_ {};  // the address to bind, port 0
  socklen_t local_len_ = 0;
  int client_fd_ = -1;  // the advertised socket
  int port_ = 0;
  GSource *client_source_ = nullptr;
  std::map<Endpoint, std::unique_ptr<Mapping>> mappings_;  // relay thread only

  std::mutex target_lock_;
  Endpoint target_;  // guarded by target_lock_; len 0 while unknown

  std::atomic<StrictIce> strict_ { StrictIce::Off };
  std::atomic<bool> nominated_ {
    false
  };  // a USE-CANDIDATE request reached libnice
  std::atomic<bool> silent_ { false };
  std::atomic<bool> discard_rtp_ { false };
  std::atomic<gint64> last_activity_us_;
  std::atomic<bool> stop_ { false };
  GMainContext *context_ = nullptr;
  GThread *thread_ = nullptr;
  std::vector<uint8_t> buffer_;  // relay thread only
};

}  // namespace rts
