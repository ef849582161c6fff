/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A data channel of a webrtc::Peer: webrtcbin's channel with its events
 * marshalled to the peer's worker. */
#pragma once

#include <gst/gst.h>
#include <gst/webrtc/webrtc.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace rt {

struct PeerGuard;

/* A data channel of a Peer. Its callbacks run on the peer's worker; set
 * them there, before the first can fire (in Peer::Events::data_channel, or
 * right after create_data_channel). */
class DataChannel : public std::enable_shared_from_this<DataChannel> {
 public:
  ~DataChannel ();
  DataChannel (const DataChannel &) = delete;
  DataChannel &operator= (const DataChannel &) = delete;

  const std::string &label () const { return label_; }
  bool is_open () const { return open_.load (); }
  /* Any thread. False, with *error, when not open or refused. */
  bool send_text (const std::string &text, std::string *error = nullptr);
  bool send_data (const void *data, gsize size, std::string *error = nullptr);
  /* The same, without a copy: one packet may go to many channels. */
  bool send_bytes (GBytes *bytes, std::string *error = nullptr);
  guint64 buffered_amount () const;
  void set_buffered_amount_low_threshold (guint64 bytes);
  void close ();

  std::function<void ()> on_open;
  std::function<void ()> on_close;
  std::function<void (const std::string &)> on_error;
  std::function<void (const std::string &)> on_text;
  std::function<void (const std::string &)> on_data;
  std::function<void ()> on_buffered_amount_low;

 private:
  friend class Peer;
  DataChannel (GstWebRTCDataChannel *channel, std::shared_ptr<PeerGuard> guard);
  void connect ();
  void disconnect ();
  void announce_if_open ();
  static void opened_cb (GstWebRTCDataChannel *, gpointer);
  static void closed_cb (GstWebRTCDataChannel *, gpointer);
  static void error_cb (GstWebRTCDataChannel *, GError *, gpointer);
  static void text_cb (GstWebRTCDataChannel *, gchar *, gpointer);
  static void data_cb (GstWebRTCDataChannel *, GBytes *, gpointer);
  static void low_cb (GstWebRTCDataChannel *, gpointer);

  GstWebRTCDataChannel *channel_;
  std::string label_;
  std::shared_ptr<PeerGuard> guard_;
  std::atomic<bool> open_ { false };
  std::mutex handlers_lock_;
  std::vector<gulong> handlers_; /* under handlers_lock_ */
  bool disconnected_ = false;    /* under handlers_lock_ */
};

}  // namespace rt
