/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Server events rebuilt from the data channel's messages. webrtcbin 1.22.0
 * hands over a received message larger than one SCTP delivery as several
 * messages (70000 bytes arrived as 66304 + 3696), so a text that is not JSON
 * may be the start of an event still arriving. The assembler holds such
 * starts, joins what follows and says plainly what became of every message.
 * Pure: no GStreamer, no I/O (tests/protocol.cpp, fuzz/server_event.cpp). */
#pragma once

#include "core/json_scan.h"
#include "openai/protocol.h"

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace rt {

/* Held text above this is dropped: no event the service sends comes near. */
constexpr std::size_t kMaxAssembledEvent = 1024 * 1024;

struct Assembled {
  enum class Kind {
    Event,     /* a whole server event (pieces > 1: reassembled) */
    Malformed, /* not JSON, not an object, or no string "type" */
    Truncated, /* the start of an event whose rest never came */
    Oversized, /* an event past the byte limit, dropped */
  };
  Kind kind = Kind::Event;
  /* The event or the rejected text; for Oversized only its first
   * kOversizedHead bytes. */
  std::string text;
  std::optional<ServerEvent> event; /* set for Event only */
  unsigned pieces = 1;              /* received messages it was made of */
  std::size_t bytes = 0;            /* their total size */
  std::string why;                  /* plain words, all kinds but Event */

  bool reassembled () const { return kind == Kind::Event && pieces > 1; }
  static constexpr std::size_t kOversizedHead = 256;
};

const char *assembled_kind_name (Assembled::Kind kind);

/* One per data channel, used from one thread at a time. */
class EventAssembler {
 public:
  explicit EventAssembler (std::size_t max_bytes = kMaxAssembledEvent);

  /* One received text message in; what it completed or spoiled out, in
   * order (empty while an event is still arriving). */
  std::vector<Assembled> feed (std::string text);
  /* The channel is closing: anything held is reported Truncated. */
  std::vector<Assembled> flush ();

  bool holding () const { return mode_ == Mode::Holding; }
  std::size_t held_bytes () const { return held_.size (); }
  std::size_t max_bytes () const { return max_bytes_; }

 private:
  enum class Mode {
    Idle,
    Holding,  /* held_ is the start of an event */
    Skipping, /* inside an oversized event already reported */
  };

  void start (std::string text, std::vector<Assembled> &out);
  void extend (std::string text, std::vector<Assembled> &out);
  void skip (std::string text, std::vector<Assembled> &out);
  void hold (std::string text);
  Assembled truncated (const std::string &why);

  std::size_t max_bytes_;
  Mode mode_ = Mode::Idle;
  std::string held_;
  unsigned held_pieces_ = 0;
  JsonScanner scan_; /* state at the end of held_ (or of what is skipped) */
};

}  // namespace rt
