/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SDP text helpers of the WebRTC layer. */
#pragma once

#include <string>
#include <vector>

namespace rt {

/* The description with a=candidate lines for the given candidates added to
 * its first media section (the bundle's), for signalling that sends one
 * complete description instead of trickling. */
std::string sdp_with_candidates (const std::string &sdp,
    const std::vector<std::string> &candidates);

/* The payload type of encoding/clock_rate (rtpmap, or G.711's static
 * one) in the first audio section, or -1. */
int sdp_payload_type (const std::string &sdp, const char *encoding,
    int clock_rate);

/* The payload type of telephone-event/clock_rate (RFC 4733) in the first
 * audio section, or -1. */
int sdp_telephone_event_pt (const std::string &sdp, int clock_rate);

/* The description with telephone-event/clock_rate on payload type pt added
 * to its first audio section (format, rtpmap, and fmtp 0-16: the DTMF
 * events), unless that section already has pt or has no formats. */
std::string sdp_with_telephone_event (const std::string &sdp, int pt,
    int clock_rate);

/* True for URLs whose host is 127.x.x.x, localhost or [::1]. */
bool is_loopback_url (const std::string &url);

}  // namespace rt
