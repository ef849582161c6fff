/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The peer's side of rt::LatencyProbes: pad probes around webrtcbin, put
 * in only while the probes are enabled. */
#pragma once

#include "core/latency_probes.h"

#include <gst/gst.h>

#include <memory>

namespace rt {

class LatencyTap {
 public:
  explicit LatencyTap (std::shared_ptr<LatencyProbes> probes);

  /* The payloader's output (audio stamped at the sink) and, once webrtcbin
   * has made it, the ICE transport's sink: an up measurement ends when the
   * packet is handed to the socket. */
  void tap_sender (GstElement *webrtc, GstPad *payloaded, int pt);
  /* The ICE transport's source (arrival) and webrtcbin's src pad for the
   * far end's audio, where the arrival time is stamped on the packet that
   * carries it through the decoder to the live source. */
  void tap_receiver (GstElement *webrtc, GstPad *rtp_out, int pt);

  struct Shared; /* with the probes' callbacks */

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace rt
