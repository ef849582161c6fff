/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The sink's video pad: the user's screen or camera as still images for the
 * agent. Frames are offered every image-interval, sent only when they
 * differ enough from the last image sent, scaled and JPEG-encoded to fit the
 * events channel (rt::FramePolicy, rt::ImageEncoder); the agent is told in a
 * message item when sharing starts and stops. frame () runs on the video
 * streaming thread; stop (), settings and counters on any. */
#pragma once

#include "call.h"
#include "frames/frames.h"

#include <gst/gst.h>
#include <gst/video/video.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>

class ScreenShare {
 public:
  struct Settings {
    guint interval_ms = 2000;
    guint max_size = 1024;
    double threshold = 0.005;
    rt::ImageDetail detail = rt::ImageDetail::Auto;
    std::string start_text = "The user started sharing their screen with you; "
                             "you will see it as images.";
    std::string stop_text = "The user stopped sharing their screen.";
  };
  struct Counters {
    guint64 sent = 0, unchanged = 0, skipped = 0, bytes = 0;
    guint64 share_ms = 0; /* time with frames flowing, all shares */
  };

  explicit ScreenShare (GstElement *element) : element_ (element) {}

  void configure (const std::function<void (Settings &)> &edit);
  Settings settings () const;
  Counters counters () const;

  /* One frame from the video pad; call may be null (not in a call). */
  void frame (GstSample *sample, const std::shared_ptr<rt::Call> &call);
  /* The stream ended (EOS, the pad released or unlinked). */
  void stop (const std::shared_ptr<rt::Call> &call);

 private:
  void announce (const std::shared_ptr<rt::Call> &call,
      const std::string &text);

  GstElement *element_;
  mutable std::mutex lock_;
  Settings settings_; /* under lock_ */
  Counters counters_; /* under lock_ */
  /* frame () and stop () one at a time (stop may come from the
   * application's thread: a pad unlinked or released). */
  std::mutex stream_lock_;
  rt::FramePolicy policy_;
  rt::ImageEncoder encoder_;
  bool sharing_ = false;         /* frames are flowing; written under lock_ */
  bool announced_ = false;       /* the agent was told sharing started */
  gint64 share_start_us_ = 0;    /* under lock_ */
  gint64 call_connected_us_ = 0; /* which call the policy's reference is of */
};
