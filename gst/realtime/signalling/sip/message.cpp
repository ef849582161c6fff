/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "signalling/sip/message.h"
#include "signalling/sip/text.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace rt::sip {

namespace {

using text::iequal;
using text::trim;

/* RFC 3261 token characters (method names, header names). */
bool is_token (std::string_view s)
{
  if (s.empty ())
    return false;
  for (char c : s)
    if (!std::isalnum ((unsigned char) c) && !strchr ("-.!%*_+`'~", c))
      return false;
  return true;
}

/* The compact forms of RFC 3261 7.3.3 and of the extensions phones use. */
std::string_view full_name (std::string_view name)
{
  if (name.size () != 1)
    return name;
  switch (std::tolower ((unsigned char) name[0])) {
    case 'i': return "Call-ID";
    case 'm': return "Contact";
    case 'e': return "Content-Encoding";
    case 'l': return "Content-Length";
    case 'c': return "Content-Type";
    case 'f': return "From";
    case 's': return "Subject";
    case 'k': return "Supported";
    case 't': return "To";
    case 'v': return "Via";
    case 'o': return "Event";
    case 'r': return "Refer-To";
    case 'b': return "Referred-By";
    case 'u': return "Allow-Events";
    case 'x': return "Session-Expires";
    default: return name;
  }
}

bool same_header (std::string_view a, std::string_view b)
{
  return iequal (full_name (a), full_name (b));
}

/* Headers whose value may be a comma-separated list (RFC 3261 7.3.1);
 * the authentication headers are not: their parameters hold commas. */
bool is_list (std::string_view name)
{
  for (const char *n :
      { "Via", "Route", "Record-Route", "Contact", "Allow", "Supported",
          "Require", "Proxy-Require", "Unsupported", "Accept", "Allow-Events" })
    if (same_header (name, n))
      return true;
  return false;
}

/* Splits on sep outside quotes and angle brackets. */
std::vector<std::string_view> split_outside (std::string_view s, char sep)
{
  std::vector<std::string_view> parts;
  bool quoted = false;
  int angle = 0;
  size_t from = 0;
  for (size_t i = 0; i < s.size (); i++) {
    char c = s[i];
    if (quoted) {
      if (c == '\\')
        i++;
      else if (c == '"')
        quoted = false;
    } else if (c == '"') {
      quoted = true;
    } else if (c == '<') {
      angle++;
    } else if (c == '>' && angle > 0) {
      angle--;
    } else if (c == sep && angle == 0) {
      parts.push_back (s.substr (from, i - from));
      from = i + 1;
    }
  }
  parts.push_back (s.substr (std::min (from, s.size ())));
  return parts;
}

std::string unquote (std::string_view v)
{
  v = trim (v);
  if (v.size () < 2 || v.front () != '"' || v.back () != '"')
    return std::string (v);
  std::string out;
  for (size_t i = 1; i + 1 < v.size (); i++) {
    if (v[i] == '\\' && i + 2 < v.size ())
      i++;
    out += v[i];
  }
  return out;
}

bool parse_uint (std::string_view s, unsigned long max, unsigned long &out)
{
  if (s.empty () || s.size () > 10)
    return false;
  /* Ten digits fit in 64 bits whatever the size of long. */
  unsigned long long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return false;
    v = v * 10 + (unsigned long long) (c - '0');
  }
  if (v > max)
    return false;
  out = (unsigned long) v;
  return true;
}

ParseResult failure (std::string why)
{
  ParseResult r;
  r.error = std::move (why);
  return r;
}

