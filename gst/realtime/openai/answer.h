/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whether the body of a successful reply to the SDP offer is an answer this
 * client can use, said in plain words when it is not: a JSON error or an
 * HTML page handed to webrtcbin only yields "failed to parse SDP". */
#pragma once

#include <cstddef>
#include <string>

namespace rt {

/* webrtcbin 1.22.0 offers no a=max-message-size, so 64 KiB is the limit
 * both ways unless the answer asks for less. */
constexpr std::size_t kMaxDataChannelMessage = 65536;

struct AnswerCheck {
  bool usable = false;
  /* false: the body is not SDP at all (JSON, HTML, empty, binary, other) */
  bool is_sdp = false;
  /* When !usable: what is wrong, a sentence fragment starting "the
   * answer", quoting at most 40 printable characters of the body. */
  std::string problem;
  /* The peer's a=max-message-size, at most kMaxDataChannelMessage; 0,
   * absent or unreadable means kMaxDataChannelMessage. */
  std::size_t max_message_size = kMaxDataChannelMessage;
};

/* After gst_init: GStreamer's SDP library may log. */
AnswerCheck check_answer_sdp (const std::string &body);

}  // namespace rt
