/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SIP messages (RFC 3261) as they travel over a WebSocket (RFC 7118): one
 * message per frame, parsed with bounds and serialised with a correct
 * Content-Length. Pure: no GStreamer, no I/O; what a peer sends is checked
 * here before anything acts on it. */
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rt::sip {

/* What this side's phone does and understands: its Allow header. */
inline constexpr const char *kAllowedMethods =
    "INVITE,ACK,CANCEL,BYE,UPDATE,OPTIONS,REFER,INFO,NOTIFY";

struct Header {
  std::string name; /* as the peer wrote it (compact forms expanded) */
  std::string value;
};

struct Message {
  /* A request has a method and a Request-URI; a response a status. */
  std::string method;
  std::string uri;
  int status = 0;
  std::string reason;
  std::vector<Header> headers;
  std::string body;

  bool is_request () const { return !method.empty (); }

  /* The first header of that name (case-insensitive; compact forms such
   * as "v" or "i" match their full names), or nullptr. */
  const std::string *header (std::string_view name) const;
  /* Every value of that name, in order, comma-separated lists split
   * (Via, Route, Record-Route, Contact: outside quotes and <>). */
  std::vector<std::string> header_values (std::string_view name) const;
  void add_header (std::string name, std::string value);
  /* Replaces every header of that name by one. */
  void set_header (std::string name, std::string value);
  void remove_header (std::string_view name);

  /* The message as it goes on the wire: start line, headers, CRLF,
   * Content-Length always set to the body's size, body. */
  std::string serialize () const;
};

struct ParseLimits {
  std::size_t max_size = 64 * 1024;
  std::size_t max_headers = 128;
};

struct ParseResult {
  std::optional<Message> message;
  std::string error;      /* why not, short and printable */
  bool keepalive = false; /* a bare CRLF or CRLFCRLF (RFC 5626 4.4.1) */
};

/* The response to a request (RFC 3261 8.2.6): its Via, From, Call-ID and
 * CSeq, and its To with to_tag added when it has none. */
Message response_to (const Message &request, int status, std::string reason,
    const std::string &to_tag = {});

/* One message from one WebSocket frame. Requests need Via, From, To,
 * Call-ID and CSeq (whose method matches); a Content-Length beyond the
 * body is an error, a shorter one cuts the body. */
ParseResult parse (std::string_view data, const ParseLimits &limits = {});

/* Pieces of header values. */

/* A header value's parameter (";tag=abc" -> "abc"), outside quotes and
 * angle brackets; nullopt when absent, "" when it has no value. */
std::optional<std::string> param (std::string_view value,
    std::string_view name);

/* name-addr or addr-spec: "Alice" <sip:alice@example.org;ob>;tag=1 */
struct NameAddr {
  std::string display; /* unquoted */
  std::string uri;     /* without the angle brackets */
  std::string params;  /* ";tag=1", the header parameters as written */
};
std::optional<NameAddr> parse_name_addr (std::string_view value);

struct CSeq {
  unsigned long number = 0;
  std::string method;
};
std::optional<CSeq> parse_cseq (std::string_view value);

/* A header's tag parameter ("" when none), a message's CSeq, and whether
 * its body is of a content type (parameters aside). */
std::string tag_of (const Message &m, std::string_view header);
std::optional<CSeq> cseq_of (const Message &m);
bool body_is (const Message &m, std::string_view type);

/* The user part of a SIP or SIPS URI ("sip:alice@example.org" -> "alice"),
 * empty when there is none. */
std::string uri_user (std::string_view uri);
/* The host[:port] of a SIP or SIPS URI, without parameters. */
std::string uri_host (std::string_view uri);

}  // namespace rt::sip
