/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* latency-bench: what both clients share. The user's input is a live
 * 1 kHz tone cut into bursts (100 ms every 500 ms, in 10 ms buffers), the
 * far end echoes it, and the echo's onset is found in what the client plays
 * out (an appsink with sync=true: the moment a sound card would take it).
 * The round trip is onset to onset: from the capture time of the burst's
 * first buffer (its push time less its 10 ms) to the play-out time of the
 * first loud sample of the echo (its buffer's render time plus its place in
 * the buffer). */
#pragma once

#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

namespace latency_bench {

constexpr int kRate = 48000;
constexpr int kBlock = 480;         /* 10 ms, the input's buffer */
constexpr int kPeriodBlocks = 50;   /* a burst every 500 ms */
constexpr int kBurstBlocks = 10;    /* of 100 ms */
constexpr int kLoud = 4000;         /* the tone peaks at 16384 */
constexpr int kQuietSamples = 9600; /* 200 ms without a loud sample */

/* The input as both clients make it: S16LE 48 kHz mono, live. */
inline std::string input_description (const char *name)
{
  return std::string ("audiotestsrc name=") + name +
      " is-live=true samplesperbuffer=480 freq=1000 volume=0.5 ! "
      "audio/x-raw,format=S16LE,rate=48000,channels=1,layout=interleaved";
}

struct Echo {
  std::mutex m;
  std::condition_variable cv;
  std::vector<gint64> bursts; /* capture time of each burst's onset, us */
  std::vector<double> round_trips_ms;
  guint64 blocks_in = 0; /* input buffers seen */
  guint64 quiet = kQuietSamples;
  bool stop = false;

  /* Installs the burst maker on the input's src pad and the onset finder
   * on the appsink that plays the far end out. */
  void attach (GstElement *input, GstElement *out);
  /* Waits until n round trips are measured after the first `skip`, or the
   * deadline (monotonic us); true when they were. */
  bool wait (std::size_t n, gint64 deadline_us);
  std::vector<double> measured (std::size_t skip);
};

double median (std::vector<double> v);
double percentile (std::vector<double> v, double p);

}  // namespace latency_bench
