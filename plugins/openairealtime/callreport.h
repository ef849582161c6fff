/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a call reports, as an element of the user's pipeline tells it: the
 * connection state, server events, transcripts and function calls as
 * signals and element messages, failures as element errors, and the
 * statistics structure. */
#pragma once

#include "call.h"
#include "gstopenairealtimebase.h"

#include <gst/gst.h>

/* Holds only a weak reference to its element: the call may outlive it
 * briefly. */
class ElementReporter : public rt::CallObserver {
 public:
  using StateChanged = void (*) (GstElement *element,
      rt::ConnectionState state);

  ElementReporter (GstElement *element, GstOpenAIRealtimeMediaHooks hooks,
      StateChanged state_changed);
  ~ElementReporter () override;

  void on_transition (const rt::Transition &t, bool announce) override;
  void on_server_event (const std::string &type, const std::string &json,
      bool announce) override;
  void on_error (const rt::ServiceError &error, bool announce) override;
  void on_audio (GstBuffer *buffer) override;
  void on_interrupt () override;
  void on_transcript (const rt::Transcript &t, bool announce) override;
  void on_function_call (const rt::FunctionCall &c, bool announce) override;

 private:
  GWeakRef element_;
  GstOpenAIRealtimeMediaHooks hooks_;
  StateChanged state_changed_;
};

/* The `stats` structure of a call (an empty one without a call). */
GstStructure *make_call_stats (const std::shared_ptr<rt::Call> &call);
