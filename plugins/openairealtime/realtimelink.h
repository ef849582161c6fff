/* What openairealtimesink and openairealtimesrc share: the properties and
 * signals that reach the call, finding credentials (GstContext, an implicit
 * provider, or a client secret), joining the call of their pipeline and
 * reporting its events. Each element owns one RealtimeLink. */
#pragma once

#include "call.h"

#include <gst/gst.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>

struct _GstEphemeralTokenProvider;

class RealtimeLink {
 public:
  /* primary: this element gives the agent's output, so it is the one that
   * posts the call's bus messages and errors when both elements share it. */
  RealtimeLink (GstElement *element, bool primary);
  ~RealtimeLink ();

  /* Properties and signals common to both elements, installed from
   * class_init with ids from kFirstProp on; set_property/get_property
   * return false for ids that are not theirs. */
  static constexpr guint kFirstProp = 100;
  static void install (GObjectClass *klass);
  static RealtimeLink *of (gpointer element);
  bool set_property (guint prop_id, const GValue *value);
  bool get_property (guint prop_id, GValue *value);

  void set_context (GstContext *context);

  /* READY→PAUSED: join (and if needed start) the pipeline's call. */
  bool join ();
  /* PAUSED→READY: leave it; the last element to leave hangs up. */
  void leave ();

  /* The agent's audio, for the src. Called from a streaming thread. */
  std::function<void (GstBuffer *)> on_audio;

  std::shared_ptr<rt::Call> call () const;
  bool send_event (const char *json);

 private:
  class Observer;
  GstElement *element_;
  bool primary_;
  mutable std::mutex lock_;
  std::string session_;
  std::string client_secret_;
  std::string api_base_;
  guint latency_ms_ = 40;
  _GstEphemeralTokenProvider *provider_ = nullptr;  /* from a context */
  std::shared_ptr<rt::Call> call_;
  std::shared_ptr<Observer> observer_;
};
