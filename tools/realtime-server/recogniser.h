/* SPDX-License-Identifier: LGPL-2.1-or-later */
// The words of the caller's turns: GStreamer's pocketsphinx element (Debian's
// gstreamer1.0-pocketsphinx, with the English model of pocketsphinx-en-us), one decoder for the
// whole server on a thread of its own, one turn at a time, each within a time bound.
#pragma once

#include "speech.h"

#include <gst/gst.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace rts {

class Recogniser {
 public:
  // The words heard, lower case, separated by spaces; empty when none were (silence, a tone),
  // or when recognition failed or ran out of time.
  using Done = std::function<void (const std::string &words)>;

  // nullptr, after one warning, when the element or its model is not installed.
  static std::unique_ptr<Recogniser> create ();
  ~Recogniser ();
  Recogniser (const Recogniser &) = delete;
  Recogniser &operator= (const Recogniser &) = delete;

  // Load the model now if it is not loaded (about a second), so that a turn about to end does
  // not wait for it.
  void prepare ();
  // Whether the model is loaded: a turn recognised before would wait for it.
  bool ready () const { return state_.load () == State::Ready; }
  // Loads the model and waits for it, at most timeout_us; false if it is not ready by then
  // (or cannot load).
  bool load_now (gint64 timeout_us);
  // Recognise pcm (S16LE 48 kHz mono). done runs later on the server's worker, unless owner has
  // gone by then.
  void recognise (Pcm pcm, std::weak_ptr<void> owner, Done done);

 private:
  struct Job {
    Pcm pcm;
    std::weak_ptr<void> owner;
    Done done;
    gint64 deadline_us = 0;
  };

  Recogniser ();
  void run ();  // the recogniser's thread
  bool load ();
  void unload ();
  // One utterance through the decoder; false if it failed or the deadline passed.
  bool decode (const Pcm &pcm, gint64 deadline_us, std::string *words);

  enum class State { Idle, Loading, Ready, Failed };

  std::mutex lock_;
  std::condition_variable wake_;
  std::condition_variable loaded_;  // state_ left Loading
  std::atomic<State> state_ { State::Idle };
  std::deque<Job> jobs_;      // under lock_
  bool load_wanted_ = false;  // under lock_
  std::atomic<bool> stopping_ { false };

  // The recogniser's thread only.
  GstElement *pipeline_ = nullptr;
  GstPad *feed_ =
      nullptr;           // pushes the turns into the pipeline, from this thread
  bool failed_ = false;  // the model did not load: every turn gets no words
  bool fresh_ = false;  // no utterance went through the decoder since it loaded

  std::thread thread_;  // last: starts once the rest is ready
};

}  // namespace rts
