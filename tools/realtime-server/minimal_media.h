/* SPDX-License-Identifier: LGPL-2.1-or-later */
// --media minimal: what a call sends when the server must cost next to nothing per call (the
// many-calls benchmark). A second of tone is Opus-encoded once at start-up and its packets are
// replayed in a loop; incoming RTP ends at the call's relay (Relay::set_discard_rtp), RTCP goes
// on to webrtcbin. Signalling and the data channel are unchanged.
#pragma once

#include <gst/gst.h>

#include <string>

namespace rts {

// Caps of the packets next_minimal_packet() hands out (what the peer's payloader takes).
extern const char *const kMinimalOpusCaps;

// Encodes the loop (a tone at freq Hz); false with *error when the encoder is missing.
bool prepare_minimal_audio (double freq, std::string *error);

// A new reference to the packet at *index (20 ms of Opus), which moves on to the next one.
GstBuffer *next_minimal_packet (size_t *index);

}  // namespace rts
