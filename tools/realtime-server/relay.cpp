/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "relay.h"

#include "stun.h"

#include <glib-unix.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rts {

namespace {

// More client addresses than a WebRTC peer ever uses on one host: the rest are dropped.
constexpr size_t kMaxMappings = 16;
constexpr size_t kMaxDatagram = 65536;

bool parse_ip (const std::string &ip, int port, sockaddr_storage *out,
    socklen_t *len)
{
  *out = sockaddr_storage {};
  auto *v4 = reinterpret_cast<sockaddr_in *> (out);
  if (inet_pton (AF_INET, ip.c_str (), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons (static_cast<uint16_t> (port));
    *len = sizeof (sockaddr_in);
    return true;
  }
  *out = sockaddr_storage {};
  auto *v6 = reinterpret_cast<sockaddr_in6 *> (out);
  if (inet_pton (AF_INET6, ip.c_str (), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons (static_cast<uint16_t> (port));
    *len = sizeof (sockaddr_in6);
    return true;
  }
  return false;
}

std::string describe (const sockaddr_storage &addr)
{
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (addr.ss_family == AF_INET) {
    auto *v4 = reinterpret_cast<const sockaddr_in *> (&addr);
    inet_ntop (AF_INET, &v4->sin_addr, host, sizeof host);
    port = ntohs (v4->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    auto *v6 = reinterpret_cast<const sockaddr_in6 *> (&addr);
    inet_ntop (AF_INET6, &v6->sin6_addr, host, sizeof host);
    port = ntohs (v6->sin6_port);
  }
  return std::string (host) + ":" + std::to_string (port);
}

// A non-blocking UDP socket bound to local (port 0: any); -1 on failure.
int bind_udp (const sockaddr_storage &local, socklen_t len, std::string *error)
{
  int fd = socket (local.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
      0);
  if (fd < 0) {
    *error = std::string ("socket: ") + g_strerror (errno);
    return -1;
  }
  if (bind (fd, reinterpret_cast<const sockaddr *> (&local), len) != 0) {
    *error = std::string ("bind: ") + g_strerror (errno);
    close (fd);
    return -1;
  }
  return fd;
}

// The part of an address that identifies an endpoint (family, address, port), as bytes.
std::string endpoint_key (const sockaddr_storage &addr)
{
  if (addr.ss_family == AF_INET) {
    auto *v4 = reinterpret_cast<const sockaddr_in *> (&addr);
    return std::string ("4") +
        std::string (reinterpret_cast<const char *> (&v4->sin_addr),
            sizeof v4->sin_addr) +
        std::string (reinterpret_cast<const char *> (&v4->sin_port),
            sizeof v4->sin_port);
  }
  if (addr.ss_family == AF_INET6) {
    auto *v6 = reinterpret_cast<const sockaddr_in6 *> (&addr);
    return std::string ("6") +
        std::string (reinterpret_cast<const char *> (&v6->sin6_addr),
            sizeof v6->sin6_addr) +
        std::string (reinterpret_cast<const char *> (&v6->sin6_port),
            sizeof v6->sin6_port);
  }
  return "";
}

const char *stun_name (const StunInfo &info)
{
  if (info.is_binding_request ())
    return "binding request";
  if (info.is_binding_indication ())
    return "binding indication";
  if (info.is_binding_response ())
    return "binding response";
  return "other STUN";
}

}  // namespace

bool Relay::Endpoint::operator<(const Endpoint &other) const
{
  return endpoint_key (addr) < endpoint_key (other.addr);
}

bool Relay::Endpoint::operator== (const Endpoint &other) const
{
  return len != 0 && other.len != 0 &&
      endpoint_key (addr) == endpoint_key (other.addr);
}

Relay::Relay (const std::string &call_id, std::shared_ptr<RelayStats> stats)
    : call_id_ (call_id), stats_ (std::move (stats)),
      created_us_ (g_get_monotonic_time ()), last_activity_us_ (created_us_),
      buffer_ (kMaxDatagram)
{
}

std::unique_ptr<Relay> Relay::create (const std::string &address,
    const std::string &call_id, std::shared_ptr<RelayStats> stats,
    std::string *error)
{
  std::unique_ptr<Relay> relay (new Relay (call_id, std::move (stats)));
  if (!relay->open (address, error))
    return nullptr;
  return relay;
}

bool Relay::open (const std::string &address, std::string *error)
{
  if (!parse_ip (address, 0, &local_, &local_len_)) {
    *error = "not an IP address: " + address;
    return false;
  }
  client_fd_ = bind_udp (local_, local_len_, error);
  if (client_fd_ < 0)
    return false;
  sockaddr_storage bound {};
  socklen_t bound_len = sizeof bound;
  if (getsockname (client_fd_, reinterpret_cast<sockaddr *> (&bound),
          &bound_len) != 0) {
    *error = std::string ("getsockname: ") + g_strerror (errno);
    return false;
  }
  port_ = bound.ss_family == AF_INET ?
      ntohs (reinterpret_cast<sockaddr_in *> (&bound)->sin_port) :
      ntohs (reinterpret_cast<sockaddr_in6 *> (&bound)->sin6_port);
  context_ = g_main_context_new ();
  client_source_ = g_unix_fd_source_new (client_fd_, G_IO_IN);
  g_source_set_callback (client_source_, G_SOURCE_FUNC (on_client_readable),
      this, nullptr);
  g_source_set_priority (client_source_, G_PRIORITY_HIGH);
  g_source_attach (client_source_, context_);
  std::string name = "relay-" + call_id_.substr (0, 12);
  thread_ = g_thread_new (name.c_str (), thread_main, this);
  return true;
}

Relay::~Relay ()
{
  if (thread_) {
    stop_.store (true);
    g_main_context_wakeup (context_);
    g_thread_join (thread_);
  }
  for (auto &entry : mappings_) {
    g_source_destroy (entry.second->source);
    g_source_unref (entry.second->source);
    close (entry.second->fd);
  }
  mappings_.clear ();
  if (client_source_) {
    g_source_destroy (client_source_);
    g_source_unref (client_source_);
  }
  if (client_fd_ >= 0)
    close (client_fd_);
  if (context_)
    g_main_context_unref (context_);
}

gpointer Relay::thread_main (gpointer self)
{
  auto *relay = static_cast<Relay *> (self);
  g_main_context_push_thread_default (relay->context_);
  // A flag rather than a GMainLoop: a quit requested before the loop starts is never lost.
  while (!relay->stop_.load ())
    g_main_context_iteration (relay->context_, TRUE);
  g_main_context_pop_thread_default (relay->context_);
  return nullptr;
}

bool Relay::set_target (const std::string &ip, int port)
{
  Endpoint target;
  if (!parse_ip (ip, port, &target.addr, &target.len))
    return false;
  std::lock_guard<std::mutex> lock (target_lock_);
  target_ = target;
  return true;
}

gboolean Relay::on_client_readable (gint fd, GIOCondition, gpointer self)
{
  auto *relay = static_cast<Relay *> (self);
  for (;;) {
    Endpoint from;
    from.len = sizeof from.addr;
    ssize_t n = recvfrom (fd, relay->buffer_.data (), relay->buffer_.size (), 0,
        reinterpret_cast<sockaddr *> (&from.addr), &from.len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      break;  // EAGAIN: drained; anything else: try again on the next wakeup
    }
    relay->from_client (from, static_cast<size_t> (n));
  }
  return G_SOURCE_CONTINUE;
}

/* RTP, not RTCP, by RFC 7983's first byte and RFC 5761's second (RTCP's
 * packet types 192 to 223 are where RTP's marker bit and payload type would
 * be). */
static bool is_rtp (const uint8_t *data, size_t size)
{
  return size >= 12 && data[0] >= 128 && data[0] <= 191 &&
      (data[1] < 192 || data[1] > 223);
}

void Relay::from_client (const Endpoint &from, size_t size)
{
  RelayStats &stats = *stats_;
  stats.packets_in++;
  StunInfo stun;
  const bool is_stun = parse_stun (buffer_.data (), size, &stun);
  if (is_stun && stun.is_binding_request ()) {
    stats.binding_requests++;
    if (stun.use_candidate)
      stats.use_candidate++;
  } else if (is_stun && stun.is_binding_indication ()) {
    stats.binding_indications++;
  }
  if (is_stun)
    g_debug ("relay %s: %.3f s: client %s -> %s%s%s", call_id_.c_str (),
        elapsed_s (), describe (from.addr).c_str (), stun_name (stun),
        stun.use_candidate ? " USE-CANDIDATE" : "",
        stun.controlling    ? " (controlling)" :
            stun.controlled ? " (controlled)" :
                              "");
  if (silent_.load ()) {
    stats.dropped_in++;
    return;
  }
  // The server received it, even if it chooses to ignore it below.
  last_activity_us_.store (g_get_monotonic_time ());
  if (discard_rtp_.load () && is_rtp (buffer_.data (), size)) {
    stats.rtp_discarded++;
    return;
  }
  if (is_stun && stun.is_binding_request ()) {
    StrictIce strict = strict_.load ();
    if (!stun.use_candidate &&
        (strict == StrictIce::All ||
            (strict == StrictIce::Consent && nominated_.load ()))) {
      stats.ignored_checks++;
      return;
    }
    if (stun.use_candidate)
      nominated_.store (true);
  }
  Endpoint target;
  {
    std::lock_guard<std::mutex> lock (target_lock_);
    target = target_;
  }
  Mapping *mapping = target.len ? mapping_for (from) : nullptr;
  if (!mapping) {
    stats.dropped_in++;
    return;
  }
  // Non-blocking: a full socket buffer drops the datagram, as a congested network would.
  sendto (mapping->fd, buffer_.data (), size, 0,
      reinterpret_cast<const sockaddr *> (&target.addr), target.len);
}

Relay::Mapping *Relay::mapping_for (const Endpoint &client)
{
  auto it = mappings_.find (client);
  if (it != mappings_.end ())
    return it->second.get ();
  if (mappings_.size () >= kMaxMappings)
    return nullptr;
  std::string error;
  int fd = bind_udp (local_, local_len_, &error);
  if (fd < 0) {
    g_warning ("relay %s: %s", call_id_.c_str (), error.c_str ());
    return nullptr;
  }
  auto mapping = std::make_unique<Mapping> ();
  mapping->relay = this;
  mapping->client = client;
  mapping->fd = fd;
  mapping->source = g_unix_fd_source_new (fd, G_IO_IN);
  g_source_set_callback (mapping->source, G_SOURCE_FUNC (on_inner_readable),
      mapping.get (), nullptr);
  g_source_set_priority (mapping->source, G_PRIORITY_HIGH);
  g_source_attach (mapping->source, context_);
  g_debug ("relay %s: %.3f s: new client address %s", call_id_.c_str (),
      elapsed_s (), describe (client.addr).c_str ());
  Mapping *raw = mapping.get ();
  mappings_[client] = std::move (mapping);
  return raw;
}

gboolean Relay::on_inner_readable (gint fd, GIOCondition, gpointer data)
{
  auto *mapping = static_cast<Mapping *> (data);
  Relay *relay = mapping->relay;
  for (;;) {
    Endpoint from;
    from.len = sizeof from.addr;
    ssize_t n = recvfrom (fd, relay->buffer_.data (), relay->buffer_.size (), 0,
        reinterpret_cast<sockaddr *> (&from.addr), &from.len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    relay->from_server (*mapping, from, static_cast<size_t> (n));
  }
  return G_SOURCE_CONTINUE;
}

void Relay::from_server (Mapping &mapping, const Endpoint &from, size_t size)
{
  {
    std::lock_guard<std::mutex> lock (target_lock_);
    if (!(from == target_))
      return;  // only libnice talks to a mapping socket
  }
  RelayStats &stats = *stats_;
  StunInfo stun;
  if (parse_stun (buffer_.data (), size, &stun))
    g_debug ("relay %s: %.3f s: server -> %s %s%s", call_id_.c_str (),
        elapsed_s (), describe (mapping.client.addr).c_str (), stun_name (stun),
        stun.use_candidate ? " USE-CANDIDATE" : "");
  if (silent_.load ()) {
    stats.dropped_out++;
    return;
  }
  if (sendto (client_fd_, buffer_.data (), size, 0,
          reinterpret_cast<const sockaddr *> (&mapping.client.addr),
          mapping.client.len) >= 0)
    stats.packets_out++;
}

}  // namespace rts
