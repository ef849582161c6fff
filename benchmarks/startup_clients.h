/* SPDX-License-Identifier: LGPL-2.1-or-later */
// startup-bench: the five clients, each as a user runs it: gst-launch-1.0
// with the elements, the C++ example (ask-agent), the Python example
// (tool_agent.py), and the bare webrtcbin and aiortc clients of
// connect-bench started the same way.

#pragma once

#include "startup_run.h"

namespace startup_bench {

struct Setup {
  std::string server;  // base URL of the local server
  std::string key;     // its API key, for the bare and aiortc clients
  std::string plugin_dir;
  std::string registry;  // GST_REGISTRY_1_0 of the GStreamer clients
  std::string ask_agent;
  std::string tool_agent;
  std::string question_wav;  // ask-agent's question
  std::string self;          // this program, for --kind bare
  std::string python;        // with Debian's python3-aiortc
  std::string aiortc_script;
  int timeout_s = 20;
  bool phases = true;
};

/* The known client names, in their default order. */
const std::vector<std::string> &client_names ();

/* The client called name, or name:nolog for it without the debug log;
 * false when there is none. */
bool make_client (const Setup &s, const std::string &name, Client *c);

/* Writes a question for ask-agent: 0.3 s of a 440 Hz tone at 0.8 of full
 * scale, then 0.7 s of silence (which ends the turn), 48 kHz mono WAV. */
bool write_question (const std::string &path);

}  // namespace startup_bench
