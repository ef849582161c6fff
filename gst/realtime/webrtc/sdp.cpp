/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "webrtc/sdp.h"

#include <glib.h>

#include <algorithm>
#include <cstdio>
#include <string_view>

namespace rt {

std::string sdp_with_candidates (const std::string &sdp,
    const std::vector<std::string> &candidates)
{
  if (candidates.empty ())
    return sdp;
  auto first_m = sdp.find ("\r\nm=");
  if (first_m == std::string::npos)
    return sdp;
  auto next_m = sdp.find ("\r\nm=", first_m + 2);
  auto at = next_m == std::string::npos ? sdp.size () - 2 : next_m;
  std::string lines;
  for (const auto &c : candidates)
    lines += "\r\na=" + c;
  std::string out = sdp;
  out.insert (at, lines);
  return out;
}

namespace {

/* The first audio section: [begin, end) of its lines, begin at "m=". */
bool audio_section (const std::string &sdp, size_t &begin, size_t &end)
{
  size_t at = 0;
  while ((at = sdp.find ("m=", at)) != std::string::npos) {
    if (at == 0 || sdp[at - 1] == '\n') {
      size_t next = sdp.find ("\nm=", at);
      if (sdp.compare (at, 8, "m=audio ") == 0) {
        begin = at;
        end = next == std::string::npos ? sdp.size () : next + 1;
        return true;
      }
    }
    at += 2;
  }
  return false;
}

}  // namespace

int sdp_payload_type (const std::string &sdp, const char *encoding,
    int clock_rate)
{
  size_t begin, end;
  if (!audio_section (sdp, begin, end))
    return -1;
  const std::string key = "a=rtpmap:";
  for (size_t at = sdp.find (key, begin); at != std::string::npos && at < end;
       at = sdp.find (key, at + 1)) {
    size_t eol = sdp.find_first_of ("\r\n", at);
    std::string line = sdp.substr (at + key.size (),
        (eol == std::string::npos ? sdp.size () : eol) - at - key.size ());
    int pt = -1, rate = 0;
    char name[32] = "";
    if (sscanf (line.c_str (), "%d %31[^/]/%d", &pt, name, &rate) == 3 &&
        g_ascii_strcasecmp (name, encoding) == 0 && rate == clock_rate &&
        pt >= 0 && pt <= 127)
      return pt;
  }
  /* G.711's static payload types need no rtpmap (RFC 3551). */
  const int fixed = clock_rate != 8000           ? -1 :
      g_ascii_strcasecmp (encoding, "PCMU") == 0 ? 0 :
      g_ascii_strcasecmp (encoding, "PCMA") == 0 ? 8 :
                                                   -1;
  if (fixed < 0)
    return -1;
  size_t eol = std::min (sdp.find_first_of ("\r\n", begin), end);
  std::string_view line (sdp.data () + begin, eol - begin);
  const std::string want = std::to_string (fixed);
  size_t n = 0;
  for (size_t at = 0; at <= line.size (); n++) {
    size_t sp = std::min (line.find (' ', at), line.size ());
    if (n >= 3 && line.substr (at, sp - at) == want)
      return fixed;
    at = sp + 1;
  }
  return -1;
}

int sdp_telephone_event_pt (const std::string &sdp, int clock_rate)
{
  return sdp_payload_type (sdp, "telephone-event", clock_rate);
}

std::string sdp_with_telephone_event (const std::string &sdp, int pt,
    int clock_rate)
{
  size_t begin, end;
  if (!audio_section (sdp, begin, end) || pt < 0 || pt > 127)
    return sdp;
  size_t eol = std::min (sdp.find_first_of ("\r\n", begin), sdp.size ());
  /* m=audio <port> <proto> <fmt> ... (split by hand: a NUL from the
   * network must not hide a field) */
  const std::string p = std::to_string (pt);
  std::string_view line (sdp.data () + begin, eol - begin);
  size_t n = 0;
  bool has = false;
  for (size_t at = 0; at <= line.size ();) {
    size_t sp = std::min (line.find (' ', at), line.size ());
    if (n >= 3 && line.substr (at, sp - at) == p)
      has = true;
    n++;
    at = sp + 1;
  }
  if (has || n < 4)
    return sdp;
  const std::string nl = sdp.find ("\r\n") != std::string::npos ? "\r\n" : "\n";
  std::string out = sdp;
  /* The section's end first, so that the m= line's offset still holds. */
  std::string lines = "a=rtpmap:" + p + " telephone-event/" +
      std::to_string (clock_rate) + nl + "a=fmtp:" + p + " 0-16" + nl;
  if (end == out.size () && out.back () != '\n')
    lines = nl + lines;
  out.insert (end, lines);
  out.insert (eol, " " + p);
  return out;
}

bool is_loopback_url (const std::string &url)
{
  GUri *uri = g_uri_parse (url.c_str (), G_URI_FLAGS_NONE, nullptr);
  if (!uri)
    return false;
  std::string host = g_uri_get_host (uri) ? g_uri_get_host (uri) : "";
  g_uri_unref (uri);
  return host == "localhost" || host == "::1" || host.rfind ("127.", 0) == 0;
}

}  // namespace rt
