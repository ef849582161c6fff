/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The few SDP edits a SIP call makes without its peer: a description's
 * direction (hold, resume) and origin version, read and changed as text
 * (RFC 3264, RFC 4566). Pure. */
#pragma once

#include <string>
#include <vector>

namespace rt::sip {

/* The lines of a description, without their CR or LF. */
std::vector<std::string> sdp_lines (const std::string &sdp);
/* The direction of a description's first audio section (its own attribute,
 * else the session's, else sendrecv). */
std::string sdp_direction (const std::string &sdp);
/* The description with every media section's direction set to dir and
 * the origin's version set to version (RFC 3264 8: a changed description
 * gets a higher version). */
std::string sdp_with_direction (const std::string &sdp, const std::string &dir,
    unsigned version);
/* The direction that answers an offer's (RFC 3264 6.1). */
std::string answer_direction (const std::string &offered, bool hold_here);

}  // namespace rt::sip
