/* SPDX-License-Identifier: LGPL-2.1-or-later */
// SDP checks and edits around webrtcbin's answer.
#pragma once

#include <gst/sdp/sdp.h>

#include <string>
#include <vector>

namespace rts {

// What the server needs to know about an offer before building a call for it.
struct OfferInfo {
  int opus_pt = -1;  // payload type the offer uses for opus/48000/2
  int removed_candidates = 0;
};

// Parse and check an offer: it must parse and carry an audio m-line offering Opus.
// Every candidate (and end-of-candidates) is removed: the server's ICE agent only ever talks
// to the call's relay, and learns the client from its checks as a peer-reflexive candidate.
// Returns nullptr (with *error) when the offer is unusable.
GstSDPMessage *parse_offer (const std::string &text, OfferInfo *info,
    std::string *error);

// The answer text with the gathered candidates (attribute values "candidate:...") added to
// every m-line that lacks them, followed by end-of-candidates: there is no trickle ICE.
std::string answer_with_candidates (const std::string &answer,
    const std::vector<std::string> &candidates);

}  // namespace rts