bool parse_start_line (std::string_view line, Message &m, std::string &error)
{
  if (line.size () >= 8 && iequal (line.substr (0, 8), "SIP/2.0 ")) {
    std::string_view rest = line.substr (8);
    unsigned long status = 0;
    if (rest.size () < 3 || !parse_uint (rest.substr (0, 3), 699, status) ||
        status < 100 || (rest.size () > 3 && rest[3] != ' ')) {
      error = "bad status line";
      return false;
    }
    m.status = (int) status;
    m.reason = std::string (rest.size () > 4 ? rest.substr (4) : "");
    return true;
  }
  size_t sp1 = line.find (' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find (' ', sp1 + 1);
  if (sp2 == std::string_view::npos ||
      line.find (' ', sp2 + 1) != std::string_view::npos) {
    error = "bad request line";
    return false;
  }
  std::string_view method = line.substr (0, sp1);
  std::string_view uri = line.substr (sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr (sp2 + 1);
  if (!is_token (method) || uri.empty () || uri.find (':') == uri.npos ||
      !iequal (version, "SIP/2.0")) {
    error = "bad request line";
    return false;
  }
  m.method = std::string (method);
  m.uri = std::string (uri);
  return true;
}

}  // namespace

const std::string *Message::header (std::string_view name) const
{
  for (const auto &h : headers)
    if (same_header (h.name, name))
      return &h.value;
  return nullptr;
}

std::vector<std::string> Message::header_values (std::string_view name) const
{
  std::vector<std::string> out;
  for (const auto &h : headers) {
    if (!same_header (h.name, name))
      continue;
    if (!is_list (name)) {
      out.push_back (h.value);
      continue;
    }
    for (auto part : split_outside (h.value, ','))
      if (!trim (part).empty ())
        out.emplace_back (trim (part));
  }
  return out;
}

void Message::add_header (std::string name, std::string value)
{
  headers.push_back ({ std::move (name), std::move (value) });
}

void Message::set_header (std::string name, std::string value)
{
  remove_header (name);
  add_header (std::move (name), std::move (value));
}

void Message::remove_header (std::string_view name)
{
  headers.erase (
      std::remove_if (headers.begin (), headers.end (),
          [&] (const Header &h) { return same_header (h.name, name); }),
      headers.end ());
}

std::string Message::serialize () const
{
  std::string out;
  if (is_request ())
    out = method + " " + uri + " SIP/2.0\r\n";
  else
    out = "SIP/2.0 " + std::to_string (status) + " " + reason + "\r\n";
  for (const auto &h : headers)
    if (!same_header (h.name, "Content-Length"))
      out += h.name + ": " + h.value + "\r\n";
  out += "Content-Length: " + std::to_string (body.size ()) + "\r\n\r\n";
  out += body;
  return out;
}

Message response_to (const Message &request, int status, std::string reason,
    const std::string &to_tag)
{
  Message r;
  r.status = status;
  r.reason = std::move (reason);
  for (const auto &h : request.headers)
    if (same_header (h.name, "Via"))
      r.add_header ("Via", h.value);
  for (const char *name : { "From", "Call-ID", "CSeq" })
    if (const std::string *v = request.header (name))
      r.add_header (name, *v);
  if (const std::string *to = request.header ("To")) {
    const bool tagged = param (*to, "tag").has_value ();
    r.add_header ("To",
        tagged || to_tag.empty () ? *to : *to + ";tag=" + to_tag);
  }
  return r;
}

ParseResult parse (std::string_view data, const ParseLimits &limits)
{
  if (data.size () > limits.max_size)
    return failure (
        "message larger than " + std::to_string (limits.max_size) + " bytes");
  if (!data.empty () &&
      data.find_first_not_of ("\r\n") == std::string_view::npos) {
    ParseResult r;
    r.keepalive = true;
    return r;
  }
  /* The header section ends at the first empty line (CRLF, or LF alone
   * from a sloppy peer). */
  size_t crlf = data.find ("\r\n\r\n"), lf = data.find ("\n\n");
  if (crlf == data.npos && lf == data.npos)
    return failure ("no end of the headers");
  const bool by_crlf = crlf != data.npos && (lf == data.npos || crlf < lf);
  size_t end = by_crlf ? crlf : lf;
  size_t body_at = end + (by_crlf ? 4 : 2);
  std::string_view head = data.substr (0, end);
  if (head.find ('\0') != head.npos)
    return failure ("NUL byte in the headers");

  Message m;
  std::string error;
  bool first = true;
  size_t at = 0;
  while (at <= head.size ()) {
    size_t nl = head.find ('\n', at);
    std::string_view line = head.substr (at,
        (nl == head.npos ? head.size () : nl) - at);
    at = nl == head.npos ? head.size () + 1 : nl + 1;
    if (!line.empty () && line.back () == '\r')
      line.remove_suffix (1);
    if (first) {
      first = false;
      if (!parse_start_line (line, m, error))
        return failure (error);
      continue;
    }
    if (line.empty ())
      return failure ("empty line inside the headers");
    /* A continuation line (obsolete folding) belongs to the header above. */
    if (line.front () == ' ' || line.front () == '\t') {
      if (m.headers.empty ())
        return failure ("continuation before any header");
      std::string_view more = trim (line);
      std::string &value = m.headers.back ().value;
      if (!more.empty ())
        value += (value.empty () ? "" : " ") + std::string (more);
      continue;
    }
    size_t colon = line.find (':');
    if (colon == line.npos)
      return failure ("header without a colon");
    std::string_view name = trim (line.substr (0, colon));
    if (!is_token (name))
      return failure ("bad header name");
    if (m.headers.size () >= limits.max_headers)
      return failure (
          "more than " + std::to_string (limits.max_headers) + " headers");
    m.headers.push_back ({ std::string (full_name (name)),
        std::string (trim (line.substr (colon + 1))) });
  }

  std::string_view body = data.substr (std::min (body_at, data.size ()));
  if (const std::string *cl = m.header ("Content-Length")) {
    unsigned long length = 0;
    if (!parse_uint (trim (*cl), limits.max_size, length))
      return failure ("bad Content-Length");
    if (length > body.size ())
      return failure ("body shorter than its Content-Length");
    body = body.substr (0, length);
  }
  m.body = std::string (body);

  for (const char *required : { "Via", "From", "To", "Call-ID", "CSeq" })
    if (!m.header (required))
      return failure (std::string ("no ") + required + " header");
  auto cseq = parse_cseq (*m.header ("CSeq"));
  if (!cseq)
    return failure ("bad CSeq");
  if (m.is_request () && cseq->method != m.method)
    return failure ("CSeq method differs from the request's");
  ParseResult r;
  r.message = std::move (m);
  return r;
}

std::optional<std::string> param (std::string_view value, std::string_view name)
{
  auto parts = split_outside (value, ';');
  for (size_t i = 1; i < parts.size (); i++) {
    std::string_view p = trim (parts[i]);
    size_t eq = p.find ('=');
    std::string_view key = trim (p.substr (0, eq));
    if (!iequal (key, name))
      continue;
    if (eq == p.npos)
      return std::string ();
    return unquote (p.substr (eq + 1));
  }
  return std::nullopt;
}

std::optional<NameAddr> parse_name_addr (std::string_view value)
{
  std::string_view v = trim (value);
  NameAddr out;
  size_t lt = std::string_view::npos;
  if (!v.empty () && v.front () == '"') {
    size_t i = 1;
    for (; i < v.size () && v[i] != '"'; i++)
      if (v[i] == '\\')
        i++;
    if (i >= v.size ())
      return std::nullopt;
    out.display = unquote (v.substr (0, i + 1));
    lt = v.find ('<', i + 1);
    if (lt == v.npos || !trim (v.substr (i + 1, lt - i - 1)).empty ())
      return std::nullopt;
  } else {
    size_t semi = v.find (';');
    lt = v.find ('<');
    if (lt != v.npos && (semi == v.npos || lt < semi))
      out.display = std::string (trim (v.substr (0, lt)));
    else
      lt = v.npos;
  }
  std::string_view rest;
  if (lt != v.npos) {
    size_t gt = v.find ('>', lt);
    if (gt == v.npos)
      return std::nullopt;
    out.uri = std::string (trim (v.substr (lt + 1, gt - lt - 1)));
    rest = v.substr (gt + 1);
  } else {
    size_t semi = v.find (';');
    out.uri = std::string (trim (v.substr (0, semi)));
    rest = semi == v.npos ? std::string_view () : v.substr (semi);
  }
  rest = trim (rest);
  if (!rest.empty () && rest.front () != ';')
    return std::nullopt;
  out.params = std::string (rest);
  if (out.uri.empty () || out.uri.find (':') == std::string::npos ||
      out.uri.find_first_of (" \t<>\"") != std::string::npos)
    return std::nullopt;
  return out;
}

std::optional<CSeq> parse_cseq (std::string_view value)
{
  std::string_view v = trim (value);
  size_t sp = v.find_first_of (" \t");
  if (sp == v.npos)
    return std::nullopt;
  CSeq c;
  std::string_view method = trim (v.substr (sp));
  if (!parse_uint (v.substr (0, sp), 2147483647ul, c.number) ||
      !is_token (method))
    return std::nullopt;
  c.method = std::string (method);
  return c;
}

namespace {

/* What follows "sip:" or "sips:", or nullopt. */
std::optional<std::string_view> after_scheme (std::string_view uri)
{
  uri = trim (uri);
  if (uri.size () >= 4 && iequal (uri.substr (0, 4), "sip:"))
    return uri.substr (4);
  if (uri.size () >= 5 && iequal (uri.substr (0, 5), "sips:"))
    return uri.substr (5);
  return std::nullopt;
}

}  // namespace

std::string uri_user (std::string_view uri)
{
  auto rest = after_scheme (uri);
  if (!rest)
    return "";
  size_t at = rest->find ('@');
  size_t stop = rest->find_first_of (";?>");
  if (at == rest->npos || (stop != rest->npos && stop < at))
    return "";
  std::string_view user = rest->substr (0, at);
  return std::string (user.substr (0, user.find (':')));
}

std::string uri_host (std::string_view uri)
{
  auto rest = after_scheme (uri);
  if (!rest)
    return "";
  size_t stop = rest->find_first_of (";?>");
  std::string_view hostport = rest->substr (0, stop);
  size_t at = hostport.find ('@');
  if (at != hostport.npos)
    hostport = hostport.substr (at + 1);
  return std::string (hostport);
}

std::string tag_of (const Message &m, std::string_view header)
{
  const std::string *v = m.header (header);
  return v ? param (*v, "tag").value_or ("") : std::string ();
}

std::optional<CSeq> cseq_of (const Message &m)
{
  const std::string *v = m.header ("CSeq");
  return v ? parse_cseq (*v) : std::nullopt;
}

bool body_is (const Message &m, std::string_view type)
{
  const std::string *t = m.header ("Content-Type");
  return t && !m.body.empty () &&
      text::iequal (
          text::trim (std::string_view (*t).substr (0, t->find (';'))), type);
}

}  // namespace rt::sip
