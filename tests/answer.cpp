/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check of the SDP answer alone, and the SDP edits of webrtc/sdp:
 * GStreamer's SDP library, no network. */
#include "openai/answer.h"
#include "webrtc/sdp.h"

#include <gst/gst.h>

#include <cstring>
#include <string>

/* The answer webrtcbin 1.22.0 gave to a webrtcbin offer (audio plus the
 * oai-events channel) through tools/realtime-server: transport attributes
 * on every m-line, a=setup:active, no a=max-message-size. */
static const std::string kWebrtcbinAnswer =
    "v=0\r\n"
    "o=- 8926181781314451575 0 IN IP4 0.0.0.0\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=ice-options:trickle\r\n"
    "a=group:BUNDLE audio0 application1\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:ifgr1WQ0MKF8b3cUFegGKYj2tHxoLMU6\r\n"
    "a=ice-pwd:bls//haxtvkUJywNySOjIydKTOO+KmKV\r\n"
    "a=rtcp-mux\r\n"
    "a=mid:audio0\r\n"
    "a=setup:active\r\n"
    "a=rtpmap:111 OPUS/48000/2\r\n"
    "a=rtcp-fb:111 transport-cc\r\n"
    "a=fmtp:111 sprop-stereo=0;sprop-maxcapturerate=48000\r\n"
    "a=sendrecv\r\n"
    "a=fingerprint:sha-256 99:9B:65:5E:6C:A3:E9:EE:11:67:F7:C0:0E:56:FD:99:"
    "DB:44:74:AB:4C:DA:51:47:73:95:4F:F9:A6:D1:F5:5F\r\n"
    "a=candidate:1 1 UDP 2015364095 127.0.0.1 36714 typ host\r\n"
    "a=end-of-candidates\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:ifgr1WQ0MKF8b3cUFegGKYj2tHxoLMU6\r\n"
    "a=ice-pwd:bls//haxtvkUJywNySOjIydKTOO+KmKV\r\n"
    "a=mid:application1\r\n"
    "a=setup:active\r\n"
    "a=sctp-port:5000\r\n"
    "a=fingerprint:sha-256 99:9B:65:5E:6C:A3:E9:EE:11:67:F7:C0:0E:56:FD:99:"
    "DB:44:74:AB:4C:DA:51:47:73:95:4F:F9:A6:D1:F5:5F\r\n"
    "a=candidate:1 1 UDP 2015364095 127.0.0.1 36714 typ host\r\n"
    "a=end-of-candidates\r\n";

/* Shaped after the service's answers as docs/ and the protocol notes
 * describe them (not a capture): session-level fingerprint, credentials on
 * the first m-line only, UDP 3478 and passive ICE-TCP 443 host candidates,
 * Opus plus PCMU/PCMA, a large a=max-message-size. */
static const std::string kServiceStyleAnswer =
    "v=0\n"
    "o=- 3952119637 3952119637 IN IP4 0.0.0.0\n"
    "s=-\n"
    "t=0 0\n"
    "a=msid-semantic:WMS *\n"
    "a=fingerprint:sha-256 0A:2B:4C:6D:8E:9F:10:21:32:43:54:65:76:87:98:A9:"
    "BA:CB:DC:ED:FE:0F:1E:2D:3C:4B:5A:69:78:87:96:A5\n"
    "a=group:BUNDLE 0 1\n"
    "m=audio 3478 UDP/TLS/RTP/SAVPF 111 0 8\n"
    "c=IN IP4 203.0.113.7\n"
    "a=rtcp:9 IN IP4 0.0.0.0\n"
    "a=candidate:1 1 udp 2130706431 203.0.113.7 3478 typ host ufrag Xq7v\n"
    "a=candidate:2 1 tcp 1671430143 203.0.113.7 443 typ host tcptype passive\n"
    "a=ice-ufrag:Xq7vLk2pQmZt9wRb\n"
    "a=ice-pwd:c3Rk8nW1pY6tZq0sVb4mLx2j\n"
    "a=setup:active\n"
    "a=mid:0\n"
    "a=sendrecv\n"
    "a=rtcp-mux\n"
    "a=rtpmap:111 opus/48000/2\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\n"
    "a=rtpmap:0 PCMU/8000\n"
    "a=rtpmap:8 PCMA/8000\n"
    "m=application 3478 UDP/DTLS/SCTP webrtc-datachannel\n"
    "c=IN IP4 203.0.113.7\n"
    "a=setup:active\n"
    "a=mid:1\n"
    "a=sctp-port:5000\n"
    "a=max-message-size:1073741823\n";

