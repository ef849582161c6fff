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

GType gst_openai_realtime_connection_state_get_type (void);
#define GST_TYPE_OPENAI_REALTIME_CONNECTION_STATE \
  (gst_openai_realtime_connection_state_get_type ())
GType gst_openai_realtime_turn_detection_get_type (void);
GType gst_openai_realtime_eagerness_get_type (void);
GType gst_openai_realtime_noise_reduction_get_type (void);
GType gst_openai_realtime_modality_get_type (void);

class RealtimeLink {
 public:
  /* primary: this element gives the agent's output, so it is the one that
   * posts the call's bus messages and errors when both elements share it. */
  RealtimeLink (GstElement *element, bool primary);
  ~RealtimeLink ();

  /* Installs, from class_init, what both elements share: properties (ids
   * from kFirstProp on), signals, set_property, and the change_state and
   * set_context that join and leave the call (chaining up to the parent
   * class). get_property stays the element's: it has counters of its own
   * and forwards the rest here. */
  static constexpr guint kFirstProp = 100;
  static void install (GstElementClass *klass);
  static RealtimeLink *of (gpointer element);
  /* For elements with settable properties of their own: forwards the
   * shared ones (and warns about unknown ids). */
  static void set_property_any (GObject *object, guint prop_id,
      const GValue *value, GParamSpec *pspec)
  {
    set_property_cb (object, prop_id, value, pspec);
  }
  bool get_property (guint prop_id, GValue *value);

  /* READY→PAUSED: join (and if needed start) the pipeline's call. */
  bool join ();
  /* PAUSED→READY: leave it; the last element to leave hangs up. */
  void leave ();

  /* Set by the element before it joins a call; called from the call's
   * threads. The agent's audio (a streaming thread), barge-in and
   * transcripts (the call's worker). */
  std::function<void (GstBuffer *)> on_audio;
  std::function<void ()> on_interrupt;
  std::function<void (const rt::Transcript &)> on_transcript;
  /* Adds the element's own counters to the `stats` structure. */
  std::function<void (GstStructure *)> add_stats;

  std::shared_ptr<rt::Call> call () const;
  bool send_event (const char *json);
  bool send_text (const char *text, gboolean respond);
  bool send_simple (const char *type);
  bool clear_audio ();
  bool function_result (const char *call_id, const char *output);
  void set_connection_state (rt::ConnectionState state);

 private:
  class Observer;
  void set_property (guint prop_id, const GValue *value);
  /* Sets a session property; returns the fields that changed. */
  unsigned set_session_property (guint id, const GValue *value,
      std::string *warning);
  bool apply_session (unsigned changed);
  GstStructure *make_stats ();
  void set_context (GstContext *context);
  static void set_property_cb (GObject *, guint, const GValue *, GParamSpec *);
  static GstStateChangeReturn change_state_cb (GstElement *, GstStateChange);
  static void set_context_cb (GstElement *, GstContext *);

  GstElement *element_;
  bool primary_;
  mutable std::mutex lock_;
  std::string session_name_;
  std::string client_secret_;
  std::string api_base_;
  guint latency_ms_ = 40;
  gint connection_state_ = 0;  /* rt::ConnectionState */
  rt::CallSettings tuning_;    /* what the properties set */
  rt::SessionConfig session_;  /* the session properties (over the provider's) */
  rt::SessionConfig provider_session_;  /* the provider's, when the call began */
  _GstEphemeralTokenProvider *provider_ = nullptr;  /* from a context */
  std::shared_ptr<rt::Call> call_;
  std::shared_ptr<Observer> observer_;
};
