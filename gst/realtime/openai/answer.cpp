/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "openai/answer.h"

#include <gst/sdp/sdp.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>

namespace rt {
namespace {

/* Real answers are 1-3 KB; anything this large is not one. */
constexpr std::size_t kMaxAnswerBytes = 256 * 1024;
constexpr std::size_t kQuoteChars = 40;

struct SdpFree {
  void operator() (GstSDPMessage *msg) const { gst_sdp_message_free (msg); }
};
using SdpPtr = std::unique_ptr<GstSDPMessage, SdpFree>;

bool is_blank (unsigned char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* At most kQuoteChars printable characters from the start of text, blanks
 * folded into one space and anything else unprintable shown as '?', so a
 * message never carries control bytes or a whole page. */
std::string printable_start (const std::string &text)
{
  std::string out;
  std::size_t i = 0;
  bool blank = false;
  for (; i < text.size () && out.size () < kQuoteChars; i++) {
    const unsigned char c = static_cast<unsigned char> (text[i]);
    if (is_blank (c)) {
      blank = !out.empty ();
      continue;
    }
    if (blank) {
      out += ' ';
      blank = false;
      if (out.size () == kQuoteChars)
        break;
    }
    out += c >= 0x20 && c < 0x7f ? static_cast<char> (c) : '?';
  }
  if (i < text.size ())
    out += "...";
  return out;
}

std::string quote_start (const std::string &text)
{
  return "'" + printable_start (text) + "'";
}

bool is_binary (const std::string &text)
{
  if (std::memchr (text.data (), '\0', text.size ()))
    return true;
  for (unsigned char c : text)
    if ((c < 0x20 && !is_blank (c)) || c == 0x7f)
      return true;
  return !g_utf8_validate (text.data (), text.size (), nullptr);
}

bool starts_with_nocase (const std::string &text, std::size_t at,
    const char *prefix)
{
  const std::size_t n = std::strlen (prefix);
  return text.size () - at >= n &&
      g_ascii_strncasecmp (text.c_str () + at, prefix, n) == 0;
}

/* Says what a body that is not SDP looks like. */
std::string describe_not_sdp (const std::string &body)
{
  if (body.empty ())
    return "the answer is not SDP: it is empty";
  std::size_t at = 0;
  while (at < body.size () && is_blank (static_cast<unsigned char> (body[at])))
    at++;
  if (at == body.size ())
    return "the answer is not SDP: it is blank (" +
        std::to_string (body.size ()) + " bytes of whitespace)";
  if (is_binary (body)) {
    std::string hex;
    for (std::size_t i = 0; i < body.size () && i < 8; i++) {
      char b[4];
      std::snprintf (b, sizeof b, "%02x", static_cast<unsigned char> (body[i]));
      hex += (i ? " " : "") + std::string (b);
    }
    return "the answer is not SDP but binary data (" +
        std::to_string (body.size ()) + " bytes starting " + hex + ")";
  }
  const std::string quote = quote_start (body);
  if (body[at] == '{' || body[at] == '[')
    return "the answer is not SDP but JSON: " + quote;
  if (starts_with_nocase (body, at, "<?xml"))
    return "the answer is not SDP but XML: " + quote;
  if (body[at] == '<')
    return "the answer is not SDP but HTML: " + quote;
  return "the answer is not SDP: " + quote;
}

const char *media_value (const GstSDPMessage *msg, const GstSDPMedia *media,
    const char *key)
{
  const char *v = gst_sdp_media_get_attribute_val (media, key);
  if (!v || !*v)
    v = gst_sdp_message_get_attribute_val (msg, key);
  return v && *v ? v : nullptr;
}

bool has_format (const GstSDPMedia *media, const char *format)
{
  for (guint i = 0; i < gst_sdp_media_formats_len (media); i++)
    if (g_strcmp0 (gst_sdp_media_get_format (media, i), format) == 0)
      return true;
  return false;
}

/* The BUNDLE group holding mid, as its list of mids, or empty. */
std::string bundle_of (const GstSDPMessage *msg, const char *mid)
{
  if (!mid)
    return {};
  for (guint i = 0; i < gst_sdp_message_attributes_len (msg); i++) {
    const GstSDPAttribute *a = gst_sdp_message_get_attribute (msg, i);
    if (g_strcmp0 (a->key, "group") != 0 || !a->value ||
        std::strncmp (a->value, "BUNDLE", 6) != 0)
      continue;
    gchar **mids = g_strsplit_set (a->value + 6, " \t", -1);
    bool found = false;
    for (gchar **m = mids; *m && !found; m++)
      found = g_strcmp0 (*m, mid) == 0;
    g_strfreev (mids);
    if (found)
      return a->value;
  }
  return {};
}

/* Port 0 rejects an m-line, unless BUNDLE carries it on another's port. */
bool rejected (const GstSDPMessage *msg, const GstSDPMedia *media)
{
  return gst_sdp_media_get_port (media) == 0 &&
      bundle_of (msg, gst_sdp_media_get_attribute_val (media, "mid")).empty ();
}

/* "sha-256 AB:CD:...": a hash name, then hex byte pairs joined by ':'. */
bool fingerprint_well_formed (const char *value)
{
  const char *p = value;
  while (*p && *p != ' ')
    p++;
  if (p == value)
    return false;
  while (*p == ' ')
    p++;
  unsigned bytes = 0;
  while (true) {
    if (!g_ascii_isxdigit (p[0]) || !g_ascii_isxdigit (p[1]))
      return false;
    bytes++;
    p += 2;
    if (*p != ':')
      break;
    p++;
  }
  while (is_blank (static_cast<unsigned char> (*p)))
    p++;
  /* SHA-1, the shortest hash DTLS still uses, has 20 bytes. */
  return *p == '\0' && bytes >= 20;
}

/* a=max-message-size as a byte count, saturating; 0 when unreadable. */
std::size_t parse_size (const char *value)
{
  const char *p = value;
  while (*p == ' ')
    p++;
  if (!g_ascii_isdigit (*p))
    return 0;
  std::size_t v = 0;
  for (; g_ascii_isdigit (*p); p++) {
    const std::size_t digit = static_cast<std::size_t> (*p - '0');
    v = v > (SIZE_MAX - digit) / 10 ? SIZE_MAX : v * 10 + digit;
  }
  while (is_blank (static_cast<unsigned char> (*p)))
    p++;
  return *p == '\0' ? v : 0;
}

}  // namespace

AnswerCheck check_answer_sdp (const std::string &body)
{
  AnswerCheck check;
  if (body.compare (0, 4, "v=0\r") != 0 && body.compare (0, 4, "v=0\n") != 0) {
    check.problem = describe_not_sdp (body);
    return check;
  }
  check.is_sdp = true;
  if (body.size () > kMaxAnswerBytes) {
    check.problem = "the answer is " + std::to_string (body.size ()) +
        " bytes, too large for an SDP answer";
    return check;
  }
  /* The SDP parser reads up to a NUL whatever the size it is given. */
  if (std::memchr (body.data (), '\0', body.size ())) {
    check.problem = "the answer contains NUL bytes";
    return check;
  }

  GstSDPMessage *raw = nullptr;
  gst_sdp_message_new (&raw);
  SdpPtr msg (raw);
  if (gst_sdp_message_parse_buffer (
          reinterpret_cast<const guint8 *> (body.c_str ()),
          static_cast<guint> (body.size ()), raw) != GST_SDP_OK) {
    check.problem = "the answer is not valid SDP";
    return check;
  }

  const GstSDPMedia *audio = nullptr;
  const GstSDPMedia *data = nullptr;
  for (guint i = 0; i < gst_sdp_message_medias_len (raw); i++) {
    const GstSDPMedia *m = gst_sdp_message_get_media (raw, i);
    const char *kind = gst_sdp_media_get_media (m);
    /* The first usable one of each kind; a rejected one only if no other. */
    if (g_strcmp0 (kind, "audio") == 0) {
      if (!audio || (rejected (raw, audio) && !rejected (raw, m)))
        audio = m;
    } else if (g_strcmp0 (kind, "application") == 0 &&
        has_format (m, "webrtc-datachannel")) {
      if (!data || (rejected (raw, data) && !rejected (raw, m)))
        data = m;
    }
  }
  if (!audio) {
    check.problem = "the answer has no audio m-line";
    return check;
  }
  if (rejected (raw, audio)) {
    check.problem = "the answer rejects the audio m-line (port 0)";
    return check;
  }
  if (!data) {
    check.problem = "the answer has no application m-line with "
                    "webrtc-datachannel: the events data channel was refused";
    return check;
  }
  if (rejected (raw, data)) {
    check.problem = "the answer rejects the events data channel (port 0)";
    return check;
  }

  /* Bundled m-lines share one transport, whose attributes may sit on
   * either; otherwise each needs its own. */
  const std::string bundle = bundle_of (raw,
      gst_sdp_media_get_attribute_val (audio, "mid"));
  const bool bundled = !bundle.empty () &&
      bundle == bundle_of (raw, gst_sdp_media_get_attribute_val (data, "mid"));
  const GstSDPMedia *const lines[] = { audio, data };
  for (const char *key : { "fingerprint", "ice-ufrag", "ice-pwd" }) {
    const char *found = nullptr;
    for (const GstSDPMedia *m : lines) {
      const char *v = media_value (raw, m, key);
      if (!v && !bundled) {
        found = nullptr;
        break;
      }
      if (v && !found)
        found = v;
    }
    if (!found) {
      check.problem = g_strcmp0 (key, "fingerprint") == 0 ?
          "the answer has no DTLS fingerprint (a=fingerprint)" :
          g_strcmp0 (key, "ice-ufrag") == 0 ?
          "the answer has no ICE username fragment (a=ice-ufrag)" :
          "the answer has no ICE password (a=ice-pwd)";
      return check;
    }
    if (g_strcmp0 (key, "fingerprint") == 0) {
      for (const GstSDPMedia *m : lines) {
        const char *v = media_value (raw, m, key);
        if (v && !fingerprint_well_formed (v)) {
          check.problem = "the answer's DTLS fingerprint is malformed: " +
              quote_start (v);
          return check;
        }
      }
    }
  }

  /* The answerer picks the DTLS role; actpass or holdconn leave none. */
  for (const GstSDPMedia *m : lines) {
    const char *setup = media_value (raw, m, "setup");
    if (setup && g_strcmp0 (setup, "active") != 0 &&
        g_strcmp0 (setup, "passive") != 0) {
      check.problem = "the answer has a=setup:" + printable_start (setup) +
          ", where an answer must say active or passive";
      return check;
    }
  }

  if (const char *mms = media_value (raw, data, "max-message-size")) {
    const std::size_t v = parse_size (mms);
    if (v > 0 && v < kMaxDataChannelMessage)
      check.max_message_size = v;
  }
  check.usable = true;
  return check;
}

}  // namespace rt