static std::string without_lines (std::string sdp, const char *prefix)
{
  std::size_t at = 0;
  while ((at = sdp.find (prefix, at)) != std::string::npos) {
    if (at != 0 && sdp[at - 1] != '\n') {
      at++;
      continue;
    }
    std::size_t end = sdp.find ('\n', at);
    sdp.erase (at, end == std::string::npos ? std::string::npos : end - at + 1);
  }
  return sdp;
}

static std::string replaced (std::string sdp, const std::string &from,
    const std::string &to)
{
  std::size_t at;
  while ((at = sdp.find (from)) != std::string::npos)
    sdp.replace (at, from.size (), to);
  return sdp;
}

static void assert_problem (const std::string &body, const char *words,
    bool is_sdp)
{
  rt::AnswerCheck c = rt::check_answer_sdp (body);
  if (c.usable || c.problem.find (words) == std::string::npos ||
      c.is_sdp != is_sdp)
    g_error ("expected a problem with '%s' (is_sdp %d), got usable=%d "
             "is_sdp=%d '%s'",
        words, is_sdp, c.usable, c.is_sdp, c.problem.c_str ());
  g_assert_true (c.problem.rfind ("the answer", 0) == 0);
  for (char ch : c.problem)
    g_assert_true (static_cast<unsigned char> (ch) >= 0x20 &&
        static_cast<unsigned char> (ch) < 0x7f);
}

static void test_real_answers ()
{
  rt::AnswerCheck c = rt::check_answer_sdp (kWebrtcbinAnswer);
  if (!c.usable)
    g_error ("%s", c.problem.c_str ());
  g_assert_true (c.is_sdp);
  g_assert_true (c.problem.empty ());
  g_assert_cmpuint (c.max_message_size, ==, 65536);

  c = rt::check_answer_sdp (kServiceStyleAnswer);
  if (!c.usable)
    g_error ("%s", c.problem.c_str ());
  g_assert_cmpuint (c.max_message_size, ==, rt::kMaxDataChannelMessage);

  /* Line endings do not matter; active and passive both do. */
  g_assert_true (
      rt::check_answer_sdp (replaced (kWebrtcbinAnswer, "\r\n", "\n")).usable);
  g_assert_true (rt::check_answer_sdp (
      replaced (kWebrtcbinAnswer, "a=setup:active", "a=setup:passive"))
                     .usable);
  /* No a=setup at all is left to webrtcbin's defaults. */
  g_assert_true (
      rt::check_answer_sdp (without_lines (kWebrtcbinAnswer, "a=setup:"))
          .usable);
}

