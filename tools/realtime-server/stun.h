/* SPDX-License-Identifier: LGPL-2.1-or-later */
// Just enough STUN (RFC 5389) to tell ICE connectivity checks apart from the rest of the
// traffic a WebRTC peer multiplexes on one port (DTLS, SRTP/SRTCP).
#pragma once

#include <cstddef>
#include <cstdint>

namespace rts {

struct StunInfo {
  uint16_t type = 0;           // message type: method and class bits together
  bool use_candidate = false;  // carries USE-CANDIDATE (0x0025)
  bool controlling = false;    // carries ICE-CONTROLLING (0x802A)
  bool controlled = false;     // carries ICE-CONTROLLED (0x8029)
  bool is_binding_request () const { return type == 0x0001; }
  bool is_binding_indication () const { return type == 0x0011; }
  bool is_binding_response () const { return type == 0x0101 || type == 0x0111; }
};

// True if data is a well-formed STUN message (header, magic cookie, length and attribute
// framing all within size); *info then describes it. Anything else (DTLS, RTP, garbage)
// returns false. Never reads outside data[0..size).
bool parse_stun (const uint8_t *data, size_t size, StunInfo *info);

}  // namespace rts
