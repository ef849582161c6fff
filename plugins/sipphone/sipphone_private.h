/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What gstsipphone.cpp (the GObject, its properties, its states) and
 * calls.cpp (the calls: actions, signals, the phone's events) share. */
#pragma once

#include "gstsipphone.h"

#include "core/worker.h"
#include "phone/phone.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

namespace sipphone {

struct Settings {
  std::string registrar;
  std::string user;
  std::string auth_user;
  std::string password;
  std::string display_name;
  std::string dial;
  std::string ca_file;
  GstSipPhoneDtmfMethod dtmf_method = GST_SIP_PHONE_DTMF_RTP;
};

/* What runs while the element is PAUSED or PLAYING. */
struct Line {
  /* Made and ended on the worker; the lock covers its end, so that a
   * streaming thread pushing audio never sees it half gone. */
  std::unique_ptr<rt::Phone> phone;
  std::mutex lock;
  /* Set when the element lets go of a line that finishes stopping on its
   * own: nothing of it reaches the element any more. */
  std::atomic<bool> quiet { false };
  bool dialled = false;             /* on the worker: dial= was called */
  rt::Worker worker { "sipphone" }; /* last: destroyed first */

  /* stop_line ends the phone on the worker; one that was not (a start
   * that failed half way) is ended there now, before the worker goes. */
  ~Line ()
  {
    if (phone && !worker.is_current ())
      worker.run_sync ([this] {
        phone->stop ();
        phone.reset ();
      });
  }
};

}  // namespace sipphone

struct _GstSipPhone {
  GstBin parent;
  GstElement *to_call;   /* appsink: what the sink pad says into a call */
  GstElement *from_call; /* the live source the src pad gives */
  sipphone::Settings *settings; /* under the object lock */
  std::string *instance;
  std::atomic<int> *state;
  std::atomic<bool> *auto_answer;
  std::atomic<bool> *mute;
  std::atomic<bool> *playing;
  /* A call ended while PAUSED: said downstream on the way to PLAYING. */
  std::atomic<bool> *ended_unsaid;
  /* Made in READY→PAUSED, gone in PAUSED→READY; under the object lock
   * (a reader of stats holds a reference while it reads). */
  std::shared_ptr<sipphone::Line> *line;
};

namespace sipphone {

/* The line, if any (a new reference). */
std::shared_ptr<Line> line_of (GstSipPhone *self);
/* Lets go of a reference held on the line's own thread from GStreamer's
 * thread pool: the last one joins the line's thread, which cannot join
 * itself. */
void release_elsewhere (GstSipPhone *self, std::shared_ptr<Line> line);
/* call-state's nick for a GstSipPhoneState. */
const char *state_nick (int state);
/* On any thread: the property, its notification and the bus message. */
void set_state (GstSipPhone *self, GstSipPhoneState state, int status,
    const std::string &reason);
/* The phone's events, wired to the element (signals, messages, audio). */
rt::Phone::Events phone_events (GstSipPhone *self, Line *line);
/* A sipphone-call event downstream, in order with the audio, when a call's
 * state changes: elements downstream learn where one caller ends and the
 * next begins (openairealtimesink starts a new conversation). Any
 * thread. */
void send_call_event (GstSipPhone *self, rt::PhoneState state, int status);
/* dial= once registered and PLAYING; on the worker. */
void dial_if_due (GstSipPhone *self, Line *line);
/* Installs incoming-call, dtmf-received and the action signals. */
void install_signals (GType type);

}  // namespace sipphone
