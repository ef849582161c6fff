/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "screenshare.h"

GST_DEBUG_CATEGORY_EXTERN (sink_debug);
#define GST_CAT_DEFAULT sink_debug

void ScreenShare::configure (const std::function<void (Settings &)> &edit)
{
  std::lock_guard<std::mutex> l (lock_);
  edit (settings_);
}

ScreenShare::Settings ScreenShare::settings () const
{
  std::lock_guard<std::mutex> l (lock_);
  return settings_;
}

ScreenShare::Counters ScreenShare::counters () const
{
  std::lock_guard<std::mutex> l (lock_);
  Counters c = counters_;
  if (sharing_ && share_start_us_)
    c.share_ms += (g_get_monotonic_time () - share_start_us_) / 1000;
  return c;
}

void ScreenShare::announce (const std::shared_ptr<rt::Call> &call,
    const std::string &text)
{
  if (text.empty () || !call)
    return;
  std::string error;
  if (!call->send_event (rt::build_text_message ("system", text), &error))
    GST_WARNING_OBJECT (element_,
        "could not tell the agent about the screen: %s", error.c_str ());
}

void ScreenShare::frame (GstSample *sample,
    const std::shared_ptr<rt::Call> &call)
{
  std::unique_lock<std::mutex> stream (stream_lock_);
  const Settings s = settings ();
  const gint64 now_us = g_get_monotonic_time ();
  if (!sharing_) {
    std::lock_guard<std::mutex> l (lock_);
    sharing_ = true;
    share_start_us_ = now_us;
  }
  if (!call || call->state () != rt::ConnectionState::Connected)
    return;
  rt::FramePolicySettings ps;
  ps.interval_ms = s.interval_ms;
  ps.threshold = s.threshold;
  policy_.set_settings (ps);
  const std::int64_t now_ms = now_us / 1000;
  if (!policy_.due (now_ms))
    return;

  /* A new call (after a reconnection) has seen nothing yet. */
  const rt::CallStats st = call->stats ();
  if (st.connected_us != call_connected_us_) {
    call_connected_us_ = st.connected_us;
    policy_.forget ();
    announced_ = false;
  }
  if (!announced_) {
    announce (call, s.start_text);
    announced_ = true;
  }

  GstVideoInfo info;
  GstVideoFrame frame;
  GstCaps *caps = gst_sample_get_caps (sample);
  GstBuffer *buffer = gst_sample_get_buffer (sample);
  if (!caps || !buffer || !gst_video_info_from_caps (&info, caps) ||
      !gst_video_frame_map (&frame, &info, buffer, GST_MAP_READ)) {
    GST_WARNING_OBJECT (element_, "a video frame could not be read");
    std::lock_guard<std::mutex> l (lock_);
    counters_.skipped++;
    return;
  }
  rt::FrameDecision d = policy_.offer (now_ms, rt::make_thumbnail (&frame));
  if (d != rt::FrameDecision::Send) {
    gst_video_frame_unmap (&frame);
    if (d == rt::FrameDecision::Unchanged) {
      GST_LOG_OBJECT (element_, "frame unchanged (%.4f)",
          policy_.last_difference ());
      std::lock_guard<std::mutex> l (lock_);
      counters_.unchanged++;
    }
    return;
  }
  rt::ImageSettings is;
  is.max_size = s.max_size;
  is.detail = s.detail;
  is.max_message_bytes = call->max_message_size ();
  rt::ImageResult r = encoder_.encode (&frame, is);
  gst_video_frame_unmap (&frame);
  if (!r.ok) {
    {
      std::lock_guard<std::mutex> l (lock_);
      counters_.skipped++;
    }
    /* Posted unlocked: the application may end the share from its bus
     * handler. */
    stream.unlock ();
    GST_ELEMENT_WARNING (element_, STREAM, ENCODE,
        ("A frame of the screen was not sent: %s", r.failure.c_str ()),
        ("%dx%d, %d encodes", r.width, r.height, r.attempts));
    return;
  }
  std::string error;
  if (!call->send_event (r.event, &error)) {
    GST_WARNING_OBJECT (element_, "image not sent: %s", error.c_str ());
    std::lock_guard<std::mutex> l (lock_);
    counters_.skipped++;
    return;
  }
  policy_.sent ();
  GST_DEBUG_OBJECT (element_,
      "image sent: %dx%d, quality %d, %zu bytes of "
      "JPEG, %zu of event, %d encodes, %.0f ms",
      r.width, r.height, r.quality, r.jpeg_bytes, r.message_bytes, r.attempts,
      (g_get_monotonic_time () - now_us) / 1000.0);
  std::lock_guard<std::mutex> l (lock_);
  counters_.sent++;
  counters_.bytes += r.message_bytes;
}

void ScreenShare::stop (const std::shared_ptr<rt::Call> &call)
{
  std::lock_guard<std::mutex> stream (stream_lock_);
  if (!sharing_)
    return;
  {
    std::lock_guard<std::mutex> l (lock_);
    sharing_ = false;
    counters_.share_ms += (g_get_monotonic_time () - share_start_us_) / 1000;
    share_start_us_ = 0;
  }
  if (announced_ && call && call->state () == rt::ConnectionState::Connected)
    announce (call, settings ().stop_text);
  announced_ = false;
  policy_.forget ();
}
