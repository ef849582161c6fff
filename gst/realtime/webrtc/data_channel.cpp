/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "webrtc/data_channel.h"

#include "webrtc/guard.h"

#include <mutex>

namespace rt {

using namespace peer_internal;

DataChannel::DataChannel (GstWebRTCDataChannel *channel,
    std::shared_ptr<PeerGuard> guard)
    : channel_ (GST_WEBRTC_DATA_CHANNEL (g_object_ref (channel))),
      guard_ (std::move (guard))
{
  gchar *label = nullptr;
  g_object_get (channel_, "label", &label, nullptr);
  label_ = label ? label : "";
  g_free (label);
}

DataChannel::~DataChannel ()
{
  disconnect ();
  g_object_unref (channel_);
}

namespace {

using ChannelRef = std::weak_ptr<DataChannel>;

/* Called through a copy: a callback may replace or clear itself. */
template <typename Fn, typename... Args>
void call_if_set (const Fn &fn, Args &&...args)
{
  if (Fn copy = fn)
    copy (std::forward<Args> (args)...);
}

void release_channel (gpointer data, GClosure *)
{
  delete static_cast<ChannelRef *> (data);
}

}  // namespace

/* Runs the member callback on the worker while both the peer and the
 * channel live. */
#define RT_CHANNEL_POST(data, member, ...)                                     \
  do {                                                                         \
    if (auto dc = static_cast<ChannelRef *> (data)->lock ()) {                 \
      ChannelRef weak = dc;                                                    \
      post (dc->guard_, [weak, __VA_ARGS__] (Peer &) {                         \
        if (auto c = weak.lock ())                                             \
          call_if_set (c->member, __VA_ARGS__);                                \
      });                                                                      \
    }                                                                          \
  } while (0)

void DataChannel::opened_cb (GstWebRTCDataChannel *, gpointer data)
{
  if (auto dc = static_cast<ChannelRef *> (data)->lock ())
    dc->announce_if_open ();
}

void DataChannel::announce_if_open ()
{
  GstWebRTCDataChannelState state;
  g_object_get (channel_, "ready-state", &state, nullptr);
  if (state != GST_WEBRTC_DATA_CHANNEL_STATE_OPEN || open_.exchange (true))
    return;
  ChannelRef weak = shared_from_this ();
  post (guard_, [weak] (Peer &) {
    if (auto c = weak.lock ())
      call_if_set (c->on_open);
  });
}

void DataChannel::closed_cb (GstWebRTCDataChannel *, gpointer data)
{
  if (auto dc = static_cast<ChannelRef *> (data)->lock ()) {
    dc->open_.store (false);
    ChannelRef weak = dc;
    post (dc->guard_, [weak] (Peer &) {
      if (auto c = weak.lock ())
        call_if_set (c->on_close);
    });
  }
}

void DataChannel::error_cb (GstWebRTCDataChannel *, GError *error,
    gpointer data)
{
  std::string message = error ? error->message : "unknown";
  RT_CHANNEL_POST (data, on_error, message);
}

void DataChannel::text_cb (GstWebRTCDataChannel *, gchar *str, gpointer data)
{
  std::string text (str ? str : "");
  RT_CHANNEL_POST (data, on_text, text);
}

void DataChannel::data_cb (GstWebRTCDataChannel *, GBytes *bytes, gpointer data)
{
  gsize size = 0;
  const char *p = bytes ?
      static_cast<const char *> (g_bytes_get_data (bytes, &size)) :
      nullptr;
  std::string text (p ? p : "", p ? size : 0);
  RT_CHANNEL_POST (data, on_data, text);
}

void DataChannel::low_cb (GstWebRTCDataChannel *, gpointer data)
{
  if (auto dc = static_cast<ChannelRef *> (data)->lock ()) {
    ChannelRef weak = dc;
    post (dc->guard_, [weak] (Peer &) {
      if (auto c = weak.lock ())
        call_if_set (c->on_buffered_amount_low);
    });
  }
}

#undef RT_CHANNEL_POST

void DataChannel::connect ()
{
  struct {
    const char *signal;
    GCallback cb;
  } const signals[] = {
    { "on-open", G_CALLBACK (opened_cb) },
    { "on-close", G_CALLBACK (closed_cb) },
    { "on-error", G_CALLBACK (error_cb) },
    { "on-message-string", G_CALLBACK (text_cb) },
    { "on-message-data", G_CALLBACK (data_cb) },
    { "on-buffered-amount-low", G_CALLBACK (low_cb) },
  };
  /* A channel the far end opened is connected on webrtcbin's thread while
   * the worker may already be stopping the peer. */
  std::lock_guard<std::mutex> l (handlers_lock_);
  if (disconnected_)
    return;
  for (const auto &s : signals)
    handlers_.push_back (g_signal_connect_data (channel_, s.signal, s.cb,
        new ChannelRef (shared_from_this ()), release_channel,
        GConnectFlags (0)));
}

void DataChannel::disconnect ()
{
  std::lock_guard<std::mutex> l (handlers_lock_);
  disconnected_ = true;
  for (gulong id : handlers_)
    g_signal_handler_disconnect (channel_, id);
  handlers_.clear ();
}

bool DataChannel::send_text (const std::string &text, std::string *error)
{
  if (!open_.load ()) {
    if (error)
      *error = "the " + label_ + " data channel is not open";
    return false;
  }
  GError *err = nullptr;
  if (!gst_webrtc_data_channel_send_string_full (channel_, text.c_str (),
          &err)) {
    if (error)
      *error = err ? err->message : "send failed";
    g_clear_error (&err);
    return false;
  }
  return true;
}

bool DataChannel::send_data (const void *data, gsize size, std::string *error)
{
  GBytes *bytes = g_bytes_new (data, size);
  bool ok = send_bytes (bytes, error);
  g_bytes_unref (bytes);
  return ok;
}

bool DataChannel::send_bytes (GBytes *bytes, std::string *error)
{
  if (!open_.load ()) {
    if (error)
      *error = "the " + label_ + " data channel is not open";
    return false;
  }
  GError *err = nullptr;
  if (!gst_webrtc_data_channel_send_data_full (channel_, bytes, &err)) {
    if (error)
      *error = err ? err->message : "send failed";
    g_clear_error (&err);
    return false;
  }
  return true;
}

guint64 DataChannel::buffered_amount () const
{
  guint64 amount = 0;
  g_object_get (channel_, "buffered-amount", &amount, nullptr);
  return amount;
}

void DataChannel::set_buffered_amount_low_threshold (guint64 bytes)
{
  g_object_set (channel_, "buffered-amount-low-threshold", bytes, nullptr);
}

void DataChannel::close ()
{
  open_.store (false);
  gst_webrtc_data_channel_close (channel_);
}

}  // namespace rt