static void test_not_sdp ()
{
  assert_problem ("", "not SDP: it is empty", false);
  assert_problem (" \r\n\r\n", "blank", false);
  const std::string json =
      "{\"error\":{\"message\":\"Invalid ephemeral key "
      "provided.\",\"type\":\"invalid_request_error\",\"code\":"
      "\"invalid_api_key\",\"param\":null}}";
  assert_problem (json,
      "not SDP but JSON: '{\"error\":{\"message\":\"Invalid "
      "ephemeral k...'",
      false);
  assert_problem ("<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title>",
      "not SDP but HTML: '<!DOCTYPE html> <html><head><title>502 B...'", false);
  assert_problem ("<?xml version=\"1.0\"?><Error/>", "not SDP but XML", false);
  assert_problem (std::string ("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16),
      "binary data (16 bytes starting 89 50 4e 47 0d 0a 1a 0a)", false);
  assert_problem ("\xff\xfe\x00", "binary", false);
  assert_problem ("Internal Server Error", "not SDP: 'Internal Server Error'",
      false);
  /* Control bytes never reach the message. */
  assert_problem ("v=1\r\n\x1b[31mred", "binary", false);
  assert_problem ("V=0\r\nhello \xc3\xa9t\xc3\xa9",
      "not SDP: 'V=0 hello ?"
      "?t?"
      "?'",
      false);
  /* Only the first 40 characters are quoted. */
  rt::AnswerCheck c = rt::check_answer_sdp (
      "{" + std::string (5000, 'a') + "}");
  g_assert_cmpuint (c.problem.size (), <, 100);
}

static void test_missing_parts ()
{
  const std::string &a = kWebrtcbinAnswer;
  std::string no_audio = a.substr (0, a.find ("m=audio")) +
      a.substr (a.find ("m=application"));
  assert_problem (no_audio, "no audio m-line", true);
  std::string no_data = a.substr (0, a.find ("m=application"));
  assert_problem (no_data, "no application m-line with webrtc-datachannel",
      true);
  assert_problem (replaced (a, "webrtc-datachannel", "5000"),
      "no application m-line", true);
  assert_problem (without_lines (a, "a=fingerprint:"), "no DTLS fingerprint",
      true);
  assert_problem (replaced (a, "a=fingerprint:sha-256 99:9B",
                      "a=fingerprint:sha-256 zz:9B"),
      "DTLS fingerprint is malformed: 'sha-256 zz:9B:65", true);
  assert_problem (replaced (a, "a=fingerprint:sha-256 ", "a=fingerprint:"),
      "malformed", true);
  assert_problem (without_lines (a, "a=ice-ufrag:"), "no ICE username fragment",
      true);
  assert_problem (without_lines (a, "a=ice-pwd:"), "no ICE password", true);
  assert_problem (replaced (a, "a=setup:active", "a=setup:actpass"),
      "a=setup:actpass, where an answer must say active or passive", true);
  assert_problem (replaced (a, "a=setup:active", "a=setup:holdconn"),
      "a=setup:holdconn", true);
  assert_problem (std::string ("v=0\r\n\0m=audio 9 RTP/AVP 0\r\n", 27), "NUL",
      true);
  assert_problem ("v=0\r\n" + std::string (300000, 'x'), "too large", true);
  /* A rejected m-line (port 0 outside any BUNDLE group). */
  std::string unbundled = without_lines (a, "a=group:");
  g_assert_true (rt::check_answer_sdp (unbundled).usable);
  assert_problem (replaced (unbundled, "m=application 9", "m=application 0"),
      "rejects the events data channel", true);
  assert_problem (replaced (unbundled, "m=audio 9", "m=audio 0"),
      "rejects the audio m-line", true);
  g_assert_true (
      rt::check_answer_sdp (replaced (a, "m=application 9", "m=application 0"))
          .usable);

  /* Bundled m-lines share the transport attributes of either; unbundled
   * ones each need theirs. */
  const std::string &s = kServiceStyleAnswer;
  assert_problem (without_lines (s, "a=ice-pwd:"), "no ICE password", true);
  std::string app_first = without_lines (s, "a=ice-ufrag:");
  app_first = without_lines (app_first, "a=ice-pwd:") +
      "a=ice-ufrag:Xq7vLk2pQmZt9wRb\na=ice-pwd:c3Rk8nW1pY6tZq0sVb4mLx2j\n";
  g_assert_true (rt::check_answer_sdp (app_first).usable);
  assert_problem (without_lines (s, "a=group:"), "no ICE username fragment",
      true);
}

static std::size_t max_message_with (const std::string &line)
{
  std::string sdp = kWebrtcbinAnswer;
  sdp.insert (sdp.find ("a=sctp-port"), line + "\r\n");
  rt::AnswerCheck c = rt::check_answer_sdp (sdp);
  g_assert_true (c.usable);
  return c.max_message_size;
}

static void test_max_message_size ()
{
  g_assert_cmpuint (max_message_with ("a=max-message-size:1024"), ==, 1024);
  g_assert_cmpuint (max_message_with ("a=max-message-size:65535"), ==, 65535);
  g_assert_cmpuint (max_message_with ("a=max-message-size:65536"), ==, 65536);
  g_assert_cmpuint (max_message_with ("a=max-message-size:262144"), ==, 65536);
  g_assert_cmpuint (max_message_with ("a=max-message-size:1"), ==, 1);
  /* 0 means "no limit" (RFC 8841); the limit is then webrtcbin's own. */
  g_assert_cmpuint (max_message_with ("a=max-message-size:0"), ==, 65536);
  g_assert_cmpuint (max_message_with ("a=max-message-size:"
                                      "99999999999999999999999999999999"),
      ==, 65536);
  g_assert_cmpuint (
      max_message_with ("a=max-message-size:18446744073709551617"), ==, 65536);
  g_assert_cmpuint (max_message_with ("a=max-message-size:-5"), ==, 65536);
  g_assert_cmpuint (max_message_with ("a=max-message-size:12abc"), ==, 65536);
  g_assert_cmpuint (max_message_with ("a=max-message-size:"), ==, 65536);
  g_assert_cmpuint (max_message_with ("a=max-message-size: 4096"), ==, 4096);
  /* At session level it applies too. */
  std::string sdp = kWebrtcbinAnswer;
  sdp.insert (sdp.find ("m=audio"), "a=max-message-size:2048\r\n");
  g_assert_cmpuint (rt::check_answer_sdp (sdp).max_message_size, ==, 2048);
}

/* Telephone events added to a description and found in one (webrtc/sdp). */
static void test_telephone_events ()
{
  g_assert_cmpint (rt::sdp_telephone_event_pt (kWebrtcbinAnswer, 48000), ==,
      -1);
  std::string with = rt::sdp_with_telephone_event (kWebrtcbinAnswer, 101,
      48000);
  g_assert_true (with.find ("m=audio 9 UDP/TLS/RTP/SAVPF 111 101\r\n") !=
      std::string::npos);
  g_assert_true (
      with.find ("a=rtpmap:101 telephone-event/48000\r\n"
                 "a=fmtp:101 0-16\r\nm=application") != std::string::npos);
  g_assert_cmpint (rt::sdp_telephone_event_pt (with, 48000), ==, 101);
  g_assert_cmpint (rt::sdp_telephone_event_pt (with, 8000), ==, -1);
  /* Still a description webrtcbin's parser and the answer check take. */
  g_assert_true (rt::check_answer_sdp (with).usable);
  /* Added once. */
  g_assert_true (rt::sdp_with_telephone_event (with, 101, 48000) == with);

  /* A phone's offer: the event's case and a different payload type. */
  std::string phone = "v=0\nm=audio 9 RTP/SAVPF 0 96\na=rtpmap:0 PCMU/8000\n"
                      "a=rtpmap:96 Telephone-Event/8000\n";
  g_assert_cmpint (rt::sdp_telephone_event_pt (phone, 8000), ==, 96);
  /* Only the audio section counts. */
  std::string video = "v=0\nm=video 9 RTP/SAVPF 97\n"
                      "a=rtpmap:97 telephone-event/8000\n";
  g_assert_cmpint (rt::sdp_telephone_event_pt (video, 8000), ==, -1);
  g_assert_true (rt::sdp_with_telephone_event (video, 101, 8000) == video);
  /* Appended to an audio section that ends the text without a newline. */
  std::string bare = "v=0\nm=audio 9 RTP/SAVPF 0";
  g_assert_true (rt::sdp_with_telephone_event (bare, 101, 8000) ==
      "v=0\nm=audio 9 RTP/SAVPF 0 101\na=rtpmap:101 telephone-event/8000\n"
      "a=fmtp:101 0-16\n");
  /* Nonsense is left alone. */
  for (const char *bad : { "", "m=audio", "m=audio 9\n", "a=rtpmap:x\n",
           "m=audio 9 RTP 0\na=rtpmap:999 telephone-event/8000\n" })
    g_assert_cmpint (rt::sdp_telephone_event_pt (bad, 8000), ==, -1);
  g_assert_true (
      rt::sdp_with_telephone_event ("m=audio 9\n", 101, 8000) == "m=audio 9\n");
  g_assert_true (rt::sdp_with_telephone_event (kWebrtcbinAnswer, 300, 8000) ==
      kWebrtcbinAnswer);
}

int main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/answer/real-answers", test_real_answers);
  g_test_add_func ("/answer/not-sdp", test_not_sdp);
  g_test_add_func ("/answer/missing-parts", test_missing_parts);
  g_test_add_func ("/answer/max-message-size", test_max_message_size);
  g_test_add_func ("/answer/telephone-events", test_telephone_events);
  return g_test_run ();
}
